// Arrow columns built straight into typed arrays (values, validity bitmap, utf8 offsets) and wrapped
// with makeData: apache-arrow's builders, one append per value, took 3 to 5 times as long on 1M rows of
// int64, float64 and utf8 text (parsing included in both). Each column
// takes a CSV cell's text or a JSON value's range and converts it to the column's type; a value that
// does not fit returns false and the caller reports it and appends null instead. Arrays start small and
// double (the batch resizes every column before a row that would not fit), so a batch cut early by its
// byte size holds no large unused allocation.
import type { Data, DataType } from 'apache-arrow';
import { Base, grown } from './column-base.js';
import type { Inferred } from './infer.js';
import { TextColumn } from './text-column.js';
import { K_FALSE, K_FLOAT, K_INT, K_STRING, K_STRING_ESCAPED, K_TRUE, stringValue, type JsonKind } from './json-tokens.js';
import { fastFloat, floatValue, isFloatText, parseDate, parseInt64, parseTimestampInto, type Timestamp } from './values.js';

export interface Column {
  readonly length: number;
  /** Decoded bytes held (values and offsets), for batch sizing. */
  readonly bytes: number;
  appendNull(): void;
  /** Makes room for `capacity` rows in all (the batch grows every column at once, before a row). */
  resize(capacity: number): void;
  /** A CSV cell's text (not null); false when it does not fit the column's type. */
  appendText(text: string): boolean;
  /**
   * A JSON value (not null) spanning [start, end) of `src`; false when it does not fit. `ascii`, when
   * given, holds the bytes `src` was decoded from, all ASCII (so string and byte offsets agree): text
   * is then copied as bytes instead of being sliced and encoded again.
   */
  appendJson(kind: JsonKind, src: string, start: number, end: number, ascii?: Buffer): boolean;
  finish(type: DataType): Data;
}

/** Booleans a CSV cell may spell. */
export interface BoolWords {
  trueValues: ReadonlySet<string>;
  falseValues: ReadonlySet<string>;
}

/** An empty column of an inferred type with room for `capacity` rows. */
export function createColumn(type: Inferred, capacity: number, words: BoolWords): Column {
  switch (type) {
    case 'bool':
      return new BoolColumn(capacity, words);
    case 'int':
      return new Int64Column(capacity);
    case 'float':
      return new Float64Column(capacity);
    case 'date':
      return new DateColumn(capacity);
    case 'timestamp':
    case 'timestamptz':
      return new TimestampColumn(capacity, type === 'timestamptz');
    case 'json':
      return new TextColumn(capacity, true);
    default:
      return new TextColumn(capacity, false);
  }
}

class BoolColumn extends Base {
  private bits: Uint8Array;
  constructor(
    capacity: number,
    private readonly words: BoolWords,
  ) {
    super(capacity);
    this.bits = new Uint8Array((capacity + 7) >> 3);
  }
  override resize(capacity: number): void {
    super.resize(capacity);
    this.bits = grown(this.bits, (capacity + 7) >> 3);
  }
  get bytes() {
    return this.length >> 3;
  }
  protected skip() {}
  private push(value: boolean): true {
    if (value) this.bits[this.length >> 3]! |= 1 << (this.length & 7);
    this.valid();
    return true;
  }
  appendText(text: string): boolean {
    if (this.words.trueValues.has(text)) return this.push(true);
    return this.words.falseValues.has(text) && this.push(false);
  }
  appendJson(kind: JsonKind): boolean {
    return (kind === K_TRUE || kind === K_FALSE) && this.push(kind === K_TRUE);
  }
  finish(type: DataType): Data {
    return this.data(type, { data: this.bits.subarray(0, (this.length + 7) >> 3) });
  }
}

/** 64-bit values written as two 32-bit halves when they fit a double exactly: no BigInt per value. */
abstract class Wide extends Base {
  protected values: BigInt64Array;
  private halves: Int32Array;
  constructor(capacity: number) {
    super(capacity);
    this.values = new BigInt64Array(capacity);
    this.halves = new Int32Array(this.values.buffer);
  }
  override resize(capacity: number): void {
    super.resize(capacity);
    this.values = grown(this.values, capacity);
    this.halves = new Int32Array(this.values.buffer);
  }
  get bytes() {
    return this.length * 8;
  }
  protected skip() {}
  /** Writes a safe integer (|n| <= 2^53) as its two's complement halves (little-endian). */
  protected putNumber(n: number): true {
    const high = Math.floor(n / 4294967296);
    this.halves[this.length * 2] = n - high * 4294967296;
    this.halves[this.length * 2 + 1] = high;
    this.valid();
    return true;
  }
  protected putBig(n: bigint): true {
    this.values[this.length] = n;
    this.valid();
    return true;
  }
}

