// The avsc type of a file's writer schema. Its types are what the Arrow columns read with at each place
// in the schema (arrow-types.ts), and what decodes whole values for the JSON columns. Built with changes
// made through avsc's typeHook (its way of substituting types), each for a reason avsc's defaults miss:
//   long    exact: a number within 2^53, a bigint beyond (avsc's own long throws past 2^53, and its
//           LongType.__with path allocates a Buffer and a BigInt for every value).
//   string  a handle to the value's bytes in the block (block-bytes.ts), not a JS string or a copy
//   bytes   (decimals and UUIDs are converted from those bytes; utf8 and binary columns copy them).
//   fixed
//   array   counts checked against the bytes left in the block before anything is allocated: a lying
//   map     count would otherwise have avsc fill an array with billions of items. Maps decode to
//           [key, value] pairs (only the JSON rendering reads them; no "__proto__" key surprises).
//   union   of several non-null types: decoded as { index, value }, so the JSON rendering knows the
//           branch (avsc's unwrapped unions drop it, its wrapped ones name it inconsistently).
// Logical types and field defaults are not given to avsc: values arrive as their underlying types, and
// the Arrow columns and JSON rendering interpret them from the schema graph (schema.ts).
import avsc from 'avsc';
import { makeHandle } from './block-bytes.js';
import type { Tap } from './tap.js';
import type { AvroNode } from './schema.js';

/** A value of a union of several non-null types, with the branch it holds. */
export interface Tagged {
  index: number;
  value: unknown;
}

interface AvscInternals {
  _read(tap: Tap): unknown;
  itemsType?: AvscInternals;
  valuesType?: AvscInternals;
  types?: AvscInternals[];
  size?: number;
  name?: string;
  typeName?: string;
  _minItemBytes?: number;
}

/** Arrays of items that take no bytes (nulls, empty records) are refused beyond this many items. */
export const MAX_EMPTY_ITEMS = 1 << 20;

/** Whether a union is null plus at most one other type (decoded unwrapped, a nullable column). */
export function isNullableUnion(branches: AvroNode[]): boolean {
  return branches.filter((b) => b.kind !== 'null').length <= 1;
}

type Schema = avsc.Schema;
type TypeHook = NonNullable<NonNullable<Parameters<typeof avsc.Type.forSchema>[1]>['typeHook']>;

function isNullBranch(branch: unknown): boolean {
  return branch === 'null' || (isObject(branch) && branch.type === 'null');
}

/** The decoding type for a writer schema (the parsed JSON of `avro.schema`). */
export function decodingType(schema: unknown): avsc.Type {
  const building = new Set<object>();
  const typeHook: TypeHook = (s, opts) => {
    const simple = typeof s === 'string' ? s : isObject(s) && typeof s.type === 'string' ? s.type : undefined;
    if (simple === 'long') return EXACT_LONG;
    if (simple === 'string' || simple === 'bytes') return BYTES_HANDLE;
    if (typeof s !== 'object' || s === null || building.has(s)) return undefined;
    const kind = Array.isArray(s) ? 'union' : simple;
    if (kind === 'union' && (s as unknown[]).filter((b) => !isNullBranch(b)).length <= 1) return undefined;
    const read = READERS[kind ?? ''];
    if (!read) return undefined;
    // avsc builds the type itself (this hook declines it the second time round); only its reader changes.
    building.add(s);
    try {
      const base = avsc.Type.forSchema(s, opts);
      const type = withReader(base, read);
      // A named type (fixed) is looked up by name later: references must find the changed one.
      if (kind === 'fixed' && base.name && opts.registry) opts.registry[base.name] = type;
      return type;
    } finally {
      building.delete(s);
    }
  };
  return avsc.Type.forSchema(withoutDefaults(schema) as Schema, { typeHook, wrapUnions: 'auto' });
}

/**
 * The schema without its default values: they only matter to reader-schema resolution, and avsc
 * refuses a file whose writer put a default it cannot check (a long beyond 2^53 in JSON, a wrong type).
 */
function withoutDefaults(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutDefaults);
  if (!isObject(schema)) return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([key]) => key !== 'default')
      .map(([key, value]) => [key, withoutDefaults(value)]),
  );
}

function isObject(s: unknown): s is { type?: unknown } {
  return typeof s === 'object' && s !== null && !Array.isArray(s);
}

function withReader(base: avsc.Type, read: (this: AvscInternals, tap: Tap) => unknown): avsc.Type {
  const type = Object.create(base) as avsc.Type;
  Object.defineProperty(type, '_read', { value: read });
  const items = (base as unknown as AvscInternals).itemsType;
  // Room check per item: items of at least one byte cannot outnumber the bytes left.
  Object.defineProperty(type, '_minItemBytes', { value: items ? minBytes(items as unknown as avsc.Type) : 1 });
  return type;
}

/** The fewest bytes an avsc type's value takes (0 for null and records of such fields). */
function minBytes(type: avsc.Type, seen = new Set<avsc.Type>()): number {
  const name = type.typeName;
  if (name === 'null') return 0;
  if (name === 'record' || name === 'error') {
    if (seen.has(type)) return 0;
    seen.add(type);
    const fields = (type as unknown as { fields: { type: avsc.Type }[] }).fields;
    return fields.reduce((n, f) => n + minBytes(f.type, seen), 0);
  }
  return 1;
}

