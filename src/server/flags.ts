// Flags of `serve`, as the CloudQuery CLI passes them to a plugin:
//   serve --log-level info --log-format json --network tcp --address 0.0.0.0:7777 [--no-sentry]
//         [--license FILE] [--otel-endpoint HOST:PORT] [--otel-endpoint-insecure]
import { isLogLevel, type LogFormat, type LogLevel } from '../log.js';

export interface ServeFlags {
  address: string;
  network: 'tcp' | 'unix';
  logLevel: LogLevel;
  logFormat: LogFormat;
  noSentry: boolean;
  license?: string;
  otelEndpoint?: string;
  otelEndpointInsecure: boolean;
  /** Flags this version does not know; accepted (newer CLIs add flags) and logged. */
  unknown: string[];
}

export class FlagError extends Error {}

const VALUE_FLAGS = new Set(['address', 'network', 'log-level', 'log-format', 'license', 'otel-endpoint', 'sentry-dsn', 'tracing']);

export function parseServeFlags(args: string[]): ServeFlags {
  const flags: ServeFlags = {
    address: 'localhost:7777',
    network: 'tcp',
    logLevel: 'info',
    logFormat: 'text',
    noSentry: false,
    otelEndpointInsecure: false,
    unknown: [],
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) throw new FlagError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq >= 0 ? eq : undefined);
    let value: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    if (VALUE_FLAGS.has(name) && value === undefined) {
      value = args[++i];
      if (value === undefined) throw new FlagError(`flag --${name} needs a value`);
    }
    switch (name) {
      case 'address':
        flags.address = value!;
        break;
      case 'network':
        if (value !== 'tcp' && value !== 'unix') throw new FlagError(`--network must be tcp or unix, not "${value}"`);
        flags.network = value;
        break;
      case 'log-level':
        if (!isLogLevel(value!)) throw new FlagError(`--log-level must be one of trace, debug, info, warn, error, not "${value}"`);
        flags.logLevel = value;
        break;
      case 'log-format':
        if (value !== 'json' && value !== 'text') throw new FlagError(`--log-format must be json or text, not "${value}"`);
        flags.logFormat = value;
        break;
      case 'no-sentry':
      case 'disable-sentry':
        flags.noSentry = value !== 'false';
        break;
      case 'license':
        flags.license = value;
        break;
      case 'otel-endpoint':
        flags.otelEndpoint = value;
        break;
      case 'otel-endpoint-insecure':
        flags.otelEndpointInsecure = value !== 'false';
        break;
      case 'sentry-dsn':
      case 'tracing':
        break;
      default: {
        // A newer CLI's flag: take its value along if it has one, so the next flag still parses.
        const next = args[i + 1];
        if (value === undefined && next !== undefined && !next.startsWith('--')) i++;
        flags.unknown.push(arg);
      }
    }
  }
  return flags;
}

/** The address grpc-js binds: `host:port` for tcp, `unix:path` for a socket. */
export function bindAddress(flags: ServeFlags): string {
  return flags.network === 'unix' ? `unix:${flags.address}` : flags.address;
}
