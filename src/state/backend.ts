// Client for the CloudQuery state backend: a key/value table kept in a destination plugin that the
// CLI has already started and initialized, reached over gRPC at `backend_options.connection`.
//
// Wire-compatible with the Go SDK's state client (plugin-sdk `state/client.go` and
// `internal/clients/state/v3/state.go`), so a user switching from the Go plugin keeps their state:
//   open:  discovery GetVersions (must list 3); Write{migrate_table: table schema}; Read{table: schema}
//          and fold every returned row into memory, the highest `version` of a key winning.
//   set:   in memory only; a changed value gets version+1 and is marked dirty.
//   flush: one Write stream with one insert of the dirty keys (key, value, version).
import * as grpc from '@grpc/grpc-js';
import { pluginV3 } from '@cloudquery/plugin-pb-javascript';
import type { Schema } from 'apache-arrow';
import { schemaOnlyIpc } from '../arrow/ipc.js';
import { readVersions, readTable, writeRequests, type PluginClient } from './rpc.js';
import type { SyncState } from './state.js';
import { decodeStateRecord, encodeStateRecord, stateTableSchema, type StateEntry } from './table.js';

const v3 = pluginV3.cloudquery.plugin.v3;

export interface StateBackendOptions {
  /** `backend_options.connection`: `host:port`, `unix:/path`, `unix:///path`, ... (gRPC target syntax). */
  connection: string;
  /** `backend_options.table_name` */
  tableName: string;
  /** Deadline of the first call (protocol discovery), which is where an unreachable backend shows. */
  connectTimeoutMs?: number;
  /** Deadline of each Read and Write call. */
  callTimeoutMs?: number;
}

export interface StateLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
}

/** The Go state client's gRPC message limit (both directions). */
const MAX_MESSAGE_BYTES = 100 * 1024 * 1024;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_CALL_TIMEOUT_MS = 120_000;

export async function openStateBackend(options: StateBackendOptions, logger?: StateLogger): Promise<SyncState> {
  const { connection, tableName } = options;
  if (!connection || !tableName) {
    throw new Error(
      `state backend at ${connection || '(none)'} (table ${tableName || '(none)'}): backend_options needs both connection and table_name`,
    );
  }
  const state = new BackendState(options, connect(options), logger);
  try {
    await state.load();
  } catch (error) {
    state.client.close();
    throw error;
  }
  return state;
}

function connect({ connection, tableName }: StateBackendOptions): PluginClient {
  try {
    // Like the Go client (grpc.NewClient, insecure): the connection string is a gRPC target as is.
    return new v3.PluginClient(connection, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    });
  } catch (error) {
    throw backendError({ connection, tableName }, 'invalid connection address', error);
  }
}

function backendError({ connection, tableName }: StateBackendOptions, what: string, error: unknown): Error {
  return new Error(`state backend at ${connection} (table ${tableName}): ${what}: ${describe(error)}`, { cause: error });
}

class BackendState implements SyncState {
  private readonly schema: Schema;
  private readonly mem = new Map<string, { value: string; version: bigint }>();
  private readonly dirty = new Set<string>();
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly callTimeoutMs: number;

  constructor(
    private readonly options: StateBackendOptions,
    readonly client: PluginClient,
    private readonly logger?: StateLogger,
  ) {
    this.schema = stateTableSchema(options.tableName);
    this.callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  }

  /** Checks the protocol, migrates the state table and reads every key into memory. */
  async load(): Promise<void> {
    const versions = await readVersions(this.client, this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS).catch(
      (error: unknown) => {
        const code = (error as Partial<grpc.ServiceError>).code;
        const unreachable = code === grpc.status.UNAVAILABLE || code === grpc.status.DEADLINE_EXCEEDED;
        throw this.fail(unreachable ? 'cannot reach the backend plugin' : 'protocol discovery (GetVersions) failed', error);
      },
    );
    if (!versions.includes(3)) {
      const why = `it speaks protocol versions [${versions.join(', ')}], not 3; upgrade the state backend plugin`;
      throw this.fail('unsupported plugin', new Error(why));
    }
    const schemaBytes = schemaOnlyIpc(this.schema);
    const migrate = new v3.Write.Request({ migrate_table: new v3.Write.MessageMigrateTable({ table: schemaBytes }) });
    await writeRequests(this.client, [migrate], this.callTimeoutMs).catch((error: unknown) => {
      throw this.fail('migrating the state table failed', error);
    });
    const records = await readTable(this.client, schemaBytes, this.callTimeoutMs).catch((error: unknown) => {
      throw this.fail('reading the state table failed', error);
    });
    for (const record of records) this.fold(record);
    this.logger?.debug('state backend opened', { connection: this.options.connection, table: this.options.tableName, keys: this.mem.size });
  }

  get(key: string): string | undefined {
    return this.mem.get(key)?.value;
  }

  set(key: string, value: string): void {
    const current = this.mem.get(key);
    if (current?.value === value) return;
    this.mem.set(key, { value, version: (current?.version ?? 0n) + 1n });
    this.dirty.add(key);
  }

  flush(): Promise<void> {
    // Serialized: two overlapping Write streams could land out of order and store an older value last.
    return (this.flushing = this.flushing.catch(() => undefined).then(() => this.flushNow()));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flushing.catch(() => undefined);
    this.closed = true;
    if (this.dirty.size > 0) this.log('state backend closed with unflushed keys', this.dirty.size);
    this.client.close();
  }

  /** Folds one Read record into memory: the highest version of a key wins, later rows win ties (Go). */
  private fold(record: Uint8Array): void {
    let entries: StateEntry[];
    try {
      entries = decodeStateRecord(record);
    } catch (error) {
      throw this.fail('cannot decode a state record', error);
    }
    for (const { key, value, version } of entries) {
      const current = this.mem.get(key);
      if (current && current.version > version) continue;
      this.mem.set(key, { value, version });
    }
  }

  private async flushNow(): Promise<void> {
    if (this.closed) throw this.fail('flush', new Error('the state backend is closed'));
    if (this.dirty.size === 0) return;
    const entries = [...this.dirty].sort().map((key) => ({ key, ...this.mem.get(key)! }));
    const record = encodeStateRecord(this.schema, entries);
    const insert = new v3.Write.Request({ insert: new v3.Write.MessageInsert({ record }) });
    await writeRequests(this.client, [insert], this.callTimeoutMs).catch((error: unknown) => {
      throw this.fail(`writing ${entries.length} state entries failed`, error);
    });
    // Keys set again while the write was in flight stay dirty for the next flush.
    for (const entry of entries) if (this.mem.get(entry.key)?.version === entry.version) this.dirty.delete(entry.key);
    this.log('state flushed', entries.length);
  }

  private fail(what: string, error: unknown): Error {
    return backendError(this.options, what, error);
  }

  private log(message: string, keys: number): void {
    this.logger?.debug(message, { connection: this.options.connection, table: this.options.tableName, keys });
  }
}

function describe(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && 'details' in error && typeof error.code === 'number') {
    // A gRPC status: its name and the server's words, without grpc-js's "14 UNAVAILABLE: " prefix noise.
    const name = grpc.status[error.code] ?? String(error.code);
    return `${name}: ${String(error.details).replace(/\s*Resolution note:\s*$/, '')}`;
  }
  return error instanceof Error ? error.message : String(error);
}