const EXACT_LONG = withReader(avsc.Type.forSchema('long'), readExactLong);
// Strings and bytes are encoded alike (a length, then the bytes), so one handle reader serves both.
const BYTES_HANDLE = withReader(avsc.Type.forSchema('bytes'), readBytesHandle);

function readBytesHandle(tap: Tap): number {
  const length = tap.readLong();
  const start = tap.pos;
  if (length < 0) {
    // avsc's own way of marking the tap invalid: the record is then reported as running past the block.
    tap.pos = tap.buf.length + 1;
    return 0;
  }
  tap.pos += length;
  return tap.pos <= tap.buf.length ? makeHandle(start, length) : 0;
}

function readFixedHandle(this: AvscInternals, tap: Tap): number {
  const start = tap.pos;
  tap.pos += this.size!;
  return tap.pos <= tap.buf.length ? makeHandle(start, this.size!) : 0;
}

/** A zigzag varint of up to 64 bits, as a number when it is within 2^53, else a bigint. */
export function readExactLong(tap: Tap): number | bigint {
  const buf = tap.buf;
  const start = tap.pos;
  let pos = start;
  let b = buf[pos++]!;
  let n = b & 0x7f;
  // Up to four bytes (28 bits) in integer arithmetic, then exact doubles while the value is under 2^53.
  for (let shift = 7; b & 0x80 && shift < 28; shift += 7) {
    b = buf[pos++]!;
    n |= (b & 0x7f) << shift;
  }
  if (!(b & 0x80)) {
    tap.pos = pos;
    return (n >>> 1) ^ -(n & 1);
  }
  let f = n;
  let scale = 268435456;
  for (; b & 0x80 && pos - start < 7; scale *= 128) {
    b = buf[pos++]!;
    f += (b & 0x7f) * scale;
  }
  // An eighth byte below 16 keeps the zigzag value under 2^53 (microsecond timestamps take eight bytes).
  if (b & 0x80 && buf[pos]! < 16) {
    f += buf[pos++]! * scale;
    b = 0;
  }
  if (!(b & 0x80)) {
    tap.pos = pos;
    return f % 2 === 1 ? -(f + 1) / 2 : f / 2;
  }
  return readBigLong(tap, start);
}

function readBigLong(tap: Tap, start: number): number | bigint {
  const buf = tap.buf;
  let pos = start;
  let z = 0n;
  let b: number;
  let shift = 0n;
  do {
    b = buf[pos++]!;
    z |= BigInt(b & 0x7f) << shift;
    shift += 7n;
  } while (b & 0x80 && shift < 70n);
  if (b & 0x80 || z >> 64n) throw new Error('a long is longer than 64 bits');
  tap.pos = pos;
  const value = (z >> 1n) ^ -(z & 1n);
  return value >= -9007199254740991n && value <= 9007199254740991n ? Number(value) : value;
}

/** The next block count of an array or map, checked against the bytes left in the block. */
export function blockCount(tap: Tap, minItem: number, sofar: number, what: string): number {
  let n = tap.readLong();
  if (n === 0) return 0;
  if (n < 0) {
    n = -n;
    tap.skipLong();
  }
  const room = tap.buf.length - tap.pos;
  if (minItem > 0 ? n * minItem > room : sofar + n > MAX_EMPTY_ITEMS) {
    throw new Error(`${what} claims ${n} items, more than the ${room} bytes left in its block hold`);
  }
  return n;
}

function readArray(this: AvscInternals, tap: Tap): unknown[] {
  const items = this.itemsType!;
  const min = this._minItemBytes ?? 1;
  const out: unknown[] = [];
  for (let n = blockCount(tap, min, 0, 'an array'); n > 0; n = blockCount(tap, min, out.length, 'an array')) {
    for (let i = 0; i < n; i++) out.push(items._read(tap));
  }
  return out;
}

function readMap(this: AvscInternals, tap: Tap): [string, unknown][] {
  const values = this.valuesType!;
  const out: [string, unknown][] = [];
  // Every entry has a key (one byte at least).
  for (let n = blockCount(tap, 1, 0, 'a map'); n > 0; n = blockCount(tap, 1, out.length, 'a map')) {
    for (let i = 0; i < n; i++) {
      const key = tap.readString();
      out.push([key, values._read(tap)]);
    }
  }
  return out;
}

function readTagged(this: AvscInternals, tap: Tap): Tagged | null {
  const index = tap.readLong();
  const branch = this.types![index];
  if (!branch) throw new Error(`union branch ${index} does not exist`);
  const value = branch._read(tap);
  // The null branch is a null value, so a nullable JSON column holds a null there, not JSON null.
  return branch.typeName === 'null' ? null : { index, value };
}

const READERS: Record<string, (this: AvscInternals, tap: Tap) => unknown> = {
  array: readArray,
  map: readMap,
  union: readTagged,
  fixed: readFixedHandle,
};
