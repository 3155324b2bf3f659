// How the S3 clients authenticate: static keys from the spec, a profile, the AWS default chain, a role
// assumed with STS on top of one of those, or not at all (anonymous, unsigned requests).
import type { S3ClientConfig } from '@aws-sdk/client-s3';
// Named imports of a side-effect-free package: the bundle keeps these two (the default chain is in the
// S3 client already; the STS client is loaded on first use), not the package's other providers.
import { fromNodeProviderChain, fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { AccessOptions } from '../spec-access.js';
import { networkCode, redactUrl, scrubSecrets } from './s3-errors.js';
import { StoreError } from './types.js';

export interface AuthSettings {
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  localProfile: string;
  access: AccessOptions;
  /** The custom S3 endpoint, '' for AWS. */
  endpoint: string;
  /** The region STS is asked in (the spec's region, or us-east-1 when the spec has none). */
  stsRegion: string;
}

/** The part of an S3 client's configuration that decides how its requests are signed. */
export type ClientAuth = Pick<S3ClientConfig, 'credentials' | 'profile' | 'httpAuthSchemes'>;

type AuthScheme = NonNullable<S3ClientConfig['httpAuthSchemes']>[number];
type CredentialProvider = Extract<NonNullable<S3ClientConfig['credentials']>, (...args: never[]) => unknown>;

/**
 * Unsigned requests. The S3 client picks the identity and the signer of its auth schemes; replacing
 * both with ones that do nothing means no Authorization header and no credential lookup at all (not
 * even the default chain's environment, files or instance metadata, which could take seconds).
 */
const UNSIGNED: AuthScheme[] = ['aws.auth#sigv4', 'aws.auth#sigv4a'].map((schemeId) => ({
  schemeId,
  identityProvider: () => async () => ({}),
  signer: { sign: async (request) => request },
}));

export function clientAuth(settings: AuthSettings): ClientAuth {
  const { access } = settings;
  if (access.anonymous) return { httpAuthSchemes: UNSIGNED };
  if (!access.roleArn) {
    if (settings.credentials) return { credentials: settings.credentials };
    return settings.localProfile ? { profile: settings.localProfile } : {};
  }
  return { credentials: assumedRole(settings, access.roleArn) };
}

/**
 * Where AssumeRole is sent. The SDK's own AWS_ENDPOINT_URL_STS wins when set. Otherwise, with a custom S3
 * endpoint, that endpoint: the S3-compatible stores that implement STS (MinIO, Ceph RGW, LocalStack)
 * serve it there, and a role of such a store means nothing to AWS: asking AWS would send a request
 * signed with the store's keys to AWS, only to fail confusingly. Without a custom endpoint, AWS's regional STS (undefined: the SDK's
 * default for the region).
 */
export function stsEndpoint(endpoint: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.AWS_ENDPOINT_URL_STS) return undefined;
  return endpoint || undefined;
}

/** The STS endpoint as messages show it. */
export function stsEndpointText(settings: Pick<AuthSettings, 'endpoint' | 'stsRegion'>, env: NodeJS.ProcessEnv = process.env): string {
  // The SDK's generic AWS_ENDPOINT_URL applies to STS too, when nothing more specific does.
  const url = env.AWS_ENDPOINT_URL_STS || settings.endpoint || env.AWS_ENDPOINT_URL || `https://sts.${settings.stsRegion}.amazonaws.com`;
  return redactUrl(url);
}

/**
 * Credentials of the role, from STS, on top of the base credentials (the spec's keys, the profile, or
 * the default chain). The S3 client memoizes them and calls this again when they are within five
 * minutes of their expiration, so a long sync never signs with expired credentials (sessions last at
 * least 15 minutes). STS errors become messages naming the role.
 */
function assumedRole(settings: AuthSettings, roleArn: string): CredentialProvider {
  const { access } = settings;
  const base = settings.credentials ?? fromNodeProviderChain(settings.localProfile ? { profile: settings.localProfile } : {});
  const provider = fromTemporaryCredentials({
    params: {
      RoleArn: roleArn,
      RoleSessionName: access.roleSessionName,
      DurationSeconds: access.sessionDurationSeconds,
      ...(access.externalId !== undefined ? { ExternalId: access.externalId } : {}),
    },
    masterCredentials: base,
    clientConfig: { region: settings.stsRegion, endpoint: stsEndpoint(settings.endpoint) },
  });
  const where = stsEndpointText(settings);
  return async (properties) => {
    try {
      return await provider(properties);
    } catch (err) {
      throw describeRoleError(err, { roleArn, externalId: access.externalId !== undefined, where });
    }
  };
}

