/**
 * Test client for a CloudQuery plugin (protocol v3 over gRPC), making the same
 * calls the CloudQuery CLI makes, and a launcher for the plugin process.
 *
 * Only for tests: nothing in src/ may import this file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { pluginV3 } from '@cloudquery/plugin-pb-javascript';
import { tableFromIPC, type RecordBatch, type Schema } from 'apache-arrow';
import { freePort, sleep, waitFor } from './free-port.js';
import { readRepeatedInt32 } from '../../src/util/protobuf-wire.js';

export { freePort, sleep, waitFor };

const v3 = pluginV3.cloudquery.plugin.v3;

/** The CLI's gRPC message size limit (both directions). */
export const MAX_MESSAGE_BYTES = 200 * 1024 * 1024;

/** Full method name of discovery v1 GetVersions. */
const GET_VERSIONS_METHOD = '/cloudquery.discovery.v1.Discovery/GetVersions';

/** `<repo>/dist/main.js` */
export const DEFAULT_ENTRY = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** How long startPlugin waits for GetName to answer. */
const START_TIMEOUT_MS = 15_000;
/** How long stop() waits after its signal before it sends SIGKILL. */
const STOP_KILL_AFTER_MS = 15_000;

// ---------------------------------------------------------------------------
// Public types

export interface SyncBatch {
  table: string;
  schema: Schema;
  batch: RecordBatch;
}

export interface SyncResult {
  /** table name -> schema from migrate_table (a later migrate_table of the same table replaces it) */
  migrations: Map<string, Schema>;
  /** every insert, decoded, in arrival order */
  batches: SyncBatch[];
  /** all rows of a table in arrival order, as plain objects (`row.toJSON()`) */
  rows(table: string): Record<string, unknown>[];
  /** rows of one table, or of all tables when `table` is omitted */
  rowCount(table?: string): number;
  /** Sync.MessageError messages */
  errors: { table: string; error: string }[];
  /** number of delete_record messages */
  deletes: number;
  /** kind of every message in arrival order: 'migrate_table' | 'insert' | 'delete_record' | 'error' | 'none' */
  kinds: string[];
}

/** What `sync()` rejects with when the call ends with a non-OK status. */
export interface SyncCallError extends grpc.ServiceError {
  /** everything received before the error */
  partial: SyncResult;
}

export interface SyncOptions {
  tables?: string[];
  skipTables?: string[];
  skipDependentTables?: boolean;
  deterministicCqId?: boolean;
  /** default true, like the CLI */
  withErrorMessages?: boolean;
  backendOptions?: { tableName: string; connection: string };
  /** shards are numbered from 1, like `cloudquery sync --shard 1/4` */
  shard?: { num: number; total: number };
  /** called after each message has been recorded, with its kind */
  onMessage?: (kind: string) => void;
  /** cancels the call when aborted; sync() then rejects with status CANCELLED */
  signal?: AbortSignal;
}

export interface GetTablesOptions {
  tables?: string[];
  skipTables?: string[];
  skipDependentTables?: boolean;
}

export interface InitOptions {
  noConnection?: boolean;
  /** default: a fresh UUID, like the CLI */
  invocationId?: string;
}

export interface PluginClient {
  /** the gRPC target this client talks to */
  readonly target: string;
  /** the generated grpc-js client, for calls this wrapper does not cover */
  readonly raw: InstanceType<typeof v3.PluginClient>;
  /** discovery.v1 Discovery/GetVersions */
  getVersions(): Promise<number[]>;
  getName(options?: grpc.CallOptions): Promise<string>;
  getVersion(): Promise<string>;
  /** GetSpecSchema.json_schema ('' when unset) */
  getSpecSchema(): Promise<string>;
  /**
   * Init. `spec` is JSON-encoded (`undefined` is sent as `null`, like an empty
   * spec from the CLI); a Uint8Array is sent as is (for malformed-spec tests).
   * Rejects with the grpc ServiceError (`.code`, `.details`).
   */
  init(spec: unknown, opts?: InitOptions): Promise<void>;
  /** GetTables; each entry of the reply is a schema-only Arrow IPC stream */
  getTables(opts?: GetTablesOptions): Promise<Schema[]>;
  /** Sync, consumed to the end; rejects with a SyncCallError on a non-OK status */
  sync(opts?: SyncOptions): Promise<SyncResult>;
  /** Plugin Close RPC */
  close(): Promise<void>;
  /** closes the grpc channel; idempotent */
  dispose(): void;
}

