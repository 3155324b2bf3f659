// The Avro reader's type mapping and values, on files written by avro-js (not the avsc the reader
// decodes with): every Avro type's Arrow type, exact values (longs past 2^53, 38-digit decimals,
// nanosecond timestamps), unions with null in either place, nested and recursive records, the JSON
// rendering of maps and unions, values that do not fit reported, and schemas that cannot be read.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DataType, type Field, type RecordBatch, type Vector } from 'apache-arrow';
import { FormatError } from '../../src/errors.js';
import { openAvro } from '../../src/formats/avro/index.js';
import { ByteBudget } from '../../src/util/byte-budget.js';
import { rawValue } from '../support/arrow-values.js';
import {
  ALL_TYPES_DECIMALS,
  ALL_TYPES_RECORDS,
  ALL_TYPES_SCHEMA,
  avroFile,
  containerFile,
  decimalBytes,
  headerOf,
  memorySource,
  uuidBytes,
  varintBytes,
} from '../support/avro-fixtures.js';

async function read(file: Buffer, maxRows = 1000) {
  const reader = await openAvro(memorySource(file), { budget: new ByteBudget(64 << 20) });
  const issues: string[] = [];
  const batches: RecordBatch[] = [];
  for await (const batch of reader.batches({ maxRows, rowMultiple: 1, report: (m) => issues.push(m) })) batches.push(batch);
  return { schema: reader.schema, batches, issues, numRows: reader.numRows };
}

function describeField(f: Field): string {
  const ext = f.metadata.get('ARROW:extension:name');
  return `${f.name}:${String(f.type)}${f.nullable ? '?' : ''}${ext ? ` ${ext}` : ''}`;
}

/** A decimal's exact text from its stored words (two's complement, little-endian), whatever its width. */
function decimalText(vector: Vector, index: number): string | null {
  if (!vector.isValid(index)) return null;
  const type = vector.type;
  assert.ok(DataType.isDecimal(type));
  const words = type.bitWidth / 32;
  const values = vector.data[0]!.values as Uint32Array;
  let n = 0n;
  for (let w = words - 1; w >= 0; w--) n = (n << 32n) | BigInt(values[index * words + w]!);
  if (n >> BigInt(type.bitWidth - 1)) n -= 1n << BigInt(type.bitWidth);
  const digits = (n < 0n ? -n : n).toString().padStart(type.scale + 1, '0');
  const text = type.scale > 0 ? `${digits.slice(0, -type.scale)}.${digits.slice(-type.scale)}` : digits;
  return n < 0n ? `-${text}` : text;
}

const hex = (value: unknown) => (value === null ? null : Buffer.from(value as Uint8Array).toString('hex'));
const text = (value: unknown) => (value === null ? null : Buffer.from(value as Uint8Array).toString('utf8'));

