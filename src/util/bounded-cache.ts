// The one least-recently-used cache bounded by bytes, for everything kept between files or calls: the
// catalog's footers, object tails, schemas by footer shape. Each use says what an entry weighs.

export interface CacheBounds<V> {
  /** Bytes of entries kept at most. */
  capacity: number;
  /** The bytes an entry is charged. */
  sizeOf: (key: string, value: V) => number;
  /** A larger entry is not kept (and evicts nothing); unbounded when left out. */
  maxEntryBytes?: number;
  /** A second set of a key is ignored (the first value stays); replaced when left out. */
  keepFirst?: boolean;
}

/** A map with least-recently-used eviction once its entries' bytes exceed the capacity. */
export class BoundedCache<V> {
  private readonly entries = new Map<string, { value: V; bytes: number }>();
  private bytes = 0;

  constructor(private readonly bounds: CacheBounds<V>) {}

  get(key: string): V | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit.value;
  }

  set(key: string, value: V): void {
    const { capacity, sizeOf, maxEntryBytes = Infinity, keepFirst = false } = this.bounds;
    const previous = this.entries.get(key);
    if (previous && keepFirst) return;
    const bytes = sizeOf(key, value);
    if (bytes > maxEntryBytes) return;
    if (previous) {
      this.bytes -= previous.bytes;
      this.entries.delete(key);
    }
    this.entries.set(key, { value, bytes });
    this.bytes += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= capacity) break;
      this.entries.delete(oldest);
      this.bytes -= entry.bytes;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
