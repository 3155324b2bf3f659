// One worker of the pool: how it is started, how its failures are noticed, and the errors a job on it
// fails with.
import { Worker } from 'node:worker_threads';
import type { PoolJob } from './job.js';
import type { FromWorker } from './protocol.js';
import type { PoolOptions } from './pool.js';

export interface Slot {
  worker: Worker;
  /** The job the worker is running: set from its start until the worker ends it (also after a cancel). */
  job?: PoolJob;
  idleTimer?: NodeJS.Timeout;
  cancelTimer?: NodeJS.Timeout;
  /** Ended or being ended: its events are ignored from then on. */
  gone: boolean;
}

/** The worker died (trap, exit, heap limit) or reported an error that left it unfit: its job cannot finish. */
export class WorkerCrashError extends Error {
  constructor(name: string, detail: string) {
    super(`the ${name} crashed (${detail})`);
    this.name = 'WorkerCrashError';
  }
}

/** The job's handler threw; the worker is fine and serves the next job. */
export class WorkerJobError extends Error {
  constructor(
    readonly remoteName: string,
    message: string,
  ) {
    super(message);
    this.name = 'WorkerJobError';
  }
}

/** The worker failed before it was ready (a missing or broken entry module): no input is to blame. */
export class WorkerStartError extends Error {
  constructor(name: string, detail: string) {
    super(`the ${name} could not start: ${detail}`);
    this.name = 'WorkerStartError';
  }
}

export function crashDetail(err: unknown): string {
  if (err && typeof err === 'object' && 'message' in err) {
    const { name, message } = err as { name?: unknown; message: unknown };
    return typeof name === 'string' && name !== '' ? `${name}: ${String(message)}` : String(message);
  }
  return String(err);
}

interface SlotEvents {
  message(message: FromWorker): void;
  /** Called once at most: the worker errored, exited, or sent what cannot be read. */
  failed(detail: string): void;
}

export function startWorker(options: PoolOptions, events: SlotEvents): Slot {
  // Not `stdout: true`: a worker with its own stdio streams keeps the process alive even unref'd.
  // The worker silences its output itself (runtime.ts).
  const worker = new Worker(bootUrl(options.entry), { workerData: options.workerData, resourceLimits: options.resourceLimits });
  const slot: Slot = { worker, gone: false };
  let failed = false;
  const fail = (detail: string) => {
    if (failed) return;
    failed = true;
    events.failed(detail);
  };
  worker.on('message', (message: FromWorker) => events.message(message));
  worker.on('error', (err) => fail(crashDetail(err)));
  worker.on('messageerror', (err) => fail(`unreadable message: ${crashDetail(err)}`));
  worker.on('exit', (code) => fail(`exited with code ${code}`));
  return slot;
}

/**
 * Run from TypeScript sources (tests, the bench), a worker needs the TypeScript loader the main thread
 * runs under, which Node 20 does not carry into workers even with the same execArgv: the worker is
 * booted through tsx's register API. The bundle's workers are plain .js and start directly.
 */
function bootUrl(entry: URL): URL {
  if (!import.meta.url.endsWith('.ts')) return entry;
  const api = import.meta.resolve('tsx/esm/api');
  const code = `import { register } from ${JSON.stringify(api)}; register(); await import(${JSON.stringify(entry.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}
