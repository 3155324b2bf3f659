// Reaching buckets without a real S3 server: the access options as resolved and checked, how the S3
// clients authenticate (unsigned, keys, profile, an assumed role) and where STS is asked, the wording
// of STS and access errors, and the bucket's region found or followed, against a canned loopback
// responder that answers as S3 does (x-amz-bucket-region, 301 PermanentRedirect, GetBucketLocation).
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { createLogger, type LogFields } from '../../src/log.js';
import { accessProblems, resolveAccess } from '../../src/spec-access.js';
import { createClients } from '../../src/store/s3-client.js';
import { clientAuth, describeRoleError, stsEndpoint, stsEndpointText } from '../../src/store/s3-credentials.js';
import { describeS3Error } from '../../src/store/s3-errors.js';
import { findBucketRegion } from '../../src/store/s3-region.js';
import { S3Store } from '../../src/store/s3.js';
import { StoreError } from '../../src/store/types.js';
import { parseAuthorization } from '../support/sigv4.js';

const ROLE = 'arn:aws:iam::123456789012:role/reader';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYUNITTESTKEY';

describe('access options', () => {
  it('role_arn must look like an ARN; the ARNs of S3-compatible stores pass', () => {
    for (const arn of [ROLE, 'arn:aws-cn:iam::123456789012:role/path/to/r', 'arn:minio:iam:::role/reader', 'arn:aws:iam:::role/S3Access']) {
      assert.deepEqual(accessProblems({ role_arn: arn }), [], arn);
    }
    for (const arn of ['reader', 'arn:aws:iam::123456789012', 'arn:aws:iam::1:role/a b', 'aws:iam::123456789012:role/r']) {
      assert.deepEqual(
        accessProblems({ role_arn: arn }),
        [`role_arn: "${arn}" is not an ARN; expected arn:aws:iam::ACCOUNT:role/NAME`],
        arn,
      );
    }
  });

  it('anonymous excludes a role and any credentials', () => {
    assert.deepEqual(accessProblems({ anonymous: true, role_arn: ROLE }), [
      'anonymous and role_arn are exclusive: unsigned requests cannot assume a role',
    ]);
    for (const spec of [{ access_key_id: 'AKID' }, { local_profile: 'p' }]) {
      assert.deepEqual(accessProblems({ anonymous: true, ...spec }), [
        'anonymous and access_key_id/local_profile are exclusive: anonymous requests are not signed',
      ]);
    }
    assert.deepEqual(accessProblems({ anonymous: false, access_key_id: 'AKID' }), []);
  });

  it('the SSE-C key is sent in standard base64 however it was written', () => {
    const key = Buffer.from(Array.from({ length: 32 }, (_, i) => 250 - i));
    const standard = key.toString('base64');
    assert.match(standard, /[+/]/, 'the key should exercise the characters base64 variants differ in');
    for (const written of [standard, key.toString('base64url'), `${standard.slice(0, 20)}\n${standard.slice(20)}`]) {
      assert.deepEqual(accessProblems({ sse_customer_key: written }), []);
      assert.equal(resolveAccess({ sse_customer_key: written }).sseCustomerKey, standard);
    }
    assert.equal(resolveAccess({}).sseCustomerKey, undefined);
  });

  it('defaults', () => {
    assert.deepEqual(resolveAccess({ role_arn: ROLE }), {
      roleArn: ROLE,
      externalId: undefined,
      roleSessionName: 'cq-source-s3',
      sessionDurationSeconds: 3600,
      anonymous: false,
      requesterPays: false,
      sseCustomerKey: undefined,
    });
  });
});

const settings = (access: Parameters<typeof resolveAccess>[0], extra: Partial<Parameters<typeof clientAuth>[0]> = {}) => ({
  localProfile: '',
  endpoint: '',
  stsRegion: 'eu-west-1',
  access: resolveAccess(access),
  ...extra,
});

