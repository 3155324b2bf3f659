// Picks the store a spec asks for.
import { silentLogger, type Logger } from '../log.js';
import type { ResolvedSpec } from '../spec.js';
import { LocalStore } from './local.js';
import type { Store } from './types.js';

/** Opens the spec's store. `logger` hears what the S3 store learns on its own (the bucket's region). */
export async function openStore(spec: ResolvedSpec, logger: Logger = silentLogger): Promise<Store> {
  if (spec.store.kind === 'local') return new LocalStore(spec.store.path);
  // The AWS SDK is loaded on first use: it is a third of the bundle and serving GetName needs none of it.
  const { S3Store } = await import('./s3.js');
  return S3Store.open({
    bucket: spec.store.bucket,
    region: spec.store.region,
    endpoint: spec.endpoint,
    pathStyle: spec.pathStyle,
    localProfile: spec.localProfile,
    credentials: spec.credentials,
    access: spec.access,
    maxRetries: spec.maxRetries,
    maxSockets: Number.isFinite(spec.concurrency) ? Math.max(8, spec.concurrency * 2) : 256,
    logger,
  });
}