describe('avro type mapping', () => {
  it('maps every Avro type to its Arrow type', async () => {
    const { schema } = await read(await avroFile(ALL_TYPES_SCHEMA, ALL_TYPES_RECORDS));
    assert.deepEqual(schema.fields.map(describeField), [
      'n:Null?',
      'b:Bool',
      'i:Int32',
      'l:Int64',
      'f:Float32',
      'd:Float64',
      'raw:Binary',
      's:Utf8',
      'hash:Binary',
      'hash_again:Binary',
      'color:Utf8',
      'opt_int:Int32?',
      'opt_str:Utf8?',
      'address:Struct<{street:Utf8, zip:Int32, geo:Struct<{lat:Float64, lon:Float64}>}>',
      'opt_address:Struct<{street:Utf8, zip:Int32, geo:Struct<{lat:Float64, lon:Float64}>}>?',
      'tags:List<Utf8>',
      'matrix:List<List<Int64>>',
      'points:List<Struct<{lat:Float64, lon:Float64}>>',
      'opt_list:List<Int32>?',
      'attrs:Binary json',
      'nested_map:Binary json',
      'choice:Binary? json',
      'either:Binary json',
      'date:Date32<DAY>',
      'time_ms:Time32<MILLISECOND>',
      'time_us:Time64<MICROSECOND>',
      'ts_ms:Timestamp<MILLISECOND, UTC>',
      'ts_us:Timestamp<MICROSECOND, UTC>',
      'ts_ns:Timestamp<NANOSECOND, UTC>',
      'lts_ms:Timestamp<MILLISECOND>',
      'lts_us:Timestamp<MICROSECOND>',
      'lts_ns:Timestamp<NANOSECOND>',
      'dec:Decimal[38e+10]?',
      'dec_fixed:Decimal[38e+2]?',
      'dec_wide:Decimal[50e+5]?',
      'dec_huge:Utf8?',
      'not_decimal:Binary',
      'uuid:FixedSizeBinary[16]? uuid',
      'uuid_fixed:FixedSizeBinary[16]? uuid',
      'opt_ts:Timestamp<MICROSECOND, UTC>?',
      'node:Struct<{value:Int32, next:Binary}>',
      'span:Binary json',
    ]);
  });

  it('keeps nullability inside structs and lists, and marks JSON and UUID columns as CloudQuery extensions', async () => {
    const { schema } = await read(await avroFile(ALL_TYPES_SCHEMA, ALL_TYPES_RECORDS));
    const field = (name: string) => schema.fields.find((f) => f.name === name)!;
    const address: Field[] = field('address').type.children;
    assert.deepEqual(
      address.map((c) => `${c.name}:${c.nullable}`),
      ['street:false', 'zip:true', 'geo:false'],
    );
    assert.equal(field('tags').type.children[0]!.nullable, false);
    assert.equal(field('opt_list').type.children[0]!.nullable, true);
    const next = field('node').type.children[1]!;
    assert.equal(next.nullable, true);
    assert.equal(next.metadata.get('ARROW:extension:name'), 'json');
    assert.equal(field('attrs').metadata.get('ARROW:extension:metadata'), 'json-serialized');
    assert.equal(field('uuid').metadata.get('ARROW:extension:metadata'), 'uuid-serialized');
  });

  it('reads every value exactly', async () => {
    const { batches, numRows } = await read(await avroFile(ALL_TYPES_SCHEMA, ALL_TYPES_RECORDS));
    assert.equal(numRows, undefined, 'no row count without reading the blocks');
    assert.equal(batches.length, 1);
    const batch = batches[0]!;
    const col = (name: string) => batch.getChild(name)!;
    const values = (name: string, f: (v: unknown) => unknown = (v) => v) => [0, 1, 2].map((i) => f(col(name).get(i)));
    const raw = (name: string) => [0, 1, 2].map((i) => rawValue(col(name), i));
    assert.deepEqual(values('n'), [null, null, null]);
    assert.deepEqual(values('b'), [true, false, true]);
    assert.deepEqual(values('i'), [2147483647, -2147483648, 0]);
    assert.deepEqual(values('l'), [9223372036854775807n, -9223372036854775808n, 0n]);
    assert.deepEqual(values('f'), [1.5, -0.25, 0]);
    assert.deepEqual(values('d'), [Number.MAX_VALUE, -1e-300, 0]);
    assert.deepEqual(values('raw', hex), ['000102ff', '', '78']);
    assert.deepEqual(values('s'), ['héllo, wörld ✓', '', 'x']);
    assert.deepEqual(values('hash', text), ['abcd', '\0\0\0\0', '0000']);
    assert.deepEqual(values('hash_again', hex), ['7778797a', 'ffffffff', '31313131']);
    assert.deepEqual(values('color'), ['BLUE', 'RED', 'GREEN']);
    assert.deepEqual(values('opt_int'), [42, null, 0]);
    assert.deepEqual(values('opt_str'), ['present', null, '']);
    assert.deepEqual(raw('date'), [19723, -719162, 0]);
    assert.deepEqual(raw('time_ms'), [86399999, 0, 1]);
    assert.deepEqual(raw('time_us'), [86399999999n, 0n, 1n]);
    assert.deepEqual(raw('ts_ms'), [1704067200123n, -1n, 0n]);
    assert.deepEqual(raw('ts_us'), [1704067200123456n, -62135596800000000n, 0n]);
    assert.deepEqual(raw('ts_ns'), [1704067200123456789n, -9223372036854775808n, 0n]);
    assert.deepEqual(raw('lts_ms'), [1704067200123n, -1n, 0n]);
    assert.deepEqual(raw('lts_us'), [1704067200123456n, -1n, 0n]);
    assert.deepEqual(raw('lts_ns'), [1704067200123456789n, -1n, 0n]);
    assert.deepEqual(raw('opt_ts'), [1704067200123456n, null, -1n]);
    for (const name of ['dec', 'dec_fixed', 'dec_wide'] as const) {
      assert.deepEqual(
        [0, 1, 2].map((i) => decimalText(col(name), i)),
        ALL_TYPES_DECIMALS[name],
        name,
      );
    }
    assert.deepEqual(values('dec_huge'), ALL_TYPES_DECIMALS.dec_huge);
    assert.deepEqual(values('not_decimal', hex), ['07', '', '0102']);
    assert.deepEqual(values('uuid', hex), ['f81d4fae7dec11d0a76500a0c91e6bf6', '00000000000000000000000000000000', null]);
    assert.deepEqual(values('uuid_fixed', hex), [
      hex(uuidBytes('f81d4fae-7dec-11d0-a765-00a0c91e6bf6')),
      '0'.repeat(32),
      'f81d4fae7dec11d0a76500a0c91e6bf6',
    ]);
  });

  it('reads records, arrays and unions of null and one type as structs, lists and nullable columns', async () => {
    const [batch] = (await read(await avroFile(ALL_TYPES_SCHEMA, ALL_TYPES_RECORDS))).batches;
    // Rows as plain values (nested rows and vectors through their toJSON), longs as strings.
    const plain = (v: unknown) => JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)));
    const json = (name: string) => [0, 1, 2].map((i) => plain(batch!.getChild(name)!.get(i) ?? null));
    assert.deepEqual(json('address'), [
      { street: 'Main St', zip: 12345, geo: { lat: 52.5, lon: 13.4 } },
      { street: '', zip: null, geo: { lat: 0, lon: 0 } },
      { street: 'x', zip: 0, geo: { lat: 0.5, lon: 0.5 } },
    ]);
    assert.deepEqual(json('opt_address'), [{ street: 'Side St', zip: null, geo: { lat: -1, lon: -2 } }, null, null]);
    assert.deepEqual(json('tags'), [['a', 'b', 'c'], [], ['']]);
    assert.deepEqual(json('matrix'), [[['1', '2'], [], ['9223372036854775807']], [], [['0']]]);
    assert.deepEqual(json('points'), [
      [
        { lat: 1, lon: 2 },
        { lat: 3, lon: 4 },
      ],
      [],
      [{ lat: 0, lon: 0 }],
    ]);
    assert.deepEqual(json('opt_list'), [[1, null, 3], null, []]);
    // Under a null parent, a field that may not be null holds a placeholder, not a null.
    const street = batch!.getChild('opt_address')!.data[0]!.children[0]!;
    assert.equal(street.nullCount, 0);
  });

  it('renders maps, unions of several types, recursive records and durations as JSON with exact longs', async () => {
    const [batch] = (await read(await avroFile(ALL_TYPES_SCHEMA, ALL_TYPES_RECORDS))).batches;
    const json = (name: string) => [0, 1, 2].map((i) => text(batch!.getChild(name)!.get(i) ?? null));
    assert.deepEqual(json('attrs'), ['{"big":9223372036854775807,"small":-1}', '{}', '{"zero":0}']);
    assert.deepEqual(json('nested_map'), ['{"x":["p","q"]}', '{}', '{"empty":[]}']);
    assert.deepEqual(json('choice'), ['7', '{"lat":1.5,"lon":-2.25}', null]);
    assert.deepEqual(json('either'), ['9007199254740993', '"AQID"', '-1']);
    assert.deepEqual(json('span'), [
      '{"months":1,"days":2,"milliseconds":3}',
      '{"months":0,"days":0,"milliseconds":0}',
      '{"months":4294967295,"days":0,"milliseconds":1}',
    ]);
    const next = [0, 1, 2].map((i) => batch!.getChild('node')!.get(i)!.toJSON().next);
    assert.deepEqual(
      next.map((v) => text(v ?? null)),
      ['{"value":2,"next":{"value":3,"next":null}}', null, '{"value":10,"next":null}'],
    );
  });

  it('renders logical types inside JSON by their meaning', async () => {
    const logical = {
      type: 'record',
      name: 'Logical',
      fields: [
        { name: 'ts', type: { type: 'long', logicalType: 'timestamp-micros' } },
        { name: 'local', type: { type: 'long', logicalType: 'local-timestamp-nanos' } },
        { name: 'day', type: { type: 'int', logicalType: 'date' } },
        { name: 'time', type: { type: 'int', logicalType: 'time-millis' } },
        { name: 'dec', type: { type: 'bytes', logicalType: 'decimal', precision: 40, scale: 3 } },
        { name: 'id', type: { type: 'string', logicalType: 'uuid' } },
        { name: 'nan', type: 'double' },
        { name: 'none', type: ['null', 'string'] },
      ],
    };
    const schema = { type: 'record', name: 'R', fields: [{ name: 'm', type: { type: 'map', values: logical } }] };
    const value = {
      ts: -1n,
      local: 1704067200123456789n,
      day: -1,
      time: 3723004,
      dec: decimalBytes(-(10n ** 39n) - 5n),
      id: 'F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6',
      nan: Number.NaN,
      none: null,
    };
    const [batch] = (await read(await avroFile(schema, [{ m: { k: value } }]))).batches;
    assert.deepEqual(JSON.parse(text(batch!.getChild('m')!.get(0))!), {
      k: {
        ts: '1969-12-31T23:59:59.999999Z',
        local: '2024-01-01T00:00:00.123456789',
        day: '1969-12-31',
        time: '01:02:03.004',
        dec: '-1000000000000000000000000000000000000.005',
        id: 'F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6',
        nan: 'NaN',
        none: null,
      },
    });
  });

  it('delivers a value that does not fit its column as null, and reports it with the record and column', async () => {
    const schema = {
      type: 'record',
      name: 'R',
      fields: [
        { name: 'price', type: { type: 'bytes', logicalType: 'decimal', precision: 4, scale: 2 } },
        { name: 'inner', type: { type: 'record', name: 'I', fields: [{ name: 'id', type: { type: 'string', logicalType: 'uuid' } }] } },
      ],
    };
    const records = [
      { price: decimalBytes(9999n), inner: { id: '00000000-0000-0000-0000-000000000001' } },
      { price: decimalBytes(10000n), inner: { id: 'zz000000-0000-0000-0000-000000000001' } },
      { price: decimalBytes(-9999n), inner: { id: '00000000-0000-0000-0000-00000000000' } },
    ];
    const { batches, issues } = await read(await avroFile(schema, records));
    const price = batches[0]!.getChild('price')!;
    assert.deepEqual(
      [0, 1, 2].map((i) => decimalText(price, i)),
      ['99.99', null, '-99.99'],
    );
    assert.deepEqual(issues, [
      'record 2, column "price": decimal 10000 (unscaled) has more than 4 digits; delivered as null',
      'record 2, column "inner.id": "zz000000-0000-0000-0000-000000000001" is not a UUID; delivered as null',
      'record 3, column "inner.id": "00000000-0000-0000-0000-00000000000" is not a UUID; delivered as null',
    ]);
  });

  it('replaces invalid UTF-8 in strings with U+FFFD and reports it, even a character split across two values', async () => {
    const schema = { type: 'record', name: 'R', fields: [{ name: 's', type: 'string' }] };
    const { header } = headerOf(await avroFile(schema, [{ s: 'ok' }]));
    const value = (bytes: number[]) => Buffer.concat([varintBytes(bytes.length), Buffer.from(bytes)]);
    const data = Buffer.concat([value([0x61, 0xff, 0x62]), value([0xc3]), value([0xa9]), value([0xc3, 0xa9])]);
    const { batches, issues } = await read(containerFile(header, [{ count: 4, data }]));
    assert.deepEqual([...batches[0]!.getChild('s')!], ['a\ufffdb', '\ufffd', '\ufffd', 'é']);
    assert.deepEqual(issues, [
      'record 4, column "s": 3 of the 4 values in the batch ending at this record are not valid UTF-8; their invalid bytes were replaced with U+FFFD',
    ]);
  });

  it('reports the first 100 values that do not fit, then how many there were in all', async () => {
    const schema = { type: 'record', name: 'R', fields: [{ name: 'id', type: { type: 'string', logicalType: 'uuid' } }] };
    const { batches, issues } = await read(
      await avroFile(
        schema,
        Array.from({ length: 150 }, (_, i) => ({ id: `bad-${i}` })),
      ),
    );
    assert.equal(batches[0]!.getChild('id')!.nullCount, 150);
    assert.equal(issues.length, 101);
    assert.equal(issues[99], 'record 100, column "id": "bad-99" is not a UUID; delivered as null');
    assert.equal(issues[100], '150 values in all were delivered as null (only the first 100 are reported)');
  });

  it('puts valid placeholders under a null parent in fields that may not be null', async () => {
    const inner = {
      type: 'record',
      name: 'Inner',
      fields: [
        { name: 'm', type: { type: 'map', values: 'int' } },
        { name: 'l', type: { type: 'array', items: 'long' } },
        { name: 'e', type: { type: 'enum', name: 'E', symbols: ['A'] } },
        { name: 'b', type: 'boolean' },
      ],
    };
    const schema = { type: 'record', name: 'R', fields: [{ name: 'inner', type: ['null', inner] }] };
    const [batch] = (await read(await avroFile(schema, [{ inner: null }, { inner: { Inner: { m: { k: 1 }, l: [5n], e: 'A', b: true } } }])))
      .batches;
    const data = batch!.getChild('inner')!.data[0]!;
    assert.equal(data.nullCount, 1);
    assert.deepEqual(
      data.children.map((c) => c.nullCount),
      [0, 0, 0, 0],
    );
    const m = batch!.getChild('inner')!.data[0]!.children[0]!;
    assert.deepEqual(
      [0, 1].map((i) => Buffer.from(m.values.subarray(m.valueOffsets[i], m.valueOffsets[i + 1])).toString()),
      ['null', '{"k":1}'],
    );
  });

  it('refuses schemas nested deeper than 64 levels, and types defined twice', async () => {
    let deep: object = { type: 'int' };
    for (let i = 0; i < 70; i++) deep = { type: 'array', items: deep };
    const file = await avroFile({ type: 'record', name: 'R', fields: [{ name: 'x', type: 'int' }] }, [{ x: 1 }]);
    await assert.rejects(openAvro(memorySource(rewriteSchema(file, JSON.stringify(deep))), { budget: new ByteBudget(1 << 20) }), {
      name: 'FormatError',
      message: 'the Avro schema nests deeper than 64 levels',
    });
    const twice = {
      type: 'record',
      name: 'R',
      fields: [
        { name: 'a', type: { type: 'fixed', name: 'F', size: 1 } },
        { name: 'b', type: { type: 'fixed', name: 'F', size: 2 } },
      ],
    };
    await assert.rejects(openAvro(memorySource(rewriteSchema(file, JSON.stringify(twice))), { budget: new ByteBudget(1 << 20) }), {
      message: 'the Avro schema defines F twice',
    });
  });

  it('reads longs exactly at every varint length, both signs', async () => {
    const values: bigint[] = [];
    for (let bits = 0n; bits < 63n; bits++) values.push(1n << bits, (1n << bits) - 1n, -(1n << bits), -(1n << bits) + 1n);
    values.push(9007199254740993n, -9007199254740993n, 9223372036854775807n, -9223372036854775808n);
    const schema = { type: 'record', name: 'R', fields: [{ name: 'v', type: 'long' }] };
    const { batches } = await read(
      await avroFile(
        schema,
        values.map((v) => ({ v })),
      ),
    );
    const got = batches.flatMap((b) => [...b.getChild('v')!]);
    assert.deepEqual(got, values);
  });

  it('reads a file whose schema is not a record as one column named value', async () => {
    const { schema, batches } = await read(await avroFile({ type: 'array', items: 'int' }, [[1, 2], [], [3]]));
    assert.deepEqual(schema.fields.map(describeField), ['value:List<Int32>']);
    assert.deepEqual(
      [...batches[0]!.getChild('value')!].map((v) => [...(v as Vector)]),
      [[1, 2], [], [3]],
    );
  });

  it('reads schemas with field defaults, aliases, docs, namespaces and error types', async () => {
    const schema = {
      type: 'record',
      name: 'Outer',
      namespace: 'a.b',
      doc: 'documented',
      fields: [
        { name: 's', type: 'string', default: 'x', aliases: ['old_s'], doc: 'a string' },
        // A long default beyond 2^53 (JSON cannot carry it exactly; avsc refuses it): defaults are not needed.
        { name: 'l', type: 'long', default: 2 ** 53 },
        { name: 'u', type: ['null', 'string'], default: null },
        { name: 'e', type: { type: 'enum', name: 'E', symbols: ['A', 'B'], default: 'A' }, default: 'B' },
        { name: 'fx', type: { type: 'fixed', name: 'F', namespace: 'c.d', size: 2 }, default: '\u0000\u0001' },
        { name: 'fx2', type: 'c.d.F' },
        { name: 'err', type: { type: 'error', name: 'Problem', fields: [{ name: 'message', type: 'string' }] } },
        { name: 'm', type: { type: 'map', values: 'int' }, default: {} },
      ],
    };
    const record = {
      s: 's',
      l: 1n,
      u: null,
      e: 'B',
      fx: Buffer.from([1, 2]),
      fx2: Buffer.from([3, 4]),
      err: { message: 'm' },
      m: { k: 1 },
    };
    const { schema: arrow, batches } = await read(await avroFile(schema, [record]));
    assert.deepEqual(arrow.fields.map(describeField), [
      's:Utf8',
      'l:Int64',
      'u:Utf8?',
      'e:Utf8',
      'fx:Binary',
      'fx2:Binary',
      'err:Struct<{message:Utf8}>',
      'm:Binary json',
    ]);
    assert.equal(hex(batches[0]!.getChild('fx2')!.get(0)), '0304');
  });

  it('refuses a schema that is not valid Avro with a FormatError', async () => {
    const bad = [
      { type: 'record', name: 'R', fields: [{ name: 'x', type: 'Missing' }] },
      {
        type: 'record',
        name: 'R',
        fields: [
          { name: 'x', type: 'int' },
          { name: 'x', type: 'int' },
        ],
      },
      { type: 'record', name: 'R', fields: [{ name: 'x', type: [] }] },
    ];
    for (const schema of bad) {
      const file = await avroFile({ type: 'record', name: 'R', fields: [{ name: 'x', type: 'int' }] }, [{ x: 1 }]);
      const rewritten = rewriteSchema(file, JSON.stringify(schema));
      await assert.rejects(openAvro(memorySource(rewritten), { budget: new ByteBudget(1 << 20) }), FormatError, JSON.stringify(schema));
    }
  });
});

/** The file with another schema text in its header (the metadata entry rewritten, blocks kept). */
function rewriteSchema(file: Buffer, schema: string): Buffer {
  const start = file.indexOf('avro.schema') + 'avro.schema'.length;
  let pos = start;
  let n = 0;
  for (let scale = 1; ; scale *= 128) {
    const b = file[pos++]!;
    n += (b & 0x7f) * scale;
    if (!(b & 0x80)) break;
  }
  const body = Buffer.from(schema);
  return Buffer.concat([file.subarray(0, start), varintBytes(body.length), body, file.subarray(pos + n / 2)]);
}
