// csv-parse driven chunk by chunk: RFC 4180 records (quoted delimiters, doubled quotes, embedded newlines,
// CRLF), blank and comment lines skipped, each record with the line it starts on and which of its
// fields were quoted. A malformed record the parser can step past is reported and skipped; one it
// cannot (a quote that never closes, a record over MAX_RECORD_BYTES) ends the file with a FormatError
// saying where.
//
// The parser's own core (`api.parse`, the function its stream wraps) is called directly: records arrive
// through a callback instead of an object-mode stream, which costs a sixth of the parse. Which fields
// were quoted is not in csv-parse's records; it is read from the parser's state as each field ends,
// which is what lets a quoted empty field ("") be an empty string while an unquoted one is null.
import { Parser } from 'csv-parse';
import { FormatError } from '../../errors.js';
import { ParseStop } from '../text/reader.js';

/** A record (or field) longer than this ends the file: memory stays bounded without newlines or quotes. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

export interface CsvSyntax {
  delimiter: string;
  quote: string;
  escape: string;
  /** '' for none. */
  comment: string;
}

export interface RecordSink {
  /** `quoted[i]` tells whether field i was quoted; `line` is the record's first line in the file. */
  record(fields: string[], quoted: readonly boolean[], line: number): void;
  /** A record the parser skipped. */
  malformed(message: string, line: number): void;
}

interface CsvApi {
  parse(buf: Buffer | undefined, end: boolean, push: (record: string[]) => void, close: () => void): Error | undefined;
  info: { lines: number };
  state: { record: unknown[]; wasQuoting: boolean };
  __onField: () => unknown;
}

interface CsvParseError extends Error {
  code?: string;
  lines?: number;
}

/** Errors after which the parser's position in the text is unreliable: the rest of the file cannot be read. */
const FATAL = new Set(['CSV_INVALID_CLOSING_QUOTE', 'CSV_QUOTE_NOT_CLOSED', 'CSV_MAX_RECORD_SIZE']);

export class CsvRecords {
  private readonly api: CsvApi;
  private readonly quoted: boolean[] = [];
  /** CRLFs inside quoted fields so far: csv-parse counts each as two lines. */
  private doubleCounted = 0;
  /** The last line of the previous record. */
  private previousEnd = 0;
  /** The line of the last skipped record (csv-parse may report one record's problem more than once). */
  private lastSkipped = -1;

  constructor(
    syntax: CsvSyntax,
    /** Lines before the parser's first (skip_rows). */
    private readonly lineOffset: number,
    private readonly sink: RecordSink,
  ) {
    const parser = new Parser({
      delimiter: syntax.delimiter,
      quote: syntax.quote,
      escape: syntax.escape,
      comment: syntax.comment || undefined,
      comment_no_infix: true,
      skip_empty_lines: true,
      relax_column_count: true,
      skip_records_with_error: true,
      max_record_size: MAX_RECORD_BYTES,
      bom: false,
      encoding: 'utf8',
      on_skip: (err) => this.skipped(err as CsvParseError),
    });
    this.api = (parser as unknown as { api: CsvApi }).api;
    if (typeof this.api?.parse !== 'function' || typeof this.api.__onField !== 'function' || !('wasQuoting' in this.api.state)) {
      throw new Error('csv-parse: its parser core is not where this reader expects it (check the csv-parse version)');
    }
    const onField = this.api.__onField;
    const quoted = this.quoted;
    this.api.__onField = function (this: CsvApi) {
      quoted[this.state.record.length] = this.state.wasQuoting;
      return onField.call(this);
    };
  }

  /** The line the parser has reached (for messages about the current position). */
  get line(): number {
    return this.api.info.lines - this.doubleCounted + this.lineOffset;
  }

  write(bytes: Buffer): void {
    this.check(this.api.parse(bytes, false, this.push, noop));
  }

  end(): void {
    this.check(this.api.parse(undefined, true, this.push, noop));
  }

  private readonly push = (record: string[]) => {
    // Newlines inside quoted fields: the record starts that many lines before it ends.
    let newlines = 0;
    let crlf = 0;
    for (let i = 0; i < record.length; i++) {
      if (!this.quoted[i]) continue;
      const field = record[i]!;
      if (field.indexOf('\n') < 0 && field.indexOf('\r') < 0) continue;
      newlines += count(field, '\n') + count(field, '\r');
      crlf += count(field, '\r\n');
    }
    this.doubleCounted += crlf;
    const end = this.api.info.lines - this.doubleCounted;
    this.previousEnd = end;
    this.sink.record(record, this.quoted, end - (newlines - crlf) + this.lineOffset);
  };

  private skipped(err: CsvParseError): undefined {
    const line = (err.lines ?? this.api.info.lines) - this.doubleCounted + this.lineOffset;
    if (err.code && FATAL.has(err.code)) throw err;
    if (line === this.lastSkipped) return undefined;
    this.lastSkipped = line;
    const what = err.code === 'INVALID_OPENING_QUOTE' ? 'a quote inside an unquoted field' : `malformed row (${err.message})`;
    this.sink.malformed(`line ${line}: ${what}; row skipped`, line);
    return undefined;
  }

  private check(err: Error | undefined): void {
    if (!err) return;
    const { code, lines } = err as CsvParseError;
    const line = (lines ?? this.api.info.lines) - this.doubleCounted + this.lineOffset;
    const after = this.previousEnd + this.lineOffset;
    if (code === 'CSV_QUOTE_NOT_CLOSED')
      throw new ParseStop(`a quoted field opened after line ${after} is never closed (the file ends inside it)`);
    if (code === 'CSV_MAX_RECORD_SIZE') {
      throw new ParseStop(
        `line ${line}: a row longer than ${MAX_RECORD_BYTES / 1024 / 1024} MiB (a quote that is never closed?); the rest of the file cannot be read`,
      );
    }
    if (code === 'CSV_INVALID_CLOSING_QUOTE') {
      throw new ParseStop(
        `line ${line}: a closing quote not followed by a delimiter or the end of the line; the rest of the file cannot be read reliably`,
      );
    }
    throw new FormatError(`line ${line}: ${err.message}`);
  }
}

function noop(): void {}

function count(text: string, what: string): number {
  let n = 0;
  for (let at = text.indexOf(what); at >= 0; at = text.indexOf(what, at + what.length)) n++;
  return n;
}
