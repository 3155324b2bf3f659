// describeS3Error and the other helpers of src/store/s3-errors.ts, on errors shaped as the AWS SDK v3
// shapes them: an S3ServiceException (or a modeled subclass such as NoSuchBucket) named after the
// <Code> of S3's XML answer, with $metadata.httpStatusCode, $fault, the XML's other elements copied
// onto it and the raw response in a non-enumerable $response; network failures as Node and the
// SDK's node-http-handler raise them. The last group checks those hand-built shapes against the
// errors the real S3Client raises for the same answers from a canned loopback HTTP responder.
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command, NoSuchBucket, NoSuchKey, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import {
  describeS3Error,
  isObjectChanged,
  isObjectGone,
  isRetryable,
  isThrottling,
  redactUrl,
  scrubSecrets,
} from '../../src/store/s3-errors.js';
import { StoreError } from '../../src/store/types.js';

// Credentials that must never show up in a message.
const ACCESS_KEY_ID = 'AKIAUNITTESTEXAMPLE7';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYUNITTESTKEY';
const SESSION_TOKEN = 'FwoGZXIvYXdzEUNITTESTSESSIONTOKENxyz0123456789abcdefghij';
const ENDPOINT_PASSWORD = 'hunter2-endpoint-password';

const BUCKET = 'my-bucket';
const AWS_ENDPOINT = 'https://s3.eu-west-1.amazonaws.com';
const ctx = (action = 'listing the bucket', endpoint = AWS_ENDPOINT) => ({ bucket: BUCKET, region: 'eu-west-1', endpoint, action });

const WHERE = `bucket "${BUCKET}" at ${AWS_ENDPOINT}`;
const ACCESS_HINT =
  '; check the credentials (access_key_id/secret_access_key, local_profile, or the AWS default chain) ' +
  'and that they allow s3:ListBucket and s3:GetObject on this bucket';

// ---------- errors as the SDK builds them ----------

type ErrorXml = Record<string, string>;

/**
 * The error the SDK's REST-XML protocol throws for an error answer: `status`, the `<Error>` element's
 * children (Code, Message, RequestId, ...; none for an answer without a body) and response headers.
 */
function s3Error(status: number, xml: ErrorXml = {}, headers: Record<string, string> = {}): S3ServiceException {
  const code = xml.Code ?? (status === 404 ? 'NotFound' : 'Unknown');
  const $metadata = {
    httpStatusCode: status,
    requestId: xml.RequestId ?? headers['x-amz-request-id'],
    extendedRequestId: xml.HostId ?? headers['x-amz-id-2'],
    cfId: undefined,
    attempts: 1,
    totalRetryDelay: 0,
  };
  const $fault = status < 500 ? 'client' : 'server';
  const modeled: Record<string, new (opts: { $metadata: typeof $metadata; message: string }) => S3ServiceException> = {
    NoSuchBucket,
    NoSuchKey,
  };
  const Modeled = modeled[code];
  const error = Modeled
    ? new Modeled({ $metadata, message: xml.Message ?? 'UnknownError' })
    : new S3ServiceException({ name: code, $fault, $metadata });
  // The XML's elements are copied onto the exception; Message becomes `message`.
  const decorated = error as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(xml)) if (key !== 'Message' && decorated[key] === undefined) decorated[key] = value;
  error.message = xml.Message ?? error.message ?? 'UnknownError';
  if (!error.message) error.message = 'UnknownError';
  Object.defineProperty(error, '$response', {
    value: {
      statusCode: status,
      reason: http.STATUS_CODES[status],
      headers: { 'x-amz-request-id': '4442587FB7D0A2F9', ...headers },
      body: '',
    },
    enumerable: false,
  });
  return error;
}

/** A socket error as Node raises it (connect, getaddrinfo), with code, errno and syscall. */
function nodeError(message: string, fields: Record<string, unknown>): Error {
  return Object.assign(new Error(message), fields);
}

/** The default chain's last word when no provider has credentials. */
function credentialsProviderError(message = 'Could not load credentials from any providers'): Error {
  const error = Object.assign(new Error(message), { tryNextLink: false });
  error.name = 'CredentialsProviderError';
  return error;
}

// ---------- describeS3Error ----------

interface Case {
  what: string;
  error: () => unknown;
  action?: string;
  code: StoreError['code'];
  message: string;
}

