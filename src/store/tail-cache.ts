// Parquet readers fetch the last 8 bytes and then the footer: two GETs per file. Fetching the tail once
// (TAIL_BYTES, usually the whole footer) serves both, and keeping recent tails in a bounded cache lets
// the sync that follows GetTables open every file without touching its footer again.
import { BoundedCache } from '../util/bounded-cache.js';
import type { ByteSource, ObjectInfo } from './types.js';

export const TAIL_BYTES = 64 * 1024;
const CACHE_BYTES = 64 * 1024 * 1024;

/** Tails by object version, the least recently used dropped beyond `capacity` bytes; an entry may take a quarter of it. */
export class TailCache extends BoundedCache<Uint8Array> {
  constructor(capacity = CACHE_BYTES) {
    super({ capacity, sizeOf: (_id, tail) => tail.byteLength, maxEntryBytes: capacity / 4, keepFirst: true });
  }
}

export function withTailCache(source: ByteSource, object: ObjectInfo, cache: TailCache): ByteSource {
  const id = `${object.key}\u0000${object.etag}`;
  const tailStart = Math.max(0, source.size - TAIL_BYTES);
  let pending: Promise<Uint8Array> | undefined;
  const tail = (signal?: AbortSignal) => {
    const hit = cache.get(id);
    if (hit) return Promise.resolve(hit);
    pending ??= source.read(tailStart, source.size, signal).then((bytes) => {
      cache.set(id, bytes);
      return bytes;
    });
    return pending;
  };
  return {
    key: source.key,
    size: source.size,
    async read(start, end, signal) {
      if (start >= tailStart && end <= source.size && end - start <= TAIL_BYTES) {
        const bytes = await tail(signal);
        return bytes.subarray(start - tailStart, end - tailStart);
      }
      return source.read(start, end, signal);
    },
  };
}
