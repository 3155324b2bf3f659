// JSON Lines (one object a line) and JSON (one array of objects, or objects one after another) files as
// tables: top-level keys are columns, in the order the sample first shows them; nested objects and
// arrays are CloudQuery's JSON type (their exact text); numbers keep their exact digits. A line or
// record that is not a valid JSON object is reported and skipped; a file whose sample holds no valid
// object at all is not JSON and fails at open.
import { isUtf8 } from 'node:buffer';
import type { Schema } from 'apache-arrow';
import { FormatError } from '../../errors.js';
import type { ResolvedSpec } from '../../spec.js';
import type { BatchBuilder } from '../text/batch.js';
import type { Problems } from '../text/problems.js';
import { textFormat, type ByteSink, type Sampler } from '../text/reader.js';
import type { FileFormat } from '../types.js';
import { RecordSplitter } from './array.js';
import { LineSplitter } from './lines.js';
import { describe, JsonGuesses, JsonRowWriter, type Position } from './rows.js';
import { JsonSyntaxError } from './scanner.js';

type Kind = 'jsonl' | 'json';

export function createJsonFormat(spec: ResolvedSpec, name: Kind): FileFormat {
  const { sampleRows, inferTypes } = spec.inference;
  return textFormat({
    name,
    words: { trueValues: new Set(), falseValues: new Set() },
    sampler: () => new JsonSampler(name, sampleRows, inferTypes),
    reader: (schema, batches, problems) => jsonReader(name, schema, batches, problems, sampleRows),
  });
}

/** Objects to a row handler: `object` gets each one's text, `bad` each that is not a JSON object. */
interface ObjectSink {
  object(src: string, start: number, end: number, position: Position, ascii: Buffer | undefined, noBackslash: boolean): void;
  /** Not a JSON object (the message says why and where). */
  bad(message: string): void;
  /** Not UTF-8. */
  notText(message: string): void;
  problem(message: string): void;
}

/** The format's splitter (lines or records) feeding an ObjectSink. */
function splitter(kind: Kind, sink: ObjectSink): ByteSink {
  const records = kind === 'json';
  const where = (position: Position) => describe(position, records);
  const scan = (src: string, start: number, end: number, position: Position, ascii: Buffer | undefined, noBackslash: boolean) => {
    try {
      sink.object(src, start, end, position, ascii, noBackslash);
    } catch (err) {
      if (!(err instanceof JsonSyntaxError)) throw err;
      sink.bad(`${where(position)}: ${err.message}; ${records ? 'record' : 'line'} skipped`);
    }
  };
  const invalid = (position: Position) => sink.notText(`${where(position)}: not valid UTF-8; ${records ? 'record' : 'line'} skipped`);
  if (!records) return new LineSplitter({ line: scan, invalid });
  const record = (bytes: Buffer, position: Position) => {
    if (!isUtf8(bytes)) return invalid(position);
    const text = bytes.toString('utf8');
    scan(text, 0, text.length, position, text.length === bytes.length ? bytes : undefined, bytes.indexOf(92) < 0);
  };
  return new RecordSplitter({ record, problem: (message) => sink.problem(message) });
}

class JsonSampler implements Sampler, ObjectSink {
  private readonly objects: JsonGuesses;
  private readonly input: ByteSink;
  private bads = 0;
  private firstBad = '';

  constructor(
    private readonly kind: Kind,
    private readonly sampleRows: number,
    inferTypes: boolean,
  ) {
    this.objects = new JsonGuesses(inferTypes, kind === 'json');
    this.input = splitter(kind, this);
  }

  get full(): boolean {
    return this.objects.rows >= this.sampleRows;
  }

  get rows(): number {
    return this.objects.rows;
  }

  write(chunk: Uint8Array): void {
    if (chunk.includes(0)) throw new FormatError('not a text file: a NUL byte near its start');
    this.input.write(chunk);
  }

  end(): void {
    this.input.end();
  }

  object(src: string, start: number, end: number, position: Position, ascii: Buffer | undefined, noBackslash: boolean): void {
    // Past the sample (the rest of the chunk): not part of the inference.
    if (!this.full) this.objects.scan(src, start, end, position, ascii, noBackslash);
  }

  bad(message: string): void {
    if (this.bads++ === 0) this.firstBad = message.replace(/; \w+ skipped$/, '');
  }

  notText(message: string): never {
    throw new FormatError(`not UTF-8 text: ${message.replace(/; \w+ skipped$/, '')}`);
  }

  problem(): void {}

  schema(): Schema {
    if (this.objects.rows === 0 && this.bads > 0) {
      throw new FormatError(
        `not ${this.kind === 'json' ? 'JSON' : 'JSON Lines'}: no valid JSON object in the first rows (${this.firstBad})`,
      );
    }
    return this.objects.guesses.schema();
  }
}

function jsonReader(kind: Kind, schema: Schema, batches: BatchBuilder, problems: Problems, sampleRows: number): ByteSink {
  const names = schema.fields.map((f) => f.name);
  const rows = new JsonRowWriter(names, kind === 'json', batches, problems, sampleRows);
  return splitter(kind, {
    object: (src, start, end, position, ascii, noBackslash) => rows.scan(src, start, end, position, ascii, noBackslash),
    bad: (message) => problems.add(message),
    notText: (message) => problems.add(message),
    problem: (message) => problems.add(message),
  });
}
