// Faults injected between the plugin and a real S3 server (Swift s3api) by the suite's own proxy, and
// the plugin process treated roughly: cancelled syncs, SIGTERM, many syncs, syncs at once.
// One assertion style throughout: the delivered rows are exactly the expected rows (count, set of ids,
// no duplicates), or the sync fails loudly with an error naming the object.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import * as grpc from '@grpc/grpc-js';
import { startFaultProxy, type FaultProxy, type FaultRule, type ProxyRequestInfo } from './support/fault-proxy.js';
import { closeFixtures, parquetFromSql } from './support/fixtures.js';
import {
  connectPlugin,
  sleep,
  startPlugin,
  waitFor,
  type PluginProcess,
  type SyncCallError,
  type SyncResult,
} from './support/plugin-client.js';
import { startS3Server, type S3TestServer } from './support/s3-server.js';
import { s3Spec } from './support/s3-spec.js';

const BUCKET = 'cq-faults-test';

// faults/: small files with several row groups each, larger than the 64 KiB footer read, so every
// row group is its own ranged GET. Random text keeps them from compressing below that.
const PART_ROWS = 30_000;
const PARTS = 3;
const GROUP_ROWS = 8192; // a multiple of 2048: DuckDB then writes groups of exactly this size
// big/: one file long enough to cancel or kill a sync in the middle of.
const BIG_ROWS = 2_000_000;
// small/: many syncs in a row.
const SMALL_ROWS = 2_000;
const SMALLS = 4;

const partKey = (n: number) => `faults/part-${n}.parquet`;

let s3: S3TestServer;
let proxy: FaultProxy;
let plugin: PluginProcess;
/** key -> object size, to tell footer reads (the range ends at the last byte) from row-group reads. */
const sizes = new Map<string, number>();

before(async () => {
  s3 = await startS3Server();
  await s3.createBucket(BUCKET);
  const files: [string, Uint8Array][] = [];
  for (let n = 0; n < PARTS; n++) {
    const sql = `SELECT i::BIGINT AS id, md5(i::VARCHAR) AS noise FROM range(${n * PART_ROWS}, ${(n + 1) * PART_ROWS}) t(i)`;
    files.push([partKey(n), await parquetFromSql(sql, { rowGroupSize: GROUP_ROWS })]);
  }
  files.push([
    'big/one.parquet',
    await parquetFromSql(`SELECT i::BIGINT AS id, (i * 7 % 1000)::INTEGER AS v FROM range(${BIG_ROWS}) t(i)`),
  ]);
  for (let n = 0; n < SMALLS; n++) {
    files.push([
      `small/part-${n}.parquet`,
      await parquetFromSql(`SELECT i::BIGINT AS id, 'v' || i AS name FROM range(${n * SMALL_ROWS}, ${(n + 1) * SMALL_ROWS}) t(i)`),
    ]);
  }
  for (const [key, body] of files) {
    await s3.put(BUCKET, key, body);
    sizes.set(key, body.byteLength);
  }
  proxy = await startFaultProxy(s3.endpoint);
  plugin = await startPlugin();
});

after(async () => {
  await plugin?.stop();
  await proxy?.stop();
  await s3?.stop();
  await closeFixtures();
});

beforeEach(async () => {
  await proxy.setRule(undefined);
  proxy.requests.length = 0;
});

/** A spec reaching S3 through the fault proxy (or directly, with `direct`). */
function spec(extra: Record<string, unknown> = {}, direct = false) {
  return s3Spec(s3, BUCKET, { endpoint: direct ? s3.endpoint : proxy.endpoint, ...extra });
}

// ---------- telling requests apart ----------

const LIST = { method: 'GET', query: /(^|&)list-type=2(&|$)/ };

function objectKey(r: { path: string }): string {
  return decodeURIComponent(r.path.slice(`/${BUCKET}/`.length));
}

function isFooterGet(r: ProxyRequestInfo): boolean {
  const size = sizes.get(objectKey(r));
  return r.method === 'GET' && size !== undefined && r.range !== undefined && r.range.endsWith(`-${size - 1}`);
}

function isRowGroupGet(r: ProxyRequestInfo): boolean {
  return r.method === 'GET' && r.range !== undefined && sizes.has(objectKey(r)) && !isFooterGet(r);
}

const rangedGets = () => proxy.requests.filter((r) => r.method === 'GET' && r.range !== undefined);

