// The Arrow type of each Avro type, and the column that builds it (the README's Avro type table):
//   null -> null, boolean -> bool, int -> int32, long -> int64, float -> float32, double -> float64,
//   bytes and fixed -> binary, string and enum -> utf8, record -> struct, array -> list,
//   union of null and T -> T nullable; map, union of several types, recursive or empty record -> json;
//   date -> date32, time-millis -> time32[ms], time-micros -> time64[us],
//   timestamp-millis/micros/nanos -> timestamp[ms/us/ns, UTC], local-timestamp-* -> timestamp without zone,
//   decimal -> decimal128 (precision <= 38), decimal256 (<= 76), else its exact text as utf8,
//   uuid -> CloudQuery's uuid type, duration -> json.
import {
  Binary,
  Bool,
  DateDay,
  Decimal,
  Field,
  FixedSizeBinary,
  Float32,
  Float64,
  Int32,
  Int64,
  List,
  Null,
  Schema,
  Struct,
  TimeMicrosecond,
  TimeMillisecond,
  Timestamp,
  TimeUnit,
  Utf8,
  type DataType,
} from 'apache-arrow';
import { MD_EXTENSION_METADATA, MD_EXTENSION_NAME } from '../../arrow/schema.js';
import { isNullableUnion } from './avsc-types.js';
import type { BlockBytes } from './block-bytes.js';
import { EnumColumn, FixedBytesColumn, StringColumn, VarBytesColumn, type FixedConvert } from './bytes-columns.js';
import { BoolColumn, LongColumn, NullColumn, NumberColumn, type CellIssues, type Column } from './columns.js';
import { decimalInto, decimalText, uuidBytesInto, uuidInto } from './logical.js';
import { JsonColumn, ListColumn, NullableColumn, RecordColumns, StructColumn, TextColumn } from './nested-columns.js';
import type { AvroNode } from './schema.js';
import type { AvscReader } from './tap.js';

/** What every column of a batch shares: where value handles point, and where problems go. */
export interface ColumnContext {
  block: BlockBytes;
  issues: CellIssues;
}

/** An Avro type's Arrow type and a maker of its column. */
export interface ColumnSpec {
  type: DataType;
  nullable: boolean;
  metadata?: Map<string, string>;
  make(ctx: ColumnContext, path: string): Column;
}

/** The avsc type at the same place in the schema (avsc-types.ts): what the column reads with. */
export interface AvscType extends AvscReader {
  fields?: { type: AvscType }[];
  itemsType?: AvscType;
  types?: AvscType[];
  _minItemBytes?: number;
}

const JSON_METADATA = new Map([
  [MD_EXTENSION_NAME, 'json'],
  [MD_EXTENSION_METADATA, 'json-serialized'],
]);
const UUID_METADATA = new Map([
  [MD_EXTENSION_NAME, 'uuid'],
  [MD_EXTENSION_METADATA, 'uuid-serialized'],
]);

const LONG_TYPES: Record<string, () => DataType> = {
  'time-micros': () => new TimeMicrosecond(),
  'timestamp-millis': () => new Timestamp(TimeUnit.MILLISECOND, 'UTC'),
  'timestamp-micros': () => new Timestamp(TimeUnit.MICROSECOND, 'UTC'),
  'timestamp-nanos': () => new Timestamp(TimeUnit.NANOSECOND, 'UTC'),
  'local-timestamp-millis': () => new Timestamp(TimeUnit.MILLISECOND),
  'local-timestamp-micros': () => new Timestamp(TimeUnit.MICROSECOND),
  'local-timestamp-nanos': () => new Timestamp(TimeUnit.NANOSECOND),
};

/** The file's Arrow schema and a maker of its batch columns, from the schema graph and its avsc type. */
export function fileColumns(root: AvroNode, type: AvscType): { schema: Schema; make: (ctx: ColumnContext) => RecordColumns } {
  // A file of something other than records (or of empty records) is one column, `value`.
  const single = root.kind !== 'record' || root.fields.length === 0;
  const fields = single ? [{ name: 'value', spec: columnSpec(root, type, new Set()) }] : recordFields(root, type, new Set());
  const schema = new Schema(fields.map(({ name, spec }) => new Field(name, spec.type, spec.nullable, spec.metadata)));
  const make = (ctx: ColumnContext) =>
    new RecordColumns(
      schema,
      fields.map(({ name, spec }) => spec.make(ctx, name)),
    );
  return { schema, make };
}

function recordFields(node: AvroNode & { kind: 'record' }, type: AvscType, enclosing: Set<AvroNode>): { name: string; spec: ColumnSpec }[] {
  const inside = new Set(enclosing).add(node);
  return node.fields.map((f, i) => ({ name: f.name, spec: columnSpec(f.type, type.fields![i]!.type, inside) }));
}

