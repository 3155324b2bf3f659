// Avro object container files end to end: files written by avro-js (Apache Avro's JavaScript
// implementation, not the avsc the plugin reads with) on a real S3 server (Swift s3api), the bundled
// plugin over gRPC, and a protocol v3 client. Every codec, every type with exact values, schemas that
// evolve across a table's files, files that are not Avro or have a corrupt block, and filetype avro
// and auto.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataType, type Field, type Vector } from 'apache-arrow';
import { rawValue } from './support/arrow-values.js';
import {
  ALL_TYPES_DECIMALS,
  ALL_TYPES_RECORDS,
  ALL_TYPES_SCHEMA,
  avroFile,
  blockPositions,
  ZSTD_REAL_FILE,
  ZSTD_REAL_ROWS,
  type AvroCodec,
} from './support/avro-fixtures.js';
import { closeFixtures, parquetFromSql } from './support/fixtures.js';
import { startPlugin, tableName, type PluginProcess, type SyncResult } from './support/plugin-client.js';
import { startS3Server, type S3TestServer } from './support/s3-server.js';
import { s3Spec } from './support/s3-spec.js';

const BUCKET = 'cq-avro-test';
const CODECS: AvroCodec[] = ['null', 'deflate', 'snappy', 'zstandard'];
const PER_CODEC = 2000;
const BIG_ROWS = 60_000;

const EVENT = {
  type: 'record',
  name: 'Event',
  namespace: 'test.events',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'score', type: ['null', 'double'] },
  ],
};

/** Rows [from, to) of EVENT, with ids beyond 2^53. */
function events(from: number, to: number) {
  return Array.from({ length: to - from }, (_, k) => {
    const i = from + k;
    return {
      id: 9007199254740993n + BigInt(i),
      name: `event-${i}-${'é'.repeat(i % 5)}`,
      at: 1704067200000000n + BigInt(i) * 1000003n,
      tags: Array.from({ length: i % 3 }, (_, t) => `tag${t}`),
      score: i % 4 === 0 ? null : { double: i / 8 },
    };
  });
}

const V1 = {
  type: 'record',
  name: 'User',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
  ],
};
const V2 = {
  type: 'record',
  name: 'User',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
    { name: 'email', type: ['null', 'string'], default: null },
    { name: 'level', type: 'int', default: 0 },
  ],
};

let s3: S3TestServer;
let plugin: PluginProcess;
let corrupt: { key: string; blockOffset: number; goodRows: number };

const spec = (extra: Record<string, unknown> = {}) => s3Spec(s3, BUCKET, { filetype: 'avro', ...extra });

async function sync(extra: Record<string, unknown> = {}, tables = ['*']): Promise<SyncResult> {
  await plugin.client.init(spec(extra));
  return plugin.client.sync({ tables });
}

/** A file of three blocks whose middle block's sync marker is damaged. */
async function corruptFile(): Promise<{ file: Buffer; blockOffset: number; goodRows: number }> {
  const file = await avroFile(EVENT, events(0, 600), { codec: 'snappy', blockSize: 4 * 1024 });
  const blocks = blockPositions(file);
  assert.ok(blocks.length >= 3);
  file[blocks[1]!.syncOffset] ^= 0xff;
  return { file, blockOffset: blocks[1]!.offset, goodRows: blocks[0]!.count };
}

before(async () => {
  s3 = await startS3Server();
  await s3.createBucket(BUCKET);
  const bad = await corruptFile();
  corrupt = { key: 'bad/corrupt.avro', blockOffset: bad.blockOffset, goodRows: bad.goodRows };
  const files: [string, Uint8Array | string][] = [
    ['alltypes/part-0.avro', await avroFile(ALL_TYPES_SCHEMA, ALL_TYPES_RECORDS, { codec: 'deflate' })],
    ...(await Promise.all(
      CODECS.map(async (codec, n): Promise<[string, Buffer]> => [
        `codecs/${codec}.avro`,
        await avroFile(EVENT, events(n * PER_CODEC, (n + 1) * PER_CODEC), { codec, blockSize: 16 * 1024 }),
      ]),
    )),
    ['zstdreal/lines.avro', ZSTD_REAL_FILE],
    [
      'users/2024-01.avro',
      await avroFile(V1, [
        { id: 1n, name: 'ann' },
        { id: 2n, name: 'bob' },
      ]),
    ],
    [
      'users/2024-02.avro',
      await avroFile(V2, [
        { id: 3n, name: 'cy', email: { string: 'cy@example.com' }, level: 7 },
        { id: 4n, name: 'di', email: null, level: 1 },
      ]),
    ],
    ['bad/good.avro', await avroFile(EVENT, events(1000, 1010))],
    ['bad/not-avro.avro', 'this is not an Avro file at all'],
    ['bad/empty.avro', ''],
    [corrupt.key, bad.file],
    ['mixed/a.avro', await avroFile(V1, [{ id: 10n, name: 'from avro' }])],
    ['mixed/b.parquet', await parquetFromSql(`SELECT 20::BIGINT AS id, 'from parquet' AS name`)],
    ['big/part-0.avro', await avroFile(EVENT, events(0, BIG_ROWS), { codec: 'snappy', blockSize: 64 * 1024 })],
  ];
  for (const [key, body] of files) await s3.put(BUCKET, key, body);
  plugin = await startPlugin();
});

