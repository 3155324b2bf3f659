// Incremental sync against real parts: the Swift S3 server (behind a request-counting proxy), a real
// destination plugin (memdb) as the CloudQuery state backend, and the plugin over gRPC.
import assert from 'node:assert/strict';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { after, before, beforeEach, describe, it } from 'node:test';
import { closeFixtures, parquetFromSql } from './support/fixtures.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { startPlugin, type PluginProcess, type SyncResult } from './support/plugin-client.js';
import { startS3Server, type S3TestServer } from './support/s3-server.js';
import { s3Spec } from './support/s3-spec.js';
import { startStateBackend, type StateBackendServer } from './support/state-backend.js';

let s3: S3TestServer;
let proxy: FaultProxy;
let backend: StateBackendServer;
let plugin: PluginProcess;
let bucket = '';
let run = 0;
const STATE_TABLE = 'cq_state_s3';

const rowsOf = (tag: string, n: number) => parquetFromSql(`SELECT i::BIGINT AS id, '${tag}' AS tag FROM range(${n}) t(i)`);

const spec = () => s3Spec(s3, bucket, { endpoint: proxy.endpoint, max_retries: 0 });

async function sync(opts: { tables?: string[] } = {}): Promise<{ result: SyncResult; gets: number; lists: number }> {
  proxy.requests.length = 0;
  await plugin.client.init(spec());
  const result = await plugin.client.sync({
    tables: opts.tables ?? ['*'],
    backendOptions: { tableName: STATE_TABLE, connection: backend.connection },
  });
  const gets = proxy.requests.filter((r) => r.method === 'GET' && !r.url.includes('list-type')).length;
  const lists = proxy.requests.filter((r) => r.url.includes('list-type')).length;
  return { result, gets, lists };
}

const tags = (result: SyncResult, table: string) => result.rows(table).map((r) => String(r.tag));

before(async () => {
  s3 = await startS3Server();
  proxy = await startFaultProxy(s3.endpoint);
  backend = await startStateBackend();
  plugin = await startPlugin();
});

after(async () => {
  await plugin?.stop();
  await backend?.stop();
  await proxy?.stop();
  await s3?.stop();
  await closeFixtures();
});

beforeEach(async () => {
  // A fresh bucket per test keeps cursors independent (state keys include the bucket).
  bucket = `incr-${process.pid}-${++run}`;
  await s3.createBucket(bucket);
  await proxy.setRule(undefined);
});

