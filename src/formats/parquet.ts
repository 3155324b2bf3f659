// Parquet through parquet-wasm (Rust's arrow/parquet crates compiled to WebAssembly), decoded into
// apache-arrow RecordBatches. Bytes are fetched here, in JavaScript, with ranged reads: first the
// footer, then one row group at a time (the next one prefetched while the current one decodes).
// The decoder only ever reads bytes already in memory, because parquet-wasm cannot survive a failed
// read (it panics, which would poison the module). So a read that fails after retries fails the file
// before any row of that row group is emitted, and memory holds at most a budget of row groups.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { RecordBatchReader, type RecordBatch, type Schema } from 'apache-arrow';
import { parquetMetadata } from 'hyparquet';
import * as wasm from 'parquet-wasm/esm';
import type { ByteSource } from '../store/types.js';
import { ByteBudget } from '../util/byte-budget.js';

/**
 * Memory for row groups being fetched and decoded, across every file being read. A row group is
 * charged DECODE_FOOTPRINT times its compressed size: the decoder holds about four times the
 * compressed bytes in WebAssembly memory while it decodes, plus the fetched bytes themselves.
 */
export const ROW_GROUP_BUDGET = new ByteBudget(256 * 1024 * 1024);
const DECODE_FOOTPRINT = 5;
/** The next row group is prefetched while the current one decodes only up to this size. */
const PREFETCH_MAX_BYTES = 16 * 1024 * 1024;
/** Decoded bytes per batch (estimated from the footer): memory grows with bytes, not rows. 2 MiB measured
 * better than 8 MiB on both peak RSS (381 vs 423 MB on a 1 GB file) and throughput. */
const TARGET_BATCH_BYTES = 2 * 1024 * 1024;
/** Bytes read from the end of a file in one request: usually the whole footer. */
export const FOOTER_PREFETCH = 64 * 1024;

let initialized = false;

/** Loads the WebAssembly module once, lazily, so serving GetName never waits for it. */
function ensureWasm(): void {
  if (initialized) return;
  wasm.initSync({ module: readFileSync(wasmPath()) });
  initialized = true;
}

function wasmPath(): string {
  // In the bundle the .wasm sits in dist/, beside main.js, one level above the chunk holding this
  // code; from sources it comes from node_modules.
  for (const relative of ['../parquet_wasm_bg.wasm', './parquet_wasm_bg.wasm']) {
    const candidate = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(candidate)) return candidate;
  }
  return createRequire(import.meta.url).resolve('parquet-wasm/esm/parquet_wasm_bg.wasm');
}

export class ParquetFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParquetFormatError';
  }
}

export interface OpenParquet {
  schema: Schema;
  numRows: number;
  numRowGroups: number;
  /**
   * Decoded batches of at most `batchSize` rows (fewer for wide rows, in multiples of `rowMultiple`),
   * row group after row group.
   */
  batches(batchSize: number, signal?: AbortSignal, rowMultiple?: number): AsyncGenerator<RecordBatch>;
  close(): void;
}

interface Segment {
  start: number;
  bytes: Uint8Array;
}

/** Byte ranges in memory, served to the decoder as if they were the file. */
class Segments {
  private readonly list: Segment[] = [];
  /** A read the plan did not foresee and that failed: reported after decoding. */
  failure: unknown;

  constructor(private readonly source: ByteSource) {}

  add(segment: Segment): void {
    this.list.push(segment);
  }

  remove(segment: Segment): void {
    const index = this.list.indexOf(segment);
    if (index >= 0) this.list.splice(index, 1);
  }

  /** What parquet-wasm needs of a Blob: a size and slices that produce their bytes. */
  blob() {
    const slice = (start = 0, end = this.source.size) => ({
      size: end - start,
      arrayBuffer: () => this.bytes(start, Math.min(end, this.source.size)),
    });
    return { size: this.source.size, type: '', slice };
  }

