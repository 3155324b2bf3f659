// Reaching buckets, end to end: the built plugin over gRPC against the real S3 server (Swift s3api),
// through the suite's fault proxy wherever the requests themselves must be seen. Requester pays and
// SSE-C (the headers on LIST and GET), anonymous access (a public-read container read with unsigned
// requests, a private one refused), the bucket's region found or corrected, and roles assumed with an
// STS stand-in (no STS-compatible server runs offline here), sessions refreshed during a long sync.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { PutBucketAclCommand } from '@aws-sdk/client-s3';
import * as grpc from '@grpc/grpc-js';
import { createLogger } from '../src/log.js';
import { parseSpec } from '../src/spec.js';
import { openStore } from '../src/store/index.js';
import { startAnonymousGateway, type AnonymousGateway } from './support/anonymous-gateway.js';
import { startFaultProxy, type FaultProxy, type ProxiedRequest } from './support/fault-proxy.js';
import { closeFixtures, parquetFromSql } from './support/fixtures.js';
import { freePort, parseJsonLines, startPlugin, type PluginProcess, type SyncCallError, type SyncResult } from './support/plugin-client.js';
import { startS3Server, type S3TestServer } from './support/s3-server.js';
import { s3Spec } from './support/s3-spec.js';
import { parseAuthorization } from './support/sigv4.js';
import { startStsServer, type StsStandIn } from './support/sts-server.js';

const BUCKET = 'cq-access-test';
const PUBLIC_BUCKET = 'cq-access-public';
const ROWS_PER_FILE = 50;
const DATA_FILES = 3;
const SLOW_FILES = 6;

const ROLE = 'arn:aws:iam::123456789012:role/reader';
const SHORT_ROLE = 'arn:aws:iam::123456789012:role/short-sessions';
const EXTERNAL_ID = 'ext-7f3a';
const BASE_KEY = 'AKIDBASEEXAMPLE';
const BASE_SECRET = 'base-secret-d0e4b1';
/** The keys the credential_process of the shared config hands out, for the profile and the default chain. */
const PROFILE_KEY = 'AKIDPROFILEEXAMPLE';
const DEFAULT_KEY = 'AKIDDEFAULTEXAMPLE';
const processSecret = (key: string) => `${key}-process-secret`;

/** A 32-byte SSE-C key, given to the plugin in URL-safe base64 (the plugin sends it in standard base64). */
const SSE_KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 251) % 256));
const SSE_KEY_B64 = SSE_KEY.toString('base64');
const SSE_KEY_B64URL = SSE_KEY.toString('base64url');

let s3: S3TestServer;
/** Plugin -> proxy -> Swift. */
let proxy: FaultProxy;
/** Plugin -> anonProxy -> gateway (Swift's ACL decides unsigned reads) -> Swift. */
let gateway: AnonymousGateway;
let anonProxy: FaultProxy;
let sts: StsStandIn;
/** Its STS is the stand-in (AWS_ENDPOINT_URL_STS). */
let plugin: PluginProcess;
/** Without AWS_ENDPOINT_URL_STS: its STS is the spec's endpoint. */
let pluginNoSts: PluginProcess;
let dir: string;
/** One line per credential lookup the shared config's credential_process served: "<profile>". */
let lookupsFile: string;

const lookups = () => (existsSync(lookupsFile) ? readFileSync(lookupsFile, 'utf8').split('\n').filter(Boolean) : []);