/** `enclosing`: the records this type is nested in (a reference back to one of them is recursive). */
export function columnSpec(node: AvroNode, type: AvscType, enclosing: Set<AvroNode>): ColumnSpec {
  switch (node.kind) {
    case 'null':
      return simple(new Null(), true, (t) => new NullColumn(t));
    case 'boolean':
      return simple(new Bool(), false, (t, nullable) => new BoolColumn(t, nullable));
    case 'int': {
      const arrow = node.logical === 'date' ? new DateDay() : node.logical === 'time-millis' ? new TimeMillisecond() : new Int32();
      return simple(arrow, false, (t, nullable) => new NumberColumn(t, 'int', nullable));
    }
    case 'long':
      return simple(LONG_TYPES[node.logical ?? '']?.() ?? new Int64(), false, (t, nullable) => new LongColumn(t, nullable));
    case 'float':
      return simple(new Float32(), false, (t, nullable) => new NumberColumn(t, 'float', nullable));
    case 'double':
      return simple(new Float64(), false, (t, nullable) => new NumberColumn(t, 'double', nullable));
    case 'string':
      if (node.logical === 'uuid') return uuid(uuidInto, type);
      return {
        type: new Utf8(),
        nullable: false,
        make(ctx, path) {
          return new StringColumn(this.type, this.nullable, ctx, path);
        },
      };
    case 'enum':
      return simple(new Utf8(), false, (t, nullable) => new EnumColumn(t, nullable, node.symbols));
    case 'bytes':
    case 'fixed':
      return bytesSpec(node, type);
    case 'record':
      // Arrow has no recursive types, and a struct without children is not one destinations take.
      if (enclosing.has(node) || node.fields.length === 0) return json(node, type, false);
      return struct(recordFields(node, type, enclosing));
    case 'array':
      return list(columnSpec(node.items, type.itemsType!, enclosing), type._minItemBytes ?? 1);
    case 'map':
      return json(node, type, false);
    case 'union':
      return unionSpec(node, type, enclosing);
  }
}

function bytesSpec(node: AvroNode & { kind: 'bytes' | 'fixed' }, type: AvscType): ColumnSpec {
  if (node.logical === 'decimal') return decimal(node.precision!, node.scale ?? 0, type);
  if (node.logical === 'uuid') return uuid(uuidBytesInto, type);
  if (node.logical === 'duration') return json(node, type, false);
  const size = node.kind === 'fixed' ? node.size : -1;
  return simple(new Binary(), false, (t, nullable, block) => new VarBytesColumn(t, nullable, block, size));
}

/** Null and one other type: that type, nullable. Several other types: JSON (nullable with a null branch). */
function unionSpec(node: AvroNode & { kind: 'union' }, type: AvscType, enclosing: Set<AvroNode>): ColumnSpec {
  const hasNull = node.branches.some((b) => b.kind === 'null');
  if (!isNullableUnion(node.branches)) return json(node, type, hasNull);
  const index = node.branches.findIndex((b) => b.kind !== 'null');
  const inner =
    index < 0 ? columnSpec({ kind: 'null' }, type, enclosing) : columnSpec(node.branches[index]!, type.types![index]!, enclosing);
  const isNull = node.branches.map((b) => b.kind === 'null');
  return {
    ...inner,
    nullable: inner.nullable || hasNull,
    make(ctx, path) {
      return new NullableColumn(inner.make.call(this, ctx, path), isNull);
    },
  };
}

/**
 * A column made from its type, whether it is nullable (the spec's own when it is built: a union with
 * null makes a nullable copy of the spec) and where value handles point.
 */
function simple(type: DataType, nullable: boolean, make: (type: DataType, nullable: boolean, block: BlockBytes) => Column): ColumnSpec {
  return {
    type,
    nullable,
    make(ctx) {
      return make(this.type, this.nullable, ctx.block);
    },
  };
}

function json(node: AvroNode, type: AvscType, nullable: boolean): ColumnSpec {
  return {
    type: new Binary(),
    nullable,
    metadata: JSON_METADATA,
    make(ctx) {
      return new JsonColumn(this.type, this.nullable, node, type, ctx.block);
    },
  };
}

/** UUIDs are nullable whatever the schema: a string that is not a UUID is delivered null (and reported). */
function uuid(convert: FixedConvert, reader: AvscReader): ColumnSpec {
  const type = new FixedSizeBinary(16);
  return {
    type,
    nullable: true,
    metadata: UUID_METADATA,
    make: (ctx, path) => new FixedBytesColumn(type, 16, convert, reader, ctx, path),
  };
}

/** Decimals are nullable whatever the schema: a value with more digits than declared is delivered null. */
function decimal(precision: number, scale: number, reader: AvscReader): ColumnSpec {
  if (precision > 76) {
    const make = (ctx: ColumnContext) =>
      new TextColumn(new Utf8(), reader, (handle) => decimalText(ctx.block.bytes(handle as number), scale));
    return { type: new Utf8(), nullable: true, make };
  }
  const width = precision > 38 ? 32 : 16;
  const type = new Decimal(scale, precision, width * 8);
  const convert = decimalInto(width, precision);
  return { type, nullable: true, make: (ctx, path) => new FixedBytesColumn(type, width, convert, reader, ctx, path) };
}

function struct(fields: { name: string; spec: ColumnSpec }[]): ColumnSpec {
  const type = new Struct(fields.map(({ name, spec }) => new Field(name, spec.type, spec.nullable, spec.metadata)));
  return {
    type,
    nullable: false,
    make(ctx, path) {
      const children = fields.map(({ name, spec }) => spec.make(ctx, `${path}.${name}`));
      return new StructColumn(type, children, this.nullable);
    },
  };
}

function list(items: ColumnSpec, minItemBytes: number): ColumnSpec {
  const type = new List(new Field('item', items.type, items.nullable, items.metadata));
  return {
    type,
    nullable: false,
    make(ctx, path) {
      return new ListColumn(type, items.make(ctx, `${path}[]`), minItemBytes, this.nullable);
    },
  };
}
