// Columns whose values come from where a row was read, not from the file's content: Hive partition
// columns (`events/year=2024/x.parquet` -> year) and provenance columns (the object's key,
// LastModified and ETag, and the row's position in the object). Their fields join the table schema;
// their values are appended to each decoded batch before it is encoded.
import {
  Bool,
  DateDay,
  Field,
  Float64,
  Int64,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  TimestampMicrosecond,
  Utf8,
  type Data,
  type DataType,
} from 'apache-arrow';
import { hivePartitions } from '../discover.js';
import type { HiveType, TableLayout } from '../spec-tables.js';
import type { ObjectInfo } from '../store/types.js';
import { MD_PRIMARY_KEY } from './schema.js';

export const SOURCE_KEY = '_source_key';
export const SOURCE_LAST_MODIFIED = '_source_last_modified';
export const SOURCE_ETAG = '_source_etag';
export const SOURCE_ROW = '_source_row';

/** The file columns of one table: its Hive partition columns (from its keys) and the provenance columns. */
export function fileColumnFields(layout: TableLayout, objects: ObjectInfo[]): Field[] {
  const fields: Field[] = [];
  if (layout.hivePartitioning) {
    const names = new Set<string>();
    for (const object of objects) for (const [name] of hivePartitions(object.key)) names.add(name);
    for (const name of names) fields.push(new Field(name, hiveArrowType(layout.hiveTypes[name] ?? 'utf8'), true));
  }
  if (layout.provenanceColumns) {
    const key = layout.primaryKeyFromSource ? new Map([[MD_PRIMARY_KEY, 'true']]) : undefined;
    fields.push(
      new Field(SOURCE_KEY, new Utf8(), false, key),
      new Field(SOURCE_LAST_MODIFIED, new TimestampMicrosecond('UTC'), false),
      new Field(SOURCE_ETAG, new Utf8(), false),
      new Field(SOURCE_ROW, new Int64(), false, key),
    );
  }
  return fields;
}

function hiveArrowType(type: HiveType): DataType {
  switch (type) {
    case 'int64':
      return new Int64();
    case 'float64':
      return new Float64();
    case 'bool':
      return new Bool();
    case 'date':
      return new DateDay();
    case 'timestamp':
      return new TimestampMicrosecond('UTC');
    default:
      return new Utf8();
  }
}

/** A file column whose name the file itself has: the table would hold two columns of that name. */
export function fileColumnClash(fields: Field[], fileSchema: Schema): string | undefined {
  const clash = fields.find((f) => fileSchema.fields.some((c) => c.name === f.name));
  return clash?.name;
}

/** One file's values of the file columns: constants, but for the row position. */
export interface FileValues {
  object: ObjectInfo;
  /** Hive partition values by column name, already cast (null where a value does not fit its type). */
  partitions: Map<string, unknown>;
}

/** The file's Hive values cast to their columns' types; a value that does not fit is null and reported. */
export function fileValues(object: ObjectInfo, fields: Field[], report: (message: string) => void): FileValues {
  const raw = new Map(hivePartitions(object.key));
  const partitions = new Map<string, unknown>();
  for (const field of fields) {
    const text = raw.get(field.name);
    if (text === undefined) continue;
    const value = castPartition(text, field.type);
    if (value === undefined)
      report(
        `partition column "${field.name}": "${text.slice(0, 100)}" is not a valid ${hiveTypeName(field.type)}; the column is null for this file`,
      );
    partitions.set(field.name, value ?? null);
  }
  return { object, partitions };
}

function hiveTypeName(type: DataType): string {
  return String(type).toLowerCase();
}