const cases: Case[] = [
  {
    what: 'NoSuchBucket (404)',
    error: () =>
      s3Error(404, {
        Code: 'NoSuchBucket',
        Message: 'The specified bucket does not exist',
        BucketName: BUCKET,
        RequestId: 'R1',
        HostId: 'H1',
      }),
    code: 'not_found',
    message: `listing the bucket: ${WHERE} does not exist; check the bucket name, region and endpoint`,
  },
  {
    what: 'a 404 whose message speaks of the bucket (an S3-compatible store without the NoSuchBucket code)',
    error: () => s3Error(404, { Code: 'NotFound', Message: 'Bucket not found' }),
    code: 'not_found',
    message: `listing the bucket: ${WHERE} does not exist; check the bucket name, region and endpoint`,
  },
  {
    what: 'AccessDenied (403)',
    error: () => s3Error(403, { Code: 'AccessDenied', Message: 'Access Denied', RequestId: 'R2', HostId: 'H2' }),
    code: 'access_denied',
    message: `listing the bucket: access denied to ${WHERE} (AccessDenied: Access Denied)${ACCESS_HINT}`,
  },
  {
    what: 'a 403 without a body (no code, no message)',
    error: () => s3Error(403),
    code: 'access_denied',
    message: `listing the bucket: access denied to ${WHERE} (HTTP 403)${ACCESS_HINT}`,
  },
  {
    what: 'a 401 from an S3-compatible store',
    error: () => s3Error(401, { Code: 'Unauthorized', Message: 'Unauthorized' }),
    code: 'access_denied',
    // S3's message only repeats the code: it is not shown twice.
    message: `listing the bucket: access denied to ${WHERE} (Unauthorized)${ACCESS_HINT}`,
  },
  {
    what: 'SignatureDoesNotMatch (403), the answer carrying the key id, string to sign and signature',
    error: () =>
      s3Error(403, {
        Code: 'SignatureDoesNotMatch',
        Message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
        AWSAccessKeyId: ACCESS_KEY_ID,
        StringToSign: `AWS4-HMAC-SHA256\n20240101T000000Z\n20240101/eu-west-1/s3/aws4_request\n${SECRET}`,
        SignatureProvided: SECRET,
        CanonicalRequest: `GET\n/my-bucket\nX-Amz-Security-Token=${SESSION_TOKEN}`,
      }),
    code: 'access_denied',
    message:
      `listing the bucket: access denied to ${WHERE} (SignatureDoesNotMatch: The request signature we calculated does not match ` +
      `the signature you provided. Check your key and signing method.)${ACCESS_HINT}`,
  },
  {
    what: 'InvalidAccessKeyId (403)',
    error: () =>
      s3Error(403, {
        Code: 'InvalidAccessKeyId',
        Message: 'The AWS Access Key Id you provided does not exist in our records.',
        AWSAccessKeyId: ACCESS_KEY_ID,
      }),
    code: 'access_denied',
    message: `listing the bucket: access denied to ${WHERE} (InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records.)${ACCESS_HINT}`,
  },
  {
    what: 'ExpiredToken (400), the answer carrying the token',
    error: () => s3Error(400, { Code: 'ExpiredToken', Message: 'The provided token has expired.', 'Token-0': SESSION_TOKEN }),
    code: 'access_denied',
    message: `listing the bucket: access denied to ${WHERE} (ExpiredToken: The provided token has expired.)${ACCESS_HINT}`,
  },
  {
    what: 'InvalidToken (400)',
    error: () =>
      s3Error(400, { Code: 'InvalidToken', Message: 'The provided token is malformed or otherwise invalid.', 'Token-0': SESSION_TOKEN }),
    code: 'access_denied',
    message: `listing the bucket: access denied to ${WHERE} (InvalidToken: The provided token is malformed or otherwise invalid.)${ACCESS_HINT}`,
  },
  {
    what: 'PermanentRedirect (301) with the x-amz-bucket-region header',
    error: () =>
      s3Error(
        301,
        {
          Code: 'PermanentRedirect',
          Message: 'The bucket you are attempting to access must be addressed using the specified endpoint.',
          Endpoint: 'my-bucket.s3.us-west-2.amazonaws.com',
          Bucket: BUCKET,
        },
        { 'x-amz-bucket-region': 'us-west-2' },
      ),
    code: 'wrong_region',
    message: `listing the bucket: ${WHERE} is not in region "eu-west-1"; the bucket is in region "us-west-2": set region: us-west-2`,
  },
  {
    what: 'PermanentRedirect (301) without the region header',
    error: () => s3Error(301, { Code: 'PermanentRedirect', Message: 'The bucket you are attempting to access must be addressed ...' }),
    code: 'wrong_region',
    message: `listing the bucket: ${WHERE} is not in region "eu-west-1"; set region to the region the bucket was created in`,
  },
  {
    what: 'a bare 301 (no body)',
    error: () => s3Error(301),
    code: 'wrong_region',
    message: `listing the bucket: ${WHERE} is not in region "eu-west-1"; set region to the region the bucket was created in`,
  },
  {
    what: 'AuthorizationHeaderMalformed (400) naming the expected region in its body',
    error: () =>
      s3Error(400, {
        Code: 'AuthorizationHeaderMalformed',
        Message: "The authorization header is malformed; the region 'eu-west-1' is wrong; expecting 'ap-southeast-2'",
        Region: 'ap-southeast-2',
      }),
    code: 'wrong_region',
    message: `listing the bucket: ${WHERE} is not in region "eu-west-1"; the bucket is in region "ap-southeast-2": set region: ap-southeast-2`,
  },
  {
    what: 'IllegalLocationConstraintException (400) with the region header',
    error: () =>
      s3Error(
        400,
        { Code: 'IllegalLocationConstraintException', Message: 'The eu-west-1 location constraint is incompatible' },
        {
          'x-amz-bucket-region': 'eu-central-1',
        },
      ),
    code: 'wrong_region',
    message: `listing the bucket: ${WHERE} is not in region "eu-west-1"; the bucket is in region "eu-central-1": set region: eu-central-1`,
  },
  {
    what: 'ECONNREFUSED',
    error: () =>
      nodeError('connect ECONNREFUSED 127.0.0.1:9000', {
        code: 'ECONNREFUSED',
        errno: -111,
        syscall: 'connect',
        address: '127.0.0.1',
        port: 9000,
      }),
    code: 'unreachable',
    message: `listing the bucket: cannot reach ${AWS_ENDPOINT} for bucket "${BUCKET}" (ECONNREFUSED); check endpoint, network and proxy settings`,
  },
  {
    what: 'ECONNREFUSED from both addresses of a dual-stack host (an AggregateError)',
    error: () =>
      Object.assign(
        new AggregateError([
          nodeError('connect ECONNREFUSED ::1:9000', { code: 'ECONNREFUSED' }),
          nodeError('connect ECONNREFUSED 127.0.0.1:9000', { code: 'ECONNREFUSED' }),
        ]),
        { code: 'ECONNREFUSED' },
      ),
    code: 'unreachable',
    message: `listing the bucket: cannot reach ${AWS_ENDPOINT} for bucket "${BUCKET}" (ECONNREFUSED); check endpoint, network and proxy settings`,
  },
  {
    what: 'ENOTFOUND',
    error: () =>
      nodeError('getaddrinfo ENOTFOUND s3.nowhere.invalid', {
        code: 'ENOTFOUND',
        errno: -3008,
        syscall: 'getaddrinfo',
        hostname: 's3.nowhere.invalid',
      }),
    code: 'unreachable',
    message: `listing the bucket: cannot reach ${AWS_ENDPOINT} for bucket "${BUCKET}" (ENOTFOUND); check endpoint, network and proxy settings`,
  },
  {
    what: 'EAI_AGAIN (DNS not answering)',
    error: () => nodeError('getaddrinfo EAI_AGAIN s3.example.com', { code: 'EAI_AGAIN', syscall: 'getaddrinfo' }),
    code: 'unreachable',
    message: `listing the bucket: cannot reach ${AWS_ENDPOINT} for bucket "${BUCKET}" (EAI_AGAIN); check endpoint, network and proxy settings`,
  },
  {
    what: 'a connect timeout (node-http-handler: TimeoutError without a code)',
    error: () => {
      const error = new Error(
        '@smithy/node-http-handler - the request socket did not establish a connection with the server within the configured timeout of 10000 ms.',
      );
      error.name = 'TimeoutError';
      return error;
    },
    code: 'unreachable',
    message: `listing the bucket: cannot reach ${AWS_ENDPOINT} for bucket "${BUCKET}" (TimeoutError); check endpoint, network and proxy settings`,
  },
  {
    what: 'a request timeout (node-http-handler: TimeoutError with code ETIMEDOUT)',
    error: () => {
      const error = Object.assign(
        new Error('@smithy/node-http-handler - [ERROR] a request has exceeded the configured 60000 ms requestTimeout.'),
        {
          code: 'ETIMEDOUT',
        },
      );
      error.name = 'TimeoutError';
      return error;
    },
    code: 'unreachable',
    message: `listing the bucket: cannot reach ${AWS_ENDPOINT} for bucket "${BUCKET}" (ETIMEDOUT); check endpoint, network and proxy settings`,
  },
  {
    what: 'a connection reset (node-http-handler renames it TimeoutError, the code stays)',
    error: () => {
      const error = nodeError('read ECONNRESET', { code: 'ECONNRESET', errno: -104, syscall: 'read' });
      error.name = 'TimeoutError';
      return error;
    },
    code: 'unreachable',
    message: `listing the bucket: cannot reach ${AWS_ENDPOINT} for bucket "${BUCKET}" (ECONNRESET); check endpoint, network and proxy settings`,
  },
  {
    what: 'a network error wrapped as the cause of another',
    error: () => new Error('fetch failed', { cause: nodeError('connect EHOSTUNREACH 10.0.0.1:443', { code: 'EHOSTUNREACH' }) }),
    code: 'unreachable',
    message: `listing the bucket: cannot reach ${AWS_ENDPOINT} for bucket "${BUCKET}" (EHOSTUNREACH); check endpoint, network and proxy settings`,
  },
  {
    what: 'CredentialsProviderError from the default chain',
    error: () => credentialsProviderError(),
    code: 'credentials',
    message:
      `listing the bucket: no AWS credentials found for ${WHERE}: set access_key_id/secret_access_key in the spec, local_profile, ` +
      'or the AWS environment variables (a plugin run by docker gets no host environment)',
  },
  {
    what: 'CredentialsProviderError whose message carries a secret',
    error: () => credentialsProviderError(`credential_process returned {"SecretAccessKey":"${SECRET}","SessionToken":"${SESSION_TOKEN}"}`),
    code: 'credentials',
    message:
      `listing the bucket: no AWS credentials found for ${WHERE}: set access_key_id/secret_access_key in the spec, local_profile, ` +
      'or the AWS environment variables (a plugin run by docker gets no host environment)',
  },
  {
    what: 'another error about credentials, without an HTTP status',
    error: () => new Error('Resolved credential object is not valid'),
    code: 'credentials',
    message:
      `listing the bucket: no AWS credentials found for ${WHERE}: set access_key_id/secret_access_key in the spec, local_profile, ` +
      'or the AWS environment variables (a plugin run by docker gets no host environment)',
  },
  {
    what: 'InternalError (500)',
    error: () => s3Error(500, { Code: 'InternalError', Message: 'We encountered an internal error. Please try again.' }),
    action: 'reading s3://my-bucket/a/b.parquet',
    code: 'other',
    message: `reading s3://my-bucket/a/b.parquet: S3 request to ${WHERE} failed (InternalError: We encountered an internal error. Please try again.)`,
  },
  {
    what: 'SlowDown (503)',
    error: () => s3Error(503, { Code: 'SlowDown', Message: 'Please reduce your request rate.' }),
    code: 'other',
    message: `listing the bucket: S3 request to ${WHERE} failed (SlowDown: Please reduce your request rate.)`,
  },
  {
    what: 'a bare 502 from a gateway (no body)',
    error: () => s3Error(502),
    code: 'other',
    message: `listing the bucket: S3 request to ${WHERE} failed (HTTP 502)`,
  },
  {
    what: 'NoSuchKey (404), which is no store problem',
    error: () => s3Error(404, { Code: 'NoSuchKey', Message: 'The specified key does not exist.', Key: 'a/b.parquet' }),
    action: 'reading s3://my-bucket/a/b.parquet',
    code: 'other',
    message: `reading s3://my-bucket/a/b.parquet: S3 request to ${WHERE} failed (NoSuchKey: The specified key does not exist.)`,
  },
  {
    what: 'an unknown Error',
    error: () => new Error('something odd happened'),
    code: 'other',
    message: `listing the bucket: S3 request to ${WHERE} failed (something odd happened)`,
  },
  {
    what: 'an unknown named Error',
    error: () => new TypeError('Cannot read properties of undefined'),
    code: 'other',
    message: `listing the bucket: S3 request to ${WHERE} failed (TypeError: Cannot read properties of undefined)`,
  },
  {
    what: 'an unknown error whose message has a URL with user:password and a signed query',
    error: () =>
      new Error(
        `unexpected redirect to http://admin:${ENDPOINT_PASSWORD}@minio.internal:9000/my-bucket?X-Amz-Date=20240101T000000Z` +
          `&X-Amz-Security-Token=${SESSION_TOKEN}&X-Amz-Signature=${SECRET}`,
      ),
    code: 'other',
    message:
      `listing the bucket: S3 request to ${WHERE} failed (unexpected redirect to http://minio.internal:9000/my-bucket?` +
      'X-Amz-Date=20240101T000000Z&X-Amz-Security-Token=***&X-Amz-Signature=***)',
  },
  {
    what: 'a thrown string',
    error: () => 'socket hang up',
    code: 'other',
    message: `listing the bucket: S3 request to ${WHERE} failed (socket hang up)`,
  },
  { what: 'undefined', error: () => undefined, code: 'other', message: `listing the bucket: S3 request to ${WHERE} failed` },
  { what: 'an empty object', error: () => ({}), code: 'other', message: `listing the bucket: S3 request to ${WHERE} failed` },
];

