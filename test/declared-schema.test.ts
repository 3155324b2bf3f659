// Declared table schemas (spec `schema`) end to end: CSV, JSON Lines and Parquet files (Parquet written by
// DuckDB) on a real S3 server (Swift s3api), the bundled plugin over gRPC, a protocol v3 client. A table's
// columns are exactly the declared ones, cast; what does not cast arrives null and is reported by key, row,
// column and value; declared primary keys give the same _cq_id to the same row read twice.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import { closeFixtures, parquetFromSql } from './support/fixtures.js';
import { startPlugin, type PluginProcess, type SyncResult } from './support/plugin-client.js';
import { startS3Server, type S3TestServer } from './support/s3-server.js';
import { errorsOf, rowsOf } from './support/text-fixtures.js';

const BUCKET = 'cq-declared-test';
let s3: S3TestServer;
let plugin: PluginProcess;

const ORDERS = [
  { name: 'id', type: 'int64', primary_key: true },
  { name: 'amount', type: 'float64' },
  { name: 'day', type: 'date' },
  { name: 'code', type: 'utf8', not_null: true },
  { name: 'region', type: 'utf8' },
];
const EVENTS = [
  { name: 'id', type: 'int64', primary_key: true },
  { name: 'n', type: 'int64' },
  { name: 'ratio', type: 'float32' },
  { name: 'at', type: 'timestamp' },
];
const FEED = [
  { name: 'id', type: 'int32' },
  { name: 'tags', type: 'list<int64>' },
  { name: 'at', type: 'timestamp[ms]' },
];

function spec(extra: Record<string, unknown> = {}) {
  return {
    bucket: BUCKET,
    region: s3.region,
    endpoint: s3.endpoint,
    path_style: true,
    access_key_id: s3.accessKeyId,
    secret_access_key: s3.secretAccessKey,
    filetype: 'auto',
    schema: { orders: ORDERS, events: EVENTS, feed: FEED },
    ...extra,
  };
}

async function sync(extra: Record<string, unknown> = {}, tables = ['*']): Promise<SyncResult> {
  await plugin.client.init(spec(extra));
  return plugin.client.sync({ tables });
}

const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / 86_400_000;

before(async () => {
  s3 = await startS3Server();
  await s3.createBucket(BUCKET);
  const csv = [
    'id,amount,day,code,extra',
    '1,1.5,2024-01-31,007,x',
    '2,abc,2024-02-01,A,y',
    '9223372036854775808,1e400,2024-02-30,,z',
    '4,2,someday,B,w',
  ].join('\n');
  await s3.put(BUCKET, 'orders/a.csv', csv);
  const events = await parquetFromSql(
    `SELECT i::INTEGER AS id, CASE WHEN i = 2 THEN 'x' ELSE (i * 10)::VARCHAR END AS n,
       CASE WHEN i = 3 THEN 1e300 ELSE i / 4 END::DOUBLE AS ratio,
       make_timestamp(1704067200000000 + i * 1000001)::TIMESTAMPTZ AS at, 'dropped' AS other
     FROM range(1, 5) t(i)`,
  );
  await s3.put(BUCKET, 'events/part-0.parquet', events);
  await s3.put(
    BUCKET,
    'feed/a.jsonl',
    [
      '{"id": 1, "tags": [1, 2], "at": "2024-01-01T00:00:00.5Z"}',
      '{"id": 2, "tags": "none", "at": "2024-01-01T00:00:00.0001Z"}',
      '{"id": 3}',
    ].join('\n'),
  );
  plugin = await startPlugin();
});

after(async () => {
  await plugin?.stop();
  await s3?.stop();
  await closeFixtures();
});

