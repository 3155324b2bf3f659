// A decode worker's entry module: parquet-wasm in a WebAssembly instance of its own, serving the jobs
// of protocol.ts. parquet-wasm traps on corrupt input and a trapped instance is poisoned; here a trap
// ends this worker only, and the pool (src/workers/pool.ts) starts a fresh one for the next job. The
// module arrives compiled from the main thread (workerData), so a new worker only instantiates it.
import { workerData } from 'node:worker_threads';
import * as wasm from 'parquet-wasm/esm';
import { freeBuffers } from '../../workers/free-buffers.js';
import { serveJobs, type JobContext } from '../../workers/runtime.js';
import { FileCache, HeldBytes, type Fetch, type HeldSegment } from './held-bytes.js';
import type { DecodeRequest, FileRef, MainReply, OpenResult, WorkerNote } from './protocol.js';

/** Files whose parsed footers a worker keeps; the footer travels with every job, so a miss only costs a parse. */
const FILES_KEPT = 4;

interface OpenFile extends OpenResult {
  parquet: wasm.ParquetFile;
  bytes: HeldBytes;
  free(): void;
}

wasm.initSync({ module: (workerData as { module: WebAssembly.Module }).module });
const files = new FileCache<OpenFile>(FILES_KEPT);
serveJobs(handle, { memoryBytes: () => wasm.wasmMemory().buffer.byteLength });

async function handle(body: unknown, ctx: JobContext): Promise<OpenResult | undefined> {
  const request = body as DecodeRequest;
  const inbox = new Inbox(ctx, request.kind === 'decode' ? request.window : 0);
  const file = await openFile(request.file, inbox.fetch);
  try {
    if (request.kind === 'open') return { schema: file.schema, numRows: file.numRows };
    await decode(request, file, inbox, ctx);
    return undefined;
  } finally {
    file.bytes.endJob();
  }
}

async function openFile(ref: FileRef, fetch: Fetch): Promise<OpenFile> {
  const cached = files.get(ref.id);
  if (cached) {
    cached.bytes.fetch = fetch;
    return cached;
  }
  const bytes = new HeldBytes(ref.size);
  bytes.add({ start: ref.footer.start, bytes: new Uint8Array(ref.footer.bytes) });
  bytes.fetch = fetch;
  const parquet = await wasm.ParquetFile.fromFile(bytes.blob() as unknown as Blob);
  try {
    const metadata = parquet.metadata();
    const fileMetadata = metadata.fileMetadata();
    const numRows = fileMetadata.numRows();
    fileMetadata.free();
    metadata.free();
    const file: OpenFile = { parquet, bytes, numRows, schema: parquet.schema().intoIPCStream(), free: () => parquet.free() };
    files.set(ref.id, file);
    return file;
  } catch (err) {
    parquet.free();
    throw err;
  }
}

/**
 * Decodes one row group into batches sent as IPC streams, never more than the window ahead of the
 * consumer, one span of rows at a time and, when the main thread names the columns, one column at a
 * time. parquet-wasm collects all the batches of a stream before it yields the first, and copies in
 * the compressed column chunks the stream reads: a stream of a whole 85 MB row group (166 MB
 * uncompressed) grew the decoder to 483 MB, a stream per span of 32 MB to 289 MB. A stream per column
 * and span holds one column chunk and one span of one column; the columns of a span are joined on
 * the main thread. The decoder copies the chunks in again for each span (see groupShape in index.ts);
 * a group sent as one buffer per column chunk is lent to it as it is, and each chunk is freed once
 * the last span has read it.
 */
async function decode(request: Extract<DecodeRequest, { kind: 'decode' }>, file: OpenFile, inbox: Inbox, ctx: JobContext): Promise<void> {
  const { rows, columns } = request;
  const span = request.spanRows > 0 ? Math.min(request.spanRows, rows) : rows;
  const spans = rows > 0 && span > 0 ? Math.ceil(rows / span) : 1;
  // Read more than once (several spans, a stream per column): lent to the decoder, never handed over.
  const keep = spans > 1 || columns !== undefined;
  const group: HeldSegment[] = request.group.map((g) => ({ start: g.start, bytes: new Uint8Array(g.bytes), keep }));
  for (const segment of group) file.bytes.add(segment);
  // Once the decoder has copied in the last of the bytes it needs (the last stream has yielded), they
  // are freed, with every copy handed to it (HeldBytes.freeHanded). Should the decoder ask for them
  // again, the main thread reads them (HeldBytes.fetch).
  let spent = false;
  const handBack = () => {
    if (spent) return;
    spent = true;
    for (const segment of group) file.bytes.remove(segment);
    freeBuffers(request.group.map((g) => g.bytes));
  };
  try {
    const base = { batchSize: request.batchSize, rowGroups: [request.index], concurrency: 1 };
    for (let s = 0; s < spans; s++) {
      const last = s === spans - 1;
      const options = spans > 1 ? { ...base, offset: s * span, limit: Math.min(span, rows - s * span) } : base;
      if (!columns && last) for (const segment of group) segment.keep = false;
      const read = last ? handBack : () => {};
      if (columns) await sendColumns(file, { options, columns, read, lastSpan: last }, inbox, ctx);
      else await sendSpan(file, options, inbox, ctx, read);
    }
  } finally {
    handBack();
  }
}