// ---------- the one assertion style ----------

/** Every `id` delivered for `table`, in arrival order. */
function deliveredIds(result: SyncResult, table: string): number[] {
  const ids: number[] = [];
  for (const entry of result.batches) {
    if (entry.table !== table) continue;
    const column = entry.batch.getChild('id');
    assert.ok(column, `table ${table}: inserts without an id column`);
    for (const value of column.toArray() as BigInt64Array) ids.push(Number(value));
  }
  return ids;
}

/** Asserts the ids delivered for `table` are exactly [from, to): the count, the set, no duplicate. */
function assertExactRows(result: SyncResult, table: string, from: number, to: number, context = ''): void {
  const ids = deliveredIds(result, table);
  const seen = new Uint8Array(to - from);
  let duplicates = 0;
  let outside = 0;
  for (const id of ids) {
    if (id < from || id >= to) outside++;
    else if (seen[id - from]++) duplicates++;
  }
  const missing = seen.reduce((n, s) => n + (s === 0 ? 1 : 0), 0);
  assert.deepEqual(
    { rows: ids.length, duplicates, outside, missing },
    { rows: to - from, duplicates: 0, outside: 0, missing: 0 },
    `table ${table}: expected exactly the ids [${from}, ${to})${context ? `\n${context}` : ''}`,
  );
}

function assertNoDuplicates(ids: number[], what: string): void {
  assert.equal(new Set(ids).size, ids.length, `${what}: a row was delivered twice`);
}

type Outcome = { ok: true; result: SyncResult; ms: number } | { ok: false; error: SyncCallError; ms: number };

async function outcome(sync: Promise<SyncResult>): Promise<Outcome> {
  const started = Date.now();
  try {
    const result = await sync;
    return { ok: true, result, ms: Date.now() - started };
  } catch (error) {
    return { ok: false, error: error as SyncCallError, ms: Date.now() - started };
  }
}

function describeOutcome(o: Outcome): string {
  if (o.ok) {
    return (
      `sync ended OK after ${o.ms} ms with ${o.result.rowCount()} rows and ${o.result.errors.length} error message(s):\n` +
      o.result.errors.map((e) => `  [${e.table}] ${e.error}`).join('\n')
    );
  }
  return `sync failed after ${o.ms} ms with ${grpc.status[o.error.code] ?? o.error.code}: ${o.error.details}`;
}

function faultLog(): string {
  return proxy.requests
    .map(
      (r) =>
        `${r.method} ${r.url}${r.range ? ` [${r.range}]` : ''} -> ${r.status}${r.fault ? ` (${r.fault})` : ''}${r.aborted ? ' (aborted by client)' : ''}`,
    )
    .join('\n');
}

function pluginLogTail(p: PluginProcess = plugin, lines = 15): string {
  return p.logs.slice(-lines).join('\n');
}

/** Every request the proxy faulted was later answered successfully for the same URL and range. */
function assertFaultsRetried(kind: string): void {
  const faulted = proxy.requests.filter((r) => r.fault === kind);
  assert.ok(faulted.length > 0, `the proxy injected no ${kind} fault:\n${faultLog()}`);
  for (const f of faulted) {
    const retried = proxy.requests.some(
      (r) => r.time >= f.time && r !== f && !r.fault && r.url === f.url && r.range === f.range && r.status >= 200 && r.status < 300,
    );
    assert.ok(retried, `${f.method} ${f.url} [${f.range ?? 'no range'}] was never retried successfully:\n${faultLog()}`);
  }
}

const GC_DONE = 'faults.test: forced gc done';

/** Has the plugin (started with the gc-on-signal preload) run a full GC, and waits until it has. */
async function collectGarbage(p: PluginProcess): Promise<void> {
  const done = () => p.logs.filter((line) => line.includes(GC_DONE)).length;
  const before = done();
  process.kill(p.pid, 'SIGUSR2');
  await waitFor(() => done() > before, { timeout: 10_000, message: 'the forced GC' });
  await sleep(100);
}

function rssKiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(match, `no VmRSS for pid ${pid}`);
  return Number(match[1]);
}

// ---------- the tests ----------

