// Tables the user defines, on the real S3 server through the protocol client: glob tables over a
// date layout (and the LIST prefixes they cost), include/exclude, Hive partition columns and their
// types and clashes, provenance columns and the idempotent primary key they make.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import * as grpc from '@grpc/grpc-js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { closeFixtures, parquetFromSql } from './support/fixtures.js';
import { startPlugin, type PluginProcess, type SyncResult } from './support/plugin-client.js';
import { startS3Server, type S3TestServer } from './support/s3-server.js';
import { s3Spec } from './support/s3-spec.js';

const BUCKET = 'cq-tables-test';
let s3: S3TestServer;
let proxy: FaultProxy;
let plugin: PluginProcess;

const rowsSql = (from: number, count: number) => `SELECT range::BIGINT AS id, 'v' || range AS label FROM range(${from}, ${from + count})`;

before(async () => {
  s3 = await startS3Server();
  proxy = await startFaultProxy(s3.endpoint);
  await s3.createBucket(BUCKET);
  const put = async (key: string, from: number, count: number, opts = {}) =>
    s3.put(BUCKET, key, await parquetFromSql(rowsSql(from, count), opts));
  await put('logs/2024/11/25/a.parquet', 0, 10);
  await put('logs/2024/11/26/b.parquet', 10, 20);
  await put('logs/tmp/c.parquet', 100, 5);
  await put('events/year=2024/month=11/part-0.parquet', 0, 7);
  await put('events/year=2024/month=12/part-0.parquet', 7, 8);
  await put('events/year=oops/month=12/part-1.parquet', 15, 2);
  await put('clash/id=3/x.parquet', 0, 3);
  // Row groups of 2,048 and 952 rows and records of 300 rows: row positions cross both.
  await put('big/one.parquet', 0, 3000, { rowGroupSize: 1000 });
  await put('other/x.parquet', 0, 4);
  plugin = await startPlugin();
});

after(async () => {
  await plugin?.stop();
  await proxy?.stop();
  await s3?.stop();
  await closeFixtures();
});

beforeEach(() => {
  proxy.requests.length = 0;
});

const spec = (extra: Record<string, unknown> = {}) => s3Spec(s3, BUCKET, { endpoint: proxy.endpoint, ...extra });

async function sync(extra: Record<string, unknown>, opts = {}): Promise<SyncResult> {
  await plugin.client.init(spec(extra));
  return plugin.client.sync(opts);
}

const ids = (result: SyncResult, table: string) =>
  result
    .rows(table)
    .map((r) => Number(r.id))
    .sort((a, b) => a - b);
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
const lists = () => proxy.requests.filter((r) => r.method === 'GET' && /[?&]list-type=2/.test(r.url));

describe('glob tables', () => {
  it('makes one table of a date layout and names the other keys by directory', async () => {
    const result = await sync({ glob_tables: [{ name: 'logs', include: ['logs/**/*.parquet'], exclude: ['logs/tmp/**'] }] });
    assert.deepEqual(ids(result, 'logs'), range(0, 30));
    assert.ok(result.migrations.has('other'));
    // Excluded from the glob table, the key is claimed by no entry: it is named by its directory.
    assert.deepEqual(ids(result, 'logs_tmp'), range(100, 5));
    assert.deepEqual(result.errors, []);
  });

  it('lists only the literal prefixes of the globs with only_defined_tables', async () => {
    const result = await sync({
      glob_tables: [{ name: 'logs', include: ['logs/2024/**/*.parquet'] }],
      only_defined_tables: true,
    });
    assert.deepEqual([...result.migrations.keys()], ['logs']);
    assert.deepEqual(ids(result, 'logs'), range(0, 30));
    const listed = lists().map((r) => new URL(r.url, 'http://x').searchParams.get('prefix'));
    assert.deepEqual([...new Set(listed)], ['logs/2024/']);
  });

  it('answers INVALID_ARGUMENT naming both entries and the key when two globs claim a key', async () => {
    await plugin.client.init(
      spec({
        glob_tables: [
          { name: 'a', include: ['logs/**'] },
          { name: 'b', include: ['**/a.parquet'] },
        ],
      }),
    );
    await assert.rejects(plugin.client.sync(), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
      assert.match(err.details, /"logs\/2024\/11\/25\/a\.parquet" matches two glob_tables entries, "a" and "b"/);
      return true;
    });
  });

  it('applies include and exclude before directory naming', async () => {
    const result = await sync({ include: ['other/**', 'logs/**'], exclude: ['logs/2024/11/26/**'] });
    assert.deepEqual([...result.migrations.keys()].sort(), ['logs_2024_11_25', 'logs_tmp', 'other']);
  });
});

