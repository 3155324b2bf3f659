// A pool of worker threads for work that can kill the thread running it. Decoders compiled to
// WebAssembly trap on hostile input (RuntimeError: unreachable, memory access out of bounds); a trap
// thrown from a promise callback is an uncaught exception, which in the main thread ends the process
// and every sync on it. In a worker it ends that worker only: the pool fails the job that was on it
// with a WorkerCrashError and starts a fresh worker for the next job. No worker failure ever becomes
// an uncaught exception here.
//
// Jobs wait in a queue for one of `size` workers, started on demand. A worker is replaced when it
// crashes, exits, exceeds its heap limit, reports a fatal error, or reports more memory after a job
// than `recycleAboveBytes` (WebAssembly memory never shrinks: ending the worker is how it is given
// back); an idle worker ends after `idleMs`. Idle workers are unref'd, so they never keep the process
// alive, and the process's exit ends them.
import { availableParallelism } from 'node:os';
import type { ResourceLimits, TransferListItem } from 'node:worker_threads';
import { PoolJob, type Job } from './job.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { crashDetail, startWorker, WorkerCrashError, WorkerJobError, WorkerStartError, type Slot } from './slot.js';

export { WorkerCrashError, WorkerJobError, WorkerStartError, type Job };

export interface PoolOptions {
  /** The worker's entry module: a .js file, or a .ts file when running from sources under tsx. */
  entry: URL;
  /** What the workers do, for messages: "the decoder crashed (RuntimeError: unreachable)". */
  name: string;
  /** Workers at most (default: defaultPoolSize()). */
  size?: number;
  /** Cloned into every worker; may hold a WebAssembly.Module, whose compiled code workers share. */
  workerData?: unknown;
  /** Bounds each worker's JS heap (WebAssembly memory is not part of it). */
  resourceLimits?: ResourceLimits;
  /** A worker reporting more memory than this after a job is replaced. */
  recycleAboveBytes?: number;
  /** An idle worker ends after this long (default 30 s). */
  idleMs?: number;
  /** A worker that has not ended a cancelled job after this long is ended (default 5 s). */
  cancelGraceMs?: number;
}

/**
 * A worker per core the main thread leaves free, at most two, at least one. The main thread keeps
 * busy with its own share (record encoding and gRPC cost more per row than decoding), so on two cores
 * a second worker only competes with it for CPU and holds a second WebAssembly memory: on the 2-core
 * development machine one worker synced 1M rows about 8% faster than two, with a peak RSS ~35 MB lower.
 */
export function defaultPoolSize(): number {
  return Math.max(1, Math.min(2, availableParallelism() - 1));
}

interface Waiter {
  resolve: (slot: Slot) => void;
  reject: (err: unknown) => void;
}

export class WorkerPool {
  readonly size: number;
  private readonly slots = new Set<Slot>();
  /** Most recently used last: a lone file keeps reusing one warm worker. */
  private readonly idle: Slot[] = [];
  private readonly queue: Waiter[] = [];
  private starting = 0;
  private lastJob = 0;
  private closed = false;

  constructor(private readonly options: PoolOptions) {
    this.size = Math.max(1, options.size ?? defaultPoolSize());
  }

  /** Starts a job on a free worker, once there is one; `transfer` is moved to the worker, not copied. */
  async start(body: unknown, transfer: TransferListItem[] = [], signal?: AbortSignal): Promise<Job> {
    let slot = await this.acquire(signal);
    // Between being handed over and now, the worker may have died, or the caller given up.
    while (slot.gone) slot = await this.acquire(signal);
    if (signal?.aborted) {
      this.release(slot);
      throw signal.reason;
    }
    const job = new PoolJob(++this.lastJob, { send: (j, b, t) => this.post(slot, j, b, t), cancel: (j) => this.cancel(slot, j) }, signal);
    slot.job = job;
    slot.worker.ref();
    try {
      postMoving(slot, { type: 'start', job: job.id, body }, transfer);
    } catch (err) {
      // Not cloneable: nothing reached the worker, which is still free.
      slot.job = undefined;
      this.release(slot);
      throw err;
    }
    return job;
  }

  /** A job whose worker sends nothing but its result. */
  async run(body: unknown, transfer: TransferListItem[] = [], signal?: AbortSignal): Promise<unknown> {
    const job = await this.start(body, transfer, signal);
    try {
      for (;;) {
        const next = await job.next();
        if (next.done) return next.value;
      }
    } finally {
      job.close();
    }
  }

