// Variable- and fixed-width byte columns: utf8 (Avro strings and enums), binary (bytes, fixed, and
// CloudQuery's JSON type, whose values are UTF-8 JSON text), and fixed-width values (decimals, UUIDs).
import { makeData, type Data, type DataType } from 'apache-arrow';
import type { BlockBytes } from './block-bytes.js';
import { grown, Validity, type CellIssues, type Column } from './columns.js';
import type { AvscReader, Tap } from './tap.js';
import { isUtf8Values, repairUtf8 } from './utf8.js';

/** Strings this short are encoded by a plain loop: cheaper than a call into Buffer for ASCII. */
const SHORT_STRING = 24;
/** Values this short are copied by a plain loop, longer ones by one set(): measured faster each side. */
const SHORT_COPY = 64;

/** Offsets and bytes, as Arrow's Utf8 and Binary lay them out. */
export class VarBytesColumn implements Column {
  protected readonly validity = new Validity();
  private offsets = new Int32Array(1025);
  protected bytes = Buffer.allocUnsafe(16 * 1024);
  protected end = 0;

  constructor(
    protected readonly type: DataType,
    protected readonly nullable: boolean,
    /** The block that values are copied from (unset for columns of text made here: enums, JSON). */
    protected readonly block?: BlockBytes,
    /** A fixed's size; -1 for bytes and strings, whose length comes first (a varint). */
    private readonly fixedSize = -1,
  ) {}

  /**
   * A string, bytes or fixed value: its bytes copied straight from the block. This is avsc's encoding
   * of them read in place (avsc-types.ts reads them the same way, as handles, inside JSON values).
   */
  read(tap: Tap): void {
    let length = this.fixedSize;
    if (length < 0) length = tap.readLong();
    const start = tap.pos;
    tap.pos = start + length;
    if (length < 0 || tap.pos > tap.buf.length) {
      // Past the block: the record is refused once it is read (decode.ts).
      tap.pos = tap.buf.length + 1;
      this.close(true);
      return;
    }
    this.reserve(length);
    const { bytes, end } = this;
    const from = this.block!.view;
    if (length <= SHORT_COPY) {
      for (let i = 0; i < length; i++) bytes[end + i] = from[start + i]!;
    } else {
      bytes.set(from.subarray(start, start + length), end);
    }
    this.end += length;
    this.close(true);
  }

  appendNull(): void {
    this.close(!this.nullable);
  }

  appendBytes(value: Uint8Array): void {
    this.reserve(value.length);
    this.bytes.set(value, this.end);
    this.end += value.length;
    this.close(true);
  }

  appendString(value: string): void {
    const n = value.length;
    // UTF-8 takes at most three bytes per UTF-16 unit.
    this.reserve(n * 3);
    if (n <= SHORT_STRING) {
      const { bytes } = this;
      let at = this.end;
      let i = 0;
      for (; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        bytes[at++] = c;
      }
      this.end = i === n ? at : this.end + bytes.write(value, this.end, 'utf8');
    } else {
      this.end += this.bytes.write(value, this.end, 'utf8');
    }
    this.close(true);
  }

  finish(): Data {
    const { valueOffsets, data, validity } = this.take();
    return makeData({ type: this.type, valueOffsets, data, ...validity } as never);
  }

  /** The rows so far as offsets, bytes and validity, and a reset. */
  protected take(): { valueOffsets: Int32Array; data: Uint8Array; validity: ReturnType<Validity['take']> } {
    const validity = this.validity.take();
    const valueOffsets = this.offsets.subarray(0, validity.length + 1);
    // The batch keeps this buffer; the next rows go to a new one.
    const data = this.bytes.subarray(0, this.end);
    this.bytes = Buffer.allocUnsafe(this.bytes.length);
    this.offsets = new Int32Array(Math.max(1025, validity.length + 1));
    this.end = 0;
    return { valueOffsets, data, validity };
  }