after(async () => {
  await plugin?.stop();
  await s3?.stop();
  await closeFixtures();
});

const describeField = (f: Field) => `${f.name}:${String(f.type)}${f.nullable ? '?' : ''}`;

/** Every value of a column across the table's records, as stored (timestamps in their unit, as bigint). */
function column(result: SyncResult, table: string, name: string, read: (v: Vector, i: number) => unknown = rawValue): unknown[] {
  const out: unknown[] = [];
  for (const { table: t, batch } of result.batches) {
    if (t !== table) continue;
    const vector = batch.getChild(name)!;
    for (let i = 0; i < batch.numRows; i++) out.push(read(vector, i));
  }
  return out;
}

/** A decimal's exact text from its stored words (two's complement, little-endian). */
function decimalText(vector: Vector, index: number): string | null {
  if (!vector.isValid(index)) return null;
  const type = vector.type;
  assert.ok(DataType.isDecimal(type));
  const words = type.bitWidth / 32;
  let n = 0n;
  let offset = index;
  for (const data of vector.data) {
    if (offset >= data.length) {
      offset -= data.length;
      continue;
    }
    const values = data.values as Uint32Array;
    for (let w = words - 1; w >= 0; w--) n = (n << 32n) | BigInt(values[(data.offset + offset) * words + w]!);
    break;
  }
  if (n >> BigInt(type.bitWidth - 1)) n -= 1n << BigInt(type.bitWidth);
  const digits = (n < 0n ? -n : n).toString().padStart(type.scale + 1, '0');
  const text = type.scale > 0 ? `${digits.slice(0, -type.scale)}.${digits.slice(-type.scale)}` : digits;
  return n < 0n ? `-${text}` : text;
}

const utf8 = (v: Vector, i: number) => {
  const value = v.get(i) as Uint8Array | null;
  return value === null ? null : Buffer.from(value).toString('utf8');
};