describe('client authentication', () => {
  it('anonymous: unsigned auth schemes, no credentials, no profile', () => {
    const auth = clientAuth(settings({ anonymous: true }, { credentials: { accessKeyId: 'AKID', secretAccessKey: SECRET } }));
    assert.deepEqual(Object.keys(auth), ['httpAuthSchemes']);
    assert.deepEqual(
      auth.httpAuthSchemes?.map((s) => s.schemeId),
      ['aws.auth#sigv4', 'aws.auth#sigv4a'],
    );
  });

  it('keys, a profile, or nothing (the default chain), as before', () => {
    const credentials = { accessKeyId: 'AKID', secretAccessKey: SECRET };
    assert.deepEqual(clientAuth(settings({}, { credentials })), { credentials });
    assert.deepEqual(clientAuth(settings({}, { localProfile: 'prod' })), { profile: 'prod' });
    assert.deepEqual(clientAuth(settings({})), {});
  });

  it('a role: a credential provider (STS is not called until a request needs credentials)', () => {
    const auth = clientAuth(settings({ role_arn: ROLE }, { localProfile: 'prod' }));
    assert.deepEqual(Object.keys(auth), ['credentials']);
    assert.equal(typeof auth.credentials, 'function');
  });

  it('where STS is asked: AWS_ENDPOINT_URL_STS, else the custom S3 endpoint, else AWS in the region', () => {
    assert.equal(stsEndpoint('', {}), undefined);
    assert.equal(stsEndpoint('http://minio:9000', {}), 'http://minio:9000');
    assert.equal(stsEndpoint('http://minio:9000', { AWS_ENDPOINT_URL_STS: 'http://sts:8000' }), undefined);
    assert.equal(stsEndpointText({ endpoint: '', stsRegion: 'eu-west-1' }, {}), 'https://sts.eu-west-1.amazonaws.com');
    assert.equal(stsEndpointText({ endpoint: 'http://user:pw@minio:9000', stsRegion: 'us-east-1' }, {}), 'http://minio:9000');
    assert.equal(
      stsEndpointText({ endpoint: 'http://minio:9000', stsRegion: 'us-east-1' }, { AWS_ENDPOINT_URL_STS: 'http://sts:8000' }),
      'http://sts:8000',
    );
  });
});

// ---------- the wording of STS errors ----------

/** An STS error as the SDK's query protocol raises it. */
function stsError(status: number, name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: status, attempts: 1 } });
}