interface RoleContext {
  roleArn: string;
  /** Whether the spec gives an external_id (its value is never shown). */
  externalId: boolean;
  /** The STS endpoint, for messages. */
  where: string;
}

interface StsLikeError {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const BASE_CREDENTIALS = 'access_key_id/secret_access_key, local_profile, or the AWS default chain';

/** An STS failure as a message naming the role and what to check; never a credential. */
export function describeRoleError(err: unknown, context: RoleContext): StoreError {
  if (err instanceof StoreError) return err;
  const e = (err ?? {}) as StsLikeError;
  const name = e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  const said = typeof e.message === 'string' && e.message && e.message !== name ? scrubSecrets(e.message) : '';
  // The SDK names an answer it could not parse "Unknown": the HTTP status says more.
  const label = name && !['Error', 'Unknown', 'UnknownError'].includes(name) ? name : status ? `HTTP ${status}` : '';
  const detail = ` (${[label, said].filter(Boolean).join(': ') || 'no details'})`;
  const role = `assuming role ${context.roleArn}`;

  if (name === 'AccessDenied' || name === 'AccessDeniedException' || (status === 403 && !/Token|Signature|Region/.test(name))) {
    const external = context.externalId ? 'the external_id is the one the role expects' : 'an external_id is needed (set external_id)';
    return new StoreError(
      `${role}: STS at ${context.where} refused${detail}; check that the role's trust policy lets the base credentials ` +
        `(${BASE_CREDENTIALS}) call sts:AssumeRole, and whether ${external}`,
      'access_denied',
    );
  }
  if (/^(InvalidClientTokenId|SignatureDoesNotMatch|IncompleteSignature|ExpiredToken(Exception)?|InvalidToken)$/.test(name)) {
    return new StoreError(
      `${role}: STS at ${context.where} does not accept the base credentials${detail}; check ${BASE_CREDENTIALS}`,
      'credentials',
    );
  }
  if (name === 'RegionDisabledException') {
    return new StoreError(`${role}: STS is not activated in this region${detail}; activate it in IAM or set region`, 'credentials');
  }
  // An answer STS's own error format does not describe: the endpoint is something else (an S3-only store).
  if (
    name === 'Unknown' ||
    name === 'UnknownError' ||
    name === 'InvalidAction' ||
    (status !== undefined && [404, 405, 501].includes(status))
  ) {
    return new StoreError(
      `${role}: ${context.where} did not answer as STS does${detail}; it may not implement STS: with a custom endpoint ` +
        `STS is asked there, and AWS_ENDPOINT_URL_STS names another STS endpoint`,
      'other',
    );
  }
  if (/^(ValidationError|InvalidParameter\w*|MalformedPolicyDocument\w*|PackedPolicyTooLarge\w*)$/.test(name) || status === 400) {
    return new StoreError(
      `${role}: STS at ${context.where} rejected the request${detail}; check role_arn (arn:aws:iam::ACCOUNT:role/NAME), ` +
        `role_session_name, and that session_duration is at most the role's maximum session duration`,
      'credentials',
    );
  }
  // Before network failures: the default chain's last link (instance metadata) fails on the network too.
  if (name === 'CredentialsProviderError' || (!status && /credential/i.test(e.message ?? ''))) {
    return new StoreError(`${role}: no base credentials to call STS with${detail}; set ${BASE_CREDENTIALS}`, 'credentials');
  }
  const net = networkCode(err);
  if (net) {
    return new StoreError(
      `${role}: cannot reach STS at ${context.where} (${net}); check network and proxy settings ` +
        `(AWS_ENDPOINT_URL_STS sets another STS endpoint)`,
      'unreachable',
    );
  }
  return new StoreError(`${role}: STS at ${context.where} failed${detail}`, 'other');
}
