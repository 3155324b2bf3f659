// Anonymous S3 reads in front of Swift. Swift's s3api serves only signed requests (an unsigned one is
// taken for a native Swift request, and `/bucket/key` is no Swift path: 412), while the public-read ACL
// an S3 client sets (PutBucketAcl public-read) becomes Swift's own `.r:*,.rlistings` container ACL.
// This gateway joins the two the way S3 treats an anonymous request: it asks Swift itself, without a
// token, whether the container may be listed or the object read; if Swift says no, it answers as S3
// does (403 AccessDenied); if yes, it signs the request with the account's keys and forwards it to
// s3api, and the answer goes back unchanged. Signed requests pass through untouched.
//
// So whether an anonymous read succeeds is decided by Swift's real ACL, and what reaches the plugin
// is s3api's real answer. Loopback only; closes itself after LIFETIME_MS.
import http from 'node:http';
import { serveOnLoopback } from './loopback-http.js';
import { amzDate, authorization, EMPTY_SHA256 } from './sigv4.js';

export interface AnonymousGatewayOptions {
  /** The Swift proxy (s3api and the native API on one port). */
  target: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** The Swift account the S3 keys map to (tempauth: AUTH_<account>). */
  swiftAccount: string;
}

export interface AnonymousGateway {
  endpoint: string;
  /** Unsigned requests Swift refused. */
  refused: number;
  stop(): Promise<void>;
}

const LIFETIME_MS = 10 * 60_000;
/** Not forwarded: hop-by-hop, and the client's host (the request is signed for the target's). */
const DROPPED = new Set(['connection', 'keep-alive', 'host', 'transfer-encoding', 'authorization']);

export async function startAnonymousGateway(options: AnonymousGatewayOptions): Promise<AnonymousGateway> {
  const target = new URL(options.target);
  if (target.hostname !== '127.0.0.1') throw new Error('startAnonymousGateway: loopback targets only');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const gateway: AnonymousGateway = { endpoint: '', refused: 0, stop: async () => {} };

  /** Swift's own word, asked without a token: may anyone read this container's listing, or this object? */
  const swiftAllows = async (bucket: string, key: string): Promise<boolean> => {
    const path = `/v1/${options.swiftAccount}/${bucket}${key ? `/${key}` : ''}`;
    const res = await fetch(`${options.target}${path}`, { method: 'HEAD' });
    // A missing object of a readable container: let s3api answer NoSuchKey.
    return res.ok || (res.status === 404 && key !== '');
  };

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, sign: boolean) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    let headers: http.OutgoingHttpHeaders;
    if (sign) {
      const toSign: Record<string, string> = { host: target.host, 'x-amz-date': amzDate(), 'x-amz-content-sha256': EMPTY_SHA256 };
      for (const [name, value] of Object.entries(req.headers)) {
        if (!DROPPED.has(name) && typeof value === 'string' && (name.startsWith('x-amz-') || name === 'range' || name === 'if-match')) {
          toSign[name] ??= value;
        }
      }
      const request = {
        method: req.method ?? 'GET',
        path: q < 0 ? url : url.slice(0, q),
        query: q < 0 ? '' : url.slice(q + 1),
        headers: toSign,
        payloadHash: EMPTY_SHA256,
      };
      headers = { ...toSign, authorization: authorization(request, options.accessKeyId, options.secretAccessKey, options.region, 's3') };
    } else {
      headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => name !== 'connection' && name !== 'keep-alive'));
    }
    const up = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: url, headers, agent, setHost: false },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  };

  const server = http.createServer((req, res) => {
    if (req.headers.authorization) {
      forward(req, res, false);
      return;
    }
    const [bucket = '', ...rest] = (req.url ?? '/').split('?')[0]!.slice(1).split('/');
    const key = decodeURIComponent(rest.join('/'));
    const query = (req.url ?? '').split('?')[1] ?? '';
    // Public read covers listing and reading, not writing nor a bucket's configuration (?location, ?acl).
    const readOnly = (req.method === 'GET' || req.method === 'HEAD') && (key !== '' || query === '' || /(^|&)list-type=2(&|$)/.test(query));
    const decide = readOnly ? swiftAllows(bucket, key) : Promise.resolve(false);
    decide.then(
      (allowed) => {
        if (allowed) return forward(req, res, true);
        gateway.refused++;
        req.resume();
        const body =
          req.method === 'HEAD'
            ? ''
            : '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>';
        res.writeHead(403, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
      },
      () => res.destroy(),
    );
  });
  Object.assign(gateway, await serveOnLoopback(server, LIFETIME_MS, () => agent.destroy()));
  return gateway;
}