/** Asserts none of the test's credentials appear in `text`. */
function assertNoSecret(text: string, what: string): void {
  for (const secret of [SECRET, SESSION_TOKEN, ENDPOINT_PASSWORD]) {
    assert.ok(!text.includes(secret), `${what}: a credential appears in the message: ${text}`);
  }
}

describe('describeS3Error', () => {
  for (const c of cases) {
    it(`${c.what} -> ${c.code}`, () => {
      const result = describeS3Error(c.error(), ctx(c.action));
      assert.ok(result instanceof StoreError);
      assert.equal(result.name, 'StoreError');
      assert.equal(result.code, c.code);
      assert.equal(result.message, c.message);
      assertNoSecret(result.message, c.what);
    });
  }

  it('returns a StoreError as it is', () => {
    const original = new StoreError('already worded', 'access_denied');
    assert.equal(describeS3Error(original, ctx()), original);
  });

  it('never shows the user:password of the endpoint URL, whatever the error', () => {
    const endpoint = `http://minio-user:${ENDPOINT_PASSWORD}@minio.internal:9000/`;
    for (const c of cases) {
      const message = describeS3Error(c.error(), ctx(c.action, endpoint)).message;
      assertNoSecret(message, c.what);
      assert.ok(!message.includes('minio-user'), `${c.what}: the endpoint's user name appears: ${message}`);
      assert.ok(message.includes('http://minio.internal:9000'), `${c.what}: the endpoint is not named: ${message}`);
    }
  });

  it('never shows a secret the error carries, in its message or any property', () => {
    const carriers: unknown[] = [
      s3Error(403, { Code: 'AccessDenied', Message: 'Access Denied', SecretAccessKey: SECRET, 'Token-0': SESSION_TOKEN }),
      s3Error(500, {
        Code: 'InternalError',
        Message: `Authorization: AWS4-HMAC-SHA256 Credential=${ACCESS_KEY_ID}/x, Signature=${SECRET}`,
      }),
      Object.assign(new Error(`connect ECONNREFUSED http://u:${ENDPOINT_PASSWORD}@10.1.1.1:9000`), {
        code: 'ECONNREFUSED',
        secret: SECRET,
      }),
      Object.assign(credentialsProviderError(), { config: { secretAccessKey: SECRET, sessionToken: SESSION_TOKEN } }),
      new Error(`proxy https://user:${ENDPOINT_PASSWORD}@proxy.local:3128 refused the tunnel`),
    ];
    for (const error of carriers) assertNoSecret(describeS3Error(error, ctx()).message, String((error as Error).message));
  });
});

