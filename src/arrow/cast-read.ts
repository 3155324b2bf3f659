// Reading any Arrow column's values as exact, format-neutral values for casting (src/arrow/cast.ts):
// integers as bigint, decimals as unscaled bigint and scale, timestamps and times in nanoseconds, dates
// in days, JSON as its text. Arrow's own getters are not exact here (a timestamp comes back as
// fractional milliseconds), so fixed-width temporal and decimal values are read from their storage.
import { DataType, makeVector, TimeUnit, type Data, type Decimal, type Time, type Timestamp } from 'apache-arrow';
import { MD_EXTENSION_NAME } from './schema.js';

export type Value =
  | { k: 'int'; v: bigint }
  | { k: 'float'; v: number }
  | { k: 'dec'; v: bigint; scale: number }
  | { k: 'bool'; v: boolean }
  | { k: 'text'; v: string }
  | { k: 'json'; v: string }
  | { k: 'bytes'; v: Uint8Array; uuid?: boolean }
  | { k: 'date'; days: number }
  | { k: 'ts'; ns: bigint; zoned: boolean }
  | { k: 'time'; ns: bigint }
  | { k: 'list'; v: (Value | null)[] }
  /** A struct or map (or a JSON object parsed from text): JSON-able, castable only to json and utf8. */
  | { k: 'object'; v: unknown };

const NS_PER_UNIT: Record<number, bigint> = {
  [TimeUnit.SECOND]: 1_000_000_000n,
  [TimeUnit.MILLISECOND]: 1_000_000n,
  [TimeUnit.MICROSECOND]: 1_000n,
  [TimeUnit.NANOSECOND]: 1n,
};

export function nsPerUnit(unit: TimeUnit): bigint {
  return NS_PER_UNIT[unit]!;
}

/** A function giving row i of one Data chunk as a Value, or null. */
export type ValueReader = (i: number) => Value | null;

const utf8 = new TextDecoder('utf-8');

/** Reads the values of one Data chunk; `extension` is the CloudQuery extension name of its field (json, uuid). */
export function valueReader(data: Data, extension?: string): ValueReader {
  const vector = makeVector(data);
  // The validity bitmap read directly: Vector.isValid costs a chunk lookup per value.
  const bitmap = data.nullCount > 0 ? data.nullBitmap : undefined;
  const offset = data.offset;
  const valid = (i: number) => !bitmap || ((bitmap[(offset + i) >> 3]! >> ((offset + i) & 7)) & 1) === 1;
  const type = data.type as DataType;
  const values = data.values as ArrayLike<number | bigint>;
  const read = readerOf(type, extension, values, vector, data);
  return (i) => (valid(i) ? read(i) : null);
}

function readerOf(
  type: DataType,
  extension: string | undefined,
  values: ArrayLike<number | bigint>,
  vector: { get(i: number): unknown },
  data: Data,
): (i: number) => Value {
  if (extension === 'json') return (i) => ({ k: 'json', v: jsonText(vector.get(i)) });
  if (DataType.isInt(type)) return (i) => ({ k: 'int', v: BigInt(vector.get(i) as number | bigint) });
  if (DataType.isFloat(type)) return (i) => ({ k: 'float', v: Number(vector.get(i)) });
  if (DataType.isBool(type)) return (i) => ({ k: 'bool', v: Boolean(vector.get(i)) });
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type)) return (i) => ({ k: 'text', v: String(vector.get(i)) });
  if (DataType.isBinary(type) || DataType.isLargeBinary(type) || DataType.isFixedSizeBinary(type))
    return (i) => ({ k: 'bytes', v: vector.get(i) as Uint8Array, uuid: extension === 'uuid' });
  if (DataType.isDecimal(type)) return decimalReader(type as Decimal, data.values as Uint32Array);
  if (DataType.isDate(type)) {
    // date32 counts days, date64 milliseconds.
    return type.unit === 0 ? (i) => ({ k: 'date', days: Number(values[i]) }) : (i) => ({ k: 'date', days: Number(values[i]) / 86_400_000 });
  }
  if (DataType.isTimestamp(type)) {
    const { unit, timezone } = type as Timestamp;
    const scale = nsPerUnit(unit);
    return (i) => ({ k: 'ts', ns: BigInt(values[i]!) * scale, zoned: Boolean(timezone) });
  }
  if (DataType.isTime(type)) {
    const scale = nsPerUnit((type as Time).unit);
    return (i) => ({ k: 'time', ns: BigInt(values[i]!) * scale });
  }
  if (DataType.isList(type) || DataType.isFixedSizeList(type)) return listReader(type, vector);
  return (i) => ({ k: 'object', v: plain(vector.get(i)) });
}

function decimalReader(type: Decimal, words: Uint32Array): (i: number) => Value {
  const stride = type.bitWidth / 32;
  return (i) => {
    let v = 0n;
    for (let w = stride - 1; w >= 0; w--) v = (v << 32n) | BigInt(words[i * stride + w]!);
    return { k: 'dec', v: BigInt.asIntN(type.bitWidth, v), scale: type.scale };
  };
}

function listReader(type: DataType, vector: { get(i: number): unknown }): (i: number) => Value {
  const child = type.children[0]!;
  const extension = child.metadata.get(MD_EXTENSION_NAME);
  return (i) => {
    const items = vector.get(i) as { data: Data[]; length: number };
    const out: (Value | null)[] = [];
    for (const chunk of items.data) {
      const read = valueReader(chunk, extension);
      for (let j = 0; j < chunk.length; j++) out.push(read(j));
    }
    return { k: 'list', v: out };
  };
}

function jsonText(value: unknown): string {
  return value instanceof Uint8Array ? utf8.decode(value) : String(value);
}

/** A struct row or map as plain JSON-able values. */
function plain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (typeof value === 'object' && 'toJSON' in value && typeof value.toJSON === 'function') return plain(value.toJSON());
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), plain(v)]));
  if (typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}
