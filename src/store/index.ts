// Picks the store a spec asks for.
import type { ResolvedSpec } from '../spec.js';
import { LocalStore } from './local.js';
import { S3Store } from './s3.js';
import type { Store } from './types.js';

export function openStore(spec: ResolvedSpec): Store {
  if (spec.store.kind === 'local') return new LocalStore(spec.store.path);
  return new S3Store({
    bucket: spec.store.bucket,
    region: spec.store.region,
    endpoint: spec.endpoint,
    pathStyle: spec.pathStyle,
    localProfile: spec.localProfile,
    credentials: spec.credentials,
    maxRetries: spec.maxRetries,
    maxSockets: Number.isFinite(spec.concurrency) ? Math.max(8, spec.concurrency * 2) : 256,
  });
}
