// OpenTelemetry export, only when the CLI passes --otel-endpoint: a span per sync and per table,
// and counters of rows, bytes read and errors, sent over OTLP/HTTP. The SDK is loaded on demand (a
// separate chunk of the bundle), so a plugin started without the flag neither loads nor pays for it.
import type { Logger } from './log.js';

export interface TelemetrySpan {
  setAttributes(attributes: Record<string, string | number | boolean>): void;
  end(error?: unknown): void;
}

export interface Telemetry {
  span(name: string, attributes?: Record<string, string | number | boolean>, parent?: TelemetrySpan): TelemetrySpan;
  add(counter: 'rows' | 'bytes_read' | 'errors', value: number, attributes?: Record<string, string>): void;
  shutdown(): Promise<void>;
}

const noopSpan: TelemetrySpan = { setAttributes: () => {}, end: () => {} };

export const noTelemetry: Telemetry = {
  span: () => noopSpan,
  add: () => {},
  shutdown: async () => {},
};

/** `localhost:4318` (as the CLI passes it) or a full URL, to the OTLP/HTTP base URL. */
export function otlpBaseUrl(endpoint: string, insecure: boolean): string {
  const base = /^https?:\/\//.test(endpoint) ? endpoint : `${insecure ? 'http' : 'https'}://${endpoint}`;
  return base.replace(/\/+$/, '');
}

type OtelApi = typeof import('@opentelemetry/api');

/** Spans as TelemetrySpan handles; a handle given as `parent` makes the new span its child. */
function spanFactory(api: OtelApi, tracer: import('@opentelemetry/api').Tracer): Telemetry['span'] {
  const spans = new WeakMap<TelemetrySpan, import('@opentelemetry/api').Span>();
  return (name, attributes, parent) => {
    const parentSpan = parent && spans.get(parent);
    const context = parentSpan ? api.trace.setSpan(api.context.active(), parentSpan) : undefined;
    const span = tracer.startSpan(name, { attributes }, context);
    const handle: TelemetrySpan = {
      setAttributes: (a) => span.setAttributes(a),
      end: (error) => {
        if (error) {
          span.recordException(error instanceof Error ? error : String(error));
          span.setStatus({ code: api.SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
        }
        span.end();
      },
    };
    spans.set(handle, span);
    return handle;
  };
}

/** A dynamically imported CommonJS package arrives as `{ default: exports }` once bundled. */
function commonJs<T extends object>(module: T): T {
  const inner = (module as { default?: unknown }).default;
  return inner && typeof inner === 'object' ? ({ ...(inner as object), ...module } as T) : module;
}

export async function startTelemetry(
  options: { endpoint: string; insecure: boolean; serviceName: string; version: string },
  logger: Logger,
): Promise<Telemetry> {
  const [api, traceBase, traceExporter, metrics, metricsExporter, resources] = await Promise.all([
    import('@opentelemetry/api').then(commonJs),
    import('@opentelemetry/sdk-trace-base').then(commonJs),
    import('@opentelemetry/exporter-trace-otlp-http').then(commonJs),
    import('@opentelemetry/sdk-metrics').then(commonJs),
    import('@opentelemetry/exporter-metrics-otlp-http').then(commonJs),
    import('@opentelemetry/resources').then(commonJs),
  ]);
  const base = otlpBaseUrl(options.endpoint, options.insecure);
  const resource = resources.resourceFromAttributes({ 'service.name': options.serviceName, 'service.version': options.version });

  const tracerProvider = new traceBase.BasicTracerProvider({
    resource,
    spanProcessors: [
      new traceBase.BatchSpanProcessor(new traceExporter.OTLPTraceExporter({ url: `${base}/v1/traces` }), { scheduledDelayMillis: 1000 }),
    ],
  });
  const meterProvider = new metrics.MeterProvider({
    resource,
    readers: [
      new metrics.PeriodicExportingMetricReader({
        exporter: new metricsExporter.OTLPMetricExporter({ url: `${base}/v1/metrics` }),
        exportIntervalMillis: 10_000,
      }),
    ],
  });
  const tracer = tracerProvider.getTracer(options.serviceName, options.version);
  const meter = meterProvider.getMeter(options.serviceName, options.version);
  const counters = {
    rows: meter.createCounter('cq_source_s3.rows', { description: 'Rows sent to the destination' }),
    bytes_read: meter.createCounter('cq_source_s3.bytes_read', { unit: 'By', description: 'Object bytes read' }),
    errors: meter.createCounter('cq_source_s3.errors', { description: 'Objects skipped or failed' }),
  };
  logger.info('exporting OpenTelemetry traces and metrics', { otel_endpoint: base });

  return {
    span: spanFactory(api, tracer),
    add(counter, value, attributes) {
      counters[counter].add(value, attributes);
    },
    async shutdown() {
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}
