// Test-only: Parquet's Thrift compact protocol decoded into a tree that keeps every wire type, and
// encoded back, to turn a real writer's file into a hostile one: change a footer field and put the new
// footer behind the same data (parquet-pages.ts does the same for page headers and page bytes).
/** Compact protocol type ids. Booleans in a struct carry their value in the type (TRUE/FALSE). */
export const T = { TRUE: 1, FALSE: 2, BYTE: 3, I16: 4, I32: 5, I64: 6, DOUBLE: 7, BINARY: 8, LIST: 9, SET: 10, STRUCT: 12 } as const;

export type Value = number | bigint | boolean | Uint8Array | Struct | List;
export interface Field {
  type: number;
  value: Value;
}
/** Field id -> field; encoded in ascending id order. */
export type Struct = Map<number, Field>;
/** Boolean elements are kept as their raw byte. */
export interface List {
  elem: number;
  items: Value[];
}

// ---------------------------------------------------------------------------------------------------
// Decoding (recursive: test inputs come from real writers)

class Reader {
  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
  ) {}

  byte(): number {
    if (this.pos >= this.bytes.length) throw new Error(`thrift: read past the end at ${this.pos}`);
    return this.bytes[this.pos++]!;
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
    }
  }

  zigzag(): bigint {
    const n = this.varint();
    return (n >> 1n) ^ -(n & 1n);
  }
}

function readValue(r: Reader, type: number): Value {
  switch (type) {
    case T.TRUE:
    case T.FALSE:
    case T.BYTE:
      return r.byte();
    case T.I16:
    case T.I32:
      return Number(r.zigzag());
    case T.I64:
      return r.zigzag();
    case T.DOUBLE: {
      const value = new DataView(r.bytes.buffer, r.bytes.byteOffset + r.pos, 8).getFloat64(0, true);
      r.pos += 8;
      return value;
    }
    case T.BINARY: {
      const length = Number(r.varint());
      r.pos += length;
      return r.bytes.slice(r.pos - length, r.pos);
    }
    case T.LIST:
    case T.SET: {
      const head = r.byte();
      const size = head >> 4 === 15 ? Number(r.varint()) : head >> 4;
      const elem = head & 0x0f;
      return { elem, items: Array.from({ length: size }, () => readValue(r, elem)) };
    }
    case T.STRUCT:
      return readStruct(r);
    default:
      throw new Error(`thrift: unexpected type ${type} at ${r.pos}`);
  }
}

function readStruct(r: Reader): Struct {
  const struct: Struct = new Map();
  let id = 0;
  for (;;) {
    const head = r.byte();
    const type = head & 0x0f;
    if (type === 0) return struct;
    id = head >> 4 ? id + (head >> 4) : Number(r.zigzag());
    if (type === T.TRUE || type === T.FALSE) struct.set(id, { type: T.TRUE, value: type === T.TRUE });
    else struct.set(id, { type, value: readValue(r, type) });
  }
}

/** One struct at `offset`, and where it ends. */
export function decodeStruct(bytes: Uint8Array, offset = 0): { value: Struct; end: number } {
  const r = new Reader(bytes, offset);
  const value = readStruct(r);
  return { value, end: r.pos };
}

// ---------------------------------------------------------------------------------------------------
// Encoding

class Writer {
  readonly out: number[] = [];

  varint(n: bigint): void {
    let v = BigInt.asUintN(64, n);
    while (v >= 0x80n) {
      this.out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.out.push(Number(v));
  }

  zigzag(n: bigint): void {
    this.varint((n << 1n) ^ (n >> 63n));
  }

  bytes(b: Uint8Array): void {
    for (const x of b) this.out.push(x);
  }
}

function writeValue(w: Writer, type: number, value: Value): void {
  switch (type) {
    case T.TRUE:
    case T.FALSE:
    case T.BYTE:
      w.out.push(Number(value) & 0xff);
      return;
    case T.I16:
    case T.I32:
    case T.I64:
      w.zigzag(BigInt(value as number | bigint));
      return;
    case T.DOUBLE: {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, value as number, true);
      w.bytes(b);
      return;
    }
    case T.BINARY:
      w.varint(BigInt((value as Uint8Array).length));
      w.bytes(value as Uint8Array);
      return;
    case T.LIST:
    case T.SET: {
      const { elem, items } = value as List;
      if (items.length < 15) w.out.push((items.length << 4) | elem);
      else {
        w.out.push(0xf0 | elem);
        w.varint(BigInt(items.length));
      }
      for (const item of items) writeValue(w, elem, item);
      return;
    }
    case T.STRUCT:
      writeStruct(w, value as Struct);
      return;
    default:
      throw new Error(`thrift: cannot write type ${type}`);
  }
}

function writeStruct(w: Writer, struct: Struct): void {
  let last = 0;
  for (const id of [...struct.keys()].sort((a, b) => a - b)) {
    const { type, value } = struct.get(id)!;
    const wire = type === T.TRUE ? (value ? T.TRUE : T.FALSE) : type;
    if (id > last && id - last <= 15) w.out.push(((id - last) << 4) | wire);
    else {
      w.out.push(wire);
      w.zigzag(BigInt(id));
    }
    last = id;
    if (type !== T.TRUE) writeValue(w, type, value);
  }
  w.out.push(0);
}

export function encodeStruct(struct: Struct): Uint8Array {
  const w = new Writer();
  writeStruct(w, struct);
  return Uint8Array.from(w.out);
}

// ---------------------------------------------------------------------------------------------------
// Field access

/** The struct at a path of field ids (undefined where a field is missing). */
export function struct(s: Struct, ...path: number[]): Struct | undefined {
  let at: Struct | undefined = s;
  for (const id of path) at = at?.get(id)?.value as Struct | undefined;
  return at;
}

export function items<V extends Value>(s: Struct, id: number): V[] {
  return ((s.get(id)?.value as List | undefined)?.items ?? []) as V[];
}

export function num(s: Struct, id: number): number | undefined {
  const v = s.get(id)?.value;
  return v === undefined ? undefined : Number(v as number | bigint);
}

export const i32 = (value: number): Field => ({ type: T.I32, value });
export const i64 = (value: number | bigint): Field => ({ type: T.I64, value: BigInt(value) });
export const binary = (text: string): Field => ({ type: T.BINARY, value: new TextEncoder().encode(text) });
export const structField = (value: Struct): Field => ({ type: T.STRUCT, value });
export const list = (elem: number, values: Value[]): Field => ({ type: T.LIST, value: { elem, items: values } });

// ---------------------------------------------------------------------------------------------------
// Files

export const MAGIC = new TextEncoder().encode('PAR1');

export function footerOf(file: Uint8Array): { meta: Struct; start: number } {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const start = file.byteLength - 8 - view.getUint32(file.byteLength - 8, true);
  return { meta: decodeStruct(file, start).value, start };
}

/** The same data area with another footer: `edit` changes the decoded FileMetaData in place. */
export function withFooter(file: Uint8Array, edit: (meta: Struct) => void): Uint8Array {
  const { meta, start } = footerOf(file);
  edit(meta);
  const footer = encodeStruct(meta);
  return concat([file.subarray(0, start), footer, lengthAndMagic(footer.length)]);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The 8 bytes after a footer of `length` bytes: its length and PAR1. */
export function lengthAndMagic(length: number): Uint8Array {
  const tail = new Uint8Array(8);
  new DataView(tail.buffer).setUint32(0, length, true);
  tail.set(MAGIC, 4);
  return tail;
}
