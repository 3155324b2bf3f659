// Arrow column data from converted values (src/arrow/cast-convert.ts): typed arrays, validity bitmap
// and offsets filled directly and wrapped with makeData, nested for lists.
import { DataType, makeData, type Data, type Decimal, type FixedSizeBinary, type Int, type List, type Time } from 'apache-arrow';
import type { Storage } from './cast-convert.js';
import type { Target } from './cast-convert.js';

const utf8 = new TextEncoder();

export function buildData(target: Target, values: (Storage | null)[]): Data {
  const { type } = target;
  const length = values.length;
  const nullBitmap = new Uint8Array((length + 7) >> 3);
  let nullCount = 0;
  for (let i = 0; i < length; i++) {
    if (values[i] === null) nullCount++;
    else nullBitmap[i >> 3]! |= 1 << (i & 7);
  }
  const base = { type, length, nullCount, nullBitmap };
  if (DataType.isBool(type)) {
    const data = new Uint8Array((length + 7) >> 3);
    values.forEach((v, i) => v === true && (data[i >> 3]! |= 1 << (i & 7)));
    return makeData({ ...base, data } as never);
  }
  if (DataType.isUtf8(type) || DataType.isBinary(type)) return variable(base, values);
  if (DataType.isFixedSizeBinary(type)) {
    const width = (type as FixedSizeBinary).byteWidth;
    const data = new Uint8Array(width * length);
    values.forEach((v, i) => v !== null && data.set(v as Uint8Array, i * width));
    return makeData({ ...base, data } as never);
  }
  if (DataType.isDecimal(type)) return makeData({ ...base, data: decimalWords(values, (type as Decimal).bitWidth) } as never);
  if (DataType.isList(type)) return list(base, target, values);
  const data = new (fixedArray(type))(length);
  values.forEach((v, i) => {
    if (v !== null) data[i] = v as never;
  });
  return makeData({ ...base, data } as never);
}

type FixedArray = new (n: number) => { [i: number]: number | bigint };

function fixedArray(type: DataType): FixedArray {
  if (DataType.isInt(type)) {
    const { bitWidth, isSigned } = type as Int;
    const arrays: Record<number, [FixedArray, FixedArray]> = {
      8: [Int8Array, Uint8Array],
      16: [Int16Array, Uint16Array],
      32: [Int32Array, Uint32Array],
      64: [BigInt64Array, BigUint64Array],
    };
    return arrays[bitWidth]![isSigned ? 0 : 1];
  }
  if (DataType.isFloat(type)) return type.precision === 1 ? Float32Array : Float64Array;
  if (DataType.isTime(type)) return (type as Time).bitWidth === 64 ? BigInt64Array : Int32Array;
  if (DataType.isTimestamp(type)) return BigInt64Array;
  if (DataType.isDate(type)) return Int32Array;
  throw new Error(`no storage for ${String(type)}`);
}

/** utf8 and binary: offsets and bytes. */
function variable(base: { type: DataType; length: number; nullCount: number; nullBitmap: Uint8Array }, values: (Storage | null)[]): Data {
  const parts = values.map((v) => (v === null ? undefined : typeof v === 'string' ? utf8.encode(v) : (v as Uint8Array)));
  const valueOffsets = new Int32Array(values.length + 1);
  let size = 0;
  parts.forEach((p, i) => {
    size += p?.byteLength ?? 0;
    valueOffsets[i + 1] = size;
  });
  const data = new Uint8Array(size);
  parts.forEach((p, i) => p && data.set(p, valueOffsets[i]!));
  return makeData({ ...base, valueOffsets, data } as never);
}

/** Decimal128/256: little-endian two's complement, 32-bit words. */
function decimalWords(values: (Storage | null)[], bitWidth: number): Uint32Array {
  const stride = bitWidth / 32;
  const words = new Uint32Array(values.length * stride);
  values.forEach((v, i) => {
    if (v === null) return;
    let u = BigInt.asUintN(bitWidth, v as bigint);
    for (let w = 0; w < stride; w++, u >>= 32n) words[i * stride + w] = Number(u & 0xffffffffn);
  });
  return words;
}

function list(
  base: { type: DataType; length: number; nullCount: number; nullBitmap: Uint8Array },
  target: Target,
  values: (Storage | null)[],
): Data {
  const valueOffsets = new Int32Array(values.length + 1);
  const items: (Storage | null)[] = [];
  values.forEach((v, i) => {
    if (v !== null) items.push(...(v as (Storage | null)[]));
    valueOffsets[i + 1] = items.length;
  });
  const child = buildData(target.item!, items);
  return makeData({ ...base, type: base.type as List, valueOffsets, child });
}
