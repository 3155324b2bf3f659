// --otel-endpoint: traces and metrics go out over OTLP/HTTP to the collector the CLI names; without
// the flag nothing is exported.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { startPlugin } from './support/plugin-client.js';

interface Received {
  path: string;
  body: string;
}

async function collector() {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { endpoint: `127.0.0.1:${port}`, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('OpenTelemetry export', () => {
  it('sends sync and table spans and row counters to --otel-endpoint', async () => {
    const otel = await collector();
    const plugin = await startPlugin({ extraArgs: ['--otel-endpoint', otel.endpoint, '--otel-endpoint-insecure'] });
    try {
      await plugin.client.init({ local_path: 'examples/sample-data' });
      const result = await plugin.client.sync({ tables: ['*'] });
      assert.equal(result.rowCount(), 620);
    } finally {
      await plugin.stop(); // shutdown flushes the exporters
      await otel.close();
    }
    const traces = otel.received
      .filter((r) => r.path === '/v1/traces')
      .map((r) => r.body)
      .join('\n');
    const metrics = otel.received
      .filter((r) => r.path === '/v1/metrics')
      .map((r) => r.body)
      .join('\n');
    assert.match(traces, /"name":"sync"/);
    assert.match(traces, /"name":"sync table"/);
    assert.match(traces, /"cq\.table"/);
    assert.match(traces, /"cq-source-s3"/, 'the service name');
    assert.match(metrics, /"cq_source_s3\.rows"/);
    // Cumulative counters: the last export holds the totals, one data point per table.
    const last = otel.received.filter((r) => r.path === '/v1/metrics').at(-1)!;
    type Point = { asDouble?: number; asInt?: number | string };
    const rows = (
      JSON.parse(last.body) as { resourceMetrics: { scopeMetrics: { metrics: { name: string; sum?: { dataPoints: Point[] } }[] }[] }[] }
    ).resourceMetrics
      .flatMap((r) => r.scopeMetrics)
      .flatMap((s) => s.metrics)
      .filter((m) => m.name === 'cq_source_s3.rows')
      .flatMap((m) => m.sum?.dataPoints ?? [])
      .reduce((n, p) => n + Number(p.asDouble ?? p.asInt ?? 0), 0);
    assert.equal(rows, 620);
  });

  it('exports nothing without the flag', async () => {
    const otel = await collector();
    const plugin = await startPlugin({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://${otel.endpoint}` } });
    try {
      await plugin.client.init({ local_path: 'examples/sample-data' });
      await plugin.client.sync({ tables: ['*'] });
    } finally {
      await plugin.stop();
      await otel.close();
    }
    assert.deepEqual(otel.received, []);
  });
});