describe('isObjectGone / isObjectChanged', () => {
  const table: { what: string; error: unknown; gone: boolean; changed: boolean }[] = [
    {
      what: 'NoSuchKey',
      error: s3Error(404, { Code: 'NoSuchKey', Message: 'The specified key does not exist.' }),
      gone: true,
      changed: false,
    },
    { what: 'a bare 404', error: s3Error(404), gone: true, changed: false },
    {
      what: 'NoSuchBucket',
      error: s3Error(404, { Code: 'NoSuchBucket', Message: 'The specified bucket does not exist' }),
      gone: false,
      changed: false,
    },
    {
      what: 'PreconditionFailed (If-Match no longer matches)',
      error: s3Error(412, {
        Code: 'PreconditionFailed',
        Message: 'At least one of the pre-conditions you specified did not hold',
        Condition: 'If-Match',
      }),
      gone: false,
      changed: true,
    },
    { what: 'a bare 412', error: s3Error(412), gone: false, changed: true },
    { what: 'AccessDenied', error: s3Error(403, { Code: 'AccessDenied', Message: 'Access Denied' }), gone: false, changed: false },
    { what: 'InternalError', error: s3Error(500, { Code: 'InternalError', Message: 'x' }), gone: false, changed: false },
    { what: 'ECONNRESET', error: nodeError('read ECONNRESET', { code: 'ECONNRESET' }), gone: false, changed: false },
    { what: 'a plain Error', error: new Error('x'), gone: false, changed: false },
  ];
  for (const row of table) {
    it(`${row.what}: gone ${row.gone}, changed ${row.changed}`, () => {
      assert.equal(isObjectGone(row.error), row.gone);
      assert.equal(isObjectChanged(row.error), row.changed);
    });
  }
});

