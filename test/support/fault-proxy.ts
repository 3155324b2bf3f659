// A fault-injecting HTTP reverse proxy of the test suite's own, put between the plugin and the S3
// test server (Swift s3api) and driven per test: answer 503 SlowDown / 500 InternalError, reset a
// connection after N body bytes, truncate a body, delay, drop a request, or become unreachable. It
// records every request, headers included (what a request was signed with, which S3 parameters it sent).
//
// Requests are forwarded unmodified: same method, path, query and raw headers, including Host. SigV4
// signs the Host header, and Swift's s3api checks the signature against the Host it receives, so the
// client must sign for the proxy's address; it does, because its endpoint IS the proxy.
//
// Bounded: loopback only (listens on 127.0.0.1, forwards only to a loopback target), at most
// MAX_CONNECTIONS client connections and MAX_UPSTREAM_SOCKETS upstream sockets, a request log of at
// most MAX_LOG entries, and it closes itself LIFETIME_MS after it started (its sockets are unref'd, so it
// never keeps a test process alive either).
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What a rule's predicate sees of a request. */
export interface ProxyRequestInfo {
  method: string;
  /** Path without the query, e.g. `/bucket/key.parquet`. */
  path: string;
  /** Raw query string without `?` ('' when none), e.g. `list-type=2&prefix=a%2F`. */
  query: string;
  /** The Range header, when the request has one. */
  range?: string;
  headers: IncomingHttpHeaders;
}

/**
 * Which requests a rule applies to. Object form: every given field must match (a string is an exact
 * match, a RegExp is tested; `range: true/false` means "has / has no Range header"). Or any predicate.
 */
export type RequestMatch =
  | {
      method?: string | RegExp;
      path?: string | RegExp;
      query?: string | RegExp;
      range?: boolean | string | RegExp;
    }
  | ((request: ProxyRequestInfo) => boolean);

export type FaultAction =
  /** Answer without forwarding, with an S3 XML error body. Defaults: 503 SlowDown. */
  | { action: 'error'; status?: number; code?: string; message?: string }
  /** Forward, send the response headers and `afterBytes` body bytes (default 0), then reset the TCP connection. */
  | { action: 'reset'; afterBytes?: number }
  /**
   * Forward, send the response headers and `bytes` body bytes (default: half the body), then end.
   * `declared: 'original'` (default) keeps the upstream Content-Length and closes the connection after the
   * short body: a response cut off in transit. `declared: 'sent'` rewrites Content-Length to what is sent
   * and ends the response normally: a well-formed response that is shorter than the range asked for.
   */
  | { action: 'truncate'; bytes?: number; declared?: 'original' | 'sent' }
  /** Wait `ms` before forwarding the request (the request is logged when it arrives). */
  | { action: 'delay'; ms: number }
  /** Close the client connection (TCP reset) as soon as the request arrives; no response at all. */
  | { action: 'drop' }
  /**
   * Become unreachable: stop listening (new connections get ECONNREFUSED) and close every open connection.
   * Without `match` at once, when the rule is set; with `match` when the first matching request arrives
   * (that request is dropped). Stays unreachable until the next setRule call.
   */
  | { action: 'refuse' };

export type FaultRule = FaultAction & {
  match?: RequestMatch;
  /** Apply to the first `times` matching requests only (default: every matching request). */
  times?: number;
  /** Apply to each matching request with this probability, from a PRNG seeded with `seed` (default 1). */
  probability?: number;
  seed?: number;
};

export interface ProxiedRequest {
  method: string;
  /** Path and query as the client sent them. */
  url: string;
  range?: string;
  /** Status sent to the client; 0 while none was sent, or when the connection was dropped before one. */
  status: number;
  /** The fault applied to this request, if any. */
  fault?: FaultAction['action'];
  /** Date.now() when the request arrived. */
  time: number;
  /** Date.now() when the exchange ended (response finished, or either side closed). */
  endedAt?: number;
  /** True when the client went away before the response was complete (not when the proxy cut it). */
  aborted?: boolean;
  /** Response body bytes sent to the client. */
  bytes: number;
  /** The request's headers as received (lower-case names), e.g. to see how it was signed. */
  headers: IncomingHttpHeaders;
}

export interface FaultProxy {
  /** `http://127.0.0.1:PORT`: give this to the plugin as its S3 endpoint. */
  endpoint: string;
  /** Replaces the active rules (first matching rule with budget left wins); undefined clears them. */
  setRule(rule: FaultRule | FaultRule[] | undefined): Promise<void>;
  /** Every request seen, in arrival order (at most MAX_LOG; clear it with `requests.length = 0`). */
  requests: ProxiedRequest[];
  /** Requests whose exchange has not ended yet. */
  inFlight(): number;
  stop(): Promise<void>;
}

const MAX_CONNECTIONS = 512;
const MAX_UPSTREAM_SOCKETS = 128;
const MAX_LOG = 100_000;
const LIFETIME_MS = 10 * 60_000;
/** Between flushing the last bytes and the TCP reset, so the client has read the headers first. */
const RESET_AFTER_FLUSH_MS = 30;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

