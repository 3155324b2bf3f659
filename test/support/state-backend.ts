/**
 * A real CloudQuery state backend for tests: the JS SDK's memdb destination plugin served over gRPC
 * on 127.0.0.1 in this process, set up the way the CLI sets up a backend (discovery, then Init with
 * the destination's spec) before any source talks to it.
 *
 * Only memdb's Read RPC is adapted. SDK 0.1.25's handler waits for a 'data' event that a
 * server-streaming call never emits (it hangs) and would write raw rows instead of Read.Response
 * messages. The adapter calls memdb's own read and sends the rows back as Arrow IPC records, the way a
 * Go destination does (one record per response). Write, Init, discovery are the SDK's own handlers.
 *
 * The SDK bundles its own Arrow (@apache-arrow/esnext-esm, re-exported as
 * `@cloudquery/plugin-sdk-javascript/arrow`); its objects never meet apache-arrow's: everything
 * crosses as IPC bytes. `put` also builds its Go-format records with that Arrow, so seeding does not
 * go through the client under test.
 *
 * Only for tests: nothing in src/ may import this file.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { discovery1, pluginV3 } from '@cloudquery/plugin-pb-javascript';
import * as sdkArrow from '@cloudquery/plugin-sdk-javascript/arrow';
import { connectPlugin } from './plugin-client.js';

const v3 = pluginV3.cloudquery.plugin.v3;

/** Rows per Read.Response, small enough that a thousand keys arrive in several responses. */
const ROWS_PER_RESPONSE = 256;
const STOP_GRACE_MS = 2_000;

export interface StateRow {
  key: unknown;
  value: unknown;
  /** bigint; null or undefined in a table written without the version column */
  version: unknown;
}

export interface PutOptions {
  /** Default 1n. `null` writes the pre-version Go table (key and value only, Go SDK before v4.67.0). */
  version?: bigint | null;
  /**
   * Default true. false declares no primary key, so memdb appends instead of upserting, as an
   * append-only destination would (the Go SDK's TestStateOverwriteGetLatest does the same).
   */
  primaryKey?: boolean;
}

export interface StartStateBackendOptions {
  /** The backend destination's spec as the CLI would send it in Init (default `{}`). */
  spec?: unknown;
  /** Skip Init, as if the CLI had not initialized the backend (default false). */
  skipInit?: boolean;
  /**
   * 'tcp' (default): 127.0.0.1 on a free port, like a docker or grpc-registry backend.
   * 'unix': a socket in a temporary directory, given as `unix:///path` like the CLI gives a local plugin.
   */
  network?: 'tcp' | 'unix';
}

export interface StateBackendServer {
  /** gRPC target, `127.0.0.1:<port>` or `unix:///path`: what the CLI passes as backend_options.connection */
  connection: string;
  stop(): Promise<void>;
  /** key -> value of a state table, read from memdb itself; the highest version of a key wins */
  entries(tableName: string): Promise<Map<string, string>>;
  /** every stored row of a state table, as memdb holds them */
  rows(tableName: string): Promise<StateRow[]>;
  /** stores one entry exactly as the Go SDK's state client writes it, over a real Write call */
  put(tableName: string, key: string, value: string, options?: PutOptions): Promise<void>;
  /** number of Read calls served */
  readCalls(): number;
  /** number of Read.Response messages sent */
  readResponses(): number;
}

// --- the SDK's internals (memdb and its gRPC handlers are not in the package's exports map) --------

interface SdkPlugin {
  setLogger(logger: unknown): void;
  read(stream: unknown): unknown;
}
type Handlers = Record<string, (...args: never[]) => unknown>;
interface SdkModules {
  newMemDBPlugin: () => SdkPlugin;
  PluginServer: new (plugin: SdkPlugin) => Handlers;
  DiscoveryServer: new () => Handlers;
}

