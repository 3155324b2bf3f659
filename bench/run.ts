// `npm run bench`: the plugin's throughput against its reader's ceiling, its memory on big files, the cost of
// a sync with nothing new, cold start and the size of dist/, all measured side by side in ONE run on a real
// S3 server (Swift + s3api). The machine is shared and noisy: compare the ratios, not the absolute times.
//
//   npm run bench -- [options]            (= node --import tsx bench/run.ts [options])
//     --runs N                   medians of N runs (default 3); measurements are interleaved run by run
//     --quick                    1M rows and a ~110 MB "big" file instead of 10M rows and a >= 1 GB one
//     --profile                  also profile the plugin (--cpu-prof, unminified bundle) during a full sync
//     --only a,b                 sections: throughput, noop, rss, startup, profile (default: all but profile)
//     --startup-runs N           cold starts to take the median of (default 10)
//     --large-rows-per-record N  the second rows_per_record measured (default 10000)
//     --client-window BYTES      HTTP/2 receive window of the bench's client (default 16 MiB; 0 = grpc-js's 64 KiB)
//     --no-window-diag           skip the diagnostic sync through a 64 KiB-window client
//     --entry FILE               the plugin to start (default dist/main.js), for A/B runs of another build
//     --profile-src DIR          sources the profiled bundle is built from (default src/)
//     --no-build                 do not run `npm run build` first
//
// Data is generated once by DuckDB (a writer other than the reader under test) and cached under
// .bench-data/ (git-ignored); every run uploads it to a fresh S3 server (not timed). Progress goes to
// stderr; stdout gets the table and, as its last line, one JSON object with every figure.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { pluginV3 } from '@cloudquery/plugin-pb-javascript';
import { tableFromIPC } from 'apache-arrow';
import { Catalog } from '../src/catalog.js';
import { openParquet } from '../src/formats/parquet.js';
import { silentLogger } from '../src/log.js';
import { DEFAULT_CONCURRENCY, DEFAULT_ROWS_PER_RECORD, parseSpec } from '../src/spec.js';
import { openStore } from '../src/store/index.js';
import { decodeBatchSize, runSync } from '../src/sync.js';
import { mapLimit } from '../src/util/limit.js';
import { connectPlugin, freePort, MAX_MESSAGE_BYTES, sleep, startPlugin, type PluginClient } from '../test/support/plugin-client.js';
import { startS3Server, type S3TestServer } from '../test/support/s3-server.js';
import { startStateBackend, type StateBackendServer } from '../test/support/state-backend.js';

const v3 = pluginV3.cloudquery.plugin.v3;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
const DIST_MAIN = join(DIST, 'main.js');
const DATA_ROOT = join(ROOT, '.bench-data');

// ---------------------------------------------------------------------------------------------------------
// Options

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'startup-runs': { type: 'string', default: '10' },
    'large-rows-per-record': { type: 'string', default: '10000' },
    'client-window': { type: 'string', default: String(16 * 1024 * 1024) },
    only: { type: 'string' },
    entry: { type: 'string' },
    'no-window-diag': { type: 'boolean', default: false },
    'profile-src': { type: 'string' },
  },
  strict: true,
});
const RUNS = positiveInt(flags.runs, '--runs');
const STARTUP_RUNS = positiveInt(flags['startup-runs'], '--startup-runs');
const LARGE_RPR = positiveInt(flags['large-rows-per-record'], '--large-rows-per-record');
const QUICK = flags.quick;
/** The plugin the gRPC measurements start (default dist/main.js; another build for A/B comparisons). */
const ENTRY = flags.entry ? fileURLToPath(new URL(flags.entry, `file://${process.cwd()}/`)) : DIST_MAIN;
/**
 * HTTP/2 receive window of the bench's gRPC client. The CloudQuery CLI is a grpc-go client, whose BDP estimator
 * grows the window of a bulk stream up to 16 MiB (grpc-go's bdpLimit); grpc-js keeps a fixed 64 KiB unless told.
 * 16 MiB emulates the CLI; 0 means grpc-js's default (reported as a diagnostic row either way).
 */
const CLIENT_WINDOW = Number(flags['client-window']);
const GRPC_JS_DEFAULT_WINDOW = 0;

