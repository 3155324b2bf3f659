// The kinds of JSON value a scanner hands on, with the text range they span, and what turns a range into
// a value: decoded string content, or compact JSON text. Values are kept as ranges of the source text
// until a column needs them, so numbers keep their exact digits and nested values their exact text.

/** JSON null. */
export const K_NULL = 0;
export const K_FALSE = 1;
export const K_TRUE = 2;
/** A number without fraction or exponent. */
export const K_INT = 3;
/** A number with a fraction or an exponent. */
export const K_FLOAT = 4;
/** A string without escapes: the range is its content, between the quotes. */
export const K_STRING = 5;
/** A string with escapes: the range is its content, between the quotes, still escaped. */
export const K_STRING_ESCAPED = 6;
/** An object or array written without whitespace: the range is its JSON text. */
export const K_NESTED = 7;
/** An object or array with whitespace between its tokens (compacted when used). */
export const K_NESTED_SPACED = 8;

export type JsonKind = number;

/** A string value's content (JSON escapes resolved). */
export function stringValue(kind: JsonKind, src: string, start: number, end: number): string {
  return kind === K_STRING ? src.slice(start, end) : (JSON.parse(src.slice(start - 1, end + 1)) as string);
}

/** The value as JSON text: strings quoted as written, nested values without insignificant whitespace. */
export function jsonText(kind: JsonKind, src: string, start: number, end: number): string {
  switch (kind) {
    case K_NULL:
      return 'null';
    case K_FALSE:
      return 'false';
    case K_TRUE:
      return 'true';
    case K_STRING:
    case K_STRING_ESCAPED:
      return src.slice(start - 1, end + 1);
    case K_NESTED_SPACED:
      return compactJson(src, start, end);
    default:
      return src.slice(start, end);
  }
}

/** The value as text for a utf8 column: strings decoded, anything else as its JSON text. */
export function plainText(kind: JsonKind, src: string, start: number, end: number): string {
  return kind === K_STRING || kind === K_STRING_ESCAPED ? stringValue(kind, src, start, end) : jsonText(kind, src, start, end);
}

const isSpace = (c: number) => c === 32 || c === 10 || c === 13 || c === 9;

/** Valid JSON text [start, end) without whitespace outside strings; every other character as written. */
export function compactJson(src: string, start: number, end: number): string {
  const parts: string[] = [];
  let from = start;
  for (let at = start; at < end; at++) {
    const c = src.charCodeAt(at);
    if (c === 34 /* " */) {
      at = stringEnd(src, at + 1, end);
    } else if (isSpace(c)) {
      if (at > from) parts.push(src.slice(from, at));
      while (at + 1 < end && isSpace(src.charCodeAt(at + 1))) at++;
      from = at + 1;
    }
  }
  if (end > from) parts.push(src.slice(from, end));
  return parts.join('');
}

/** Whether the last string stringEnd went through has escapes. */
export let stringEscaped = false;

/** The index of the closing quote of a string whose content starts at `at` (`end` when unterminated). */
export function stringEnd(src: string, at: number, end: number): number {
  // One pass over the content, bounded by `end`: it finds the quote and notes escapes at once.
  stringEscaped = false;
  for (; at < end; at++) {
    const c = src.charCodeAt(at);
    if (c === 34) return at;
    if (c === 92) {
      stringEscaped = true;
      at++;
    }
  }
  return end;
}
