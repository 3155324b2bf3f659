// From decoded file batches to the insert records CloudQuery receives: conform each batch to the
// table schema (drifted columns filled or widened), fill `_cq_id` / `_cq_parent_id`, cut it into
// records of at most rows_per_record rows and MAX_RECORD_BYTES bytes, and encode each as an Arrow
// IPC stream.
import { createHash, randomFillSync } from 'node:crypto';
import {
  AsyncByteQueue,
  DataType,
  FixedSizeBinary,
  makeBuilder,
  makeData,
  RecordBatch,
  RecordBatchStreamWriter,
  Struct,
  Vector,
  type Data,
  type Schema,
} from 'apache-arrow';
import { OversizeRowError, RecordSizer } from './record-bytes.js';
import { CQ_ID, CQ_PARENT_ID, sameType } from './schema.js';

export { OversizeRowError } from './record-bytes.js';

export interface RecordEncoderOptions {
  rowsPerRecord: number;
  /** Generate `_cq_id` / `_cq_parent_id` (false when the files carry their own `_cq_id`). */
  generateCqId: boolean;
  /** Primary key columns for deterministic ids; random UUIDs when empty. */
  deterministicKeys: string[];
  /** Records are cut to stay within this many bytes (default MAX_RECORD_BYTES). */
  maxRecordBytes?: number;
  /** No record is ever larger: a row that does not fit alone is an OversizeRowError (default RECORD_LIMIT_BYTES). */
  recordLimitBytes?: number;
}

/** Where a batch sits in its file, for error messages. */
export interface BatchPosition {
  /** The file's rows before this batch. */
  firstRow?: number;
}

/** Bytes left free before every encoded record, where the server writes the protobuf envelope. */
export const RECORD_HEADROOM = 16;
/** The largest gRPC message the CloudQuery CLI receives (and this plugin's server sends): 200 MiB. */
export const MESSAGE_LIMIT_BYTES = 200 * 1024 * 1024;
/** No record may be larger: the message limit less the protobuf envelope (at most 12 bytes) around it. */
export const RECORD_LIMIT_BYTES = MESSAGE_LIMIT_BYTES - RECORD_HEADROOM;
/**
 * Records are cut at 8 MiB (or rows_per_record rows, whichever comes first): 25 times under the 200
 * MiB a message can carry, so framing never comes near it. Memory bounds it from above: grpc-js queues
 * up to 16 messages on a stream before it pushes back, and a record exists twice while it goes out
 * (this encoder's buffer, grpc-js's framed copy), so at 8 MiB what waits stays within ~150 MB; at 64
 * MiB a row group of 300 x 1 MB values peaked ~200 MB higher. Overhead bounds it from below: the costs
 * paid per message (IPC schema, protobuf, gRPC and HTTP/2 framing, the CLI's work per record) are well
 * under 0.1 % of 8 MiB, and a record of 500 rows reaches it only at 16 KiB a row.
 */
export const MAX_RECORD_BYTES = 8 * 1024 * 1024;
const END_OF_STREAM = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

/** The writer's sink: keeps the chunks of the message being written, nothing else. */
class Chunks extends AsyncByteQueue {
  readonly list: Uint8Array[] = [];
  override write(value: ArrayBufferView | ArrayBufferLike | string): void {
    const bytes =
      typeof value === 'string'
        ? Buffer.from(value)
        : ArrayBuffer.isView(value)
          ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
          : new Uint8Array(value);
    if (bytes.byteLength > 0) this.list.push(bytes);
  }
  take(): Uint8Array[] {
    return this.list.splice(0, this.list.length);
  }
}

export class RecordEncoder {
  /** Where the generated `_cq_parent_id` sits among the table's columns (-1: not generated). */
  private readonly parentIndex: number;
  private readonly structType: Struct;
  // One writer per table: the schema message is encoded once, each record appends only its own.
  private readonly chunks = new Chunks();
  private readonly writer = new RecordBatchStreamWriter({ autoDestroy: false });
  private schemaMessage?: Uint8Array;
  private readonly hasDictionaries: boolean;
  private readonly maxBytes: number;
  private readonly limitBytes: number;
  /** Zeros the all-null `_cq_parent_id` columns are views of (validity bitmap and values). */
  private zeros = new Uint8Array(0);