  /** Ends every worker; jobs still running fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.queue.splice(0)) waiter.reject(new Error(`the ${this.options.name} pool is closed`));
    await Promise.all([...this.slots].map((slot) => this.discard(slot, `the ${this.options.name} pool was closed`)));
  }

  private acquire(signal?: AbortSignal): Promise<Slot> {
    signal?.throwIfAborted();
    if (this.closed) return Promise.reject(new Error(`the ${this.options.name} pool is closed`));
    return new Promise<Slot>((resolve, reject) => {
      const onAbort = () => {
        const index = this.queue.indexOf(waiter);
        if (index >= 0) this.queue.splice(index, 1);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        resolve: (slot) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(slot);
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
      this.dispatch();
    });
  }

  /** Hands idle workers to waiting jobs, and starts workers for the jobs left waiting. */
  private dispatch(): void {
    while (this.queue.length > 0 && this.idle.length > 0) {
      const slot = this.idle.pop()!;
      clearTimeout(slot.idleTimer);
      this.queue.shift()!.resolve(slot);
    }
    while (!this.closed && this.queue.length > this.starting && this.slots.size + this.starting < this.size) this.spawn();
  }

  private spawn(): void {
    this.starting++;
    let ready = false;
    const started = () => {
      ready = true;
      this.starting--;
      this.slots.add(slot);
      this.release(slot);
    };
    const failed = (detail: string) => {
      if (ready) return this.crash(slot, detail);
      if (slot.gone) return;
      slot.gone = true;
      this.starting--;
      void slot.worker.terminate().catch(() => {});
      // A worker that cannot even start is a broken installation, not a bad input: say so to a waiter.
      this.queue.shift()?.reject(new WorkerStartError(this.options.name, detail));
      this.dispatch();
    };
    let slot: Slot;
    try {
      slot = startWorker(this.options, {
        message: (message: FromWorker) => (message.type === 'ready' ? started() : this.receive(slot, message)),
        failed,
      });
    } catch (err) {
      this.starting--;
      this.queue.shift()?.reject(new WorkerStartError(this.options.name, crashDetail(err)));
    }
  }

  private receive(slot: Slot, message: Exclude<FromWorker, { type: 'ready' }>): void {
    const job = slot.job;
    if (slot.gone || !job || job.id !== message.job) return;
    if (message.type === 'message') return job.deliver(message.body);
    slot.job = undefined;
    clearTimeout(slot.cancelTimer);
    if (message.type === 'done') job.finish(message.result);
    else if (message.fatal) job.fail(new WorkerCrashError(this.options.name, crashDetail(message.error)));
    else job.fail(new WorkerJobError(message.error.name, message.error.message));
    const recycle = message.type === 'error' && message.fatal;
    if (recycle || message.memory > (this.options.recycleAboveBytes ?? Infinity)) void this.discard(slot, 'recycled', true);
    else this.release(slot);
  }

  /** The worker died or broke its job: the job fails, and a fresh worker takes its place. */
  private crash(slot: Slot, detail: string): void {
    if (slot.gone) return;
    slot.job?.fail(new WorkerCrashError(this.options.name, detail));
    slot.job = undefined;
    void this.discard(slot, detail, true);
  }

  private release(slot: Slot): void {
    if (this.closed) return void this.discard(slot, 'the pool was closed');
    slot.worker.unref();
    this.idle.push(slot);
    slot.idleTimer = setTimeout(() => void this.discard(slot, 'idle'), this.options.idleMs ?? 30_000);
    slot.idleTimer.unref();
    this.dispatch();
  }

  /**
   * Ends a worker. A crashed or recycled one is `replace`d at once, not when the next job asks: its
   * replacement starts while the main thread is still busy with what the last job produced.
   */
  private async discard(slot: Slot, why: string, replace = false): Promise<void> {
    if (!slot.gone) {
      slot.gone = true;
      this.slots.delete(slot);
      const index = this.idle.indexOf(slot);
      if (index >= 0) this.idle.splice(index, 1);
      clearTimeout(slot.idleTimer);
      clearTimeout(slot.cancelTimer);
      slot.job?.fail(new WorkerCrashError(this.options.name, why));
      slot.job = undefined;
      if (replace && !this.closed && this.slots.size + this.starting < this.size) this.spawn();
      this.dispatch();
    }
    await slot.worker.terminate().catch(() => {});
  }

  private post(slot: Slot, job: PoolJob, body: unknown, transfer: TransferListItem[] = []): void {
    if (slot.job === job && !slot.gone) postMoving(slot, { type: 'message', job: job.id, body }, transfer);
  }

  /** Tells the worker to stop the job; a worker that does not within the grace period is ended. */
  private cancel(slot: Slot, job: PoolJob): void {
    if (slot.job !== job || slot.gone) return;
    slot.worker.postMessage({ type: 'cancel', job: job.id });
    slot.cancelTimer = setTimeout(() => this.crash(slot, 'it did not stop a cancelled job'), this.options.cancelGraceMs ?? 5000);
    slot.cancelTimer.unref();
  }
}

/** Posts with `transfer` moved; a buffer Node will not move (it marks some untransferable) is copied instead. */
function postMoving(slot: Slot, message: ToWorker, transfer: TransferListItem[]): void {
  try {
    slot.worker.postMessage(message, transfer);
  } catch (err) {
    if (transfer.length === 0 || (err as Error).name !== 'DataCloneError') throw err;
    slot.worker.postMessage(message);
  }
}