function positiveInt(text: string | undefined, name: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${text}`);
  return n;
}

const TARGETS = {
  syncVsCeiling: 0.8,
  peakRssMb: 300,
  noopVsFull: 0.02,
  startupMs: 300,
  distBytes: 8 * 1024 * 1024,
};

function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

// ---------------------------------------------------------------------------------------------------------
// The data set: generated once with DuckDB COPY straight to files, cached by a hash of what generates it

interface FileSpec {
  bucket: string;
  key: string;
  rows: number;
  codec: 'snappy' | 'zstd';
  sql: string;
  rowGroupSize?: number;
}

interface GeneratedFile extends FileSpec {
  path: string;
  bytes: number;
  rowGroups: number;
}

const MAIN_BUCKET = 'bench-main';
const BIG_BUCKET = 'bench-big';
const MID_BUCKET = 'bench-mid';
/** Four copies of the mid-size file, read in one sync: what bounds memory when several big files are open at once. */
const MULTI_BUCKET = 'bench-multi';
const MULTI_COPIES = 4;

/** Mixed columns: int64, float64, short and long strings with repeats, tz timestamps, a nullable int, a list. */
function mainSql(start: number, rows: number, payload: boolean): string {
  // Eight distinct md5 digests (256 hex characters) a row: bytes that neither codec can shrink much, so a
  // file of a few million rows weighs a gigabyte.
  const blob = Array.from({ length: 8 }, (_, k) => `md5((i * 8 + ${k})::VARCHAR)`).join(' || ');
  return `SELECT
  i::BIGINT                                                             AS id,
  (hash(i) % 100000000)::DOUBLE / 100                                   AS amount,
  'cat_' || (hash(i * 7) % 200)                                         AS category,
  repeat('lorem ipsum dolor sit amet ', 3 + (i % 5)::INTEGER) || (hash(i * 13) % 1000) AS description,
  make_timestamp(1704067200000000 + i * 1000003)::TIMESTAMPTZ           AS created_at,
  CASE WHEN i % 5 = 0 THEN NULL ELSE (hash(i * 3) % 100000)::INTEGER END AS score,
  list_transform(range((i % 4)::BIGINT), x -> 'tag' || ((i + x) % 50)) AS tags${
    payload
      ? `,
  ${blob} AS payload`
      : ''
  }
FROM range(${start}, ${start + rows}) t(i)`;
}

function dataSet(quick: boolean): FileSpec[] {
  const files: FileSpec[] = [];
  // Main bucket: >= 8 files, 10M rows (1M quick), snappy and zstd alternating, several row groups each.
  const count = quick ? 8 : 10;
  const perFile = quick ? 125_000 : 1_000_000;
  for (let f = 0; f < count; f++) {
    files.push({
      bucket: MAIN_BUCKET,
      key: `events/part-${String(f).padStart(2, '0')}.parquet`,
      rows: perFile,
      codec: f % 2 === 0 ? 'snappy' : 'zstd',
      sql: mainSql(f * perFile, perFile, false),
      rowGroupSize: quick ? 32_768 : undefined,
    });
  }
  // One big file (>= 1 GB) and one a quarter of its size, same schema and row group size: peak RSS must not
  // follow the file size.
  const big = quick ? 400_000 : 3_900_000;
  const mid = quick ? 100_000 : 900_000;
  files.push({ bucket: BIG_BUCKET, key: 'big/data.parquet', rows: big, codec: 'snappy', sql: mainSql(0, big, true) });
  files.push({ bucket: MID_BUCKET, key: 'big/data.parquet', rows: mid, codec: 'snappy', sql: mainSql(0, mid, true) });
  return files;
}

async function ensureData(quick: boolean): Promise<GeneratedFile[]> {
  const specs = dataSet(quick);
  const version = createHash('sha256').update(JSON.stringify(specs)).digest('hex').slice(0, 16);
  const dir = join(DATA_ROOT, quick ? 'quick' : 'full');
  const manifestPath = join(dir, 'manifest.json');
  if (existsSync(manifestPath)) {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { version: string; files: GeneratedFile[] };
    if (manifest.version === version && manifest.files.every((f) => existsSync(f.path) && statSync(f.path).size === f.bytes)) {
      progress(`data: cached in ${relative(ROOT, dir)} (${manifest.files.length} files)`);
      return manifest.files;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  progress(`data: generating ${specs.length} Parquet files with DuckDB into ${relative(ROOT, dir)} (once)`);
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const conn = await instance.connect();
  await conn.run(`SET TimeZone = 'UTC'`);
  const files: GeneratedFile[] = [];
  try {
    for (const spec of specs) {
      const path = join(dir, spec.bucket, spec.key);
      mkdirSync(dirname(path), { recursive: true });
      const partial = `${path}.partial`;
      const options = ['FORMAT parquet', `COMPRESSION ${spec.codec}`];
      if (spec.rowGroupSize) options.push(`ROW_GROUP_SIZE ${spec.rowGroupSize}`);
      const started = performance.now();
      await conn.run(`COPY (${spec.sql}) TO '${partial}' (${options.join(', ')})`);
      const groups = await conn.runAndReadAll(`SELECT count(DISTINCT row_group_id)::INTEGER AS n FROM parquet_metadata('${partial}')`);
      renameSync(partial, path);
      const bytes = statSync(path).size;
      files.push({ ...spec, path, bytes, rowGroups: Number(groups.getRowObjectsJS()[0]!.n) });
      progress(`data:   ${spec.bucket}/${spec.key}: ${spec.rows} rows, ${mb(bytes)} MB, ${((performance.now() - started) / 1000) | 0} s`);
    }
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
  writeFileSync(manifestPath, JSON.stringify({ version, files }, null, 2));
  return files;
}

async function upload(s3: S3TestServer, files: { bucket: string; key: string; path: string; bytes: number }[]): Promise<void> {
  for (const bucket of new Set(files.map((f) => f.bucket))) await s3.createBucket(bucket);
  for (const file of files) {
    const started = performance.now();
    await s3.put(file.bucket, file.key, await readFile(file.path));
    progress(`upload: ${file.bucket}/${file.key} ${mb(file.bytes)} MB in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Measurements

interface Env {
  s3: S3TestServer;
}

function pluginSpec(env: Env, bucket: string, rowsPerRecord: number) {
  return {
    bucket,
    region: env.s3.region,
    endpoint: env.s3.endpoint,
    path_style: true,
    access_key_id: env.s3.accessKeyId,
    secret_access_key: env.s3.secretAccessKey,
    rows_per_record: rowsPerRecord,
  };
}

interface Pass {
  ms: number;
  rows: number;
  /** CPU time of the process doing the work (the plugin for gRPC syncs). */
  cpuMs: number;
  /** CPU time of the bench process acting as the CLI (gRPC syncs only). */
  clientCpuMs?: number;
  /** CPU time of the S3 server's processes. */
  s3CpuMs?: number;
  getRequests?: number;
  listRequests?: number;
  records?: number;
  recordBytes?: number;
}

/** (1) The ceiling: the same reader, the same ranged GETs, decoded to Arrow batches and counted. One process. */
async function ceilingPass(env: Env, bucket: string): Promise<Pass> {
  // The plugin's own store for the plugin's own spec: same client settings, same ranged GETs.
  const store = await openStore(parseSpec(pluginSpec(env, bucket, DEFAULT_ROWS_PER_RECORD)));
  const batchSize = decodeBatchSize(DEFAULT_ROWS_PER_RECORD);
  const s3Cpu = s3CpuMs(env);
  const cpu = process.cpuUsage();
  const started = performance.now();
  let rows = 0;
  try {
    const objects = [];
    for await (const page of store.list('')) objects.push(...page.filter((o) => o.key.endsWith('.parquet')));
    await mapLimit(objects, DEFAULT_CONCURRENCY, async (object) => {
      const file = await openParquet(store.open(object));
      try {
        for await (const batch of file.batches(batchSize)) rows += batch.numRows;
      } finally {
        file.close();
      }
    });
  } finally {
    store.close();
  }
  const ms = performance.now() - started;
  return {
    ms,
    rows,
    cpuMs: cpuMs(process.cpuUsage(cpu)),
    s3CpuMs: s3CpuMs(env) - s3Cpu,
    getRequests: store.stats.getRequests,
    listRequests: store.stats.listRequests,
  };
}

/** Diagnostic: the plugin's whole pipeline (list, footers, decode, conform, _cq_id, IPC encode) in this process, no gRPC. */
async function pipelinePass(env: Env, bucket: string, rowsPerRecord: number): Promise<Pass> {
  const spec = parseSpec(pluginSpec(env, bucket, rowsPerRecord));
  const store = await openStore(spec);
  const catalog = new Catalog(store, spec);
  let rows = 0;
  let records = 0;
  let recordBytes = 0;
  const s3Cpu = s3CpuMs(env);
  const cpu = process.cpuUsage();
  const started = performance.now();
  try {
    const summary = await runSync(
      catalog,
      { tables: ['*'], skipTables: [], deterministicCqId: false },
      {
        migrate: async () => {},
        insert: async (record, n) => {
          rows += n;
          records++;
          recordBytes += record.byteLength;
        },
        error: async (table, message) => {
          throw new Error(`in-process sync reported an error for ${table}: ${message}`);
        },
      },
      silentLogger,
      new AbortController().signal,
    );
    const ms = performance.now() - started;
    return {
      ms,
      rows,
      records,
      recordBytes,
      cpuMs: cpuMs(process.cpuUsage(cpu)),
      s3CpuMs: s3CpuMs(env) - s3Cpu,
      getRequests: summary.getRequests,
      listRequests: summary.listRequests,
    };
  } finally {
    store.close();
  }
}

interface CountedSync {
  rows: number;
  records: number;
  recordBytes: number;
  migrations: number;
  errors: string[];
}

/** A client channel as the CLI opens one: the CLI's 200 MiB message limit, and a receive window (see CLIENT_WINDOW). */
function cliChannel(address: string, window: number): InstanceType<typeof v3.PluginClient> {
  const options: grpc.ChannelOptions = {
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  };
  if (window > 0) options['grpc-node.flow_control_window'] = window;
  return new v3.PluginClient(address, grpc.credentials.createInsecure(), options);
}

const SYNC_METHOD = '/cloudquery.plugin.v3.Plugin/Sync';

/**
 * Sync as the CLI consumes it: every insert's Arrow IPC stream decoded (apache-arrow) and its rows counted;
 * nothing kept. The Sync.Response envelope is read by hand, without copying the record out of it (the
 * CLI is a Go program whose protobuf decoding costs little; google-protobuf in JS would double the client's
 * CPU, and on a 2-core machine the client shares the cores with the plugin).
 */
function countingSync(
  raw: InstanceType<typeof v3.PluginClient>,
  backend?: { tableName: string; connection: string },
): Promise<CountedSync> {
  const request = new v3.Sync.Request({
    tables: ['*'],
    skip_tables: [],
    skip_dependent_tables: false,
    deterministic_cq_id: false,
    withErrorMessages: true,
  });
  if (backend) request.backend = new v3.Sync.BackendOptions({ table_name: backend.tableName, connection: backend.connection });
  const result: CountedSync = { rows: 0, records: 0, recordBytes: 0, migrations: 0, errors: [] };
  return new Promise((resolve, reject) => {
    const call = raw.makeServerStreamRequest<InstanceType<typeof v3.Sync.Request>, Buffer>(
      SYNC_METHOD,
      (req) => Buffer.from(req.serializeBinary()),
      (bytes) => bytes,
      request,
    );
    let ended = false;
    let status: grpc.StatusObject | undefined;
    const maybeDone = () => {
      if (ended && status?.code === grpc.status.OK) resolve(result);
    };
    call.on('data', (bytes: Buffer) => {
      try {
        const { field, body } = oneField(bytes, 0, bytes.length);
        switch (field) {
          case 1: // migrate_table { table = 1 }
            tableFromIPC(oneField(body, 0, body.length).body);
            result.migrations++;
            break;
          case 2: {
            // insert { record = 1 }
            const record = oneField(body, 0, body.length).body;
            result.rows += tableFromIPC(record).numRows;
            result.records++;
            result.recordBytes += record.byteLength;
            break;
          }
          case 4: {
            const error = v3.Sync.MessageError.deserializeBinary(body);
            result.errors.push(`${error.table_name}: ${error.error}`);
            break;
          }
          default:
            break;
        }
      } catch (err) {
        call.cancel();
        reject(err);
      }
    });
    call.on('error', reject);
    call.on('status', (s: grpc.StatusObject) => {
      status = s;
      maybeDone();
    });
    call.on('end', () => {
      ended = true;
      maybeDone();
    });
  });
}

/** The first length-delimited field of a protobuf message: its number and a view of its bytes. */
function oneField(bytes: Uint8Array, start: number, end: number): { field: number; body: Uint8Array } {
  let pos = start;
  const varint = () => {
    let value = 0;
    let shift = 0;
    for (;;) {
      if (pos >= end) throw new Error('truncated protobuf varint');
      const byte = bytes[pos++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
      shift += 7;
    }
  };
  const key = varint();
  if ((key & 7) !== 2) throw new Error(`unexpected protobuf wire type ${key & 7}`);
  const length = varint();
  if (pos + length > end) throw new Error('truncated protobuf field');
  return { field: key >>> 3, body: bytes.subarray(pos, pos + length) };
}

interface RssWatch {
  stop(): { peakMb: number; maxSampledMb: number; samples: number };
}

/** Polls /proc/<pid>/status every 50 ms: VmRSS samples, and VmHWM (the kernel's own peak, between samples too). */
function watchRss(pid: number): RssWatch {
  let maxRss = 0;
  let hwm = 0;
  let samples = 0;
  const sample = () => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      maxRss = Math.max(maxRss, kb(status, 'VmRSS'));
      hwm = Math.max(hwm, kb(status, 'VmHWM'));
      samples++;
    } catch {
      // the process is gone
    }
  };
  sample();
  const timer = setInterval(sample, 50);
  return {
    stop() {
      sample();
      clearInterval(timer);
      return { peakMb: Math.max(hwm, maxRss) / 1024, maxSampledMb: maxRss / 1024, samples };
    },
  };
}

