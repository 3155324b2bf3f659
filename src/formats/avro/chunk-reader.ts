// An object's bytes front to back, in ranged GETs of CHUNK_BYTES: the chunk being read and the next one
// (fetched ahead while this one is decoded) are held, each charged to the read budget until it is
// consumed. A block that spans chunks is copied out whole (and charged while it is held). Errors from
// the store (ObjectError) pass through as they are.
import { FormatError } from '../../errors.js';
import type { ByteSource } from '../../store/types.js';
import type { ByteBudget } from '../../util/byte-budget.js';

/** Bytes of one ranged GET. Large enough that requests are few, small enough to bound memory. */
export const CHUNK_BYTES = 4 * 1024 * 1024;

interface Fetched {
  bytes: Uint8Array;
  release: () => void;
}

/** Bytes handed out, with the release of what they hold against the budget. */
export interface HeldBytes {
  bytes: Uint8Array;
  release: () => void;
}

const EMPTY = new Uint8Array(0);

export class ChunkReader {
  private chunk: Uint8Array = EMPTY;
  private pos = 0;
  private releaseChunk: () => void = () => {};
  /** File offset just past the bytes fetched so far (current chunk or prefetch). */
  private fetchedTo: number;
  private next?: Promise<Fetched>;
  private closed = false;

  constructor(
    private readonly source: ByteSource,
    /** File offset of the first byte to read. */
    private chunkEnd: number,
    private readonly budget: ByteBudget,
    private readonly signal?: AbortSignal,
    private readonly chunkBytes = CHUNK_BYTES,
  ) {
    this.fetchedTo = chunkEnd;
    this.prefetch();
  }

  /** File offset of the next unread byte. */
  get offset(): number {
    return this.chunkEnd - (this.chunk.length - this.pos);
  }

  /** Bytes left in the object. */
  get remaining(): number {
    return this.source.size - this.offset;
  }

  /** The next `n` bytes in memory at once, left unread (at most what the object has left). */
  async peek(n: number): Promise<Uint8Array> {
    const want = Math.min(n, this.remaining);
    while (this.chunk.length - this.pos < want) {
      // A short read (varints, a sync marker) across two chunks: join the tail of one to the next.
      const rest = this.chunk.subarray(this.pos);
      await this.advance();
      if (rest.length > 0) {
        const joined = new Uint8Array(rest.length + this.chunk.length);
        joined.set(rest);
        joined.set(this.chunk, rest.length);
        this.chunk = joined;
      }
    }
    return this.chunk.subarray(this.pos, this.pos + want);
  }

  skip(n: number): void {
    this.pos += n;
  }

  /** The next `n` bytes (the caller checked they exist): a view of the chunk, or a copy across chunks. */
  async take(n: number): Promise<HeldBytes> {
    if (this.chunk.length - this.pos >= n) {
      const bytes = this.chunk.subarray(this.pos, this.pos + n);
      this.pos += n;
      return { bytes, release: () => {} };
    }
    const release = await this.budget.acquire(n, this.signal);
    try {
      const out = new Uint8Array(n);
      let filled = 0;
      while (filled < n) {
        if (this.pos === this.chunk.length) await this.advance();
        const part = Math.min(n - filled, this.chunk.length - this.pos);
        out.set(this.chunk.subarray(this.pos, this.pos + part), filled);
        this.pos += part;
        filled += part;
      }
      return { bytes: out, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /** Releases what is held, the prefetch included (once it lands). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.releaseChunk();
    this.chunk = EMPTY;
    this.next?.then(
      ({ release }) => release(),
      () => {},
    );
    this.next = undefined;
  }

  /** Moves to the prefetched chunk and starts fetching the one after it. */
  private async advance(): Promise<void> {
    if (!this.next) throw new FormatError(`the file ends at byte ${this.source.size} in the middle of a block`);
    const fetched = await this.next;
    this.next = undefined;
    this.releaseChunk();
    this.chunk = fetched.bytes;
    this.releaseChunk = fetched.release;
    this.pos = 0;
    this.chunkEnd += fetched.bytes.length;
    this.prefetch();
  }

  private prefetch(): void {
    if (this.closed || this.fetchedTo >= this.source.size) return;
    const start = this.fetchedTo;
    const end = Math.min(this.source.size, start + this.chunkBytes);
    this.fetchedTo = end;
    this.next = this.fetch(start, end);
    // A failed prefetch is reported when its turn comes.
    this.next.catch(() => {});
  }

  private async fetch(start: number, end: number): Promise<Fetched> {
    const release = await this.budget.acquire(end - start, this.signal);
    try {
      const bytes = await this.source.read(start, end, this.signal);
      if (bytes.length !== end - start)
        throw new FormatError(`the object ended at byte ${start + bytes.length}, before the ${this.source.size} it was listed with`);
      return { bytes, release };
    } catch (err) {
      release();
      throw err;
    }
  }
}