/** The environment of a plugin that finds no credentials but those of the test's shared config. */
function pluginEnv(stsEndpoint: string): Record<string, string> {
  const config = join(dir, 'config');
  const credentials = join(dir, 'credentials');
  return {
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: credentials,
    AWS_PROFILE: '',
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_SESSION_TOKEN: '',
    AWS_REGION: '',
    AWS_DEFAULT_REGION: '',
    AWS_ENDPOINT_URL: '',
    AWS_ENDPOINT_URL_S3: '',
    AWS_ENDPOINT_URL_STS: stsEndpoint,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

function writeSharedConfig(): void {
  const script = join(dir, 'credential-process.sh');
  writeFileSync(
    script,
    `#!/bin/sh\necho "$1" >> '${lookupsFile}'\nprintf '{"Version":1,"AccessKeyId":"%s","SecretAccessKey":"%s-process-secret"}' "$2" "$2"\n`,
  );
  writeFileSync(
    join(dir, 'config'),
    `[default]\ncredential_process = /bin/sh ${script} default ${DEFAULT_KEY}\n\n` +
      `[profile base]\ncredential_process = /bin/sh ${script} base ${PROFILE_KEY}\n`,
  );
  writeFileSync(join(dir, 'credentials'), '');
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cq-access-'));
  lookupsFile = join(dir, 'lookups');
  writeSharedConfig();
  s3 = await startS3Server();
  await s3.createBucket(BUCKET);
  await s3.createBucket(PUBLIC_BUCKET);
  const rows = (from: number) => `SELECT i::BIGINT AS id, 'v' || i AS name FROM range(${from}, ${from + ROWS_PER_FILE}) t(i)`;
  for (let n = 0; n < DATA_FILES; n++) {
    const file = await parquetFromSql(rows(n * ROWS_PER_FILE));
    await s3.put(BUCKET, `data/part-${n}.parquet`, file);
    await s3.put(PUBLIC_BUCKET, `pub/part-${n}.parquet`, file);
  }
  for (let n = 0; n < SLOW_FILES; n++) await s3.put(BUCKET, `slow/part-${n}.parquet`, await parquetFromSql(rows(n * ROWS_PER_FILE)));
  // S3's canned public-read ACL; Swift's s3api turns it into the container ACL .r:*,.rlistings.
  await s3.client.send(new PutBucketAclCommand({ Bucket: PUBLIC_BUCKET, ACL: 'public-read' }));

  proxy = await startFaultProxy(s3.endpoint);
  gateway = await startAnonymousGateway({
    target: s3.endpoint,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    region: s3.region,
    swiftAccount: 'AUTH_test',
  });
  anonProxy = await startFaultProxy(gateway.endpoint);
  sts = await startStsServer({
    callers: { [BASE_KEY]: BASE_SECRET, [PROFILE_KEY]: processSecret(PROFILE_KEY), [DEFAULT_KEY]: processSecret(DEFAULT_KEY) },
    roles: { [ROLE]: { externalId: EXTERNAL_ID, maxSessionSeconds: 3600 }, [SHORT_ROLE]: { maxSessionSeconds: 900 } },
    // The S3 test server knows only its own keys: they are what the role's sessions sign with.
    issue: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  plugin = await startPlugin({ env: pluginEnv(sts.endpoint) });
  pluginNoSts = await startPlugin({ env: pluginEnv('') });
});

after(async () => {
  await plugin?.stop();
  await pluginNoSts?.stop();
  await anonProxy?.stop();
  await gateway?.stop();
  await proxy?.stop();
  await sts?.stop();
  await s3?.stop();
  await closeFixtures();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  for (const p of [proxy, anonProxy]) {
    await p.setRule(undefined);
    p.requests.length = 0;
  }
  sts.calls.length = 0;
  sts.expiresInSeconds = undefined;
});

/** A spec reaching the private bucket through the proxy with the S3 server's keys. */
function spec(extra: Record<string, unknown> = {}) {
  return s3Spec(s3, BUCKET, { endpoint: proxy.endpoint, path_prefix: 'data/', ...extra });
}

/** The spec without the S3 server's keys (for anonymous access and roles on other base credentials). */
function keyless(extra: Record<string, unknown> = {}) {
  const { access_key_id: _id, secret_access_key: _secret, ...rest } = spec();
  return { ...rest, ...extra };
}

async function sync(p: PluginProcess, s: Record<string, unknown>): Promise<SyncResult> {
  await p.client.init(s);
  return p.client.sync({ tables: ['*'] });
}

async function failedSync(p: PluginProcess, s: Record<string, unknown>): Promise<SyncCallError> {
  const error = await sync(p, s).then(
    (result) => assert.fail(`the sync succeeded with ${result.rowCount()} rows`),
    (err: unknown) => err as SyncCallError,
  );
  assert.ok(error.code !== undefined, `not a gRPC error: ${String(error)}`);
  return error;
}

/** The ids delivered for `table` are exactly [0, files * ROWS_PER_FILE), each once. */
function assertAllRows(result: SyncResult, table: string, files: number): void {
  const ids = result.rows(table).map((r) => Number(r.id));
  assert.equal(ids.length, files * ROWS_PER_FILE, `rows of ${table}`);
  assert.deepEqual(
    [...new Set(ids)].sort((a, b) => a - b),
    Array.from({ length: files * ROWS_PER_FILE }, (_, i) => i),
  );
  assert.deepEqual(result.errors, []);
}

const isList = (r: ProxiedRequest) => r.method === 'GET' && /[?&]list-type=2(&|$)/.test(r.url);
const isObjectGet = (r: ProxiedRequest) => r.method === 'GET' && r.headers.range !== undefined;
const header = (r: ProxiedRequest, name: string) => r.headers[name] as string | undefined;
const describeRequests = (requests: ProxiedRequest[]) =>
  requests.map((r) => `${r.method} ${r.url} -> ${r.status} auth=${header(r, 'authorization')?.slice(0, 60) ?? '-'}`).join('\n');

describe('requester pays', () => {
  it('sends x-amz-request-payer: requester on every LIST and GET, and not without the option', async () => {
    const result = await sync(plugin, spec({ requester_pays: true }));
    assertAllRows(result, 'data', DATA_FILES);
    const lists = proxy.requests.filter(isList);
    const gets = proxy.requests.filter(isObjectGet);
    assert.ok(lists.length >= 1 && gets.length >= DATA_FILES, describeRequests(proxy.requests));
    for (const r of [...lists, ...gets]) assert.equal(header(r, 'x-amz-request-payer'), 'requester', `${r.method} ${r.url}`);

    proxy.requests.length = 0;
    assertAllRows(await sync(plugin, spec()), 'data', DATA_FILES);
    assert.ok(proxy.requests.length > 0);
    for (const r of proxy.requests) assert.equal(header(r, 'x-amz-request-payer'), undefined, `${r.method} ${r.url}`);
  });
});

describe('SSE-C', () => {
  const md5 = createHash('md5').update(SSE_KEY).digest('base64');

  it('sends the algorithm, key and key MD5 with every GET and nothing of them with a LIST', async () => {
    // Swift's s3api does not implement SSE-C: it ignores the headers and serves the (unencrypted)
    // objects, so the rows arrive; what this proves is what the plugin sends.
    const result = await sync(plugin, spec({ sse_customer_key: SSE_KEY_B64URL }));
    assertAllRows(result, 'data', DATA_FILES);
    const gets = proxy.requests.filter(isObjectGet);
    assert.ok(gets.length >= DATA_FILES, describeRequests(proxy.requests));
    for (const r of gets) {
      assert.equal(header(r, 'x-amz-server-side-encryption-customer-algorithm'), 'AES256');
      assert.equal(header(r, 'x-amz-server-side-encryption-customer-key'), SSE_KEY_B64);
      assert.equal(header(r, 'x-amz-server-side-encryption-customer-key-md5'), md5);
      assert.match(header(r, 'authorization') ?? '', /SignedHeaders=[^,]*x-amz-server-side-encryption-customer-key;/);
    }
    for (const r of proxy.requests.filter(isList)) {
      assert.deepEqual(
        Object.keys(r.headers).filter((h) => h.includes('server-side-encryption')),
        [],
      );
    }
  });

  it('never shows the key: not in the logs (debug level), not in per-object errors, not in a failed sync', async () => {
    // As S3 answers SSE-C parameters for an object that is not SSE-C encrypted: that object is skipped.
    await proxy.setRule({
      action: 'error',
      status: 400,
      code: 'InvalidRequest',
      message: 'The encryption parameters are not applicable to this object.',
      match: { method: 'GET', path: `/${BUCKET}/data/part-1.parquet` },
    });
    const partial = await sync(plugin, spec({ sse_customer_key: SSE_KEY_B64URL }));
    assert.equal(partial.errors.length, 1, JSON.stringify(partial.errors));
    assert.match(partial.errors[0]!.error, /data\/part-1\.parquet/);
    assert.match(partial.errors[0]!.error, /not encrypted with a customer-provided key \(SSE-C\)/);

    // As S3 answers a GET with the wrong key: 403, which ends the sync.
    await proxy.setRule({
      action: 'error',
      status: 403,
      code: 'AccessDenied',
      message: 'Access Denied',
      match: { method: 'GET', range: true },
    });
    const failed = await failedSync(plugin, spec({ sse_customer_key: SSE_KEY_B64URL }));
    assert.equal(failed.code, grpc.status.PERMISSION_DENIED);
    assert.match(failed.details, /sse_customer_key is the key the object was written with/);

    // Every line the plugin printed so far (at debug level), this describe's syncs included.
    const seen = [...plugin.logs, ...partial.errors.map((e) => e.error), failed.details, failed.message].join('\n');
    assert.ok(plugin.logs.length > 0);
    for (const form of [SSE_KEY_B64, SSE_KEY_B64URL, SSE_KEY.toString('hex'), SSE_KEY_B64.slice(0, 16)]) {
      assert.ok(!seen.includes(form), `the key (${form.slice(0, 6)}...) appears in what the plugin said`);
    }
  });
});

describe('anonymous', () => {
  it('reads a public-read bucket with unsigned requests, without looking up any credentials', async () => {
    const lookupsBefore = lookups().length;
    const result = await sync(
      plugin,
      keyless({ bucket: PUBLIC_BUCKET, endpoint: anonProxy.endpoint, path_prefix: 'pub/', anonymous: true }),
    );
    assertAllRows(result, 'pub', DATA_FILES);
    assert.ok(anonProxy.requests.filter(isObjectGet).length >= DATA_FILES, describeRequests(anonProxy.requests));
    for (const r of anonProxy.requests) {
      for (const h of ['authorization', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256']) {
        assert.equal(header(r, h), undefined, `${r.method} ${r.url} carries ${h}`);
      }
    }
    // The shared config's credential_process would have run on any lookup of the default chain.
    assert.equal(lookups().length, lookupsBefore);
  });

  it('a bucket that is not public: the sync fails saying anonymous access was refused', async () => {
    const refusedBefore = gateway.refused;
    const error = await failedSync(plugin, keyless({ endpoint: anonProxy.endpoint, anonymous: true }));
    assert.equal(error.code, grpc.status.PERMISSION_DENIED);
    assert.match(error.details, new RegExp(`bucket "${BUCKET}" at ${anonProxy.endpoint} refused anonymous access`));
    assert.match(error.details, /the bucket is not public/);
    assert.doesNotMatch(error.details, /check the credentials/);
    assert.ok(gateway.refused > refusedBefore, 'Swift was not asked');
    for (const r of anonProxy.requests) assert.equal(header(r, 'authorization'), undefined);
  });
});

describe('region', () => {
  const signingRegion = (r: ProxiedRequest) => parseAuthorization(header(r, 'authorization'))?.region;

  it('a wrong region is followed: the sync delivers every row, the requests move to the region Swift names', async () => {
    const result = await sync(plugin, spec({ region: 'eu-west-1' }));
    assertAllRows(result, 'data', DATA_FILES);
    const [first, ...rest] = proxy.requests;
    assert.ok(first && isList(first), describeRequests(proxy.requests));
    // Swift's s3api answers a request signed for another region than its own 400
    // AuthorizationHeaderMalformed, naming its region (us-east-1) in the body.
    assert.equal(signingRegion(first), 'eu-west-1');
    assert.equal(first.status, 400);
    assert.ok(rest.length > DATA_FILES);
    for (const r of rest) assert.equal(signingRegion(r), s3.region, `${r.method} ${r.url}`);
  });

  const newLogs = (from: number) => parseJsonLines(plugin.logs.slice(from));

  it('no region in the spec: the plugin asks the bucket, logs the region and reads it there', async () => {
    const logsBefore = plugin.logs.length;
    const s: Record<string, unknown> = spec();
    delete s.region;
    const result = await sync(plugin, s);
    assertAllRows(result, 'data', DATA_FILES);
    // Swift sends no x-amz-bucket-region: HeadBucket, then GetBucketLocation (empty: us-east-1).
    assert.equal(proxy.requests[0]?.method, 'HEAD', describeRequests(proxy.requests));
    assert.match(proxy.requests[1]?.url ?? '', /[?&]location/);
    for (const r of proxy.requests) assert.equal(signingRegion(r), 'us-east-1');
    const logs = newLogs(logsBefore);
    const found = logs.find((l) => l.level === 'info' && l.message === `bucket "${BUCKET}" is in region us-east-1`);
    assert.equal(found?.found_by, 'GetBucketLocation', JSON.stringify(logs));
    const initialized = logs.find((l) => l.message === 'initialized');
    assert.match(String(initialized?.store), /region us-east-1, found from the bucket/);
  });

  it('a wrong region: the plugin logs a warning naming the right one', async () => {
    const logsBefore = plugin.logs.length;
    assertAllRows(await sync(plugin, spec({ region: 'eu-west-1' })), 'data', DATA_FILES);
    const warnings = newLogs(logsBefore).filter((l) => l.level === 'warn');
    assert.deepEqual(
      warnings.map((w) => w.message),
      [`bucket "${BUCKET}" is in region us-east-1, not eu-west-1: reading it there; set region: us-east-1`],
    );
  });

  it('the store logs the region it found at info and warns about a wrong one, once for requests failing together', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({
      level: 'debug',
      format: 'json',
      write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
    });
    const base = { ...spec(), path_prefix: '' };
    // The spec parser may still require region: the store is opened with a spec resolved with one and then without.
    const unresolved = parseSpec(base);
    const found = await openStore({ ...unresolved, store: { kind: 's3', bucket: BUCKET, region: '' } }, logger);
    try {
      assert.match(found.location, /region us-east-1, found from the bucket/);
      const info = lines.find((l) => l.level === 'info');
      assert.equal(info?.message, `bucket "${BUCKET}" is in region us-east-1`);
      assert.equal(info?.found_by, 'GetBucketLocation');
    } finally {
      found.close();
    }

    lines.length = 0;
    const wrong = await openStore(parseSpec({ ...base, region: 'ap-southeast-2' }), logger);
    try {
      // Several requests at once, all signed for the wrong region: one move, one warning.
      const pages = await Promise.all(
        Array.from({ length: 4 }, async () => {
          const keys: string[] = [];
          for await (const page of wrong.list('data/')) keys.push(...page.map((o) => o.key));
          return keys;
        }),
      );
      for (const keys of pages) assert.equal(keys.length, DATA_FILES);
      const warnings = lines.filter((l) => l.level === 'warn');
      assert.equal(warnings.length, 1, JSON.stringify(lines));
      assert.equal(
        warnings[0]!.message,
        `bucket "${BUCKET}" is in region us-east-1, not ap-southeast-2: reading it there; set region: us-east-1`,
      );
      assert.match(wrong.location, /region us-east-1\)$/);
    } finally {
      wrong.close();
    }
  });
});

describe('assume role', () => {
  const token = (r: ProxiedRequest) => header(r, 'x-amz-security-token');

  function assertSignedWithSessions(requests: ProxiedRequest[]): void {
    const issued = new Set(sts.calls.map((c) => c.sessionToken).filter(Boolean));
    assert.ok(requests.length > 0);
    for (const r of requests) {
      const auth = parseAuthorization(header(r, 'authorization'));
      assert.equal(auth?.accessKeyId, s3.accessKeyId, `${r.method} ${r.url}: not signed with the session's key`);
      assert.ok(issued.has(token(r)), `${r.method} ${r.url}: session token ${token(r)} was not issued by STS`);
    }
  }

  it("calls AssumeRole with the spec's values, signed with the spec's keys, then signs S3 requests with the session", async () => {
    const result = await sync(
      plugin,
      keyless({
        access_key_id: BASE_KEY,
        secret_access_key: BASE_SECRET,
        role_arn: ROLE,
        external_id: EXTERNAL_ID,
        role_session_name: 'cq-access-test',
        session_duration: 900,
      }),
    );
    assertAllRows(result, 'data', DATA_FILES);
    assert.equal(sts.calls.length, 1, JSON.stringify(sts.calls));
    const call = sts.calls[0]!;
    assert.deepEqual(
      {
        roleArn: call.roleArn,
        externalId: call.externalId,
        roleSessionName: call.roleSessionName,
        durationSeconds: call.durationSeconds,
        accessKeyId: call.accessKeyId,
        signatureValid: call.signatureValid,
        signingRegion: call.signingRegion,
      },
      {
        roleArn: ROLE,
        externalId: EXTERNAL_ID,
        roleSessionName: 'cq-access-test',
        durationSeconds: 900,
        accessKeyId: BASE_KEY,
        signatureValid: true,
        signingRegion: s3.region,
      },
    );
    assertSignedWithSessions(proxy.requests);
    assert.ok(!proxy.requests.some((r) => header(r, 'authorization')?.includes(BASE_KEY)), 'the base key reached S3');
  });

  it('on top of a profile, and of the default chain: AssumeRole is signed with the keys they provide', async () => {
    const before = lookups().length;
    assertAllRows(await sync(plugin, keyless({ local_profile: 'base', role_arn: ROLE, external_id: EXTERNAL_ID })), 'data', DATA_FILES);
    assertAllRows(await sync(plugin, keyless({ role_arn: ROLE, external_id: EXTERNAL_ID })), 'data', DATA_FILES);
    assert.deepEqual(
      sts.calls.map((c) => [c.accessKeyId, c.signatureValid, c.roleSessionName, c.durationSeconds]),
      [
        [PROFILE_KEY, true, 'cq-source-s3', 3600],
        [DEFAULT_KEY, true, 'cq-source-s3', 3600],
      ],
    );
    assert.deepEqual(lookups().slice(before), ['base', 'default']);
    assertSignedWithSessions(proxy.requests);
  });

  it('refreshes the session before it expires during a long sync', async () => {
    // Sessions of 900 s that the stand-in says end 301 s after they begin: the SDK renews credentials
    // within 5 minutes of their expiration, so each session is due about a second after it was issued.
    sts.expiresInSeconds = 301;
    await proxy.setRule({ action: 'delay', ms: 700, match: { method: 'GET', range: true } });
    const started = Date.now();
    const result = await sync(plugin, keyless({ ...roleSpec(SHORT_ROLE), path_prefix: 'slow/', concurrency: 1, session_duration: 900 }));
    assertAllRows(result, 'slow', SLOW_FILES);
    const s3Requests = proxy.requests.filter((r) => r.time >= started);
    assertSignedWithSessions(s3Requests);
    const issuedOrder = sts.calls.map((c) => c.sessionToken);
    assert.ok(sts.calls.length >= 3, `${sts.calls.length} AssumeRole calls over ${Date.now() - started} ms`);
    assert.ok(
      sts.calls.every((c) => c.durationSeconds === 900 && c.accessKeyId === BASE_KEY),
      JSON.stringify(sts.calls),
    );
    // Sessions are used in the order they were issued, and each one before its expiration.
    const used = s3Requests.map((r) => issuedOrder.indexOf(token(r)));
    assert.deepEqual(
      used,
      [...used].sort((a, b) => a - b),
      'a request used an older session than one before it',
    );
    assert.ok(new Set(used).size >= 2, `only ${new Set(used).size} session(s) signed the S3 requests`);
    for (const r of s3Requests) {
      const call = sts.calls[issuedOrder.indexOf(token(r))]!;
      assert.ok(r.time < call.expiration!.getTime());
    }
  });

  it('STS refusals fail the sync with a message naming the role and what to check, never a secret', async () => {
    const cases: [string, Record<string, unknown>, grpc.status, RegExp][] = [
      [
        'no external_id',
        roleSpec(ROLE, { external_id: undefined }),
        grpc.status.PERMISSION_DENIED,
        /refused \(AccessDenied: .*whether an external_id is needed/,
      ],
      [
        'a wrong external_id',
        roleSpec(ROLE, { external_id: 'wrong' }),
        grpc.status.PERMISSION_DENIED,
        /the external_id is the one the role expects/,
      ],
      [
        'an ARN AWS rejects',
        roleSpec('arn:aws:iam::123:role/reader'),
        grpc.status.PERMISSION_DENIED,
        /rejected the request \(ValidationError: .*check role_arn/,
      ],
      [
        'too long a session',
        roleSpec(SHORT_ROLE, { session_duration: 3600 }),
        grpc.status.PERMISSION_DENIED,
        /MaxSessionDuration.*session_duration is at most/,
      ],
      [
        'unknown base keys',
        roleSpec(ROLE, { access_key_id: 'AKIDUNKNOWN' }),
        grpc.status.PERMISSION_DENIED,
        /does not accept the base credentials \(InvalidClientTokenId/,
      ],
    ];
    for (const [what, s, code, message] of cases) {
      const error = await failedSync(plugin, s);
      assert.equal(error.code, code, `${what}: ${error.details}`);
      assert.ok(error.details.startsWith(`assuming role ${String(s.role_arn)}: `), `${what}: ${error.details}`);
      assert.match(error.details, message, what);
      assert.match(error.details, new RegExp(`STS at ${sts.endpoint}`), what);
      for (const secret of [BASE_SECRET, s3.secretAccessKey])
        assert.ok(!error.details.includes(secret), `${what}: a secret in ${error.details}`);
    }
    assert.equal(proxy.requests.length, 0, 'S3 was asked without credentials');
  });

  it('a role_arn that is no ARN fails Init', async () => {
    await assert.rejects(plugin.client.init(roleSpec('reader')), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
      assert.match(err.details, /role_arn: "reader" is not an ARN; expected arn:aws:iam::ACCOUNT:role\/NAME/);
      return true;
    });
  });

  it('with a custom endpoint and no AWS_ENDPOINT_URL_STS, AssumeRole goes to that endpoint, never to AWS', async () => {
    // Swift has no STS: it answers the AssumeRole POST as an S3 request signed for the wrong service.
    const error = await failedSync(pluginNoSts, roleSpec(ROLE, { external_id: EXTERNAL_ID }));
    const posts = proxy.requests.filter((r) => r.method === 'POST' && r.url === '/');
    assert.equal(posts.length >= 1, true, describeRequests(proxy.requests));
    assert.equal(parseAuthorization(header(posts[0]!, 'authorization'))?.service, 'sts');
    assert.equal(parseAuthorization(header(posts[0]!, 'authorization'))?.accessKeyId, BASE_KEY);
    assert.equal(error.code, grpc.status.UNKNOWN, error.details);
    assert.ok(error.details.startsWith(`assuming role ${ROLE}: ${proxy.endpoint} did not answer as STS does (`), error.details);
    assert.match(error.details, /incorrect service "sts"/);
    assert.equal(sts.calls.length, 0);
  });

  it('an unreachable STS: the sync fails saying so', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const error = await failedSync(pluginNoSts, roleSpec(ROLE, { external_id: EXTERNAL_ID, endpoint: closed }));
    assert.equal(error.code, grpc.status.UNAVAILABLE, error.details);
    assert.equal(
      error.details,
      `assuming role ${ROLE}: cannot reach STS at ${closed} (ECONNREFUSED); check network and proxy settings (AWS_ENDPOINT_URL_STS sets another STS endpoint)`,
    );
  });
});

/** A role on the base keys BASE_KEY/BASE_SECRET; `extra` overrides (undefined removes a field). */
function roleSpec(roleArn: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const s: Record<string, unknown> = keyless({ access_key_id: BASE_KEY, secret_access_key: BASE_SECRET, role_arn: roleArn, ...extra });
  for (const [k, v] of Object.entries(s)) if (v === undefined) delete s[k];
  return s;
}
