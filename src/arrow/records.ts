// From decoded file batches to the insert records CloudQuery receives: conform each batch to the
// table schema (drifted columns filled or widened), fill `_cq_id` / `_cq_parent_id`, cut it into
// records of at most rows_per_record rows, and encode each as an Arrow IPC stream.
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
  type Field,
  type Schema,
} from 'apache-arrow';
import { CQ_ID, CQ_PARENT_ID, sameType } from './schema.js';

export interface RecordEncoderOptions {
  rowsPerRecord: number;
  /** Generate `_cq_id` / `_cq_parent_id` (false when the files carry their own `_cq_id`). */
  generateCqId: boolean;
  /** Primary key columns for deterministic ids; random UUIDs when empty. */
  deterministicKeys: string[];
}

/** Bytes left free before every encoded record, where the server writes the protobuf envelope. */
export const RECORD_HEADROOM = 16;
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
  private readonly fileColumns: Field[];
  private readonly structType: Struct;
  // One writer per table: the schema message is encoded once, each record appends only its own.
  private readonly chunks = new Chunks();
  private readonly writer = new RecordBatchStreamWriter({ autoDestroy: false });
  private schemaMessage?: Uint8Array;
  private nullIds?: Data;

  constructor(
    private readonly schema: Schema,
    private readonly options: RecordEncoderOptions,
  ) {
    this.fileColumns = schema.fields.filter((f) => !(options.generateCqId && (f.name === CQ_ID || f.name === CQ_PARENT_ID)));
    this.structType = new Struct(schema.fields);
  }

  /** Encodes one decoded batch of a file as one or more insert records (IPC stream bytes). */
  *encode(batch: RecordBatch): Generator<{ ipc: Uint8Array; rows: number }> {
    const step = this.options.rowsPerRecord;
    for (let offset = 0; offset < batch.numRows; offset += step) {
      const part = offset === 0 && batch.numRows <= step ? batch : batch.slice(offset, Math.min(batch.numRows, offset + step));
      const record = this.conform(part);
      yield { ipc: this.stream(record), rows: record.numRows };
    }
  }

  /**
   * One record as a complete IPC stream (schema, record batch, end of stream) in a single buffer, with
   * RECORD_HEADROOM free bytes before it so the server can frame it without copying it again.
   */
  private stream(record: RecordBatch): Uint8Array {
    if (!this.schemaMessage) {
      this.writer.reset(this.chunks, this.schema);
      this.schemaMessage = Buffer.concat(this.chunks.take());
    }
    this.writer.write(record);
    const parts = [this.schemaMessage, ...this.chunks.take(), END_OF_STREAM];
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
    const children: Data[] = [];
    for (const field of this.fileColumns) {
      const column = batch.getChild(field.name);
      if (!column) children.push(nullData(field.type, length));
      else if (sameType(column.type, field.type)) children.push(column.data.length === 1 ? column.data[0]! : concatData(column));
      else children.push(castData(column, field.type));
    }
    if (this.options.generateCqId) {
      children.push(this.cqIds(batch));
      // All-null parent ids, built once per record length (zeroed validity bitmap and values).
      if (this.nullIds?.length !== length) {
        this.nullIds = makeData({
          type: new FixedSizeBinary(16),
          length,
          nullCount: length,
          nullBitmap: new Uint8Array((length + 7) >> 3),
          data: new Uint8Array(length * 16),
        });
      }
      children.push(this.nullIds);
    }
    const data = makeData({ type: this.structType, length, nullCount: 0, children });
    return new RecordBatch(this.schema, data);
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
