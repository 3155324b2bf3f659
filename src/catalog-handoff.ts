// Files opened while planning, handed to the sync that reads them: a file whose reader is cheap to keep
// open (a Parquet reader holds its footer and row-group ranges, nothing else) is not opened a second time
// (no second footer GET or parse, no second decoder job), and a small file, which lies whole inside the
// tail the footer came from, is decoded from that one read.
//
// Bounded by bytes. Planning visits files in key order and the sync reads them in the same order, so
// when the bound is reached the readers already held are the ones the sync needs first: a new reader is
// refused rather than evicting one (an LRU would evict exactly those, and hand nothing over at scale).
// Readers a sync never takes (GetTables without a Sync, a file skipped for its schema) belong to an
// earlier plan and make room for the readers of a later one.
import type { FileFormat, FileReader } from './formats/types.js';
import type { ByteSource, ObjectInfo } from './store/types.js';

/**
 * The listed object a source reads, on the sources the catalog makes: a wrapper made with `{ ...source }`
 * (the sync's byte counter) keeps it, so the format below can find the reader held for that object.
 */
export const SOURCE_OBJECT = Symbol('the listed object this source reads');

export type TaggedSource = ByteSource & { [SOURCE_OBJECT]?: ObjectInfo };

export function tagged(source: ByteSource, object: ObjectInfo): TaggedSource {
  return Object.assign(source, { [SOURCE_OBJECT]: object });
}

/** A source whose reads go to `target` once set: the held reader then reads through the sync's source. */
export interface RedirectableSource extends ByteSource {
  target?: ByteSource;
}

export function redirectable(source: ByteSource): RedirectableSource {
  const wrapped: RedirectableSource = {
    key: source.key,
    size: source.size,
    read: (start, end, signal) => (wrapped.target ?? source).read(start, end, signal),
  };
  return wrapped;
}

/**
 * The format as the sync uses it: a source of an object whose reader is held gets that reader, reading
 * through the source it was given (which wraps the held tail, see Catalog.source), else a new one.
 */
export function handoffFormat(format: FileFormat, handoff: ReaderHandoff): FileFormat {
  return {
    name: format.name,
    open(source, options) {
      const object = (source as TaggedSource)[SOURCE_OBJECT];
      const held = object && handoff.take(object);
      if (!held) return format.open(source, options);
      held.source.target = source;
      return Promise.resolve(held.reader);
    },
  };
}

export interface HeldReader {
  reader: FileReader;
  /** What the reader reads through. */
  source: RedirectableSource;
  /** What that reads from: the object's source holding its tail. */
  inner: ByteSource;
}

interface Entry extends HeldReader {
  bytes: number;
  plan: number;
}

/** Bytes of the object's id (key and ETag) and the entry around it, beyond what the reader declares. */
const ENTRY_OVERHEAD_BYTES = 160;

export class ReaderHandoff {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private plan = 0;

  constructor(private readonly capacity: number) {}

  /** A new plan begins: readers held for earlier ones may make room for its readers. */
  nextPlan(): void {
    this.plan++;
  }

  /** Keeps the reader for the sync, if it is cheap to keep and there is room; false when not kept (close it). */
  offer(object: ObjectInfo, held: HeldReader): boolean {
    const declared = held.reader.heldBytes;
    if (declared === undefined) return false;
    const id = objectId(object);
    const bytes = declared + id.length * 2 + ENTRY_OVERHEAD_BYTES;
    if (this.entries.has(id) || !this.makeRoom(bytes)) return false;
    this.entries.set(id, { ...held, bytes, plan: this.plan });
    this.bytes += bytes;
    return true;
  }

  /** The held reader of this object version, left held (a second plan of it reads its schema). */
  peek(object: ObjectInfo): HeldReader | undefined {
    return this.entries.get(objectId(object));
  }

  /** The held reader of this object version, no longer held: the caller reads it and closes it. */
  take(object: ObjectInfo): HeldReader | undefined {
    const id = objectId(object);
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    this.entries.delete(id);
    this.bytes -= entry.bytes;
    return entry;
  }

  /** Closes every held reader. */
  clear(): void {
    for (const entry of this.entries.values()) entry.reader.close();
    this.entries.clear();
    this.bytes = 0;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Evicts readers of earlier plans (oldest first) until `bytes` fit; false when they cannot. */
  private makeRoom(bytes: number): boolean {
    if (bytes > this.capacity) return false;
    for (const [id, entry] of this.entries) {
      if (this.bytes + bytes <= this.capacity) break;
      if (entry.plan === this.plan) continue;
      this.entries.delete(id);
      this.bytes -= entry.bytes;
      entry.reader.close();
    }
    return this.bytes + bytes <= this.capacity;
  }
}

export function objectId(object: ObjectInfo): string {
  return `${object.key}\u0000${object.etag}`;
}
