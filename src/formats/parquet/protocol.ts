// What the main thread (decoder.ts) and a decode worker (decode-worker.ts) say to each other within
// a job (the envelope is src/workers/protocol.ts). Bytes always travel as whole ArrayBuffers, moved
// (transferred) rather than copied, except the footer, which the main thread keeps for later jobs.

/** A file as a job names it: a worker that has opened it before reuses that, others open it from the footer. */
export interface FileRef {
  /** Unique in this process for the file as it was opened (one object version). */
  id: number;
  size: number;
  footer: { start: number; bytes: ArrayBuffer };
}

export type DecodeRequest =
  /** Answered with an OpenResult. */
  | { kind: 'open'; file: FileRef }
  /**
   * Row group `index` of the file, whose column chunks are `group` (fetched whole by the main thread,
   * one buffer or one per column chunk: see columnChunkRanges in index.ts), as `batch` notes of at most
   * `batchSize` rows; at most `window` of them unacknowledged at once. The decoder decodes `spanRows`
   * rows at a time (a multiple of `batchSize`), each span from the same bytes.
   */
  | {
      kind: 'decode';
      file: FileRef;
      index: number;
      /** The row group's rows (0: unknown, and the whole row group is one span). */
      rows: number;
      batchSize: number;
      spanRows: number;
      /** Top-level columns to decode one at a time, their batches sent as `columns` notes; else whole rows. */
      columns?: string[];
      window: number;
      group: { start: number; bytes: ArrayBuffer }[];
    };

export interface OpenResult {
  /** The Arrow schema as a schema-only IPC stream. */
  schema: Uint8Array;
  numRows: number;
}

/** The worker to the main thread, during a job. */
export type WorkerNote =
  /** One decoded batch, an Arrow IPC stream. */
  | { type: 'batch'; ipc: Uint8Array }
  /** One decoded batch as one IPC stream per column, in the order of the request's columns. */
  | { type: 'columns'; ipc: Uint8Array[] }
  /** The decoder wants bytes it was not handed (outside the footer and row group): the main thread reads them. */
  | { type: 'read'; id: number; start: number; end: number };

/** The main thread to the worker, during a job. */
export type MainReply =
  /** One batch was taken by the consumer: the worker may decode one more. */
  { type: 'credit' } | { type: 'bytes'; id: number; bytes: ArrayBuffer };