describe('STS errors', () => {
  const where = 'https://sts.eu-west-1.amazonaws.com';
  const role = `assuming role ${ROLE}`;
  const describeIt = (err: unknown, externalId = false) => describeRoleError(err, { roleArn: ROLE, externalId, where });
  const cases: [string, unknown, boolean, StoreError['code'], string][] = [
    [
      'AccessDenied, no external_id',
      stsError(403, 'AccessDenied', `User: arn:aws:iam::1:user/u is not authorized to perform: sts:AssumeRole on resource: ${ROLE}`),
      false,
      'access_denied',
      `${role}: STS at ${where} refused (AccessDenied: User: arn:aws:iam::1:user/u is not authorized to perform: sts:AssumeRole on resource: ${ROLE}); ` +
        `check that the role's trust policy lets the base credentials (access_key_id/secret_access_key, local_profile, or the AWS default chain) ` +
        `call sts:AssumeRole, and whether an external_id is needed (set external_id)`,
    ],
    [
      'AccessDenied with an external_id',
      stsError(403, 'AccessDenied', 'denied'),
      true,
      'access_denied',
      `${role}: STS at ${where} refused (AccessDenied: denied); check that the role's trust policy lets the base credentials ` +
        `(access_key_id/secret_access_key, local_profile, or the AWS default chain) call sts:AssumeRole, and whether the external_id is the one the role expects`,
    ],
    [
      'ValidationError',
      stsError(400, 'ValidationError', 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.'),
      false,
      'credentials',
      `${role}: STS at ${where} rejected the request (ValidationError: The requested DurationSeconds exceeds the MaxSessionDuration set for this role.); ` +
        `check role_arn (arn:aws:iam::ACCOUNT:role/NAME), role_session_name, and that session_duration is at most the role's maximum session duration`,
    ],
    [
      'InvalidClientTokenId',
      stsError(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.'),
      false,
      'credentials',
      `${role}: STS at ${where} does not accept the base credentials (InvalidClientTokenId: The security token included in the request is invalid.); ` +
        `check access_key_id/secret_access_key, local_profile, or the AWS default chain`,
    ],
    [
      'ExpiredToken of the base session',
      stsError(400, 'ExpiredTokenException', 'The security token included in the request is expired'),
      false,
      'credentials',
      `${role}: STS at ${where} does not accept the base credentials (ExpiredTokenException: The security token included in the request is expired); ` +
        `check access_key_id/secret_access_key, local_profile, or the AWS default chain`,
    ],
    [
      'RegionDisabledException',
      stsError(403, 'RegionDisabledException', 'STS is not activated in this region for account:1.'),
      false,
      'credentials',
      `${role}: STS is not activated in this region (RegionDisabledException: STS is not activated in this region for account:1.); activate it in IAM or set region`,
    ],
    [
      'an endpoint that is not STS',
      stsError(400, 'Unknown', 'The authorization header is malformed; incorrect service "sts". This endpoint belongs to "s3".'),
      false,
      'other',
      `${role}: ${where} did not answer as STS does (HTTP 400: The authorization header is malformed; incorrect service "sts". This endpoint belongs to "s3".); ` +
        `it may not implement STS: with a custom endpoint STS is asked there, and AWS_ENDPOINT_URL_STS names another STS endpoint`,
    ],
    [
      'no base credentials',
      Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }),
      false,
      'credentials',
      `${role}: no base credentials to call STS with (CredentialsProviderError: Could not load credentials from any providers); ` +
        `set access_key_id/secret_access_key, local_profile, or the AWS default chain`,
    ],
    [
      'STS unreachable',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', $metadata: {} }),
      false,
      'unreachable',
      `${role}: cannot reach STS at ${where} (ECONNREFUSED); check network and proxy settings (AWS_ENDPOINT_URL_STS sets another STS endpoint)`,
    ],
    [
      'STS failing otherwise',
      stsError(500, 'InternalFailure', 'oops'),
      false,
      'other',
      `${role}: STS at ${where} failed (InternalFailure: oops)`,
    ],
  ];
  for (const [what, err, externalId, code, message] of cases) {
    it(what, () => {
      const described = describeIt(err, externalId);
      assert.ok(described instanceof StoreError);
      assert.equal(described.code, code);
      assert.equal(described.message, message);
    });
  }

  it('a signed URL in a message is scrubbed; a StoreError passes through', () => {
    const described = describeIt(
      stsError(403, 'AccessDenied', `see https://sts.amazonaws.com/?X-Amz-Signature=abc123&X-Amz-Credential=AKID%2F${SECRET}`),
    );
    assert.ok(!described.message.includes('abc123') && !described.message.includes(SECRET), described.message);
    const already = new StoreError('already worded', 'other');
    assert.equal(describeIt(already), already);
  });
});

// ---------- the wording of S3 access errors ----------

function s3Error(status: number, name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}

