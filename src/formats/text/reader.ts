// A text format (CSV, TSV, JSON Lines, JSON) as a FileFormat. open() reads the file's first rows (only
// as many ranged GETs as they need: the byte stream is closed as soon as the sample is complete) and
// infers the schema; batches() streams the whole file from its start and builds Arrow batches of
// exactly that schema. A format supplies two byte consumers: a sampler and a row reader.
import type { RecordBatch, Schema } from 'apache-arrow';
import { FormatError } from '../../errors.js';
import type { ByteSource } from '../../store/types.js';
import type { BatchOptions, FileFormat, FileReader, OpenOptions } from '../types.js';
import { BatchBuilder } from './batch.js';
import { decompressedBytes } from './byte-stream.js';
import type { BoolWords } from './columns.js';
import { Problems } from './problems.js';

/** Takes a file's decompressed bytes in order. Throws FormatError when they are not the format. */
export interface ByteSink {
  write(chunk: Uint8Array): void;
  /** The end of the file. */
  end(): void;
}

/**
 * A parser's word that it cannot go on from here (a quote never closed, a line over the size bound, a
 * truncated record): the rows before are good. Read past the sample, the file fails after them; in the
 * sample, the schema comes from the rows before it, so that those rows are still delivered.
 */
export class ParseStop extends FormatError {}

export interface Sampler extends ByteSink {
  /** Enough rows are sampled: no more bytes are needed. */
  readonly full: boolean;
  /** Rows sampled so far. */
  readonly rows: number;
  /** The schema inferred from the rows seen (after `full` or `end()`). */
  schema(): Schema;
}

export interface TextFormatParts {
  name: string;
  /** How CSV cells spell booleans (JSON has its own literals). */
  words: BoolWords;
  sampler(): Sampler;
  /** A consumer appending the file's rows to `batches` and its problems to `problems`. */
  reader(schema: Schema, batches: BatchBuilder, problems: Problems): ByteSink;
}

export function textFormat(parts: TextFormatParts): FileFormat {
  return {
    name: parts.name,
    open: (source, options) => openText(parts, source, options),
  };
}

async function openText(parts: TextFormatParts, source: ByteSource, options: OpenOptions): Promise<FileReader> {
  const stream = () =>
    decompressedBytes(source, { compression: options.compression ?? 'none', budget: options.budget, signal: options.signal });
  const sampler = parts.sampler();
  try {
    // Leaving the loop early closes the stream: no GET past the bytes the sample needed.
    for await (const chunk of stream()) if (sampled(sampler, chunk)) break;
    if (!sampler.full) sampler.end();
  } catch (err) {
    if (!(err instanceof ParseStop && sampler.rows > 0)) throw err;
  }
  const schema = sampler.schema();
  return {
    schema,
    numRows: undefined,
    batches: (batchOptions) => readBatches(parts, schema, stream, { ...batchOptions, signal: batchOptions.signal ?? options.signal }),
    close: () => {},
  };
}

/** The sampler is fed slices of a chunk, so that it parses little more than the sample (a chunk is 4 MiB). */
const SAMPLE_SLICE_BYTES = 64 * 1024;

/** Feeds `chunk` to the sampler until it is full; true once it is. */
function sampled(sampler: Sampler, chunk: Uint8Array): boolean {
  for (let at = 0; at < chunk.length && !sampler.full; at += SAMPLE_SLICE_BYTES) {
    sampler.write(chunk.subarray(at, at + SAMPLE_SLICE_BYTES));
  }
  return sampler.full;
}

async function* readBatches(
  parts: TextFormatParts,
  schema: Schema,
  stream: () => AsyncGenerator<Uint8Array>,
  options: BatchOptions,
): AsyncGenerator<RecordBatch> {
  const problems = new Problems(options.report);
  const batches = new BatchBuilder(schema, options, parts.words);
  const reader = parts.reader(schema, batches, problems);
  try {
    for await (const chunk of stream()) {
      options.signal?.throwIfAborted();
      reader.write(chunk);
      yield* batches.take();
    }
    reader.end();
  } catch (err) {
    if (!(err instanceof FormatError)) throw err;
    // The rows before the failure are good: they go out, then the failure (with the problems' total).
    batches.flush();
    yield* batches.take();
    throw new FormatError(`${err.message}${problems.suffix()}`);
  }
  // The closing total goes out with the last batch (problems are sent after each batch).
  problems.finish();
  batches.flush();
  yield* batches.take();
}
