// JSON objects as rows. Top-level keys are columns; each object's values are gathered by column (the last
// of a repeated key wins, as in JSON.parse) and then either observed for inference (sampling) or
// appended to the batch's columns (reading). In the sample, new keys add columns in first-seen order;
// past it, a key the sample did not have is reported once per file with the line it first appears on.
import type { BatchBuilder } from '../text/batch.js';
import { classifyJsonString, ColumnGuesses, type Inferred } from '../text/infer.js';
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
  stringValue,
  type JsonKind,
} from '../text/json-tokens.js';
import { mismatchMessage, type Problems } from '../text/problems.js';
import { parseInt64 } from '../text/values.js';
import { scanObject, type ObjectTarget } from './scanner.js';

/** Where an object sits in its file: a JSON Lines line, or a record of a JSON file (and its first line). */
export interface Position {
  /** 1-based: the line of a JSON Lines row, the record's number in a JSON file. */
  index: number;
  /** The record's first line (JSON files). */
  line: number;
}

/** "line 12" or "record 4 (line 9)". */
export function describe(position: Position, records: boolean): string {
  return records ? `record ${position.index} (line ${position.line})` : `line ${position.index}`;
}

/** Whether JSON writes `name` as it is: no quote, backslash or control character to escape. */
function writtenAsIs(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x20 || c === 34 || c === 92) return false;
  }
  return true;
}

/** One object's values by column, as ranges of the text it was scanned from. */
abstract class ObjectRows implements ObjectTarget {
  protected kinds = new Uint8Array(16);
  protected starts = new Int32Array(16);
  protected ends = new Int32Array(16);
  /** The row that last set each column (values of other rows are stale). */
  protected stamps = new Int32Array(16).fill(-1);
  protected row = 0;
  /** The column after the previous key: objects of one file usually list their keys in one order. */
  private next = 0;

  protected position: Position = { index: 0, line: 0 };

  constructor(
    protected readonly names: string[],
    /** Positions are records of a JSON file (else lines of JSON Lines). */
    private readonly records: boolean,
  ) {}

  /** Scans the object in [start, end) of `src` (throws JsonSyntaxError) and handles it as a row. */
  scan(src: string, start: number, end: number, position: Position, ascii?: Buffer, noBackslash = false): void {
    this.row++;
    this.next = 0;
    this.position = position;
    scanObject(src, start, end, this, noBackslash);
    this.commit(src, ascii);
  }

  protected where(): string {
    return describe(this.position, this.records);
  }

  keyLength = 0;
  /** Per column: its name is written in JSON as it is (no character needs an escape). */
  private readonly asIs: boolean[] = [];

  expectedKey(src: string, quote: number): number {
    const hint = this.next;
    const name = this.names[hint];
    if (name === undefined) return -1;
    const length = name.length;
    if (src.charCodeAt(quote + 1 + length) !== 34) return -1;
    // A loop over the few characters of a key: String#startsWith costs several times more here.
    for (let i = 0; i < length; i++) if (src.charCodeAt(quote + 1 + i) !== name.charCodeAt(i)) return -1;
    if (!(this.asIs[hint] ??= writtenAsIs(name))) return -1;
    this.keyLength = length;
    this.next = hint + 1;
    return hint;
  }

  key(src: string, start: number, end: number, escaped: boolean): number {
    const hint = this.next;
    if (!escaped && hint < this.names.length) {
      const name = this.names[hint]!;
      if (name.length === end - start && src.startsWith(name, start)) return ((this.next = hint + 1), hint);
    }
    const name = stringValue(escaped ? K_STRING_ESCAPED : K_STRING, src, start, end);
    const column = this.columnOf(name);
    this.next = column + 1;
    return column;
  }

  value(column: number, kind: JsonKind, start: number, end: number): void {
    if (column < 0) return;
    if (column >= this.stamps.length) this.grow(column + 1);
    this.kinds[column] = kind;
    this.starts[column] = start;
    this.ends[column] = end;
    this.stamps[column] = this.row;
  }