export interface PluginProcess {
  /** 127.0.0.1:PORT (or `unix:PATH` with `--network unix`) */
  address: string;
  client: PluginClient;
  pid: number;
  /** the argv after the node binary */
  args: string[];
  /** every stderr+stdout line the plugin printed so far */
  logs: string[];
  /** lines of `logs` that parse as JSON objects (JSON log format) */
  jsonLogs(): Record<string, unknown>[];
  /** exit code; null when the process ended by a signal or could not start */
  exitCode: Promise<number | null>;
  /** exit code and signal */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /**
   * Sends `signal` (default SIGTERM) to the PID and waits for the exit
   * (SIGKILL after 15 s); also disposes `client`. Idempotent.
   */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface StartPluginOptions {
  /** appended after the defaults; a flag given here replaces the default of that flag */
  extraArgs?: string[];
  /** merged over process.env */
  env?: Record<string, string>;
  /** script to run instead of <repo>/dist/main.js */
  entry?: string;
  /** readiness timeout in ms (default 15 000) */
  timeout?: number;
}

// ---------------------------------------------------------------------------
// Client

/** A client for a plugin server started elsewhere (e.g. in a container). */
export function connectPlugin(address: string): PluginClient {
  const raw = new v3.PluginClient(address, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  });
  let disposed = false;

  function unary<Res>(invoke: (callback: grpc.requestCallback<Res>) => grpc.ClientUnaryCall): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      invoke((error, response) => {
        if (error) {
          reject(error);
        } else if (response === undefined) {
          reject(new Error('empty gRPC response'));
        } else {
          resolve(response);
        }
      });
    });
  }

  return {
    target: address,
    raw,

    getVersions() {
      return new Promise<number[]>((resolve, reject) => {
        raw.makeUnaryRequest<Uint8Array, Buffer>(
          GET_VERSIONS_METHOD,
          (value) => Buffer.from(value),
          (value) => value,
          new Uint8Array(0),
          (error, response) => {
            if (error) {
              reject(error);
              return;
            }
            try {
              resolve(decodeGetVersionsResponse(response ?? Buffer.alloc(0)));
            } catch (decodeError) {
              reject(decodeError);
            }
          },
        );
      });
    },

    async getName(options?: grpc.CallOptions) {
      const res = await unary<InstanceType<typeof v3.GetName.Response>>((cb) => raw.GetName(new v3.GetName.Request(), options ?? {}, cb));
      return res.name;
    },

    async getVersion() {
      const res = await unary<InstanceType<typeof v3.GetVersion.Response>>((cb) => raw.GetVersion(new v3.GetVersion.Request(), cb));
      return res.version;
    },

    async getSpecSchema() {
      const res = await unary<InstanceType<typeof v3.GetSpecSchema.Response>>((cb) =>
        raw.GetSpecSchema(new v3.GetSpecSchema.Request(), cb),
      );
      return res.json_schema;
    },

    async init(spec: unknown, opts: InitOptions = {}) {
      const bytes = spec instanceof Uint8Array ? spec : new TextEncoder().encode(JSON.stringify(spec ?? null));
      const request = new v3.Init.Request({
        spec: bytes,
        no_connection: opts.noConnection ?? false,
        invocation_id: opts.invocationId ?? randomUUID(),
      });
      await unary<InstanceType<typeof v3.Init.Response>>((cb) => raw.Init(request, cb));
    },

    async getTables(opts: GetTablesOptions = {}) {
      const request = new v3.GetTables.Request({
        tables: opts.tables ?? ['*'],
        skip_tables: opts.skipTables ?? [],
        skip_dependent_tables: opts.skipDependentTables ?? false,
      });
      const res = await unary<InstanceType<typeof v3.GetTables.Response>>((cb) => raw.GetTables(request, cb));
      return res.tables.map((bytes) => decodeIpc(bytes).schema);
    },

    sync(opts: SyncOptions = {}) {
      return runSync(raw, opts);
    },

    async close() {
      await unary<InstanceType<typeof v3.Close.Response>>((cb) => raw.Close(new v3.Close.Request(), cb));
    },

    dispose() {
      if (!disposed) {
        disposed = true;
        raw.close();
      }
    },
  };
}