describe('a declared schema', () => {
  it('CSV: exactly the declared columns, cast; failures null and reported by key, row, column and value; undeclared dropped with one warning', async () => {
    const result = await sync({}, ['orders']);
    const schema = result.migrations.get('orders')!;
    assert.deepEqual(
      schema.fields.map((f) => `${f.name}:${String(f.type)}`),
      [
        'id:Int64',
        'amount:Float64',
        'day:Date32<DAY>',
        'code:Utf8',
        'region:Utf8',
        '_cq_id:FixedSizeBinary[16]',
        '_cq_parent_id:FixedSizeBinary[16]',
      ],
    );
    assert.equal(schema.fields[0]!.metadata.get('cq:extension:primary_key'), 'true');
    assert.deepEqual(rowsOf(result, 'orders'), [
      { id: 1n, amount: 1.5, day: day('2024-01-31'), code: '007', region: null },
      { id: 2n, amount: null, day: day('2024-02-01'), code: 'A', region: null },
      { id: null, amount: null, day: null, code: null, region: null },
      { id: 4n, amount: 2, day: null, code: 'B', region: null },
    ]);
    const uri = `s3://${BUCKET}/orders/a.csv`;
    assert.deepEqual(errorsOf(result, 'orders').sort(), [
      `${uri}: row 2: column "amount": value "abc" cannot be cast to float64 (not a number); delivered as null`,
      `${uri}: row 3: column "amount": value "1e400" cannot be cast to float64 (not a number); delivered as null`,
      `${uri}: row 3: column "code" is null but declared not_null; the row is delivered with the null`,
      `${uri}: row 3: column "day": value "2024-02-30" cannot be cast to date32 (not a date (YYYY-MM-DD)); delivered as null`,
      `${uri}: row 3: column "id": value "9223372036854775808" cannot be cast to int64 (out of range); delivered as null`,
      `${uri}: row 4: column "day": value "someday" cannot be cast to date32 (not a date (YYYY-MM-DD)); delivered as null`,
    ]);
    const warnings = plugin.jsonLogs().filter((l) => l.level === 'warn' && String(l.message).includes('dropped'));
    assert.deepEqual(
      warnings.map((l) => [l.message, l.table, l.key]),
      [['columns not in the declared schema of table "orders" are dropped: "extra"', 'orders', 'orders/a.csv']],
    );
  });

  it('Parquet: an int32 column widens, text that is no integer and a double beyond float32 are reported, a zoned timestamp keeps its microseconds', async () => {
    const result = await sync({}, ['events']);
    assert.deepEqual(
      result.migrations
        .get('events')!
        .fields.filter((f) => !f.name.startsWith('_cq_'))
        .map((f) => `${f.name}:${String(f.type)}`),
      ['id:Int64', 'n:Int64', 'ratio:Float32', 'at:Timestamp<MICROSECOND, UTC>'],
    );
    const rows = rowsOf(result, 'events');
    assert.deepEqual(
      rows.map((r) => [r.id, r.n, r.ratio, r.at]),
      [
        [1n, 10n, 0.25, 1704067200000000n + 1000001n],
        [2n, null, 0.5, 1704067200000000n + 2000002n],
        [3n, 30n, null, 1704067200000000n + 3000003n],
        [4n, 40n, 1, 1704067200000000n + 4000004n],
      ],
    );
    const uri = `s3://${BUCKET}/events/part-0.parquet`;
    assert.deepEqual(errorsOf(result, 'events').sort(), [
      `${uri}: row 2: column "n": value "x" cannot be cast to int64 (not an integer); delivered as null`,
      `${uri}: row 3: column "ratio": value "1e+300" cannot be cast to float32 (out of range); delivered as null`,
    ]);
  });

  it('JSON Lines: a JSON array into list<int64>, timestamps cast to milliseconds only when exact, a missing key is null', async () => {
    const result = await sync({}, ['feed']);
    const rows = rowsOf(result, 'feed');
    assert.deepEqual(
      rows.map((r) => [r.id, r.tags === null ? null : [...(r.tags as Iterable<bigint>)], r.at]),
      [
        [1, [1n, 2n], 1704067200500n],
        [2, null, null],
        [3, null, null],
      ],
    );
    const uri = `s3://${BUCKET}/feed/a.jsonl`;
    assert.deepEqual(errorsOf(result, 'feed').sort(), [
      `${uri}: row 2: column "at": value "2024-01-01T00:00:00.0001Z" cannot be cast to timestamp[ms] (has more precision than the column keeps); delivered as null`,
      `${uri}: row 2: column "tags": value "\\"none\\"" cannot be cast to list<int64> (not a list (a JSON array)); delivered as null`,
    ]);
  });

  it('declared primary keys make _cq_id deterministic: the same object read twice gives the same ids', async () => {
    const ids = async () =>
      (await sync({}, ['events'])).batches
        .filter((b) => b.table === 'events')
        .flatMap((b) => [...b.batch.getChild('_cq_id')!].map((id) => Buffer.from(id as Uint8Array).toString('hex')));
    const first = await ids();
    assert.equal(new Set(first).size, 4);
    assert.deepEqual(await ids(), first);
  });

  it('a schema entry naming no table is a warning naming the tables there are', async () => {
    const result = await sync({ schema: { orders: ORDERS, ordres: ORDERS } }, ['orders']);
    assert.equal(rowsOf(result, 'orders').length, 4);
    const warning = plugin.jsonLogs().find((l) => l.level === 'warn' && String(l.message).startsWith('schema.ordres names no table'));
    assert.ok(warning, 'no warning for schema.ordres');
    assert.match(String(warning.message), /the tables are: events, feed, orders\)/);
  });

  it('spec errors fail Init naming the table and column', async () => {
    const bad = {
      orders: [
        { name: 'id', type: 'int46' },
        { name: 'id', type: 'utf8' },
      ],
      empty: [],
    };
    await assert.rejects(plugin.client.init(spec({ schema: bad })), (err: grpc.ServiceError) => {
      assert.equal(err.code, 3); // INVALID_ARGUMENT
      assert.match(err.details, /schema\.orders\[0\]: column "id": unknown type "int46"; the types are: int8, /);
      assert.match(err.details, /schema\.orders\[1\]\.name: column "id" is declared twice/);
      assert.match(err.details, /schema\.empty: declares no column/);
      return true;
    });
  });
});
