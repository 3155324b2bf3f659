// Text as typed values, exactly: integers of any size (as bigint), decimals as unscaled digits, dates,
// ISO 8601 / RFC 3339 timestamps to the nanosecond, times of day, UUIDs, and JSON (big integers kept
// exact). Each parser returns undefined when the text is not a value of its kind.
import type { Value } from './cast-read.js';

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const SPECIAL_FLOATS: Record<string, number> = {
  nan: NaN,
  inf: Infinity,
  '+inf': Infinity,
  '-inf': -Infinity,
  infinity: Infinity,
  '+infinity': Infinity,
  '-infinity': -Infinity,
};

export function parseInteger(text: string): bigint | undefined {
  const t = text.trim();
  return INTEGER.test(t) ? BigInt(t) : undefined;
}

/** A float; NaN and infinities only when spelled so (an overflow such as 1e400 is not a float64). */
export function parseFloatText(text: string): number | undefined {
  const t = text.trim();
  if (NUMBER.test(t)) {
    const v = Number(t);
    return Number.isFinite(v) ? v : undefined;
  }
  const special = SPECIAL_FLOATS[t.toLowerCase()];
  return special;
}

/** A decimal number (optionally with an exponent) as unscaled digits and scale: "12.50" -> 1250n, 2. */
export function parseDecimalText(text: string): { v: bigint; scale: number } | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return undefined;
  const fraction = m[3] ?? '';
  let scale = fraction.length - Number(m[4] ?? 0);
  let v = BigInt(`${m[2] || '0'}${fraction}`);
  if (scale < 0) {
    if (-scale > 80) return undefined;
    v *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { v: m[1] === '-' ? -v : v, scale };
}

/** Days since 1970-01-01 of a calendar date YYYY-MM-DD. */
export function parseDateText(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  return m ? civilDays(Number(m[1]), Number(m[2]), Number(m[3])) : undefined;
}

function civilDays(year: number, month: number, day: number): number | undefined {
  const ms = Date.UTC(year, month - 1, day);
  const date = new Date(ms);
  // Date.UTC rolls 2024-02-30 over into March: such a date is not valid.
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  return ms / 86_400_000;
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** A timestamp as nanoseconds since the epoch (UTC); a value without zone is read as UTC wall time. */
export function parseTimestampText(text: string): { ns: bigint; zoned: boolean } | undefined {
  const m = TIMESTAMP.exec(text.trim());
  if (!m) return undefined;
  const days = civilDays(Number(m[1]), Number(m[2]), Number(m[3]));
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  if (days === undefined || hour > 23 || minute > 59 || second > 59) return undefined;
  const fraction = BigInt((m[7] ?? '').padEnd(9, '0'));
  let seconds = BigInt(days) * 86_400n + BigInt(hour * 3600 + minute * 60 + second);
  const zone = m[8];
  if (zone && zone.toUpperCase() !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
    const offset = BigInt(Number(z[2]) * 3600 + Number(z[3] ?? 0) * 60);
    seconds += z[1] === '+' ? -offset : offset;
  }
  return { ns: seconds * 1_000_000_000n + fraction, zoned: zone !== undefined };
}

/** A time of day HH:MM[:SS[.fraction]] as nanoseconds since midnight. */
export function parseTimeText(text: string): bigint | undefined {
  const m = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/.exec(text.trim());
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59 || Number(m[3] ?? 0) > 59) return undefined;
  const seconds = BigInt(Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3] ?? 0));
  return seconds * 1_000_000_000n + BigInt((m[4] ?? '').padEnd(9, '0'));
}

/** A UUID, with or without hyphens, as its 16 bytes. */
export function parseUuidText(text: string): Uint8Array | undefined {
  const hex = text.trim().toLowerCase();
  if (!/^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/.test(hex)) return undefined;
  return Uint8Array.from(Buffer.from(hex.replaceAll('-', ''), 'hex'));
}

/** JSON text as a Value (integers exact, objects as JSON-able values), or undefined when not JSON. */
export function parseJsonValue(text: string): Value | null | undefined {
  let parsed: unknown;
  try {
    // Integers beyond 2^53 would lose digits as numbers: keep their source text.
    parsed = JSON.parse(text, (_key, value: unknown, context?: { source?: string }) =>
      typeof value === 'number' && context?.source && INTEGER.test(context.source) && !Number.isSafeInteger(value)
        ? BigInt(context.source)
        : value,
    );
  } catch {
    return undefined;
  }
  return fromJson(parsed);
}

function fromJson(value: unknown): Value | null {
  if (value === null) return null;
  if (typeof value === 'bigint') return { k: 'int', v: value };
  // An integer beyond 2^53 whose source text the runtime did not hand over (Node 20) stays a float: casting
  // it to an integer then fails instead of delivering rounded digits.
  if (typeof value === 'number') return Number.isSafeInteger(value) ? { k: 'int', v: BigInt(value) } : { k: 'float', v: value };
  if (typeof value === 'boolean') return { k: 'bool', v: value };
  if (typeof value === 'string') return { k: 'text', v: value };
  if (Array.isArray(value)) return { k: 'list', v: value.map(fromJson) };
  return { k: 'object', v: value };
}