class Int64Column extends Wide {
  private put(value: number | bigint | undefined): boolean {
    if (value === undefined) return false;
    return typeof value === 'number' ? this.putNumber(value) : this.putBig(value);
  }
  appendText(text: string): boolean {
    return this.put(parseInt64(text));
  }
  appendJson(kind: JsonKind, src: string, start: number, end: number): boolean {
    return kind === K_INT && this.put(parseInt64(src, start, end));
  }
  finish(type: DataType): Data {
    return this.data(type, { data: this.values.subarray(0, this.length) });
  }
}

class TimestampColumn extends Wide {
  constructor(
    capacity: number,
    private readonly zoned: boolean,
  ) {
    super(capacity);
  }
  /** Reused for every value: no object a value. */
  private readonly parsed: Timestamp = { micros: 0, zoned: false };
  private put(text: string, start: number, end: number): boolean {
    const ts = this.parsed;
    if (!parseTimestampInto(ts, text, start, end) || ts.zoned !== this.zoned) return false;
    return ts.big === undefined ? this.putNumber(ts.micros) : this.putBig(ts.big);
  }
  private putText(text: string, start: number, end: number): boolean {
    // A date fits a timestamp column: its midnight (UTC in a zoned column), as inference widens them.
    const days = parseDate(text, start, end);
    if (!Number.isNaN(days)) return this.putNumber(days * 86_400_000_000);
    return this.put(text, start, end);
  }
  appendText(text: string): boolean {
    return this.putText(text, 0, text.length);
  }
  appendJson(kind: JsonKind, src: string, start: number, end: number): boolean {
    if (kind === K_STRING) return this.putText(src, start, end);
    if (kind !== K_STRING_ESCAPED) return false;
    const text = stringValue(kind, src, start, end);
    return this.putText(text, 0, text.length);
  }
  finish(type: DataType): Data {
    return this.data(type, { data: this.values.subarray(0, this.length) });
  }
}

class Float64Column extends Base {
  private values: Float64Array;
  constructor(capacity: number) {
    super(capacity);
    this.values = new Float64Array(capacity);
  }
  override resize(capacity: number): void {
    super.resize(capacity);
    this.values = grown(this.values, capacity);
  }
  get bytes() {
    return this.length * 8;
  }
  protected skip() {}
  private put(value: number): true {
    this.values[this.length] = value;
    this.valid();
    return true;
  }
  appendText(text: string): boolean {
    const fast = fastFloat(text, 0, text.length);
    if (fast !== undefined) return this.put(fast);
    return isFloatText(text) && this.put(floatValue(text));
  }
  appendJson(kind: JsonKind, src: string, start: number, end: number): boolean {
    if (kind !== K_INT && kind !== K_FLOAT) return false;
    return this.put(fastFloat(src, start, end) ?? Number(src.slice(start, end)));
  }
  finish(type: DataType): Data {
    return this.data(type, { data: this.values.subarray(0, this.length) });
  }
}

class DateColumn extends Base {
  private values: Int32Array;
  constructor(capacity: number) {
    super(capacity);
    this.values = new Int32Array(capacity);
  }
  override resize(capacity: number): void {
    super.resize(capacity);
    this.values = grown(this.values, capacity);
  }
  get bytes() {
    return this.length * 4;
  }
  protected skip() {}
  private put(days: number): boolean {
    if (Number.isNaN(days)) return false;
    this.values[this.length] = days;
    this.valid();
    return true;
  }
  appendText(text: string): boolean {
    return this.put(parseDate(text));
  }
  appendJson(kind: JsonKind, src: string, start: number, end: number): boolean {
    if (kind !== K_STRING && kind !== K_STRING_ESCAPED) return false;
    return kind === K_STRING ? this.put(parseDate(src, start, end)) : this.put(parseDate(stringValue(kind, src, start, end)));
  }
  finish(type: DataType): Data {
    return this.data(type, { data: this.values.subarray(0, this.length) });
  }
}
