// Parquet as a FileFormat: the footer first (one ranged GET of the tail, usually), then one row group
// at a time, fetched whole in JavaScript (a small one in one GET, the next one prefetched while the
// current one decodes; a large one column chunk by column chunk) and decoded in a worker thread
// (decoder.ts) from the bytes handed to it. A read that fails after retries fails the file before any
// row of that row group is emitted, and the budget bounds the row groups held at once across every file.
import type { RecordBatch } from 'apache-arrow';
import type { ByteSource } from '../../store/types.js';
import type { ByteBudget } from '../../util/byte-budget.js';
import type { BatchOptions, FileFormat, FileReader, OpenOptions } from '../types.js';
import { openDecoder, type DecoderFile, type GroupShape } from './decoder.js';
import { checkFooter, readFooter, type RowGroupRange, type Segment } from './footer.js';
import { columnwiseNames } from './join-columns.js';
import { SchemaShapes } from './schema-shapes.js';
import { checkFetchedPages } from './page-headers.js';
import { mapLimit } from '../../util/limit.js';

/**
 * A row group is charged DECODE_FOOTPRINT times its compressed size against the budget: the decoder
 * (in its worker) holds about four times the compressed bytes in WebAssembly memory while it decodes,
 * plus the fetched bytes themselves.
 */
const DECODE_FOOTPRINT = 5;
/** The next row group is prefetched while the current one decodes only up to this size. */
const PREFETCH_MAX_BYTES = 16 * 1024 * 1024;
/** Decoded bytes per batch (estimated from the footer): memory grows with bytes, not rows. 2 MiB measured
 * better than 8 MiB on both peak RSS (381 vs 423 MB on a 1 GB file) and throughput. */
const TARGET_BATCH_BYTES = 2 * 1024 * 1024;
/** A batch is cut off a multiple of rowMultiple when a multiple would decode more than this (the record encoder cuts by bytes anyway). */
const HARD_CAP_BYTES = 64 * 1024 * 1024;
/**
 * Decoded bytes of a span: the decoder holds one span of a row group decoded at once (decode-worker.ts)
 * and copies the group's compressed bytes in again for each span.
 */
const SPAN_BYTES = 32 * 1024 * 1024;
/** A row group larger than this (compressed) is decoded one column at a time: the decoder holds one column chunk, not all. */
const COLUMNWISE_ABOVE_BYTES = 16 * 1024 * 1024;

/** Estimated bytes of one checked row-group range (offsets, sizes and its column chunks). */
const RANGE_BYTES = 512;

const knownSchemas = new SchemaShapes();

export const parquetFormat: FileFormat = { name: 'parquet', open: openParquet };

/** Reads the footer and returns the file's Arrow schema, sizes, and a reader of its batches. */
export async function openParquet(source: ByteSource, options: OpenOptions): Promise<FileReader & { numRows: number }> {
  const footer = await readFooter(source, options.signal);
  const { ranges, numRows, shape } = checkFooter(footer, source.size);
  // A file shaped like one opened before: its schema is known without a decoder job (many small files).
  const known = knownSchemas.get(shape);
  const file = await openDecoder(source, footer, options.signal, known && { schema: known, numRows });
  if (!known) knownSchemas.set(shape, file.schema);
  const reader = { source, ranges, file, budget: options.budget, columns: columnwiseNames(file.schema) };
  return {
    schema: file.schema,
    numRows: file.numRows,
    // The footer bytes, twice (here and the copy each decoder job is sent), and the row-group ranges.
    heldBytes: 2 * footer.bytes.byteLength + RANGE_BYTES * ranges.length,
    batches: (batchOptions) => readBatches(reader, { ...batchOptions, signal: batchOptions.signal ?? options.signal }),
    // The main thread holds nothing of the file; a worker drops its parsed footer when files newer
    // than it need the room.
    close: () => {},
  };
}

interface OpenFile {
  source: ByteSource;
  ranges: RowGroupRange[];
  file: DecoderFile;
  budget: ByteBudget;
  /** The columns a large row group is decoded by, when the schema allows it. */
  columns?: string[];
}

interface FetchedGroup {
  /** The row group's bytes: one buffer, or one per column chunk (see columnChunkRanges). */
  segments: Segment[];
  release: () => void;
}

/** Column chunks of a large row group are read this many at a time. */
const CHUNK_READS_AT_ONCE = 4;

