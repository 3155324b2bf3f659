// An async semaphore counted in bytes: bounds how much file data is held in memory at once.

interface Waiter {
  bytes: number;
  resolve: () => void;
}

export class ByteBudget {
  private used = 0;
  private readonly waiting: Waiter[] = [];

  constructor(readonly capacity: number) {}

  /**
   * Waits until `bytes` fit, then reserves them and returns the release function. A request larger
   * than the whole budget waits until nothing else is held, so one huge row group still goes through.
   * Waiters are served in order; an aborted wait rejects with the signal's reason and reserves nothing.
   */
  async acquire(bytes: number, signal?: AbortSignal): Promise<() => void> {
    const need = Math.min(bytes, this.capacity);
    if (this.waiting.length === 0 && this.used + need <= this.capacity) {
      this.used += need;
    } else {
      signal?.throwIfAborted();
      await this.wait(need, signal);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= need;
      this.wake();
    };
  }

  get inUse(): number {
    return this.used;
  }

  private wait(bytes: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const index = this.waiting.indexOf(entry);
        if (index < 0) return;
        this.waiting.splice(index, 1);
        reject(signal!.reason);
        this.wake();
      };
      // wake() reserves the bytes before it resolves, so no later caller can overtake them; the abort
      // listener goes with the wait, so none pile up on a long-lived signal.
      const entry: Waiter = {
        bytes,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.waiting.push(entry);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private wake(): void {
    while (this.waiting.length > 0 && this.used + this.waiting[0]!.bytes <= this.capacity) {
      const entry = this.waiting.shift()!;
      this.used += entry.bytes;
      entry.resolve();
    }
  }
}