describe('the fault proxy', () => {
  it('forwards requests unmodified, so SigV4 signed for the proxy address verifies, and logs them', async () => {
    const client = new S3Client({
      endpoint: proxy.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    try {
      const page = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'faults/' }));
      assert.deepEqual(
        page.Contents?.map((o) => o.Key),
        [partKey(0), partKey(1), partKey(2)],
      );
    } finally {
      client.destroy();
    }
    assert.equal(proxy.requests.length, 1);
    assert.equal(proxy.requests[0]!.status, 200);
    assert.match(proxy.requests[0]!.url, /list-type=2/);
  });
});

describe('transient S3 errors', () => {
  it('retries 503 SlowDown and 500 InternalError on LIST and ranged GETs; every row arrives once', { timeout: 60_000 }, async () => {
    await plugin.client.init(spec({ path_prefix: 'faults/' }));
    await proxy.setRule([
      { action: 'error', status: 503, code: 'SlowDown', match: LIST, times: 2 },
      { action: 'error', status: 500, code: 'InternalError', match: isFooterGet, times: 2 },
      { action: 'error', status: 503, code: 'SlowDown', match: isRowGroupGet, times: 2 },
      { action: 'error', status: 500, code: 'InternalError', match: isRowGroupGet, times: 1 },
    ]);
    const o = await outcome(plugin.client.sync({ tables: ['*'] }));
    assert.ok(o.ok, `${describeOutcome(o)}\n${pluginLogTail()}`);
    assertExactRows(o.result, 'faults', 0, PARTS * PART_ROWS);
    assert.deepEqual(o.result.errors, []);
    assert.equal(proxy.requests.filter((r) => r.fault === 'error').length, 7, faultLog());
    assertFaultsRetried('error');
  });

  it('retries a ranged GET whose connection is reset mid-body; no partial row group, every row once', { timeout: 60_000 }, async (t) => {
    await plugin.client.init(spec({ path_prefix: 'faults/' }));
    await proxy.setRule([
      { action: 'reset', afterBytes: 100, match: isFooterGet, times: 1 },
      { action: 'reset', afterBytes: 20_000, match: isRowGroupGet, times: 3 },
    ]);
    const o = await outcome(plugin.client.sync({ tables: ['*'] }));
    t.diagnostic(
      `${describeOutcome(o)}; faults injected: ${proxy.requests.filter((r) => r.fault).length} of ${proxy.requests.length} requests`,
    );
    assert.ok(o.ok, `${describeOutcome(o)}\n${pluginLogTail()}`);
    assertExactRows(o.result, 'faults', 0, PARTS * PART_ROWS);
    assert.deepEqual(o.result.errors, []);
    assert.equal(proxy.requests.filter((r) => r.fault === 'reset').length, 4, faultLog());
    assertFaultsRetried('reset');
  });

  it('retries a LIST whose connection is reset mid-body', { timeout: 60_000 }, async (t) => {
    await plugin.client.init(spec({ path_prefix: 'faults/' }));
    await proxy.setRule({ action: 'reset', afterBytes: 100, match: LIST, times: 1 });
    const o = await outcome(plugin.client.sync({ tables: ['*'] }));
    t.diagnostic(
      `${describeOutcome(o)}; faults injected: ${proxy.requests.filter((r) => r.fault).length} of ${proxy.requests.length} requests`,
    );
    assert.ok(o.ok, `${describeOutcome(o)}\n${pluginLogTail()}`);
    assertExactRows(o.result, 'faults', 0, PARTS * PART_ROWS);
    assertFaultsRetried('reset');
  });

  it('detects a body cut off before its Content-Length and retries it; every row once', { timeout: 60_000 }, async (t) => {
    await plugin.client.init(spec({ path_prefix: 'faults/' }));
    await proxy.setRule([
      { action: 'truncate', bytes: 1000, match: isFooterGet, times: 1 },
      { action: 'truncate', match: isRowGroupGet, times: 3 }, // half the body
    ]);
    const o = await outcome(plugin.client.sync({ tables: ['*'] }));
    t.diagnostic(
      `${describeOutcome(o)}; faults injected: ${proxy.requests.filter((r) => r.fault).length} of ${proxy.requests.length} requests`,
    );
    assert.ok(o.ok, `${describeOutcome(o)}\n${pluginLogTail()}`);
    assertExactRows(o.result, 'faults', 0, PARTS * PART_ROWS);
    assert.deepEqual(o.result.errors, []);
    assertFaultsRetried('truncate');
  });

  it('detects a well-formed response shorter than the range asked for and retries it', { timeout: 60_000 }, async (t) => {
    await plugin.client.init(spec({ path_prefix: 'faults/' }));
    await proxy.setRule([
      { action: 'truncate', declared: 'sent', bytes: 1000, match: isFooterGet, times: 1 },
      { action: 'truncate', declared: 'sent', bytes: 5000, match: isRowGroupGet, times: 2 },
    ]);
    const o = await outcome(plugin.client.sync({ tables: ['*'] }));
    t.diagnostic(
      `${describeOutcome(o)}; faults injected: ${proxy.requests.filter((r) => r.fault).length} of ${proxy.requests.length} requests`,
    );
    assert.ok(o.ok, `${describeOutcome(o)}\n${pluginLogTail()}`);
    assertExactRows(o.result, 'faults', 0, PARTS * PART_ROWS);
    assert.deepEqual(o.result.errors, []);
    assertFaultsRetried('truncate');
  });

  it(
    'gives up on a GET that keeps failing after max_retries+1 attempts, names the object, never emits part of a row group',
    { timeout: 60_000 },
    async (t) => {
      const maxRetries = 2;
      await plugin.client.init(spec({ path_prefix: 'faults/', max_retries: maxRetries }));
      // The second row group of part-1 always fails: its first row group may be delivered, whole.
      const failing = partKey(1);
      const ranges: string[] = [];
      await proxy.setRule({
        action: 'error',
        status: 500,
        code: 'InternalError',
        match: (r) => {
          if (!isRowGroupGet(r) || objectKey(r) !== failing) return false;
          if (!ranges.includes(r.range!)) ranges.push(r.range!);
          return ranges.indexOf(r.range!) === 1;
        },
      });
      const o = await outcome(plugin.client.sync({ tables: ['*'] }));
      assert.ok(o.ok || o.error.details.includes(`s3://${BUCKET}/${failing}`), describeOutcome(o));
      if (o.ok) {
        const ids = deliveredIds(o.result, 'faults');
        assertNoDuplicates(ids, 'faults');
        // The other files whole; of the failing one a whole number of row groups, from its start.
        const inPart1 = ids.filter((id) => id >= PART_ROWS && id < 2 * PART_ROWS).sort((a, b) => a - b);
        assert.ok(inPart1.length % GROUP_ROWS === 0, `${inPart1.length} rows of ${failing} delivered: not whole row groups`);
        inPart1.forEach((id, i) => assert.equal(id, PART_ROWS + i));
        assert.equal(ids.length - inPart1.length, (PARTS - 1) * PART_ROWS, 'the other files are delivered whole');
        const messages = o.result.errors.map((e) => e.error);
        assert.ok(
          messages.some((m) => m.includes(`s3://${BUCKET}/${failing}`)),
          `no error names ${failing}: ${messages.join('\n')}`,
        );
      }
      const attempts = proxy.requests.filter((r) => r.fault === 'error').length;
      t.diagnostic(`${describeOutcome(o)}\nattempts of the failing range: ${attempts}`);
      assert.ok(
        attempts <= maxRetries + 1,
        `max_retries: ${maxRetries} allows ${maxRetries + 1} attempts of a request, the plugin made ${attempts} (${ranges[1]} of ${failing})`,
      );
    },
  );
  // One range answered with every kind of failure in turn. The SDK's own retries and readRange's retries
  // of broken bodies must share one budget: max_retries + 1 requests for the range, whatever the mix.
  const MIXED_FAULTS = ['503 SlowDown', 'body reset after 1000 bytes', 'connection dropped', 'short body', '500 InternalError'];
  const mixedFaults = (match: (r: ProxyRequestInfo) => boolean): FaultRule[] => [
    { action: 'error', status: 503, code: 'SlowDown', match, times: 1 },
    { action: 'reset', afterBytes: 1000, match, times: 1 },
    { action: 'drop', match, times: 1 },
    { action: 'truncate', declared: 'sent', bytes: 5000, match, times: 1 },
    { action: 'error', status: 500, code: 'InternalError', match, times: 1 },
  ];

  /** Matches the first row-group range of `key` the plugin asks for, and only that range. */
  function firstRowGroupOf(key: string) {
    const state: { range?: string } = {};
    const match = (r: ProxyRequestInfo) => isRowGroupGet(r) && objectKey(r) === key && (state.range ??= r.range) === r.range;
    const requests = () => proxy.requests.filter((r) => r.range === state.range && objectKey({ path: r.url.split('?')[0]! }) === key);
    return { state, match, requests };
  }

  for (const maxRetries of [MIXED_FAULTS.length - 1, MIXED_FAULTS.length]) {
    const fits = maxRetries + 1 > MIXED_FAULTS.length;
    it(
      `max_retries: ${maxRetries}, one range failing ${MIXED_FAULTS.length} times in ${MIXED_FAULTS.length} ways: ` +
        `at most ${maxRetries + 1} requests for it, ` +
        (fits ? 'then every row arrives once' : 'then the object is reported and the rest syncs'),
      { timeout: 90_000 },
      async (t) => {
        await plugin.client.init(spec({ path_prefix: 'faults/', max_retries: maxRetries }));
        const failing = partKey(1);
        const target = firstRowGroupOf(failing);
        await proxy.setRule(mixedFaults(target.match));
        const o = await outcome(plugin.client.sync({ tables: ['*'] }));
        const seen = target.requests();
        t.diagnostic(
          `${describeOutcome(o)}\nrequests for ${target.state.range} of ${failing}: ` +
            seen.map((r) => `${r.status}${r.fault ? ` (${r.fault})` : ''}`).join(', '),
        );
        assert.ok(target.state.range, `no row-group GET of ${failing} was seen:\n${faultLog()}`);
        assert.ok(
          seen.length <= maxRetries + 1,
          `max_retries: ${maxRetries} allows ${maxRetries + 1} requests per range; the plugin made ${seen.length} for ` +
            `${target.state.range} of ${failing}:\n${faultLog()}`,
        );
        assert.ok(o.ok, `${describeOutcome(o)}\n${pluginLogTail()}`);
        if (fits) {
          // Each fault once, then the answer.
          assert.equal(seen.length, MIXED_FAULTS.length + 1, faultLog());
          assert.deepEqual(
            seen.map((r) => r.fault ?? 'none'),
            ['error', 'reset', 'drop', 'truncate', 'error', 'none'],
          );
          assertExactRows(o.result, 'faults', 0, PARTS * PART_ROWS);
          assert.deepEqual(o.result.errors, []);
          return;
        }
        // The whole budget was spent on the range, then the object was given up.
        assert.equal(seen.length, maxRetries + 1, faultLog());
        const messages = o.result.errors.map((e) => e.error);
        assert.ok(
          messages.some((m) => m.includes(`s3://${BUCKET}/${failing}`)),
          `no error names ${failing}: ${messages.join('\n')}`,
        );
        assert.equal(messages.length, 1, messages.join('\n'));
        // Its first row group never arrived, so nothing of it did; the other files are whole.
        const ids = deliveredIds(o.result, 'faults');
        assertNoDuplicates(ids, 'faults');
        assert.equal(ids.filter((id) => id >= PART_ROWS && id < 2 * PART_ROWS).length, 0, `rows of ${failing} were delivered`);
        const others = ids.filter((id) => id < PART_ROWS || id >= 2 * PART_ROWS).sort((a, b) => a - b);
        assert.equal(others.length, (PARTS - 1) * PART_ROWS, 'the other files are delivered whole');
        others.forEach((id, i) => assert.equal(id, i < PART_ROWS ? i : PART_ROWS + i));
      },
    );
  }
});

