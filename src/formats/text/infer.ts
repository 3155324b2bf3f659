// Schema inference for text formats (CSV, TSV, JSON Lines, JSON): each column's type is the narrowest
// one every sampled value fits, widening as values disagree. Shared by every text format so the same
// text gets the same type whichever file it comes from.
import { Binary, Bool, DateDay, Field, Float64, Int64, Schema, TimeUnit, Timestamp, Utf8, type DataType } from 'apache-arrow';
import { MD_EXTENSION_METADATA, MD_EXTENSION_NAME, MD_INFERRED } from '../../arrow/schema.js';
import { isFloatText, parseDate, parseInt64, parseTimestamp } from './values.js';

/** A column's inferred type. `null`: no non-null value seen (becomes utf8). */
export type Inferred = 'null' | 'bool' | 'int' | 'float' | 'date' | 'timestamp' | 'timestamptz' | 'utf8' | 'json';

const JSON_METADATA: [string, string][] = [
  [MD_EXTENSION_NAME, 'json'],
  [MD_EXTENSION_METADATA, 'json-serialized'],
];

/**
 * The narrower of two inferred types that holds both: int and float make float, a date and a
 * timestamp make that timestamp, JSON holds any value (as its JSON text), anything else mixed is utf8.
 */
export function widenInferred(a: Inferred, b: Inferred): Inferred {
  if (a === b || b === 'null') return a;
  if (a === 'null') return b;
  if (a === 'json' || b === 'json') return 'json';
  const pair = (x: Inferred, y: Inferred) => (a === x && b === y) || (a === y && b === x);
  if (pair('int', 'float')) return 'float';
  if (pair('date', 'timestamp')) return 'timestamp';
  if (pair('date', 'timestamptz')) return 'timestamptz';
  return 'utf8';
}

/** The narrowest type of one CSV cell's text (not null). */
export function classifyText(text: string, booleans: ReadonlySet<string>): Inferred {
  if (text.length === 0) return 'utf8';
  // First: true_values may be digits ("1"/"0"), which the user means as booleans.
  if (booleans.has(text)) return 'bool';
  const first = text.charCodeAt(0);
  // A digit, a sign or a point may start a number, a date or a timestamp; anything else only a bool
  // or a special float (NaN, Infinity, inf).
  if ((first >= 48 && first <= 57) || first === 43 || first === 45 || first === 46) {
    const int = parseInt64(text);
    if (int !== undefined) return 'int';
    if (isFloatText(text)) return 'float';
    if (!Number.isNaN(parseDate(text))) return 'date';
    const ts = parseTimestamp(text);
    if (ts) return ts.zoned ? 'timestamptz' : 'timestamp';
    return 'utf8';
  }
  return isFloatText(text) ? 'float' : 'utf8';
}

/** The narrowest type of a JSON string's (decoded) text: a date, a timestamp, or utf8. */
export function classifyJsonString(text: string): Inferred {
  if (!Number.isNaN(parseDate(text))) return 'date';
  const ts = parseTimestamp(text);
  if (ts) return ts.zoned ? 'timestamptz' : 'timestamp';
  return 'utf8';
}

/** Inference over a sample: one running type per column, columns in first-seen order. */
export class ColumnGuesses {
  readonly names: string[] = [];
  readonly types: Inferred[] = [];
  private readonly index = new Map<string, number>();

  /** The column's index, added (with no type yet) when new. */
  column(name: string): number {
    let at = this.index.get(name);
    if (at === undefined) {
      at = this.names.length;
      this.index.set(name, at);
      this.names.push(name);
      this.types.push('null');
    }
    return at;
  }

  /** Widens column `at` to hold a value of type `type`. */
  observe(at: number, type: Inferred): void {
    const current = this.types[at]!;
    if (current !== type) this.types[at] = widenInferred(current, type);
  }

  schema(): Schema {
    return new Schema(this.names.map((name, i) => inferredField(name, this.types[i]!)));
  }
}

/** The Arrow field of an inferred column (nullable, marked inferred; JSON as CloudQuery's extension type). */
export function inferredField(name: string, type: Inferred): Field {
  // Marked inferred: src/arrow/schema.ts widens such columns to utf8 where files of a table disagree.
  const metadata = new Map<string, string>(type === 'json' ? JSON_METADATA : []);
  metadata.set(MD_INFERRED, 'true');
  return new Field(name, arrowType(type), true, metadata);
}

function arrowType(type: Inferred): DataType {
  switch (type) {
    case 'bool':
      return new Bool();
    case 'int':
      return new Int64();
    case 'float':
      return new Float64();
    case 'date':
      return new DateDay();
    case 'timestamp':
      return new Timestamp(TimeUnit.MICROSECOND);
    case 'timestamptz':
      return new Timestamp(TimeUnit.MICROSECOND, 'UTC');
    case 'json':
      return new Binary();
    default:
      return new Utf8();
  }
}

/** The inferred type an Arrow field of an inferred schema stands for (the inverse of inferredField). */
export function inferredOf(field: Field): Inferred {
  const type = field.type as DataType & { unit?: number; timezone?: string | null };
  if (field.metadata.get(MD_EXTENSION_NAME) === 'json') return 'json';
  const name = String(type);
  if (name === 'Bool') return 'bool';
  if (name === 'Int64') return 'int';
  if (name === 'Float64') return 'float';
  if (name.startsWith('Date')) return 'date';
  if (name.startsWith('Timestamp')) return type.timezone ? 'timestamptz' : 'timestamp';
  return 'utf8';
}
