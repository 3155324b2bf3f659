// A text parse worker's entry module: it decompresses and parses one file per job (protocol.ts) from
// the stored chunks the main thread moves to it, asking for each in turn, and sends back Arrow batches
// and the problems met on the way, in file order. The same parser as in the main thread (reader.ts
// parseBatches) runs here, so every row, report and error is the same; an error here reaches the main
// thread as its name and message (src/workers/runtime.ts), and parse-pool.ts makes a FormatError of
// it again.
import { RecordBatchStreamWriter, type RecordBatch } from 'apache-arrow';
import { schemaOfIpc } from '../../arrow/ipc.js';
import { serveJobs, type JobContext } from '../../workers/runtime.js';
import { csvParts } from '../csv/index.js';
import { jsonParts } from '../json/index.js';
import { inflatedBytes } from './byte-stream.js';
import type { ParseNote, ParseReply, ParseRequest, TextSettings } from './protocol.js';
import { parseBatches, type TextFormatParts } from './reader.js';

serveJobs(parse);

async function parse(body: unknown, ctx: JobContext): Promise<void> {
  const request = body as ParseRequest;
  const inbox = new Inbox(ctx, request.window);
  const options = {
    maxRows: request.maxRows,
    rowMultiple: request.rowMultiple,
    signal: ctx.signal,
    report: (message: string) => ctx.send({ type: 'problem', message } satisfies ParseNote),
  };
  const chunks = inflatedBytes(inbox.chunks(), request.compression);
  for await (const batch of parseBatches(partsFor(request.settings), schemaOfIpc(request.schema), chunks, options)) {
    await inbox.credit();
    const ipc = batchIpc(batch);
    ctx.send({ type: 'batch', ipc } satisfies ParseNote, [ipc.buffer as ArrayBuffer]);
  }
}

function partsFor(settings: TextSettings): TextFormatParts {
  return settings.name === 'csv' || settings.name === 'tsv' ? csvParts(settings) : jsonParts(settings);
}

function batchIpc(batch: RecordBatch): Uint8Array {
  return RecordBatchStreamWriter.writeAll([batch]).toUint8Array(true);
}

/** The main thread's replies within one job: stored chunks when asked for, credits for batches. */
class Inbox {
  private credits: number;
  private wake?: () => void;
  private chunk?: { resolve: (bytes: ArrayBuffer | undefined) => void; reject: (err: unknown) => void };

  constructor(
    private readonly ctx: JobContext,
    window: number,
  ) {
    this.credits = window;
    ctx.onMessage = (body) => this.receive(body as ParseReply);
    ctx.signal.addEventListener('abort', () => this.abort(), { once: true });
  }

  /** The file's stored chunks, each asked for once the one before is consumed. */
  async *chunks(): AsyncGenerator<Uint8Array> {
    for (;;) {
      this.ctx.signal.throwIfAborted();
      const bytes = await new Promise<ArrayBuffer | undefined>((resolve, reject) => {
        this.chunk = { resolve, reject };
        this.ctx.send({ type: 'pull' } satisfies ParseNote);
      });
      if (!bytes) return;
      yield new Uint8Array(bytes);
    }
  }

  /** Waits until the consumer has room for one more batch. */
  async credit(): Promise<void> {
    while (this.credits === 0) {
      this.ctx.signal.throwIfAborted();
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    this.ctx.signal.throwIfAborted();
    this.credits--;
  }

  private receive(reply: ParseReply): void {
    if (reply.type === 'credit') {
      this.credits++;
      this.wake?.();
      return;
    }
    const chunk = this.chunk;
    this.chunk = undefined;
    chunk?.resolve(reply.bytes);
  }

  private abort(): void {
    this.chunk?.reject(this.ctx.signal.reason);
    this.chunk = undefined;
    this.wake?.();
  }
}