describe('S3 unreachable beyond the retry budget', () => {
  it('fails the sync when LIST cannot connect, naming the endpoint, within 60 s', { timeout: 90_000 }, async (t) => {
    await plugin.client.init(spec({ path_prefix: 'faults/', max_retries: 1 }));
    await proxy.setRule({ action: 'refuse' });
    const o = await outcome(plugin.client.sync({ tables: ['*'] }));
    t.diagnostic(describeOutcome(o));
    assert.ok(!o.ok, `${describeOutcome(o)}`);
    assert.notEqual(o.error.code, grpc.status.OK);
    assert.ok(o.error.details.includes(proxy.endpoint), `the error does not name the endpoint ${proxy.endpoint}: ${o.error.details}`);
    assert.ok(o.ms < 60_000, `took ${o.ms} ms`);
    assert.equal(o.error.partial.rowCount(), 0);
  });

  it('fails the sync when S3 goes away at a ranged GET, naming endpoint and key, within 60 s', { timeout: 90_000 }, async (t) => {
    await plugin.client.init(spec({ path_prefix: 'faults/', max_retries: 1 }));
    // LIST and footers succeed; the first row-group GET finds the server gone, for good.
    await proxy.setRule({ action: 'refuse', match: isRowGroupGet });
    const o = await outcome(plugin.client.sync({ tables: ['*'] }));
    t.diagnostic(describeOutcome(o));
    assert.ok(
      proxy.requests.some((r) => r.fault === 'refuse'),
      faultLog(),
    );
    const ids = o.ok ? deliveredIds(o.result, 'faults') : deliveredIds(o.error.partial, 'faults');
    assertNoDuplicates(ids, 'faults');
    assert.ok(!o.ok, `S3 is unreachable but ${describeOutcome(o)}`);
    assert.notEqual(o.error.code, grpc.status.OK);
    assert.ok(o.error.details.includes(proxy.endpoint), `the error does not name the endpoint ${proxy.endpoint}: ${o.error.details}`);
    assert.match(o.error.details, new RegExp(`s3://${BUCKET}/faults/part-\\d\\.parquet`), 'the error names the object');
    assert.ok(o.ms < 60_000, `took ${o.ms} ms`);
  });
});

