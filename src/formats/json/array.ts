// A JSON file cut into its records without holding the file: either one array of objects (`[{...},
// {...}]`, however large) or objects one after another (a single object, or several, as some writers
// concatenate them). Bytes are tracked structurally (strings, escapes, nesting depth; the structural
// characters are ASCII, which UTF-8 never uses inside a multi-byte character) until a record is
// complete; the record's bytes then go to the sink. A record longer than MAX_RECORD_BYTES ends the file.
import { FormatError } from '../../errors.js';
import { ParseStop } from '../text/reader.js';
import type { Position } from './rows.js';

export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

export interface RecordSink {
  /** One record's bytes (an object, or whatever else stands where a record should). */
  record(bytes: Buffer, position: Position): void;
  /** A problem with the file's structure that the read goes past. */
  problem(message: string): void;
}

const START = 0;
const ARRAY_FIRST = 1;
const ARRAY_NEXT = 2;
const ARRAY_AFTER = 3;
const OBJECTS = 4;
const IN_RECORD = 5;
const DONE = 6;

const isSpace = (b: number) => b === 32 || b === 10 || b === 13 || b === 9;

export class RecordSplitter {
  private state = START;
  /** The state to return to after a record. */
  private after = OBJECTS;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private complete = false;
  private parts: Buffer[] = [];
  private partBytes = 0;
  private line = 1;
  private fileOffset = 0;
  private readonly position: Position = { index: 0, line: 0 };

  constructor(private readonly sink: RecordSink) {}

  write(chunk: Uint8Array): void {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = this.state === IN_RECORD ? 0 : -1;
    for (let i = 0; i < bytes.length;) {
      if (this.state !== IN_RECORD) {
        if (this.structure(bytes[i]!)) start = i;
        else i++;
        continue;
      }
      const stop = this.scanRecord(bytes, i);
      if (!this.complete) break;
      this.emit(bytes.subarray(start, stop));
      i = stop;
    }
    if (this.state === IN_RECORD) this.keep(Buffer.from(bytes.subarray(start)));
    this.fileOffset += bytes.length;
  }

  end(): void {
    if (this.state === IN_RECORD) {
      // A number or literal may end with the file; anything else open is a truncated record.
      if (this.depth > 0 || this.inString) {
        throw new ParseStop(
          `the file ends inside record ${this.position.index + 1} (line ${this.position.line}); the records before it were read`,
        );
      }
      this.emit(Buffer.alloc(0));
    }
    if (this.state === ARRAY_FIRST || this.state === ARRAY_NEXT || this.state === ARRAY_AFTER) {
      this.sink.problem(`the file ends before the JSON array is closed (after record ${this.position.index}, line ${this.line})`);
    }
  }

  /** Handles a byte outside a record; true when a record starts at it. */
  private structure(b: number): boolean {
    if (b === 10) this.line++;
    if (isSpace(b)) return false;
    switch (this.state) {
      case START:
        if (this.fileOffset < 3 && (b === 0xef || b === 0xbb || b === 0xbf)) return false; // the byte-order mark
        if (b === 91 /* [ */) return ((this.state = ARRAY_FIRST), (this.after = ARRAY_AFTER), false);
        if (b !== 123 /* { */)
          throw new FormatError(`not JSON: the file starts with ${JSON.stringify(String.fromCharCode(b))}, not '[' or '{'`);
        return this.begin();
      case ARRAY_FIRST:
        return b === 93 ? ((this.state = DONE), false) : this.begin(b);
      case ARRAY_AFTER:
        if (b === 44 /* , */) return ((this.state = ARRAY_NEXT), false);
        if (b === 93 /* ] */) return ((this.state = DONE), false);
        this.sink.problem(`line ${this.line}: a ',' is missing between records ${this.position.index} and ${this.position.index + 1}`);
        return this.begin(b);
      case DONE:
        // Arrays one after another are read as one.
        if (b === 91) return ((this.state = ARRAY_FIRST), false);
        throw new ParseStop(`line ${this.line}: data after the end of the JSON array`);
      default:
        return this.begin(b);
    }
  }

  /** A record starts at this byte, unless the byte cannot start a value (then it is reported and skipped). */
  private begin(b = 123): boolean {
    if (b === 44 || b === 93 || b === 125 || b === 58) {
      this.sink.problem(`line ${this.line}: unexpected ${JSON.stringify(String.fromCharCode(b))} between records`);
      if (b === 93 && this.after === ARRAY_AFTER) this.state = DONE;
      return false;
    }
    this.state = IN_RECORD;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    this.position.line = this.line;
    return true;
  }

  /** Scans a record's bytes from `i`; `complete` tells whether it ended (at the returned index). */
  private scanRecord(bytes: Buffer, i: number): number {
    this.complete = false;
    for (; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (b === 92) this.escaped = true;
        else if (b === 34) {
          this.inString = false;
          if (this.depth === 0) return this.ended(i + 1);
        }
      } else if (b === 34) this.inString = true;
      else if (b === 123 || b === 91) this.depth++;
      else if (b === 125 || b === 93) {
        // A closing bracket at depth 0 ends a number or literal (and belongs to the array).
        if (this.depth === 0) return this.ended(i);
        if (--this.depth === 0) return this.ended(i + 1);
      } else if (this.depth === 0 && (b === 44 || isSpace(b))) return this.ended(i);
      if (b === 10) this.line++;
    }
    return i;
  }

  private ended(at: number): number {
    this.complete = true;
    return at;
  }

  /** The record is complete: its bytes (with any kept from earlier chunks) go to the sink. */
  private emit(last: Buffer): void {
    const bytes = this.parts.length > 0 ? Buffer.concat([...this.parts, last]) : last;
    this.parts = [];
    this.partBytes = 0;
    this.state = this.after;
    this.position.index++;
    this.sink.record(bytes, this.position);
  }

  private keep(bytes: Buffer): void {
    this.partBytes += bytes.length;
    if (this.partBytes > MAX_RECORD_BYTES) {
      throw new ParseStop(
        `record ${this.position.index + 1} (line ${this.position.line}) is longer than ${MAX_RECORD_BYTES / 1024 / 1024} MiB; the rest of the file cannot be read`,
      );
    }
    this.parts.push(bytes);
  }
}
