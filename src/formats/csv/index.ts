// CSV and TSV files as tables: the header names the columns (or csv.column_names, or column_1 ...), the
// first schema_sample_rows records give each column its type, and every record becomes a row. A record
// with the wrong number of fields is reported by line and skipped; a value that does not fit its column
// is reported and delivered as null. Unquoted values in csv.null_values are null; a quoted empty field
// ("") is an empty string in a text column (null in any other).
import { Schema } from 'apache-arrow';
import type { ResolvedSpec } from '../../spec.js';
import type { CsvOptions } from '../../spec-csv.js';
import type { BatchBuilder } from '../../formats/text/batch.js';
import type { BoolWords } from '../text/columns.js';
import { classifyText, ColumnGuesses, inferredField } from '../text/infer.js';
import { mismatchMessage, type Problems } from '../text/problems.js';
import { textFormat, type ByteSink, type Sampler } from '../text/reader.js';
import type { FileFormat } from '../types.js';
import { columnNames } from './header.js';
import { CsvInput } from './input.js';
import { CsvRecords, type CsvSyntax, type RecordSink } from './records.js';

export function createCsvFormat(spec: ResolvedSpec, name: 'csv' | 'tsv'): FileFormat {
  const csv = spec.csv;
  const syntax: CsvSyntax = {
    delimiter: csv.delimiter ?? (name === 'tsv' ? '\t' : ','),
    quote: csv.quote,
    escape: csv.escape,
    comment: csv.comment,
  };
  const cells = new CellRules(csv);
  const { sampleRows, inferTypes } = spec.inference;
  return textFormat({
    name,
    words: cells.words,
    sampler: () => new CsvSampler(csv, syntax, cells, sampleRows, inferTypes),
    reader: (schema, batches, problems) => new CsvReader(csv, syntax, cells, schema, batches, problems),
  });
}

/** How cells read: which are null, which spell booleans. */
class CellRules {
  readonly words: BoolWords;
  readonly booleans: ReadonlySet<string>;
  private readonly nulls: ReadonlySet<string>;
  /** Whether an empty field is null (it is in null_values). */
  readonly emptyIsNull: boolean;

  constructor(csv: CsvOptions) {
    this.words = { trueValues: new Set(csv.trueValues), falseValues: new Set(csv.falseValues) };
    this.booleans = new Set([...csv.trueValues, ...csv.falseValues]);
    this.nulls = new Set(csv.nullValues.filter((v) => v !== ''));
    this.emptyIsNull = csv.nullValues.includes('');
  }

  /** Whether a non-empty cell is null. */
  isNull(text: string): boolean {
    return this.nulls.size > 0 && this.nulls.has(text);
  }
}

/** Feeds decompressed bytes through the input filter and the parser to a record sink. */
function pipeline(csv: CsvOptions, syntax: CsvSyntax, strict: boolean, sink: RecordSink & { problem(what: string): void }): ByteSink {
  const records = new CsvRecords(syntax, csv.skipRows, sink);
  const input = new CsvInput(
    { encoding: csv.encoding, skipRows: csv.skipRows, strict, problem: (what) => sink.problem(`near line ${records.line}: ${what}`) },
    (bytes) => records.write(bytes),
  );
  return {
    write: (chunk) => input.write(chunk),
    end: () => {
      input.end();
      records.end();
    },
  };
}

class CsvSampler implements Sampler, RecordSink {
  private readonly guesses = new ColumnGuesses();
  private readonly input: ByteSink;
  private names: string[] | undefined;
  rows = 0;

  constructor(
    private readonly csv: CsvOptions,
    syntax: CsvSyntax,
    private readonly cells: CellRules,
    private readonly sampleRows: number,
    private readonly inferTypes: boolean,
  ) {
    this.input = pipeline(csv, syntax, true, this);
  }

  get full(): boolean {
    return this.rows >= this.sampleRows;
  }

  write(chunk: Uint8Array): void {
    this.input.write(chunk);
  }

  end(): void {
    this.input.end();
  }

  record(fields: string[], quoted: readonly boolean[]): void {
    if (!this.names) {
      this.names = columnNames(fields, this.csv.header, this.csv.columnNames);
      for (const name of this.names) this.guesses.column(name);
      if (this.csv.header) return;
    }
    // Past the sample (the rest of the chunk) or malformed: not part of the inference.
    if (this.full || fields.length !== this.names.length) return;
    this.rows++;
    if (!this.inferTypes) return;
    for (let i = 0; i < fields.length; i++) {
      const text = fields[i]!;
      if (text.length === 0 ? this.cells.emptyIsNull || quoted[i] : this.cells.isNull(text)) continue;
      this.guesses.observe(i, classifyText(text, this.cells.booleans));
    }
  }

  malformed(): void {}
  problem(): void {}

  schema(): Schema {
    if (this.inferTypes) return this.guesses.schema();
    return new Schema(this.guesses.names.map((name) => inferredField(name, 'utf8')));
  }
}

class CsvReader implements ByteSink, RecordSink {
  private readonly input: ByteSink;
  private readonly names: string[];
  private readonly text: boolean[];
  private headerSeen: boolean;

  constructor(
    csv: CsvOptions,
    syntax: CsvSyntax,
    private readonly cells: CellRules,
    schema: Schema,
    private readonly batches: BatchBuilder,
    private readonly problems: Problems,
  ) {
    this.names = schema.fields.map((f) => f.name);
    this.text = batches.types.map((t) => t === 'utf8' || t === 'null');
    this.headerSeen = !csv.header;
    this.input = pipeline(csv, syntax, false, this);
  }

  write(chunk: Uint8Array): void {
    this.input.write(chunk);
  }

  end(): void {
    this.input.end();
  }

  record(fields: string[], quoted: readonly boolean[], line: number): void {
    if (!this.headerSeen) {
      this.headerSeen = true;
      return;
    }
    if (fields.length !== this.names.length) {
      this.problems.add(`line ${line}: ${fields.length} fields where the header has ${this.names.length}; row skipped`);
      return;
    }
    const { batches, cells } = this;
    batches.startRow();
    const columns = batches.columns;
    for (let i = 0; i < fields.length; i++) {
      const text = fields[i]!;
      const column = columns[i]!;
      // An empty field is null, except a quoted one ("") in a text column: that is the empty string.
      if (text.length === 0 ? cells.emptyIsNull && !(quoted[i] && this.text[i]) : cells.isNull(text)) column.appendNull();
      else if (!column.appendText(text)) this.mismatch(i, text, line);
    }
    batches.endRow();
  }

  private mismatch(column: number, text: string, line: number): void {
    this.batches.columns[column]!.appendNull();
    this.problems.add(mismatchMessage(`line ${line}`, this.names[column]!, this.batches.types[column]!, text));
  }

  malformed(message: string): void {
    this.problems.add(message);
  }

  problem(what: string): void {
    this.problems.add(what);
  }
}