  private close(valid: boolean): void {
    const i = this.validity.length;
    if (i + 1 === this.offsets.length) this.offsets = grown(this.offsets, new Int32Array(this.offsets.length * 2));
    if (this.end > 0x7fffffff) throw new RangeError('a batch of values over 2 GiB');
    this.offsets[i + 1] = this.end;
    this.validity.push(valid);
  }

  protected reserve(n: number): void {
    if (this.end + n <= this.bytes.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.end + n));
    bigger.set(this.bytes.subarray(0, this.end));
    this.bytes = bigger;
  }
}

/**
 * Avro strings: their bytes copied as they are (block-bytes.ts), so UTF-8 is checked once per batch
 * (one call for the whole buffer). Values that are not valid UTF-8 have their invalid bytes replaced
 * with U+FFFD, as decoding them to JS strings would, and are reported.
 */
export class StringColumn extends VarBytesColumn {
  constructor(
    type: DataType,
    nullable: boolean,
    private readonly ctx: { block: BlockBytes; issues: CellIssues },
    private readonly path: string,
  ) {
    super(type, nullable, ctx.block);
  }

  override finish(): Data {
    const taken = this.take();
    const { validity } = taken;
    let { valueOffsets, data } = taken;
    if (!isUtf8Values(data, valueOffsets, validity.length)) {
      const repaired = repairUtf8(data, valueOffsets, validity.length);
      ({ valueOffsets, data } = repaired);
      const what = `${repaired.count} of the ${validity.length} values in the batch ending at this record are not valid UTF-8`;
      this.ctx.issues.report(this.path, `${what}; their invalid bytes were replaced with U+FFFD`);
    }
    return makeData({ type: this.type, valueOffsets, data, ...validity } as never);
  }
}

/** Enum symbols as utf8: the symbol's index read from the tap, each symbol's bytes encoded once. */
export class EnumColumn extends VarBytesColumn {
  private readonly encoded: Buffer[];

  constructor(type: DataType, nullable: boolean, symbols: string[]) {
    super(type, nullable);
    this.encoded = symbols.map((s) => Buffer.from(s, 'utf8'));
  }

  override read(tap: Tap): void {
    const index = tap.readLong();
    const symbol = this.encoded[index];
    if (!symbol) throw new Error(`enum index ${index} is not one of its ${this.encoded.length} symbols`);
    this.appendBytes(symbol);
  }
}

/** Writes one value (its bytes) into `width` bytes at `at`; a reason instead when it does not fit. */
export type FixedConvert = (value: Uint8Array, out: Uint8Array, at: number) => true | string;

/**
 * Values of `width` bytes each (Decimal128/256, UUID), converted by `convert` from the value's bytes in
 * the block. A value it refuses is delivered null and reported (such columns are always nullable).
 */
export class FixedBytesColumn implements Column {
  private readonly validity = new Validity();
  private bytes: Uint8Array;

  constructor(
    private readonly type: DataType,
    private readonly width: number,
    private readonly convert: FixedConvert,
    private readonly reader: AvscReader,
    private readonly ctx: { block: BlockBytes; issues: CellIssues },
    private readonly path: string,
  ) {
    this.bytes = new Uint8Array(width * 256);
  }

  read(tap: Tap): void {
    const value = this.ctx.block.bytes(this.reader._read(tap) as number);
    const at = this.reserve();
    const ok = this.convert(value, this.bytes, at);
    if (ok !== true) {
      this.bytes.fill(0, at, at + this.width);
      this.ctx.issues.report(this.path, `${ok}; delivered as null`);
    }
    this.validity.push(ok === true);
  }

  appendNull(): void {
    const at = this.reserve();
    this.bytes.fill(0, at, at + this.width);
    this.validity.push(false);
  }

  finish(): Data {
    const v = this.validity.take();
    const data = this.bytes.subarray(0, v.length * this.width);
    this.bytes = new Uint8Array(Math.max(this.width * 256, data.length));
    return makeData({ type: this.type, data, ...v } as never);
  }

  private reserve(): number {
    const at = this.validity.length * this.width;
    if (at + this.width > this.bytes.length) this.bytes = grown(this.bytes, new Uint8Array(this.bytes.length * 2));
    return at;
  }
}