function newSyncResult(): SyncResult {
  const result: SyncResult = {
    migrations: new Map(),
    batches: [],
    errors: [],
    deletes: 0,
    kinds: [],
    rows(table: string) {
      const rows: Record<string, unknown>[] = [];
      for (const entry of result.batches) {
        if (entry.table !== table) continue;
        for (let i = 0; i < entry.batch.numRows; i++) {
          const row = entry.batch.get(i);
          if (row) rows.push(row.toJSON() as Record<string, unknown>);
        }
      }
      return rows;
    },
    rowCount(table?: string) {
      let count = 0;
      for (const entry of result.batches) {
        if (table === undefined || entry.table === table) count += entry.batch.numRows;
      }
      return count;
    },
  };
  return result;
}

function runSync(raw: InstanceType<typeof v3.PluginClient>, opts: SyncOptions): Promise<SyncResult> {
  const request = new v3.Sync.Request({
    tables: opts.tables ?? ['*'],
    skip_tables: opts.skipTables ?? [],
    skip_dependent_tables: opts.skipDependentTables ?? false,
    deterministic_cq_id: opts.deterministicCqId ?? false,
    withErrorMessages: opts.withErrorMessages ?? true,
  });
  if (opts.backendOptions) {
    request.backend = new v3.Sync.BackendOptions({
      table_name: opts.backendOptions.tableName,
      connection: opts.backendOptions.connection,
    });
  }
  if (opts.shard) {
    request.shard = new v3.Sync.Request.Shard({ num: opts.shard.num, total: opts.shard.total });
  }

  const result = newSyncResult();
  const { signal, onMessage } = opts;

  return new Promise<SyncResult>((resolve, reject) => {
    const call = raw.Sync(request);
    let settled = false;
    let ended = false;
    let status: grpc.StatusObject | undefined;

    const onAbort = () => call.cancel();
    const finish = (error?: unknown) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) {
        resolve(result);
      } else {
        if (error instanceof Error) {
          Object.defineProperty(error, 'partial', { value: result, enumerable: false, configurable: true });
        }
        reject(error);
      }
    };
    const maybeDone = () => {
      if (ended && status && status.code === grpc.status.OK) finish();
    };

    call.on('data', (message: InstanceType<typeof v3.Sync.Response>) => {
      if (settled) return;
      try {
        const kind = recordSyncMessage(result, message);
        onMessage?.(kind);
      } catch (error) {
        call.cancel();
        finish(error);
      }
    });
    call.on('error', (error: grpc.ServiceError) => finish(error));
    call.on('status', (s: grpc.StatusObject) => {
      status = s;
      maybeDone();
    });
    call.on('end', () => {
      ended = true;
      maybeDone();
    });

    if (signal) {
      if (signal.aborted) call.cancel();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
  });
}

/** Adds one Sync.Response to `result`; returns its kind. */
function recordSyncMessage(result: SyncResult, message: InstanceType<typeof v3.Sync.Response>): string {
  const kind = message.message;
  result.kinds.push(kind);
  switch (kind) {
    case 'migrate_table': {
      const schema = decodeIpc(message.migrate_table.table).schema;
      result.migrations.set(requireTableName(schema, kind), schema);
      break;
    }
    case 'insert': {
      const table = decodeIpc(message.insert.record);
      const name = requireTableName(table.schema, kind);
      if (table.batches.length === 0) {
        throw new Error(`Sync insert for table ${name}: the Arrow IPC stream holds no record batch`);
      }
      for (const batch of table.batches) {
        result.batches.push({ table: name, schema: table.schema, batch });
      }
      break;
    }
    case 'delete_record':
      result.deletes += 1;
      break;
    case 'error':
      result.errors.push({ table: message.error.table_name, error: message.error.error });
      break;
    default:
      break;
  }
  return kind;
}