describe('S3 access errors', () => {
  const endpoint = 'https://s3.eu-west-1.amazonaws.com';
  const ctx = (extra: Record<string, unknown> = {}, action = 'listing the bucket') => ({
    bucket: 'b',
    region: 'eu-west-1',
    endpoint,
    action,
    ...extra,
  });
  const where = `bucket "b" at ${endpoint}`;

  it('anonymous: a refusal says the bucket is not public, not to check credentials', () => {
    const described = describeS3Error(s3Error(403, 'AccessDenied', 'Access Denied'), ctx({ anonymous: true }));
    assert.equal(described.code, 'access_denied');
    assert.equal(
      described.message,
      `listing the bucket: ${where} refused anonymous access (AccessDenied: Access Denied): the bucket is not public ` +
        `(anonymous: true sends unsigned requests); give credentials instead, or have the bucket's owner allow public s3:ListBucket and s3:GetObject`,
    );
  });

  it('an assumed role: the hint names the role', () => {
    const described = describeS3Error(s3Error(403, 'AccessDenied', 'Access Denied'), ctx({ roleArn: ROLE }));
    assert.equal(
      described.message,
      `listing the bucket: access denied to ${where} (AccessDenied: Access Denied); check that role ${ROLE} (assumed with STS) ` +
        `is allowed s3:ListBucket and s3:GetObject on this bucket`,
    );
  });

  it('SSE-C: a GET refused may be the wrong key; S3 saying the parameters do not fit the object', () => {
    const reading = 'reading s3://b/k.parquet';
    const denied = describeS3Error(s3Error(403, 'AccessDenied', 'Access Denied'), ctx({ sseCustomerKey: true }, reading));
    assert.match(denied.message, /on this bucket, and that sse_customer_key is the key the object was written with$/);
    // A LIST never carries the key: no such hint there.
    assert.doesNotMatch(describeS3Error(s3Error(403, 'AccessDenied', 'x'), ctx({ sseCustomerKey: true })).message, /sse_customer_key/);

    const notEncrypted = describeS3Error(
      s3Error(400, 'InvalidRequest', 'The encryption parameters are not applicable to this object.'),
      ctx({ sseCustomerKey: true }, reading),
    );
    assert.equal(notEncrypted.code, 'other');
    assert.equal(
      notEncrypted.message,
      `${reading}: S3 request to ${where} failed (InvalidRequest: The encryption parameters are not applicable to this object.); ` +
        `sse_customer_key is sent with every GET, and this object is not encrypted with a customer-provided key (SSE-C)`,
    );
    const encrypted = describeS3Error(
      s3Error(
        400,
        'InvalidRequest',
        'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.',
      ),
      ctx({}, reading),
    );
    assert.match(encrypted.message, /; the object is encrypted with a customer-provided key \(SSE-C\): set sse_customer_key$/);
  });
});

// ---------- the region, against a canned responder ----------

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

interface Seen {
  method: string;
  url: string;
  region?: string;
  authorization?: string;
}

let server: http.Server;
let endpoint = '';
let seen: Seen[] = [];
let respond: (req: Seen) => Answer = () => ({ status: 500 });

before(async () => {
  server = http.createServer((req, res) => {
    const request: Seen = {
      method: req.method ?? '',
      url: req.url ?? '',
      region: parseAuthorization(req.headers.authorization)?.region,
      authorization: req.headers.authorization,
    };
    seen.push(request);
    req.resume();
    const answer = respond(request);
    const body = req.method === 'HEAD' ? '' : (answer.body ?? '');
    res.writeHead(answer.status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body), ...answer.headers });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  seen = [];
});

