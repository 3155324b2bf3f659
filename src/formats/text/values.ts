// Parsing of text values into the numbers Arrow stores: exact 64-bit integers (never rounded through a
// double), floats, dates (days since the epoch) and ISO 8601 / RFC 3339 timestamps (microseconds since
// the epoch, normalized to UTC when the text carries a zone). Hand-written scanners over char codes:
// they run once per cell, where a regex's match arrays would cost more than the rest of the row.
// Every function reads `text` from `start` to `end` so callers can parse inside a larger string.

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
/** Up to 15 digits an integer is exact as a double, whatever the digits (10^15 < 2^53). */
const SAFE_DIGITS = 15;

const ZERO = 48;
const NINE = 57;
const PLUS = 43;
const MINUS = 45;
const DOT = 46;

const isDigit = (c: number) => c >= ZERO && c <= NINE;

/**
 * An integer without a fractional part or exponent, as a number when it has at most 15 digits, as a
 * bigint when it needs more (within int64), undefined when the text is not such an integer. Leading
 * zeros ("007", a zip code or an id) do not make an integer: read as one, they would be lost.
 */
export function parseInt64(text: string, start = 0, end = text.length): number | bigint | undefined {
  let at = start;
  const sign = text.charCodeAt(at);
  if (sign === PLUS || sign === MINUS) at++;
  const digits = end - at;
  if (digits <= 0 || (digits > 1 && text.charCodeAt(at) === ZERO)) return undefined;
  if (digits > SAFE_DIGITS) return parseBigInt(text, start, end, at);
  let value = 0;
  for (; at < end; at++) {
    const c = text.charCodeAt(at);
    if (!isDigit(c)) return undefined;
    value = value * 10 + (c - ZERO);
  }
  return sign === MINUS ? -value : value;
}

function parseBigInt(text: string, start: number, end: number, digitsAt: number): bigint | undefined {
  if (end - digitsAt > 19) return undefined;
  for (let at = digitsAt; at < end; at++) if (!isDigit(text.charCodeAt(at))) return undefined;
  const value = BigInt(text.slice(text.charCodeAt(start) === PLUS ? start + 1 : start, end));
  return value > INT64_MAX || value < INT64_MIN ? undefined : value;
}

/**
 * Whether the text is a decimal number: [+-] digits [. digits] [e [+-] digits] (either side of the
 * point may be empty, not both), or NaN / Infinity / inf with an optional sign. Like parseInt64, an
 * integer part with a leading zero followed by more digits is not a number.
 */
export function isFloatText(text: string, start = 0, end = text.length): boolean {
  let at = start;
  const sign = text.charCodeAt(at);
  if (sign === PLUS || sign === MINUS) at++;
  const intStart = at;
  while (at < end && isDigit(text.charCodeAt(at))) at++;
  const intDigits = at - intStart;
  if (intDigits > 1 && text.charCodeAt(intStart) === ZERO) return false;
  let fracDigits = 0;
  if (at < end && text.charCodeAt(at) === DOT) {
    const fracStart = ++at;
    while (at < end && isDigit(text.charCodeAt(at))) at++;
    fracDigits = at - fracStart;
  }
  if (intDigits + fracDigits === 0) return at === intStart && isSpecialFloat(text.slice(intStart, end));
  if (at < end && (text.charCodeAt(at) | 0x20) === 101 /* e */) {
    at++;
    const expSign = text.charCodeAt(at);
    if (expSign === PLUS || expSign === MINUS) at++;
    const expStart = at;
    while (at < end && isDigit(text.charCodeAt(at))) at++;
    if (at === expStart) return false;
  }
  return at === end;
}

function isSpecialFloat(word: string): boolean {
  const lower = word.toLowerCase();
  return lower === 'nan' || lower === 'inf' || lower === 'infinity';
}

