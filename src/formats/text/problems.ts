// Problems inside a file that the read goes past (a value that does not fit its column, a malformed row,
// a key the sample did not have): each is reported (the sync sends it as an error naming the object's
// key), never silently dropped, up to MAX_REPORTS a file; then one message gives the total.
import type { Inferred } from './infer.js';

export const MAX_REPORTS = 100;
/** Raw values in messages are cut to this many characters. */
const MAX_VALUE_CHARS = 100;

export class Problems {
  private count = 0;

  constructor(private readonly report?: (message: string) => void) {}

  get total(): number {
    return this.count;
  }

  add(message: string): void {
    this.count++;
    if (this.count <= MAX_REPORTS) this.report?.(message);
  }

  /** The closing message, once the file is read, when some problems went unreported. */
  finish(): void {
    if (this.count > MAX_REPORTS) this.report?.(this.summary());
  }

  /** What a fatal error adds about the problems before it. */
  suffix(): string {
    return this.count > MAX_REPORTS ? `; before it, ${this.summary()}` : '';
  }

  private summary(): string {
    return `${this.count} problems in this file in all; only the first ${MAX_REPORTS} were reported one by one`;
  }
}

/** A raw value for a message: quoted, escaped, cut to 100 characters. */
export function quoteValue(raw: string): string {
  return JSON.stringify(raw.length > MAX_VALUE_CHARS ? `${raw.slice(0, MAX_VALUE_CHARS)}…` : raw);
}

const TYPE_NAMES: Record<Inferred, string> = {
  null: 'utf8',
  bool: 'bool',
  int: 'int64',
  float: 'float64',
  date: 'date',
  timestamp: 'timestamp (without zone)',
  timestamptz: 'timestamp with zone (UTC)',
  utf8: 'utf8',
  json: 'json',
};

/** The report of a value that does not fit its column. `where` is "line 12" or "record 4 (line 9)". */
export function mismatchMessage(where: string, column: string, type: Inferred, raw: string): string {
  return `${where}: column "${column}": value ${quoteValue(raw)} does not fit the column's type ${TYPE_NAMES[type]} (inferred from the first rows of the file); delivered as null`;
}