async function fetchGroup(open: OpenFile, index: number, signal?: AbortSignal): Promise<FetchedGroup> {
  const range = open.ranges[index]!;
  const { start, end } = range;
  const release = await open.budget.acquire(DECODE_FOOTPRINT * (end - start), signal);
  try {
    const chunks = columnwise(open, range) ? columnChunkRanges(range) : undefined;
    const parts = chunks ?? [{ start, end }];
    const segments = await mapLimit(parts, CHUNK_READS_AT_ONCE, async (part) => ({
      start: part.start,
      bytes: await open.source.read(part.start, part.end, signal),
    }));
    // Every page header is checked (sizes, CRCs) before a byte of the row group reaches the decoder.
    checkFetchedPages(segments, range, { maxPageBytes: open.budget.capacity });
    return { segments, release };
  } catch (err) {
    release();
    throw err;
  }
}

/** Whether a row group is decoded one column at a time: a large one, when the schema allows it. */
function columnwise(open: OpenFile, range: RowGroupRange): boolean {
  return open.columns !== undefined && range.end - range.start > COLUMNWISE_ABOVE_BYTES;
}

async function* readBatches(open: OpenFile, options: BatchOptions): AsyncGenerator<RecordBatch> {
  const { ranges, file } = open;
  const { signal } = options;
  let next = ranges.length > 0 ? fetchGroup(open, 0, signal) : undefined;
  try {
    for (let index = 0; index < ranges.length; index++) {
      const { segments, release } = await next!;
      const hasNext = index + 1 < ranges.length;
      const small = hasNext && ranges[index + 1]!.end - ranges[index + 1]!.start <= PREFETCH_MAX_BYTES;
      next = small ? fetchGroup(open, index + 1, signal) : undefined;
      // A prefetch that fails while this group decodes is reported when its turn comes.
      next?.catch(() => {});
      try {
        // The bytes are moved to the decoder; the budget is released once it has decoded them.
        const range = ranges[index]!;
        const shape = groupShape(range, options.maxRows, options.rowMultiple);
        if (columnwise(open, range)) shape.columns = open.columns;
        yield* file.rowGroup(index, segments, shape, signal);
        // A large next row group is fetched only once this one is decoded: two at once cost too much.
        if (hasNext && !next) next = fetchGroup(open, index + 1, signal);
      } finally {
        release();
      }
    }
  } finally {
    // Abandoned early (error, cancel): let a pending prefetch release its budget.
    next?.then(
      ({ release }) => release(),
      () => {},
    );
  }
}

/**
 * The byte ranges of a row group's column chunks in file order, for a decoder that reads it column by
 * column (whole rows, it asks for the whole group at once): each chunk is read into a buffer of its
 * own, lent to the decoder as it is and freed once read for the last time, instead of copied out of
 * the group for every read (see decode-worker.ts). Reading the chunks one by one, rather than the group
 * in one GET and split, never holds the group twice. Undefined when chunks overlap (one buffer must
 * then serve them all).
 */
export function columnChunkRanges(range: RowGroupRange): { start: number; end: number }[] | undefined {
  const chunks = [...range.chunks].sort((a, b) => a.start - b.start);
  let end = range.start;
  for (const chunk of chunks) {
    if (chunk.start < end) return undefined;
    end = chunk.end;
  }
  return chunks.filter((chunk) => chunk.end > chunk.start).map(({ start, end }) => ({ start, end }));
}

/** A row group's batch and span sizes (see groupBatchSize and SPAN_BYTES). */
export function groupShape(group: { rows: number; bytes: number }, batchSize: number, rowMultiple: number): GroupShape {
  const size = groupBatchSize(group, batchSize, rowMultiple);
  if (!(group.rows > 0 && group.bytes > 0)) return { batchSize: size };
  const spanBatches = Math.max(1, Math.floor(SPAN_BYTES / (group.bytes / group.rows) / size));
  return { batchSize: size, rows: group.rows, spanRows: spanBatches * size };
}

/**
 * At most `batchSize` rows and about TARGET_BATCH_BYTES decoded, in multiples of `rowMultiple` unless
 * one multiple would decode more than HARD_CAP_BYTES.
 */
export function groupBatchSize(group: { rows: number; bytes: number }, batchSize: number, rowMultiple: number): number {
  if (!(group.rows > 0 && group.bytes > 0)) return batchSize;
  const rowBytes = group.bytes / group.rows;
  const rowsForBytes = TARGET_BATCH_BYTES / rowBytes;
  const multiple = Math.max(1, rowMultiple);
  if (multiple * rowBytes > HARD_CAP_BYTES) return Math.max(1, Math.min(batchSize, Math.floor(rowsForBytes)));
  return Math.max(multiple, Math.min(batchSize, Math.floor(rowsForBytes / multiple) * multiple));
}