  constructor(
    private readonly schema: Schema,
    private readonly options: RecordEncoderOptions,
  ) {
    this.parentIndex = options.generateCqId ? schema.fields.findIndex((f) => f.name === CQ_PARENT_ID) : -1;
    this.structType = new Struct(schema.fields);
    this.hasDictionaries = schema.dictionaries.size > 0;
    this.limitBytes = options.recordLimitBytes ?? RECORD_LIMIT_BYTES;
    this.maxBytes = Math.min(options.maxRecordBytes ?? MAX_RECORD_BYTES, this.limitBytes);
  }

  /**
   * Encodes one decoded batch of a file as insert records (IPC stream bytes) of at most rows_per_record
   * rows and maxRecordBytes bytes; a larger row goes alone. A row over recordLimitBytes is an
   * OversizeRowError, thrown once the records before it are out. `position` only words that error.
   */
  *encode(batch: RecordBatch, position: BatchPosition = {}): Generator<{ ipc: Uint8Array; rows: number }> {
    const table = this.conform(batch);
    const rows = table.numRows;
    const step = this.options.rowsPerRecord;
    const sizer = new RecordSizer(table, this.schemaBytes() + END_OF_STREAM.byteLength);
    if (sizer.bytes(0, rows) <= this.maxBytes) {
      // The usual case, whatever rows_per_record: the whole batch is under the cap, so rows alone cut it.
      for (let from = 0; from < rows; from += step) yield* this.emit(table, from, Math.min(rows, from + step), position);
      return;
    }
    for (let from = 0; from < rows;) {
      const to = sizer.end(from, step, this.maxBytes);
      const bytes = sizer.bytes(from, to);
      if (to - from === 1 && bytes > this.limitBytes) throw this.oversize(from, bytes, rows, position);
      yield* this.emit(table, from, to, position);
      from = to;
    }
  }

  /** Rows [from, to) of a conformed batch as one record, checked against the caps once encoded. */
  private *emit(table: RecordBatch, from: number, to: number, position: BatchPosition): Generator<{ ipc: Uint8Array; rows: number }> {
    const ipc = this.stream(this.part(table, from, to));
    const rows = to - from;
    if (ipc.byteLength <= (rows === 1 ? this.limitBytes : this.maxBytes)) {
      yield { ipc, rows };
    } else if (rows === 1) {
      throw this.oversize(from, ipc.byteLength, table.numRows, position);
    } else {
      // RecordSizer's figures are upper bounds, so this is not expected; halving keeps the caps anyway.
      const middle = (from + to) >>> 1;
      yield* this.emit(table, from, middle, position);
      yield* this.emit(table, middle, to, position);
    }
  }

  /** Rows [from, to) of a conformed batch (no copy of the column data). */
  private part(table: RecordBatch, from: number, to: number): RecordBatch {
    if (from === 0 && to === table.numRows) return table;
    const data = table.data.slice(from, to - from);
    if (this.parentIndex < 0) return new RecordBatch(this.schema, data);
    // A sliced column takes its whole validity bitmap into the record: give the all-null parent ids
    // one of the record's own length.
    const children = [...data.children];
    children[this.parentIndex] = this.nullParentIds(to - from);
    return new RecordBatch(this.schema, makeData({ type: this.structType, length: to - from, nullCount: 0, children }));
  }

  private oversize(index: number, bytes: number, batchRows: number, position: BatchPosition): OversizeRowError {
    const inFile = position.firstRow !== undefined;
    return new OversizeRowError((position.firstRow ?? 0) + index + 1, bytes, this.limitBytes, inFile, batchRows);
  }

  /** The table's IPC schema message, encoded once. */
  private schemaBytes(): number {
    if (!this.schemaMessage) {
      this.writer.reset(this.chunks, this.schema);
      this.schemaMessage = Buffer.concat(this.chunks.take());
    }
    return this.schemaMessage.byteLength;
  }

