// Text files parsed in worker threads, as the main thread uses them. Decompressing, parsing and building
// Arrow columns cost far more per row than anything else a text file needs, and the main thread also
// conforms records, encodes them and serves gRPC: in a worker (parse-worker.ts) that work runs on
// another core. Here stay the store and its ranged GETs, charged to the read budget: each stored chunk
// is moved (not copied) to the worker when it asks for it. Batches come back as Arrow IPC with the
// problems the parse went past, in file order, at most BATCH_WINDOW ahead of the consumer.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { RecordBatch, RecordBatchReader, type Schema } from 'apache-arrow';
import { schemaOnlyIpc } from '../../arrow/ipc.js';
import { FormatError } from '../../errors.js';
import type { ByteSource } from '../../store/types.js';
import type { ByteBudget } from '../../util/byte-budget.js';
import { WorkerCrashError, WorkerJobError, WorkerPool, type Job } from '../../workers/pool.js';
import type { Compression } from '../detect.js';
import type { BatchOptions } from '../types.js';
import { objectChunks } from './byte-stream.js';
import type { ParseNote, ParseReply, ParseRequest, TextSettings } from './protocol.js';

/** Batches a worker parses ahead of the consumer: one being consumed, one ready, one in the making. */
const BATCH_WINDOW = 2;
/**
 * The worker's JS heap holds the text being parsed (a line or record up to 64 MiB, as a string) and
 * the parse's garbage; column buffers live outside it. A file that needs more ends the worker, not
 * the process, and is reported by key.
 */
const WORKER_HEAP = { maxOldGenerationSizeMb: 1024 };

let pool: WorkerPool | undefined;

function parserPool(): WorkerPool {
  pool ??= new WorkerPool({ entry: workerEntry(), name: 'text parser', resourceLimits: WORKER_HEAP });
  return pool;
}

/** The bundle's text-worker.js (in dist/, beside or one level above this chunk), or parse-worker.ts from sources. */
function workerEntry(): URL {
  for (const relative of ['../text-worker.js', './text-worker.js']) {
    const candidate = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(candidate)) return pathToFileURL(candidate);
  }
  return new URL('./parse-worker.ts', import.meta.url);
}

export interface TextFile {
  settings: TextSettings;
  schema: Schema;
  compression: Compression;
  source: ByteSource;
  budget: ByteBudget;
}

/** The file's batches, parsed in a worker from its stored bytes; its problems go to options.report in order. */
export async function* parsedInWorker(file: TextFile, options: BatchOptions): AsyncGenerator<RecordBatch> {
  const { signal } = options;
  const request: ParseRequest = {
    settings: file.settings,
    schema: schemaOnlyIpc(file.schema),
    compression: file.compression,
    maxRows: options.maxRows,
    rowMultiple: options.rowMultiple,
    window: BATCH_WINDOW,
  };
  const job = await parserPool()
    .start(request, [], signal)
    .catch((err: unknown) => Promise.reject(parseFailure(err)));
  const notes = new NoteQueue(job, objectChunks(file.source, file.budget, signal));
  try {
    for (;;) {
      const note = await notes.next();
      if (!note) return;
      if (note.type === 'problem') {
        options.report?.(note.message);
        continue;
      }
      job.send({ type: 'credit' } satisfies ParseReply);
      // Re-made with the file's own schema: the same object the reader announced, not an equal copy.
      for (const batch of RecordBatchReader.from(note.ipc)) yield new RecordBatch(file.schema, batch.data);
    }
  } finally {
    job.close();
    await notes.close();
  }
}

/** The worker's failures: a FormatError is the same FormatError here; a crash is the file's fault too. */
function parseFailure(err: unknown): unknown {
  if (err instanceof WorkerJobError && err.remoteName === 'FormatError') return new FormatError(err.message);
  if (err instanceof WorkerCrashError) return new FormatError(`cannot be parsed: ${err.message}`);
  return err;
}

type Shown = Exclude<ParseNote, { type: 'pull' }>;

/**
 * The job's problems and batches, in order, while the worker's pulls for stored chunks are answered as
 * soon as they arrive: a worker never waits for bytes while the consumer is busy with a batch.
 */
class NoteQueue {
  private readonly ready: Shown[] = [];
  private wake?: () => void;
  private outcome?: { error?: unknown };
  private readonly pump: Promise<void>;

  constructor(
    private readonly job: Job,
    private readonly chunks: AsyncGenerator<Uint8Array>,
  ) {
    this.pump = this.run().then(
      () => this.settle({}),
      (error: unknown) => this.settle({ error }),
    );
  }

  /** The next problem or batch; undefined once the job is done. Rejects with the file's failure. */
  async next(): Promise<Shown | undefined> {
    for (;;) {
      if (this.ready.length > 0) return this.ready.shift();
      if (this.outcome) {
        if ('error' in this.outcome) throw this.outcome.error;
        return undefined;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** After job.close(): waits for the pump to stop, and closes the chunk stream (releasing its budget). */
  async close(): Promise<void> {
    await this.pump;
    await this.chunks.return(undefined);
  }

  private async run(): Promise<void> {
    for (;;) {
      const next = await this.job.next().catch((err: unknown) => Promise.reject(parseFailure(err)));
      if (next.done) return;
      const note = next.value as ParseNote;
      if (note.type !== 'pull') {
        this.ready.push(note);
        this.wake?.();
        continue;
      }
      const chunk = await this.chunks.next();
      const bytes = chunk.done ? undefined : ownBuffer(chunk.value);
      this.job.send({ type: 'chunk', bytes } satisfies ParseReply, bytes ? [bytes] : []);
    }
  }

  private settle(outcome: { error?: unknown }): void {
    this.outcome = outcome;
    this.wake?.();
  }
}

/**
 * The bytes as an ArrayBuffer of their own, which can be moved: a view into a larger buffer is copied
 * (not with slice(), which on a Buffer is another view of the same memory, often Node's shared pool).
 */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  const { buffer } = bytes;
  if (buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength) return buffer;
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy.buffer;
}