function kb(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) : 0;
}

function rssMb(pid: number): number {
  try {
    return kb(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS') / 1024;
  } catch {
    return 0;
  }
}

/** utime + stime of a process, in ms. */
function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after "(comm)": state is [0]; utime is field 14 of the whole line, i.e. [11] here.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
const CLOCK_TICKS = 100;

/** CPU time of every process of the S3 server (Swift proxy, object, container, account servers, memcached). */
function s3CpuMs(env: Env): number {
  return env.s3.pids.reduce((sum, pid) => sum + processCpuMs(pid), 0);
}

function cpuMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000;
}

interface GrpcSyncOptions {
  bucket: string;
  rowsPerRecord: number;
  backend?: { tableName: string; connection: string };
  watchRss?: boolean;
  expectRows?: number;
  /** Client receive window; CLIENT_WINDOW when omitted. */
  window?: number;
}

interface GrpcPass extends Pass {
  rss?: { peakMb: number; maxSampledMb: number; baselineMb: number; samples: number };
}

/** (2)/(3)/(4) A full plugin process, driven as the CLI drives it: discovery, Init, Sync. */
async function grpcSyncPass(env: Env, options: GrpcSyncOptions): Promise<GrpcPass> {
  const plugin = await startPlugin({ entry: ENTRY, extraArgs: ['--log-level', 'info'] });
  const raw = cliChannel(plugin.address, options.window ?? CLIENT_WINDOW);
  let pass: GrpcPass;
  try {
    let baselineMb = 0;
    const rss = options.watchRss ? watchRss(plugin.pid) : undefined;
    const cpuBefore = processCpuMs(plugin.pid);
    const s3Cpu = s3CpuMs(env);
    const clientCpu = process.cpuUsage();
    const started = performance.now();
    const versions = await plugin.client.getVersions();
    if (!versions.includes(3)) throw new Error(`plugin reports protocol versions ${versions.join(', ')}`);
    await plugin.client.init(pluginSpec(env, options.bucket, options.rowsPerRecord));
    baselineMb = rssMb(plugin.pid);
    const result = await countingSync(raw, options.backend);
    const ms = performance.now() - started;
    const cpu = processCpuMs(plugin.pid) - cpuBefore;
    const clientCpuMs = cpuMs(process.cpuUsage(clientCpu));
    const s3Used = s3CpuMs(env) - s3Cpu;
    const watched = rss?.stop();
    if (result.errors.length > 0) throw new Error(`sync reported errors: ${result.errors.join('; ')}`);
    if (options.expectRows !== undefined && result.rows !== options.expectRows) {
      throw new Error(`sync delivered ${result.rows} rows, expected ${options.expectRows}`);
    }
    pass = {
      ms,
      rows: result.rows,
      records: result.records,
      recordBytes: result.recordBytes,
      cpuMs: cpu,
      clientCpuMs,
      s3CpuMs: s3Used,
      rss: watched ? { ...watched, baselineMb } : undefined,
    };
  } finally {
    raw.close();
    await plugin.stop();
  }
  const finished = plugin.jsonLogs().find((line) => line.message === 'sync finished');
  if (!finished) throw new Error(`the plugin logged no "sync finished" line:\n${plugin.logs.slice(-20).join('\n')}`);
  pass.getRequests = Number(finished.get_requests);
  pass.listRequests = Number(finished.list_requests);
  return pass;
}

