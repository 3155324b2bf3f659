// Seeded mutations for the fuzz test and `npm run fuzz`: a small PRNG (the same seed gives the same
// cases on every machine), byte-level damage (bit flips, overwrites, truncations) and lies in Thrift
// structs (a Parquet footer or page header decoded, one integer changed or one field dropped, encoded
// again).
import { T, type List, type Struct, type Value } from './thrift-footer.js';

/** mulberry32: 32 bits of state, fast, and good enough to pick mutations. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<V>(items: readonly V[]): V {
    return items[this.int(items.length)]!;
  }

  /** A child generator: its sequence depends only on this one's seed and `salt`. */
  fork(salt: number): Rng {
    return new Rng(Math.imul(this.state ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(salt + 1, 0xc2b2ae35));
  }
}

/** A seed for one batch of a run: batches can be replayed alone. */
export function batchSeed(seed: number, batch: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(batch + 1, 0x85ebca77)) >>> 0;
}

/** Bytes a hostile writer likes: delimiters, quotes, line ends, NUL, UTF-8 lead and stray bytes. */
const SPECIAL_BYTES = [0x00, 0x0a, 0x0d, 0x22, 0x27, 0x2c, 0x09, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x80, 0xbf, 0xc3, 0xe2, 0xf0, 0xff];

/** Flips 1 to 4 bits at random positions in [from, to). */
export function flipBits(bytes: Uint8Array, rng: Rng, from = 0, to = bytes.length): string {
  const out: number[] = [];
  for (let n = 1 + rng.int(4); n > 0 && to > from; n--) {
    const at = from + rng.int(to - from);
    bytes[at]! ^= 1 << rng.int(8);
    out.push(at);
  }
  return `bits flipped at ${out.join(',')}`;
}

/** Overwrites a run of 1 to 16 bytes in [from, to) with random or special bytes. */
export function overwrite(bytes: Uint8Array, rng: Rng, from = 0, to = bytes.length): string {
  if (to <= from) return 'nothing to overwrite';
  const at = from + rng.int(to - from);
  const length = Math.min(1 + rng.int(16), to - at);
  const special = rng.next() < 0.5;
  for (let i = 0; i < length; i++) bytes[at + i] = special ? rng.pick(SPECIAL_BYTES) : rng.int(256);
  return `${length} bytes overwritten at ${at}`;
}

/** Either a bit flip or an overwrite, in place. */
export function damage(bytes: Uint8Array, rng: Rng, from = 0, to = bytes.length): string {
  return rng.next() < 0.5 ? flipBits(bytes, rng, from, to) : overwrite(bytes, rng, from, to);
}

/** The file cut short: anywhere, or just before its last 1 to 16 bytes. */
export function truncate(bytes: Uint8Array, rng: Rng): { bytes: Uint8Array; how: string } {
  const length = rng.next() < 0.3 ? Math.max(0, bytes.length - 1 - rng.int(16)) : rng.int(bytes.length);
  return { bytes: bytes.slice(0, length), how: `cut to ${length} of ${bytes.length} bytes` };
}

// ---------------------------------------------------------------------------------------------------
// Thrift lies

/** Where an integer sits in a decoded struct: the struct or list holding it and its field id or index. */
interface IntegerSlot {
  path: string;
  get(): number | bigint;
  set(value: number | bigint): void;
}

function integerSlots(struct: Struct, path: string, out: IntegerSlot[]): IntegerSlot[] {
  for (const [id, field] of struct) {
    const at = `${path}.${id}`;
    if (field.type === T.I16 || field.type === T.I32 || field.type === T.I64 || field.type === T.BYTE)
      out.push({ path: at, get: () => field.value as number | bigint, set: (v) => (field.value = v) });
    else if (field.type === T.STRUCT) integerSlots(field.value as Struct, at, out);
    else if (field.type === T.LIST || field.type === T.SET) listSlots(field.value as List, at, out);
  }
  return out;
}

function listSlots(list: List, path: string, out: IntegerSlot[]): void {
  list.items.forEach((item, i) => {
    if (list.elem === T.STRUCT) integerSlots(item as Struct, `${path}[${i}]`, out);
    else if (list.elem === T.I32 || list.elem === T.I64 || list.elem === T.I16)
      out.push({ path: `${path}[${i}]`, get: () => item as number, set: (v) => (list.items[i] = v as Value) });
  });
}

/** Every struct in a decoded struct, itself included, with its path. */
function structs(struct: Struct, path: string, out: { path: string; struct: Struct }[] = []): { path: string; struct: Struct }[] {
  out.push({ path, struct });
  for (const [id, field] of struct) {
    if (field.type === T.STRUCT) structs(field.value as Struct, `${path}.${id}`, out);
    else if ((field.type === T.LIST || field.type === T.SET) && (field.value as List).elem === T.STRUCT)
      (field.value as List).items.forEach((s, i) => structs(s as Struct, `${path}.${id}[${i}]`, out));
  }
  return out;
}

/** A value an integer field could lie with: the edges of its width, off by one, doubled, random. */
function lieFor(value: number | bigint, rng: Rng, wide: boolean): number | bigint {
  const v = Number(value);
  const max = wide ? 2 ** 53 : 2 ** 31 - 1;
  const lies = [0, 1, -1, v + 1, v - 1, v * 2, -v, max, -max, 2 ** 31, rng.int(1 << 20), rng.int(256)];
  const lie = rng.pick(lies.filter((l) => l !== v));
  return wide || typeof value === 'bigint' ? BigInt(lie) : Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, lie));
}

/** Changes one integer anywhere in `struct`, or drops one field, in place; says what it did. */
export function lieInStruct(struct: Struct, rng: Rng, name: string): string {
  if (rng.next() < 0.15) {
    const all = structs(struct, name).filter((s) => s.struct.size > 0);
    const { path, struct: target } = rng.pick(all);
    const id = rng.pick([...target.keys()]);
    target.delete(id);
    return `field ${path}.${id} dropped`;
  }
  const slots = integerSlots(struct, name, []);
  if (slots.length === 0) return 'no integer to change';
  const slot = rng.pick(slots);
  const before = slot.get();
  const after = lieFor(before, rng, typeof before === 'bigint');
  slot.set(after);
  return `${slot.path} ${String(before)} -> ${String(after)}`;
}