function decodeIpc(bytes: Uint8Array) {
  return tableFromIPC(bytes);
}

/** The CloudQuery table name of a schema from a Sync message; a plugin that omits it is broken (the CLI rejects it too). */
function requireTableName(schema: Schema, kind: string): string {
  const name = tableName(schema);
  if (name === '') {
    throw new Error(
      `Sync ${kind}: Arrow schema without cq:table_name metadata (fields: ${schema.fields.map((f) => f.name).join(', ') || 'none'})`,
    );
  }
  return name;
}

/** The CloudQuery table name of an Arrow schema (`cq:table_name` metadata), or ''. */
export function tableName(schema: Schema): string {
  return schema.metadata.get('cq:table_name') ?? '';
}

/** Decodes a discovery.v1 GetVersions.Response: field 1 is `repeated int32 versions`, packed or not. */
export function decodeGetVersionsResponse(bytes: Uint8Array): number[] {
  return readRepeatedInt32(bytes, 1);
}

// ---------------------------------------------------------------------------
// Process

const FLAG_DEFAULTS: { flag: string; args: (port: number) => string[]; overriddenBy: string[] }[] = [
  { flag: '--address', args: (port) => ['--address', `127.0.0.1:${port}`], overriddenBy: ['--address', '-a'] },
  { flag: '--log-format', args: () => ['--log-format', 'json'], overriddenBy: ['--log-format', '-f'] },
  { flag: '--log-level', args: () => ['--log-level', 'debug'], overriddenBy: ['--log-level', '-l'] },
  { flag: '--network', args: () => ['--network', 'tcp'], overriddenBy: ['--network', '-n'] },
  { flag: '--no-sentry', args: () => ['--no-sentry'], overriddenBy: ['--sentry', '--no-sentry'] },
];

function hasFlag(args: string[], names: string[]): boolean {
  return args.some((arg) => names.some((name) => arg === name || arg.startsWith(`${name}=`)));
}

function flagValue(args: string[], names: string[]): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    for (const name of names) {
      if (arg === name && i + 1 < args.length) value = args[i + 1];
      else if (arg.startsWith(`${name}=`)) value = arg.slice(name.length + 1);
    }
  }
  return value;
}

/** Where to reach a server bound to `address` on `network`: the gRPC target and a probe for net.connect. */
function reachable(address: string, network: string): { target: string; probe: net.NetConnectOpts } {
  if (network === 'unix') {
    return { target: `unix:${address}`, probe: { path: address } };
  }
  const match = /^(?:\[(.*)\]|(.*)):(\d+)$/.exec(address);
  if (!match) throw new Error(`startPlugin: cannot parse --address ${address}`);
  let host = match[1] ?? match[2] ?? '';
  const port = Number(match[3]);
  if (host === '' || host === '0.0.0.0' || host === '::') host = host === '::' ? '::1' : '127.0.0.1';
  const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return { target, probe: { host, port } };
}

function tcpAccepts(probe: net.NetConnectOpts): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(probe);
    const done = (ok: boolean) => {
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function collectLines(stream: NodeJS.ReadableStream | null, logs: string[]): void {
  if (!stream) return;
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      logs.push(pending.slice(0, newline).replace(/\r$/, ''));
      pending = pending.slice(newline + 1);
    }
  });
  stream.on('end', () => {
    if (pending !== '') logs.push(pending);
    pending = '';
  });
}

/**
 * Spawns `node <entry> serve --address 127.0.0.1:<free port> --log-format json
 * --log-level debug --network tcp --no-sentry ...extraArgs` and waits until
 * GetName answers.
 */
