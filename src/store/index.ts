// Picks the store a spec asks for.
import type { ResolvedSpec } from '../spec.js';
import { LocalStore } from './local.js';
import type { Store } from './types.js';

export async function openStore(spec: ResolvedSpec): Promise<Store> {
  if (spec.store.kind === 'local') return new LocalStore(spec.store.path);
  // The AWS SDK is loaded on first use: it is a third of the bundle and serving GetName needs none of it.
  const { S3Store } = await import('./s3.js');
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
