// No byte of any object may end the plugin's process. parquet-wasm traps on corrupt input (RuntimeError:
// unreachable, memory access out of bounds), and a trap in the main thread killed the server with every
// sync on it; the decoder now runs in worker threads (src/workers/pool.ts). Here: the pool itself with
// a test worker that throws, traps, exits, runs out of heap or hangs; the decoder with inputs that trap
// it, called directly so no footer or page check stands in front; and Parquet files written by DuckDB
// and corrupted on purpose, synced by the bundled plugin from a real S3 server beside good files.
// Run `npm run build` first.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { parquetMetadata } from 'hyparquet';
import { FormatError } from '../src/errors.js';
import { openDecoder } from '../src/formats/parquet/decoder.js';
import { WorkerCrashError, WorkerJobError, WorkerPool, WorkerStartError, type PoolOptions } from '../src/workers/pool.js';
import { closeFixtures, parquetFromSql, rowsFromSql } from './support/fixtures.js';
import { startPlugin, type PluginProcess, type SyncResult } from './support/plugin-client.js';
import { startS3Server, type S3TestServer } from './support/s3-server.js';
import { s3Spec } from './support/s3-spec.js';

const RUNTIME = new URL('../src/workers/runtime.ts', import.meta.url).href;
// (module (func (export "trap") unreachable)): a real WebAssembly trap, as parquet-wasm's.
const TRAP_MODULE = [
  0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 7, 8, 1, 4, 116, 114, 97, 112, 0, 0, 10, 5, 1, 3, 0, 0, 11,
];
const TEST_WORKER = `
import { threadId } from 'node:worker_threads';
import { serveJobs } from ${JSON.stringify(RUNTIME)};
const trap = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(${JSON.stringify(TRAP_MODULE)}))).exports.trap;
let memory = 0;
serveJobs(async (body, ctx) => {
  switch (body.act) {
    case 'echo': return { threadId, value: body.value };
    case 'throw': throw new TypeError('bad input');
    case 'trap': return trap();
    case 'trap-later': setTimeout(trap, 0); return new Promise(() => {});
    case 'exit': process.exit(3);
    case 'heap': { const hoard = []; for (;;) hoard.push(new Array(1e5).fill(threadId)); }
    case 'grow': memory = body.bytes; return { threadId };
    case 'print': console.log('worker noise'); console.error('worker noise'); return { threadId };
    case 'hang': return new Promise(() => {});
    case 'count': {
      let credits = 1, wake;
      ctx.onMessage = () => { credits++; wake?.(); };
      for (let i = 0; i < body.n; i++) {
        while (credits === 0) await new Promise((resolve) => (wake = resolve));
        credits--;
        ctx.send(i);
      }
      return body.n;
    }
  }
}, { memoryBytes: () => memory });
`;
const TEST_ENTRY = new URL(`data:text/javascript,${encodeURIComponent(TEST_WORKER)}`);

/** Runs `fn` with a pool of test workers, closed afterwards. */
async function withPool(options: Partial<PoolOptions>, fn: (pool: WorkerPool) => Promise<void>): Promise<void> {
  const pool = new WorkerPool({ entry: TEST_ENTRY, name: 'test worker', size: 2, cancelGraceMs: 300, ...options });
  try {
    await fn(pool);
  } finally {
    await pool.close();
  }
}

/** The thread a job ran on. */
const thread = async (pool: WorkerPool, body: object = { act: 'echo' }) => ((await pool.run(body)) as { threadId: number }).threadId;

