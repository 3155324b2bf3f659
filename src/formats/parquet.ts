// Parquet through parquet-wasm (Rust's arrow/parquet crates compiled to WebAssembly): the footer and
// then row groups are fetched with ranged reads of a ByteSource, never the whole object, and decoded
// into apache-arrow RecordBatches.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { RecordBatchReader, type RecordBatch, type Schema } from 'apache-arrow';
import * as wasm from 'parquet-wasm/esm';
import type { ByteSource } from '../store/types.js';

let initialized = false;

/** Loads the WebAssembly module once, lazily, so serving GetName never waits for it. */
function ensureWasm(): void {
  if (initialized) return;
  wasm.initSync({ module: readFileSync(wasmPath()) });
  initialized = true;
}

function wasmPath(): string {
  // In the bundle the .wasm sits beside main.js; from sources it comes from node_modules.
  const beside = new URL('./parquet_wasm_bg.wasm', import.meta.url);
  try {
    readFileSync(beside, { flag: 'r' }).byteLength;
    return fileURLToPath(beside);
  } catch {
    return createRequire(import.meta.url).resolve('parquet-wasm/esm/parquet_wasm_bg.wasm');
  }
}

/** What parquet-wasm needs of a Blob: a size and slices that can produce their bytes. */
function asBlob(source: ByteSource, signal?: AbortSignal) {
  const slice = (start = 0, end = source.size) => ({
    size: end - start,
    arrayBuffer: async () => {
      const bytes = await source.read(start, Math.min(end, source.size), signal);
      return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
        ? bytes.buffer
        : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    },
  });
  return { size: source.size, type: '', slice };
}

export interface ParquetFooter {
  schema: Schema;
  numRows: number;
  numRowGroups: number;
}

export interface OpenParquet extends ParquetFooter {
  /** Decoded batches of at most `batchSize` rows, row group after row group. */
  batches(batchSize: number, signal?: AbortSignal): AsyncGenerator<RecordBatch>;
  close(): void;
}

export class ParquetFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParquetFormatError';
  }
}

function wasmMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Reads the footer (two small ranged reads) and returns the file's Arrow schema and sizes. */
export async function openParquet(source: ByteSource, signal?: AbortSignal): Promise<OpenParquet> {
  ensureWasm();
  if (source.size < 12) throw new ParquetFormatError(`not a Parquet file: only ${source.size} bytes`);
  let file: wasm.ParquetFile;
  try {
    file = await wasm.ParquetFile.fromFile(asBlob(source, signal) as unknown as Blob);
  } catch (err) {
    throw rethrow(err);
  }
  try {
    const meta = file.metadata();
    const numRowGroups = meta.numRowGroups();
    const numRows = meta.fileMetadata().numRows();
    const schema = decodeSchema(file.schema().intoIPCStream());
    return {
      schema,
      numRows,
      numRowGroups,
      batches: (batchSize, batchSignal) => readBatches(file, batchSize, batchSignal ?? signal),
      close: () => file.free(),
    };
  } catch (err) {
    file.free();
    throw rethrow(err);
  }
}

function rethrow(err: unknown): Error {
  // Errors thrown by our own ByteSource (S3 failures, changed objects) pass through untouched.
  if (err instanceof Error && err.name !== 'Error' && err.name !== 'RuntimeError') return err;
  return new ParquetFormatError(`not a readable Parquet file: ${wasmMessage(err)}`);
}

function decodeSchema(ipc: Uint8Array): Schema {
  const reader = RecordBatchReader.from(ipc);
  reader.open();
  return reader.schema;
}

async function* readBatches(file: wasm.ParquetFile, batchSize: number, signal?: AbortSignal): AsyncGenerator<RecordBatch> {
  let stream: ReadableStream<wasm.RecordBatch>;
  try {
    stream = await file.stream({ batchSize, concurrency: 1 });
  } catch (err) {
    throw rethrow(err);
  }
  const reader = stream.getReader();
  try {
    while (true) {
      signal?.throwIfAborted();
      let next: ReadableStreamReadResult<wasm.RecordBatch>;
      try {
        next = await reader.read();
      } catch (err) {
        throw rethrow(err);
      }
      if (next.done) return;
      const ipc = next.value.intoIPCStream();
      for (const batch of RecordBatchReader.from(ipc)) yield batch;
    }
  } finally {
    await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
