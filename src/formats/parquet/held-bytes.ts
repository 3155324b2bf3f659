// In a decode worker: the bytes of one file the worker was handed (its footer, the row group being
// decoded), served to parquet-wasm as if they were the whole file. A read outside them is asked of the
// main thread, which alone touches the store.
import { freeBuffers, wholeBuffer } from '../../workers/free-buffers.js';

/** Bytes of the file starting at `start`. */
export interface HeldSegment {
  start: number;
  bytes: Uint8Array;
  /** Read again later: never handed over whole, only copied. */
  keep?: boolean;
}

export type Fetch = (start: number, end: number) => Promise<ArrayBuffer>;

const noJob: Fetch = () => Promise.reject(new Error('no job is running to read through'));

export class HeldBytes {
  private readonly list: HeldSegment[] = [];
  /** Buffers handed to the decoder, which copies them into its own memory: freed once it has. */
  private handed: ArrayBuffer[] = [];
  /** Kept segments lent whole to the decoder since the last forgetLent() or releaseLent(). */
  private lent = new Set<HeldSegment>();
  /** Reads what is not held, through the job running now. */
  fetch: Fetch = noJob;

  constructor(private readonly size: number) {}

  add(segment: HeldSegment): void {
    this.list.push(segment);
  }

  remove(segment: HeldSegment): void {
    const index = this.list.indexOf(segment);
    if (index >= 0) this.list.splice(index, 1);
  }

  endJob(): void {
    this.fetch = noJob;
    this.lent.clear();
    this.freeHanded();
  }

  /** Starts over the list of kept segments read from (see releaseLent). */
  forgetLent(): void {
    this.lent.clear();
  }

  /**
   * Drops and frees the kept segments lent whole since the last call or forgetLent(), for when they
   * will not be read again (the last span's column): call only once it has copied them.
   */
  releaseLent(): void {
    for (const segment of this.lent) {
      this.remove(segment);
      freeBuffers([segment.bytes.buffer as ArrayBuffer]);
    }
    this.lent.clear();
  }

  /** Frees the buffers handed to the decoder: call only once it has copied them (a stream has yielded or ended). */
  freeHanded(): void {
    freeBuffers(this.handed);
    this.handed = [];
  }

  private hand(buffer: ArrayBuffer): ArrayBuffer {
    this.handed.push(buffer);
    return buffer;
  }

  /**
   * Bytes spanning several adjacent segments, copied together: the decoder sometimes asks for a whole
   * row group that was handed over one buffer per column chunk. Undefined when a byte is not held.
   */
  private joined(start: number, end: number): ArrayBuffer | undefined {
    const pieces: Uint8Array[] = [];
    let at = start;
    for (const s of [...this.list].sort((a, b) => a.start - b.start)) {
      const segmentEnd = s.start + s.bytes.byteLength;
      if (segmentEnd <= at) continue;
      if (s.start > at) return undefined;
      const to = Math.min(end, segmentEnd);
      pieces.push(s.bytes.subarray(at - s.start, to - s.start));
      at = to;
      if (at === end) return concat(pieces, end - start);
    }
    return undefined;
  }

  /** What parquet-wasm needs of a Blob: a size and slices that produce their bytes. */
  blob() {
    const slice = (start = 0, end = this.size) => ({
      size: end - start,
      arrayBuffer: () => this.bytes(start, Math.min(end, this.size)),
    });
    return { size: this.size, type: '', slice };
  }

  private bytes(start: number, end: number): Promise<ArrayBuffer> {
    for (const s of this.list) {
      if (start >= s.start && end <= s.start + s.bytes.byteLength) {
        const whole = start === s.start && end === s.start + s.bytes.byteLength;
        const own = whole ? wholeBuffer(s.bytes) : undefined;
        // The decoder copies what it reads into its own memory. A whole buffer read once is handed
        // over and let go; one read again (a column chunk, once per span) is lent as it is, not copied.
        if (own && !s.keep) {
          this.remove(s);
          return Promise.resolve(this.hand(own));
        }
        if (own) {
          this.lent.add(s);
          return Promise.resolve(own);
        }
        const part = s.bytes.subarray(start - s.start, end - s.start);
        return Promise.resolve(this.hand(part.buffer.slice(part.byteOffset, part.byteOffset + part.byteLength) as ArrayBuffer));
      }
    }
    const joined = this.joined(start, end);
    if (joined) return Promise.resolve(this.hand(joined));
    return this.fetch(start, end).then((bytes) => this.hand(bytes));
  }
}

function concat(pieces: Uint8Array[], length: number): ArrayBuffer {
  const out = new Uint8Array(length);
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.byteLength;
  }
  return out.buffer;
}

/** Files a worker has opened, the most recently used kept: a file's row groups reuse its parsed footer. */
export class FileCache<T extends { free(): void }> {
  private readonly entries = new Map<number, T>();

  constructor(private readonly capacity: number) {}

  get(id: number): T | undefined {
    const entry = this.entries.get(id);
    if (entry) {
      this.entries.delete(id);
      this.entries.set(id, entry);
    }
    return entry;
  }

  set(id: number, entry: T): void {
    this.entries.set(id, entry);
    for (const [oldest, value] of this.entries) {
      if (this.entries.size <= this.capacity) break;
      this.entries.delete(oldest);
      value.free();
    }
  }
}
