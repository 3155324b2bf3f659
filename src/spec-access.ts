// The spec's ways of reaching a bucket beyond static keys and profiles: an assumed role, anonymous
// (unsigned) access to public buckets, requester-pays buckets and SSE-C encrypted objects.
import type { JSONSchemaType } from 'ajv';

export interface AccessSpec {
  role_arn?: string;
  external_id?: string;
  role_session_name?: string;
  session_duration?: number;
  anonymous?: boolean;
  requester_pays?: boolean;
  sse_customer_key?: string;
}

/** After defaults. */
export interface AccessOptions {
  roleArn?: string;
  externalId?: string;
  roleSessionName: string;
  sessionDurationSeconds: number;
  anonymous: boolean;
  requesterPays: boolean;
  sseCustomerKey?: string;
}

export const accessSchemaProperties: JSONSchemaType<AccessSpec>['properties'] = {
  role_arn: { type: 'string', nullable: true, minLength: 1, description: 'IAM role to assume with STS on top of the base credentials.' },
  external_id: { type: 'string', nullable: true, description: 'External ID the role requires, if any.' },
  role_session_name: { type: 'string', nullable: true, description: 'Session name of the assumed role (default cq-source-s3).' },
  session_duration: {
    type: 'integer',
    nullable: true,
    minimum: 900,
    maximum: 43200,
    description: 'Seconds an assumed-role session lasts (default 3600); it is refreshed before it expires.',
  },
  anonymous: { type: 'boolean', nullable: true, description: 'Send unsigned requests (public buckets).' },
  requester_pays: { type: 'boolean', nullable: true, description: 'Send the request-payer header (requester-pays buckets).' },
  sse_customer_key: { type: 'string', nullable: true, description: 'SSE-C key of the objects (base64 of 32 bytes). Never logged.' },
};

export function resolveAccess(spec: AccessSpec): AccessOptions {
  return {
    roleArn: spec.role_arn,
    externalId: spec.external_id,
    roleSessionName: spec.role_session_name ?? 'cq-source-s3',
    sessionDurationSeconds: spec.session_duration ?? 3600,
    anonymous: spec.anonymous ?? false,
    requesterPays: spec.requester_pays ?? false,
    sseCustomerKey: spec.sse_customer_key === undefined ? undefined : canonicalBase64(spec.sse_customer_key),
  };
}

/**
 * The key in standard base64. The SDK sends a string that is not strict standard base64 (URL-safe
 * alphabet, line breaks) as if it were the key's text, which would be the wrong key.
 */
function canonicalBase64(key: string): string {
  return Buffer.from(key, 'base64').toString('base64');
}

/**
 * arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE. Loose on purpose: S3-compatible stores with STS have
 * ARNs of their own (MinIO arn:minio:iam:::role/NAME, Ceph arn:aws:iam:::role/NAME, with no account).
 */
const ARN = /^arn:[^:\s]+:[^:\s]+:[^:\s]*:[^:\s]*:\S+$/;

/** What the JSON Schema cannot say about access options. */
export function accessProblems(spec: AccessSpec & { access_key_id?: string; local_profile?: string }): string[] {
  const problems: string[] = [];
  if (spec.role_arn && !ARN.test(spec.role_arn)) {
    problems.push(`role_arn: "${spec.role_arn}" is not an ARN; expected arn:aws:iam::ACCOUNT:role/NAME`);
  }
  if (spec.anonymous && spec.role_arn) problems.push('anonymous and role_arn are exclusive: unsigned requests cannot assume a role');
  if (spec.anonymous && (spec.access_key_id || spec.local_profile)) {
    problems.push('anonymous and access_key_id/local_profile are exclusive: anonymous requests are not signed');
  }
  if ((spec.external_id || spec.role_session_name || spec.session_duration) && !spec.role_arn) {
    problems.push('external_id, role_session_name and session_duration need role_arn');
  }
  if (spec.sse_customer_key !== undefined && Buffer.from(spec.sse_customer_key, 'base64').length !== 32) {
    problems.push('sse_customer_key: must be the base64 encoding of a 32-byte key');
  }
  return problems;
}