/** Spawns the plugin directly (node flags of our choosing), waits until its port accepts connections. */
async function spawnPlugin(
  nodeArgs: string[],
  entry: string,
): Promise<{ child: ChildProcess; client: PluginClient; startedAt: number; logs: string[]; stop(): Promise<void> }> {
  const port = await freePort();
  const logs: string[] = [];
  const startedAt = performance.now();
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      entry,
      'serve',
      '--address',
      `127.0.0.1:${port}`,
      '--log-format',
      'json',
      '--log-level',
      'info',
      '--network',
      'tcp',
      '--no-sentry',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  for (const stream of [child.stdout!, child.stderr!])
    stream.setEncoding('utf8').on('data', (chunk: string) => logs.push(...chunk.split('\n').filter(Boolean)));
  let exited = false;
  const exit = once(child, 'exit').then(() => {
    exited = true;
  });
  const stop = async () => {
    if (!exited) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exit;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 15_000;
  while (!(await tcpAccepts(port))) {
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`plugin did not start:\n${logs.join('\n')}`);
    }
    await sleep(2);
  }
  return { child, client: connectPlugin(`127.0.0.1:${port}`), startedAt, logs, stop };
}

function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** (5) Process start to the first answered GetName. */
async function coldStart(): Promise<number> {
  const plugin = await spawnPlugin([], ENTRY);
  try {
    await plugin.client.getName();
    return performance.now() - plugin.startedAt;
  } finally {
    plugin.client.dispose();
    await plugin.stop();
  }
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? dirBytes(path) : statSync(path).size;
  }
  return total;
}

// ---------------------------------------------------------------------------------------------------------
// CPU profile of the plugin during a full sync (--profile)