describe('isRetryable / isThrottling', () => {
  const abort = () => {
    const error = new Error('Request aborted');
    error.name = 'AbortError';
    return error;
  };
  const timeout = (message: string, code?: string) => {
    const error = Object.assign(new Error(message), code ? { code } : {});
    error.name = 'TimeoutError';
    return error;
  };
  const clockSkew = () => {
    const error = s3Error(403, {
      Code: 'RequestTimeTooSkewed',
      Message: 'The difference between the request time and the current time is too large.',
    });
    // Set by the SDK's signer when the answer's Date showed the local clock off, and it corrected it.
    Object.assign(error.$metadata, { clockSkewCorrected: true });
    return error;
  };
  const table: { what: string; error: unknown; retryable: boolean; throttling: boolean }[] = [
    {
      what: '503 SlowDown',
      error: s3Error(503, { Code: 'SlowDown', Message: 'Please reduce your request rate.' }),
      retryable: true,
      throttling: true,
    },
    { what: '429', error: s3Error(429, { Code: 'TooManyRequests', Message: 'Too many' }), retryable: true, throttling: true },
    { what: '400 Throttling', error: s3Error(400, { Code: 'Throttling', Message: 'Rate exceeded' }), retryable: true, throttling: true },
    { what: '500 InternalError', error: s3Error(500, { Code: 'InternalError', Message: 'x' }), retryable: true, throttling: false },
    { what: 'a bare 502', error: s3Error(502), retryable: true, throttling: false },
    {
      what: '503 ServiceUnavailable',
      error: s3Error(503, { Code: 'ServiceUnavailable', Message: 'x' }),
      retryable: true,
      throttling: false,
    },
    { what: 'a bare 504', error: s3Error(504), retryable: true, throttling: false },
    {
      what: '400 RequestTimeout',
      error: s3Error(400, { Code: 'RequestTimeout', Message: 'Your socket connection ...' }),
      retryable: true,
      throttling: false,
    },
    { what: 'ECONNRESET', error: timeout('read ECONNRESET', 'ECONNRESET'), retryable: true, throttling: false },
    {
      what: 'ECONNREFUSED',
      error: nodeError('connect ECONNREFUSED 127.0.0.1:1', { code: 'ECONNREFUSED' }),
      retryable: true,
      throttling: false,
    },
    { what: 'EPIPE', error: nodeError('write EPIPE', { code: 'EPIPE' }), retryable: true, throttling: false },
    { what: 'ENOTFOUND', error: nodeError('getaddrinfo ENOTFOUND x', { code: 'ENOTFOUND' }), retryable: true, throttling: false },
    { what: 'EAI_AGAIN', error: nodeError('getaddrinfo EAI_AGAIN x', { code: 'EAI_AGAIN' }), retryable: true, throttling: false },
    { what: 'a connect timeout', error: timeout('did not establish a connection'), retryable: true, throttling: false },
    { what: 'a request timeout', error: timeout('exceeded the requestTimeout', 'ETIMEDOUT'), retryable: true, throttling: false },
    {
      what: 'a network error as a cause',
      error: new Error('x', { cause: nodeError('y', { code: 'ECONNRESET' }) }),
      retryable: true,
      throttling: false,
    },
    { what: 'a clock skew the signer corrected', error: clockSkew(), retryable: true, throttling: false },
    {
      what: 'an error the SDK marks retryable',
      error: Object.assign(s3Error(400, { Code: 'X', Message: 'x' }), { $retryable: {} }),
      retryable: true,
      throttling: false,
    },
    { what: 'AbortError', error: abort(), retryable: false, throttling: false },
    { what: 'AccessDenied', error: s3Error(403, { Code: 'AccessDenied', Message: 'Access Denied' }), retryable: false, throttling: false },
    {
      what: 'a clock skew not corrected',
      error: s3Error(403, { Code: 'RequestTimeTooSkewed', Message: 'x' }),
      retryable: false,
      throttling: false,
    },
    { what: 'NoSuchKey', error: s3Error(404, { Code: 'NoSuchKey', Message: 'x' }), retryable: false, throttling: false },
    { what: 'NoSuchBucket', error: s3Error(404, { Code: 'NoSuchBucket', Message: 'x' }), retryable: false, throttling: false },
    { what: 'PreconditionFailed', error: s3Error(412, { Code: 'PreconditionFailed', Message: 'x' }), retryable: false, throttling: false },
    { what: '501 NotImplemented', error: s3Error(501, { Code: 'NotImplemented', Message: 'x' }), retryable: false, throttling: false },
    { what: 'PermanentRedirect', error: s3Error(301, { Code: 'PermanentRedirect', Message: 'x' }), retryable: false, throttling: false },
    { what: 'CredentialsProviderError', error: credentialsProviderError(), retryable: false, throttling: false },
    { what: 'a plain Error', error: new Error('x'), retryable: false, throttling: false },
    { what: 'undefined', error: undefined, retryable: false, throttling: false },
    { what: 'a string', error: 'ECONNRESET', retryable: false, throttling: false },
  ];
  for (const row of table) {
    it(`${row.what}: retryable ${row.retryable}, throttling ${row.throttling}`, () => {
      assert.equal(isRetryable(row.error), row.retryable);
      assert.equal(isThrottling(row.error), row.throttling);
    });
  }
});

