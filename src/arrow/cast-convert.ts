// One value (src/arrow/cast-read.ts) converted to a declared type's storage: bigint for 64-bit integers,
// timestamps, time64 and decimals (unscaled), number for narrower integers, floats, dates (days) and
// time32, boolean, string, bytes, and arrays for lists. A value that does not convert exactly (out of
// range, digits that would be lost, text that is not of the type) gives a Failure saying why.
import { DataType, type Decimal, type FixedSizeBinary, type Int, type Time, type Timestamp } from 'apache-arrow';
import { nsPerUnit, type Value } from './cast-read.js';
import {
  parseDateText,
  parseDecimalText,
  parseFloatText,
  parseInteger,
  parseJsonValue,
  parseTimestampText,
  parseTimeText,
  parseUuidText,
} from './cast-text.js';
import { textOf } from './cast-format.js';

export type Storage = bigint | number | boolean | string | Uint8Array | (Storage | null)[];

export class Failure {
  constructor(readonly reason: string) {}
}

/** What a target column needs besides its Arrow type. */
export interface Target {
  type: DataType;
  /** CloudQuery extension name: json, uuid. */
  extension?: string;
  /** The item target of a list. */
  item?: Target;
}

/** Booleans text may spell (besides true/false/1/0 in any case). */
export interface BoolWords {
  trueValues: ReadonlySet<string>;
  falseValues: ReadonlySet<string>;
}

const DAY_NS = 86_400_000_000_000n;
const INT_RANGES: Record<string, [bigint, bigint]> = Object.fromEntries(
  [8, 16, 32, 64].flatMap((bits) => [
    [`i${bits}`, [-(1n << BigInt(bits - 1)), (1n << BigInt(bits - 1)) - 1n]],
    [`u${bits}`, [0n, (1n << BigInt(bits)) - 1n]],
  ]),
);
const utf8 = new TextEncoder();

export function convert(value: Value, target: Target, words: BoolWords): Storage | Failure {
  const { type } = target;
  if (target.extension === 'json') return toJson(value);
  if (value.k === 'json' && !DataType.isUtf8(type) && !DataType.isBinary(type)) {
    // A JSON document (a nested JSON value, or a json column of a Parquet file) cast to a typed column.
    const parsed = parseJsonValue(value.v);
    if (parsed === undefined) return new Failure('not valid JSON');
    return parsed === null ? new Failure('JSON null') : convert(parsed, target, words);
  }
  if (target.extension === 'uuid') return toUuid(value);
  if (DataType.isInt(type)) return toInt(value, type as Int);
  if (DataType.isFloat(type)) return toFloat(value, type.precision === 1 ? 32 : 64);
  if (DataType.isDecimal(type)) return toDecimal(value, type as Decimal);
  if (DataType.isBool(type)) return toBool(value, words);
  if (DataType.isUtf8(type)) return toText(value);
  if (DataType.isBinary(type)) return toBytes(value);
  if (DataType.isFixedSizeBinary(type)) return toFixed(value, (type as FixedSizeBinary).byteWidth);
  if (DataType.isDate(type)) return toDate(value);
  if (DataType.isTimestamp(type)) return toTimestamp(value, type as Timestamp);
  if (DataType.isTime(type)) return toTime(value, type as Time);
  if (DataType.isList(type)) return toList(value, target.item!, words);
  return new Failure('this type cannot be cast to');
}

function toInt(value: Value, type: Int): Storage | Failure {
  let v: bigint | undefined;
  if (value.k === 'int') v = value.v;
  else if (value.k === 'float') {
    // Beyond 2^53 a float may already be rounded: its digits cannot be vouched for.
    if (Number.isInteger(value.v) && !Number.isSafeInteger(value.v)) return new Failure('a float beyond 2^53, not exact as an integer');
    v = Number.isInteger(value.v) ? BigInt(value.v) : undefined;
  } else if (value.k === 'dec') v = value.v % 10n ** BigInt(value.scale) === 0n ? value.v / 10n ** BigInt(value.scale) : undefined;
  else if (value.k === 'text') v = parseInteger(value.v);
  else return new Failure('not a number');
  if (v === undefined) return new Failure('not an integer');
  const [min, max] = INT_RANGES[`${type.isSigned ? 'i' : 'u'}${type.bitWidth}`]!;
  if (v < min || v > max) return new Failure('out of range');
  return type.bitWidth === 64 ? v : Number(v);
}

function toFloat(value: Value, bits: 32 | 64): Storage | Failure {
  let v: number | undefined;
  if (value.k === 'float') v = value.v;
  else if (value.k === 'int') v = Number(value.v);
  else if (value.k === 'dec') v = Number(textOf(value));
  else if (value.k === 'text') v = parseFloatText(value.v);
  else return new Failure('not a number');
  if (v === undefined) return new Failure('not a number');
  const stored = bits === 32 ? Math.fround(v) : v;
  if (Number.isFinite(v) && !Number.isFinite(stored)) return new Failure('out of range');
  return stored;
}

