// The worker side of the pool (pool.ts): a worker's entry module does its setup, then calls
// serveJobs(handler). Each job's body goes to the handler with a context to talk to the main thread;
// what the handler returns (or throws) ends the job. One job runs at a time: the pool never starts
// another on a busy worker.
import { parentPort, type TransferListItem } from 'node:worker_threads';
import type { FromWorker, ToWorker } from './protocol.js';

export interface JobContext {
  /** Aborted when the main thread cancels the job. */
  readonly signal: AbortSignal;
  /** A message to the main thread within this job; `transfer` is moved, not copied. */
  send(body: unknown, transfer?: TransferListItem[]): void;
  /** Set by the handler to receive the main thread's messages within this job. */
  onMessage?: (body: unknown) => void;
}

export type JobHandler = (body: unknown, ctx: JobContext) => Promise<unknown>;

export interface ServeOptions {
  /** The worker's memory in bytes, reported after each job so the pool can recycle a grown worker. */
  memoryBytes?: () => number;
  /** Errors after which the worker must not run another job; by default WebAssembly traps and stack overflows. */
  isFatal?: (err: unknown) => boolean;
}

/** A trap leaves a WebAssembly instance in an undefined state, and so does a stack overflow inside it. */
function defaultIsFatal(err: unknown): boolean {
  return err instanceof WebAssembly.RuntimeError || err instanceof RangeError;
}

export function serveJobs(handler: JobHandler, options: ServeOptions = {}): void {
  const port = parentPort;
  if (!port) throw new Error('serveJobs() runs in a worker thread');
  silenceOutput();
  const post = (message: FromWorker, transfer?: TransferListItem[]) => port.postMessage(message, transfer);
  const memory = () => options.memoryBytes?.() ?? 0;
  const isFatal = options.isFatal ?? defaultIsFatal;
  let current: { id: number; controller: AbortController; ctx: JobContext } | undefined;

  const run = async (id: number, body: unknown) => {
    const controller = new AbortController();
    const ctx: JobContext = {
      signal: controller.signal,
      send: (message, transfer) => post({ type: 'message', job: id, body: message }, transfer),
    };
    current = { id, controller, ctx };
    try {
      const result = await handler(body, ctx);
      post({ type: 'done', job: id, result, memory: memory() });
    } catch (err) {
      const error = err instanceof Error ? { name: err.name, message: err.message } : { name: 'Error', message: String(err) };
      post({ type: 'error', job: id, error, fatal: isFatal(err), memory: memory() });
    } finally {
      current = undefined;
    }
  };

  port.on('message', (message: ToWorker) => {
    if (message.type === 'start') void run(message.job, message.body);
    else if (current?.id !== message.job) return;
    else if (message.type === 'cancel') current.controller.abort(new Error('the job was cancelled'));
    else current.ctx.onMessage?.(message.body);
  });
  post({ type: 'ready' });
}

/**
 * What a worker's code prints (a decoder's panic message, through console.error) would land in the
 * plugin's own output, where the CLI parses one JSON log line at a time and preview prints its tables:
 * it is dropped. What went wrong reaches the main thread as the job's error or the worker's crash.
 */
function silenceOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.write = ((...args: unknown[]) => {
      const callback = args.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
  }
}
