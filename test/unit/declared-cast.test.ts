// Casting decoded columns to declared types (spec `schema`): exact conversions, failures with a reason,
// and a declared table's batches: declared columns only, failures and not_null nulls reported by row.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Binary,
  Field,
  Float64,
  Int32,
  Int64,
  List,
  makeData,
  makeVector,
  RecordBatch,
  Schema,
  Struct,
  TimestampNanosecond,
  Utf8,
  vectorFromArray,
  type DataType,
} from 'apache-arrow';
import { castData, targetOf } from '../../src/arrow/cast.js';
import { textOf } from '../../src/arrow/cast-format.js';
import { parseTimestampText } from '../../src/arrow/cast-text.js';
import { DeclaredTable } from '../../src/schema/declared.js';
import { parseTypeName } from '../../src/schema/declared-types.js';
import { parseSpec, SpecError } from '../../src/spec.js';
import { resolveDeclared } from '../../src/spec-declared.js';

const words = { trueValues: new Set(['Y']), falseValues: new Set(['N']) };

function declaredField(name: string, type: string): Field {
  const parsed = parseTypeName(type);
  return new Field(name, parsed.type, true, parsed.metadata);
}

/** Casts text values to `type`: the cast values (as JS values) and the failures. */
function castText(type: string, texts: (string | null)[], source: DataType = new Utf8()) {
  const vector = vectorFromArray(texts, source as Utf8);
  const failures: string[] = [];
  const field = declaredField('c', type);
  const data = castData(vector.data[0]!, new Field('c', source, true), targetOf(field), words, (row, value, reason) =>
    failures.push(`${row}:${textOf(value)}:${reason}`),
  );
  const out = new RecordBatch(
    new Schema([field]),
    makeData({ type: new Struct([field]), length: data.length, nullCount: 0, children: [data] }),
  );
  return {
    values: [...out.getChild('c')!].map((v) => (v && typeof v === 'object' && 'toArray' in v ? [...(v as Iterable<unknown>)] : v)),
    failures,
  };
}