  private async bytes(start: number, end: number): Promise<ArrayBuffer> {
    for (const s of this.list) {
      if (start >= s.start && end <= s.start + s.bytes.byteLength) {
        const whole = start === s.start && end === s.start + s.bytes.byteLength;
        if (whole && s.bytes.byteOffset === 0 && s.bytes.buffer.byteLength === s.bytes.byteLength) {
          // The decoder asks for a whole row group once and copies it into its own memory: hand
          // the buffer over instead of a copy, and let it go.
          this.remove(s);
          return s.bytes.buffer as ArrayBuffer;
        }
        return copy(s.bytes.subarray(start - s.start, end - s.start));
      }
    }
    // Not foreseen by the plan: read it now, and never let the decoder see a failure.
    try {
      return copy(await this.source.read(start, end));
    } catch (err) {
      this.failure ??= err;
      return new ArrayBuffer(end - start);
    }
  }
}

function copy(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Reads the footer bytes: the prefetched tail, plus the rest of the metadata when it is larger. */
async function readFooter(source: ByteSource, signal?: AbortSignal): Promise<Segment> {
  if (source.size < 12) throw new ParquetFormatError(`not a Parquet file: only ${source.size} bytes`);
  const tailStart = Math.max(0, source.size - FOOTER_PREFETCH);
  const tail = await source.read(tailStart, source.size, signal);
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  if (view.getUint32(tail.byteLength - 4, true) !== 0x31524150)
    throw new ParquetFormatError('not a Parquet file: no PAR1 magic at the end');
  const metadataLength = view.getUint32(tail.byteLength - 8, true);
  const footerStart = source.size - 8 - metadataLength;
  if (footerStart < 4) throw new ParquetFormatError(`not a Parquet file: footer length ${metadataLength} exceeds the file`);
  if (footerStart >= tailStart) return { start: tailStart, bytes: tail };
  const head = await source.read(footerStart, tailStart, signal);
  const bytes = new Uint8Array(source.size - footerStart);
  bytes.set(head, 0);
  bytes.set(tail, head.byteLength);
  return { start: footerStart, bytes };
}

interface RowGroupRange {
  start: number;
  end: number;
  rows: number;
  /** Uncompressed size, as the footer states it. */
  bytes: number;
}

/** Byte range [start, end) of every row group's column chunks, and its size, from the footer. */
function rowGroupRanges(footer: Segment): RowGroupRange[] {
  const meta = parquetMetadata(footer.bytes);
  return meta.row_groups.map((group) => {
    const rows = Number(group.num_rows);
    const bytes = Number(group.total_byte_size);
    let start = Infinity;
    let end = 0;
    for (const column of group.columns) {
      const m = column.meta_data;
      if (!m) continue;
      const data = Number(m.data_page_offset);
      const dict = m.dictionary_page_offset === undefined ? undefined : Number(m.dictionary_page_offset);
      // Some writers store 0 for "no dictionary page".
      const chunkStart = dict !== undefined && dict > 0 && dict < data ? dict : data;
      start = Math.min(start, chunkStart);
      end = Math.max(end, chunkStart + Number(m.total_compressed_size));
    }
    return start === Infinity ? { start: 0, end: 0, rows, bytes } : { start, end, rows, bytes };
  });
}

/** Reads the footer and returns the file's Arrow schema, sizes, and a reader of its batches. */
export async function openParquet(source: ByteSource, signal?: AbortSignal): Promise<OpenParquet> {
  ensureWasm();
  const footer = await readFooter(source, signal);
  let ranges: RowGroupRange[];
  try {
    ranges = rowGroupRanges(footer);
  } catch (err) {
    throw new ParquetFormatError(`not a readable Parquet file: ${message(err)}`);
  }
  for (const r of ranges) {
    if ((r.start < 4 && r.end > r.start) || r.end > source.size - 8 || r.end < r.start) {
      throw new ParquetFormatError(
        `not a readable Parquet file: a row group's column chunks point outside the data (bytes ${r.start}-${r.end})`,
      );
    }
  }
  const segments = new Segments(source);
  segments.add(footer);
  let file: wasm.ParquetFile;
  try {
    file = await wasm.ParquetFile.fromFile(segments.blob() as unknown as Blob);
  } catch (err) {
    throw new ParquetFormatError(`not a readable Parquet file: ${message(err)}`);
  }
  try {
    const meta = file.metadata();
    const numRows = meta.fileMetadata().numRows();
    const schema = decodeSchema(file.schema().intoIPCStream());
    return {
      schema,
      numRows,
      numRowGroups: ranges.length,
      batches: (batchSize, batchSignal, rowMultiple = 1) =>
        readBatches(file, source, segments, ranges, batchSize, rowMultiple, batchSignal ?? signal),
      close: () => file.free(),
    };
  } catch (err) {
    file.free();
    throw new ParquetFormatError(`not a readable Parquet file: ${message(err)}`);
  }
}

function decodeSchema(ipc: Uint8Array): Schema {
  const reader = RecordBatchReader.from(ipc);
  reader.open();
  return reader.schema;
}

async function* readBatches(
  file: wasm.ParquetFile,
  source: ByteSource,
  segments: Segments,
  ranges: RowGroupRange[],
  batchSize: number,
  rowMultiple: number,
  signal?: AbortSignal,
): AsyncGenerator<RecordBatch> {
  const fetchGroup = async (index: number) => {
    const { start, end } = ranges[index]!;
    const release = await ROW_GROUP_BUDGET.acquire(DECODE_FOOTPRINT * (end - start), signal);
    try {
      return { segment: { start, bytes: await source.read(start, end, signal) }, release };
    } catch (err) {
      release();
      throw err;
    }
  };

  let next = ranges.length > 0 ? fetchGroup(0) : undefined;
  try {
    for (let index = 0; index < ranges.length; index++) {
      const { segment, release } = await next!;
      const hasNext = index + 1 < ranges.length;
      const small = hasNext && ranges[index + 1]!.end - ranges[index + 1]!.start <= PREFETCH_MAX_BYTES;
      next = small ? fetchGroup(index + 1) : undefined;
      // A prefetch that fails while this group decodes is reported when its turn comes.
      next?.catch(() => {});
      segments.add(segment);
      try {
        yield* decodeGroup(file, index, groupBatchSize(ranges[index]!, batchSize, rowMultiple), signal);
        if (segments.failure) throw segments.failure;
        // A large next row group is fetched only once this one is decoded: two at once cost too much.
        if (hasNext && !next) next = fetchGroup(index + 1);
      } finally {
        segments.remove(segment);
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

/** At most `batchSize` rows and about TARGET_BATCH_BYTES decoded, in multiples of `rowMultiple`. */
export function groupBatchSize(group: { rows: number; bytes: number }, batchSize: number, rowMultiple: number): number {
  if (!(group.rows > 0 && group.bytes > 0)) return batchSize;
  const rowsForBytes = TARGET_BATCH_BYTES / (group.bytes / group.rows);
  const multiple = Math.max(1, rowMultiple);
  return Math.max(multiple, Math.min(batchSize, Math.floor(rowsForBytes / multiple) * multiple));
}

async function* decodeGroup(file: wasm.ParquetFile, index: number, batchSize: number, signal?: AbortSignal): AsyncGenerator<RecordBatch> {
  let stream: ReadableStream<wasm.RecordBatch>;
  try {
    stream = await file.stream({ batchSize, rowGroups: [index], concurrency: 1 });
  } catch (err) {
    throw new ParquetFormatError(`row group ${index} cannot be decoded: ${message(err)}`);
  }
  const reader = stream.getReader();
  try {
    while (true) {
      signal?.throwIfAborted();
      let next: ReadableStreamReadResult<wasm.RecordBatch>;
      try {
        next = await reader.read();
      } catch (err) {
        throw new ParquetFormatError(`row group ${index} cannot be decoded: ${message(err)}`);
      }
      if (next.done) return;
      for (const batch of RecordBatchReader.from(next.value.intoIPCStream())) yield batch;
    }
  } finally {
    await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
