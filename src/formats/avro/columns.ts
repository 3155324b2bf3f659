// Arrow columns built straight into typed arrays (apache-arrow's generic builders cost several times
// more per value). A column reads its next value from avsc's tap (with the tap's readers, or the avsc
// type of its place in the schema) and appends it: records are never made into JS objects first
// (that, and the garbage it left, cost more than the decoding). appendNull() is a null, or, in a column that may not hold nulls,
// a zero (or empty) valid placeholder under a parent (struct, list) that is null: Arrow consumers may
// reject nulls in a field declared not nullable, even under a null parent. finish() hands the rows as
// Arrow Data and starts over.
import { makeData, type Data, type DataType } from 'apache-arrow';
import { readExactLong } from './avsc-types.js';
import type { Tap } from './tap.js';

export interface Column {
  /** Reads one value of the column's type from the tap and appends it. */
  read(tap: Tap): void;
  /** A null, or a placeholder where the column is not nullable (its parent is null). */
  appendNull(): void;
  finish(): Data;
}

/** Problems with single values (the cell is delivered null): counted and reported by index.ts. */
export interface CellIssues {
  /** The record (0-based, in the file) being read. */
  record: number;
  report(column: string, message: string): void;
}

/** A validity bitmap, allocated only once a null appears. */
export class Validity {
  length = 0;
  nullCount = 0;
  private bits?: Uint8Array;

  push(valid: boolean): void {
    const i = this.length++;
    if (valid) {
      if (this.bits) this.grow(i)[i >> 3]! |= 1 << (i & 7);
      return;
    }
    this.nullCount++;
    if (!this.bits) {
      // Rows so far were all valid.
      this.bits = new Uint8Array(Math.max(64, (i >> 2) + 8));
      this.bits.fill(0xff, 0, i >> 3);
      for (let j = i & ~7; j < i; j++) this.bits[j >> 3]! |= 1 << (j & 7);
    }
    this.grow(i);
  }

  /** The bitmap for the rows so far (undefined when none is null), and a reset. */
  take(): { length: number; nullCount: number; nullBitmap?: Uint8Array } {
    const taken = { length: this.length, nullCount: this.nullCount, nullBitmap: this.nullCount > 0 ? this.bits : undefined };
    this.length = 0;
    this.nullCount = 0;
    this.bits = undefined;
    return taken;
  }

  private grow(i: number): Uint8Array {
    if (i >> 3 >= this.bits!.length) {
      const bigger = new Uint8Array(this.bits!.length * 2);
      bigger.set(this.bits!);
      this.bits = bigger;
    }
    return this.bits!;
  }
}

type NumberArray = Int32Array | Float32Array | Float64Array;

/** Which of avsc's tap readers a number column reads with. */
export type NumberKind = 'int' | 'float' | 'double';
const ARRAYS: Record<NumberKind, { new (n: number): NumberArray }> = { int: Int32Array, float: Float32Array, double: Float64Array };

/**
 * int, float, double, date, time-millis: one JS number a row, read with the tap's own method (a call
 * through avsc's type objects here would go through a call site every column type shares).
 */
export class NumberColumn implements Column {
  private readonly validity = new Validity();
  private values: NumberArray;
  private readonly ArrayType: { new (n: number): NumberArray };

  constructor(
    private readonly type: DataType,
    private readonly kind: NumberKind,
    private readonly nullable: boolean,
  ) {
    this.ArrayType = ARRAYS[kind];
    this.values = new this.ArrayType(1024);
  }

  read(tap: Tap): void {
    const i = this.validity.length;
    if (i === this.values.length) this.values = grown(this.values, new this.ArrayType(i * 2));
    const { kind } = this;
    if (kind === 'int') {
      const value = tap.readInt();
      // avsc reads an int as far as its varint goes: one past 32 bits is corrupt, not to be wrapped.
      if (value !== (value | 0)) throw new Error(`an int varint holds ${value}, outside 32 bits`);
      this.values[i] = value;
    } else {
      this.values[i] = kind === 'double' ? tap.readDouble() : tap.readFloat();
    }
    this.validity.push(true);
  }

  appendNull(): void {
    const i = this.validity.length;
    if (i === this.values.length) this.values = grown(this.values, new this.ArrayType(i * 2));
    this.values[i] = 0;
    this.validity.push(!this.nullable);
  }

  finish(): Data {
    const v = this.validity.take();
    const data = this.values.subarray(0, v.length);
    this.values = new this.ArrayType(Math.max(1024, v.length));
    return makeData({ type: this.type, data, ...v } as never);
  }
}

/**
 * long and its logical types: readExactLong (avsc-types.ts) gives a number within 2^53 and a bigint
 * beyond, so a number is written as two 32-bit words without making a BigInt.
 */
export class LongColumn implements Column {
  private readonly validity = new Validity();
  private values = new BigInt64Array(1024);
  private words = new Int32Array(this.values.buffer);

  constructor(
    private readonly type: DataType,
    private readonly nullable: boolean,
  ) {}

  read(tap: Tap): void {
    const value = readExactLong(tap);
    const i = this.reserve();
    if (typeof value === 'number') {
      this.words[2 * i] = value >>> 0;
      this.words[2 * i + 1] = Math.floor(value / 4294967296);
    } else {
      this.values[i] = value;
    }
    this.validity.push(true);
  }

  appendNull(): void {
    this.values[this.reserve()] = 0n;
    this.validity.push(!this.nullable);
  }

  finish(): Data {
    const v = this.validity.take();
    const data = this.values.subarray(0, v.length);
    this.values = new BigInt64Array(Math.max(1024, v.length));
    this.words = new Int32Array(this.values.buffer);
    return makeData({ type: this.type, data, ...v } as never);
  }

  private reserve(): number {
    const i = this.validity.length;
    if (i === this.values.length) {
      this.values = grown(this.values, new BigInt64Array(i * 2));
      this.words = new Int32Array(this.values.buffer);
    }
    return i;
  }
}

export class BoolColumn implements Column {
  private readonly validity = new Validity();
  private bits = new Uint8Array(128);

  constructor(
    private readonly type: DataType,
    private readonly nullable: boolean,
  ) {}

  read(tap: Tap): void {
    const i = this.reserve();
    if (tap.readBoolean()) this.bits[i >> 3]! |= 1 << (i & 7);
    this.validity.push(true);
  }

  appendNull(): void {
    this.reserve();
    this.validity.push(!this.nullable);
  }

  finish(): Data {
    const v = this.validity.take();
    const data = this.bits.subarray(0, (v.length + 7) >> 3);
    this.bits = new Uint8Array(Math.max(128, data.length));
    return makeData({ type: this.type, data, ...v } as never);
  }

  private reserve(): number {
    const i = this.validity.length;
    if (i >> 3 >= this.bits.length) this.bits = grown(this.bits, new Uint8Array(this.bits.length * 2));
    return i;
  }
}

/** The null type: nothing to read, nothing but a length. */
export class NullColumn implements Column {
  private length = 0;

  constructor(private readonly type: DataType) {}

  read(): void {
    this.length++;
  }

  appendNull(): void {
    this.length++;
  }

  finish(): Data {
    const length = this.length;
    this.length = 0;
    return makeData({ type: this.type, length, nullCount: length } as never);
  }
}

/** Copies `from` into the start of `to` (a larger array of the same kind) and returns `to`. */
export function grown<T extends NumberArray | Uint8Array | BigInt64Array>(from: T, to: T): T {
  (to as Uint8Array).set(from as Uint8Array);
  return to;
}
