#!/usr/bin/env node
// cq-source-s3 command line: `serve` (the CloudQuery plugin server) and `preview` (check a spec).
import { FlagError, parseServeFlags } from './server/flags.js';
import { PLUGIN_NAME, PLUGIN_VERSION } from './version.js';

const USAGE = `${PLUGIN_NAME} ${PLUGIN_VERSION}

Usage:
  ${PLUGIN_NAME} serve [--address HOST:PORT] [--network tcp|unix] [--log-level LEVEL] [--log-format json|text]
                  [--no-sentry] [--license FILE] [--otel-endpoint HOST:PORT] [--otel-endpoint-insecure]
  ${PLUGIN_NAME} preview (--spec FILE | --spec-inline JSON_OR_YAML) [--rows N]
  ${PLUGIN_NAME} version
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve': {
      const { serve } = await import('./server/serve.js');
      const server = await serve(parseServeFlags(rest));
      await new Promise<void>((resolve) => {
        const shutdown = () => {
          server.stop().then(resolve, resolve);
        };
        process.once('SIGTERM', shutdown);
        process.once('SIGINT', shutdown);
      });
      return 0;
    }
    case 'preview': {
      const { runPreview } = await import('./preview.js');
      return runPreview(rest);
    }
    case 'version':
    case '--version':
      process.stdout.write(`${PLUGIN_VERSION}\n`);
      return 0;
    case 'help':
    case '--help':
    case '-h':
    case undefined:
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const message = err instanceof FlagError ? `${err.message}\n\n${USAGE}` : err instanceof Error ? err.message : String(err);
    process.stderr.write(`${PLUGIN_NAME}: ${message}\n`);
    process.exit(err instanceof FlagError ? 2 : 1);
  },
);