describe('avro: every type through the protocol', () => {
  let result: SyncResult;

  before(async () => {
    result = await sync({}, ['alltypes']);
  });

  it('migrates the table with the mapped Arrow types and CloudQuery extensions', () => {
    const schema = result.migrations.get('alltypes')!;
    const fields = new Map(schema.fields.map((f) => [f.name, f]));
    assert.deepEqual(
      ['l', 'ts_ns', 'lts_us', 'dec', 'dec_wide', 'opt_int', 'address', 'tags', 'date', 'time_us'].map((n) =>
        describeField(fields.get(n)!),
      ),
      [
        'l:Int64',
        'ts_ns:Timestamp<NANOSECOND, UTC>',
        'lts_us:Timestamp<MICROSECOND>',
        'dec:Decimal[38e+10]?',
        'dec_wide:Decimal[50e+5]?',
        'opt_int:Int32?',
        'address:Struct<{street:Utf8, zip:Int32, geo:Struct<{lat:Float64, lon:Float64}>}>',
        'tags:List<Utf8>',
        'date:Date32<DAY>',
        'time_us:Time64<MICROSECOND>',
      ],
    );
    for (const name of ['attrs', 'choice', 'either', 'span'])
      assert.equal(fields.get(name)!.metadata.get('ARROW:extension:name'), 'json', name);
    assert.equal(fields.get('uuid')!.metadata.get('ARROW:extension:name'), 'uuid');
    assert.equal(fields.get('_cq_id')!.metadata.get('ARROW:extension:name'), 'uuid');
  });

  it('delivers longs beyond 2^53, 38-digit decimals and nanosecond timestamps exactly', () => {
    assert.equal(result.rowCount('alltypes'), 3);
    assert.deepEqual(
      column(result, 'alltypes', 'l', (v, i) => v.get(i)),
      [9223372036854775807n, -9223372036854775808n, 0n],
    );
    assert.deepEqual(column(result, 'alltypes', 'ts_ns'), [1704067200123456789n, -9223372036854775808n, 0n]);
    assert.deepEqual(column(result, 'alltypes', 'ts_us'), [1704067200123456n, -62135596800000000n, 0n]);
    assert.deepEqual(column(result, 'alltypes', 'date'), [19723, -719162, 0]);
    assert.deepEqual(column(result, 'alltypes', 'time_ms'), [86399999, 0, 1]);
    assert.deepEqual(column(result, 'alltypes', 'opt_ts'), [1704067200123456n, null, -1n]);
    for (const name of ['dec', 'dec_fixed', 'dec_wide'] as const) {
      assert.deepEqual(column(result, 'alltypes', name, decimalText), ALL_TYPES_DECIMALS[name], name);
    }
    assert.deepEqual(
      column(result, 'alltypes', 'dec_huge', (v, i) => v.get(i)),
      ALL_TYPES_DECIMALS.dec_huge,
    );
  });

  it('delivers strings, bytes, enums, UUIDs, nested records, lists and JSON', () => {
    assert.deepEqual(
      column(result, 'alltypes', 's', (v, i) => v.get(i)),
      ['héllo, wörld ✓', '', 'x'],
    );
    assert.deepEqual(
      column(result, 'alltypes', 'color', (v, i) => v.get(i)),
      ['BLUE', 'RED', 'GREEN'],
    );
    assert.deepEqual(
      column(result, 'alltypes', 'raw', (v, i) => Buffer.from(v.get(i) as Uint8Array).toString('hex')),
      ['000102ff', '', '78'],
    );
    assert.deepEqual(
      column(result, 'alltypes', 'uuid', (v, i) => (v.get(i) === null ? null : Buffer.from(v.get(i) as Uint8Array).toString('hex'))),
      ['f81d4fae7dec11d0a76500a0c91e6bf6', '00000000000000000000000000000000', null],
    );
    const rows = result.rows('alltypes');
    assert.deepEqual(JSON.parse(JSON.stringify(rows[0]!.address)), { street: 'Main St', zip: 12345, geo: { lat: 52.5, lon: 13.4 } });
    assert.equal(rows[1]!.opt_address, null);
    assert.deepEqual(JSON.parse(JSON.stringify(rows[0]!.opt_list)), [1, null, 3]);
    assert.deepEqual(column(result, 'alltypes', 'attrs', utf8), ['{"big":9223372036854775807,"small":-1}', '{}', '{"zero":0}']);
    assert.deepEqual(column(result, 'alltypes', 'choice', utf8), ['7', '{"lat":1.5,"lon":-2.25}', null]);
    assert.deepEqual(column(result, 'alltypes', 'either', utf8), ['9007199254740993', '"AQID"', '-1']);
  });

  it('reports a value that does not fit its column, and delivers its row with the cell null', () => {
    const messages = result.errors.filter((e) => e.table === 'alltypes').map((e) => e.error);
    assert.deepEqual(messages, [
      `s3://${BUCKET}/alltypes/part-0.avro: record 3, column "uuid": "not-a-uuid" is not a UUID; delivered as null`,
    ]);
  });
});

describe('avro: codecs', () => {
  it('reads null, deflate, snappy and zstandard files of many blocks, every row exactly once', async () => {
    const result = await sync({ rows_per_record: 500 }, ['codecs']);
    assert.deepEqual(result.errors, []);
    const ids = column(result, 'codecs', 'id', (v, i) => v.get(i)) as bigint[];
    assert.equal(ids.length, CODECS.length * PER_CODEC);
    const sorted = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    assert.deepEqual(
      sorted,
      Array.from({ length: CODECS.length * PER_CODEC }, (_, i) => 9007199254740993n + BigInt(i)),
    );
    const expected = new Map(events(0, CODECS.length * PER_CODEC).map((e) => [e.id, e]));
    for (const row of result.rows('codecs')) {
      const want = expected.get(row.id as bigint)!;
      assert.equal(row.name, want.name);
      assert.deepEqual(JSON.parse(JSON.stringify(row.tags)), want.tags);
      assert.equal(row.score, want.score === null ? null : want.score.double);
    }
    assert.deepEqual(result.migrations.get('codecs')!.fields.map(describeField).slice(0, 5), [
      'id:Int64',
      'name:Utf8',
      'at:Timestamp<MICROSECOND, UTC>',
      'tags:List<Utf8>',
      'score:Float64?',
    ]);
  });

  it('reads blocks a real zstd compressor wrote', async () => {
    const result = await sync({}, ['zstdreal']);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(
      result.rows('zstdreal').map((r) => ({ id: r.id, text: r.text })),
      ZSTD_REAL_ROWS,
    );
  });

  it('streams a file larger than a ranged GET in records of rows_per_record rows', async () => {
    const result = await sync({ rows_per_record: 1000 }, ['big']);
    assert.deepEqual(result.errors, []);
    assert.equal(result.rowCount('big'), BIG_ROWS);
    const records = result.batches.filter((b) => b.table === 'big');
    assert.ok(records.every((r) => r.batch.numRows <= 1000));
    assert.ok(records.filter((r) => r.batch.numRows === 1000).length >= BIG_ROWS / 1000 - 5);
    const ids = column(result, 'big', 'id', (v, i) => v.get(i)) as bigint[];
    assert.equal(new Set(ids).size, BIG_ROWS);
  });
});

