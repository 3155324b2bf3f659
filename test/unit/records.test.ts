// RecordEncoder: decoded file batches conformed to the table schema (missing columns, widened types,
// column order), `_cq_id` / `_cq_parent_id` filled, cut into records of rows_per_record rows and encoded
// as Arrow IPC streams with headroom for the protobuf envelope.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  Field,
  FixedSizeBinary,
  Float32,
  Float64,
  Int32,
  Int64,
  RecordBatch,
  Schema,
  Table,
  tableFromArrays,
  tableFromIPC,
  Uint32,
  Utf8,
  vectorFromArray,
  type Data,
  type DataType,
  type Vector,
} from 'apache-arrow';
import { RECORD_HEADROOM, RecordEncoder, uuidV5, type RecordEncoderOptions } from '../../src/arrow/records.js';
import {
  CQ_ID,
  CQ_PARENT_ID,
  emptyMerge,
  generatesCqId,
  mergeSchema,
  MD_PRIMARY_KEY,
  primaryKeys,
  tableSchema,
} from '../../src/arrow/schema.js';

// ---------- building input the way the plugin does ----------

const PK = new Map([[MD_PRIMARY_KEY, 'true']]);

/** A table's plan from its files' schemas, merged as the catalog merges them. */
function plan(files: Schema[], name = 'events') {
  const merged = emptyMerge();
  files.forEach((schema, i) => mergeSchema(merged, `${name}/part-${i}.parquet`, schema));
  const schema = tableSchema(name, merged);
  return { schema, generateCqId: generatesCqId(merged), primaryKeys: primaryKeys(schema) };
}

function encoder(p: ReturnType<typeof plan>, options: Partial<RecordEncoderOptions> = {}): RecordEncoder {
  return new RecordEncoder(p.schema, { rowsPerRecord: 500, generateCqId: p.generateCqId, deterministicKeys: [], ...options });
}

/** A decoded file batch: one column per entry, in the given order. */
function batch(columns: Record<string, Vector>): RecordBatch {
  const children: Record<string, Data> = {};
  for (const [name, vector] of Object.entries(columns)) {
    assert.equal(vector.data.length, 1, `${name}: a batch column is one chunk`);
    children[name] = vector.data[0]!;
  }
  return new RecordBatch(children);
}

const col = <T extends DataType>(values: readonly unknown[], type: T) => vectorFromArray(values, type);
const fields = (schema: Schema) => schema.fields.map((f) => `${f.name}:${String(f.type)}`);
const values = (vector: Vector | null | undefined) => {
  assert.ok(vector, 'no such column');
  return [...vector] as unknown[];
};

/** Every record of a batch, decoded back from its IPC bytes. */
function encodeAll(enc: RecordEncoder, input: RecordBatch) {
  return [...enc.encode(input)].map(({ ipc, rows }) => ({ ipc, rows, table: tableFromIPC(ipc) }));
}

