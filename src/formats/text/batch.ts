// Rows of a text file gathered into Arrow record batches of the file's inferred schema: at most maxRows
// rows, cut at a multiple of rowMultiple once about TARGET_BATCH_BYTES are decoded (memory grows with
// bytes, not rows), and in any case at HARD_CAP_BYTES so rows of huge values never pile up.
import { makeData, RecordBatch, Struct, type Schema } from 'apache-arrow';
import { createColumn, type BoolWords, type Column } from './columns.js';
import { inferredOf, type Inferred } from './infer.js';

/** Decoded bytes a batch aims at; the Parquet reader measured 2 MiB best for peak RSS and throughput. */
export const TARGET_BATCH_BYTES = 2 * 1024 * 1024;
/** A batch is cut here even off a multiple of rowMultiple (the record encoder cuts by bytes anyway). */
export const HARD_CAP_BYTES = 64 * 1024 * 1024;
/** Rows a batch first has room for; columns double from there. */
const INITIAL_CAPACITY = 1024;
/** How often (in rows) the hard cap is checked between multiples. */
const CAP_CHECK_ROWS = 64;

export interface BatchLimits {
  maxRows: number;
  rowMultiple: number;
}

export class BatchBuilder {
  readonly types: Inferred[];
  columns: Column[] = [];
  rows = 0;
  private capacity = 0;
  private readonly ready: RecordBatch[] = [];
  private readonly multiple: number;
  private readonly maxRows: number;
  private lastRows = INITIAL_CAPACITY;

  constructor(
    private readonly schema: Schema,
    limits: BatchLimits,
    private readonly words: BoolWords,
  ) {
    this.types = schema.fields.map(inferredOf);
    this.multiple = Math.max(1, limits.rowMultiple);
    this.maxRows = Math.max(this.multiple, limits.maxRows);
    this.reset();
  }

  /** Call before appending a row's cells: makes room for it. */
  startRow(): void {
    if (this.rows < this.capacity) return;
    this.capacity *= 2;
    for (const column of this.columns) column.resize(this.capacity);
  }

  /** Call once a row's cells are appended (every column exactly one value or null). */
  endRow(): void {
    const rows = ++this.rows;
    if (rows % this.multiple === 0) {
      if (rows >= this.maxRows || this.bytes() >= TARGET_BATCH_BYTES) this.flush();
    } else if (rows % CAP_CHECK_ROWS === 0 && this.bytes() >= HARD_CAP_BYTES) {
      this.flush();
    }
  }

  /** Ends the current batch (when it has rows). */
  flush(): void {
    if (this.rows === 0) return;
    const children = this.columns.map((column, i) => column.finish(this.schema.fields[i]!.type));
    const type = new Struct(this.schema.fields);
    this.ready.push(new RecordBatch(this.schema, makeData({ type, length: this.rows, nullCount: 0, children })));
    this.lastRows = this.rows;
    this.reset();
  }

  /** The batches completed so far (handed over once). */
  take(): RecordBatch[] {
    return this.ready.splice(0, this.ready.length);
  }

  private bytes(): number {
    let bytes = 0;
    for (const column of this.columns) bytes += column.bytes;
    return bytes;
  }

  private reset(): void {
    // The previous batch's size is the best guess of the next one's: few resizes, little unused room.
    this.capacity = Math.min(this.maxRows, Math.max(INITIAL_CAPACITY, this.lastRows));
    this.columns = this.types.map((type) => createColumn(type, this.capacity, this.words));
    this.rows = 0;
  }
}
