// Turns AWS SDK errors into messages a user can act on: which bucket, which endpoint, what to check.
// Messages never include credentials: only the error's code and S3's own message are echoed.
import { StoreError } from './types.js';

interface Context {
  bucket: string;
  region: string;
  endpoint: string;
  action: string;
}

interface AwsLikeError {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string> };
  cause?: unknown;
}

function errorName(err: AwsLikeError): string {
  return err.name ?? err.Code ?? err.code ?? '';
}

function status(err: AwsLikeError): number | undefined {
  return err.$metadata?.httpStatusCode;
}

/** Network-level failure codes, looked for on the error and its causes. */
function networkCode(err: unknown): string | undefined {
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

export function isObjectGone(err: unknown): boolean {
  const e = err as AwsLikeError;
  return errorName(e) === 'NoSuchKey' || (status(e) === 404 && errorName(e) !== 'NoSuchBucket');
}

export function isObjectChanged(err: unknown): boolean {
  const e = err as AwsLikeError;
  return errorName(e) === 'PreconditionFailed' || status(e) === 412;
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

export function describeS3Error(err: unknown, ctx: Context): StoreError {
  if (err instanceof StoreError) return err;
  const e = (err ?? {}) as AwsLikeError;
  const name = errorName(e);
  const code = status(e);
  const where = `bucket "${ctx.bucket}" at ${ctx.endpoint}`;
  const detail =
    e.message && e.message !== name && !/UnknownError/.test(e.message) ? ` (${name || code}: ${e.message})` : name ? ` (${name})` : '';

  if (name === 'NoSuchBucket' || (code === 404 && /bucket/i.test(e.message ?? ''))) {
    return new StoreError(`${ctx.action}: ${where} does not exist; check the bucket name, region and endpoint`, 'not_found');
  }
  if (
    name === 'PermanentRedirect' ||
    name === 'AuthorizationHeaderMalformed' ||
    name === 'IllegalLocationConstraintException' ||
    code === 301
  ) {
    const actual = e.$response?.headers?.['x-amz-bucket-region'];
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
    return new StoreError(
      `${ctx.action}: access denied to ${where}${detail}; check the credentials (access_key_id/secret_access_key, local_profile, ` +
        `or the AWS default chain) and that they allow s3:ListBucket and s3:GetObject on this bucket`,
      'access_denied',
    );
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
  return new StoreError(`${ctx.action}: S3 request to ${where} failed${detail || ` (${String((err as Error)?.message ?? err)})`}`, 'other');
}