describe('redactUrl / scrubSecrets', () => {
  const urls: [string, string][] = [
    [`http://minio:${ENDPOINT_PASSWORD}@minio.internal:9000`, 'http://minio.internal:9000'],
    [`https://user:${ENDPOINT_PASSWORD}@s3.example.com/`, 'https://s3.example.com'],
    ['http://only-user@localhost:9000/base/', 'http://localhost:9000/base'],
    [`http://:${ENDPOINT_PASSWORD}@localhost:9000`, 'http://localhost:9000'],
    ['https://s3.eu-west-1.amazonaws.com/', 'https://s3.eu-west-1.amazonaws.com'],
    ['http://127.0.0.1:9000', 'http://127.0.0.1:9000'],
    ['not a url', 'not a url'],
  ];
  for (const [input, expected] of urls) {
    it(`redactUrl(${JSON.stringify(input.replace(ENDPOINT_PASSWORD, '<password>'))}) is ${expected}`, () => {
      assert.equal(redactUrl(input), expected);
    });
  }

  it('scrubSecrets masks URL user info, signed query parameters and Authorization credentials, and nothing else', () => {
    assert.equal(scrubSecrets(`GET http://u:${ENDPOINT_PASSWORD}@h:1/b/k failed`), 'GET http://h:1/b/k failed');
    assert.equal(
      scrubSecrets(
        `https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2F1&x-amz-signature=${SECRET}&X-Amz-Security-Token=${SESSION_TOKEN}&partNumber=1`,
      ),
      'https://b.s3.amazonaws.com/k?X-Amz-Credential=***&x-amz-signature=***&X-Amz-Security-Token=***&partNumber=1',
    );
    assert.equal(
      scrubSecrets(
        `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY_ID}/20240101/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=${SECRET}`,
      ),
      'AWS4-HMAC-SHA256 Credential=***, SignedHeaders=host, Signature=***',
    );
    const plain = 'The request signature we calculated does not match the signature you provided. See user@example.com or http://host/a@b';
    assert.equal(scrubSecrets(plain), plain);
  });
});