interface ActiveRule {
  rule: FaultRule;
  left: number;
  random: () => number;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  if (upstream.protocol !== 'http:' || !LOOPBACK.has(upstream.hostname)) {
    throw new Error(`startFaultProxy: target must be an http:// loopback URL, got ${target}`);
  }
  const upstreamHost = upstream.hostname.replace(/^\[|\]$/g, '');
  const upstreamPort = Number(upstream.port || 80);
  const agent = new http.Agent({ keepAlive: true, maxSockets: MAX_UPSTREAM_SOCKETS });

  const requests: ProxiedRequest[] = [];
  /** Exchanges this proxy cut itself (drop, refuse, reset, truncation): their close is no client abort. */
  const cutByProxy = new WeakSet<ProxiedRequest>();
  const sockets = new Set<Socket>();
  let rules: ActiveRule[] = [];
  let open = 0;
  let stopped = false;
  let port = 0;
  let server: http.Server | undefined;
  let unreachable = false;

  const log = (entry: ProxiedRequest) => {
    if (requests.length >= MAX_LOG) requests.splice(0, requests.length - MAX_LOG + 1);
    requests.push(entry);
  };

  const pick = (info: ProxyRequestInfo): FaultRule | undefined => {
    for (const active of rules) {
      if (active.left <= 0 || !matches(active.rule.match, info)) continue;
      if (active.rule.probability !== undefined && active.random() >= active.rule.probability) continue;
      active.left--;
      return active.rule;
    }
    return undefined;
  };

