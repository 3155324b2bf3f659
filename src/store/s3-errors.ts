// Turns AWS SDK errors into messages a user can act on: which bucket, which endpoint, what to check.
// Messages never include credentials: only the error's code and S3's own message are echoed.
import { StoreError } from './types.js';

interface Context {
  bucket: string;
  region: string;
  endpoint: string;
  action: string;
  /** Unsigned requests (anonymous: true): a refusal means the bucket is not public. */
  anonymous?: boolean;
  /** The role the requests are signed as, named in the access-denied hint. */
  roleArn?: string;
  /** Whether GETs carry an SSE-C key (never its value). */
  sseCustomerKey?: boolean;
}

interface AwsLikeError {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  /** The bucket's region, in the body of an AuthorizationHeaderMalformed answer. */
  Region?: string;
  $metadata?: { httpStatusCode?: number; clockSkewCorrected?: boolean };
  $response?: { headers?: Record<string, string> };
  $retryable?: { throttling?: boolean };
  cause?: unknown;
}

function errorName(err: AwsLikeError): string {
  return err.name ?? err.Code ?? err.code ?? '';
}

/**
 * The error's name when it says something: the SDK names an error answer without a body (a HEAD, a
 * proxy's bare 403) "Unknown", and a plain Error is just "Error".
 */
function meaningfulName(err: AwsLikeError): string {
  const name = errorName(err);
  return name === 'Unknown' || name === 'UnknownError' || name === 'Error' ? '' : name;
}

function status(err: AwsLikeError): number | undefined {
  return err.$metadata?.httpStatusCode;
}

/** Network-level failure codes, looked for on the error and its causes. */
export function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: string }).code;
    if (code && /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE|TimeoutError)$/.test(code)) {
      return code;
    }
    const name = (e as { name?: string }).name;
    if (name === 'TimeoutError') return name;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * The bucket's region as an error answer names it: the x-amz-bucket-region header (AWS sends it on
 * redirects and refusals), or the <Region> of an AuthorizationHeaderMalformed body.
 */
export function bucketRegionOf(err: unknown): string | undefined {
  const e = (err ?? {}) as AwsLikeError;
  return e.$response?.headers?.['x-amz-bucket-region'] || e.Region || undefined;
}

/** An answer saying the request was signed for the wrong region (whether or not it names the right one). */
export function isWrongRegion(err: unknown): boolean {
  const e = (err ?? {}) as AwsLikeError;
  const name = errorName(e);
  if (name === 'PermanentRedirect' || name === 'IllegalLocationConstraintException' || status(e) === 301) return true;
  // Malformed for another reason (a broken header) when no region is named.
  return (name === 'AuthorizationHeaderMalformed' || status(e) === 400) && bucketRegionOf(e) !== undefined;
}

export function isObjectGone(err: unknown): boolean {
  const e = err as AwsLikeError;
  return errorName(e) === 'NoSuchKey' || (status(e) === 404 && errorName(e) !== 'NoSuchBucket');
}

export function isObjectChanged(err: unknown): boolean {
  const e = err as AwsLikeError;
  return errorName(e) === 'PreconditionFailed' || status(e) === 412;
}

// The SDK's standard retry strategy's classes of retryable errors (throttling, transient), which
// readRange applies itself to its ranged GETs.
const THROTTLING_NAMES = new Set([
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
]);
const TRANSIENT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const TRANSIENT_STATUS = new Set([500, 502, 503, 504]);
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** Throttling (429, SlowDown, ...): retried after a longer backoff. */
export function isThrottling(err: unknown): boolean {
  const e = (err ?? {}) as AwsLikeError;
  return status(e) === 429 || THROTTLING_NAMES.has(e.name ?? '') || e.$retryable?.throttling === true;
}

/**
 * Whether a failed request is worth repeating: throttling, 5xx answers, network errors and timeouts,
 * an error the SDK marks retryable, or one answered with a clock skew the signer has just corrected.
 * Never an abort, and never an answer about the request itself (403, 404, 412, ...).
 */
export function isRetryable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as AwsLikeError;
  if (e.name === 'AbortError') return false;
  if (isThrottling(e) || e.$retryable !== undefined || e.$metadata?.clockSkewCorrected) return true;
  for (let c: unknown = err, depth = 0; c && typeof c === 'object' && depth < 5; depth++) {
    const ce = c as AwsLikeError;
    if (ce.name === 'AbortError') return false;
    if (TRANSIENT_NAMES.has(ce.name ?? '') || TRANSIENT_NETWORK_CODES.has(ce.code ?? '')) return true;
    if (TRANSIENT_STATUS.has(status(ce) ?? 0)) return true;
    c = ce.cause;
  }
  return false;
}

/**
 * Text of someone else's making (an error message) made safe to show: user:password in URLs and the
 * signature, credential and token parameters of a signed request are masked.
 */
