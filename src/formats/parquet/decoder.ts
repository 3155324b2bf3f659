// The Parquet decoder: parquet-wasm (Rust's arrow/parquet crates compiled to WebAssembly), fed only
// bytes already in memory. parquet-wasm cannot survive a failed read (it panics, which would poison
// the module), so the bytes it asks for are served from Segments, and a read the plan did not foresee
// is made here and never lets the decoder see a failure.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { RecordBatchReader, type RecordBatch, type Schema } from 'apache-arrow';
import * as wasm from 'parquet-wasm/esm';
import { schemaOfIpc } from '../../arrow/ipc.js';
import { errorMessage, FormatError } from '../../errors.js';
import type { ByteSource } from '../../store/types.js';
import type { Segment } from './footer.js';

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

/** Byte ranges in memory, served to the decoder as if they were the file. */
export class Segments {
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

export interface DecoderFile {
  schema: Schema;
  numRows: number;
  /** Decoded batches of one row group, of at most `batchSize` rows. */
  rowGroup(index: number, batchSize: number, signal?: AbortSignal): AsyncGenerator<RecordBatch>;
  free(): void;
}

/** Opens the file in the decoder from the footer in `segments` (row groups are added as they arrive). */
export async function openDecoder(segments: Segments): Promise<DecoderFile> {
  ensureWasm();
  let file: wasm.ParquetFile;
  try {
    file = await wasm.ParquetFile.fromFile(segments.blob() as unknown as Blob);
  } catch (err) {
    throw new FormatError(`not a readable Parquet file: ${errorMessage(err)}`);
  }
  try {
    const numRows = file.metadata().fileMetadata().numRows();
    const schema = schemaOfIpc(file.schema().intoIPCStream());
    let freed = false;
    const free = () => {
      if (!freed) file.free();
      freed = true;
    };
    return { schema, numRows, rowGroup: (index, batchSize, signal) => decodeGroup(file, index, batchSize, signal), free };
  } catch (err) {
    file.free();
    throw new FormatError(`not a readable Parquet file: ${errorMessage(err)}`);
  }
}

async function* decodeGroup(file: wasm.ParquetFile, index: number, batchSize: number, signal?: AbortSignal): AsyncGenerator<RecordBatch> {
  let stream: ReadableStream<wasm.RecordBatch>;
  try {
    stream = await file.stream({ batchSize, rowGroups: [index], concurrency: 1 });
  } catch (err) {
    throw new FormatError(`row group ${index} cannot be decoded: ${errorMessage(err)}`);
  }
  const reader = stream.getReader();
  try {
    while (true) {
      signal?.throwIfAborted();
      let next: ReadableStreamReadResult<wasm.RecordBatch>;
      try {
        next = await reader.read();
      } catch (err) {
        throw new FormatError(`row group ${index} cannot be decoded: ${errorMessage(err)}`);
      }
      if (next.done) return;
      for (const batch of RecordBatchReader.from(next.value.intoIPCStream())) yield batch;
    }
  } finally {
    await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