describe('cancellation', () => {
  it(
    'stops reading within a second of a cancelled Sync; the next Sync on the same server returns every row',
    { timeout: 120_000 },
    async (t) => {
      await plugin.client.init(spec({ path_prefix: 'big/', rows_per_record: 5000 }));
      // Slow row-group reads: uncancelled, this sync would go on issuing GETs for seconds.
      await proxy.setRule({ action: 'delay', ms: 250, match: isRowGroupGet });
      const controller = new AbortController();
      let cancelledAt = 0;
      const o = await outcome(
        plugin.client.sync({
          tables: ['*'],
          signal: controller.signal,
          onMessage: (kind) => {
            if (kind === 'insert' && !cancelledAt) {
              cancelledAt = Date.now();
              controller.abort();
            }
          },
        }),
      );
      assert.ok(cancelledAt > 0, 'no insert arrived to cancel after');
      assert.ok(!o.ok && o.error.code === grpc.status.CANCELLED, describeOutcome(o));
      assertNoDuplicates(deliveredIds(o.error.partial, 'big'), 'big (cancelled)');

      await sleep(Math.max(0, cancelledAt + 1000 - Date.now()));
      const getsAfterOneSecond = rangedGets().length;
      const inFlight = proxy.inFlight();
      await sleep(1500);
      const late = rangedGets().filter((r) => r.time > cancelledAt + 1000);
      assert.deepEqual(
        late.map((r) => r.range),
        [],
        `GETs more than 1 s after the cancel:\n${faultLog()}`,
      );
      assert.equal(rangedGets().length, getsAfterOneSecond);
      const atCancel = rangedGets().filter((r) => r.time <= cancelledAt).length;
      t.diagnostic(
        `cancelled after ${o.error.partial.rowCount()} rows; ranged GETs: ${atCancel} before the cancel, ${getsAfterOneSecond - atCancel} ` +
          `in the second after it, ${rangedGets().length - getsAfterOneSecond} later; in flight 1 s after: ${inFlight}; ` +
          `abandoned by the plugin: ${proxy.requests.filter((r) => r.aborted).length}\n` +
          rangedGets()
            .map(
              (r) =>
                `  [${r.range}] sent ${r.time - cancelledAt} ms, ended ${r.endedAt === undefined ? 'never' : `${r.endedAt - cancelledAt} ms`} after the cancel${r.aborted ? ', abandoned' : ''}`,
            )
            .join('\n'),
      );
      assert.equal(inFlight, 0, `requests still in flight 1 s after the cancel:\n${faultLog()}`);
      // A GET in flight at the cancel is abandoned, not waited for (each takes >= 250 ms here).
      const finishedLate = rangedGets().filter(
        (r) => r.time <= cancelledAt && r.endedAt !== undefined && r.endedAt > cancelledAt + 100 && !r.aborted,
      );
      assert.deepEqual(
        finishedLate.map((r) => r.range),
        [],
        'GETs in flight at the cancel were completed instead of aborted',
      );

      await proxy.setRule(undefined);
      const next = await outcome(plugin.client.sync({ tables: ['*'] }));
      t.diagnostic(`next sync: ${next.ok ? `${next.result.rowCount()} rows` : 'failed'} in ${next.ms} ms`);
      assert.ok(next.ok, `${describeOutcome(next)}\n${pluginLogTail()}`);
      assertExactRows(next.result, 'big', 0, BIG_ROWS);
      assert.deepEqual(next.result.errors, []);
    },
  );
});

