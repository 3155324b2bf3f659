// The CloudQuery plugin protocol v3 service: GetName, GetVersion, GetSpecSchema, Init, GetTables,
// Sync, Close, TestConnection. Source-only: Read/Write/Transform answer UNIMPLEMENTED.
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { pluginV3 } from '@cloudquery/plugin-pb-javascript';
import { RecordBatchStreamWriter, type Schema } from 'apache-arrow';
import { Catalog } from '../catalog.js';
import type { Logger } from '../log.js';
import { parseSpec, SpecError, specJsonSchema } from '../spec.js';
import { openStore } from '../store/index.js';
import { openStateBackend } from '../state/backend.js';
import { StoreError } from '../store/types.js';
import { runSync, type SyncSink } from '../sync.js';
import { noTelemetry, type Telemetry } from '../telemetry.js';
import { PLUGIN_NAME, PLUGIN_VERSION } from '../version.js';

const pb = pluginV3.cloudquery.plugin.v3;

/** Why a sync stopped when the server shuts down: the client should retry elsewhere (UNAVAILABLE). */
class ShutdownError extends Error {}

/** A handler failure with the gRPC status it should end the call with. */
class CallError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

/** An IPC stream holding only a schema, as GetTables and migrate_table carry it. */
function schemaOnly(schema: Schema): Uint8Array {
  const writer = new RecordBatchStreamWriter();
  writer.reset(undefined, schema);
  writer.finish();
  return writer.toUint8Array(true);
}

export class PluginService {
  private catalog?: Catalog;
  private readonly activeSyncs = new Set<AbortController>();
  /** Syncs using each catalog: a catalog replaced by Init or Close is closed only once they end. */
  private readonly users = new Map<Catalog, number>();

  constructor(
    private readonly logger: Logger,
    private readonly telemetry: Telemetry = noTelemetry,
  ) {}

  /** Aborts running syncs (server shutdown). */
  abortAll(reason: string): void {
    for (const controller of this.activeSyncs) controller.abort(new ShutdownError(reason));
  }

  definition(): grpc.UntypedServiceImplementation {
    return {
      GetName: this.unary(async () => new pb.GetName.Response({ name: PLUGIN_NAME })),
      GetVersion: this.unary(async () => new pb.GetVersion.Response({ version: PLUGIN_VERSION })),
      GetSpecSchema: this.unary(async () => new pb.GetSpecSchema.Response({ json_schema: specJsonSchema() })),
      Init: this.unary(async (req: InstanceType<typeof pb.Init.Request>) => this.init(req)),
      GetTables: this.unary(async (req: InstanceType<typeof pb.GetTables.Request>) => this.getTables(req)),
      Close: this.unary(async () => {
        this.replaceCatalog(undefined);
        return new pb.Close.Response();
      }),
      TestConnection: this.unary(async (req: InstanceType<typeof pb.TestConnection.Request>) => this.testConnection(req)),
      Sync: (call: grpc.ServerWritableStream<InstanceType<typeof pb.Sync.Request>, InstanceType<typeof pb.Sync.Response>>) => {
        this.sync(call).catch((err) => this.logger.error('sync handler failed', { error: err }));
      },
      Read: unimplemented('Read'),
      Write: unimplemented('Write'),
      Transform: unimplemented('Transform'),
      TransformSchema: unimplemented('TransformSchema'),
    };
  }

  private unary<Req, Res>(fn: (req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      fn(call.request).then(
        (res) => callback(null, res),
        (err) => callback(this.toStatus(err)),
      );
    };
  }

  private toStatus(err: unknown): Partial<grpc.StatusObject> {
    if (err instanceof CallError) return { code: err.code, details: err.message };
    if (err instanceof SpecError) return { code: grpc.status.INVALID_ARGUMENT, details: err.message };
    if (err instanceof StoreError) {
      const code =
        err.code === 'access_denied' || err.code === 'credentials'
          ? grpc.status.PERMISSION_DENIED
          : err.code === 'not_found'
            ? grpc.status.NOT_FOUND
            : err.code === 'unreachable'
              ? grpc.status.UNAVAILABLE
              : err.code === 'wrong_region'
                ? grpc.status.FAILED_PRECONDITION
                : grpc.status.UNKNOWN;
      return { code, details: err.message };
    }
    const message = err instanceof Error ? err.message : String(err);
    this.logger.error('request failed', { error: message });
    return { code: grpc.status.INTERNAL, details: message };
  }