  /**
   * One record as a complete IPC stream (schema, record batch, end of stream) in a single buffer, with
   * RECORD_HEADROOM free bytes before it so the server can frame it without copying it again.
   */
  private stream(record: RecordBatch): Uint8Array {
    if (this.schemaMessage && this.hasDictionaries) {
      // The writer sends a dictionary only once per stream, but every record is a stream of its own:
      // start the writer over (its schema message is already kept) so it sends them again.
      this.writer.reset(this.chunks);
      this.writer.reset(this.chunks, this.schema);
      this.chunks.take();
    }
    this.schemaBytes();
    this.writer.write(record);
    const parts = [this.schemaMessage!, ...this.chunks.take(), END_OF_STREAM];
    const length = parts.reduce((n, p) => n + p.byteLength, 0);
    const out = Buffer.allocUnsafe(RECORD_HEADROOM + length);
    let at = RECORD_HEADROOM;
    for (const part of parts) {
      out.set(part, at);
      at += part.byteLength;
    }
    return out.subarray(RECORD_HEADROOM);
  }

  /** The batch with the table's columns, in the table's order and types. */
  conform(batch: RecordBatch): RecordBatch {
    const length = batch.numRows;
    const generated = this.options.generateCqId;
    const children = this.schema.fields.map((field): Data => {
      if (generated && field.name === CQ_ID) return this.cqIds(batch);
      if (generated && field.name === CQ_PARENT_ID) return this.nullParentIds(length);
      const column = batch.getChild(field.name);
      if (!column) return nullData(field.type, length);
      if (sameType(column.type, field.type)) return column.data.length === 1 ? column.data[0]! : concatData(column);
      return castData(column, field.type);
    });
    const data = makeData({ type: this.structType, length, nullCount: 0, children });
    return new RecordBatch(this.schema, data);
  }

  /** An all-null `_cq_parent_id` column: views of one zeroed buffer (validity bitmap and values). */
  private nullParentIds(length: number): Data {
    if (this.zeros.byteLength < length * 16) this.zeros = new Uint8Array(length * 16);
    const { zeros } = this;
    return makeData({
      type: new FixedSizeBinary(16),
      length,
      nullCount: length,
      nullBitmap: zeros.subarray(0, (length + 7) >> 3),
      data: zeros.subarray(0, length * 16),
    });
  }

  private cqIds(batch: RecordBatch): Data {
    const length = batch.numRows;
    const bytes = new Uint8Array(length * 16);
    if (this.options.deterministicKeys.length === 0) {
      randomFillSync(bytes);
      for (let i = 0; i < length; i++) {
        bytes[i * 16 + 6] = (bytes[i * 16 + 6]! & 0x0f) | 0x40; // version 4
        bytes[i * 16 + 8] = (bytes[i * 16 + 8]! & 0x3f) | 0x80; // RFC 4122 variant
      }
    } else {
      const keys = [...this.options.deterministicKeys].sort();
      const columns = keys.map((k) => batch.getChild(k));
      for (let i = 0; i < length; i++) {
        const hash = createHash('sha256');
        keys.forEach((name, c) => {
          hash.update(name);
          hash.update(scalarText(columns[c]?.get(i)));
        });
        bytes.set(uuidV5(hash.digest()), i * 16);
      }
    }
    return makeData({ type: new FixedSizeBinary(16), length, nullCount: 0, data: bytes });
  }
}

const NIL_NAMESPACE = new Uint8Array(16);

/** UUIDv5 (SHA-1, nil namespace) of a name, as CloudQuery's SDKs derive deterministic ids. */
export function uuidV5(name: Uint8Array): Uint8Array {
  const digest = createHash('sha1').update(NIL_NAMESPACE).update(name).digest();
  const id = new Uint8Array(digest.subarray(0, 16));
  id[6] = (id[6]! & 0x0f) | 0x50;
  id[8] = (id[8]! & 0x3f) | 0x80;
  return id;
}

function scalarText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (typeof value === 'object') return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  return String(value);
}

function nullData(type: DataType, length: number): Data {
  const builder = makeBuilder({ type, nullValues: [null] });
  for (let i = 0; i < length; i++) builder.append(null);
  return builder.finish().flush();
}

function concatData(column: Vector): Data {
  const builder = makeBuilder({ type: column.type, nullValues: [null] });
  for (const value of column) builder.append(value);
  return builder.finish().flush();
}

/** Widens a column (integers to a wider integer or to float64, floats to float64). */
function castData(column: Vector, to: DataType): Data {
  const toBigInt = DataType.isInt(to) && to.bitWidth === 64;
  const builder = makeBuilder({ type: to, nullValues: [null] });
  for (const value of column) {
    if (value === null || value === undefined) builder.append(null);
    else builder.append(toBigInt ? BigInt(value as number | bigint) : Number(value));
  }
  return builder.finish().flush();
}
