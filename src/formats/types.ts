// The format-neutral file reader: what the catalog and the sync know of a file format. A format opens
// an object (a ByteSource: ranged reads of one listed object), tells its Arrow schema and, where the
// file declares it, its row count, and yields decoded Arrow record batches. Failures that mean "these
// bytes are not a readable file of this format" are FormatErrors (src/errors.ts).
import type { RecordBatch, Schema } from 'apache-arrow';
import type { ByteSource } from '../store/types.js';
import type { ByteBudget } from '../util/byte-budget.js';
import type { Compression } from './detect.js';

export interface OpenOptions {
  signal?: AbortSignal;
  /** Bounds the file bytes held in memory across every file being read at once. */
  budget: ByteBudget;
  /** The object's outer compression, from its key (text formats; Parquet and Avro compress inside). */
  compression?: Compression;
}

export interface BatchOptions {
  /** At most this many rows a batch (fewer for wide rows). */
  maxRows: number;
  /** Batch sizes are multiples of this (rows_per_record), so records are not cut short. */
  rowMultiple: number;
  signal?: AbortSignal;
  /**
   * A problem inside the file that the read went past: a value that does not fit its column (the
   * cell is delivered null), a malformed row that was skipped. The message names the line or
   * record and the column; the sync reports it with the object's key. Never silently dropped.
   */
  report?: (message: string) => void;
}

export interface FileReader {
  readonly schema: Schema;
  /** The number of rows the file declares (a Parquet footer); undefined where only reading tells. */
  readonly numRows?: number;
  /**
   * Bytes the reader holds while open, when keeping it open costs no more than that (its footer, no
   * stream or handle): the catalog may then keep it from planning for the sync to read. Undefined:
   * close it as soon as its schema is known.
   */
  readonly heldBytes?: number;
  /** Decoded batches, in file order. */
  batches(options: BatchOptions): AsyncGenerator<RecordBatch>;
  /** Frees what the reader holds; safe to call more than once. */
  close(): void;
}

export interface FileFormat {
  /** The format's name (the spec's `filetype` value). */
  readonly name: string;
  open(source: ByteSource, options: OpenOptions): Promise<FileReader>;
}
