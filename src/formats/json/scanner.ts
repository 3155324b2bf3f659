// A JSON object scanner that keeps values as ranges of the source text instead of building JS values:
// numbers keep their exact digits (an int64 beyond 2^53 is never rounded through a double), nested
// objects and arrays keep their exact text, and strings are decoded only when a column needs them.
// Strict RFC 8259 grammar for everything it passes on; a violation throws JsonSyntaxError with the
// position. JSON.parse cannot do this (its numbers are doubles, and Node 20 has no source-text access).
import {
  K_FALSE,
  K_FLOAT,
  K_INT,
  K_NESTED,
  K_NESTED_SPACED,
  K_NULL,
  K_STRING,
  K_STRING_ESCAPED,
  K_TRUE,
  stringEnd,
  stringEscaped,
  type JsonKind,
} from '../text/json-tokens.js';

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    /** Index in the scanned text (the message counts characters from the object's start). */
    readonly at: number,
  ) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

/** Where an object's members go. */
export interface ObjectTarget {
  /**
   * The column of the key whose opening quote is at `quote` when it is the key the target expects next,
   * written as is (no escapes); -1 when it is not (the scanner then reads the key and calls `key`).
   * On a match, `keyLength` is the length of its content.
   */
  expectedKey(src: string, quote: number): number;
  readonly keyLength: number;
  /** The column of the key whose (raw) content is [start, end); -1 to ignore its value. */
  key(src: string, start: number, end: number, escaped: boolean): number;
  value(column: number, kind: JsonKind, start: number, end: number): void;
}

const isSpace = (c: number) => c === 32 || c === 10 || c === 13 || c === 9;

function skipSpace(src: string, at: number, end: number): number {
  while (at < end && isSpace(src.charCodeAt(at))) at++;
  return at;
}

function fail(src: string, at: number, end: number, expected: string): never {
  const found = at >= end ? 'the end of the text' : JSON.stringify(src.slice(at, at + 1));
  throw new JsonSyntaxError(`invalid JSON at character ${at - origin + 1}: expected ${expected}, found ${found}`, at);
}

/** Where the object being scanned starts: messages count characters from there (1-based), not from the text's start. */
let origin = 0;

/**
 * Scans one object spanning [start, end) (surrounding whitespace allowed) into `target`. `noBackslash`:
 * the caller knows the text has no backslash, so no string in it has escapes (LineSplitter looks once
 * per 64 KiB of bytes); its strings then end at the next quote, found by a native search.
 */
export function scanObject(src: string, start: number, end: number, target: ObjectTarget, noBackslash = false): void {
  origin = start;
  plain = noBackslash;
  let at = skipSpace(src, start, end);
  if (src.charCodeAt(at) !== 123) fail(src, at, end, 'an object');
  at = skipSpace(src, at + 1, end);
  if (src.charCodeAt(at) !== 125) {
    for (;;) {
      // Objects of one file mostly repeat their keys in one order: the expected key is matched in place.
      let column = src.charCodeAt(at) === 34 ? target.expectedKey(src, at) : -1;
      let keyEnd: number;
      if (column >= 0) keyEnd = at + 1 + target.keyLength;
      else {
        keyEnd = scanString(src, at, end, 'a key');
        column = target.key(src, at + 1, keyEnd, stringKind === K_STRING_ESCAPED);
      }
      at = skipSpace(src, keyEnd + 1, end);
      if (src.charCodeAt(at) !== 58) fail(src, at, end, "':'");
      at = scanValue(src, skipSpace(src, at + 1, end), end, column, target);
      at = skipSpace(src, at, end);
      const c = src.charCodeAt(at);
      if (c === 125) break;
      if (c !== 44) fail(src, at, end, "',' or '}'");
      at = skipSpace(src, at + 1, end);
    }
  }
  at = skipSpace(src, at + 1, end);
  if (at < end) fail(src, at, end, 'the end of the object');
}

/** Scans the value at `at` into `target` (column -1: validated, not kept); returns the index after it. */
function scanValue(src: string, at: number, end: number, column: number, target: ObjectTarget): number {
  const c = src.charCodeAt(at);
  if (c === 34) {
    const close = scanString(src, at, end, 'a value');
    target.value(column, stringKind, at + 1, close);
    return close + 1;
  }
  if (c === 123 || c === 91) {
    const after = nestedEnd(src, at, end);
    target.value(column, spaced ? K_NESTED_SPACED : K_NESTED, at, after);
    return after;
  }
  const after = scalarEnd(src, at, end);
  target.value(column, scalarKind, at, after);
  return after;
}

/** The kind of the last string scanned. */
let stringKind: JsonKind = K_STRING;
/** The object being scanned has no backslash: no string in it has escapes. */
let plain = false;

