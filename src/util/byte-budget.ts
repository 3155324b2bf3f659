// An async semaphore counted in bytes: bounds how much file data is held in memory at once.

export class ByteBudget {
  private used = 0;
  private readonly waiting: { bytes: number; resolve: () => void }[] = [];

  constructor(readonly capacity: number) {}

  /**
   * Waits until `bytes` fit, then reserves them and returns the release function. A request larger
   * than the whole budget waits until nothing else is held, so one huge row group still goes through.
   */
  async acquire(bytes: number, signal?: AbortSignal): Promise<() => void> {
    const need = Math.min(bytes, this.capacity);
    if (this.waiting.length === 0 && this.used + need <= this.capacity) {
      this.used += need;
    } else {
      // wake() reserves the bytes before it resolves, so no later caller can overtake them.
      await new Promise<void>((resolve, reject) => {
        const entry = { bytes: need, resolve };
        this.waiting.push(entry);
        signal?.addEventListener(
          'abort',
          () => {
            const index = this.waiting.indexOf(entry);
            if (index >= 0) {
              this.waiting.splice(index, 1);
              reject(signal.reason);
              this.wake();
            }
          },
          { once: true },
        );
      });
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

  private wake(): void {
    while (this.waiting.length > 0 && this.used + this.waiting[0]!.bytes <= this.capacity) {
      const entry = this.waiting.shift()!;
      this.used += entry.bytes;
      entry.resolve();
    }
  }
}
