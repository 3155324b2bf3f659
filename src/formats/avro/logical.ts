// Avro's logical types as exact values: decimals (big-endian two's complement of any length) into
// Arrow's little-endian Decimal128/256 slots or decimal text, UUID text into its 16 bytes, and the
// text forms the JSON rendering uses for dates, times and timestamps.

/** Writes a decimal's unscaled bytes as `width` little-endian bytes; a reason when it does not fit. */
export function decimalInto(width: number, precision: number): (bytes: Uint8Array, out: Uint8Array, at: number) => true | string {
  // Values of up to `safe` significant bytes always have at most `precision` digits.
  const safe = Math.floor((precision * Math.log2(10) + 1) / 8);
  const limit = 10n ** BigInt(precision);
  return (bytes, out, at) => {
    const fill = bytes.length > 0 && bytes[0]! & 0x80 ? 0xff : 0;
    // Leading sign-extension bytes carry no digits.
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === fill && (bytes[start + 1]! & 0x80) === (fill & 0x80)) start++;
    const significant = bytes.length - start;
    if (significant > width || (significant > safe && abs(unscaled(bytes)) >= limit)) {
      return `decimal ${decimalText(bytes, 0)} (unscaled) has more than ${precision} digits`;
    }
    for (let i = 0; i < width; i++) out[at + i] = i < significant ? bytes[bytes.length - 1 - i]! : fill;
    return true;
  };
}

/** The unscaled integer of big-endian two's complement bytes. */
export function unscaled(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return bytes[0]! & 0x80 ? n - (1n << BigInt(8 * bytes.length)) : n;
}

function abs(n: bigint): bigint {
  return n < 0n ? -n : n;
}

/** A decimal's exact text: "-12.345" for unscaled -12345 at scale 3. */
export function decimalText(bytes: Uint8Array, scale: number): string {
  const n = unscaled(bytes);
  const digits = abs(n)
    .toString()
    .padStart(scale + 1, '0');
  const text = scale > 0 ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return n < 0n ? `-${text}` : text;
}

const DASHES = [8, 13, 18, 23];

/** A UUID's canonical text (36 characters, hex in any case) as its 16 bytes; a reason for other text. */
export function uuidInto(text: Uint8Array, out: Uint8Array, at: number): true | string {
  let ok = text.length === 36 && DASHES.every((i) => text[i] === 0x2d);
  for (let i = 0, j = 0; ok && i < 16; i++, j += 2) {
    if (DASHES.includes(j)) j++;
    const high = hexValue(text[j]!);
    const low = hexValue(text[j + 1]!);
    ok = high >= 0 && low >= 0;
    out[at + i] = (high << 4) | low;
  }
  return ok || `${JSON.stringify(Buffer.from(text.subarray(0, 100)).toString('utf8'))} is not a UUID`;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/** A fixed(16) UUID: its bytes as they are. */
export function uuidBytesInto(bytes: Uint8Array, out: Uint8Array, at: number): true {
  out.set(bytes, at);
  return true;
}

export function uuidText(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const UNITS_PER_MS: Record<string, bigint> = { millis: 1n, micros: 1000n, nanos: 1000000n };

/**
 * A date, time or timestamp logical value as ISO 8601 text (timestamps in UTC end in `Z`, local ones
 * do not); the plain number where the calendar cannot express it.
 */
export function temporalText(logical: string, value: number | bigint): string | undefined {
  if (logical === 'date') return isoDate(Number(value) * 86_400_000)?.slice(0, 10);
  const unit = logical.slice(logical.lastIndexOf('-') + 1);
  const perMs = UNITS_PER_MS[unit];
  if (!perMs) return undefined;
  const n = BigInt(value);
  // Floor division, so times before 1970 keep a positive fraction.
  const ms = n / perMs - (n % perMs < 0n ? 1n : 0n);
  const fraction = (n - ms * perMs).toString().padStart(unit === 'millis' ? 0 : unit === 'micros' ? 3 : 6, '0');
  const iso = isoDate(Number(ms));
  if (!iso) return undefined;
  const text = unit === 'millis' ? iso.slice(0, -1) : `${iso.slice(0, -1)}${fraction}`;
  if (logical.startsWith('time-')) return text.slice(text.indexOf('T') + 1);
  return logical.startsWith('local-') ? text : `${text}Z`;
}

function isoDate(ms: number): string | undefined {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
