// Columns holding other columns (Arrow structs and lists), unions of null and one type, CloudQuery's
// JSON type, and the record columns of a whole batch.
import { makeData, RecordBatch, Struct, type Data, type DataType, type Schema } from 'apache-arrow';
import { blockCount } from './avsc-types.js';
import type { BlockBytes } from './block-bytes.js';
import { VarBytesColumn } from './bytes-columns.js';
import { grown, Validity, type Column } from './columns.js';
import { jsonText } from './json-values.js';
import type { AvroNode } from './schema.js';
import type { AvscReader, Tap } from './tap.js';

/** An Avro record as an Arrow struct: its fields read in order, one child column each. */
export class StructColumn implements Column {
  private readonly validity = new Validity();

  constructor(
    private readonly type: DataType,
    private readonly children: Column[],
    private readonly nullable: boolean,
  ) {}

  read(tap: Tap): void {
    for (const child of this.children) child.read(tap);
    this.validity.push(true);
  }

  appendNull(): void {
    for (const child of this.children) child.appendNull();
    this.validity.push(!this.nullable);
  }

  finish(): Data {
    const v = this.validity.take();
    return makeData({ type: this.type, children: this.children.map((c) => c.finish()), ...v } as never);
  }
}

/** An Avro array as an Arrow list; its block counts are checked against the bytes left (avsc-types.ts). */
export class ListColumn implements Column {
  private readonly validity = new Validity();
  private offsets = new Int32Array(1025);

  constructor(
    private readonly type: DataType,
    private readonly items: Column,
    /** The fewest bytes an item takes. */
    private readonly minItemBytes: number,
    private readonly nullable: boolean,
  ) {}

  read(tap: Tap): void {
    let count = 0;
    for (let n = blockCount(tap, this.minItemBytes, 0, 'an array'); n > 0; n = blockCount(tap, this.minItemBytes, count, 'an array')) {
      for (let i = 0; i < n; i++) this.items.read(tap);
      count += n;
    }
    this.close(count, true);
  }

  appendNull(): void {
    this.close(0, !this.nullable);
  }

  finish(): Data {
    const v = this.validity.take();
    const valueOffsets = this.offsets.subarray(0, v.length + 1);
    this.offsets = new Int32Array(Math.max(1025, v.length + 1));
    return makeData({ type: this.type, valueOffsets, child: this.items.finish(), ...v } as never);
  }

  private close(count: number, valid: boolean): void {
    const i = this.validity.length;
    if (i + 1 === this.offsets.length) this.offsets = grown(this.offsets, new Int32Array(this.offsets.length * 2));
    this.offsets[i + 1] = this.offsets[i]! + count;
    this.validity.push(valid);
  }
}

/** A union of null and one type: the branch index, then a null or the other type's value. */
export class NullableColumn implements Column {
  constructor(
    private readonly inner: Column,
    /** Per branch index: whether it is the null branch. */
    private readonly isNull: boolean[],
  ) {}

  read(tap: Tap): void {
    const index = tap.readLong();
    const isNull = this.isNull[index];
    if (isNull === undefined) throw new Error(`union branch ${index} does not exist`);
    if (isNull) this.inner.appendNull();
    else this.inner.read(tap);
  }

  appendNull(): void {
    this.inner.appendNull();
  }

  finish(): Data {
    return this.inner.finish();
  }
}

/** CloudQuery's JSON type: each value decoded by avsc, rendered as JSON text (json-values.ts), UTF-8. */
export class JsonColumn extends VarBytesColumn {
  constructor(
    type: DataType,
    nullable: boolean,
    private readonly node: AvroNode,
    private readonly decoder: AvscReader,
    block: BlockBytes,
  ) {
    super(type, nullable, block);
  }

  override read(tap: Tap): void {
    const value = this.decoder._read(tap);
    if (value === null && this.nullable) return this.appendNull();
    this.appendString(jsonText(this.node, value, this.block!));
  }

  override appendNull(): void {
    // Under a null parent, a JSON column that may not be null holds the JSON null.
    if (this.nullable) super.appendNull();
    else this.appendString('null');
  }
}

/** Values read and converted to text first (decimals too wide for Arrow's decimal types). */
export class TextColumn extends VarBytesColumn {
  constructor(
    type: DataType,
    private readonly decoder: AvscReader,
    private readonly text: (value: unknown) => string,
  ) {
    super(type, true);
  }

  override read(tap: Tap): void {
    this.appendString(this.text(this.decoder._read(tap)));
  }
}

/** The columns of a batch: one per field of the file's record type (or one `value` column). */
export class RecordColumns {
  rows = 0;
  private readonly struct: Struct;

  constructor(
    private readonly schema: Schema,
    private readonly columns: Column[],
  ) {
    this.struct = new Struct(schema.fields);
  }

  /** Reads one record. Its row counts only once every column has read its value. */
  read(tap: Tap): void {
    const { columns } = this;
    for (let c = 0; c < columns.length; c++) columns[c]!.read(tap);
  }

  /** The record just read is whole (it did not run past its block). */
  commit(): void {
    this.rows++;
  }

  finish(): RecordBatch {
    const length = this.rows;
    this.rows = 0;
    // A record that failed half way left values in some columns: only whole records go out.
    const children = this.columns.map((c) => c.finish()).map((d) => (d.length === length ? d : d.slice(0, length)));
    return new RecordBatch(this.schema, makeData({ type: this.struct, length, nullCount: 0, children }));
  }
}
