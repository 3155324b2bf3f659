// The Parquet decoder as the main thread uses it. parquet-wasm (Rust's arrow/parquet crates compiled
// to WebAssembly) traps on corrupt input, and a trap escaping from a promise callback would end the
// process with every sync on it; so it runs in worker threads (decode-worker.ts), each with its own
// instance, under a pool that replaces a worker that dies (src/workers/pool.ts). Here stay the store
// and its reads: a worker decodes only bytes it is handed (moved, not copied), and a read the plan
// did not foresee is made here on its behalf. Batches come back as Arrow IPC, one at a time as the
// consumer takes them, so a slow consumer holds back the decoding.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { RecordBatchReader, type RecordBatch, type Schema } from 'apache-arrow';
import { schemaOfIpc } from '../../arrow/ipc.js';
import { errorMessage, FormatError } from '../../errors.js';
import type { ByteSource } from '../../store/types.js';
import { wholeBuffer } from '../../workers/free-buffers.js';
import { WorkerCrashError, WorkerJobError, WorkerPool, type Job } from '../../workers/pool.js';
import type { Segment } from './footer.js';
import { joinColumns } from './join-columns.js';
import type { DecodeRequest, FileRef, MainReply, OpenResult, WorkerNote } from './protocol.js';

/**
 * A worker whose WebAssembly memory has grown past this after a job is replaced, which gives the
 * memory back. The decoder needs about four times a row group's compressed size: row groups up to
 * ~60 MB compressed keep their worker.
 */
const RECYCLE_ABOVE_BYTES = 256 * 1024 * 1024;
/**
 * A worker's JS heap holds little: the bytes it handles are ArrayBuffers outside the heap. A small young
 * generation keeps it small: with V8's default one, the heap of a worker serving small files kept
 * growing for hundreds of syncs (RSS +10% over 50 syncs, against +3-6% with 4 MB).
 */
const WORKER_HEAP = { maxOldGenerationSizeMb: 128, maxYoungGenerationSizeMb: 4 };
/** Batches a worker decodes ahead of the consumer: one being consumed, one ready, one in the making. */
const BATCH_WINDOW = 2;

let pool: Promise<WorkerPool> | undefined;
let lastFileId = 0;

/** The pool, created at the first file: serving GetName never waits for the WebAssembly module. */
function decoderPool(): Promise<WorkerPool> {
  // Compiled once here (off the main thread: WebAssembly.compile is asynchronous); workers share the
  // compiled code and only instantiate it, which keeps replacing a crashed worker cheap.
  pool ??= readFile(wasmPath())
    .then((bytes) => WebAssembly.compile(bytes))
    .then(
      (module) =>
        new WorkerPool({
          entry: workerEntry(),
          name: 'decoder',
          workerData: { module },
          resourceLimits: WORKER_HEAP,
          recycleAboveBytes: RECYCLE_ABOVE_BYTES,
        }),
    );
  return pool;
}

/** In the bundle the worker and the .wasm sit in dist/, one level above the chunk holding this code. */
function besideBundle(names: string[]): string | undefined {
  for (const name of names) {
    for (const relative of [`../${name}`, `./${name}`]) {
      const candidate = fileURLToPath(new URL(relative, import.meta.url));
      if (existsSync(candidate)) return candidate;
    }
  }
  return undefined;
}

function wasmPath(): string {
  return besideBundle(['parquet_wasm_bg.wasm']) ?? createRequire(import.meta.url).resolve('parquet-wasm/esm/parquet_wasm_bg.wasm');
}

/** The bundle's parquet-worker.js, or from sources decode-worker.ts beside this file. */
function workerEntry(): URL {
  const bundled = besideBundle(['parquet-worker.js']);
  return bundled ? pathToFileURL(bundled) : new URL('./decode-worker.ts', import.meta.url);
}

export interface DecoderFile {
  schema: Schema;
  numRows: number;
  /**
   * Decoded batches of one row group, of at most `batchSize` rows, from its bytes `group` (moved to the
   * decoder: one segment, or one per column chunk), decoded `spanRows` rows at a time (all at once when
   * left out).
   */
  rowGroup(index: number, group: Segment[], shape: GroupShape, signal?: AbortSignal): AsyncGenerator<RecordBatch>;
}

export interface GroupShape {
  batchSize: number;
  /** The row group's rows and the rows of a span; without them the row group is one span. */
  rows?: number;
  spanRows?: number;
  /** Decoded one column at a time (see columnwiseNames); whole rows when left out. */
  columns?: string[];
}

/**
 * Opens the file in a decoder from its footer: its Arrow schema and row count. With `known` (the schema
 * of a file of the same shape, see schema-shapes.ts) no job runs now: the worker that decodes a row
 * group opens the file from the footer that travels with the job.
 */
