// The envelope every message between the pool (pool.ts, main thread) and a worker (runtime.ts) travels
// in. A worker runs one job at a time; a job is a conversation: the main thread starts it, both sides
// may send messages during it, and the worker ends it with `done` or `error`. What the bodies hold is
// the business of the code on either side (e.g. src/formats/parquet/protocol.ts).

/** The main thread to a worker. */
export type ToWorker =
  | { type: 'start'; job: number; body: unknown }
  | { type: 'message'; job: number; body: unknown }
  /** The main thread lost interest: the worker should end the job soon (it still answers done or error). */
  | { type: 'cancel'; job: number };

/** A worker to the main thread. `memory` is what the worker reports of its memory after the job (bytes). */
export type FromWorker =
  /** Sent once, after the worker's module has loaded: a failure before it is a failure to start. */
  | { type: 'ready' }
  | { type: 'message'; job: number; body: unknown }
  | { type: 'done'; job: number; result: unknown; memory: number }
  /** `fatal`: the error left the worker unfit for another job (a WebAssembly trap poisons its instance). */
  | { type: 'error'; job: number; error: { name: string; message: string }; fatal: boolean; memory: number };