describe('the worker pool', () => {
  it('runs jobs on a worker it keeps, and a job that throws fails alone', () =>
    withPool({}, async (pool) => {
      const first = await thread(pool);
      assert.equal(await thread(pool), first);
      await assert.rejects(pool.run({ act: 'throw' }), (err: unknown) => {
        assert.ok(err instanceof WorkerJobError);
        assert.deepEqual([err.remoteName, err.message], ['TypeError', 'bad input']);
        return true;
      });
      assert.equal(await thread(pool), first, 'a job that throws leaves its worker serving');
    }));

  for (const [act, detail] of [
    ['trap', /\(RuntimeError: unreachable\)/],
    ['trap-later', /\(RuntimeError: unreachable\)/],
    ['exit', /\(exited with code 3\)/],
    ['heap', /\(Error: .*memory limit/],
  ] as const) {
    it(`replaces a worker that dies (${act}): its job fails, the next job runs on a fresh worker`, () =>
      withPool({ resourceLimits: { maxOldGenerationSizeMb: 16 } }, async (pool) => {
        const before = await thread(pool);
        await assert.rejects(pool.run({ act }, [], AbortSignal.timeout(20_000)), (err: unknown) => {
          assert.ok(err instanceof WorkerCrashError, String(err));
          assert.match(err.message, /^the test worker crashed /);
          assert.match(err.message, detail);
          return true;
        });
        assert.notEqual(await thread(pool), before);
      }));
  }

  it('recycles a worker whose memory grew past the threshold after a job', () =>
    withPool({ recycleAboveBytes: 1000 }, async (pool) => {
      const small = await thread(pool, { act: 'grow', bytes: 10 });
      assert.equal(await thread(pool), small);
      await pool.run({ act: 'grow', bytes: 5000 });
      assert.notEqual(await thread(pool), small);
    }));

  it('queues jobs beyond its size, and a job streams messages as the main thread grants credit', () =>
    withPool({ size: 2 }, async (pool) => {
      const threads = new Set(await Promise.all(Array.from({ length: 6 }, () => thread(pool))));
      assert.ok(threads.size <= 2, `${threads.size} workers for a pool of 2`);
      const job = await pool.start({ act: 'count', n: 4 });
      const seen: unknown[] = [];
      let next: IteratorResult<unknown, unknown>;
      while (!(next = await job.next()).done) {
        seen.push(next.value);
        job.send('credit');
      }
      assert.deepEqual([seen, next.value], [[0, 1, 2, 3], 4]);
    }));

  it('ends a worker that ignores a cancel, and a job aborted while it waits never starts', () =>
    withPool({ size: 1 }, async (pool) => {
      const before = await thread(pool);
      const hanging = await pool.start({ act: 'hang' });
      const controller = new AbortController();
      const waiting = pool.start({ act: 'echo' }, [], controller.signal);
      controller.abort(new Error('not wanted'));
      await assert.rejects(waiting, /not wanted/);
      hanging.close();
      assert.notEqual(await thread(pool), before, 'the hung worker was replaced after the grace period');
    }));

  it('says a worker that cannot start could not start (no input to blame)', () =>
    withPool({ entry: new URL('file:///nonexistent/cq-worker.js'), size: 1 }, async (pool) => {
      await assert.rejects(pool.run({}), (err: unknown) => err instanceof WorkerStartError && /could not start/.test(err.message));
    }));

  it('keeps neither the process alive nor its output: a script using it exits by itself, silent', async () => {
    const script = `
      import { WorkerPool } from ${JSON.stringify(new URL('../src/workers/pool.ts', import.meta.url).href)};
      const pool = new WorkerPool({ entry: new URL(${JSON.stringify(TEST_ENTRY.href)}), name: 'test worker', size: 2 });
      await Promise.all([pool.run({ act: 'print' }), pool.run({ act: 'print' })]);
      console.log('done');`;
    const started = Date.now();
    const args = ['--import', 'tsx', '--input-type=module', '-e', script];
    const { stdout, stderr } = await promisify(execFile)(process.execPath, args, { timeout: 20_000 });
    assert.equal(stdout, 'done\n');
    assert.doesNotMatch(stderr, /worker noise/);
    assert.ok(Date.now() - started < 15_000, 'exited without waiting for idle workers');
  });
});

// ---------------------------------------------------------------------------
// The decoder, called directly

const SQL = (offset: number) =>
  `SELECT (i + ${offset})::BIGINT AS id, 'name-' || (i % 17) AS name, (i / 3)::DOUBLE AS f,
          CASE WHEN i % 5 = 0 THEN NULL ELSE repeat('x', (i % 30)::INT) END AS pad
   FROM range(0, 5000) t(i)`;
const ROW_GROUP_ROWS = 2048;

function memorySource(bytes: Uint8Array) {
  return { key: 'k', size: bytes.length, read: async (start: number, end: number) => bytes.slice(start, end) };
}

function footerOf(bytes: Uint8Array) {
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(bytes.length - 8, true);
  const start = bytes.length - 8 - length;
  return { start, bytes: bytes.slice(start) };
}

function columnChunks(bytes: Uint8Array) {
  return parquetMetadata(footerOf(bytes).bytes.buffer).row_groups[0]!.columns.map((c) => c.meta_data!);
}

/** Row group 0 of a file, decoded by the decoder from the bytes its column chunks span. */
async function decodeFirstGroup(bytes: Uint8Array): Promise<number> {
  const chunks = columnChunks(bytes);
  const starts = chunks.map((m) => Number(m.dictionary_page_offset ?? m.data_page_offset));
  const start = Math.min(...starts);
  const end = Math.max(...chunks.map((m, i) => starts[i]! + Number(m.total_compressed_size)));
  const file = await openDecoder(memorySource(bytes), footerOf(bytes));
  let rows = 0;
  for await (const batch of file.rowGroup(0, [{ start, bytes: bytes.slice(start, end) }], { batchSize: 1024 })) rows += batch.numRows;
  return rows;
}

/** A footer whose schema nests `depth` groups: parquet-wasm recurses through it and traps. */
function deepSchemaFile(depth: number): Uint8Array {
  const varint = (n: number) => {
    const out: number[] = [];
    do out.push((n & 0x7f) | (n >= 0x80 ? 0x80 : 0));
    while ((n = Math.floor(n / 128)) > 0);
    return out;
  };
  // Thrift compact FileMetaData: version 1, schema [root, depth groups, one int32 leaf], 0 rows, no row groups.
  const meta = [0x15, 0x02, 0x19, 0xfc, ...varint(depth + 2), 0x48, 6, ...Buffer.from('schema'), 0x15, 0x02, 0x00];
  for (let i = 0; i < depth; i++) meta.push(0x35, 0x02, 0x18, 0x01, 0x67, 0x15, 0x02, 0x00);
  meta.push(0x15, 0x02, 0x25, 0x02, 0x18, 0x01, 0x78, 0x00, 0x16, 0x00, 0x19, 0x0c, 0x00);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(meta.length);
  return new Uint8Array(Buffer.concat([Buffer.from('PAR1'), Buffer.from(meta), length, Buffer.from('PAR1')]));
}

describe('the Parquet decoder in worker threads', () => {
  let good: Uint8Array;
  before(async () => {
    good = await parquetFromSql(SQL(0), { codec: 'snappy', rowGroupSize: ROW_GROUP_ROWS });
  });

  it('fails a file whose footer traps the decoder while opening it, and opens the next one', async () => {
    const hostile = deepSchemaFile(100_000);
    await assert.rejects(openDecoder(memorySource(hostile), footerOf(hostile)), (err: unknown) => {
      assert.ok(err instanceof FormatError, String(err));
      assert.match(err.message, /^not a readable Parquet file: the decoder crashed \(RuntimeError: /);
      return true;
    });
    assert.equal(await decodeFirstGroup(good), ROW_GROUP_ROWS);
  });

  it('fails a row group that traps the decoder with its index, and decodes the next file', async () => {
    const corrupt = good.slice();
    const header = Number(columnChunks(good)[0]!.data_page_offset);
    corrupt.fill(0xff, header + 1, header + 5);
    await assert.rejects(decodeFirstGroup(corrupt), (err: unknown) => {
      assert.ok(err instanceof FormatError, String(err));
      assert.equal(err.message, 'row group 0 cannot be decoded: the decoder crashed (RuntimeError: unreachable)');
      return true;
    });
    assert.equal(await decodeFirstGroup(good), ROW_GROUP_ROWS);
  });
});

// ---------------------------------------------------------------------------
// Over the protocol

const BUCKET = 'cq-isolation-test';
const CODECS = ['snappy', 'gzip', 'zstd', 'uncompressed'] as const;
type Chunk = ReturnType<typeof columnChunks>[number];
/** Where each corruption overwrites bytes, from the footer: [offset, length]. */
const CORRUPTIONS: Record<string, (id: Chunk, name: Chunk) => [number, number]> = {
  // The first data page's header (of column id).
  page_header: (id) => [Number(id.data_page_offset) + 1, 4],
  // Inside the first data page's body.
  data_page: (id) => [Number(id.data_page_offset) + 40, 8],
  // Inside the dictionary page of column name.
  dictionary_page: (_, name) => [Number(name.dictionary_page_offset) + 20, 6],
};

const rowKey = (r: Record<string, unknown>) => `${String(r.id)}|${String(r.name)}|${String(r.f)}|${String(r.pad)}`;

/** What DuckDB reads from the bytes, or undefined when it cannot read them either. */
async function duckRows(bytes: Uint8Array): Promise<string[] | undefined> {
  const path = join(tmpdir(), `cq-isolation-${randomUUID()}.parquet`);
  await writeFile(path, bytes);
  try {
    return (await rowsFromSql(`SELECT id, name, f, pad FROM read_parquet('${path}')`)).map(rowKey).sort();
  } catch {
    return undefined;
  } finally {
    await rm(path, { force: true });
  }
}

describe('corrupt Parquet synced over the protocol', () => {
  let s3: S3TestServer;
  let plugin: PluginProcess;
  let goodRows: string[];
  const corrupt: { table: string; key: string; bytes: Uint8Array }[] = [];

  before(async () => {
    s3 = await startS3Server();
    await s3.createBucket(BUCKET);
    goodRows = [];
    for (const [i, codec] of CODECS.entries()) {
      const sql = SQL(100_000 * (i + 1));
      const bytes = await parquetFromSql(sql, { codec, rowGroupSize: ROW_GROUP_ROWS });
      await s3.put(BUCKET, `good/${codec}.parquet`, bytes);
      goodRows.push(...(await rowsFromSql(sql)).map(rowKey));
      const [id, name] = columnChunks(bytes);
      for (const [kind, where] of Object.entries(CORRUPTIONS)) {
        const [offset, length] = where(id!, name!);
        const broken = bytes.slice();
        broken.fill(0xff, offset, offset + length);
        const key = `corrupt/${codec}-${kind}/data.parquet`;
        corrupt.push({ table: `corrupt_${codec}_${kind}`, key, bytes: broken });
        await s3.put(BUCKET, key, broken);
      }
    }
    goodRows.sort();
    plugin = await startPlugin();
  });

  after(async () => {
    await plugin?.stop();
    await s3?.stop();
    await closeFixtures();
  });

  async function syncAndCheck(label: string): Promise<SyncResult> {
    await plugin.client.init(s3Spec(s3, BUCKET, { concurrency: 4 }));
    const result = await plugin.client.sync({ tables: ['*'] });
    const alive = await Promise.race([plugin.exited.then(() => false), plugin.client.getName().then(() => true)]);
    assert.ok(alive, `${label}: the plugin process is alive and answers GetName`);
    assert.deepEqual(result.rows('good').map(rowKey).sort(), goodRows, `${label}: every good row arrives exactly once`);
    for (const { table, key, bytes } of corrupt) {
      const errors = result.errors.filter((e) => e.table === table);
      if (errors.length > 0) {
        assert.equal(errors.length, 1, `${label}: ${key} reported once`);
        assert.ok(errors[0]!.error.includes(key), `${label}: the error names ${key}: ${errors[0]!.error}`);
        // Every corruption is in row group 0: nothing of the object is delivered.
        assert.equal(result.rowCount(table), 0, `${label}: no row of ${key}`);
      } else {
        const expected = await duckRows(bytes);
        assert.ok(expected, `${label}: ${key} was delivered although DuckDB cannot read it`);
        assert.deepEqual(result.rows(table).map(rowKey).sort(), expected, `${label}: ${key} delivered as DuckDB reads it`);
      }
    }
    return result;
  }

  it('reports each corrupt object by key (or delivers it as DuckDB reads it), delivers every good row, and stays up', async (t) => {
    const first = await syncAndCheck('first sync');
    const crashed = first.errors.filter((e) => /the decoder crashed \(RuntimeError: /.test(e.error));
    t.diagnostic(`${first.errors.length} of ${corrupt.length} corrupt objects reported, ${crashed.length} of them by a decoder crash`);
    assert.ok(crashed.length > 0, 'at least one corruption trapped the decoder (and only its worker died)');
    const second = await syncAndCheck('second sync');
    assert.deepEqual(second.errors.map((e) => e.table).sort(), first.errors.map((e) => e.table).sort());
    for (const line of plugin.logs) assert.doesNotThrow(() => JSON.parse(line), `a log line that is not JSON: ${line}`);
  });
});