const KEYS = { accessKeyId: 'AKIDUNIT', secretAccessKey: SECRET };
const BUCKET = 'unit-bucket';
const LIST_XML = `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${BUCKET}</Name><KeyCount>1</KeyCount><IsTruncated>false</IsTruncated><Contents><Key>a/x.parquet</Key><Size>5</Size><ETag>"e1"</ETag><LastModified>2024-01-01T00:00:00.000Z</LastModified></Contents></ListBucketResult>`;
const redirect = (region: string, withHeader = true): Answer => ({
  status: 301,
  headers: withHeader ? { 'x-amz-bucket-region': region } : {},
  body: `<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message></Error>`,
});
const locationXml = (constraint: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${constraint}</LocationConstraint>`;

/** A client of the responder; findBucketRegion is told separately whether to treat it as AWS or a custom endpoint. */
function clientFor(credentials: S3ClientConfig['credentials'] = KEYS) {
  return createClients({ endpoint, pathStyle: true, maxRetries: 0, maxSockets: 4, auth: { credentials } }, 'us-east-1').list;
}

describe('finding the bucket region', () => {
  const cases: [string, (r: Seen) => Answer, boolean, { region: string; from: string }][] = [
    [
      'HeadBucket 200 with the header',
      () => ({ status: 200, headers: { 'x-amz-bucket-region': 'eu-central-1' } }),
      false,
      { region: 'eu-central-1', from: 'x-amz-bucket-region' },
    ],
    ['HeadBucket 301 with the header', () => redirect('ap-south-1'), false, { region: 'ap-south-1', from: 'x-amz-bucket-region' }],
    [
      'HeadBucket 403 with the header',
      () => ({ status: 403, headers: { 'x-amz-bucket-region': 'sa-east-1' } }),
      false,
      { region: 'sa-east-1', from: 'x-amz-bucket-region' },
    ],
    [
      'no header: GetBucketLocation at a custom endpoint',
      (r) => (r.method === 'HEAD' ? { status: 200 } : { status: 200, body: locationXml('eu-north-1') }),
      true,
      { region: 'eu-north-1', from: 'GetBucketLocation' },
    ],
    [
      'GetBucketLocation: EU is eu-west-1',
      (r) => (r.method === 'HEAD' ? { status: 200 } : { status: 200, body: locationXml('EU') }),
      true,
      { region: 'eu-west-1', from: 'GetBucketLocation' },
    ],
    [
      'GetBucketLocation: empty is us-east-1',
      (r) => (r.method === 'HEAD' ? { status: 200 } : { status: 200, body: locationXml('') }),
      true,
      { region: 'us-east-1', from: 'GetBucketLocation' },
    ],
    [
      'GetBucketLocation refused for the wrong region, naming the right one',
      (r) =>
        r.method === 'HEAD'
          ? { status: 400 }
          : {
              status: 400,
              body: '<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region is wrong</Message><Region>eu-west-3</Region></Error>',
            },
      true,
      { region: 'eu-west-3', from: 'GetBucketLocation' },
    ],
    ['nobody says, at AWS: us-east-1', () => ({ status: 200 }), false, { region: 'us-east-1', from: 'default' }],
    [
      'nobody says, at a custom endpoint: us-east-1',
      () => ({ status: 403, body: '<Error><Code>AccessDenied</Code></Error>' }),
      true,
      { region: 'us-east-1', from: 'default' },
    ],
  ];
  for (const [what, answer, custom, expected] of cases) {
    it(what, async () => {
      respond = answer;
      const client = clientFor();
      try {
        assert.deepEqual(await findBucketRegion(client, BUCKET, custom), expected);
      } finally {
        client.destroy();
      }
    });
  }

  it('unreachable: the default, and the first real request reports it', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const client = createClients(
      { endpoint: `http://127.0.0.1:${port}`, pathStyle: true, maxRetries: 0, maxSockets: 4, auth: { credentials: KEYS } },
      'us-east-1',
    ).list;
    try {
      assert.deepEqual(await findBucketRegion(client, BUCKET, true), { region: 'us-east-1', from: 'default' });
    } finally {
      client.destroy();
    }
  });

  it('no credentials: thrown, as every request would fail the same way', async () => {
    respond = () => ({ status: 200 });
    const client = clientFor(async () => {
      throw Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    });
    try {
      await assert.rejects(findBucketRegion(client, BUCKET, true), { name: 'CredentialsProviderError' });
      assert.deepEqual(seen, []);
    } finally {
      client.destroy();
    }
  });
});

describe('unsigned requests', () => {
  it('carry no Authorization header, and no credential provider is ever asked', async () => {
    respond = () => ({ status: 200, body: LIST_XML });
    let asked = 0;
    const client = new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      // What the default chain would be: never called.
      credentialDefaultProvider: () => async () => {
        asked++;
        return KEYS;
      },
      ...clientAuth(settings({ anonymous: true })),
    });
    try {
      const page = await client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
      assert.equal(page.Contents?.[0]?.Key, 'a/x.parquet');
      assert.equal(seen.length, 1);
      assert.equal(seen[0]!.authorization, undefined);
      assert.equal(asked, 0);
    } finally {
      client.destroy();
    }
  });
});

