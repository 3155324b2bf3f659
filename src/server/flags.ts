// Flags of `serve`, as the CloudQuery CLI passes them to a plugin:
//   serve --log-level info --log-format json --network tcp --address 0.0.0.0:7777 [--no-sentry]
//         [--license FILE] [--otel-endpoint HOST:PORT] [--otel-endpoint-insecure]
import { parseArgs } from 'node:util';
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

const VALUE_FLAGS = ['address', 'network', 'log-level', 'log-format', 'license', 'otel-endpoint', 'sentry-dsn', 'tracing'];
const SWITCHES = ['no-sentry', 'disable-sentry', 'otel-endpoint-insecure'];

type Token = NonNullable<ReturnType<typeof parseArgs>['tokens']>[number];

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
  const options = Object.fromEntries([
    ...VALUE_FLAGS.map((name) => [name, { type: 'string' as const }]),
    ...SWITCHES.map((name) => [name, { type: 'boolean' as const }]),
  ]);
  let tokens: Token[];
  try {
    // Not strict: a newer CLI's flags must not stop the server; they are collected below instead.
    tokens = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true }).tokens;
  } catch (err) {
    throw new FlagError((err as Error).message);
  }
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.kind === 'positional') throw new FlagError(`unexpected argument "${token.value}"`);
    if (token.kind !== 'option') continue;
    if (token.name in options) {
      applyFlag(flags, token.name, token.value);
      continue;
    }
    // A newer CLI's flag: take its value along if it has one, so the next flag still parses.
    const next = tokens[i + 1];
    if (token.value === undefined && next?.kind === 'positional') i++;
    flags.unknown.push(token.rawName + (token.inlineValue ? `=${token.value}` : ''));
  }
  return flags;
}

function applyFlag(flags: ServeFlags, name: string, value: string | undefined): void {
  if (VALUE_FLAGS.includes(name) && value === undefined) throw new FlagError(`flag --${name} needs a value`);
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
  }
}

/** The address grpc-js binds: `host:port` for tcp, `unix:path` for a socket. */
export function bindAddress(flags: ServeFlags): string {
  return flags.network === 'unix' ? `unix:${flags.address}` : flags.address;
}
