// Avro object container files as a FileFormat. open() reads the header with a ranged GET of the file's
// start (more when the header is larger) and maps the writer schema to the file's Arrow schema; the
// row count is not known without reading every block, so it is left undefined. batches() streams the
// blocks front to back in ranged GETs of a few MiB (blocks.ts), decompresses each, and decodes its
// records with avsc into Arrow columns (decode.ts). Each file's own writer schema gives its Arrow
// schema; the catalog merges the files of a table (no reader-schema resolution).
import { errorMessage, FormatError } from '../../errors.js';
import type { ResolvedSpec } from '../../spec.js';
import type { ByteSource } from '../../store/types.js';
import type { BatchOptions, FileFormat, FileReader, OpenOptions } from '../types.js';
import { fileColumns, type AvscType } from './arrow-types.js';
import { decodingType } from './avsc-types.js';
import { BlockBytes } from './block-bytes.js';
import { readBlocks, type BlockOptions } from './blocks.js';
import { readHeader, type Header } from './container.js';
import type { CellIssues } from './columns.js';
import { decodeBlocks } from './decode.js';
import { minEncodedBytes, parseAvroSchema, type AvroNode } from './schema.js';

/** Messages about single values (a string that is not a UUID, a decimal wider than declared) per file. */
export const MAX_VALUE_REPORTS = 100;

export function createAvroFormat(_spec: ResolvedSpec): FileFormat {
  return { name: 'avro', open: openAvro };
}

export async function openAvro(source: ByteSource, options: OpenOptions, blockOptions: Partial<BlockOptions> = {}): Promise<FileReader> {
  const header = await readHeader(source, options.signal);
  const { node, json } = parseAvroSchema(header.schema);
  let columns: ReturnType<typeof fileColumns>;
  try {
    columns = fileColumns(node, decodingType(json) as unknown as AvscType);
  } catch (err) {
    throw new FormatError(`the Avro schema cannot be used: ${errorMessage(err)}`);
  }
  const file = { source, header, node, columns, budget: options.budget, blockOptions };
  return {
    schema: columns.schema,
    batches: (batchOptions) => readBatches(file, { ...batchOptions, signal: batchOptions.signal ?? options.signal }),
    close: () => {},
  };
}

interface OpenFile {
  source: ByteSource;
  header: Header;
  node: AvroNode;
  columns: ReturnType<typeof fileColumns>;
  budget: OpenOptions['budget'];
  blockOptions: Partial<BlockOptions>;
}

async function* readBatches(file: OpenFile, options: BatchOptions): ReturnType<FileReader['batches']> {
  const issues = new ValueIssues(options.report);
  const block = new BlockBytes();
  const blocks = readBlocks(file.source, file.header, { budget: file.budget, signal: options.signal, ...file.blockOptions });
  yield* decodeBlocks(blocks, {
    block,
    columns: file.columns.make({ block, issues }),
    minRecordBytes: minEncodedBytes(file.node),
    maxRows: options.maxRows,
    rowMultiple: options.rowMultiple,
    atRecord: (record) => (issues.record = record),
  });
  issues.summarize();
}

/** Values delivered null because they do not fit their column: the first 100 reported, then a count. */
class ValueIssues implements CellIssues {
  record = 0;
  private count = 0;

  constructor(private readonly send?: (message: string) => void) {}

  report(column: string, message: string): void {
    if (++this.count <= MAX_VALUE_REPORTS) this.send?.(`record ${this.record + 1}, column "${column}": ${message}`);
  }

  summarize(): void {
    if (this.count > MAX_VALUE_REPORTS) {
      this.send?.(`${this.count} values in all were delivered as null (only the first ${MAX_VALUE_REPORTS} are reported)`);
    }
  }
}