// ---------- the hand-built shapes against the SDK's own ----------

interface Canned {
  status: number;
  headers?: Record<string, string>;
  xml?: ErrorXml;
}

/** The body S3 sends with an error: <Error> with the given children. */
function errorBody(xml: ErrorXml): string {
  const escape = (text: string) => text.replace(/[<>&]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${Object.entries(xml)
    .map(([k, v]) => `<${k}>${escape(v)}</${k}>`)
    .join('')}</Error>`;
}

describe('the SDK raises these shapes', () => {
  // One canned answer per key; the real S3Client (no retries) gets it from a loopback responder.
  const answers: Record<string, Canned> = {
    'no-such-bucket': { status: 404, xml: { Code: 'NoSuchBucket', Message: 'The specified bucket does not exist', BucketName: BUCKET } },
    'access-denied': { status: 403, xml: { Code: 'AccessDenied', Message: 'Access Denied', RequestId: 'R', HostId: 'H' } },
    signature: {
      status: 403,
      xml: {
        Code: 'SignatureDoesNotMatch',
        Message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
        AWSAccessKeyId: ACCESS_KEY_ID,
        SignatureProvided: SECRET,
        StringToSign: SECRET,
      },
    },
    expired: { status: 400, xml: { Code: 'ExpiredToken', Message: 'The provided token has expired.', 'Token-0': SESSION_TOKEN } },
    redirect: {
      status: 301,
      headers: { 'x-amz-bucket-region': 'us-west-2' },
      xml: {
        Code: 'PermanentRedirect',
        Message: 'The bucket you are attempting to access must be addressed using the specified endpoint.',
      },
    },
    'redirect-bare': { status: 301 },
    'header-malformed': {
      status: 400,
      xml: {
        Code: 'AuthorizationHeaderMalformed',
        Message: "the region 'eu-west-1' is wrong; expecting 'ap-southeast-2'",
        Region: 'ap-southeast-2',
      },
    },
    'forbidden-bare': { status: 403 },
    internal: { status: 500, xml: { Code: 'InternalError', Message: 'We encountered an internal error. Please try again.' } },
    'slow-down': { status: 503, xml: { Code: 'SlowDown', Message: 'Please reduce your request rate.' } },
    'no-such-key': { status: 404, xml: { Code: 'NoSuchKey', Message: 'The specified key does not exist.' } },
    precondition: {
      status: 412,
      xml: { Code: 'PreconditionFailed', Message: 'At least one of the pre-conditions you specified did not hold' },
    },
  };

  let server: http.Server;
  let endpoint = '';
  let client: S3Client;

  before(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      const key = decodeURIComponent((req.url ?? '').split('?')[0]!.split('/').pop() ?? '');
      const answer = answers[key] ?? { status: 500 };
      const body = answer.xml ? errorBody(answer.xml) : '';
      res.writeHead(answer.status, {
        'Content-Type': 'application/xml',
        'Content-Length': Buffer.byteLength(body),
        'x-amz-request-id': 'CANNED',
        ...answer.headers,
      });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    client = new S3Client({
      endpoint,
      region: 'eu-west-1',
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET, sessionToken: SESSION_TOKEN },
    });
  });

  after(async () => {
    client?.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  async function sdkError(key: string): Promise<unknown> {
    try {
      await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    } catch (err) {
      return err;
    }
    assert.fail(`GetObject ${key} succeeded`);
  }

  for (const [key, answer] of Object.entries(answers)) {
    it(`${answer.status} ${answer.xml?.Code ?? '(no body)'}: same name, status, fields and description as the hand-built one`, async () => {
      const real = (await sdkError(key)) as S3ServiceException & Record<string, unknown>;
      const built = s3Error(answer.status, answer.xml, answer.headers) as S3ServiceException & Record<string, unknown>;
      assert.equal(real.name, built.name);
      assert.equal(real.message, built.message);
      assert.equal(real.$metadata.httpStatusCode, answer.status);
      assert.equal(real.$fault, built.$fault);
      for (const field of Object.keys(answer.xml ?? {})) if (field !== 'Message') assert.equal(real[field], built[field], field);
      assert.equal(real.$response?.headers['x-amz-bucket-region'], answer.headers?.['x-amz-bucket-region']);
      const context = ctx(`reading s3://${BUCKET}/${key}`, endpoint);
      const expected = describeS3Error(built, context);
      const actual = describeS3Error(real, context);
      assert.equal(actual.code, expected.code);
      assert.equal(actual.message, expected.message);
      assertNoSecret(actual.message, key);
      assert.equal(isObjectGone(real), isObjectGone(built));
      assert.equal(isObjectChanged(real), isObjectChanged(built));
      assert.equal(isRetryable(real), isRetryable(built));
      assert.equal(isThrottling(real), isThrottling(built));
    });
  }

  it('a refused connection: the SDK error is described as unreachable and retryable', async () => {
    // A port nothing listens on: bind one, then close it.
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const refused = new S3Client({
      endpoint: `http://user:${ENDPOINT_PASSWORD}@127.0.0.1:${port}`,
      region: 'eu-west-1',
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET },
    });
    try {
      const err = await refused.send(new ListObjectsV2Command({ Bucket: BUCKET })).then(
        () => assert.fail('LIST on a closed port succeeded'),
        (e: unknown) => e,
      );
      assert.equal(isRetryable(err), true);
      const described = describeS3Error(err, ctx('listing the bucket', `http://user:${ENDPOINT_PASSWORD}@127.0.0.1:${port}`));
      assert.equal(described.code, 'unreachable');
      assert.equal(
        described.message,
        `listing the bucket: cannot reach http://127.0.0.1:${port} for bucket "${BUCKET}" (ECONNREFUSED); check endpoint, network and proxy settings`,
      );
      assertNoSecret(described.message, 'ECONNREFUSED');
    } finally {
      refused.destroy();
    }
  });

  it('a credential provider that finds nothing: described as missing credentials', async () => {
    const noCredentials = new S3Client({
      endpoint,
      region: 'eu-west-1',
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: () => Promise.reject(credentialsProviderError()),
    });
    try {
      const err = await noCredentials.send(new ListObjectsV2Command({ Bucket: BUCKET })).then(
        () => assert.fail('LIST without credentials succeeded'),
        (e: unknown) => e,
      );
      assert.equal(describeS3Error(err, ctx()).code, 'credentials');
      assert.equal(isRetryable(err), false);
    } finally {
      noCredentials.destroy();
    }
  });
});