describe('a wrong region', () => {
  /** Answers S3 would give a bucket in eu-central-1: anything signed for another region is redirected. */
  const inFrankfurt =
    (header = true) =>
    (r: Seen): Answer => {
      if (r.region !== 'eu-central-1') return r.method === 'HEAD' ? redirect('eu-central-1') : redirect('eu-central-1', header);
      if (r.url.includes('list-type=2')) return { status: 200, body: LIST_XML };
      return { status: 206, headers: { 'Content-Range': 'bytes 0-4/5', ETag: '"e1"' }, body: 'hello' };
    };

  async function open(region: string, warnings: LogFields[]) {
    const logger = createLogger({ level: 'warn', format: 'json', write: (line) => warnings.push(JSON.parse(line) as LogFields) });
    return S3Store.open({
      bucket: BUCKET,
      region,
      endpoint,
      pathStyle: true,
      localProfile: '',
      credentials: KEYS,
      access: resolveAccess({}),
      maxRetries: 0,
      maxSockets: 4,
      logger,
    });
  }

  it('a redirect naming the region: moved there with one warning, and the request made again', async () => {
    respond = inFrankfurt();
    const warnings: LogFields[] = [];
    const store = await open('us-west-2', warnings);
    try {
      const keys: string[] = [];
      for await (const page of store.list('')) keys.push(...page.map((o) => o.key));
      assert.deepEqual(keys, ['a/x.parquet']);
      assert.deepEqual(
        seen.map((r) => r.region),
        ['us-west-2', 'eu-central-1'],
      );
      assert.equal(warnings.length, 1);
      assert.equal(
        warnings[0]!.message,
        `bucket "${BUCKET}" is in region eu-central-1, not us-west-2: reading it there; set region: eu-central-1`,
      );
      assert.equal(warnings[0]!.previous_region, 'us-west-2');
      assert.match(store.location, /region eu-central-1\)$/);
    } finally {
      store.close();
    }
  });

  it('a redirect without the region: the bucket is asked (HeadBucket), and ranged GETs move too', async () => {
    respond = inFrankfurt(false);
    const warnings: LogFields[] = [];
    const store = await open('us-west-2', warnings);
    try {
      const object = { key: 'a/x.parquet', size: 5, lastModified: new Date(0), etag: '"e1"' };
      const bytes = await store.open(object).read(0, 5);
      assert.equal(Buffer.from(bytes).toString(), 'hello');
      assert.deepEqual(
        seen.map((r) => `${r.method} ${r.region}`),
        ['GET us-west-2', 'HEAD us-west-2', 'GET eu-central-1'],
      );
      assert.equal(warnings.length, 1);
    } finally {
      store.close();
    }
  });

  it('a redirect nobody explains: the wrong_region error, as before', async () => {
    respond = () => redirect('', false);
    const store = await open('us-west-2', []);
    try {
      await assert.rejects(
        (async () => {
          for await (const _ of store.list('')) break;
        })(),
        (err: StoreError) => {
          assert.equal(err.code, 'wrong_region');
          assert.match(err.message, /is not in region "us-west-2"; set region to the region the bucket was created in$/);
          return true;
        },
      );
    } finally {
      store.close();
    }
  });

  it('no region: found before the first request, logged at info', async () => {
    respond = inFrankfurt();
    const lines: LogFields[] = [];
    const logger = createLogger({ level: 'info', format: 'json', write: (line) => lines.push(JSON.parse(line) as LogFields) });
    const store = await S3Store.open({
      bucket: BUCKET,
      region: '',
      endpoint,
      pathStyle: true,
      localProfile: '',
      credentials: KEYS,
      access: resolveAccess({}),
      maxRetries: 0,
      maxSockets: 4,
      logger,
    });
    try {
      assert.deepEqual(
        lines.map((l) => [l.level, l.message, l.region, l.found_by]),
        [['info', `bucket "${BUCKET}" is in region eu-central-1`, 'eu-central-1', 'x-amz-bucket-region']],
      );
      assert.equal(store.location, `s3://${BUCKET} (endpoint ${endpoint}, region eu-central-1, found from the bucket)`);
      for await (const _ of store.list('')) break;
      assert.deepEqual(
        seen.map((r) => `${r.method} ${r.region}`),
        ['HEAD us-east-1', 'GET eu-central-1'],
      );
    } finally {
      store.close();
    }
  });
});
