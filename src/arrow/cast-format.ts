// A value (src/arrow/cast-read.ts) as text: what a utf8 column declared over typed data receives, and how
// a value is quoted in a report. Dates as YYYY-MM-DD, timestamps as RFC 3339 (Z when zoned), times as
// HH:MM:SS with the fraction they have, decimals with their scale, UUIDs canonical, nested values as JSON.
import type { Value } from './cast-read.js';

export function textOf(value: Value): string {
  switch (value.k) {
    case 'int':
      return value.v.toString();
    case 'float':
      return String(value.v);
    case 'dec':
      return decimalText(value.v, value.scale);
    case 'bool':
      return value.v ? 'true' : 'false';
    case 'text':
    case 'json':
      return value.v;
    case 'bytes':
      return value.uuid && value.v.byteLength === 16 ? uuidText(value.v) : Buffer.from(value.v).toString('base64');
    case 'date':
      return new Date(value.days * 86_400_000).toISOString().slice(0, 10);
    case 'ts':
      return timestampText(value.ns, value.zoned);
    case 'time':
      return timeText(value.ns);
    case 'list':
      return `[${value.v.map((v) => (v === null ? 'null' : jsonOf(v))).join(',')}]`;
    case 'object':
      return objectJson(value.v);
  }
}

/** A struct or map as JSON; its 64-bit integers keep every digit. */
function objectJson(value: unknown): string {
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(objectJson).join(',')}]`;
  return `{${Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `${JSON.stringify(k)}:${objectJson(v)}`)
    .join(',')}}`;
}

/** A value as a JSON literal. */
function jsonOf(value: Value): string {
  if (value.k === 'int' || value.k === 'dec' || value.k === 'bool' || value.k === 'list' || value.k === 'object' || value.k === 'json')
    return textOf(value);
  if (value.k === 'float') return Number.isFinite(value.v) ? String(value.v) : 'null';
  return JSON.stringify(textOf(value));
}

function decimalText(v: bigint, scale: number): string {
  if (scale <= 0) return (v * 10n ** BigInt(-scale)).toString();
  const digits = (v < 0n ? -v : v).toString().padStart(scale + 1, '0');
  return `${v < 0n ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

function uuidText(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const DAY_NS = 86_400_000_000_000n;

function timestampText(ns: bigint, zoned: boolean): string {
  const days = ns >= 0n ? ns / DAY_NS : -((-ns + DAY_NS - 1n) / DAY_NS);
  const date = new Date(Number(days) * 86_400_000).toISOString().slice(0, 10);
  return `${date}T${timeText(ns - days * DAY_NS)}${zoned ? 'Z' : ''}`;
}

function timeText(ns: bigint): string {
  const seconds = Number(ns / 1_000_000_000n);
  const fraction = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  const hms = [Math.floor(seconds / 3600), Math.floor(seconds / 60) % 60, seconds % 60].map((n) => String(n).padStart(2, '0')).join(':');
  return fraction ? `${hms}.${fraction}` : hms;
}
