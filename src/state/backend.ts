// Client for the CloudQuery state backend: a key/value table kept in a destination plugin that the
// CLI has already started and initialized, reached over gRPC at `backend_options.connection`.
//
// Wire-compatible with the Go SDK's state client (plugin-sdk `state/client.go` and
// `internal/clients/state/v3/state.go`), so a user switching from the Go plugin keeps their state:
//   open:  discovery GetVersions (must list 3); Write{migrate_table: table schema}; Read{table: schema}
//          and fold every returned row into memory, the highest `version` of a key winning.
//   set:   in memory only; a changed value gets version+1 and is marked dirty.
//   flush: one Write stream with one insert of the dirty keys (key, value, version).
// Table: `key` utf8 (primary key), `value` utf8, `version` uint64 (not part of the primary key, so
// destinations that keep primary keys hold one row per key, and append-only ones are resolved on
// read by the highest version).
import * as grpc from '@grpc/grpc-js';
import { pluginV3 } from '@cloudquery/plugin-pb-javascript';
import {
  Field,
  makeData,
  RecordBatch,
  RecordBatchReader,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  Uint64,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';

const v3 = pluginV3.cloudquery.plugin.v3;

export interface StateBackend {
  /** The stored value, or undefined when the key was never set. */
  get(key: string): string | undefined;
  /** Buffered: nothing is sent until flush(). Setting the current value is a no-op. */
  set(key: string, value: string): void;
  /** Writes the changed keys now (one Write call; none when nothing changed). Flushes run one at a time. */
  flush(): Promise<void>;
  /** Waits for a running flush, then closes the connection. Does not flush. */
  close(): Promise<void>;
}

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

const KEY = 'key';
const VALUE = 'value';
const VERSION = 'version';

/** The Go state client's gRPC message limit (both directions). */
const MAX_MESSAGE_BYTES = 100 * 1024 * 1024;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_CALL_TIMEOUT_MS = 120_000;
const GET_VERSIONS_METHOD = '/cloudquery.discovery.v1.Discovery/GetVersions';

/**
 * The state table's Arrow schema, field for field and key for key what Go's
 * `state.Table(name).ToArrowSchema()` produces (schema.Table.ToArrowSchema / Column.ToArrowField).
 */
export function stateTableSchema(tableName: string): Schema {
  const column = (name: string, type: Utf8 | Uint64, primaryKey: boolean) =>
    new Field(
      name,
      type,
      true, // Go: Nullable = !NotNull
      new Map([
        ['cq:extension:primary_key', primaryKey ? 'true' : 'false'],
        ['cq:extension:unique', 'false'],
        ['cq:extension:incremental', 'false'],
        ['cq:extension:primary_key_component', 'false'],
        ['cq:extension:type_schema', ''],
      ]),
    );
  return new Schema(
    [column(KEY, new Utf8(), true), column(VALUE, new Utf8(), false), column(VERSION, new Uint64(), false)],
    new Map([
      ['cq:table_name', tableName],
      ['cq:table_description', ''],
      ['cq:table_title', ''],
      ['cq:extension:constraint_name', ''],
      // Go marshals the table's nil slices as JSON null.
      ['cq:table_permissions_needed', 'null'],
      ['cq:table_sensitive_columns', 'null'],
    ]),
  );
}

export interface StateEntry {
  key: string;
  value: string;
  version: bigint;
}

/** One IPC stream holding the schema and one record batch of `entries` (Go: pb.RecordToBytes). */
export function encodeStateRecord(schema: Schema, entries: StateEntry[]): Uint8Array {
  const children = [
    vectorFromArray(
      entries.map((e) => e.key),
      new Utf8(),
    ),
    vectorFromArray(
      entries.map((e) => e.value),
      new Utf8(),
    ),
    vectorFromArray(
      entries.map((e) => e.version),
      new Uint64(),
    ),
  ].map((vector) => vector.data[0]!);
  const data = makeData({ type: new Struct(schema.fields), length: entries.length, nullCount: 0, children });
  return RecordBatchStreamWriter.writeAll([new RecordBatch(schema, data)]).toUint8Array(true);
}

/** A schema-only IPC stream (Go: pb.SchemaToBytes), as sent in migrate_table and Read requests. */
export function encodeSchema(schema: Schema): Uint8Array {
  const writer = new RecordBatchStreamWriter();
  writer.reset(undefined, schema);
  writer.close();
  return writer.toUint8Array(true);
}

/**
 * Rows of one Read.Response record (an IPC stream of any number of batches). Columns are found by
 * name; a missing or null version counts as 0 (tables written before the Go SDK added the column),
 * a null value as "" (what Go reads), and a row with a null key is dropped.
 */
export function decodeStateRecord(bytes: Uint8Array): StateEntry[] {
  const entries: StateEntry[] = [];
  for (const batch of RecordBatchReader.from(bytes)) {
    const keys = batch.getChild(KEY);
    const values = batch.getChild(VALUE);
    const versions = batch.getChild(VERSION);
    if (!keys || !values) throw new Error(`a state record lacks the "${KEY}" or "${VALUE}" column`);
    for (let i = 0; i < batch.numRows; i++) {
      const key: unknown = keys.get(i);
      if (key === null || key === undefined) continue;
      const value: unknown = values.get(i);
      const version: unknown = versions?.get(i);
      entries.push({
        key: String(key),
        value: value === null || value === undefined ? '' : String(value),
        version: typeof version === 'bigint' ? version : typeof version === 'number' ? BigInt(version) : 0n,
      });
    }
  }
  return entries;
}

export async function openStateBackend(options: StateBackendOptions, logger?: StateLogger): Promise<StateBackend> {
  const { connection, tableName } = options;
  const fail = (what: string, error: unknown): Error =>
    new Error(`state backend at ${connection} (table ${tableName}): ${what}: ${describe(error)}`, { cause: error });
  if (!connection || !tableName) {
    throw new Error(
      `state backend at ${connection || '(none)'} (table ${tableName || '(none)'}): backend_options needs both connection and table_name`,
    );
  }
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;

  let client: InstanceType<typeof v3.PluginClient>;
  try {
    // Like the Go client (grpc.NewClient, insecure): the connection string is a gRPC target as is.
    client = new v3.PluginClient(connection, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    });
  } catch (error) {
    throw fail('invalid connection address', error);
  }

  const schema = stateTableSchema(tableName);
  const schemaBytes = encodeSchema(schema);
  const mem = new Map<string, { value: string; version: bigint }>();
  const dirty = new Set<string>();
  try {
    const versions = await getVersions(client, connectTimeoutMs).catch((error: unknown) => {
      const code = (error as Partial<grpc.ServiceError>).code;
      const unreachable = code === grpc.status.UNAVAILABLE || code === grpc.status.DEADLINE_EXCEEDED;
      throw fail(unreachable ? 'cannot reach the backend plugin' : 'protocol discovery (GetVersions) failed', error);
    });
    if (!versions.includes(3)) {
      throw fail(
        'unsupported plugin',
        new Error(`it speaks protocol versions [${versions.join(', ')}], not 3; upgrade the state backend plugin`),
      );
    }
    await write(
      client,
      [new v3.Write.Request({ migrate_table: new v3.Write.MessageMigrateTable({ table: schemaBytes }) })],
      callTimeoutMs,
    ).catch((error: unknown) => {
      throw fail('migrating the state table failed', error);
    });
    const records = await read(client, schemaBytes, callTimeoutMs).catch((error: unknown) => {
      throw fail('reading the state table failed', error);
    });
    for (const record of records) {
      let entries: StateEntry[];
      try {
        entries = decodeStateRecord(record);
      } catch (error) {
        throw fail('cannot decode a state record', error);
      }
      for (const { key, value, version } of entries) {
        const current = mem.get(key);
        if (current && current.version > version) continue; // Go: the highest version wins, later rows win ties
        mem.set(key, { value, version });
      }
    }
  } catch (error) {
    client.close();
    throw error;
  }
  logger?.debug('state backend opened', { connection, table: tableName, keys: mem.size });

  let flushing: Promise<void> = Promise.resolve();
  let closed = false;

  const flushNow = async () => {
    if (closed) throw fail('flush', new Error('the state backend is closed'));
    if (dirty.size === 0) return;
    const entries = [...dirty].sort().map((key) => ({ key, ...mem.get(key)! }));
    const record = encodeStateRecord(schema, entries);
    await write(client, [new v3.Write.Request({ insert: new v3.Write.MessageInsert({ record }) })], callTimeoutMs).catch(
      (error: unknown) => {
        throw fail(`writing ${entries.length} state entries failed`, error);
      },
    );
    // Keys set again while the write was in flight stay dirty for the next flush.
    for (const entry of entries) if (mem.get(entry.key)?.version === entry.version) dirty.delete(entry.key);
    logger?.debug('state flushed', { connection, table: tableName, keys: entries.length });
  };

  return {
    get: (key) => mem.get(key)?.value,
    set: (key, value) => {
      const current = mem.get(key);
      if (current?.value === value) return;
      mem.set(key, { value, version: (current?.version ?? 0n) + 1n });
      dirty.add(key);
    },
    // Serialized: two overlapping Write streams could land out of order and store an older value last.
    flush: () => (flushing = flushing.catch(() => undefined).then(flushNow)),
    close: async () => {
      if (closed) return;
      await flushing.catch(() => undefined);
      closed = true;
      if (dirty.size > 0) logger?.debug('state backend closed with unflushed keys', { connection, table: tableName, keys: dirty.size });
      client.close();
    },
  };
}

