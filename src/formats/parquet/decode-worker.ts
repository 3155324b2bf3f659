// A decode worker's entry module: parquet-wasm in a WebAssembly instance of its own, serving the jobs
// of protocol.ts. parquet-wasm traps on corrupt input and a trapped instance is poisoned; here a trap
// ends this worker only, and the pool (src/workers/pool.ts) starts a fresh one for the next job. The
// module arrives compiled from the main thread (workerData), so a new worker only instantiates it.
import { workerData } from 'node:worker_threads';
import * as wasm from 'parquet-wasm/esm';
import { serveJobs, type JobContext } from '../../workers/runtime.js';
import { FileCache, HeldBytes, type Fetch } from './held-bytes.js';
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

/** Decodes one row group into batches sent as IPC streams, never more than the window ahead of the consumer. */
async function decode(request: Extract<DecodeRequest, { kind: 'decode' }>, file: OpenFile, inbox: Inbox, ctx: JobContext): Promise<void> {
  const group = { start: request.group.start, bytes: new Uint8Array(request.group.bytes) };
  file.bytes.add(group);
  // The decoder reads the whole row group into its own memory before it yields the first batch; from
  // then on the bytes are handed back. V8 frees a buffer when the isolate holding it collects garbage,
  // which a worker allocating little JavaScript seldom does: tens of MB would linger here until the job
  // ends or longer, while the main thread collects often. Should the decoder ask for them again, the
  // main thread reads them (HeldBytes.fetch).
  let spent = false;
  const handBack = () => {
    if (spent) return;
    spent = true;
    file.bytes.remove(group);
    const { bytes } = request.group;
    if (bytes.byteLength > 0) ctx.send({ type: 'spent', bytes } satisfies WorkerNote, [bytes]);
  };
  try {
    const options = { batchSize: request.batchSize, rowGroups: [request.index], concurrency: 1 };
    const reader = (await file.parquet.stream(options)).getReader() as ReadableStreamDefaultReader<wasm.RecordBatch>;
    try {
      for (;;) {
        await inbox.credit();
        const next = await reader.read();
        handBack();
        if (next.done) return;
        const ipc = next.value.intoIPCStream();
        ctx.send({ type: 'batch', ipc } satisfies WorkerNote, [ipc.buffer as ArrayBuffer]);
      }
    } finally {
      await reader.cancel().catch(() => {});
      reader.releaseLock();
    }
  } finally {
    handBack();
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