/** Streams one span of rows and sends its batches; `read` is called once the decoder has its bytes. */
async function sendSpan(file: OpenFile, options: wasm.ReaderOptions, inbox: Inbox, ctx: JobContext, read: () => void): Promise<void> {
  const reader = (await file.parquet.stream(options)).getReader() as ReadableStreamDefaultReader<wasm.RecordBatch>;
  try {
    for (;;) {
      await inbox.credit();
      const next = await reader.read();
      read();
      file.bytes.freeHanded();
      if (next.done) return inbox.refund();
      const ipc = next.value.intoIPCStream();
      ctx.send({ type: 'batch', ipc } satisfies WorkerNote, [ipc.buffer as ArrayBuffer]);
    }
  } finally {
    await reader.cancel().catch(() => {});
    reader.releaseLock();
    file.bytes.freeHanded();
  }
}

interface ColumnSpan {
  options: wasm.ReaderOptions;
  columns: string[];
  /** Called once the decoder has read the bytes of the last column. */
  read: () => void;
  /** The row group's last span: each column's chunk is freed once the decoder has read it. */
  lastSpan: boolean;
}

/** Decodes one span column by column, then sends its batches, each as one IPC stream per column. */
async function sendColumns(file: OpenFile, { options, columns, read, lastSpan }: ColumnSpan, inbox: Inbox, ctx: JobContext): Promise<void> {
  const parts: Uint8Array[][] = [];
  const done = () => file.bytes.releaseLent();
  for (let c = 0; c < columns.length; c++) {
    const last = c === columns.length - 1;
    file.bytes.forgetLent();
    parts.push(await collect(file, { ...options, columns: [columns[c]!] }, ctx, last ? read : lastSpan ? done : () => {}));
  }
  const count = parts[0]?.length ?? 0;
  if (parts.some((part) => part.length !== count)) throw new Error('the columns of a row group decoded into different numbers of batches');
  for (let k = 0; k < count; k++) {
    await inbox.credit();
    const ipc = parts.map((part) => part[k]!);
    parts.forEach((part) => (part[k] = EMPTY));
    ctx.send(
      { type: 'columns', ipc } satisfies WorkerNote,
      ipc.map((i) => i.buffer as ArrayBuffer),
    );
  }
}

const EMPTY = new Uint8Array(0);

/** One stream's batches as IPC streams. */
async function collect(file: OpenFile, options: wasm.ReaderOptions, ctx: JobContext, read: () => void): Promise<Uint8Array[]> {
  const reader = (await file.parquet.stream(options)).getReader() as ReadableStreamDefaultReader<wasm.RecordBatch>;
  const out: Uint8Array[] = [];
  try {
    for (;;) {
      ctx.signal.throwIfAborted();
      const next = await reader.read();
      read();
      file.bytes.freeHanded();
      if (next.done) return out;
      out.push(next.value.intoIPCStream());
    }
  } finally {
    await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/** The main thread's replies within one job: credits for batches, bytes for reads. */
class Inbox {
  private credits: number;
  private wake?: () => void;
  private readonly reads = new Map<number, { resolve: (bytes: ArrayBuffer) => void; reject: (err: unknown) => void }>();
  private lastRead = 0;

  constructor(
    private readonly ctx: JobContext,
    window: number,
  ) {
    this.credits = window;
    ctx.onMessage = (body) => this.receive(body as MainReply);
    ctx.signal.addEventListener('abort', () => this.abort(), { once: true });
  }

  /** Asks the main thread for bytes the worker was not handed. */
  readonly fetch: Fetch = (start, end) =>
    new Promise((resolve, reject) => {
      if (this.ctx.signal.aborted) return reject(this.ctx.signal.reason);
      const id = ++this.lastRead;
      this.reads.set(id, { resolve, reject });
      this.ctx.send({ type: 'read', id, start, end });
    });

  /** Waits until the consumer has room for one more batch. */
  async credit(): Promise<void> {
    while (this.credits === 0) {
      this.ctx.signal.throwIfAborted();
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    this.ctx.signal.throwIfAborted();
    this.credits--;
  }

  /** Gives back a credit taken for a batch that did not come (a stream's end). */
  refund(): void {
    this.credits++;
  }

  private receive(reply: MainReply): void {
    if (reply.type === 'credit') {
      this.credits++;
      this.wake?.();
      return;
    }
    const read = this.reads.get(reply.id);
    this.reads.delete(reply.id);
    read?.resolve(reply.bytes);
  }

  private abort(): void {
    for (const read of this.reads.values()) read.reject(this.ctx.signal.reason);
    this.reads.clear();
    this.wake?.();
  }
}