export async function startPlugin(opts: StartPluginOptions = {}): Promise<PluginProcess> {
  const extraArgs = opts.extraArgs ?? [];
  const entry = opts.entry ?? DEFAULT_ENTRY;
  const timeout = opts.timeout ?? START_TIMEOUT_MS;

  const needsPort = !hasFlag(extraArgs, ['--address', '-a']);
  const port = needsPort ? await freePort() : 0;
  const args = [entry, 'serve'];
  for (const d of FLAG_DEFAULTS) {
    if (!hasFlag(extraArgs, d.overriddenBy)) args.push(...d.args(port));
  }
  args.push(...extraArgs);

  const boundAddress = flagValue(args, ['--address', '-a'])!;
  const network = flagValue(args, ['--network', '-n']) ?? 'tcp';
  const { target, probe } = reachable(boundAddress, network);

  const logs: string[] = [];
  const child: ChildProcess = spawn(process.execPath, args, {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  collectLines(child.stdout, logs);
  collectLines(child.stderr, logs);

  let hasExited = false;
  const killOnParentExit = () => {
    if (!hasExited) child.kill('SIGKILL');
  };
  process.once('exit', killOnParentExit);

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (error) => {
      logs.push(`[startPlugin] spawn error: ${error.message}`);
      if (child.pid === undefined) {
        hasExited = true;
        process.removeListener('exit', killOnParentExit);
        resolve({ code: null, signal: null });
      }
    });
    // 'close' comes after the stdio streams ended, so `logs` is complete by then.
    child.once('close', (code, signal) => {
      hasExited = true;
      process.removeListener('exit', killOnParentExit);
      resolve({ code, signal });
    });
  });
  const exitCode = exited.then((e) => e.code);

  let client: PluginClient | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    stopping ??= (async () => {
      client?.dispose();
      if (!hasExited && child.pid !== undefined) {
        try {
          process.kill(child.pid, signal);
        } catch {
          // already gone
        }
        const timer = setTimeout(() => {
          if (!hasExited) {
            logs.push(`[startPlugin] no exit ${STOP_KILL_AFTER_MS} ms after ${signal}: sending SIGKILL`);
            child.kill('SIGKILL');
          }
        }, STOP_KILL_AFTER_MS);
        try {
          await exited;
        } finally {
          clearTimeout(timer);
        }
      } else {
        await exited;
      }
    })();
    return stopping;
  };

  const describe = (why: string) =>
    `startPlugin: ${why}\ncommand: ${process.execPath} ${args.join(' ')}\nlogs (${logs.length} lines):\n${logs.join('\n')}`;

  const deadline = Date.now() + timeout;
  try {
    // Wait for the port first: a grpc-js channel that fails to connect backs off
    // for seconds, so the client is created only once the server listens.
    for (;;) {
      if (hasExited) throw new ExitedEarly();
      if (await tcpAccepts(probe)) break;
      if (Date.now() >= deadline) throw new Error(`nothing accepts connections at ${target}`);
      await sleep(50);
    }
    client = connectPlugin(target);
    const c = client;
    let lastError: unknown;
    for (;;) {
      if (hasExited) throw new ExitedEarly();
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw lastError ?? new Error('timed out');
      try {
        await c.getName({ deadline: Date.now() + Math.min(remaining, 2000) });
        break;
      } catch (error) {
        lastError = error;
        await sleep(50);
      }
    }
  } catch (error) {
    const why =
      error instanceof ExitedEarly || hasExited
        ? `plugin exited before it answered GetName (${JSON.stringify(await exited)})`
        : `plugin did not answer GetName within ${timeout} ms: ${error instanceof Error ? error.message : String(error)}`;
    await stop('SIGKILL');
    throw new Error(describe(why), { cause: error });
  }

  return {
    address: target,
    client,
    pid: child.pid!,
    args,
    logs,
    jsonLogs: () => parseJsonLines(logs),
    exitCode,
    exited,
    stop,
  };
}

class ExitedEarly extends Error {}

/** The lines that parse as JSON objects. */
export function parseJsonLines(lines: readonly string[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of lines) {
    const trimmed = line.trim();
    if (!trimmed.startsWith('{')) continue;
    try {
      const value: unknown = JSON.parse(trimmed);
      if (value && typeof value === 'object' && !Array.isArray(value)) out.push(value as Record<string, unknown>);
    } catch {
      // not JSON
    }
  }
  return out;
}