describe('casting text to declared types', () => {
  it('int64: exact beyond 2^53; text, overflow and fractions fail', () => {
    const { values, failures } = castText('int64', ['9007199254740993', '-5', 'abc', '9223372036854775808', '1.5', null]);
    assert.deepEqual(values, [9007199254740993n, -5n, null, null, null, null]);
    assert.deepEqual(failures, ['2:abc:not an integer', '3:9223372036854775808:out of range', '4:1.5:not an integer']);
  });

  it('int32 / uint8 ranges', () => {
    assert.deepEqual(castText('int32', ['2147483647', '2147483648']).values, [2147483647, null]);
    assert.deepEqual(castText('uint8', ['255', '-1']).values, [255, null]);
  });

  it('float64: 1e400 overflows, NaN only when spelled', () => {
    const { values, failures } = castText('float64', ['1.25', '1e400', 'NaN', '0x10']);
    assert.equal(values[0], 1.25);
    assert.equal(values[1], null);
    assert.ok(Number.isNaN(values[2]));
    assert.equal(values[3], null);
    assert.equal(failures.length, 2);
  });

  it('decimal(10,2): rescaled exactly; lost digits and too many digits fail', () => {
    const { values, failures } = castText('decimal(10,2)', ['12.5', '-0.01', '1.234', '123456789.00', '1e2']);
    assert.deepEqual(
      values.map((v) => (v === null ? null : textOf({ k: 'dec', v: decimalBigInt(v), scale: 2 }))),
      ['12.50', '-0.01', null, null, '100.00'],
    );
    assert.deepEqual(
      failures.map((f) => f.split(':').slice(2).join(':')),
      ['has more than 2 decimal places', 'has more than 10 digits'],
    );
  });

  it('bool: true/false, 1/0 and the csv words', () => {
    assert.deepEqual(castText('bool', ['true', 'FALSE', '1', 'Y', 'N', 'maybe']).values, [true, false, true, true, false, null]);
  });

  it('date: calendar dates only; a string or 2024-02-30 fails', () => {
    const { values, failures } = castText('date', ['2024-02-29', '2024-02-30', 'yesterday']);
    assert.equal(values[0], Date.UTC(2024, 1, 29));
    assert.deepEqual(values.slice(1), [null, null]);
    assert.equal(failures.length, 2);
  });

  it('timestamps to the nanosecond, zones applied, precision never dropped silently', () => {
    assert.deepEqual(parseTimestampText('2024-01-02T03:04:05.123456789+02:00'), { ns: 1704157445123456789n, zoned: true });
    const { failures } = castText('timestamp[ms]', ['2024-01-02 03:04:05.123', '2024-01-02T03:04:05.1234']);
    assert.deepEqual(failures, ['1:2024-01-02T03:04:05.1234:has more precision than the column keeps']);
    const ns = makeData({ type: new TimestampNanosecond(), length: 1, nullCount: 0, data: new BigInt64Array([1704157445123456789n]) });
    const data = castData(ns, new Field('t', new TimestampNanosecond(), true), targetOf(declaredField('t', 'utf8')), words, () => {});
    assert.equal(makeVector(data).get(0), '2024-01-02T01:04:05.123456789');
  });

  it('uuid, json and list<int64>', () => {
    assert.deepEqual(castText('uuid', ['0190b7d4-8a4e-7c4e-9f7b-3c1f1c2d3e4f', 'nope']).failures, ['1:nope:not a UUID']);
    const json = castText('json', ['{"a": 1}', 'plain text']).values.map((v) => new TextDecoder().decode(v as Uint8Array));
    assert.deepEqual(json, ['{"a": 1}', '"plain text"']);
    const { values, failures } = castText('list<int64>', ['[1, 2, null]', '[1, "x"]', '{}']);
    assert.deepEqual(values, [[1n, 2n, null], null, null]);
    assert.deepEqual(failures, ['1:[1, "x"]:item 2 is not an integer', '2:{}:not a list (a JSON array)']);
    // Exact where the runtime gives JSON.parse the number's source text (Node 22), else reported: never rounded.
    const big = castText('list<int64>', ['[9007199254740993]']);
    if (big.failures.length === 0) assert.deepEqual(big.values, [[9007199254740993n]]);
    else assert.deepEqual(big.failures, ['0:[9007199254740993]:item 1 is a float beyond 2^53, not exact as an integer']);
  });

  it('typed sources: int32 widens to int64, float to int only when integral, int64 to utf8', () => {
    const ints = vectorFromArray([1, null, 3], new Int32());
    const data = castData(ints.data[0]!, new Field('i', new Int32(), true), targetOf(declaredField('i', 'int64')), words, () => {});
    assert.deepEqual([...makeVectorOf(data)], [1n, null, 3n]);
    // A slice (as a record cut from a batch is): values and validity bitmap read at its offset.
    const sliced = vectorFromArray([9, null, 7, null, 5, 4, 3, 2, 1, null, 11], new Int32()).data[0]!.slice(3, 7);
    const cast = castData(sliced, new Field('i', new Int32(), true), targetOf(declaredField('i', 'int64')), words, () => {});
    assert.deepEqual([...makeVectorOf(cast)], [null, 5n, 4n, 3n, 2n, 1n, null]);
    const failures: string[] = [];
    const floats = vectorFromArray([2, 2.5], new Float64());
    castData(floats.data[0]!, new Field('f', new Float64(), true), targetOf(declaredField('f', 'int64')), words, (_r, v, reason) =>
      failures.push(`${textOf(v)}:${reason}`),
    );
    assert.deepEqual(failures, ['2.5:not an integer']);
  });
});

describe('a declared table', () => {
  const spec = parseSpec({
    bucket: 'b',
    schema: {
      t: [
        { name: 'id', type: 'int64', primary_key: true },
        { name: 'amount', type: 'float64', not_null: true },
        { name: 'missing', type: 'utf8' },
      ],
    },
  });

  it('has exactly the declared columns: cast, absent ones null, others dropped with one warning; problems by row', () => {
    const table = new DeclaredTable('t', spec.declared.get('t')!, words);
    const reports: string[] = [];
    const warnings: string[] = [];
    const caster = table.forFile(
      (m) => reports.push(m),
      (m) => warnings.push(m),
    );
    const batch = textBatch({ id: ['1', 'x', '3'], extra: ['a', 'b', 'c'], amount: ['1.5', '2', null] });
    const out = caster.cast(batch, 10);
    caster.cast(batch, 13);
    caster.finish();
    assert.deepEqual(
      out.schema.fields.map((f) => `${f.name}:${String(f.type)}`),
      ['id:Int64', 'amount:Float64', 'missing:Utf8'],
    );
    assert.equal(out.schema.fields[0]!.metadata.get('cq:extension:primary_key'), 'true');
    assert.deepEqual(
      out.toArray().map((r) => r.toJSON()),
      [
        { id: 1n, amount: 1.5, missing: null },
        { id: null, amount: 2, missing: null },
        { id: 3n, amount: null, missing: null },
      ],
    );
    assert.deepEqual(warnings, ['columns not in the declared schema of table "t" are dropped: "extra"']);
    assert.deepEqual(reports.slice(0, 2), [
      'row 12: column "id": value "x" cannot be cast to int64 (not an integer); delivered as null',
      'row 13: column "amount" is null but declared not_null; the row is delivered with the null',
    ]);
    assert.equal(reports.length, 4);
  });

  it('reports at most 100 problems a file, then the total', () => {
    const table = new DeclaredTable('t', spec.declared.get('t')!, words);
    const reports: string[] = [];
    const caster = table.forFile(
      (m) => reports.push(m),
      () => {},
    );
    const ids = Array.from({ length: 250 }, () => 'bad');
    caster.cast(textBatch({ id: ids, amount: ids.map(() => '1') }), 0);
    caster.finish();
    assert.equal(reports.length, 101);
    assert.match(reports[100]!, /^250 problems in this file in all; only the first 100 were reported one by one$/);
  });
});

