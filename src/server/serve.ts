// `serve`: the gRPC server the CloudQuery CLI talks to (plugin protocol v3 + discovery v1).
import * as grpc from '@grpc/grpc-js';
import { discovery1, pluginV3 } from '@cloudquery/plugin-pb-javascript';
import { createLogger, type Logger } from '../log.js';
import { noTelemetry, startTelemetry, type Telemetry } from '../telemetry.js';
import { PLUGIN_NAME, PLUGIN_VERSION } from '../version.js';
import { bindAddress, type ServeFlags } from './flags.js';
import { PluginService } from './plugin-service.js';

const MAX_MESSAGE_BYTES = 200 * 1024 * 1024; // the CLI's own limit
const SHUTDOWN_GRACE_MS = 5_000;

export interface RunningServer {
  port: number;
  stop(): Promise<void>;
}

export async function serve(flags: ServeFlags): Promise<RunningServer> {
  const logger = createLogger({ level: flags.logLevel, format: flags.logFormat });
  routeProcessWarnings(logger);
  if (flags.unknown.length > 0) logger.warn('ignoring unknown flags', { flags: flags.unknown });
  let telemetry: Telemetry = noTelemetry;
  if (flags.otelEndpoint) {
    try {
      telemetry = await startTelemetry(
        { endpoint: flags.otelEndpoint, insecure: flags.otelEndpointInsecure, serviceName: PLUGIN_NAME, version: PLUGIN_VERSION },
        logger,
      );
    } catch (err) {
      logger.warn('OpenTelemetry export could not start; continuing without it', { error: (err as Error).message });
    }
  }

  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  });
  const plugin = new PluginService(logger, telemetry);
  // Insert responses arrive already serialized (see insertResponse); everything else goes through protobuf.
  const definition = pluginV3.cloudquery.plugin.v3.UnimplementedPluginService.definition;
  const sync = definition.Sync;
  const serializeSync = (value: unknown) => (Buffer.isBuffer(value) ? value : sync.responseSerialize(value as never));
  server.addService({ ...definition, Sync: { ...sync, responseSerialize: serializeSync } } as grpc.ServiceDefinition, plugin.definition());
  server.addService(discovery1.cloudquery.discovery.v1.UnimplementedDiscoveryService.definition, {
    GetVersions: (_call: unknown, callback: grpc.sendUnaryData<unknown>) =>
      callback(null, new discovery1.cloudquery.discovery.v1.GetVersions.Response({ versions: [3] })),
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(bindAddress(flags), grpc.ServerCredentials.createInsecure(), (err, boundPort) =>
      err ? reject(err) : resolve(boundPort),
    );
  });
  logger.info('plugin server listening', { plugin: PLUGIN_NAME, version: PLUGIN_VERSION, address: flags.address, network: flags.network });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= new Promise<void>((resolve) => {
      plugin.abortAll('the plugin server is shutting down');
      const done = () => telemetry.shutdown().finally(resolve);
      const timer = setTimeout(() => {
        server.forceShutdown();
        void done();
      }, SHUTDOWN_GRACE_MS);
      server.tryShutdown(() => {
        clearTimeout(timer);
        void done();
      });
    }));
  return { port, stop };
}

/** Node prints process warnings (e.g. the AWS SDK's) as raw stderr text; keep every line structured. */
function routeProcessWarnings(logger: Logger): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning) => logger.warn(warning.message, { warning: warning.name }));
}
