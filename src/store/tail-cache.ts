// Parquet readers fetch the last 8 bytes and then the footer: two GETs per file. Fetching the tail once
// (TAIL_BYTES, usually the whole footer) serves both, and keeping recent tails in a bounded cache lets
// the sync that follows GetTables open every file without touching its footer again.
import type { ByteSource, ObjectInfo } from './types.js';

export const TAIL_BYTES = 64 * 1024;
const CACHE_BYTES = 64 * 1024 * 1024;

export class TailCache {
  private readonly entries = new Map<string, Uint8Array>();
  private bytes = 0;

  /** `capacity`: bytes of tails kept at most (an entry may take a quarter of it). */
  constructor(private readonly capacity = CACHE_BYTES) {}

  get(id: string): Uint8Array | undefined {
    const hit = this.entries.get(id);
    if (hit) {
      // Refresh its place in the LRU order.
      this.entries.delete(id);
      this.entries.set(id, hit);
    }
    return hit;
  }

  set(id: string, tail: Uint8Array): void {
    if (tail.byteLength > this.capacity / 4 || this.entries.has(id)) return;
    this.entries.set(id, tail);
    this.bytes += tail.byteLength;
    for (const [key, value] of this.entries) {
      if (this.bytes <= this.capacity) break;
      this.entries.delete(key);
      this.bytes -= value.byteLength;
    }
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
