// An STS stand-in for the assume-role tests: no STS-compatible server runs offline here, so this answers
// the one call the plugin makes, AssumeRole, over AWS's query protocol (a form-encoded POST, an XML
// answer in the shape the SDK parses), and records each call: the parameters, the access key that
// signed it and whether the signature holds for that key's secret.
//
// The credentials it hands out are fixed by the test (the S3 test server accepts only its own keys);
// what changes with every call is the session token, which is how a test tells sessions apart. Their
// Expiration is set by the test too, so it can make a session due for refresh a few seconds in.
//
// Errors as AWS words them: an unknown key (InvalidClientTokenId), a bad signature (SignatureDoesNotMatch),
// an ARN AWS would reject (ValidationError), a role the caller may not assume or a wrong external ID
// (AccessDenied). Loopback only; closes itself after LIFETIME_MS.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { readBody, serveOnLoopback } from './loopback-http.js';
import { parseAuthorization, sha256Hex, signature } from './sigv4.js';

export interface AssumeRoleCall {
  roleArn: string;
  roleSessionName: string;
  externalId?: string;
  durationSeconds?: number;
  /** The access key the request was signed with. */
  accessKeyId: string;
  /** Whether the signature verifies with the secret of that key. */
  signatureValid: boolean;
  /** The region of the signature's scope. */
  signingRegion: string;
  /** Date.now() when the call arrived. */
  time: number;
  /** What it answered: the session token and expiration handed out, or the error code. */
  sessionToken?: string;
  expiration?: Date;
  error?: string;
}

export interface StsRole {
  /** The external ID the role's trust policy requires, if any. */
  externalId?: string;
  /** The role's maximum session duration (default 3600). */
  maxSessionSeconds?: number;
}

export interface StsStandInOptions {
  /** Base credentials allowed to call AssumeRole: access key id -> secret access key. */
  callers: Record<string, string>;
  /** The roles that exist, by ARN. */
  roles: Record<string, StsRole>;
  /** The keys every session gets (a fresh session token each time). */
  issue: { accessKeyId: string; secretAccessKey: string };
}

export interface StsStandIn {
  endpoint: string;
  calls: AssumeRoleCall[];
  /** Seconds from the call to the Expiration it answers; default: the call's DurationSeconds. */
  expiresInSeconds?: number;
  stop(): Promise<void>;
}

const MAX_BODY = 64 * 1024;
const LIFETIME_MS = 10 * 60_000;
const NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
/** What AWS accepts as a role ARN (the plugin's own check is looser, for S3-compatible stores). */
const AWS_ROLE_ARN = /^arn:aws:iam::\d{12}:role\/[\w+=,.@/-]+$/;

export async function startStsServer(options: StsStandInOptions): Promise<StsStandIn> {
  const calls: AssumeRoleCall[] = [];
  const standIn: StsStandIn = { endpoint: '', calls, stop: async () => {} };
  let issued = 0;

  const answer = (req: http.IncomingMessage, body: string): { status: number; xml: string } => {
    const form = new URLSearchParams(body);
    if (form.get('Action') !== 'AssumeRole') return error(400, 'InvalidAction', `Could not find operation ${form.get('Action')}`);
    const auth = parseAuthorization(req.headers.authorization);
    const call: AssumeRoleCall = {
      roleArn: form.get('RoleArn') ?? '',
      roleSessionName: form.get('RoleSessionName') ?? '',
      ...(form.has('ExternalId') ? { externalId: form.get('ExternalId')! } : {}),
      ...(form.has('DurationSeconds') ? { durationSeconds: Number(form.get('DurationSeconds')) } : {}),
      accessKeyId: auth?.accessKeyId ?? '',
      signatureValid: false,
      signingRegion: auth?.region ?? '',
      time: Date.now(),
    };
    calls.push(call);
    const secret = options.callers[call.accessKeyId];
    const fail = (status: number, code: string, message: string) => {
      call.error = code;
      return error(status, code, message);
    };
    if (!auth || secret === undefined) return fail(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
    call.signatureValid = verify(req, body, auth, secret);
    if (!call.signatureValid)
      return fail(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
    if (!AWS_ROLE_ARN.test(call.roleArn)) {
      return fail(400, 'ValidationError', `1 validation error detected: Value '${call.roleArn}' at 'roleArn' failed to satisfy constraint`);
    }
    const role = options.roles[call.roleArn];
    if (!role || role.externalId !== call.externalId) {
      return fail(
        403,
        'AccessDenied',
        `User: arn:aws:iam::123456789012:user/base is not authorized to perform: sts:AssumeRole on resource: ${call.roleArn}`,
      );
    }
    const duration = call.durationSeconds ?? 3600;
    if (duration > (role.maxSessionSeconds ?? 3600)) {
      return fail(400, 'ValidationError', 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
    }
    call.sessionToken = `session-${++issued}-${randomBytes(6).toString('hex')}`;
    call.expiration = new Date(Math.floor(call.time / 1000) * 1000 + (standIn.expiresInSeconds ?? duration) * 1000);
    return { status: 200, xml: success(call, options.issue) };
  };

  const server = http.createServer((req, res) => {
    void readBody(req, MAX_BODY).then((body) => {
      if (body === undefined) return;
      const { status, xml } = answer(req, body.toString('utf8'));
      res.writeHead(status, {
        'Content-Type': 'text/xml',
        'Content-Length': Buffer.byteLength(xml),
        'x-amzn-RequestId': `standin-${calls.length}`,
      });
      res.end(xml);
    });
  });
  Object.assign(standIn, await serveOnLoopback(server, LIFETIME_MS));
  return standIn;
}

/** Whether the request's signature is the one `secret` makes over the headers it says it signed. */
function verify(
  req: http.IncomingMessage,
  body: string,
  auth: NonNullable<ReturnType<typeof parseAuthorization>>,
  secret: string,
): boolean {
  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    const value = req.headers[name];
    if (value === undefined) return false;
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const request = {
    method: req.method ?? 'POST',
    path: q < 0 ? url : url.slice(0, q),
    query: q < 0 ? '' : url.slice(q + 1),
    headers,
    payloadHash: String(req.headers['x-amz-content-sha256'] ?? sha256Hex(body)),
  };
  return signature(request, secret, amzDate, auth.region, auth.service) === auth.signature;
}

function success(call: AssumeRoleCall, keys: StsStandInOptions['issue']): string {
  const roleName = call.roleArn.split('/').pop();
  return `<AssumeRoleResponse xmlns="${NS}">
  <AssumeRoleResult>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/${escapeXml(roleName ?? '')}/${escapeXml(call.roleSessionName)}</Arn>
      <AssumedRoleId>AROASTANDIN:${escapeXml(call.roleSessionName)}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>${escapeXml(keys.accessKeyId)}</AccessKeyId>
      <SecretAccessKey>${escapeXml(keys.secretAccessKey)}</SecretAccessKey>
      <SessionToken>${call.sessionToken}</SessionToken>
      <Expiration>${call.expiration!.toISOString()}</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>standin</RequestId></ResponseMetadata>
</AssumeRoleResponse>`;
}

function error(status: number, code: string, message: string): { status: number; xml: string } {
  return {
    status,
    xml: `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>standin</RequestId></ErrorResponse>`,
  };
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