/** The partition value as the column's type, or undefined when it does not fit. */
function castPartition(text: string, type: DataType): unknown {
  if (text === '' || text === '__HIVE_DEFAULT_PARTITION__') return null;
  if (type instanceof Int64) return /^[+-]?\d+$/.test(text) && BigInt.asIntN(64, BigInt(text)) === BigInt(text) ? BigInt(text) : undefined;
  if (type instanceof Float64) return Number.isFinite(Number(text)) ? Number(text) : undefined;
  if (type instanceof Bool) return /^(true|false)$/i.test(text) ? text.toLowerCase() === 'true' : undefined;
  if (type instanceof DateDay) {
    const ms = /^\d{4}-\d{2}-\d{2}$/.test(text) ? Date.parse(`${text}T00:00:00Z`) : NaN;
    return Number.isNaN(ms) ? undefined : ms / 86_400_000;
  }
  if (type instanceof TimestampMicrosecond) {
    const ms = Date.parse(text.includes('T') || text.includes(' ') ? text.replace(' ', 'T') : `${text}T00:00:00Z`);
    return Number.isNaN(ms) ? undefined : BigInt(ms) * 1000n;
  }
  return text;
}

/** `batch` with the file columns appended; `rowOffset` is the position of its first row in the object. */
export function withFileColumns(batch: RecordBatch, fields: Field[], values: FileValues, rowOffset: number): RecordBatch {
  if (fields.length === 0) return batch;
  const length = batch.numRows;
  const children = [...batch.data.children];
  for (const field of fields) children.push(fileColumn(field, values, rowOffset, length));
  const schema = new Schema([...batch.schema.fields, ...fields], batch.schema.metadata);
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, nullCount: 0, children }));
}

function fileColumn(field: Field, values: FileValues, rowOffset: number, length: number): Data {
  const { object } = values;
  switch (field.name) {
    case SOURCE_KEY:
      return constantUtf8(object.key, length);
    case SOURCE_ETAG:
      return constantUtf8(object.etag, length);
    case SOURCE_LAST_MODIFIED:
      return constantData(field.type, BigInt(object.lastModified.getTime()) * 1000n, length);
    case SOURCE_ROW: {
      const rows = new BigInt64Array(length);
      for (let i = 0; i < length; i++) rows[i] = BigInt(rowOffset + i);
      return makeData({ type: new Int64(), length, nullCount: 0, data: rows });
    }
    default: {
      const value = values.partitions.get(field.name);
      if (value === null || value === undefined) return nullColumn(field.type, length);
      return field.type instanceof Utf8 ? constantUtf8(String(value), length) : constantData(field.type, value, length);
    }
  }
}

function constantUtf8(text: string, length: number): Data {
  const bytes = Buffer.from(text, 'utf8');
  const valueOffsets = new Int32Array(length + 1);
  const data = new Uint8Array(bytes.byteLength * length);
  for (let i = 0; i < length; i++) {
    data.set(bytes, i * bytes.byteLength);
    valueOffsets[i + 1] = (i + 1) * bytes.byteLength;
  }
  return makeData({ type: new Utf8(), length, nullCount: 0, valueOffsets, data });
}

/** A fixed-width column holding one value in every row. */
function constantData(type: DataType, value: unknown, length: number): Data {
  if (type instanceof Bool) {
    const bits = new Uint8Array((length + 7) >> 3).fill(value ? 0xff : 0);
    return makeData({ type, length, nullCount: 0, data: bits });
  }
  const ArrayType = type.ArrayType as new (n: number) => { fill(v: unknown): unknown };
  const data = new ArrayType(length);
  data.fill(value);
  return makeData({ type, length, nullCount: 0, data } as never);
}

function nullColumn(type: DataType, length: number): Data {
  const nullBitmap = new Uint8Array((length + 7) >> 3);
  if (type instanceof Utf8)
    return makeData({ type, length, nullCount: length, nullBitmap, valueOffsets: new Int32Array(length + 1), data: new Uint8Array(0) });
  const ArrayType = type.ArrayType as new (n: number) => ArrayLike<unknown>;
  return makeData({
    type,
    length,
    nullCount: length,
    nullBitmap,
    data: new ArrayType(type instanceof Bool ? (length + 7) >> 3 : length),
  } as never);
}
