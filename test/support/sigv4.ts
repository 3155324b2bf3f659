// AWS Signature Version 4, the test suite's own, in the S3 flavour (the path is not encoded twice): to
// check which key signed a request and whether the signature holds (the STS stand-in), and to sign one
// (the anonymous gateway). https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html
import { createHash, createHmac } from 'node:crypto';

export const EMPTY_SHA256 = sha256Hex('');

export interface SignedAuthorization {
  accessKeyId: string;
  /** yyyymmdd of the credential scope. */
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

/** The parts of an `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...` header. */
export function parseAuthorization(header: string | undefined): SignedAuthorization | undefined {
  const m = /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$/.exec(header ?? '');
  if (!m) return undefined;
  const scope = m[1]!.split('/');
  if (scope.length < 5) return undefined;
  // The access key may itself contain '/' in theory; the scope is always the last four parts.
  const [date, region, service] = scope.slice(-4);
  return {
    accessKeyId: scope.slice(0, -4).join('/'),
    date: date!,
    region: region!,
    service: service!,
    signedHeaders: m[2]!.split(';'),
    signature: m[3]!,
  };
}

export interface RequestToSign {
  method: string;
  /** The path as sent (percent-encoded). */
  path: string;
  /** The raw query string without `?`. */
  query: string;
  /** The headers covered by the signature, by lower-case name. */
  headers: Record<string, string>;
  /** Hex SHA-256 of the body (or the x-amz-content-sha256 value). */
  payloadHash: string;
}

/** The signature of `request` with `secret`, at `amzDate` (yyyymmddThhmmssZ), in `region` for `service`. */
export function signature(request: RequestToSign, secret: string, amzDate: string, region: string, service: string): string {
  const names = Object.keys(request.headers)
    .map((n) => n.toLowerCase())
    .sort();
  const lower = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const canonical = [
    request.method.toUpperCase(),
    canonicalPath(request.path),
    canonicalQuery(request.query),
    names.map((n) => `${n}:${lower[n]!.trim().replace(/\s+/g, ' ')}\n`).join(''),
    names.join(';'),
    request.payloadHash,
  ].join('\n');
  const scope = `${amzDate.slice(0, 8)}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonical)].join('\n');
  let key: Buffer = hmac(`AWS4${secret}`, amzDate.slice(0, 8));
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
  return createHmac('sha256', key).update(toSign).digest('hex');
}

/** The Authorization header for `request` (whose headers must include x-amz-date). */
export function authorization(request: RequestToSign, accessKeyId: string, secret: string, region: string, service: string): string {
  const amzDate = request.headers['x-amz-date']!;
  const names = Object.keys(request.headers)
    .map((n) => n.toLowerCase())
    .sort();
  const sig = signature(request, secret, amzDate, region, service);
  return `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${amzDate.slice(0, 8)}/${region}/${service}/aws4_request, SignedHeaders=${names.join(';')}, Signature=${sig}`;
}

export function amzDate(date = new Date()): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** RFC 3986 encoding, AWS's: everything but unreserved characters. */
function encode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalPath(path: string): string {
  return path
    .split('/')
    .map((segment) => encode(decodeURIComponent(segment)))
    .join('/');
}

function canonicalQuery(query: string): string {
  if (!query) return '';
  return query
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.indexOf('=');
      const key = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
      const value = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1));
      return [encode(key), encode(value)] as const;
    })
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}