  private async init(req: InstanceType<typeof pb.Init.Request>) {
    const spec = parseSpec(req.spec);
    const catalog = new Catalog(await openStore(spec), spec);
    this.replaceCatalog(catalog);
    this.logger.info('initialized', { store: catalog.store.location, path_prefix: spec.pathPrefix, no_connection: req.no_connection });
    return new pb.Init.Response();
  }

  private replaceCatalog(next: Catalog | undefined): void {
    const previous = this.catalog;
    this.catalog = next;
    if (previous && !this.users.get(previous)) previous.store.close();
  }

  /** The current catalog, kept open until `release` even if Init replaces it meanwhile. */
  private useCatalog(): { catalog: Catalog; release: () => void } {
    const catalog = this.requireCatalog();
    this.users.set(catalog, (this.users.get(catalog) ?? 0) + 1);
    let released = false;
    return {
      catalog,
      release: () => {
        if (released) return;
        released = true;
        const left = (this.users.get(catalog) ?? 1) - 1;
        if (left > 0) this.users.set(catalog, left);
        else {
          this.users.delete(catalog);
          if (catalog !== this.catalog) catalog.store.close();
        }
      },
    };
  }

  private requireCatalog(): Catalog {
    if (!this.catalog) throw new CallError(grpc.status.FAILED_PRECONDITION, 'plugin not initialized: call Init with a spec first');
    return this.catalog;
  }

  private async getTables(req: InstanceType<typeof pb.GetTables.Request>) {
    const { catalog, release } = this.useCatalog();
    try {
      const objects = await catalog.listAll();
      const selection = catalog.select(objects, { tables: req.tables, skipTables: req.skip_tables });
      const { tables, skipped } = await catalog.plan(selection.tables);
      for (const s of [...selection.skipped, ...skipped])
        this.logger.warn('object skipped', { table: s.table, key: s.key, error: s.reason });
      return new pb.GetTables.Response({ tables: tables.map((t) => schemaOnly(t.schema)) });
    } finally {
      release();
    }
  }

  private async testConnection(req: InstanceType<typeof pb.TestConnection.Request>) {
    try {
      const spec = parseSpec(req.spec);
      const store = await openStore(spec);
      try {
        for await (const _page of store.list(spec.pathPrefix)) break;
      } finally {
        store.close();
      }
      return new pb.TestConnection.Response({ success: true });
    } catch (err) {
      const code = err instanceof SpecError ? 'INVALID_SPEC' : err instanceof StoreError ? err.code.toUpperCase() : 'UNKNOWN';
      return new pb.TestConnection.Response({ success: false, failure_code: code, failure_description: (err as Error).message });
    }
  }