const POWERS_OF_TEN = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * A plain decimal ([-+]digits[.digits], at most 15 significant digits and 22 decimals) without a
 * string copy: both the digits and the power of ten are exact doubles, so one division gives the
 * correctly rounded value, the same as Number() (Clinger's fast path). Undefined for anything else
 * (exponents, longer numbers, leading zeros), which callers read the general way.
 */
export function fastFloat(text: string, start: number, end: number): number | undefined {
  let at = start;
  const sign = text.charCodeAt(at);
  if (sign === PLUS || sign === MINUS) at++;
  const intStart = at;
  let value = 0;
  let significant = 0;
  let decimals = -1;
  for (; at < end; at++) {
    const c = text.charCodeAt(at);
    if (c >= ZERO && c <= NINE) {
      if (significant > 0 || c !== ZERO) significant++;
      value = value * 10 + (c - ZERO);
      if (decimals >= 0) decimals++;
    } else if (c === DOT && decimals < 0) {
      if (at - intStart > 1 && text.charCodeAt(intStart) === ZERO) return undefined;
      decimals = 0;
    } else return undefined;
  }
  const digits = end - intStart - (decimals >= 0 ? 1 : 0);
  if (digits === 0 || significant > 15 || decimals > 22) return undefined;
  if (decimals < 0 && digits > 1 && text.charCodeAt(intStart) === ZERO) return undefined;
  const result = decimals > 0 ? value / POWERS_OF_TEN[decimals]! : value;
  return sign === MINUS ? -result : result;
}

/** The float a text holds (isFloatText must have accepted it). */
export function floatValue(text: string, start = 0, end = text.length): number {
  const slice = start === 0 && end === text.length ? text : text.slice(start, end);
  const value = Number(slice);
  if (!Number.isNaN(value)) return value;
  // Number() knows "Infinity" but not "inf" or "nan" in other cases.
  const lower = slice.toLowerCase();
  if (lower.endsWith('nan')) return NaN;
  return lower.startsWith('-') ? -Infinity : Infinity;
}

/** Two digits at `at` as a number, or -1. */
function two(text: string, at: number): number {
  const a = text.charCodeAt(at) - ZERO;
  const b = text.charCodeAt(at + 1) - ZERO;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** YYYY-MM-DD at `at` as days since the epoch, or NaN when it is not a valid calendar date. */
function dateAt(text: string, at: number): number {
  const century = two(text, at);
  const yy = two(text, at + 2);
  const month = two(text, at + 5);
  const day = two(text, at + 8);
  if (century < 0 || yy < 0 || text.charCodeAt(at + 4) !== MINUS || text.charCodeAt(at + 7) !== MINUS) return NaN;
  const year = century * 100 + yy;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return NaN;
  return daysFromCivil(year, month, day);
}

/** A date, YYYY-MM-DD, as days since 1970-01-01; NaN when the text is not one. */
export function parseDate(text: string, start = 0, end = text.length): number {
  return end - start === 10 ? dateAt(text, start) : NaN;
}

/** A parsed timestamp: microseconds since the epoch (UTC when `zoned`). */
export interface Timestamp {
  /** Exact when |micros| <= 2^53 (years 1685 to 2255); otherwise `big` holds the value. */
  micros: number;
  big?: bigint;
  zoned: boolean;
}

const MICROS_PER_SECOND = 1_000_000;

/**
 * YYYY-MM-DD(T| )HH:MM[:SS[.fraction]][zone] where zone is Z or ±HH[[:]MM], optionally after a space.
 * A fraction finer than microseconds is accepted only when its extra digits are zeros (nothing is
 * silently cut off). Returns undefined when the text is not such a timestamp.
 */
export function parseTimestamp(text: string, start = 0, end = text.length): Timestamp | undefined {
  const out: Timestamp = { micros: 0, zoned: false };
  if (!parseTimestampInto(out, text, start, end)) return undefined;
  return out.big === undefined ? { micros: out.micros, zoned: out.zoned } : { micros: out.micros, big: out.big, zoned: out.zoned };
}

/** parseTimestamp into `out` (no allocation per value, for the column builders); false when not a timestamp. */
export function parseTimestampInto(out: Timestamp, text: string, start: number, end: number): boolean {
  out.big = undefined;
  if (end - start < 16) return false;
  const days = dateAt(text, start);
  const sep = text.charCodeAt(start + 10);
  if (Number.isNaN(days) || (sep !== 84 /* T */ && sep !== 116 /* t */ && sep !== 32)) return false;
  const hour = two(text, start + 11);
  const minute = two(text, start + 14);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || text.charCodeAt(start + 13) !== 58) return false;
  let at = start + 16;
  let second = 0;
  let fraction = 0;
  if (at < end && text.charCodeAt(at) === 58 /* : */) {
    second = two(text, at + 1);
    if (second < 0 || second > 59) return false;
    at += 3;
    if (at < end && (text.charCodeAt(at) === DOT || text.charCodeAt(at) === 44) /* . or , */) {
      const digitsAt = ++at;
      while (at < end && isDigit(text.charCodeAt(at))) at++;
      fraction = fractionMicros(text, digitsAt, at);
      if (Number.isNaN(fraction)) return false;
    }
  }
  const offset = zoneOffsetSeconds(text, at, end);
  if (Number.isNaN(offset)) return false;
  const seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - (offset === NO_ZONE ? 0 : offset);
  const micros = seconds * MICROS_PER_SECOND + fraction;
  out.micros = micros;
  out.zoned = offset !== NO_ZONE;
  if (!Number.isSafeInteger(micros)) out.big = BigInt(seconds) * BigInt(MICROS_PER_SECOND) + BigInt(fraction);
  return true;
}

/** The fraction digits [from, to) as microseconds; NaN when none or when digits past the sixth are not zero. */
function fractionMicros(text: string, from: number, to: number): number {
  const digits = to - from;
  if (digits === 0 || digits > 9) return NaN;
  let micros = 0;
  for (let i = 0; i < 6; i++) micros = micros * 10 + (i < digits ? text.charCodeAt(from + i) - ZERO : 0);
  for (let i = 6; i < digits; i++) if (text.charCodeAt(from + i) !== ZERO) return NaN;
  return micros;
}

const NO_ZONE = Number.MAX_SAFE_INTEGER;

/** The zone at [at, end) in seconds east of UTC; NO_ZONE when there is none; NaN when it is not a zone. */
function zoneOffsetSeconds(text: string, at: number, end: number): number {
  if (at === end) return NO_ZONE;
  if (text.charCodeAt(at) === 32) at++;
  const c = text.charCodeAt(at);
  if ((c === 90 || c === 122) /* Z z */ && at + 1 === end) return 0;
  if (c !== PLUS && c !== MINUS) return NaN;
  const hours = two(text, at + 1);
  let minutes = 0;
  let next = at + 3;
  const colon = next < end && text.charCodeAt(next) === 58;
  if (colon) next++;
  if (next < end || colon) {
    minutes = two(text, next);
    next += 2;
  }
  if (hours < 0 || hours > 23 || minutes < 0 || minutes > 59 || next !== end) return NaN;
  return (c === MINUS ? -1 : 1) * (hours * 3_600 + minutes * 60);
}
