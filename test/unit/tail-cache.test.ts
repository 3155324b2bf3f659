// TailCache (a byte-bounded LRU of object tails) and withTailCache (one tail GET serves the small reads
// a Parquet reader makes at the end of a file), over an in-memory ByteSource that counts its reads.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TAIL_BYTES, TailCache, withTailCache } from '../../src/store/tail-cache.js';
import type { ByteSource, ObjectInfo } from '../../src/store/types.js';

const MiB = 1024 * 1024;
/** The cache's bound (64 MiB); an entry may take at most a quarter of it. */
const CACHE_BYTES = 64 * MiB;
const MAX_ENTRY = CACHE_BYTES / 4;

/** An object's bytes in memory; every read is recorded and can be held back until `release()`. */
class MemorySource implements ByteSource {
  readonly reads: [number, number][] = [];
  private gate?: Promise<void>;
  private open?: () => void;

  constructor(
    readonly key: string,
    readonly bytes: Uint8Array,
  ) {}

  get size(): number {
    return this.bytes.byteLength;
  }

  /** Makes reads wait until release() is called. */
  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
  }

  async read(start: number, end: number, signal?: AbortSignal): Promise<Uint8Array> {
    this.reads.push([start, end]);
    if (this.gate) await this.gate;
    signal?.throwIfAborted();
    if (start < 0 || end > this.size || start > end) throw new RangeError(`bad range ${start}-${end} of ${this.size}`);
    // A copy, as a network read would be.
    return this.bytes.slice(start, end);
  }
}