describe('incremental sync', () => {
  it('syncs everything first, then nothing new costs one LIST and no GET', async () => {
    await s3.put(bucket, 'events/a.parquet', await rowsOf('a', 100));
    await s3.put(bucket, 'logs/b.parquet', await rowsOf('b', 50));

    const first = await sync();
    assert.equal(first.result.rowCount('events'), 100);
    assert.equal(first.result.rowCount('logs'), 50);

    const second = await sync();
    assert.equal(second.result.rowCount(), 0, 'nothing is delivered twice');
    assert.equal(second.gets, 0, 'no object GET, not even a footer');
    assert.equal(second.lists, 1, 'one LIST');
    assert.deepEqual([...second.result.migrations.keys()].sort(), ['events', 'logs'], 'tables are still migrated');
    assert.deepEqual(
      second.result.migrations.get('events')!.fields.map((f) => f.name),
      first.result.migrations.get('events')!.fields.map((f) => f.name),
    );

    const state = await backend.entries(STATE_TABLE);
    assert.match(state.get(`s3/${bucket}/events/last_modified_cursor`) ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  });

  it('picks up a new object and an overwritten one exactly once', async () => {
    await s3.put(bucket, 't/a.parquet', await rowsOf('a1', 10));
    await s3.put(bucket, 't/b.parquet', await rowsOf('b1', 10));
    await sync();
    await new Promise((r) => setTimeout(r, 1100)); // a later second than the cursor
    await s3.put(bucket, 't/c.parquet', await rowsOf('c1', 7));
    await s3.put(bucket, 't/a.parquet', await rowsOf('a2', 3));

    const second = await sync();
    assert.deepEqual(tags(second.result, 't').sort(), [...Array(3).fill('a2'), ...Array(7).fill('c1')]);
    const third = await sync();
    assert.equal(third.result.rowCount(), 0);
    assert.equal(third.gets, 0);
  });

  it('does not lose an object written in the same second as the cursor', async () => {
    // Upload right after a second starts so the sync and the next upload share that second.
    for (let attempt = 0; attempt < 5; attempt++) {
      const prefix = `same${attempt}`;
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));
      await s3.put(bucket, `${prefix}/a.parquet`, await rowsOf('first', 5));
      const first = await sync({ tables: [prefix] });
      await s3.put(bucket, `${prefix}/b.parquet`, await rowsOf('second', 4));
      const times = await Promise.all(
        ['a', 'b'].map(async (k) =>
          (await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: `${prefix}/${k}.parquet` }))).LastModified!.getTime(),
        ),
      );
      if (times[0] !== times[1]) continue; // the second ticked over: try again
      assert.equal(first.result.rowCount(), 5);
      const second = await sync({ tables: [prefix] });
      assert.deepEqual(tags(second.result, prefix), Array(4).fill('second'), 'the same-second object arrives, the first does not repeat');
      const third = await sync({ tables: [prefix] });
      assert.equal(third.result.rowCount(), 0);
      return;
    }
    assert.fail('could not upload two objects within one second in 5 attempts');
  });

  it("keeps the other tables' cursors when one table fails, and does not move the failed one", async () => {
    await s3.put(bucket, 'good/a.parquet', await rowsOf('good', 20));
    // Large enough that its row group needs its own GET after the footer prefetch.
    await s3.put(bucket, 'bad/a.parquet', await parquetFromSql(`SELECT i::BIGINT AS id, md5(i::VARCHAR) AS tag FROM range(20000) t(i)`));
    await proxy.setRule({
      action: 'error',
      status: 500,
      code: 'InternalError',
      match: { path: /\/bad\/a\.parquet$/, range: /^bytes=4-/ } /* the row group, after the magic */,
    });

    const first = await sync();
    assert.equal(first.result.rowCount('good'), 20);
    assert.equal(first.result.rowCount('bad'), 0);
    assert.ok(
      first.result.errors.some((e) => e.table === 'bad' && e.error.includes('bad/a.parquet')),
      JSON.stringify(first.result.errors),
    );
    const state = await backend.entries(STATE_TABLE);
    assert.ok(state.has(`s3/${bucket}/good/last_modified_cursor`), "the good table's cursor is flushed");
    assert.ok(!state.has(`s3/${bucket}/bad/last_modified_cursor`), "the failed table's cursor does not move");

    await proxy.setRule(undefined);
    const second = await sync();
    assert.equal(second.result.rowCount('good'), 0);
    assert.equal(second.result.rowCount('bad'), 20000);
  });

  it('honours a cursor written by the Go plugin', async () => {
    await s3.put(bucket, 'legacy/old.parquet', await rowsOf('old', 5));
    await new Promise((r) => setTimeout(r, 1100));
    await s3.put(bucket, 'legacy/new.parquet', await rowsOf('new', 6));
    const old = await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'legacy/old.parquet' }));
    // The Go plugin's key and RFC3339Nano value, as its state client writes it.
    await backend.put(
      STATE_TABLE,
      `s3/${bucket}/legacy/last_modified_cursor`,
      old.LastModified!.toISOString().replace('.000Z', '.000000000Z'),
    );

    const first = await sync();
    assert.deepEqual(tags(first.result, 'legacy'), Array(6).fill('new'));
    const second = await sync();
    assert.equal(second.result.rowCount(), 0);
    assert.equal(second.gets, 0);
  });

  it('keeps separate cursors per shard', async () => {
    for (let i = 0; i < 6; i++) await s3.put(bucket, `sh/f${i}.parquet`, await rowsOf(`f${i}`, 3));
    proxy.requests.length = 0;
    await plugin.client.init(spec());
    const backendOptions = { tableName: STATE_TABLE, connection: backend.connection };
    let total = 0;
    for (const num of [1, 2]) total += (await plugin.client.sync({ tables: ['sh'], shard: { num, total: 2 }, backendOptions })).rowCount();
    assert.equal(total, 18);
    for (const num of [1, 2])
      assert.equal((await plugin.client.sync({ tables: ['sh'], shard: { num, total: 2 }, backendOptions })).rowCount(), 0);
    const state = await backend.entries(STATE_TABLE);
    assert.ok(state.has(`s3/${bucket}/sh/shard_1_of_2/last_modified_cursor`));
    assert.ok(state.has(`s3/${bucket}/sh/shard_2_of_2/last_modified_cursor`));
  });
});