export async function openDecoder(
  source: ByteSource,
  footer: Segment,
  signal?: AbortSignal,
  known?: { schema: Schema; numRows: number },
): Promise<DecoderFile> {
  const decoders = await decoderPool();
  const file: FileRef = { id: ++lastFileId, size: source.size, footer: { start: footer.start, bytes: copyOf(footer.bytes) } };
  const rowGroupOf =
    (schema: Schema): DecoderFile['rowGroup'] =>
    (index, group, shape, groupSignal) =>
      decodeGroup(decoders, { source, file, schema }, { index, group, ...shape }, groupSignal);
  if (known) return { ...known, rowGroup: rowGroupOf(known.schema) };
  let opened: OpenResult;
  let schema: Schema;
  try {
    opened = (await runJob(decoders, source, { kind: 'open', file }, signal)) as OpenResult;
    schema = schemaOfIpc(opened.schema);
  } catch (err) {
    throw decoderFailure('not a readable Parquet file', err);
  }
  return { schema, numRows: opened.numRows, rowGroup: rowGroupOf(schema) };
}

/** The decoder's failures as FormatErrors (the bytes are to blame); the store's and aborts pass through. */
function decoderFailure(context: string, err: unknown): unknown {
  if (err instanceof WorkerCrashError || err instanceof WorkerJobError || err instanceof FormatError) {
    return new FormatError(`${context}: ${errorMessage(err)}`);
  }
  return err;
}

async function runJob(decoders: WorkerPool, source: ByteSource, request: DecodeRequest, signal?: AbortSignal): Promise<unknown> {
  const job = await decoders.start(request, [], signal);
  try {
    const notes = serveReads(job, source, signal);
    for (;;) {
      const next = await notes.next();
      if (next.done) return next.value;
    }
  } finally {
    job.close();
  }
}

async function* decodeGroup(
  decoders: WorkerPool,
  { source, file, schema }: { source: ByteSource; file: FileRef; schema: Schema },
  { index, group, rows, batchSize, spanRows, columns }: GroupShape & { index: number; group: Segment[] },
  signal?: AbortSignal,
): AsyncGenerator<RecordBatch> {
  const context = `row group ${index} cannot be decoded`;
  const segments = group.map((s) => ({ start: s.start, bytes: ownBuffer(s.bytes) }));
  const request: DecodeRequest = {
    kind: 'decode',
    file,
    index,
    rows: rows ?? 0,
    batchSize,
    spanRows: spanRows ?? rows ?? 0,
    columns,
    window: BATCH_WINDOW,
    group: segments,
  };
  const job = await decoders
    .start(
      request,
      segments.map((s) => s.bytes),
      signal,
    )
    .catch((err: unknown) => Promise.reject(decoderFailure(context, err)));
  try {
    const notes = serveReads(job, source, signal);
    for (;;) {
      const next = await notes.next().catch((err: unknown) => Promise.reject(decoderFailure(context, err)));
      if (next.done) return;
      job.send({ type: 'credit' } satisfies MainReply);
      const note = next.value;
      if (note.type === 'columns') yield joinColumns(schema, note.ipc);
      else for (const batch of RecordBatchReader.from(note.ipc)) yield batch;
    }
  } finally {
    job.close();
  }
}

/** The job's batches, with the decoder's reads of bytes it was not handed served along the way. */
async function* serveReads(
  job: Job,
  source: ByteSource,
  signal?: AbortSignal,
): AsyncGenerator<WorkerNote & { type: 'batch' | 'columns' }, unknown> {
  for (;;) {
    const next = await job.next();
    if (next.done) return next.value;
    const note = next.value as WorkerNote;
    if (note.type === 'batch' || note.type === 'columns') {
      yield note;
      continue;
    }
    const { id, start, end } = note;
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && start <= end && end <= source.size)) {
      throw new FormatError(`the decoder asked for bytes ${start}-${end} of a ${source.size}-byte file`);
    }
    // Copied, never moved: a read inside the file's tail is a view of the tail cache's buffer.
    const bytes = copyOf(await source.read(start, end, signal));
    job.send({ type: 'bytes', id, bytes } satisfies MainReply, [bytes]);
  }
}

/**
 * The bytes as an ArrayBuffer of their own, which can be moved to a worker: a view into a larger buffer
 * (a small file's row group inside the cached tail) is copied. A row group read whole is a buffer of its
 * own (the stores read each range into a fresh one), and it is moved.
 */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  return wholeBuffer(bytes) ?? copyOf(bytes);
}

/**
 * The bytes copied into an ArrayBuffer of their own. Not `bytes.slice().buffer`: on a Node Buffer,
 * slice() is a view of the same memory (often Node's shared pool), whose .buffer is far more than these bytes.
 */
function copyOf(bytes: Uint8Array): ArrayBuffer {
  return new Uint8Array(bytes).buffer;
}