  const closeAll = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = http.createServer({ keepAliveTimeout: 5_000, headersTimeout: 30_000, requestTimeout: 120_000 }, handle);
      s.maxConnections = MAX_CONNECTIONS;
      s.on('connection', (socket: Socket) => {
        if (unreachable) {
          socket.destroy();
          return;
        }
        socket.unref();
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        // A client reset must not crash the proxy.
        socket.on('error', () => {});
      });
      s.once('error', reject);
      s.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
        s.removeListener('error', reject);
        s.on('error', () => {});
        s.unref();
        port = (s.address() as AddressInfo).port;
        server = s;
        resolve();
      });
    });

  const unlisten = () => {
    const s = server;
    server = undefined;
    s?.close();
    closeAll();
  };

  function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const range = typeof req.headers.range === 'string' ? req.headers.range : undefined;
    const info: ProxyRequestInfo = {
      method: req.method ?? 'GET',
      path: q < 0 ? url : url.slice(0, q),
      query: q < 0 ? '' : url.slice(q + 1),
      range,
      headers: req.headers,
    };
    const entry: ProxiedRequest = { method: info.method, url, status: 0, time: Date.now(), bytes: 0, headers: req.headers };
    if (range !== undefined) entry.range = range;
    log(entry);
    open++;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      open--;
      entry.endedAt = Date.now();
    };
    res.on('close', () => {
      if (!res.writableFinished && !cutByProxy.has(entry)) entry.aborted = true;
      end();
    });

    const rule = unreachable ? ({ action: 'drop' } as FaultRule) : pick(info);
    if (rule) entry.fault = rule.action;
    switch (rule?.action) {
      case 'refuse':
        cutByProxy.add(entry);
        unreachable = true;
        unlisten();
        return;
      case 'drop':
        cutByProxy.add(entry);
        req.socket.resetAndDestroy();
        return;
      case 'error': {
        req.resume();
        const status = rule.status ?? 503;
        const code = rule.code ?? (status === 503 ? 'SlowDown' : status === 500 ? 'InternalError' : 'ServiceUnavailable');
        const message =
          rule.message ??
          (code === 'SlowDown' ? 'Please reduce your request rate.' : 'We encountered an internal error. Please try again.');
        const requestId = `faultproxy${requests.length}`;
        const body =
          info.method === 'HEAD'
            ? ''
            : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>` +
              `<Resource>${escapeXml(info.path)}</Resource><RequestId>${requestId}</RequestId></Error>`;
        entry.status = status;
        entry.bytes = Buffer.byteLength(body);
        res.writeHead(status, {
          'Content-Type': 'application/xml',
          'Content-Length': Buffer.byteLength(body),
          'x-amz-request-id': requestId,
        });
        res.end(body);
        return;
      }
      case 'delay': {
        const timer = setTimeout(() => {
          if (!res.destroyed) forward(req, res, entry, undefined);
        }, rule.ms);
        timer.unref();
        res.once('close', () => clearTimeout(timer));
        return;
      }
      default:
        forward(req, res, entry, rule);
    }
  }

  function forward(req: http.IncomingMessage, res: http.ServerResponse, entry: ProxiedRequest, rule: FaultRule | undefined): void {
    const up = http.request({
      host: upstreamHost,
      port: upstreamPort,
      method: req.method,
      path: req.url,
      // The raw headers exactly as received, Host included: the signature covers them.
      headers: req.rawHeaders,
      setHost: false,
      agent,
    });
    // The client went away, or a fault cut the response: abandon the upstream exchange too.
    res.once('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    up.on('error', () => {
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      // The real server is gone: answer as a gateway would.
      entry.status = 502;
      res.writeHead(502, { 'Content-Length': 0 });
      res.end();
    });
    req.pipe(up);

    up.on('response', (upRes) => {
      upRes.on('error', () => res.destroy());
      const status = upRes.statusCode ?? 502;
      entry.status = status;
      const headers = withoutHopByHop(upRes.rawHeaders);
      const limit = rule?.action === 'reset' ? (rule.afterBytes ?? 0) : rule?.action === 'truncate' ? rule.bytes : undefined;
      const hasBody = req.method !== 'HEAD' && status !== 204 && status !== 304;
      if (!rule || !hasBody || (rule.action !== 'reset' && rule.action !== 'truncate')) {
        if (rule) delete entry.fault; // a fault that needs a body does not apply to this response
        res.writeHead(status, upRes.statusMessage, headers);
        upRes.on('data', (chunk: Buffer) => (entry.bytes += chunk.byteLength));
        upRes.pipe(res);
        return;
      }
      const declared = Number(headerValue(headers, 'content-length') ?? NaN);
      // Cut at `limit`, or half the body for a truncation without a size.
      const cut = Math.max(0, limit ?? (Number.isFinite(declared) ? Math.floor(declared / 2) : 0));
      if (rule.action === 'truncate' && rule.declared === 'sent')
        setHeader(headers, 'Content-Length', String(Math.min(cut, Number.isFinite(declared) ? declared : cut)));
      res.writeHead(status, upRes.statusMessage, headers);

      let sent = 0;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        upRes.destroy();
        if (rule.action === 'reset' || rule.declared !== 'sent') cutByProxy.add(entry);
        const socket = res.socket;
        if (rule.action === 'reset') {
          const timer = setTimeout(() => socket?.resetAndDestroy(), RESET_AFTER_FLUSH_MS);
          timer.unref();
        } else if (rule.declared === 'sent') {
          res.end();
        } else {
          // Close after what was written: the client sees the body end early.
          socket?.end();
        }
      };
      const write = (chunk: Buffer) => {
        entry.bytes += chunk.byteLength;
        return new Promise<void>((resolve) => res.write(chunk, () => resolve()));
      };
      if (cut === 0) {
        res.flushHeaders();
        // Let the headers leave before the connection goes.
        setImmediate(finish);
        return;
      }
      upRes.on('data', (chunk: Buffer) => {
        if (done) return;
        const room = cut - sent;
        const part = chunk.byteLength <= room ? chunk : chunk.subarray(0, room);
        sent += part.byteLength;
        if (sent >= cut) {
          upRes.pause();
          void write(part).then(finish);
        } else {
          void write(part);
        }
      });
      // The body was shorter than the cut: nothing to inject, pass the end through. (When the cut was
      // reached, 'end' can still come, before the cut's write has flushed: finish() handles that.)
      upRes.on('end', () => {
        if (done || sent >= cut) return;
        done = true;
        delete entry.fault;
        res.end();
      });
    });
  }

  await listen();
  const endpoint = `http://127.0.0.1:${port}`;

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(lifetime);
    rules = [];
    const s = server;
    server = undefined;
    closeAll();
    agent.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  const lifetime = setTimeout(() => void stop(), LIFETIME_MS);
  lifetime.unref();

  return {
    endpoint,
    requests,
    inFlight: () => open,
    async setRule(rule) {
      if (stopped) throw new Error('fault proxy stopped');
      const list = rule === undefined ? [] : Array.isArray(rule) ? rule : [rule];
      rules = list.map((r) => ({ rule: r, left: r.times ?? Infinity, random: mulberry32(r.seed ?? 1) }));
      // An unconditional refusal takes effect now; any other rule set ends a refusal.
      const refuseNow = list.some((r) => r.action === 'refuse' && r.match === undefined);
      if (refuseNow) {
        unreachable = true;
        unlisten();
      } else if (unreachable || !server) {
        unreachable = false;
        if (!server) await listen();
      }
    },
    stop,
  };
}

function matches(match: RequestMatch | undefined, info: ProxyRequestInfo): boolean {
  if (match === undefined) return true;
  if (typeof match === 'function') return match(info);
  const test = (want: string | RegExp | undefined, value: string) =>
    want === undefined || (typeof want === 'string' ? want === value : want.test(value));
  if (!test(match.method, info.method) || !test(match.path, info.path) || !test(match.query, info.query)) return false;
  if (match.range === undefined) return true;
  if (typeof match.range === 'boolean') return match.range === (info.range !== undefined);
  return info.range !== undefined && test(match.range, info.range);
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection']);

/** Raw response headers without hop-by-hop ones: this proxy manages its own client connections. */
function withoutHopByHop(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (!HOP_BY_HOP.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

function headerValue(raw: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) return raw[i + 1];
  return undefined;
}

function setHeader(raw: string[], name: string, value: string): void {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === name.toLowerCase()) {
      raw[i + 1] = value;
      return;
    }
  }
  raw.push(name, value);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A small seeded PRNG: the same seed gives the same fault pattern on every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