let sdk: Promise<SdkModules> | undefined;
function loadSdk(): Promise<SdkModules> {
  return (sdk ??= (async () => {
    const dist = new URL('../', import.meta.resolve('@cloudquery/plugin-sdk-javascript/plugin/plugin'));
    const load = (path: string) => import(new URL(path, dist).href) as Promise<Record<string, unknown>>;
    const [memdb, plugin, discovery] = await Promise.all([load('memdb/memdb.js'), load('grpc/plugin.js'), load('grpc/discovery.js')]);
    return {
      newMemDBPlugin: memdb.newMemDBPlugin as SdkModules['newMemDBPlugin'],
      PluginServer: plugin.PluginServer as SdkModules['PluginServer'],
      DiscoveryServer: discovery.DiscoveryServer as SdkModules['DiscoveryServer'],
    };
  })());
}

const silentLogger = Object.fromEntries(['error', 'warn', 'info', 'debug', 'verbose', 'silly'].map((level) => [level, () => undefined]));

// --- Arrow (the SDK's copy) -----------------------------------------------------------------------

/** Go's state.Table(name).ToArrowSchema(), built independently of src/state/backend.ts. */
function goStateSchema(tableName: string, withVersion: boolean, primaryKey = true): sdkArrow.Schema {
  const meta = (primaryKey: boolean) =>
    new Map([
      ['cq:extension:primary_key', String(primaryKey)],
      ['cq:extension:unique', 'false'],
      ['cq:extension:incremental', 'false'],
      ['cq:extension:primary_key_component', 'false'],
      ['cq:extension:type_schema', ''],
    ]);
  const fields: sdkArrow.Field[] = [
    new sdkArrow.Field('key', new sdkArrow.Utf8(), true, meta(primaryKey)),
    new sdkArrow.Field('value', new sdkArrow.Utf8(), true, meta(false)),
  ];
  if (withVersion) fields.push(new sdkArrow.Field('version', new sdkArrow.Uint64(), true, meta(false)));
  return new sdkArrow.Schema(
    fields,
    new Map([
      ['cq:table_name', tableName],
      ['cq:table_description', ''],
      ['cq:table_title', ''],
      ['cq:extension:constraint_name', ''],
      ['cq:table_permissions_needed', 'null'],
      ['cq:table_sensitive_columns', 'null'],
    ]),
  );
}

/** One record batch of `schema` from plain rows (missing values become nulls), as an IPC stream. */
function recordBytes(schema: sdkArrow.Schema, rows: Record<string, unknown>[]): Uint8Array {
  const children = schema.fields.map(
    (field) =>
      sdkArrow.vectorFromArray(
        rows.map((row) => row[field.name] ?? null),
        field.type,
      ).data[0]!,
  );
  const data = sdkArrow.makeData({ type: new sdkArrow.Struct(schema.fields), length: rows.length, nullCount: 0, children });
  return sdkArrow.tableToIPC(new sdkArrow.Table([new sdkArrow.RecordBatch(schema, data)]), 'stream');
}

function schemaBytes(schema: sdkArrow.Schema): Uint8Array {
  return sdkArrow.tableToIPC(new sdkArrow.Table(schema), 'stream');
}

// --- the server ---------------------------------------------------------------------------------