  private async sync(call: grpc.ServerWritableStream<InstanceType<typeof pb.Sync.Request>, InstanceType<typeof pb.Sync.Response>>) {
    const req = call.request;
    const controller = new AbortController();
    const onCancel = () => controller.abort(new Error('sync cancelled by the client'));
    call.on('cancelled', onCancel);
    this.activeSyncs.add(controller);
    const log = this.logger.child({ invocation: 'sync' });
    let release = () => {};
    try {
      const use = this.useCatalog();
      release = use.release;
      const catalog = use.catalog;
      const send = async (response: InstanceType<typeof pb.Sync.Response> | Buffer) => {
        controller.signal.throwIfAborted();
        // A Buffer is an insert already serialized by insertResponse (see serve.ts).
        if (!call.write(response as InstanceType<typeof pb.Sync.Response>)) {
          // Wait for the client to take what is buffered: this is what bounds memory.
          await once(call, 'drain', { signal: controller.signal });
        }
      };
      const sink: SyncSink = {
        migrate: (schema) => send(new pb.Sync.Response({ migrate_table: new pb.Sync.MessageMigrateTable({ table: schemaOnly(schema) }) })),
        insert: (record) => send(insertResponse(record)),
        error: async (table, key, message) => {
          // With error messages the CLI counts the MessageError; without, it counts error log lines.
          if (req.withErrorMessages) {
            log.warn('object skipped', { table, key, error: message });
            await send(new pb.Sync.Response({ error: new pb.Sync.MessageError({ table_name: table, error: message }) }));
          } else {
            log.error('object skipped', { table, key, error: message });
          }
        },
      };
      const backend =
        req.has_backend && (req.backend.connection || req.backend.table_name)
          ? await openStateBackend({ connection: req.backend.connection, tableName: req.backend.table_name }, log)
          : undefined;
      let summary;
      const span = this.telemetry.span('sync', { 'cq.store': catalog.store.location });
      try {
        summary = await runSync(
          catalog,
          {
            tables: req.tables,
            skipTables: req.skip_tables,
            deterministicCqId: req.deterministic_cq_id,
            shard: req.has_shard && req.shard.total > 0 ? { num: req.shard.num, total: req.shard.total } : undefined,
            state: backend,
            stateId: catalog.spec.store.kind === 's3' ? catalog.spec.store.bucket : catalog.spec.store.path,
            telemetry: this.telemetry,
            span,
          },
          sink,
          log,
          controller.signal,
        );
        span.setAttributes({ 'cq.rows': summary.rows, 'cq.errors': summary.errors, 'cq.tables': summary.tables.length });
        span.end();
      } catch (err) {
        span.end(err);
        throw err;
      } finally {
        await backend?.close();
      }
      log.info('sync finished', {
        tables: summary.tables.length,
        rows: summary.rows,
        errors: summary.errors,
        list_requests: summary.listRequests,
        get_requests: summary.getRequests,
        bytes_read: summary.bytesRead,
        duration_ms: summary.durationMs,
      });
      call.end();
    } catch (err) {
      const reason = controller.signal.reason as Error | undefined;
      const status =
        controller.signal.aborted && !(err instanceof StoreError)
          ? {
              code: reason instanceof ShutdownError ? grpc.status.UNAVAILABLE : grpc.status.CANCELLED,
              details: String(reason?.message ?? 'sync cancelled'),
            }
          : this.toStatus(err);
      if (status.code !== grpc.status.CANCELLED && !(reason instanceof ShutdownError)) log.error('sync failed', { error: status.details });
      else log.warn('sync stopped', { reason: status.details });
      call.emit('error', status);
    } finally {
      release();
      this.activeSyncs.delete(controller);
      call.off('cancelled', onCancel);
    }
  }
}

/**
 * Sync.Response{insert: MessageInsert{record}} as protobuf bytes. Records are large and this is the
 * hot path, so the few header bytes are written in place, in the headroom RecordEncoder leaves before
 * each record, instead of serializing (and copying) the record through google-protobuf. A record
 * without headroom is copied once. The server's Sync serializer passes such Buffers through.
 */
export function insertResponse(record: Uint8Array): Buffer {
  const inner = 1 + varintLength(record.byteLength) + record.byteLength;
  const head = 1 + varintLength(inner) + 1 + varintLength(record.byteLength);
  let out: Buffer;
  if (record.byteOffset >= head) {
    out = Buffer.from(record.buffer, record.byteOffset - head, head + record.byteLength);
  } else {
    out = Buffer.allocUnsafe(head + record.byteLength);
    out.set(record, head);
  }
  let at = 0;
  out[at++] = 0x12; // Sync.Response field 2 (insert), length-delimited
  at = writeVarint(out, at, inner);
  out[at++] = 0x0a; // MessageInsert field 1 (record), length-delimited
  writeVarint(out, at, record.byteLength);
  return out;
}

function varintLength(n: number): number {
  let length = 1;
  for (; n >= 0x80; n = Math.floor(n / 0x80)) length++;
  return length;
}

function writeVarint(out: Uint8Array, at: number, n: number): number {
  for (; n >= 0x80; n = Math.floor(n / 0x80)) out[at++] = (n & 0x7f) | 0x80;
  out[at++] = n;
  return at;
}

function unimplemented(name: string) {
  return (call: unknown, callback?: grpc.sendUnaryData<unknown>) => {
    const error = { code: grpc.status.UNIMPLEMENTED, details: `${name} is not supported by a source plugin` };
    if (callback) callback(error);
    else (call as grpc.ServerWritableStream<unknown, unknown>).emit('error', error);
  };
}
