import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bindAddress, FlagError, parseServeFlags } from '../../src/server/flags.js';

describe('serve flags', () => {
  it('accepts everything the CloudQuery CLI passes', () => {
    const flags = parseServeFlags([
      '--log-level',
      'debug',
      '--log-format',
      'json',
      '--network',
      'tcp',
      '--address',
      '0.0.0.0:7777',
      '--no-sentry',
      '--license',
      '/tmp/license',
      '--otel-endpoint',
      'localhost:4318',
      '--otel-endpoint-insecure',
    ]);
    assert.deepEqual(flags, {
      address: '0.0.0.0:7777',
      network: 'tcp',
      logLevel: 'debug',
      logFormat: 'json',
      noSentry: true,
      license: '/tmp/license',
      otelEndpoint: 'localhost:4318',
      otelEndpointInsecure: true,
      unknown: [],
    });
    assert.equal(bindAddress(flags), '0.0.0.0:7777');
  });

  it('defaults to localhost:7777 and text logs, and takes --flag=value', () => {
    const flags = parseServeFlags(['--address=[::]:7777']);
    assert.equal(flags.address, '[::]:7777');
    assert.equal(parseServeFlags([]).address, 'localhost:7777');
    assert.equal(parseServeFlags([]).logFormat, 'text');
  });

  it('serves a unix socket with --network unix', () => {
    assert.equal(bindAddress(parseServeFlags(['--network', 'unix', '--address', '/tmp/p.sock'])), 'unix:/tmp/p.sock');
  });

  it('rejects bad values and keeps unknown flags for a warning', () => {
    assert.throws(() => parseServeFlags(['--log-format', 'xml']), FlagError);
    assert.throws(() => parseServeFlags(['--log-level']), FlagError);
    assert.throws(() => parseServeFlags(['stray']), FlagError);
    assert.deepEqual(parseServeFlags(['--future-flag']).unknown, ['--future-flag']);
    const withValue = parseServeFlags(['--future-flag', 'v', '--log-format', 'json']);
    assert.deepEqual(withValue.unknown, ['--future-flag']);
    assert.equal(withValue.logFormat, 'json');
  });
});