describe('shutdown', () => {
  it('on SIGTERM while syncing ends the stream with an error status and exits 0 within a few seconds', { timeout: 120_000 }, async (t) => {
    const p = await startPlugin();
    try {
      await p.client.init(spec({ path_prefix: 'big/', rows_per_record: 5000 }));
      await proxy.setRule({ action: 'delay', ms: 250, match: isRowGroupGet });
      let signalledAt = 0;
      const o = await outcome(
        p.client.sync({
          tables: ['*'],
          onMessage: (kind) => {
            if (kind === 'insert' && !signalledAt) {
              signalledAt = Date.now();
              process.kill(p.pid, 'SIGTERM');
            }
          },
        }),
      );
      assert.ok(signalledAt > 0, 'no insert arrived to signal after');
      const exit = await Promise.race([p.exited, sleep(15_000).then(() => undefined)]);
      const exitMs = Date.now() - signalledAt;
      t.diagnostic(
        `${describeOutcome(o)}; ${o.ok ? o.result.rowCount() : o.error.partial.rowCount()} rows delivered; exit ${JSON.stringify(exit)} ${exitMs} ms after SIGTERM`,
      );
      assert.ok(exit, `still running 15 s after SIGTERM\n${pluginLogTail(p)}`);
      assert.ok(!o.ok, `the stream ended OK after SIGTERM: ${describeOutcome(o)}`);
      assert.equal(o.error.code, grpc.status.UNAVAILABLE, 'a server shutting down ends the stream as UNAVAILABLE, so the client may retry');
      assertNoDuplicates(deliveredIds(o.error.partial, 'big'), 'big (interrupted)');
      assert.ok(o.error.partial.rowCount() < BIG_ROWS, 'the sync was not interrupted');
      assert.deepEqual(exit, { code: 0, signal: null }, pluginLogTail(p));
      assert.ok(exitMs < 5000, `exited ${exitMs} ms after SIGTERM\n${pluginLogTail(p)}`);
    } finally {
      await p.stop('SIGKILL');
    }
  });

  it('on SIGTERM while idle exits 0 at once (< 2 s)', { timeout: 60_000 }, async (t) => {
    const p = await startPlugin();
    try {
      // Idle, but not pristine: an S3 client with kept-alive sockets and a finished sync behind it.
      await p.client.init(spec({ path_prefix: 'small/' }, true));
      const result = await p.client.sync({ tables: ['*'] });
      assertExactRows(result, 'small', 0, SMALLS * SMALL_ROWS);
      const signalledAt = Date.now();
      process.kill(p.pid, 'SIGTERM');
      const exit = await Promise.race([p.exited, sleep(15_000).then(() => undefined)]);
      const exitMs = Date.now() - signalledAt;
      t.diagnostic(`exit ${JSON.stringify(exit)} ${exitMs} ms after SIGTERM`);
      assert.deepEqual(exit, { code: 0, signal: null }, pluginLogTail(p));
      assert.ok(exitMs < 2000, `exited ${exitMs} ms after SIGTERM\n${pluginLogTail(p)}`);
    } finally {
      await p.stop('SIGKILL');
    }
  });
});