/** The same bundle as scripts/build.mjs (split into chunks), but not minified, so a profile names functions and modules. */
async function buildProfileBundle(): Promise<string> {
  const { bundle } = (await import(join(ROOT, 'scripts/bundle.mjs'))) as {
    bundle(o: { entry?: string; outdir: string; version: string; minify?: boolean }): Promise<string>;
  };
  const entry = flags['profile-src']
    ? join(fileURLToPath(new URL(flags['profile-src'], `file://${process.cwd()}/`)), 'main.ts')
    : join(ROOT, 'src/main.ts');
  return bundle({ entry, outdir: join(DATA_ROOT, 'profile-dist'), version: 'bench-profile', minify: false });
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface ProfileReport {
  file: string;
  rowsPerSecond: number;
  totalMs: number;
  idleMs: number;
  top: { fn: string; module: string; selfMs: number; pct: number }[];
  modules: { module: string; selfMs: number; pct: number }[];
  /** Time by the innermost src/ function on the stack (self + callees), else by the leaf's module. */
  callers: { caller: string; ms: number; pct: number }[];
}

/**
 * Self time by function and by module (npm package or src/ file), and time under each src/ function, from a
 * .cpuprofile of the unminified bundle.
 */
function analyzeProfile(path: string, bundleDir: string): Omit<ProfileReport, 'rowsPerSecond'> {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  // esbuild marks where each module starts with a `// node_modules/pkg/file.js` or `// src/file.ts` line.
  const bundlePrefix = new URL(`file://${bundleDir}/`).href;
  const markers = new Map<string, { line: number; module: string }[]>();
  const moduleAt = (url: string, line: number): string => {
    let marks = markers.get(url);
    if (!marks) {
      marks = [];
      readFileSync(fileURLToPath(url), 'utf8')
        .split('\n')
        .forEach((text, index) => {
          const match = /^\/\/ (\S*(?:node_modules|src)\/\S+\.[cm]?[jt]s)$/.exec(text);
          if (match) marks!.push({ line: index, module: moduleName(match[1]!) });
        });
      markers.set(url, marks);
    }
    let lo = 0;
    let hi = marks.length - 1;
    let found = 'bundle';
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (marks[mid]!.line <= line) {
        found = marks[mid]!.module;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
  const moduleOf = (callFrame: ProfileNode['callFrame']): string => {
    if (callFrame.url.startsWith(bundlePrefix)) return moduleAt(callFrame.url, callFrame.lineNumber);
    if (callFrame.url.startsWith('wasm://')) return 'parquet-wasm (wasm)';
    if (callFrame.url.startsWith('node:')) return 'node:' + callFrame.url.slice(5).split('/')[0];
    if (callFrame.url === '') return callFrame.functionName.startsWith('(') ? callFrame.functionName : '(native)';
    return callFrame.url;
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const modules = new Map<number, string>(profile.nodes.map((n) => [n.id, moduleOf(n.callFrame)]));

  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const fns = new Map<string, { fn: string; module: string; selfMs: number }>();
  const moduleMs = new Map<string, number>();
  const callerMs = new Map<string, number>();
  let totalMs = 0;
  for (const [id, ms] of self) {
    const { callFrame } = byId.get(id)!;
    const module = modules.get(id)!;
    const fn = callFrame.functionName || '(anonymous)';
    const key = `${fn}\u0000${module}\u0000${callFrame.lineNumber}`;
    const entry = fns.get(key) ?? { fn, module, selfMs: 0 };
    entry.selfMs += ms;
    fns.set(key, entry);
    moduleMs.set(module, (moduleMs.get(module) ?? 0) + ms);
    totalMs += ms;
    // The innermost frame of our own code above this sample.
    let caller: string | undefined;
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const m = modules.get(at)!;
      if (m.startsWith('src/')) {
        caller = `${m} ${byId.get(at)!.callFrame.functionName || '(anonymous)'}`;
        break;
      }
    }
    caller ??= `(no src/ frame) ${module}`;
    callerMs.set(caller, (callerMs.get(caller) ?? 0) + ms);
  }
  const idleMs = moduleMs.get('(idle)') ?? 0;
  const busy = totalMs - idleMs;
  const pct = (ms: number) => (100 * ms) / busy;
  return {
    file: relative(ROOT, path),
    totalMs,
    idleMs,
    top: [...fns.values()]
      .filter((f) => f.module !== '(idle)')
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, 25)
      .map((f) => ({ ...f, pct: pct(f.selfMs) })),
    modules: [...moduleMs]
      .filter(([m]) => m !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .map(([module, selfMs]) => ({ module, selfMs, pct: pct(selfMs) })),
    callers: [...callerMs]
      .filter(([c]) => !c.endsWith('(idle)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, 20)
      .map(([caller, ms]) => ({ caller, ms, pct: pct(ms) })),
  };
}

function moduleName(path: string): string {
  const nm = path.lastIndexOf('node_modules/');
  if (nm < 0) return path.slice(Math.max(0, path.indexOf('src/')));
  const parts = path.slice(nm).split('/');
  return parts[1]!.startsWith('@') ? `${parts[1]}/${parts[2]}` : parts[1]!;
}

async function profilePass(env: Env, rows: number): Promise<ProfileReport> {
  const bundle = await buildProfileBundle();
  const dir = join(DATA_ROOT, 'profiles', new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(dir, { recursive: true });
  const plugin = await spawnPlugin(['--cpu-prof', `--cpu-prof-dir=${dir}`], bundle);
  let ms: number;
  try {
    const started = performance.now();
    await plugin.client.getVersions();
    await plugin.client.init(pluginSpec(env, MAIN_BUCKET, DEFAULT_ROWS_PER_RECORD));
    const raw = cliChannel(plugin.client.target, CLIENT_WINDOW);
    const result = await countingSync(raw).finally(() => raw.close());
    ms = performance.now() - started;
    if (result.rows !== rows) throw new Error(`profiled sync delivered ${result.rows} rows, expected ${rows}`);
  } finally {
    plugin.client.dispose();
    await plugin.stop();
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile written in ${dir}`);
  return { ...analyzeProfile(join(dir, file), dirname(bundle)), rowsPerSecond: rows / (ms / 1000) };
}

// ---------------------------------------------------------------------------------------------------------
// Statistics and output

function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function mb(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}

function round(n: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// Main

const SECTIONS = ['throughput', 'noop', 'rss', 'startup', 'profile'] as const;
type Section = (typeof SECTIONS)[number];

function selectedSections(): Set<Section> {
  const only = flags.only
    ?.split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  for (const name of only ?? [])
    if (!SECTIONS.includes(name as Section)) throw new Error(`--only: unknown section "${name}" (one of ${SECTIONS.join(', ')})`);
  const chosen = new Set<Section>((only ?? SECTIONS.filter((x) => x !== 'profile')) as Section[]);
  if (flags.profile) chosen.add('profile');
  return chosen;
}

async function main(): Promise<void> {
  const sections = selectedSections();
  if (!flags['no-build']) {
    progress('build: npm run build');
    const child = spawn(process.execPath, [join(ROOT, 'scripts/build.mjs')], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: process.env,
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`build failed (exit ${code})`);
  }
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run npm run build`);
  const distBytes = dirBytes(DIST);

  const files = await ensureData(QUICK);
  const main = files.filter((f) => f.bucket === MAIN_BUCKET);
  const big = files.find((f) => f.bucket === BIG_BUCKET)!;
  const mid = files.find((f) => f.bucket === MID_BUCKET)!;
  const mainRows = main.reduce((n, f) => n + f.rows, 0);
  const mainBytes = main.reduce((n, f) => n + f.bytes, 0);

  progress('s3: starting a fresh Swift s3api server');
  const s3 = await startS3Server();
  let backend: StateBackendServer | undefined;
  const env: Env = { s3 };
  const results = {
    ceiling: [] as Pass[],
    pipeline: [] as Pass[],
    pipelineLarge: [] as Pass[],
    sync: [] as GrpcPass[],
    syncLarge: [] as GrpcPass[],
    syncSmallWindow: [] as GrpcPass[],
    noop: [] as GrpcPass[],
    primed: [] as GrpcPass[],
    big: [] as GrpcPass[],
    mid: [] as GrpcPass[],
    multi: [] as GrpcPass[],
    startup: [] as number[],
  };
  let profile: ProfileReport | undefined;
  try {
    const needed = files.filter((f) =>
      f.bucket === MAIN_BUCKET ? sections.has('throughput') || sections.has('noop') || sections.has('profile') : sections.has('rss'),
    );
    await upload(s3, needed);
    if (sections.has('rss')) {
      const copies = Array.from({ length: MULTI_COPIES }, (_, c) => ({ ...mid, bucket: MULTI_BUCKET, key: `multi/data-${c}.parquet` }));
      await upload(s3, copies);
    }

    if (sections.has('throughput')) {
      // Warm-up (not counted): Swift's and the page cache's first read of every object.
      progress('warm-up: one ceiling pass (not counted)');
      await ceilingPass(env, MAIN_BUCKET);

      // Interleaved, so drift on a shared machine hits every measurement alike.
      for (let run = 1; run <= RUNS; run++) {
        const c = await ceilingPass(env, MAIN_BUCKET);
        if (c.rows !== mainRows) throw new Error(`ceiling read ${c.rows} rows, expected ${mainRows}`);
        results.ceiling.push(c);
        progress(`run ${run}/${RUNS}: ceiling                       ${passText(c)}, ${c.getRequests} GETs`);

        const s = await grpcSyncPass(env, { bucket: MAIN_BUCKET, rowsPerRecord: DEFAULT_ROWS_PER_RECORD, expectRows: mainRows });
        results.sync.push(s);
        progress(
          `run ${run}/${RUNS}: gRPC sync rpr=${DEFAULT_ROWS_PER_RECORD}               ${passText(s)}, ${s.getRequests} GETs, ${s.records} records`,
        );

        const l = await grpcSyncPass(env, { bucket: MAIN_BUCKET, rowsPerRecord: LARGE_RPR, expectRows: mainRows });
        results.syncLarge.push(l);
        progress(`run ${run}/${RUNS}: gRPC sync rpr=${LARGE_RPR}             ${passText(l)}, ${l.records} records`);

        const p = await pipelinePass(env, MAIN_BUCKET, DEFAULT_ROWS_PER_RECORD);
        if (p.rows !== mainRows) throw new Error(`in-process pipeline delivered ${p.rows} rows, expected ${mainRows}`);
        results.pipeline.push(p);
        progress(`run ${run}/${RUNS}: in-process rpr=${DEFAULT_ROWS_PER_RECORD}              ${passText(p)}`);

        const pl = await pipelinePass(env, MAIN_BUCKET, LARGE_RPR);
        results.pipelineLarge.push(pl);
        progress(`run ${run}/${RUNS}: in-process rpr=${LARGE_RPR}            ${passText(pl)}`);

        if (run === 1 && CLIENT_WINDOW !== GRPC_JS_DEFAULT_WINDOW && !flags['no-window-diag']) {
          // Diagnostic, once: the same sync through a client that keeps grpc-js's fixed 64 KiB window.
          const w = await grpcSyncPass(env, {
            bucket: MAIN_BUCKET,
            rowsPerRecord: DEFAULT_ROWS_PER_RECORD,
            expectRows: mainRows,
            window: GRPC_JS_DEFAULT_WINDOW,
          });
          results.syncSmallWindow.push(w);
          progress(`run ${run}/${RUNS}: gRPC sync rpr=${DEFAULT_ROWS_PER_RECORD}, 64 KiB window ${passText(w)}`);
        }
      }
    }

    if (sections.has('noop')) {
      // (3) Incremental sync with nothing new: one sync fills the state, then each run is a fresh plugin
      // process (the CLI starts one per sync) against the same state.
      progress('noop: starting the state backend (memdb destination over gRPC)');
      backend = await startStateBackend();
      const state = { tableName: 'cq_state_bench', connection: backend.connection };
      const primed = await grpcSyncPass(env, {
        bucket: MAIN_BUCKET,
        rowsPerRecord: DEFAULT_ROWS_PER_RECORD,
        backend: state,
        expectRows: mainRows,
      });
      results.primed.push(primed);
      progress(`noop: first sync with the state backend ${passText(primed)}`);
      for (let run = 1; run <= RUNS; run++) {
        const n = await grpcSyncPass(env, { bucket: MAIN_BUCKET, rowsPerRecord: DEFAULT_ROWS_PER_RECORD, backend: state, expectRows: 0 });
        results.noop.push(n);
        progress(`run ${run}/${RUNS}: no-change sync ${n.ms.toFixed(0)} ms, ${n.getRequests} GETs, ${n.listRequests} LISTs`);
      }
    }

    if (sections.has('rss')) {
      // (4) Peak RSS of the plugin process: the big file, and one a quarter of its size (same row groups).
      for (let run = 1; run <= RUNS; run++) {
        for (const [file, list] of [
          [big, results.big],
          [mid, results.mid],
        ] as const) {
          const r = await grpcSyncPass(env, {
            bucket: file.bucket,
            rowsPerRecord: DEFAULT_ROWS_PER_RECORD,
            watchRss: true,
            expectRows: file.rows,
          });
          list.push(r);
          progress(
            `run ${run}/${RUNS}: ${mb(file.bytes)} MB file: peak RSS ${r.rss!.peakMb.toFixed(0)} MB (after Init ${r.rss!.baselineMb.toFixed(0)} MB), ${passText(r)}`,
          );
        }
      }
      // Diagnostic, once: several big files in one sync (the default concurrency opens them all at once).
      const m = await grpcSyncPass(env, {
        bucket: MULTI_BUCKET,
        rowsPerRecord: DEFAULT_ROWS_PER_RECORD,
        watchRss: true,
        expectRows: mid.rows * MULTI_COPIES,
      });
      results.multi.push(m);
      progress(`${MULTI_COPIES} x ${mb(mid.bytes)} MB files in one sync: peak RSS ${m.rss!.peakMb.toFixed(0)} MB, ${passText(m)}`);
    }

    if (sections.has('startup')) {
      // (5) Cold start.
      for (let i = 0; i < STARTUP_RUNS; i++) results.startup.push(await coldStart());
      progress(`startup: ${results.startup.map((ms) => ms.toFixed(0)).join(', ')} ms`);
    }

    if (sections.has('profile')) {
      progress('profile: a full sync under --cpu-prof (unminified bundle)');
      profile = await profilePass(env, mainRows);
    }
  } finally {
    await backend?.stop();
    await s3.stop();
  }

  // ---- figures (null where a section was not run)
  const rps = (p: Pass) => p.rows / (p.ms / 1000);
  const ceilingRps = median(results.ceiling.map(rps));
  const syncRps = median(results.sync.map(rps));
  const syncLargeRps = median(results.syncLarge.map(rps));
  const pipelineRps = median(results.pipeline.map(rps));
  const smallWindowRps = median(results.syncSmallWindow.map(rps));
  const pipelineLargeRps = median(results.pipelineLarge.map(rps));
  // The full sync the no-change sync is compared with: the throughput runs, else the sync that filled the state.
  const fullMs = results.sync.length > 0 ? median(results.sync.map((p) => p.ms)) : median(results.primed.map((p) => p.ms));
  const noopMs = median(results.noop.map((p) => p.ms));
  const noopGets = results.noop.length > 0 ? Math.max(...results.noop.map((p) => p.getRequests ?? 0)) : NaN;
  const noopLists = results.noop.length > 0 ? Math.max(...results.noop.map((p) => p.listRequests ?? 0)) : NaN;
  const peakBig = median(results.big.map((p) => p.rss!.peakMb));
  const peakMid = median(results.mid.map((p) => p.rss!.peakMb));
  const startupMs = median(results.startup);
  const cpuPerMrow = (passes: Pass[], pick: (p: Pass) => number | undefined = (p) => p.cpuMs) =>
    median(passes.map((p) => (pick(p) ?? NaN) / (p.rows / 1e6)));
  const met = (value: number, ok: boolean) => (Number.isFinite(value) ? ok : null);
  const midKey = `peak_rss_mb_${Math.round(mid.bytes / 1e6)}mb`;

  const figures = {
    quick: QUICK,
    runs: RUNS,
    sections: [...sections],
    files: main.length,
    rows: mainRows,
    data_bytes: mainBytes,
    ceiling_rows_per_s: round(ceilingRps),
    sync_rows_per_s: round(syncRps),
    sync_vs_ceiling: round(syncRps / ceilingRps, 3),
    sync_vs_ceiling_500: round(syncRps / ceilingRps, 3),
    [`sync_rows_per_s_${LARGE_RPR}`]: round(syncLargeRps),
    [`sync_vs_ceiling_${LARGE_RPR}`]: round(syncLargeRps / ceilingRps, 3),
    client_window_bytes: CLIENT_WINDOW,
    sync_rows_per_s_64k_window: round(smallWindowRps),
    sync_vs_ceiling_64k_window: round(smallWindowRps / ceilingRps, 3),
    pipeline_no_grpc_rows_per_s_500: round(pipelineRps),
    pipeline_no_grpc_vs_ceiling_500: round(pipelineRps / ceilingRps, 3),
    [`pipeline_no_grpc_rows_per_s_${LARGE_RPR}`]: round(pipelineLargeRps),
    [`pipeline_no_grpc_vs_ceiling_${LARGE_RPR}`]: round(pipelineLargeRps / ceilingRps, 3),
    ceiling_s: round(median(results.ceiling.map((p) => p.ms)) / 1000, 2),
    sync_s: round(fullMs / 1000, 2),
    [`sync_s_${LARGE_RPR}`]: round(median(results.syncLarge.map((p) => p.ms)) / 1000, 2),
    ceiling_cpu_ms_per_mrow: round(cpuPerMrow(results.ceiling)),
    pipeline_cpu_ms_per_mrow_500: round(cpuPerMrow(results.pipeline)),
    [`pipeline_cpu_ms_per_mrow_${LARGE_RPR}`]: round(cpuPerMrow(results.pipelineLarge)),
    sync_plugin_cpu_ms_per_mrow: round(cpuPerMrow(results.sync)),
    [`sync_plugin_cpu_ms_per_mrow_${LARGE_RPR}`]: round(cpuPerMrow(results.syncLarge)),
    sync_client_cpu_ms_per_mrow: round(cpuPerMrow(results.sync, (p) => p.clientCpuMs)),
    s3_server_cpu_ms_per_mrow_ceiling: round(cpuPerMrow(results.ceiling, (p) => p.s3CpuMs)),
    s3_server_cpu_ms_per_mrow_sync: round(cpuPerMrow(results.sync, (p) => p.s3CpuMs)),
    /** What the ratio would be if both were bound by their own CPU alone: ceiling CPU / plugin CPU per row. */
    cpu_bound_sync_vs_ceiling: round(cpuPerMrow(results.ceiling) / cpuPerMrow(results.sync), 3),
    ceiling_get_requests: results.ceiling[0]?.getRequests ?? null,
    sync_get_requests: results.sync[0]?.getRequests ?? null,
    records_500: results.sync[0]?.records ?? null,
    record_bytes_500: results.sync[0]?.recordBytes ?? null,
    first_sync_with_state_s: round(median(results.primed.map((p) => p.ms)) / 1000, 2),
    noop_ms: round(noopMs),
    noop_vs_full: round(noopMs / fullMs, 4),
    noop_get_requests: noopGets,
    noop_list_requests: noopLists,
    big_file_bytes: big.bytes,
    big_file_rows: big.rows,
    big_file_row_groups: big.rowGroups,
    peak_rss_mb: round(peakBig, 1),
    mid_file_bytes: mid.bytes,
    peak_rss_mb_mid: round(peakMid, 1),
    [midKey]: round(peakMid, 1),
    peak_rss_growth: round(peakBig / peakMid, 3),
    [`peak_rss_mb_${MULTI_COPIES}_files`]: round(median(results.multi.map((p) => p.rss!.peakMb)), 1),
    rss_after_init_mb: round(median(results.big.map((p) => p.rss!.baselineMb)), 1),
    big_file_rows_per_s: round(median(results.big.map(rps))),
    startup_ms: round(startupMs, 1),
    startup_runs_ms: results.startup.map((ms) => round(ms, 1)),
    dist_bytes: distBytes,
    targets_met: {
      sync_vs_ceiling: met(syncRps / ceilingRps, syncRps / ceilingRps >= TARGETS.syncVsCeiling),
      peak_rss_mb: met(peakBig, peakBig <= TARGETS.peakRssMb),
      peak_rss_flat: met(peakBig / peakMid, peakBig <= peakMid * 1.15),
      noop_vs_full: met(noopMs / fullMs, noopMs / fullMs <= TARGETS.noopVsFull && noopGets === 0),
      startup_ms: met(startupMs, startupMs <= TARGETS.startupMs),
      dist_bytes: distBytes <= TARGETS.distBytes,
    },
    ...(profile
      ? {
          profile: {
            file: profile.file,
            rows_per_s: round(profile.rowsPerSecond),
            idle_pct: round((100 * profile.idleMs) / profile.totalMs, 1),
            modules: profile.modules.slice(0, 12).map((m) => ({ module: m.module, pct: round(m.pct, 1) })),
            callers: profile.callers.slice(0, 12).map((c) => ({ caller: c.caller, pct: round(c.pct, 1) })),
          },
        }
      : {}),
  };

  const ok = (value: boolean | null) => (value === null ? '' : value ? 'ok' : 'MISSED');
  const runsOf = (passes: Pass[]) => passes.map((p) => fmtInt(rps(p))).join(' / ');
  const ratio = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '');
  const rows: string[][] = [['measurement', 'median', 'runs', 'vs ceiling', 'target', '']];
  if (sections.has('throughput')) {
    rows.push(
      [
        'ceiling: openParquet + the S3 store, Arrow batches counted',
        `${fmtInt(ceilingRps)} rows/s`,
        runsOf(results.ceiling),
        '1.000',
        '',
        '',
      ],
      [
        `full sync over gRPC, rows_per_record=${DEFAULT_ROWS_PER_RECORD}`,
        `${fmtInt(syncRps)} rows/s`,
        runsOf(results.sync),
        ratio(syncRps / ceilingRps),
        '>= 0.8',
        ok(figures.targets_met.sync_vs_ceiling),
      ],
      [
        `full sync over gRPC, rows_per_record=${LARGE_RPR}`,
        `${fmtInt(syncLargeRps)} rows/s`,
        runsOf(results.syncLarge),
        ratio(syncLargeRps / ceilingRps),
        '',
        '',
      ],
      ...(results.syncSmallWindow.length > 0
        ? [
            [
              `  diag: rpr=${DEFAULT_ROWS_PER_RECORD}, grpc-js default 64 KiB client window`,
              `${fmtInt(smallWindowRps)} rows/s`,
              `${runsOf(results.syncSmallWindow)} (1 run)`,
              ratio(smallWindowRps / ceilingRps),
              '',
              '',
            ],
          ]
        : []),
      [
        `  diag: runSync in-process, no gRPC, rpr=${DEFAULT_ROWS_PER_RECORD}`,
        `${fmtInt(pipelineRps)} rows/s`,
        runsOf(results.pipeline),
        ratio(pipelineRps / ceilingRps),
        '',
        '',
      ],
      [
        `  diag: runSync in-process, no gRPC, rpr=${LARGE_RPR}`,
        `${fmtInt(pipelineLargeRps)} rows/s`,
        runsOf(results.pipelineLarge),
        ratio(pipelineLargeRps / ceilingRps),
        '',
        '',
      ],
      [
        `  CPU ms / 1M rows: ceiling | in-process ${DEFAULT_ROWS_PER_RECORD}, ${LARGE_RPR} | plugin ${DEFAULT_ROWS_PER_RECORD}, ${LARGE_RPR}`,
        `${figures.ceiling_cpu_ms_per_mrow} | ${figures.pipeline_cpu_ms_per_mrow_500}, ${round(cpuPerMrow(results.pipelineLarge))} | ${figures.sync_plugin_cpu_ms_per_mrow}, ${round(cpuPerMrow(results.syncLarge))}`,
        `client ${figures.sync_client_cpu_ms_per_mrow}, S3 ${figures.s3_server_cpu_ms_per_mrow_sync}`,
        ratio(figures.cpu_bound_sync_vs_ceiling),
        '',
        '',
      ],
    );
  }
  if (sections.has('noop')) {
    rows.push(
      [
        'no-change incremental sync (state backend)',
        `${fmtInt(noopMs)} ms`,
        results.noop.map((p) => fmtInt(p.ms)).join(' / '),
        `${((100 * noopMs) / fullMs).toFixed(2)}% of full`,
        '<= 2%, 0 GETs',
        ok(figures.targets_met.noop_vs_full),
      ],
      ['  object GETs / LISTs of the no-change sync', `${noopGets} / ${noopLists}`, '', '', '', ''],
    );
  }
  if (sections.has('rss')) {
    rows.push(
      [
        `peak RSS, ${mb(big.bytes)} MB file (${big.rowGroups} row groups)`,
        `${peakBig.toFixed(0)} MB`,
        results.big.map((p) => p.rss!.peakMb.toFixed(0)).join(' / '),
        '',
        '<= 300 MB',
        ok(figures.targets_met.peak_rss_mb),
      ],
      [
        `peak RSS, ${mb(mid.bytes)} MB file (${mid.rowGroups} row groups)`,
        `${peakMid.toFixed(0)} MB`,
        results.mid.map((p) => p.rss!.peakMb.toFixed(0)).join(' / '),
        `x${(peakBig / peakMid).toFixed(2)} growth`,
        'flat',
        ok(figures.targets_met.peak_rss_flat),
      ],
      [
        `  diag: ${MULTI_COPIES} x ${mb(mid.bytes)} MB files in one sync`,
        `${median(results.multi.map((p) => p.rss!.peakMb)).toFixed(0)} MB`,
        '1 run',
        '',
        '',
        '',
      ],
    );
  }
  if (sections.has('startup')) {
    rows.push([
      'cold start: spawn to first GetName',
      `${startupMs.toFixed(0)} ms`,
      `${results.startup.length} runs`,
      '',
      '<= 300 ms',
      ok(figures.targets_met.startup_ms),
    ]);
  }
  rows.push(['dist/ size', `${mb(distBytes)} MB`, `${fmtInt(distBytes)} B`, '', '<= 8 MB', ok(figures.targets_met.dist_bytes)]);

  const out: string[] = [];
  out.push(
    `cq-source-s3 benchmark: ${main.length} files, ${fmtInt(mainRows)} rows, ${mb(mainBytes)} MB (snappy+zstd) on a local Swift s3api; ` +
      `medians of ${RUNS} runs${QUICK ? ' (--quick)' : ''}; gRPC client window ${CLIENT_WINDOW > 0 ? `${mb(CLIENT_WINDOW)} MiB (as grpc-go's BDP grows it)` : '64 KiB (grpc-js default)'}`,
  );
  out.push('');
  out.push(table(rows));
  if (profile) {
    out.push('');
    out.push(
      `CPU profile of the plugin during a full sync at rows_per_record=${DEFAULT_ROWS_PER_RECORD} (${profile.file}, ${fmtInt(profile.rowsPerSecond)} rows/s under the profiler; ` +
        `main thread idle ${((100 * profile.idleMs) / profile.totalMs).toFixed(1)}% of ${fmtInt(profile.totalMs)} ms; % below are of busy time)`,
    );
    out.push(
      table([
        ['self time by module', 'ms', '%'],
        ...profile.modules.slice(0, 15).map((m) => [m.module, fmtInt(m.selfMs), m.pct.toFixed(1)]),
      ]),
    );
    out.push('');
    out.push(
      table([
        ['top self-time functions', 'module', 'ms', '%'],
        ...profile.top.map((f) => [f.fn, f.module, fmtInt(f.selfMs), f.pct.toFixed(1)]),
      ]),
    );
    out.push('');
    out.push(
      table([
        ['time under the innermost src/ function (self + callees)', 'ms', '%'],
        ...profile.callers.map((c) => [c.caller, fmtInt(c.ms), c.pct.toFixed(1)]),
      ]),
    );
  }
  out.push(JSON.stringify(figures, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? null : value)));
  process.stdout.write(out.join('\n') + '\n');
}

function passText(p: Pass): string {
  const cpu =
    p.clientCpuMs === undefined ? `cpu ${fmtInt(p.cpuMs)} ms` : `plugin cpu ${fmtInt(p.cpuMs)} ms, client ${fmtInt(p.clientCpuMs)} ms`;
  return `${fmtInt(p.rows / (p.ms / 1000))} rows/s (${(p.ms / 1000).toFixed(2)} s, ${cpu})`;
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
