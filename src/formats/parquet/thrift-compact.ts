// A Thrift compact-protocol reader for the small structs Parquet writes in front of every page, made
// for bytes nobody vouches for: every read is bounded by an end offset, nothing recurses (a nested
// value the caller does not want is skipped with an explicit stack of bounded depth), and every
// failure goes through the caller's `fail`, which throws a FormatError naming the place.

export const TYPE = {
  STOP: 0,
  TRUE: 1,
  FALSE: 2,
  BYTE: 3,
  I16: 4,
  I32: 5,
  I64: 6,
  DOUBLE: 7,
  BINARY: 8,
  LIST: 9,
  SET: 10,
  MAP: 11,
  STRUCT: 12,
  UUID: 13,
} as const;

/** Skipped values nested deeper than this are refused (Parquet's own structs nest a few levels). */
const MAX_NESTING = 64;

/** A container being skipped: a struct's fields, or a list's (or map's) elements still to come. */
type Frame = { lastId: number } | { types: number[]; remaining: number };

export class CompactReader {
  constructor(
    private readonly bytes: Uint8Array,
    public pos: number,
    private readonly end: number,
    readonly fail: (problem: string) => never,
  ) {}

  /** Reads a struct's fields; `field` reads the ones it knows and returns false for the rest, skipped. */
  struct(field: (id: number, type: number) => boolean): void {
    let lastId = 0;
    for (;;) {
      const header = this.fieldHeader(lastId);
      if (!header) return;
      lastId = header.id;
      if (!field(header.id, header.type)) this.skip(header.type);
    }
  }

  i32(type: number, name: string): number {
    if (type !== TYPE.I32) this.fail(`${name} has Thrift type ${type}, not i32`);
    const n = this.varint32();
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }

  bool(type: number, name: string): boolean {
    if (type !== TYPE.TRUE && type !== TYPE.FALSE) this.fail(`${name} has Thrift type ${type}, not bool`);
    return type === TYPE.TRUE;
  }

  expectStruct(type: number, name: string): void {
    if (type !== TYPE.STRUCT) this.fail(`${name} has Thrift type ${type}, not struct`);
  }

  private byte(): number {
    if (this.pos >= this.end) this.fail('it runs past the end of its column chunk');
    return this.bytes[this.pos++]!;
  }

  private take(n: number): undefined {
    if (n > this.end - this.pos) this.fail('it runs past the end of its column chunk');
    this.pos += n;
    return undefined;
  }

  /** An unsigned varint of at most 32 bits. */
  private varint32(): number {
    let value = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.byte();
      value += (b & 0x7f) * 2 ** (7 * i);
      if (!(b & 0x80)) {
        if (value > 0xffffffff) break;
        return value;
      }
    }
    return this.fail('a 32-bit integer is longer than 32 bits');
  }

  private skipVarint64(): undefined {
    for (let i = 0; i < 10; i++) if (!(this.byte() & 0x80)) return undefined;
    return this.fail('a 64-bit integer is longer than 64 bits');
  }

  /** The next field's id and type, or undefined at the struct's end. */
  private fieldHeader(lastId: number): { id: number; type: number } | undefined {
    const b = this.byte();
    const type = b & 0x0f;
    if (type === TYPE.STOP) return undefined;
    const delta = b >> 4;
    if (delta !== 0) return { id: lastId + delta, type };
    const n = this.varint32();
    return { id: n % 2 === 0 ? n / 2 : -(n + 1) / 2, type };
  }

  private skip(type: number): void {
    const stack: Frame[] = [];
    let next: number | undefined = type;
    let inList = false;
    for (;;) {
      if (next !== undefined) {
        const frame = this.skipOne(next, inList);
        if (frame && stack.length >= MAX_NESTING) this.fail(`values are nested more than ${MAX_NESTING} levels deep`);
        if (frame) stack.push(frame);
      }
      const top = stack[stack.length - 1];
      if (!top) return;
      if ('lastId' in top) {
        const header = this.fieldHeader(top.lastId);
        if (header) top.lastId = header.id;
        else stack.pop();
        [next, inList] = [header?.type, false];
      } else if (top.remaining === 0) {
        stack.pop();
        next = undefined;
      } else {
        [next, inList] = [top.types[top.remaining % top.types.length], true];
        top.remaining--;
      }
    }
  }

  /** Skips a scalar, or the header of a container and returns what is left of it. */
  private skipOne(type: number, inList: boolean): Frame | undefined {
    switch (type) {
      case TYPE.TRUE:
      case TYPE.FALSE:
        // A bool is its field's type; in a list it takes a byte.
        if (inList) this.take(1);
        return undefined;
      case TYPE.BYTE:
        return this.take(1);
      case TYPE.I16:
      case TYPE.I32:
      case TYPE.I64:
        return this.skipVarint64();
      case TYPE.DOUBLE:
        return this.take(8);
      case TYPE.UUID:
        return this.take(16);
      case TYPE.BINARY:
        return this.take(this.varint32());
      case TYPE.LIST:
      case TYPE.SET: {
        const head = this.byte();
        const size = head >> 4 === 15 ? this.varint32() : head >> 4;
        return this.elements([head & 0x0f], size);
      }
      case TYPE.MAP: {
        const size = this.varint32();
        if (size === 0) return undefined;
        const kinds = this.byte();
        return this.elements([kinds >> 4, kinds & 0x0f], 2 * size);
      }
      case TYPE.STRUCT:
        return { lastId: 0 };
      default:
        return this.fail(`it holds a value of unknown Thrift type ${type}`);
    }
  }

  private elements(types: number[], count: number): Frame {
    if (types.some((t) => t === TYPE.STOP || t > TYPE.UUID)) this.fail(`a list holds values of unknown Thrift type ${types.join('/')}`);
    // Every element takes at least a byte.
    if (count > this.end - this.pos) this.fail(`a list claims ${count} elements in ${this.end - this.pos} bytes`);
    return { types, remaining: count };
  }
}