describe('resources', () => {
  it('keeps RSS after 50 syncs in a row within 10% of RSS after a warm-up of 10', { timeout: 120_000 }, async (t) => {
    // Garbage V8 has not collected yet swings RSS by more than 10% between two syncs (measured here:
    // -2% and +12% at sync 50, +30% at sync 230 and back to +24% after), which says nothing about a
    // leak. So a test-owned preload lets the test force a full GC in the plugin (SIGUSR2) every few
    // syncs and before each measurement: what remains is what the plugin retains.
    const dir = mkdtempSync(join(tmpdir(), 'cq-faults-gc-'));
    const preload = join(dir, 'gc-on-signal.cjs');
    writeFileSync(
      preload,
      `process.on('SIGUSR2', () => { globalThis.gc(); globalThis.gc(); process.stderr.write('{"level":"debug","message":"${GC_DONE}"}\\n'); });\n`,
    );
    const p = await startPlugin({
      extraArgs: ['--log-level', 'info'],
      env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc --require ${preload}`.trim() },
    });
    try {
      await p.client.init(spec({ path_prefix: 'small/' }, true));
      // The first syncs grow the process once: measured +0.5-5% between syncs 5 and 10 depending on the
      // build, then ~2% over the next 40 with every build. The step is warm-up, not retention.
      const WARM_UP = 10;
      const TOTAL = 50;
      let baseline = 0;
      const samples: string[] = [];
      for (let i = 1; i <= TOTAL; i++) {
        const result = await p.client.sync({ tables: ['*'] });
        assertExactRows(result, 'small', 0, SMALLS * SMALL_ROWS, `sync ${i}`);
        if (i % 5 !== 0) continue;
        const raw = rssKiB(p.pid);
        await collectGarbage(p);
        const collected = rssKiB(p.pid);
        samples.push(`${i}: ${raw}/${collected}`);
        if (i === WARM_UP) baseline = collected;
      }
      const last = rssKiB(p.pid);
      const growth = (last - baseline) / baseline;
      t.diagnostic(
        `RSS KiB after a forced GC: ${baseline} after sync ${WARM_UP}, ${last} after sync ${TOTAL} (${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}%); ` +
          `every 5 syncs, before/after GC: ${samples.join(', ')}`,
      );
      // A leak shows as growth; RSS falling is not one.
      assert.ok(growth <= 0.1, `RSS grew ${(growth * 100).toFixed(1)}% from sync ${WARM_UP} to sync ${TOTAL}: ${samples.join(', ')}`);
    } finally {
      await p.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('two syncs at once on one server', () => {
  it('both complete with every row when two clients Init the same spec and then sync concurrently', { timeout: 60_000 }, async () => {
    const other = connectPlugin(plugin.address);
    try {
      await plugin.client.init(spec({ path_prefix: 'faults/' }, true));
      await other.init(spec({ path_prefix: 'faults/' }, true));
      const [a, b] = await Promise.all([outcome(plugin.client.sync({ tables: ['*'] })), outcome(other.sync({ tables: ['*'] }))]);
      assert.ok(a.ok, `first client: ${describeOutcome(a)}\n${pluginLogTail()}`);
      assert.ok(b.ok, `second client: ${describeOutcome(b)}\n${pluginLogTail()}`);
      assertExactRows(a.result, 'faults', 0, PARTS * PART_ROWS, 'first client');
      assertExactRows(b.result, 'faults', 0, PARTS * PART_ROWS, 'second client');
    } finally {
      other.dispose();
    }
  });

  it(
    'both complete with every row when the second client Inits while the first one syncs (two CLIs sharing a server)',
    { timeout: 60_000 },
    async (t) => {
      const other = connectPlugin(plugin.address);
      try {
        // No retries: a request of the first sync that the second client's Init breaks is not papered over.
        const shared = spec({ path_prefix: 'faults/', concurrency: 1, max_retries: 0 });
        await plugin.client.init(shared);
        // Slow row-group reads keep the first sync running while the second client starts.
        await proxy.setRule({ action: 'delay', ms: 100, match: isRowGroupGet });
        let second: Promise<Outcome> | undefined;
        const first = await outcome(
          plugin.client.sync({
            tables: ['*'],
            onMessage: (kind) => {
              if (kind === 'insert' && !second) {
                second = outcome(other.init(shared).then(() => other.sync({ tables: ['*'] })));
              }
            },
          }),
        );
        assert.ok(second, 'the first sync delivered no insert');
        const b = await second;
        const abandoned = proxy.requests.filter((r) => r.aborted);
        t.diagnostic(
          `first: ${describeOutcome(first)}\nsecond: ${describeOutcome(b)}\nrequests abandoned by the plugin: ` +
            abandoned.map((r) => `${r.url} [${r.range ?? ''}]`).join(', '),
        );
        assert.ok(first.ok, `first client: ${describeOutcome(first)}\n${pluginLogTail()}`);
        assert.ok(b.ok, `second client: ${describeOutcome(b)}\n${pluginLogTail()}`);
        assertExactRows(first.result, 'faults', 0, PARTS * PART_ROWS, 'first client');
        assertExactRows(b.result, 'faults', 0, PARTS * PART_ROWS, 'second client');
      } finally {
        other.dispose();
      }
    },
  );
});
