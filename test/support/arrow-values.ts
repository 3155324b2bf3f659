// Reading exact values out of decoded Arrow columns, for comparisons with what DuckDB wrote.
import { DataType, type Vector } from 'apache-arrow';

/** The raw stored value of row `index` (int64 timestamps as bigint in their own unit, not ms). */
export function rawValue(vector: Vector, index: number): unknown {
  let offset = index;
  for (const data of vector.data) {
    if (offset < data.length) {
      if (data.nullCount > 0 && data.nullBitmap && !((data.nullBitmap[(data.offset + offset) >> 3]! >> ((data.offset + offset) & 7)) & 1))
        return null;
      const values = data.values as ArrayLike<unknown>;
      return values[data.offset + offset];
    }
    offset -= data.length;
  }
  throw new RangeError(`row ${index} out of range`);
}

/** A decimal value as DuckDB prints it ("-1875.00"). */
export function decimalText(vector: Vector, index: number): string | null {
  const value = vector.get(index);
  if (value === null || value === undefined) return null;
  const type = vector.type;
  if (!DataType.isDecimal(type)) throw new TypeError(`${String(type)} is not a decimal`);
  const digits = String(value).replace(/"/g, '');
  const negative = digits.startsWith('-');
  const abs = (negative ? digits.slice(1) : digits).padStart(type.scale + 1, '0');
  const text = type.scale > 0 ? `${abs.slice(0, -type.scale)}.${abs.slice(-type.scale)}` : abs;
  return negative ? `-${text}` : text;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