export async function startStateBackend(options: StartStateBackendOptions = {}): Promise<StateBackendServer> {
  const { newMemDBPlugin, PluginServer, DiscoveryServer } = await loadSdk();
  const plugin = newMemDBPlugin();
  plugin.setLogger(silentLogger);

  /** memdb's own read: it takes a stream, waits for the request on 'data', writes rows, ends. */
  const memdbRows = async (table: Uint8Array): Promise<Record<string, unknown>[]> => {
    const rows: Record<string, unknown>[] = [];
    const stream = Object.assign(new EventEmitter(), {
      write: (row: Record<string, unknown>) => rows.push(row),
      end: () => undefined,
    });
    const done = plugin.read(stream);
    if (!(done instanceof Promise)) throw done instanceof Error ? done : new Error('memdb read failed'); // uninitialized: an Error is returned
    stream.emit('data', { table });
    await done;
    return rows.reverse(); // memdb writes the newest row first; give insertion order
  };

  let reads = 0;
  let responses = 0;
  const handlers = new PluginServer(plugin);
  handlers.Read = ((call: grpc.ServerWritableStream<InstanceType<typeof v3.Read.Request>, InstanceType<typeof v3.Read.Response>>) => {
    reads++;
    void (async () => {
      const schema = sdkArrow.tableFromIPC(call.request.table).schema;
      const rows = await memdbRows(call.request.table);
      for (let start = 0; start < rows.length; start += ROWS_PER_RESPONSE) {
        // StructRowProxy -> plain values of the requested columns (rows of older schemas may lack some)
        const plain = rows
          .slice(start, start + ROWS_PER_RESPONSE)
          .map((row) => Object.fromEntries(schema.fields.map((f) => [f.name, row[f.name]])));
        call.write(new v3.Read.Response({ record: recordBytes(schema, plain) }));
        responses++;
      }
      call.end();
    })().catch((error: unknown) => {
      call.emit('error', { code: grpc.status.INTERNAL, details: error instanceof Error ? error.message : String(error) });
    });
  }) as never;

  const server = new grpc.Server();
  server.addService(v3.UnimplementedPluginService.definition, handlers as unknown as grpc.UntypedServiceImplementation);
  server.addService(
    discovery1.cloudquery.discovery.v1.UnimplementedDiscoveryService.definition,
    new DiscoveryServer() as unknown as grpc.UntypedServiceImplementation,
  );
  const socketDir = options.network === 'unix' ? await mkdtemp(join(tmpdir(), 'cq-state-')) : undefined;
  const address = socketDir ? `unix://${join(socketDir, 'backend.sock')}` : '127.0.0.1:0';
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  const connection = socketDir ? address : `127.0.0.1:${port}`;
  const removeSocketDir = async () => {
    if (socketDir) await rm(socketDir, { recursive: true, force: true });
  };

  // What the CLI does with a backend before the source's Sync: check the protocol, then Init.
  const client = connectPlugin(connection);
  try {
    const versions = await client.getVersions();
    if (!versions.includes(3)) throw new Error(`memdb reports protocol versions ${versions.join(', ')}`);
    if (!options.skipInit) await client.init(options.spec ?? {}, { invocationId: randomUUID() });
  } catch (error) {
    client.dispose();
    server.forceShutdown();
    await removeSocketDir();
    throw error;
  }

  const rows = async (tableName: string): Promise<StateRow[]> =>
    (await memdbRows(schemaBytes(goStateSchema(tableName, true)))).map((row) => ({ key: row.key, value: row.value, version: row.version }));

  let stopping: Promise<void> | undefined;
  return {
    connection,
    readCalls: () => reads,
    readResponses: () => responses,
    rows,
    async entries(tableName) {
      const best = new Map<string, { value: string; version: bigint }>();
      for (const row of await rows(tableName)) {
        const version = typeof row.version === 'bigint' ? row.version : 0n;
        const current = best.get(String(row.key));
        if (!current || current.version <= version) best.set(String(row.key), { value: String(row.value ?? ''), version });
      }
      return new Map([...best].map(([key, { value }]) => [key, value]));
    },
    async put(tableName, key, value, putOptions = {}) {
      const version = putOptions.version === undefined ? 1n : putOptions.version;
      const schema = goStateSchema(tableName, version !== null, putOptions.primaryKey ?? true);
      const row = version === null ? { key, value } : { key, value, version };
      await new Promise<void>((resolve, reject) => {
        const call = client.raw.Write((error) => (error ? reject(error) : resolve()));
        call.write(new v3.Write.Request({ migrate_table: new v3.Write.MessageMigrateTable({ table: schemaBytes(schema) }) }));
        call.write(new v3.Write.Request({ insert: new v3.Write.MessageInsert({ record: recordBytes(schema, [row]) }) }));
        call.end();
      });
    },
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        client.dispose();
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, STOP_GRACE_MS);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }).then(removeSocketDir)),
  };
}
