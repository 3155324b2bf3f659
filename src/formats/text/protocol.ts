// What the main thread (parse-pool.ts) and a text parse worker (parse-worker.ts) say to each other
// within a job, one job per file read (the envelope is src/workers/protocol.ts). The stored bytes
// travel to the worker as whole ArrayBuffers, moved rather than copied; batches come back as Arrow IPC
// streams, moved too.
import type { CsvOptions } from '../../spec-csv.js';
import type { Compression } from '../detect.js';

export type TextFormatName = 'csv' | 'tsv' | 'jsonl' | 'json';

/** All a worker needs to build a format's parser: the spec's options for it, structured-cloneable. */
export interface TextSettings {
  name: TextFormatName;
  csv: CsvOptions;
  inference: { sampleRows: number; inferTypes: boolean };
}

/** Starts a job: parse one file from its first byte, as batches of `schema`. */
export interface ParseRequest {
  settings: TextSettings;
  /** The schema inferred at open(), as a schema-only IPC stream. */
  schema: Uint8Array;
  compression: Compression;
  maxRows: number;
  rowMultiple: number;
  /** Batches the worker may have sent that the main thread has not taken yet. */
  window: number;
}

/** The worker to the main thread, in the order things happened in the file. */
export type ParseNote =
  /** The worker wants the file's next stored chunk (it is done with the one before). */
  | { type: 'pull' }
  /** A problem the parse went past (BatchOptions.report). */
  | { type: 'problem'; message: string }
  /** One batch, an Arrow IPC stream. */
  | { type: 'batch'; ipc: Uint8Array };

/** The main thread to the worker. */
export type ParseReply =
  /** The file's next stored chunk, or `undefined` at its end. */
  | { type: 'chunk'; bytes?: ArrayBuffer }
  /** One batch was taken: the worker may send one more. */
  | { type: 'credit' };
