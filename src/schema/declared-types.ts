// Type names of a declared schema (the spec's `schema`) as Arrow types. The vocabulary is the one
// preview prints (src/arrow/type-names.ts), so a type copied from preview's output can be pasted into a
// spec, plus the short names CloudQuery users write: `timestamp` (µs, UTC), `date`, `time`, `json`,
// `uuid`, `decimal(p,s)`, `list<T>`.
import {
  Binary,
  Bool,
  DataType,
  DateDay,
  Decimal,
  Field,
  FixedSizeBinary,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  List,
  Time,
  TimeUnit,
  Timestamp,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
} from 'apache-arrow';
import { MD_EXTENSION_METADATA, MD_EXTENSION_NAME } from '../arrow/schema.js';

/** A parsed type: the Arrow type and the CloudQuery extension metadata its field carries (uuid, json). */
export interface DeclaredType {
  type: DataType;
  metadata: Map<string, string>;
}

const SIMPLE: Record<string, () => DataType> = {
  int8: () => new Int8(),
  int16: () => new Int16(),
  int32: () => new Int32(),
  int64: () => new Int64(),
  uint8: () => new Uint8(),
  uint16: () => new Uint16(),
  uint32: () => new Uint32(),
  uint64: () => new Uint64(),
  float32: () => new Float32(),
  float64: () => new Float64(),
  bool: () => new Bool(),
  boolean: () => new Bool(),
  utf8: () => new Utf8(),
  string: () => new Utf8(),
  // Read as their 32-bit-offset forms: the same values, and what CloudQuery destinations take.
  large_utf8: () => new Utf8(),
  binary: () => new Binary(),
  large_binary: () => new Binary(),
  date: () => new DateDay(),
  date32: () => new DateDay(),
  timestamp: () => new Timestamp(TimeUnit.MICROSECOND, 'UTC'),
  time: () => new Time(TimeUnit.MICROSECOND, 64),
};

const UNITS: Record<string, TimeUnit> = { s: TimeUnit.SECOND, ms: TimeUnit.MILLISECOND, us: TimeUnit.MICROSECOND, ns: TimeUnit.NANOSECOND };

/** Every type name accepted, for messages. */
export const TYPE_VOCABULARY =
  'int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64, bool, utf8, binary, date, ' +
  'timestamp (= timestamp[us, UTC]), timestamp[s|ms|us|ns] or timestamp[us, <zone>], time (= time64[us]), time32[s|ms], ' +
  'time64[us|ns], decimal(p,s), json, uuid, fixed_size_binary[N], list<T>';

export class TypeNameError extends Error {}

/** The Arrow type of a declared type name; throws TypeNameError saying what is wrong. */
export function parseTypeName(name: string): DeclaredType {
  const text = name.trim();
  const lower = text.toLowerCase();
  const simple = SIMPLE[lower];
  if (simple) return { type: simple(), metadata: new Map() };
  if (lower === 'json') return extension(new Binary(), 'json', 'json-serialized');
  if (lower === 'uuid') return extension(new FixedSizeBinary(16), 'uuid', 'uuid-serialized');
  const list = /^list\s*<(.*)>$/is.exec(text);
  if (list) {
    const item = parseTypeName(list[1]!);
    return { type: new List(new Field('item', item.type, true, item.metadata)), metadata: new Map() };
  }
  const decimal = /^decimal\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)$/i.exec(text);
  if (decimal) return { type: decimalType(Number(decimal[1]), Number(decimal[2] ?? 0)), metadata: new Map() };
  const timestamp = /^timestamp\s*\[\s*(s|ms|us|ns)\s*(?:,\s*([^\]]+?)\s*)?\]$/i.exec(text);
  if (timestamp) return { type: new Timestamp(UNITS[timestamp[1]!.toLowerCase()]!, timestamp[2] ?? null), metadata: new Map() };
  const fixed = /^fixed_size_binary\s*\[\s*(\d+)\s*\]$/i.exec(text);
  if (fixed && Number(fixed[1]) > 0) return { type: new FixedSizeBinary(Number(fixed[1])), metadata: new Map() };
  const time = /^time(32|64)\s*\[\s*(s|ms|us|ns)\s*\]$/i.exec(text);
  if (time) return { type: timeType(Number(time[1]) as 32 | 64, time[2]!.toLowerCase()), metadata: new Map() };
  throw new TypeNameError(`unknown type "${name}"; the types are: ${TYPE_VOCABULARY}`);
}

function extension(type: DataType, name: string, serialized: string): DeclaredType {
  return {
    type,
    metadata: new Map([
      [MD_EXTENSION_NAME, name],
      [MD_EXTENSION_METADATA, serialized],
    ]),
  };
}

function decimalType(precision: number, scale: number): Decimal {
  if (precision < 1 || precision > 38) throw new TypeNameError(`decimal precision must be 1 to 38, not ${precision}`);
  if (scale > precision) throw new TypeNameError(`decimal scale (${scale}) must not exceed its precision (${precision})`);
  return new Decimal(scale, precision, 128);
}

function timeType(bits: 32 | 64, unit: string): Time {
  // Arrow's own rule: seconds and milliseconds fit 32 bits, micro- and nanoseconds need 64.
  const wide = unit === 'us' || unit === 'ns';
  if ((bits === 64) !== wide) throw new TypeNameError(`time${bits} takes ${bits === 32 ? 's or ms' : 'us or ns'}, not ${unit}`);
  return new Time(UNITS[unit]!, bits);
}