/** Bytes whose every position is recognisable: a PRNG stream. */
function content(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function object(key: string, size: number, etag = '"e1"'): ObjectInfo {
  return { key, size, etag, lastModified: new Date(0) };
}

function setup(size: number, { key = 'data/file.parquet', etag = '"e1"', cache = new TailCache() } = {}) {
  const source = new MemorySource(key, content(size));
  const info = object(key, size, etag);
  return { source, info, cache, cached: withTailCache(source, info, cache) };
}

describe('TailCache', () => {
  // Entries of exactly the largest size kept: four fill the cache. They are views of one buffer, so
  // the test holds 16 MiB whatever the cache accounts.
  const block = new Uint8Array(MAX_ENTRY);
  const entry = () => block.subarray(0);

  it('returns what was set, and undefined for what was not', () => {
    const cache = new TailCache();
    const tail = new Uint8Array([1, 2, 3]);
    cache.set('a', tail);
    assert.equal(cache.get('a'), tail);
    assert.equal(cache.get('b'), undefined);
  });

  it('evicts the least recently used entries once over its byte bound', () => {
    const cache = new TailCache();
    const entries = ['a', 'b', 'c', 'd'].map((id) => [id, entry()] as const);
    for (const [id, bytes] of entries) cache.set(id, bytes);
    for (const [id, bytes] of entries) assert.equal(cache.get(id), bytes, `${id} should fit: 4 x 16 MiB is the bound`);
    cache.set('e', entry());
    // Reading them all above refreshed a, b, c, d in that order: a is the least recently used.
    assert.equal(cache.get('a'), undefined);
    for (const id of ['b', 'c', 'd', 'e']) assert.ok(cache.get(id), `${id} was evicted`);
  });

  it('get refreshes the LRU order', () => {
    const cache = new TailCache();
    for (const id of ['a', 'b', 'c', 'd']) cache.set(id, entry());
    assert.ok(cache.get('a'));
    cache.set('e', entry());
    assert.ok(cache.get('a'), 'a was read last-but-one and must survive');
    assert.equal(cache.get('b'), undefined, 'b was the least recently used');
    cache.set('f', entry());
    assert.equal(cache.get('c'), undefined);
    for (const id of ['a', 'd', 'e', 'f']) assert.ok(cache.get(id), `${id} was evicted`);
  });

  it('evicts as many entries as it takes for a large one', () => {
    const cache = new TailCache();
    const small = new Uint8Array(4 * MiB);
    for (let i = 0; i < 16; i++) cache.set(`s${i}`, small.subarray(0)); // 64 MiB
    cache.set('big', entry());
    for (let i = 0; i < 4; i++) assert.equal(cache.get(`s${i}`), undefined, `s${i} should have made room`);
    for (let i = 4; i < 16; i++) assert.ok(cache.get(`s${i}`), `s${i} was evicted needlessly`);
    assert.ok(cache.get('big'));
  });

  it('does not keep an entry larger than a quarter of its bound, and evicts nothing for it', () => {
    const cache = new TailCache();
    cache.set('a', new Uint8Array(10));
    cache.set('huge', new Uint8Array(MAX_ENTRY + 1));
    assert.equal(cache.get('huge'), undefined);
    assert.ok(cache.get('a'));
  });

  it('ignores a second set of the same id: the first value stays, its bytes are counted once', () => {
    const cache = new TailCache();
    const first = entry();
    cache.set('a', first);
    for (let i = 0; i < 3; i++) cache.set('a', entry());
    assert.equal(cache.get('a'), first);
    // Counted once, 'a' leaves room for exactly three more entries of its size.
    for (const id of ['b', 'c', 'd']) cache.set(id, entry());
    for (const id of ['a', 'b', 'c', 'd']) assert.ok(cache.get(id), `${id} was evicted: a duplicate set was counted`);
  });
});

describe('withTailCache', () => {
  const SIZE = 3 * TAIL_BYTES + 123;
  const TAIL_START = SIZE - TAIL_BYTES;

  it('passes key and size through', () => {
    const { source, cached } = setup(SIZE);
    assert.equal(cached.key, source.key);
    assert.equal(cached.size, SIZE);
  });

  it('serves the reads inside the tail from one GET of the tail', async () => {
    const { source, cached } = setup(SIZE);
    const last8 = await cached.read(SIZE - 8, SIZE);
    const footer = await cached.read(SIZE - 5000, SIZE - 8);
    const whole = await cached.read(TAIL_START, SIZE);
    const empty = await cached.read(SIZE, SIZE);
    assert.deepEqual(source.reads, [[TAIL_START, SIZE]]);
    assert.deepEqual(last8, source.bytes.subarray(SIZE - 8, SIZE));
    assert.deepEqual(footer, source.bytes.subarray(SIZE - 5000, SIZE - 8));
    assert.deepEqual(whole, source.bytes.subarray(TAIL_START, SIZE));
    assert.equal(empty.byteLength, 0);
  });

  it('makes concurrent tail reads share one request', async () => {
    const { source, cached } = setup(SIZE);
    source.hold();
    const reads = [cached.read(SIZE - 8, SIZE), cached.read(SIZE - 100, SIZE - 8), cached.read(TAIL_START, TAIL_START + 10)];
    await new Promise((resolve) => setImmediate(resolve));
    source.release();
    const [a, b, c] = await Promise.all(reads);
    assert.deepEqual(source.reads, [[TAIL_START, SIZE]]);
    assert.deepEqual(a, source.bytes.subarray(SIZE - 8, SIZE));
    assert.deepEqual(b, source.bytes.subarray(SIZE - 100, SIZE - 8));
    assert.deepEqual(c, source.bytes.subarray(TAIL_START, TAIL_START + 10));
  });

  it('sends reads outside the tail to the source, as they are', async () => {
    const { source, cached } = setup(SIZE);
    assert.deepEqual(await cached.read(0, 100), source.bytes.subarray(0, 100));
    // Straddling the tail's start.
    assert.deepEqual(await cached.read(TAIL_START - 1, TAIL_START + 1), source.bytes.subarray(TAIL_START - 1, TAIL_START + 1));
    assert.deepEqual(await cached.read(4, TAIL_START), source.bytes.subarray(4, TAIL_START));
    assert.deepEqual(source.reads, [
      [0, 100],
      [TAIL_START - 1, TAIL_START + 1],
      [4, TAIL_START],
    ]);
  });

  it('reads a file smaller than the tail whole, once', async () => {
    const { source, cached } = setup(1000);
    assert.deepEqual(await cached.read(992, 1000), source.bytes.subarray(992, 1000));
    assert.deepEqual(await cached.read(0, 4), source.bytes.subarray(0, 4));
    assert.deepEqual(await cached.read(0, 1000), source.bytes);
    assert.deepEqual(source.reads, [[0, 1000]]);
  });

  it('serves a second source of the same key and ETag from the cache, with no read at all', async () => {
    const cache = new TailCache();
    const first = setup(SIZE, { cache });
    await first.cached.read(SIZE - 8, SIZE);
    const second = setup(SIZE, { cache });
    assert.deepEqual(await second.cached.read(SIZE - 8, SIZE), first.source.bytes.subarray(SIZE - 8, SIZE));
    assert.deepEqual(await second.cached.read(SIZE - 3000, SIZE - 8), first.source.bytes.subarray(SIZE - 3000, SIZE - 8));
    assert.deepEqual(second.source.reads, []);
    // Reads outside the tail still go to the new source.
    await second.cached.read(0, 10);
    assert.deepEqual(second.source.reads, [[0, 10]]);
  });

  it('misses for another ETag or another key', async () => {
    const cache = new TailCache();
    const first = setup(SIZE, { cache, etag: '"v1"' });
    await first.cached.read(SIZE - 8, SIZE);
    const changed = setup(SIZE, { cache, etag: '"v2"' });
    await changed.cached.read(SIZE - 8, SIZE);
    assert.deepEqual(changed.source.reads, [[TAIL_START, SIZE]]);
    const other = setup(SIZE, { cache, key: 'data/other.parquet', etag: '"v1"' });
    await other.cached.read(SIZE - 8, SIZE);
    assert.deepEqual(other.source.reads, [[TAIL_START, SIZE]]);
    // Both versions are now cached side by side.
    const again = setup(SIZE, { cache, etag: '"v1"' });
    await again.cached.read(SIZE - 8, SIZE);
    assert.deepEqual(again.source.reads, []);
  });

  it('passes a failed tail read on to the reader, and caches nothing', async () => {
    const cache = new TailCache();
    const info = object('data/bad.parquet', SIZE);
    const failing: ByteSource = {
      key: info.key,
      size: SIZE,
      read: () => Promise.reject(new Error('connection reset')),
    };
    await assert.rejects(withTailCache(failing, info, cache).read(SIZE - 8, SIZE), /connection reset/);
    const retry = setup(SIZE, { cache, key: info.key });
    await retry.cached.read(SIZE - 8, SIZE);
    assert.deepEqual(retry.source.reads, [[TAIL_START, SIZE]]);
  });

  it('gives the source the caller’s signal', async () => {
    const { cached } = setup(SIZE);
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    await assert.rejects(cached.read(0, 10, controller.signal), /cancelled/);
    await assert.rejects(cached.read(SIZE - 8, SIZE, controller.signal), /cancelled/);
  });
});