type PluginClient = InstanceType<typeof v3.PluginClient>;

const deadline = (ms: number) => ({ deadline: Date.now() + ms });

/** discovery.v1 GetVersions, decoded by hand: the generated 0.0.39 decoder fails on google-protobuf 4. */
function getVersions(client: PluginClient, timeoutMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest<Uint8Array, Buffer>(
      GET_VERSIONS_METHOD,
      () => Buffer.alloc(0), // GetVersions.Request has no fields
      (bytes) => bytes,
      new Uint8Array(0),
      deadline(timeoutMs),
      (error, reply) => {
        if (error) return reject(error);
        try {
          resolve(decodeVersions(reply ?? Buffer.alloc(0)));
        } catch (decodeError) {
          reject(decodeError);
        }
      },
    );
  });
}

/** `repeated int32 versions = 1`, packed or not. */
function decodeVersions(bytes: Uint8Array): number[] {
  let pos = 0;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      if (pos >= bytes.length || shift > 63) throw new Error('malformed GetVersions reply');
      const byte = bytes[pos++]!;
      if (shift < 32) value |= (byte & 0x7f) << shift; // int32: the low 32 bits are the value
      if ((byte & 0x80) === 0) return value;
    }
  };
  const versions: number[] = [];
  while (pos < bytes.length) {
    const tag = varint();
    const [field, wire] = [tag >>> 3, tag & 7];
    if (wire === 0) {
      const v = varint();
      if (field === 1) versions.push(v);
    } else if (wire === 2) {
      const length = varint(); // read before `pos`: the varint moves it
      const end = pos + length;
      if (end > bytes.length) throw new Error('malformed GetVersions reply');
      if (field === 1) while (pos < end) versions.push(varint());
      pos = end;
    } else if (wire === 5) pos += 4;
    else if (wire === 1) pos += 8;
    else throw new Error('malformed GetVersions reply');
  }
  return versions;
}

/** One client-streaming Write call: send `requests`, half-close, wait for the reply. */
function write(client: PluginClient, requests: InstanceType<typeof v3.Write.Request>[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const call = client.Write(deadline(timeoutMs), (error) => (error ? reject(error) : resolve()));
    for (const request of requests) call.write(request);
    call.end();
  });
}

/** One server-streaming Read call; the `record` of every response. */
async function read(client: PluginClient, schemaBytes: Uint8Array, timeoutMs: number): Promise<Uint8Array[]> {
  const call = client.Read(new v3.Read.Request({ table: schemaBytes }), deadline(timeoutMs));
  const records: Uint8Array[] = [];
  for await (const response of call as AsyncIterable<InstanceType<typeof v3.Read.Response>>) records.push(response.record);
  return records;
}

function describe(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && 'details' in error && typeof error.code === 'number') {
    // A gRPC status: its name and the server's words, without grpc-js's "14 UNAVAILABLE: " prefix noise.
    const name = grpc.status[error.code] ?? String(error.code);
    return `${name}: ${String(error.details).replace(/\s*Resolution note:\s*$/, '')}`;
  }
  return error instanceof Error ? error.message : String(error);
}