describe('Hive partitions', () => {
  it('adds typed partition columns and leaves them out of the table name', async () => {
    const result = await sync({ hive_partitioning: true, hive_types: { year: 'int64', month: 'int64' }, include: ['events/**'] });
    const schema = result.migrations.get('events');
    assert.ok(schema, [...result.migrations.keys()].join(','));
    assert.deepEqual(schema.fields.map((f) => `${f.name}:${String(f.type)}`).slice(0, 4), [
      'id:Int64',
      'label:Utf8',
      'year:Int64',
      'month:Int64',
    ]);
    const rows = result.rows('events');
    const byId = new Map(rows.map((r) => [Number(r.id), r]));
    assert.deepEqual([byId.get(0)!.year, byId.get(0)!.month], [2024n, 11n]);
    assert.deepEqual([byId.get(7)!.year, byId.get(7)!.month], [2024n, 12n]);
    // A value that is not an int64: the column is null for that file, and the sync says so.
    assert.equal(byId.get(15)!.year, null);
    assert.equal(rows.length, 17);
    assert.equal(result.errors.length, 1);
    assert.match(result.errors[0]!.error, /partition column "year": "oops" is not a valid int64/);
  });

  it('skips a file whose own column clashes with a partition column, naming both', async () => {
    const result = await sync({ hive_partitioning: true, include: ['clash/**', 'other/**'] });
    assert.equal(result.rowCount('clash'), 0);
    assert.equal(result.errors.length, 1);
    assert.match(result.errors[0]!.error, /column "id" is both a column of the file clash\/id=3\/x\.parquet and a column the plugin adds/);
    assert.equal(result.rowCount('other'), 4);
  });
});

describe('provenance columns', () => {
  it('tells each row its object, version and position, across row groups and records', async () => {
    const result = await sync({ provenance_columns: true, include: ['big/**'], rows_per_record: 300 });
    const rows = result.rows('big');
    assert.equal(rows.length, 3000);
    const listed = await s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'big/one.parquet' }));
    for (const row of rows) {
      assert.equal(row._source_key, 'big/one.parquet');
      assert.equal(row._source_etag, listed.ETag);
      // DuckDB writes rows in order: the position of each row in the object is its id.
      assert.equal(row._source_row, row.id);
    }
    // apache-arrow hands timestamps out in milliseconds, whatever their unit.
    const modified = rows[0]!._source_last_modified as bigint | number;
    assert.equal(Math.floor(Number(modified) / 1000), Math.floor(listed.LastModified!.getTime() / 1000));
  });

  it('makes (_source_key, _source_row) the primary key: reading an object again gives the same ids', async () => {
    const first = await sync({ provenance_columns: true, primary_key_from_source: true, include: ['big/**'] });
    const second = await sync({ provenance_columns: true, primary_key_from_source: true, include: ['big/**'] });
    const schema = first.migrations.get('big')!;
    const pk = schema.fields.filter((f) => f.metadata.get('cq:extension:primary_key') === 'true').map((f) => f.name);
    assert.deepEqual(pk, ['_source_key', '_source_row']);
    const idsOf = (r: SyncResult) => new Map(r.rows('big').map((row) => [Number(row._source_row), String(row._cq_id)]));
    const a = idsOf(first);
    const b = idsOf(second);
    assert.equal(a.size, 3000);
    for (const [row, id] of a) assert.equal(b.get(row), id, `row ${row}`);
    assert.equal(new Set(a.values()).size, 3000, 'every row has its own id');
  });
});