  /** The column of a key not at its usual place; -1 to ignore its values. */
  protected abstract columnOf(name: string): number;
  protected abstract commit(src: string, ascii: Buffer | undefined): void;

  private grow(size: number): void {
    const length = Math.max(size, this.stamps.length * 2);
    const copy = <T extends Uint8Array | Int32Array>(a: T, b: T) => (b.set(a), b);
    this.kinds = copy(this.kinds, new Uint8Array(length));
    this.starts = copy(this.starts, new Int32Array(length));
    this.ends = copy(this.ends, new Int32Array(length));
    this.stamps = copy(this.stamps, new Int32Array(length).fill(-1));
  }
}

/** Sampling: keys become columns, values widen their column's type. */
export class JsonGuesses extends ObjectRows {
  readonly guesses = new ColumnGuesses();
  rows = 0;

  constructor(
    private readonly inferTypes: boolean,
    records: boolean,
  ) {
    super([], records);
  }

  protected columnOf(name: string): number {
    const column = this.guesses.column(name);
    if (column === this.names.length) this.names.push(name);
    return column;
  }

  protected commit(src: string): void {
    this.rows++;
    const { kinds, starts, ends, stamps, row } = this;
    for (let c = 0; c < this.names.length; c++) {
      if (stamps[c] !== row || kinds[c] === K_NULL) continue;
      this.guesses.observe(c, classifyJson(kinds[c]!, src, starts[c]!, ends[c]!, this.inferTypes));
    }
  }
}

/** The narrowest type of a JSON value (not null). Without type inference: json when nested, else utf8. */
export function classifyJson(kind: JsonKind, src: string, start: number, end: number, inferTypes: boolean): Inferred {
  if (kind === K_NESTED || kind === K_NESTED_SPACED) return 'json';
  if (!inferTypes) return 'utf8';
  switch (kind) {
    case K_TRUE:
    case K_FALSE:
      return 'bool';
    case K_INT:
      return parseInt64(src, start, end) === undefined ? 'float' : 'int';
    case K_FLOAT:
      return 'float';
    default:
      return classifyJsonString(stringValue(kind, src, start, end));
  }
}

/** Reading: values go to the batch's columns; a key the sample did not have is reported once. */
export class JsonRowWriter extends ObjectRows {
  private readonly index: Map<string, number>;
  private readonly unknown = new Set<string>();

  constructor(
    names: string[],
    records: boolean,
    private readonly batches: BatchBuilder,
    private readonly problems: Problems,
    private readonly sampleRows: number,
  ) {
    super(names, records);
    this.index = new Map(names.map((name, i) => [name, i]));
  }

  protected columnOf(name: string): number {
    const column = this.index.get(name);
    if (column !== undefined) return column;
    if (!this.unknown.has(name)) {
      this.unknown.add(name);
      this.problems.add(
        `${this.where()}: key "${name}" is not among the columns inferred from the first ${this.sampleRows} rows, ` +
          `so its values in this file are not delivered (raise schema_sample_rows to include it)`,
      );
    }
    return -1;
  }

  protected commit(src: string, ascii: Buffer | undefined): void {
    const { batches, kinds, starts, ends, stamps, row } = this;
    batches.startRow();
    const columns = batches.columns;
    for (let c = 0; c < columns.length; c++) {
      const column = columns[c]!;
      const kind = kinds[c]!;
      if (stamps[c] !== row || kind === K_NULL) column.appendNull();
      else if (!column.appendJson(kind, src, starts[c]!, ends[c]!, ascii)) {
        column.appendNull();
        this.problems.add(mismatchMessage(this.where(), this.names[c]!, batches.types[c]!, src.slice(starts[c]!, ends[c]!)));
      }
    }
    batches.endRow();
  }
}