/** Checks the string whose opening quote is at `at`; returns the index of its closing quote. */
function scanString(src: string, at: number, end: number, expected: string): number {
  if (src.charCodeAt(at) !== 34) fail(src, at, end, expected);
  if (plain) {
    // No escapes: the next quote closes the string (a native search). Each search stops at the first
    // quote after its start, which is at or before the next search's start, so the total stays linear.
    const close = src.indexOf('"', at + 1);
    if (close < 0 || close >= end)
      throw new JsonSyntaxError(`invalid JSON at character ${at - origin + 1}: a string that is not closed`, at);
    stringKind = K_STRING;
    return close;
  }
  const close = stringEnd(src, at + 1, end);
  if (close >= end) throw new JsonSyntaxError(`invalid JSON at character ${at - origin + 1}: a string that is not closed`, at);
  stringKind = stringEscaped ? K_STRING_ESCAPED : K_STRING;
  if (stringEscaped) checkEscapes(src, at + 1, close);
  return close;
}

const SIMPLE_ESCAPES = new Set([34, 92, 47, 98, 102, 110, 114, 116]); // " \ / b f n r t

function checkEscapes(src: string, from: number, close: number): void {
  for (let at = src.indexOf('\\', from); at >= 0 && at < close; at = src.indexOf('\\', at + 1)) {
    const c = src.charCodeAt(at + 1);
    if (c === 117 /* u */ && /^[0-9a-fA-F]{4}$/.test(src.slice(at + 2, at + 6))) at += 5;
    else if (SIMPLE_ESCAPES.has(c)) at += 1;
    else throw new JsonSyntaxError(`invalid JSON at character ${at - origin + 1}: an invalid escape in a string`, at);
  }
}

/** The kind of the last scalar scanned. */
let scalarKind: JsonKind = K_NULL;

/** Checks the number or literal at `at`; returns the index after it and sets scalarKind. */
function scalarEnd(src: string, at: number, end: number): number {
  const c = src.charCodeAt(at);
  if (c === 116 && src.startsWith('true', at)) return ((scalarKind = K_TRUE), at + 4);
  if (c === 102 && src.startsWith('false', at)) return ((scalarKind = K_FALSE), at + 5);
  if (c === 110 && src.startsWith('null', at)) return ((scalarKind = K_NULL), at + 4);
  let p = at;
  if (c === 45) p++;
  const first = src.charCodeAt(p);
  if (first === 48) p++;
  else if (first >= 49 && first <= 57) p = digitsEnd(src, p + 1, end);
  else fail(src, at, end, 'a value');
  scalarKind = K_INT;
  if (src.charCodeAt(p) === 46) {
    const digits = p + 1;
    p = digitsEnd(src, digits, end);
    if (p === digits) fail(src, p, end, 'a digit');
    scalarKind = K_FLOAT;
  }
  if ((src.charCodeAt(p) | 0x20) === 101) {
    p++;
    const sign = src.charCodeAt(p);
    if (sign === 43 || sign === 45) p++;
    const digits = p;
    p = digitsEnd(src, digits, end);
    if (p === digits) fail(src, p, end, 'a digit');
    scalarKind = K_FLOAT;
  }
  return p;
}

function digitsEnd(src: string, at: number, end: number): number {
  while (at < end) {
    const c = src.charCodeAt(at);
    if (c < 48 || c > 57) break;
    at++;
  }
  return at;
}

/** Whether the last nested value scanned had whitespace between its tokens. */
let spaced = false;
/** Open containers of the nested value being scanned: 1 for an object, 0 for an array. */
let stack: Uint8Array = new Uint8Array(64);

/** Checks the object or array at `at`; returns the index after it and sets `spaced`. */
function nestedEnd(src: string, at: number, end: number): number {
  spaced = false;
  let depth = 0;
  let p = at;
  for (;;) {
    // A value is expected at p.
    const c = src.charCodeAt(p);
    if (c === 123 || c === 91) {
      if (depth === stack.length) stack = growStack(stack);
      stack[depth++] = c === 123 ? 1 : 0;
      p = space(src, p + 1, end);
      const close = src.charCodeAt(p);
      if (close === (c === 123 ? 125 : 93)) {
        depth--;
        p++;
      } else {
        if (c === 123) p = memberKey(src, p, end);
        continue;
      }
    } else if (c === 34) {
      p = scanString(src, p, end, 'a value') + 1;
    } else {
      p = scalarEnd(src, p, end);
    }
    // After a value: close containers or move to the next member.
    for (;;) {
      if (depth === 0) return p;
      p = space(src, p, end);
      const d = src.charCodeAt(p);
      const inObject = stack[depth - 1] === 1;
      if (d === 44) {
        p = space(src, p + 1, end);
        if (inObject) p = memberKey(src, p, end);
        break;
      }
      if (d !== (inObject ? 125 : 93)) fail(src, p, end, inObject ? "',' or '}'" : "',' or ']'");
      depth--;
      p++;
    }
  }
}

/** Checks `"key" :` at `at` and the whitespace after it; returns the index of the value. */
function memberKey(src: string, at: number, end: number): number {
  const close = scanString(src, at, end, 'a key');
  const colon = space(src, close + 1, end);
  if (src.charCodeAt(colon) !== 58) fail(src, colon, end, "':'");
  return space(src, colon + 1, end);
}

/** skipSpace that notes whitespace inside a nested value (it is then compacted). */
function space(src: string, at: number, end: number): number {
  const after = skipSpace(src, at, end);
  if (after !== at) spaced = true;
  return after;
}

function growStack(current: Uint8Array): Uint8Array {
  const next = new Uint8Array(current.length * 2);
  next.set(current);
  return next;
}
