// One job as the main thread sees it: the messages its worker sends, then its outcome. The pool
// (pool.ts) feeds it; the caller reads it with next() and ends it with close().
import type { TransferListItem } from 'node:worker_threads';

export interface Job {
  /** The worker's next message in this job; `{ done: true, value }` with the job's result at the end. Rejects with its failure. */
  next(): Promise<IteratorResult<unknown, unknown>>;
  /** A message to the worker within this job; ignored once the job has ended. */
  send(body: unknown, transfer?: TransferListItem[]): void;
  /** Ends the job, early if need be (the worker is told to stop). Safe to call more than once. */
  close(): void;
}

/** What a job needs of its pool. */
export interface JobLink {
  send(job: PoolJob, body: unknown, transfer?: TransferListItem[]): void;
  cancel(job: PoolJob): void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export class PoolJob implements Job {
  private readonly inbox: unknown[] = [];
  private waiter?: { resolve: (result: IteratorResult<unknown, unknown>) => void; reject: (err: unknown) => void };
  /** What next() reports once the inbox is empty: the worker's result or failure, or the abort reason. */
  private outcome?: Outcome;
  /** The worker ended the job (or died): nothing more comes from it and there is nothing to cancel. */
  private remoteEnded = false;
  private closed = false;

  constructor(
    readonly id: number,
    private readonly link: JobLink,
    private readonly signal?: AbortSignal,
  ) {
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Whether the worker has ended the job (or died): the pool no longer waits for it. */
  get ended(): boolean {
    return this.remoteEnded;
  }

  /** A message from the worker. */
  deliver(body: unknown): void {
    if (this.closed || this.remoteEnded) return;
    if (this.waiter) this.take().resolve({ done: false, value: body });
    else this.inbox.push(body);
  }

  /** The worker ended the job with a result. */
  finish(value: unknown): void {
    this.remoteEnded = true;
    this.settle({ ok: true, value });
  }

  /** The worker ended the job with an error, or died. */
  fail(error: unknown): void {
    this.remoteEnded = true;
    this.settle({ ok: false, error });
  }

  next(): Promise<IteratorResult<unknown, unknown>> {
    if (this.inbox.length > 0) return Promise.resolve({ done: false, value: this.inbox.shift() });
    const { outcome } = this;
    if (outcome) return outcome.ok ? Promise.resolve({ done: true, value: outcome.value }) : Promise.reject(outcome.error);
    if (this.closed) return Promise.reject(new Error('the job was closed'));
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  send(body: unknown, transfer?: TransferListItem[]): void {
    if (!this.closed && !this.remoteEnded) this.link.send(this, body, transfer);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inbox.length = 0;
    this.signal?.removeEventListener('abort', this.onAbort);
    if (!this.remoteEnded) this.link.cancel(this);
  }

  private readonly onAbort = () => {
    this.settle({ ok: false, error: this.signal!.reason });
    this.close();
  };

  private settle(outcome: Outcome): void {
    if (this.outcome) return;
    this.outcome = outcome;
    this.signal?.removeEventListener('abort', this.onAbort);
    if (!this.waiter) return;
    const waiter = this.take();
    if (outcome.ok) waiter.resolve({ done: true, value: outcome.value });
    else waiter.reject(outcome.error);
  }

  private take() {
    const waiter = this.waiter!;
    this.waiter = undefined;
    return waiter;
  }
}
