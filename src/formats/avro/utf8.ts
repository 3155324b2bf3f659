// UTF-8 checks of a whole utf8 column at once. Avro strings are copied as bytes, never decoded, so a
// writer's invalid UTF-8 would otherwise reach Arrow's utf8 type, which consumers may refuse.
import { isUtf8 } from 'node:buffer';

/**
 * Whether each of `count` values in `data` is valid UTF-8: the whole buffer is, and no value starts
 * with a continuation byte (which would mean a character split across two values).
 */
export function isUtf8Values(data: Uint8Array, offsets: Int32Array, count: number): boolean {
  if (!isUtf8(data)) return false;
  for (let i = 0; i < count; i++) {
    const start = offsets[i]!;
    if (start < offsets[i + 1]! && (data[start]! & 0xc0) === 0x80) return false;
  }
  return true;
}

/** The values with every invalid sequence replaced with U+FFFD, and how many values changed. */
export function repairUtf8(
  data: Uint8Array,
  offsets: Int32Array,
  count: number,
): { data: Uint8Array; valueOffsets: Int32Array; count: number } {
  const parts: Uint8Array[] = [];
  const valueOffsets = new Int32Array(count + 1);
  let changed = 0;
  let end = 0;
  for (let i = 0; i < count; i++) {
    let value = data.subarray(offsets[i], offsets[i + 1]);
    if (!isUtf8(value)) {
      value = Buffer.from(Buffer.from(value.buffer, value.byteOffset, value.length).toString('utf8'), 'utf8');
      changed++;
    }
    parts.push(value);
    end += value.length;
    valueOffsets[i + 1] = end;
  }
  return { data: Buffer.concat(parts), valueOffsets, count: changed };
}
