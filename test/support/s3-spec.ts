// The plugin spec that reads a bucket of the test S3 server: its endpoint, region and keys, path-style
// addressing (Swift's s3api, like most S3-compatible stores, needs it).
import type { S3TestServer } from './s3-server.js';

/** `extra` adds fields or replaces these (an `endpoint` of a proxy in front of the server, say). */
export function s3Spec(
  s3: Pick<S3TestServer, 'endpoint' | 'region' | 'accessKeyId' | 'secretAccessKey'>,
  bucket: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    bucket,
    region: s3.region,
    endpoint: s3.endpoint,
    path_style: true,
    access_key_id: s3.accessKeyId,
    secret_access_key: s3.secretAccessKey,
    ...extra,
  };
}