describe('spec: schema', () => {
  function problems(schema: unknown): string[] {
    try {
      parseSpec({ bucket: 'b', schema });
    } catch (err) {
      assert.ok(err instanceof SpecError);
      return err.problems;
    }
    assert.fail('expected the spec to be rejected');
  }

  it('bad type names, duplicate columns, empty lists and bad table names name the table and column', () => {
    assert.deepEqual(
      problems({
        orders: [
          { name: 'id', type: 'int64' },
          { name: 'id', type: 'utf8' },
          { name: 'at', type: 'datetime' },
        ],
        'my-table': [],
      }),
      [
        'schema.orders[1].name: column "id" is declared twice',
        `schema.orders[2]: column "at": unknown type "datetime"; the types are: ${problems({ x: [{ name: 'a', type: '?' }] })[0]!.split('the types are: ')[1]}`,
        'schema.my-table: "my-table" is not a valid table name (letters, digits and _, not starting with a digit)',
        'schema.my-table: declares no column; list at least one, or remove the table',
      ],
    );
    assert.deepEqual(problems({ t: [{ name: 'a', type: 'decimal(40,2)' }] }), [
      'schema.t[0]: column "a": decimal precision must be 1 to 38, not 40',
    ]);
    assert.deepEqual(problems({ t: [{ nme: 'a', type: 'int64' }] }), [
      "schema.t.0: must have required property 'name'",
      'schema.t.0: unknown field "nme" (did you mean "name"?)',
    ]);
  });

  it('accepts what preview prints', () => {
    const names = [
      'int64',
      'uint16',
      'float32',
      'bool',
      'utf8',
      'large_utf8',
      'binary',
      'date32',
      'timestamp[us, UTC]',
      'timestamp[ns]',
      'time64[us]',
      'time32[ms]',
      'decimal(38,10)',
      'json',
      'uuid',
      'list<list<int32>>',
      'fixed_size_binary[4]',
    ];
    const declared = resolveDeclared({ schema: { t: names.map((type, i) => ({ name: `c${i}`, type })) } });
    assert.equal(declared.get('t')!.length, names.length);
    assert.ok(declared.get('t')![15]!.field.type instanceof List);
    assert.ok(declared.get('t')![6]!.field.type instanceof Binary);
    assert.ok(parseTypeName('int64').type instanceof Int64);
  });
});

function makeVectorOf(data: ReturnType<typeof castData>): Iterable<unknown> {
  return new RecordBatch(
    new Schema([new Field('x', data.type, true)]),
    makeData({ type: new Struct([new Field('x', data.type, true)]), length: data.length, nullCount: 0, children: [data] }),
  ).getChild('x')!;
}

function decimalBigInt(v: unknown): bigint {
  const words = v as Uint32Array;
  let out = 0n;
  for (let w = 3; w >= 0; w--) out = (out << 32n) | BigInt(words[w]!);
  return BigInt.asIntN(128, out);
}

/** A batch of utf8 columns, as a text format without type inference yields it. */
function textBatch(columns: Record<string, (string | null)[]>): RecordBatch {
  const fields = Object.keys(columns).map((name) => new Field(name, new Utf8(), true));
  const children = Object.values(columns).map((texts) => vectorFromArray(texts, new Utf8()).data[0]!);
  const length = children[0]!.length;
  return new RecordBatch(new Schema(fields), makeData({ type: new Struct(fields), length, nullCount: 0, children }));
}