function toDecimal(value: Value, type: Decimal): Storage | Failure {
  let d: { v: bigint; scale: number } | undefined;
  if (value.k === 'dec') d = value;
  else if (value.k === 'int') d = { v: value.v, scale: 0 };
  else if (value.k === 'float') d = Number.isFinite(value.v) ? parseDecimalText(String(value.v)) : undefined;
  else if (value.k === 'text') d = parseDecimalText(value.v);
  else return new Failure('not a number');
  if (!d) return new Failure('not a decimal number');
  let v = d.v;
  if (d.scale < type.scale) v *= 10n ** BigInt(type.scale - d.scale);
  else if (d.scale > type.scale) {
    const divisor = 10n ** BigInt(d.scale - type.scale);
    if (v % divisor !== 0n) return new Failure(`has more than ${type.scale} decimal places`);
    v /= divisor;
  }
  if ((v < 0n ? -v : v) >= 10n ** BigInt(type.precision)) return new Failure(`has more than ${type.precision} digits`);
  return v;
}

function toBool(value: Value, words: BoolWords): Storage | Failure {
  if (value.k === 'bool') return value.v;
  if (value.k === 'int' && (value.v === 0n || value.v === 1n)) return value.v === 1n;
  if (value.k === 'text') {
    const t = value.v.trim();
    if (words.trueValues.has(t) || /^(true|1)$/i.test(t)) return true;
    if (words.falseValues.has(t) || /^(false|0)$/i.test(t)) return false;
  }
  return new Failure('not a boolean');
}

function toText(value: Value): Storage | Failure {
  if (value.k === 'bytes' && !value.uuid) {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(value.v);
    } catch {
      return new Failure('not valid UTF-8');
    }
  }
  return textOf(value);
}

function toBytes(value: Value): Storage | Failure {
  if (value.k === 'bytes') return value.v;
  if (value.k === 'text' || value.k === 'json') return utf8.encode(value.v);
  return new Failure('not bytes or text');
}

function toFixed(value: Value, width: number): Storage | Failure {
  const bytes = toBytes(value);
  if (bytes instanceof Failure) return bytes;
  return (bytes as Uint8Array).byteLength === width ? bytes : new Failure(`not ${width} bytes long`);
}

function toUuid(value: Value): Storage | Failure {
  if (value.k === 'bytes') return value.v.byteLength === 16 ? value.v : new Failure('not 16 bytes long');
  if (value.k === 'text') return parseUuidText(value.v) ?? new Failure('not a UUID');
  return new Failure('not a UUID');
}

function toDate(value: Value): Storage | Failure {
  if (value.k === 'date') return Number.isInteger(value.days) ? value.days : new Failure('has a time of day');
  if (value.k === 'ts') return value.ns % DAY_NS === 0n ? Number(value.ns / DAY_NS) : new Failure('has a time of day');
  if (value.k === 'text') return parseDateText(value.v) ?? new Failure('not a date (YYYY-MM-DD)');
  return new Failure('not a date');
}

function toTimestamp(value: Value, type: Timestamp): Storage | Failure {
  let ns: bigint | undefined;
  if (value.k === 'ts') ns = value.ns;
  else if (value.k === 'date' && Number.isInteger(value.days)) ns = BigInt(value.days) * DAY_NS;
  else if (value.k === 'text') ns = parseTimestampText(value.v)?.ns;
  else return new Failure('not a timestamp');
  if (ns === undefined) return new Failure('not a timestamp (ISO 8601)');
  const unit = nsPerUnit(type.unit);
  if (ns % unit !== 0n) return new Failure('has more precision than the column keeps');
  return BigInt.asIntN(64, ns / unit) === ns / unit ? ns / unit : new Failure('out of range');
}

function toTime(value: Value, type: Time): Storage | Failure {
  let ns: bigint | undefined;
  if (value.k === 'time') ns = value.ns;
  else if (value.k === 'text') ns = parseTimeText(value.v);
  else return new Failure('not a time of day');
  if (ns === undefined) return new Failure('not a time of day (HH:MM:SS)');
  const unit = nsPerUnit(type.unit);
  if (ns % unit !== 0n) return new Failure('has more precision than the column keeps');
  return type.bitWidth === 64 ? ns / unit : Number(ns / unit);
}

function toJson(value: Value): Storage | Failure {
  if (value.k === 'json') return utf8.encode(value.v);
  // Text that is JSON is kept as written; any other text becomes a JSON string.
  if (value.k === 'text') return utf8.encode(parseJsonValue(value.v) === undefined ? JSON.stringify(value.v) : value.v);
  if (value.k === 'bytes' && !value.uuid) return new Failure('binary is not JSON');
  const text = textOf(value);
  const literal = value.k === 'int' || value.k === 'dec' || value.k === 'bool' || value.k === 'list' || value.k === 'object';
  if (value.k === 'float' && !Number.isFinite(value.v)) return new Failure('not a finite number');
  return utf8.encode(literal || value.k === 'float' ? text : JSON.stringify(text));
}

function toList(value: Value, item: Target, words: BoolWords): Storage | Failure {
  let items: (Value | null)[] | undefined;
  if (value.k === 'list') items = value.v;
  else if (value.k === 'text' || value.k === 'json') {
    const parsed = parseJsonValue(value.v);
    items = parsed?.k === 'list' ? parsed.v : undefined;
  }
  if (!items) return new Failure('not a list (a JSON array)');
  const out: (Storage | null)[] = [];
  for (const [i, v] of items.entries()) {
    const converted = v === null ? null : convert(v, item, words);
    if (converted instanceof Failure) return new Failure(`item ${i + 1} is ${converted.reason}`);
    out.push(converted);
  }
  return out;
}
