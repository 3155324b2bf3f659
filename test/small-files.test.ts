// Many small files against the real S3 server (Swift s3api, behind the request-counting proxy): a file
// that lies whole inside the first tail read is planned and decoded from that one GET, whether the sync
// comes alone or after GetTables; a larger file still reads its row groups; a file skipped for its schema
// is reported by key while the others sync.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { closeFixtures, parquetFromSql } from './support/fixtures.js';
import { startPlugin, type PluginProcess } from './support/plugin-client.js';
import { startS3Server, type S3TestServer } from './support/s3-server.js';

const BUCKET = 'cq-small-files-test';
const DIRS = 3;
const FILES_PER_DIR = 20;
const ROWS = 50;
// Larger than the 64 KiB tail, with several row groups: its row groups are GETs of their own.
const LARGE_ROWS = 30_000;

let s3: S3TestServer;
let proxy: FaultProxy;
let plugin: PluginProcess;

const smallKey = (dir: number, file: number) => `small_${dir}/part-${String(file).padStart(3, '0')}.parquet`;
const rowsSql = (start: number, rows: number, extra = '') =>
  `SELECT i::BIGINT AS id, 'name-' || i AS name${extra} FROM range(${start}, ${start + rows}) t(i)`;

/** GETs of objects (not LISTs), by key. */
function getsByKey(): Map<string, number> {
  const gets = new Map<string, number>();
  for (const r of proxy.requests) {
    if (r.method !== 'GET' || r.url.includes('list-type')) continue;
    const key = decodeURIComponent(r.url.split('?')[0]!.replace(`/${BUCKET}/`, ''));
    gets.set(key, (gets.get(key) ?? 0) + 1);
  }
  return gets;
}

function spec() {
  return {
    bucket: BUCKET,
    region: s3.region,
    endpoint: proxy.endpoint,
    path_style: true,
    access_key_id: s3.accessKeyId,
    secret_access_key: s3.secretAccessKey,
    max_retries: 0,
  };
}

before(async () => {
  s3 = await startS3Server();
  proxy = await startFaultProxy(s3.endpoint);
  await s3.createBucket(BUCKET);
  for (let d = 0; d < DIRS; d++) {
    for (let f = 0; f < FILES_PER_DIR; f++) {
      const start = (d * FILES_PER_DIR + f) * ROWS;
      await s3.put(BUCKET, smallKey(d, f), await parquetFromSql(rowsSql(start, ROWS)));
    }
  }
  const large = await parquetFromSql(`SELECT i::BIGINT AS id, md5(i::VARCHAR) AS name FROM range(${LARGE_ROWS}) t(i)`, {
    rowGroupSize: 8192,
  });
  assert.ok(large.byteLength > 64 * 1024, 'the large file must not fit in one tail read');
  await s3.put(BUCKET, 'large/one.parquet', large);
  plugin = await startPlugin();
});

after(async () => {
  await plugin?.stop();
  await proxy?.stop();
  await s3?.stop();
  await closeFixtures();
});

describe('small files', () => {
  it('reads each small file with exactly one GET: its footer and its rows come from the same read', async () => {
    await plugin.client.init(spec());
    proxy.requests.length = 0;
    const result = await plugin.client.sync({ tables: ['*'] });
    assert.deepEqual(result.errors, []);
    for (let d = 0; d < DIRS; d++) {
      const ids = result.rows(`small_${d}`).map((r) => Number(r.id));
      assert.equal(ids.length, FILES_PER_DIR * ROWS);
      assert.equal(new Set(ids).size, ids.length, 'no row twice');
    }
    assert.equal(result.rowCount('large'), LARGE_ROWS);
    const gets = getsByKey();
    for (let d = 0; d < DIRS; d++) {
      for (let f = 0; f < FILES_PER_DIR; f++) assert.equal(gets.get(smallKey(d, f)), 1, `GETs of ${smallKey(d, f)}`);
    }
    // The large file: its tail, then its row groups (DuckDB writes 30,000 rows as four groups).
    assert.ok((gets.get('large/one.parquet') ?? 0) >= 2, `GETs of the large file: ${gets.get('large/one.parquet')}`);
  });

  it('GetTables then Sync: still one GET per small file in all', async () => {
    await plugin.client.init(spec());
    proxy.requests.length = 0;
    const tables = await plugin.client.getTables({ tables: ['*'] });
    assert.equal(tables.length, DIRS + 1);
    const result = await plugin.client.sync({ tables: ['*'] });
    assert.equal(result.rowCount(), DIRS * FILES_PER_DIR * ROWS + LARGE_ROWS);
    const gets = getsByKey();
    for (let d = 0; d < DIRS; d++) {
      for (let f = 0; f < FILES_PER_DIR; f++) assert.equal(gets.get(smallKey(d, f)), 1, `GETs of ${smallKey(d, f)}`);
    }
  });

  it('a second sync of the same files reads them again, all rows delivered once more', async () => {
    await plugin.client.init(spec());
    const first = await plugin.client.sync({ tables: ['small_*'] });
    const second = await plugin.client.sync({ tables: ['small_*'] });
    assert.equal(first.rowCount(), DIRS * FILES_PER_DIR * ROWS);
    assert.equal(second.rowCount(), DIRS * FILES_PER_DIR * ROWS);
  });

  it('a small file whose schema does not merge is reported by key; the others of its table sync', async () => {
    const bad = 'small_0/zz-conflict.parquet';
    await s3.put(BUCKET, bad, await parquetFromSql(`SELECT 'x' || i AS id FROM range(5) t(i)`));
    try {
      await plugin.client.init(spec());
      const result = await plugin.client.sync({ tables: ['small_0'] });
      assert.equal(result.rowCount('small_0'), FILES_PER_DIR * ROWS);
      assert.equal(result.errors.length, 1);
      assert.match(result.errors[0]!.error, /zz-conflict\.parquet/);
      assert.match(result.errors[0]!.error, /"id"|id/);
    } finally {
      await s3.remove(BUCKET, bad);
    }
  });
});