describe('avro: schemas across files', () => {
  it('merges the files of a table: columns a file lacks are null in its rows', async () => {
    const result = await sync({}, ['users']);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.migrations.get('users')!.fields.map(describeField).slice(0, 4), [
      'id:Int64',
      'name:Utf8',
      'email:Utf8?',
      'level:Int32?',
    ]);
    const rows = result
      .rows('users')
      .map((r) => ({ id: r.id, name: r.name, email: r.email, level: r.level }))
      .sort((a, b) => Number(a.id) - Number(b.id));
    assert.deepEqual(rows, [
      { id: 1n, name: 'ann', email: null, level: null },
      { id: 2n, name: 'bob', email: null, level: null },
      { id: 3n, name: 'cy', email: 'cy@example.com', level: 7 },
      { id: 4n, name: 'di', email: null, level: 1 },
    ]);
  });
});

describe('avro: bad files', () => {
  let result: SyncResult;

  before(async () => {
    result = await sync({}, ['bad']);
  });

  it('skips a file that is not Avro, naming it and what it found, while the good files sync', () => {
    const messages = result.errors.filter((e) => e.table === 'bad').map((e) => e.error);
    assert.ok(
      messages.includes(
        `s3://${BUCKET}/bad/not-avro.avro: not an Avro object container file (no "Obj\\x01" magic): it starts with "this is not an A"...`,
      ),
      messages.join('\n'),
    );
    assert.ok(
      messages.includes(`s3://${BUCKET}/bad/empty.avro: not an Avro object container file (no "Obj\\x01" magic): it is empty`),
      messages.join('\n'),
    );
  });

  it('reports a corrupt block by key, block and byte offset, after the rows of the blocks before it', () => {
    const messages = result.errors.filter((e) => e.table === 'bad').map((e) => e.error);
    const expected =
      `s3://${BUCKET}/${corrupt.key}: block 1 at byte ${corrupt.blockOffset}: the sync marker after it does not match the header's ` +
      `(a corrupt block or size) (${corrupt.goodRows} rows of it were delivered before the failure)`;
    assert.ok(messages.includes(expected), messages.join('\n'));
    assert.equal(messages.length, 3);
    const ids = column(result, 'bad', 'id', (v, i) => v.get(i)) as bigint[];
    const fromGood = ids.filter((id) => id >= 9007199254740993n + 1000n);
    const fromCorrupt = ids.filter((id) => id < 9007199254740993n + 1000n);
    assert.equal(fromGood.length, 10);
    assert.deepEqual(
      fromCorrupt.sort((a, b) => (a < b ? -1 : 1)),
      Array.from({ length: corrupt.goodRows }, (_, i) => 9007199254740993n + BigInt(i)),
    );
    const warning = plugin.jsonLogs().find((l) => l.level === 'warn' && l.key === corrupt.key);
    assert.ok(warning, 'the skipped object is logged with its key');
  });
});

describe('avro: filetype', () => {
  it('filetype avro reads .avro keys only', async () => {
    await plugin.client.init(spec());
    const tables = (await plugin.client.getTables({ tables: ['*'] })).map(tableName);
    assert.deepEqual(tables, ['alltypes', 'bad', 'big', 'codecs', 'mixed', 'users', 'zstdreal']);
    const result = await sync({}, ['mixed']);
    assert.deepEqual(
      result.rows('mixed').map((r) => [r.id, r.name]),
      [[10n, 'from avro']],
    );
  });

  it('filetype auto reads Avro and Parquet in one directory as one table', async () => {
    const result = await sync({ filetype: 'auto' }, ['mixed']);
    assert.deepEqual(result.errors, []);
    const rows = result
      .rows('mixed')
      .map((r) => [r.id, r.name])
      .sort((a, b) => Number(a[0]) - Number(b[0]));
    assert.deepEqual(rows, [
      [10n, 'from avro'],
      [20n, 'from parquet'],
    ]);
  });
});