function uuidBytes(vector: Vector, i: number): Uint8Array {
  const value = vector.get(i) as Uint8Array | null;
  assert.ok(value instanceof Uint8Array && value.byteLength === 16, `row ${i}: not a 16-byte UUID`);
  return value;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

// ---------- conform ----------

describe('RecordEncoder.conform', () => {
  it('keeps the table schema, its column order and the generated columns last', () => {
    const p = plan([new Schema([new Field('id', new Int64(), false), new Field('name', new Utf8()), new Field('score', new Float64())])]);
    // The file's columns in another order than the table's.
    const out = encoder(p).conform(
      batch({ score: col([1.5, 2.5], new Float64()), name: col(['a', 'b'], new Utf8()), id: col([1n, 2n], new Int64()) }),
    );
    assert.deepEqual(out.schema.fields, p.schema.fields);
    assert.deepEqual(out.schema.metadata, p.schema.metadata);
    assert.deepEqual(fields(out.schema), [
      'id:Int64',
      'name:Utf8',
      'score:Float64',
      '_cq_id:FixedSizeBinary[16]',
      '_cq_parent_id:FixedSizeBinary[16]',
    ]);
    assert.deepEqual(
      out.data.children.map((c) => String(c.type)),
      ['Int64', 'Utf8', 'Float64', 'FixedSizeBinary[16]', 'FixedSizeBinary[16]'],
    );
    assert.equal(out.numRows, 2);
    assert.deepEqual(values(out.getChild('id')), [1n, 2n]);
    assert.deepEqual(values(out.getChild('name')), ['a', 'b']);
    assert.deepEqual(values(out.getChild('score')), [1.5, 2.5]);
  });

  it('fills a column the file lacks with nulls of its type', () => {
    const p = plan([
      new Schema([new Field('id', new Int64())]),
      new Schema([new Field('id', new Int64()), new Field('extra', new Utf8())]),
    ]);
    const out = encoder(p).conform(batch({ id: col([1n, 2n, 3n], new Int64()) }));
    const extra = out.getChild('extra')!;
    assert.equal(String(extra.type), 'Utf8');
    assert.equal(extra.length, 3);
    assert.equal(extra.nullCount, 3);
    assert.deepEqual(values(extra), [null, null, null]);
  });

  it('widens int32 to int64 exactly, nulls included', () => {
    const p = plan([new Schema([new Field('v', new Int32())]), new Schema([new Field('v', new Int64())])]);
    const out = encoder(p).conform(batch({ v: col([1, null, -2147483648, 2147483647, 0], new Int32()) }));
    const v = out.getChild('v')!;
    assert.equal(String(v.type), 'Int64');
    assert.deepEqual(values(v), [1n, null, -2147483648n, 2147483647n, 0n]);
    assert.equal(v.nullCount, 1);
  });

  it('widens uint32 mixed with int32 to int64 exactly', () => {
    const p = plan([new Schema([new Field('v', new Int32())]), new Schema([new Field('v', new Uint32())])]);
    assert.deepEqual(fields(p.schema).slice(0, 1), ['v:Int64']);
    const out = encoder(p).conform(batch({ v: col([4294967295, null, 0], new Uint32()) }));
    assert.deepEqual(values(out.getChild('v')), [4294967295n, null, 0n]);
  });

  it('widens integers to float64 exactly, from numbers and from bigints, nulls included', () => {
    const p = plan([new Schema([new Field('v', new Float32())]), new Schema([new Field('v', new Int64())])]);
    assert.deepEqual(fields(p.schema).slice(0, 1), ['v:Float64']);
    const enc = encoder(p);
    const fromInt64 = enc.conform(batch({ v: col([2n ** 53n, null, -(2n ** 53n), 7n], new Int64()) })).getChild('v')!;
    assert.equal(String(fromInt64.type), 'Float64');
    assert.deepEqual(values(fromInt64), [2 ** 53, null, -(2 ** 53), 7]);

    const q = plan([new Schema([new Field('v', new Int32())]), new Schema([new Field('v', new Float64())])]);
    const fromInt32 = encoder(q)
      .conform(batch({ v: col([null, -2147483648, 2147483647], new Int32()) }))
      .getChild('v')!;
    assert.deepEqual(values(fromInt32), [null, -2147483648, 2147483647]);
  });

  it('widens float32 to float64 keeping the float32 value exactly', () => {
    const p = plan([new Schema([new Field('v', new Float32())]), new Schema([new Field('v', new Float64())])]);
    const out = encoder(p).conform(batch({ v: col([0.1, null, 3.5, -1e30, Infinity, NaN], new Float32()) }));
    const v = out.getChild('v')!;
    assert.equal(String(v.type), 'Float64');
    assert.deepEqual(values(v), [Math.fround(0.1), null, 3.5, Math.fround(-1e30), Infinity, NaN]);
  });

  it('passes a column of the same type through unchanged', () => {
    const p = plan([new Schema([new Field('id', new Int64())])]);
    const input = batch({ id: col([5n, null, 6n], new Int64()) });
    const out = encoder(p).conform(input);
    assert.equal(out.getChild('id')!.data[0], input.getChild('id')!.data[0]);
  });

  it('concatenates a column of several chunks into one', () => {
    // A RecordBatch column is always one chunk; a Table's may be several, as here.
    const p = plan([new Schema([new Field('id', new Int64()), new Field('v', new Float64())])]);
    const first = tableFromArrays({ id: BigInt64Array.from([1n, 2n]), v: Int32Array.from([10, 20]) });
    const second = tableFromArrays({ id: BigInt64Array.from([3n]), v: Int32Array.from([30]) });
    const table = new Table([...first.batches, ...second.batches]);
    assert.equal(table.getChild('id')!.data.length, 2);
    const out = encoder(p).conform(table as unknown as RecordBatch);
    assert.equal(out.numRows, 3);
    for (const name of ['id', 'v']) assert.equal(out.getChild(name)!.data.length, 1, `${name} is not one chunk`);
    assert.deepEqual(values(out.getChild('id')), [1n, 2n, 3n]);
    // Int32 into the table's Float64, across the chunks.
    assert.deepEqual(values(out.getChild('v')), [10, 20, 30]);
    assert.equal(out.getChild(CQ_ID)!.length, 3);
  });

  it('keeps the files’ own _cq_id and generates nothing when they carry one', () => {
    const p = plan([new Schema([new Field(CQ_ID, new Utf8()), new Field('v', new Int64())])]);
    assert.equal(p.generateCqId, false);
    const out = encoder(p).conform(batch({ v: col([1n, 2n], new Int64()), [CQ_ID]: col(['x', 'y'], new Utf8()) }));
    assert.deepEqual(fields(out.schema), ['_cq_id:Utf8', 'v:Int64']);
    assert.deepEqual(values(out.getChild(CQ_ID)), ['x', 'y']);
  });

  it('keeps the schema order when the files carry _cq_parent_id but no _cq_id', () => {
    const p = plan([
      new Schema([new Field('a', new Int64()), new Field(CQ_PARENT_ID, new FixedSizeBinary(16)), new Field('b', new Utf8())]),
    ]);
    assert.deepEqual(fields(p.schema), ['a:Int64', '_cq_parent_id:FixedSizeBinary[16]', 'b:Utf8', '_cq_id:FixedSizeBinary[16]']);
    const out = encoder(p).conform(
      batch({ a: col([1n], new Int64()), [CQ_PARENT_ID]: col([null], new FixedSizeBinary(16)), b: col(['x'], new Utf8()) }),
    );
    assert.deepEqual(
      out.data.children.map((c) => String(c.type)),
      p.schema.fields.map((f) => String(f.type)),
    );
    assert.deepEqual(values(out.getChild('b')), ['x']);
  });
});

// ---------- encode ----------

describe('RecordEncoder.encode', () => {
  const p = plan([new Schema([new Field('id', new Int64(), false), new Field('name', new Utf8())])]);
  const input = (n: number, from = 0) =>
    batch({
      id: col(
        Array.from({ length: n }, (_, i) => BigInt(from + i)),
        new Int64(),
      ),
      name: col(
        Array.from({ length: n }, (_, i) => (i % 3 === 2 ? null : `row ${from + i}`)),
        new Utf8(),
      ),
    });

  for (const [rows, perRecord, expected] of [
    [0, 4, []],
    [1, 4, [1]],
    [4, 4, [4]],
    [5, 4, [4, 1]],
    [8, 4, [4, 4]],
    [9, 4, [4, 4, 1]],
    [10, 1, Array<number>(10).fill(1)],
  ] as [number, number, number[]][]) {
    it(`cuts ${rows} rows into records of ${perRecord}: ${JSON.stringify(expected)}`, () => {
      const records = encodeAll(encoder(p, { rowsPerRecord: perRecord }), input(rows));
      assert.deepEqual(
        records.map((r) => r.rows),
        expected,
      );
      assert.deepEqual(
        records.map((r) => r.table.numRows),
        expected,
      );
      // Together, the rows in order.
      const ids = records.flatMap((r) => values(r.table.getChild('id')));
      const names = records.flatMap((r) => values(r.table.getChild('name')));
      assert.deepEqual(
        ids,
        Array.from({ length: rows }, (_, i) => BigInt(i)),
      );
      assert.deepEqual(
        names,
        Array.from({ length: rows }, (_, i) => (i % 3 === 2 ? null : `row ${i}`)),
      );
    });
  }

  it('encodes each record as a complete IPC stream with the table schema, field metadata included', () => {
    const enc = encoder(p, { rowsPerRecord: 2 });
    for (const { table } of encodeAll(enc, input(5))) {
      assert.deepEqual(fields(table.schema), fields(p.schema));
      assert.equal(table.schema.metadata.get('cq:table_name'), 'events');
      assert.equal(table.schema.metadata.get('cq:extension:incremental'), 'true');
      const id = table.schema.fields.find((f) => f.name === CQ_ID)!;
      assert.equal(id.metadata.get('ARROW:extension:name'), 'uuid');
      assert.equal(id.nullable, false);
      assert.deepEqual(
        table.schema.fields.map((f) => f.nullable),
        p.schema.fields.map((f) => f.nullable),
      );
    }
  });

  it('conforms while encoding: a drifted file comes out in the table schema', () => {
    const drift = plan([
      new Schema([new Field('id', new Int32())]),
      new Schema([new Field('id', new Int64()), new Field('tag', new Utf8())]),
    ]);
    const records = encodeAll(encoder(drift, { rowsPerRecord: 2 }), batch({ id: col([1, null, 3], new Int32()) }));
    assert.deepEqual(
      records.map((r) => r.rows),
      [2, 1],
    );
    for (const { table } of records) assert.deepEqual(fields(table.schema), fields(drift.schema));
    assert.deepEqual(
      records.flatMap((r) => values(r.table.getChild('id'))),
      [1n, null, 3n],
    );
    assert.deepEqual(
      records.flatMap((r) => values(r.table.getChild('tag'))),
      [null, null, null],
    );
  });

  it('encodes one encoder’s records independently: every one decodes alone, in any order', () => {
    const enc = encoder(p, { rowsPerRecord: 3 });
    const first = encodeAll(enc, input(4, 0));
    const second = encodeAll(enc, input(2, 100));
    const all = [...second, ...first];
    assert.deepEqual(
      all.map((r) => values(tableFromIPC(r.ipc).getChild('id'))),
      [[100n, 101n], [0n, 1n, 2n], [3n]],
    );
  });

  it('leaves RECORD_HEADROOM free bytes before each record, its own to write', () => {
    const enc = encoder(p, { rowsPerRecord: 2 });
    const records = [...encodeAll(enc, input(7)), ...encodeAll(enc, input(3, 7))];
    for (const { ipc } of records) assert.ok(ipc.byteOffset >= RECORD_HEADROOM, `byteOffset ${ipc.byteOffset}`);
    // Writing the envelope into every record's headroom, as the server does, damages no record.
    const copies = records.map(({ ipc }) => Buffer.from(ipc));
    for (const { ipc } of records) new Uint8Array(ipc.buffer, ipc.byteOffset - RECORD_HEADROOM, RECORD_HEADROOM).fill(0xee);
    records.forEach(({ ipc }, i) => assert.ok(copies[i]!.equals(ipc), `record ${i} changed when the headroom of the records was written`));
    assert.deepEqual(
      records.flatMap(({ ipc }) => values(tableFromIPC(ipc).getChild('id'))),
      Array.from({ length: 10 }, (_, i) => BigInt(i)),
    );
  });
});

// ---------- _cq_id / _cq_parent_id ----------

describe('_cq_id and _cq_parent_id', () => {
  it('gives each row a distinct random version 4 UUID (RFC 4122 variant)', () => {
    const p = plan([new Schema([new Field('id', new Int64())])]);
    const enc = encoder(p, { rowsPerRecord: 300 });
    const seen = new Set<string>();
    let rows = 0;
    for (let round = 0; round < 2; round++) {
      for (const { table } of encodeAll(enc, batch({ id: col(Array<bigint>(1000).fill(1n), new Int64()) }))) {
        const ids = table.getChild(CQ_ID)!;
        assert.equal(ids.nullCount, 0);
        for (let i = 0; i < table.numRows; i++) {
          const id = uuidBytes(ids, i);
          assert.equal(id[6]! >> 4, 4, `row ${i}: version nibble ${id[6]! >> 4}`);
          assert.equal(id[8]! >> 6, 0b10, `row ${i}: variant bits ${id[8]! >> 6}`);
          seen.add(hex(id));
          rows++;
        }
      }
    }
    assert.equal(rows, 2000);
    assert.equal(seen.size, 2000, 'equal rows must still get distinct random ids');
  });

  it('leaves _cq_parent_id null in every row, records of every length', () => {
    const p = plan([new Schema([new Field('id', new Int64())])]);
    const enc = encoder(p, { rowsPerRecord: 4 });
    for (const n of [9, 4, 1, 6]) {
      for (const { table } of encodeAll(enc, batch({ id: col(Array<bigint>(n).fill(0n), new Int64()) }))) {
        const parent = table.getChild(CQ_PARENT_ID)!;
        assert.equal(String(parent.type), 'FixedSizeBinary[16]');
        assert.equal(parent.length, table.numRows);
        assert.equal(parent.nullCount, table.numRows);
        for (let i = 0; i < table.numRows; i++) assert.equal(parent.get(i), null);
      }
    }
  });

  describe('deterministic ids (deterministic_cq_id with primary keys)', () => {
    const p = plan([
      new Schema([new Field('id', new Int64(), false, PK), new Field('region', new Utf8(), false, PK), new Field('value', new Float64())]),
    ]);
    const rows = (ids: bigint[], regions: string[], vals: number[]) =>
      batch({ id: col(ids, new Int64()), region: col(regions, new Utf8()), value: col(vals, new Float64()) });
    const idsOf = (enc: RecordEncoder, input: RecordBatch) => {
      const out = enc.conform(input).getChild(CQ_ID)!;
      return Array.from({ length: out.length }, (_, i) => hex(uuidBytes(out, i)));
    };

    it('uses the columns marked as primary keys', () => {
      assert.deepEqual(p.primaryKeys, ['id', 'region']);
    });

    it('gives equal key values equal ids, across encoders, batches, positions and other columns', () => {
      const a = idsOf(encoder(p, { deterministicKeys: p.primaryKeys }), rows([1n, 2n, 3n], ['eu', 'eu', 'us'], [0.5, 1, 2]));
      // Another encoder (another sync), the keys listed in another order, the rows elsewhere, other values.
      const b = idsOf(encoder(p, { deterministicKeys: ['region', 'id'] }), rows([3n, 9n, 1n], ['us', 'eu', 'eu'], [7, 8, 9]));
      assert.equal(a[0], b[2]);
      assert.equal(a[2], b[0]);
    });

    it('gives different key values different ids', () => {
      const enc = encoder(p, { deterministicKeys: p.primaryKeys });
      const ids = idsOf(enc, rows([1n, 2n, 1n, 12n, 1n], ['eu', 'eu', 'us', 'eu', 'eu2'], [0, 0, 0, 0, 0]));
      assert.equal(new Set(ids).size, 5, JSON.stringify(ids));
    });

    it('makes version 5 UUIDs, the UUIDv5 of the sorted key names and values', () => {
      const enc = encoder(p, { deterministicKeys: p.primaryKeys });
      const [id] = idsOf(enc, rows([42n], ['eu-west-1'], [1]));
      const bytes = Buffer.from(id!, 'hex');
      assert.equal(bytes[6]! >> 4, 5);
      assert.equal(bytes[8]! >> 6, 0b10);
      const name = createHash('sha256').update('id').update('42').update('region').update('eu-west-1').digest();
      assert.equal(id, hex(uuidV5(name)));
    });

    it('survives encoding: the decoded records carry the same ids', () => {
      const enc = encoder(p, { deterministicKeys: p.primaryKeys, rowsPerRecord: 2 });
      const input = rows([1n, 2n, 3n], ['a', 'b', 'c'], [1, 2, 3]);
      const expected = idsOf(encoder(p, { deterministicKeys: p.primaryKeys }), input);
      const decoded = encodeAll(enc, input).flatMap(({ table }) =>
        Array.from({ length: table.numRows }, (_, i) => hex(uuidBytes(table.getChild(CQ_ID)!, i))),
      );
      assert.deepEqual(decoded, expected);
    });
  });

  it('uuidV5 sets the version and variant bits of a SHA-1 of the nil namespace and the name', () => {
    const name = new TextEncoder().encode('name');
    const id = uuidV5(name);
    const sha1 = createHash('sha1').update(new Uint8Array(16)).update(name).digest();
    assert.equal(id.byteLength, 16);
    assert.equal(id[6], (sha1[6]! & 0x0f) | 0x50);
    assert.equal(id[8], (sha1[8]! & 0x3f) | 0x80);
    for (const i of [0, 1, 2, 3, 4, 5, 7, 9, 10, 11, 12, 13, 14, 15]) assert.equal(id[i], sha1[i]);
  });
});