export function scrubSecrets(text: string): string {
  return text
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*@/gi, '$1')
    .replace(/\b(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s"'<>]*/gi, '$1***')
    .replace(/(^|[\s,])((?:Credential|Signature)=)[^,\s"'<>]*/g, '$1$2***');
}

/** Removes user:password from a URL before it appears in a message. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username || parsed.password) {
      parsed.username = '';
      parsed.password = '';
    }
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

export function describeS3Error(err: unknown, context: Context): StoreError {
  if (err instanceof StoreError) return err;
  // The endpoint is shown in every message: never with the user:password a URL may carry.
  const ctx = { ...context, endpoint: redactUrl(context.endpoint) };
  const e = (err ?? {}) as AwsLikeError;
  const name = errorName(e);
  const code = status(e);
  const where = `bucket "${ctx.bucket}" at ${ctx.endpoint}`;
  // What S3 said, for the user: the error's name (or the HTTP status) and S3's own message.
  const label = meaningfulName(e) || (code ? `HTTP ${code}` : '');
  const text = typeof e.message === 'string' && e.message !== name && e.message !== 'UnknownError' ? scrubSecrets(e.message) : '';
  const detail = text ? ` (${label ? `${label}: ` : ''}${text})` : label ? ` (${label})` : '';

  if (name === 'NoSuchBucket' || (code === 404 && /bucket/i.test(e.message ?? ''))) {
    return new StoreError(`${ctx.action}: ${where} does not exist; check the bucket name, region and endpoint`, 'not_found');
  }
  if (
    name === 'PermanentRedirect' ||
    name === 'AuthorizationHeaderMalformed' ||
    name === 'IllegalLocationConstraintException' ||
    code === 301
  ) {
    const actual = bucketRegionOf(e);
    const hint = actual
      ? `; the bucket is in region "${actual}": set region: ${actual}`
      : '; set region to the region the bucket was created in';
    return new StoreError(`${ctx.action}: ${where} is not in region "${ctx.region}"${hint}`, 'wrong_region');
  }
  if (
    name === 'AccessDenied' ||
    name === 'InvalidAccessKeyId' ||
    name === 'SignatureDoesNotMatch' ||
    name === 'ExpiredToken' ||
    name === 'InvalidToken' ||
    code === 403 ||
    code === 401
  ) {
    return accessDenied(ctx, where, detail);
  }
  if (name === 'CredentialsProviderError' || (/Could not load credentials|credential/i.test(e.message ?? '') && !code)) {
    return new StoreError(
      `${ctx.action}: no AWS credentials found for ${where}: set access_key_id/secret_access_key in the spec, ` +
        `local_profile, or the AWS environment variables (a plugin run by docker gets no host environment)`,
      'credentials',
    );
  }
  const net = networkCode(err);
  if (net) {
    return new StoreError(
      `${ctx.action}: cannot reach ${ctx.endpoint} for bucket "${ctx.bucket}" (${net}); check endpoint, network and proxy settings`,
      'unreachable',
    );
  }
  return new StoreError(
    `${ctx.action}: S3 request to ${where} failed${detail || (typeof err === 'string' && err ? ` (${scrubSecrets(err)})` : '')}` +
      sseHint(name, e.message, ctx),
    'other',
  );
}

function accessDenied(ctx: Context, where: string, detail: string): StoreError {
  // An unsigned request can only be refused for one reason: the bucket does not allow public reads.
  if (ctx.anonymous) {
    return new StoreError(
      `${ctx.action}: ${where} refused anonymous access${detail}: the bucket is not public (anonymous: true sends unsigned ` +
        `requests); give credentials instead, or have the bucket's owner allow public s3:ListBucket and s3:GetObject`,
      'access_denied',
    );
  }
  const who = ctx.roleArn
    ? `check that role ${ctx.roleArn} (assumed with STS) is allowed s3:ListBucket and s3:GetObject on this bucket`
    : 'check the credentials (access_key_id/secret_access_key, local_profile, or the AWS default chain) and that they allow ' +
      's3:ListBucket and s3:GetObject on this bucket';
  // S3 answers a GET with the wrong SSE-C key with 403 as well.
  const key =
    ctx.sseCustomerKey && ctx.action.startsWith('reading ') ? ', and that sse_customer_key is the key the object was written with' : '';
  return new StoreError(`${ctx.action}: access denied to ${where}${detail}; ${who}${key}`, 'access_denied');
}

/** What to do when S3 says the SSE-C parameters do not fit the object (it is encrypted with a key, or it is not). */
function sseHint(name: string, message: string | undefined, ctx: Context): string {
  if (name !== 'InvalidRequest' || !/encrypt|server side/i.test(message ?? '')) return '';
  return ctx.sseCustomerKey
    ? '; sse_customer_key is sent with every GET, and this object is not encrypted with a customer-provided key (SSE-C)'
    : '; the object is encrypted with a customer-provided key (SSE-C): set sse_customer_key';
}
