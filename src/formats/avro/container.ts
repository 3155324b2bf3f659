// An Avro object container file's framing: the header (magic `Obj\x01`, a metadata map holding
// `avro.schema` and `avro.codec`, a 16-byte sync marker), read with ranged GETs of the file's start,
// and the varints every block starts with. Every length and count read from the file is checked
// against the bytes that can hold it before anything is allocated for it.
import { FormatError } from '../../errors.js';
import type { ByteSource } from '../../store/types.js';

export type Codec = 'null' | 'deflate' | 'snappy' | 'zstandard';
const CODECS = new Set<string>(['null', 'deflate', 'snappy', 'zstandard']);

const MAGIC = [0x4f, 0x62, 0x6a, 0x01];
export const SYNC_BYTES = 16;
/** The first read of a file: most headers (schema included) fit. */
export const HEAD_BYTES = 64 * 1024;
/** A header (its schema, mostly) larger than this is refused rather than read. */
export const MAX_HEADER_BYTES = 16 * 1024 * 1024;

export interface Header {
  schema: string;
  codec: Codec;
  sync: Uint8Array;
  /** File offset of the first block. */
  dataStart: number;
}

/** The bytes in hand end before the value does: read more of the file and parse again. */
export class NeedMore extends Error {}

/** Reads varints and byte strings from bytes in memory, never past their end. */
export class Cursor {
  constructor(
    readonly bytes: Uint8Array,
    public pos = 0,
  ) {}

  get left(): number {
    return this.bytes.length - this.pos;
  }

  /** A zigzag varint; a value beyond 2^53 is refused (no length or count in a file can be that large). */
  long(what: string): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.bytes.length) throw new NeedMore();
      const b = this.bytes[this.pos++]!;
      n += (b & 0x7f) * scale;
      if (!(b & 0x80)) {
        if (n > Number.MAX_SAFE_INTEGER) break;
        return n % 2 === 1 ? -(n + 1) / 2 : n / 2;
      }
      scale *= 128;
    }
    throw new FormatError(`${what} is not a valid varint`);
  }

  take(n: number): Uint8Array {
    if (n > this.left) throw new NeedMore();
    return this.bytes.subarray(this.pos, (this.pos += n));
  }
}

/** Reads and checks the header: the file's start, then more of it while the header runs on. */
export async function readHeader(source: ByteSource, signal?: AbortSignal): Promise<Header> {
  let length = Math.min(source.size, HEAD_BYTES);
  for (;;) {
    const bytes = await source.read(0, length, signal);
    checkMagic(bytes, source.size);
    try {
      return parseHeader(bytes);
    } catch (err) {
      if (!(err instanceof NeedMore)) throw err;
    }
    if (length === source.size) throw new FormatError(`the file ends inside its header (${source.size} bytes)`);
    if (length >= MAX_HEADER_BYTES) throw new FormatError(`the header is larger than ${MAX_HEADER_BYTES} bytes`);
    length = Math.min(source.size, length * 4, MAX_HEADER_BYTES);
  }
}

function checkMagic(bytes: Uint8Array, size: number): void {
  if (bytes.length >= 4 && MAGIC.every((b, i) => bytes[i] === b)) return;
  const found = size === 0 ? 'it is empty' : `it starts with ${describeStart(bytes)}`;
  throw new FormatError(`not an Avro object container file (no "Obj\\x01" magic): ${found}`);
}

/** The first bytes of a file for a message: as text when they are printable, else as hex. */
export function describeStart(bytes: Uint8Array): string {
  const head = bytes.subarray(0, 16);
  const printable = head.every((b) => (b >= 0x20 && b < 0x7f) || b === 0x0a || b === 0x0d || b === 0x09);
  const more = bytes.length > head.length ? '...' : '';
  return printable ? `${JSON.stringify(Buffer.from(head).toString('latin1'))}${more}` : `bytes ${Buffer.from(head).toString('hex')}${more}`;
}

/** Parses the header in `bytes` (which start with the magic); NeedMore when it runs past them. */
export function parseHeader(bytes: Uint8Array): Header {
  const cursor = new Cursor(bytes, MAGIC.length);
  const meta = new Map<string, Uint8Array>();
  for (let n = blockCount(cursor); n > 0; n = blockCount(cursor)) {
    for (let i = 0; i < n; i++) {
      const key = Buffer.from(cursor.take(length(cursor, 'a metadata key'))).toString('utf8');
      meta.set(key, cursor.take(length(cursor, `metadata "${key}"`)));
    }
  }
  const sync = cursor.take(SYNC_BYTES);
  const schema = meta.get('avro.schema');
  if (!schema) throw new FormatError('the header has no avro.schema');
  const codec = meta.has('avro.codec') ? Buffer.from(meta.get('avro.codec')!).toString('utf8') : 'null';
  if (!CODECS.has(codec)) throw new FormatError(`codec "${codec.slice(0, 40)}" is not supported (null, deflate, snappy and zstandard are)`);
  return { schema: Buffer.from(schema).toString('utf8'), codec: codec as Codec, sync, dataStart: cursor.pos };
}

/** A block count of the metadata map; each entry takes at least two bytes (two lengths). */
function blockCount(cursor: Cursor): number {
  let n = cursor.long('a metadata count');
  if (n < 0) {
    n = -n;
    cursor.long('a metadata block size');
  }
  if (2 * n > MAX_HEADER_BYTES) throw new FormatError(`the header claims ${n} metadata entries`);
  return n;
}

function length(cursor: Cursor, what: string): number {
  const n = cursor.long(`the length of ${what}`);
  if (n < 0 || n > MAX_HEADER_BYTES) throw new FormatError(`the length of ${what} is ${n}`);
  return n;
}
