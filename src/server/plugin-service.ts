// The CloudQuery plugin protocol v3 service: translates each call to the source core (src/source.ts)
// and its answer or error back to protocol messages and statuses. Source-only: Read/Write/Transform
// answer UNIMPLEMENTED.
import * as grpc from '@grpc/grpc-js';
import { pluginV3 } from '@cloudquery/plugin-pb-javascript';
import { schemaOnlyIpc } from '../arrow/ipc.js';
import type { Logger } from '../log.js';
import { Source, type BackendOptions } from '../source.js';
import { specJsonSchema } from '../spec.js';
import { noTelemetry, type Telemetry } from '../telemetry.js';
import { safeText } from '../util/safe-text.js';
import { PLUGIN_NAME, PLUGIN_VERSION } from '../version.js';
import { ShutdownError, syncStatus, toStatus } from './status.js';
import { syncSink, type SyncCall } from './sync-stream.js';

const pb = pluginV3.cloudquery.plugin.v3;
type Request<T extends { Request: abstract new (...args: never[]) => unknown }> = InstanceType<T['Request']>;

export class PluginService {
  private readonly source: Source;
  private readonly activeSyncs = new Set<AbortController>();

  constructor(
    private readonly logger: Logger,
    telemetry: Telemetry = noTelemetry,
  ) {
    this.source = new Source(logger, telemetry);
  }

  /** Aborts running syncs (server shutdown). */
  abortAll(reason: string): void {
    for (const controller of this.activeSyncs) controller.abort(new ShutdownError(reason));
  }

  definition(): grpc.UntypedServiceImplementation {
    return {
      GetName: this.unary(async () => new pb.GetName.Response({ name: PLUGIN_NAME })),
      GetVersion: this.unary(async () => new pb.GetVersion.Response({ version: PLUGIN_VERSION })),
      GetSpecSchema: this.unary(async () => new pb.GetSpecSchema.Response({ json_schema: specJsonSchema() })),
      Init: this.unary(async (req: Request<typeof pb.Init>) => {
        await this.source.init(req.spec, req.no_connection);
        return new pb.Init.Response();
      }),
      GetTables: this.unary(async (req: Request<typeof pb.GetTables>) => {
        const schemas = await this.source.tables({ tables: req.tables, skipTables: req.skip_tables });
        return new pb.GetTables.Response({ tables: schemas.map(schemaOnlyIpc) });
      }),
      Close: this.unary(async () => {
        this.source.close();
        return new pb.Close.Response();
      }),
      TestConnection: this.unary(async (req: Request<typeof pb.TestConnection>) => {
        const check = await this.source.testConnection(req.spec);
        return new pb.TestConnection.Response({
          success: check.success,
          failure_code: check.failureCode ?? '',
          failure_description: safeText(check.failureDescription ?? ''),
        });
      }),
      Sync: (call: SyncCall) => {
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
        (err) => callback(toStatus(err, this.logger)),
      );
    };
  }

  private async sync(call: SyncCall): Promise<void> {
    const req = call.request;
    const controller = new AbortController();
    const onCancel = () => controller.abort(new Error('sync cancelled by the client'));
    call.on('cancelled', onCancel);
    this.activeSyncs.add(controller);
    const log = this.logger.child({ invocation: 'sync' });
    try {
      const request = {
        tables: req.tables,
        skipTables: req.skip_tables,
        deterministicCqId: req.deterministic_cq_id,
        shard: req.has_shard && req.shard.total > 0 ? { num: req.shard.num, total: req.shard.total } : undefined,
      };
      const backend: BackendOptions | undefined =
        req.has_backend && (req.backend.connection || req.backend.table_name)
          ? { connection: req.backend.connection, tableName: req.backend.table_name }
          : undefined;
      await this.source.sync(request, backend, syncSink(call, log, controller.signal), controller.signal);
      call.end();
    } catch (err) {
      call.emit('error', syncStatus(err, controller.signal, log));
    } finally {
      this.activeSyncs.delete(controller);
      call.off('cancelled', onCancel);
    }
  }
}

function unimplemented(name: string) {
  return (call: unknown, callback?: grpc.sendUnaryData<unknown>) => {
    const error = { code: grpc.status.UNIMPLEMENTED, details: `${name} is not supported by a source plugin` };
    if (callback) callback(error);
    else (call as grpc.ServerWritableStream<unknown, unknown>).emit('error', error);
  };
}
