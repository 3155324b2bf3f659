import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

/**
 * A TCP port on 127.0.0.1 that was free a moment ago: binds port 0, reads the
 * port the kernel chose, closes the socket. (Another process may take it
 * before the caller binds it; good enough for tests.)
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`unexpected server address: ${String(address)}`));
        return;
      }
      const { port } = address;
      server.close((error) => (error ? reject(error) : resolve(port)));
    });
  });
}

export interface WaitForOptions {
  /** Give up after this many milliseconds (default 10 000). */
  timeout?: number;
  /** Pause between checks in milliseconds (default 50). */
  interval?: number;
  /** Included in the timeout error; a function is called only when the wait fails. */
  message?: string | (() => string);
  /** Stops the wait early (rejects with the signal's reason). */
  signal?: AbortSignal;
}

/**
 * Calls `condition` until it returns (or resolves to) a truthy value and
 * resolves with that value. A condition that throws counts as "not yet"; the
 * last such error is mentioned when the wait times out.
 */
export async function waitFor<T>(condition: () => T | Promise<T>, options: WaitForOptions = {}): Promise<NonNullable<T>> {
  const { timeout = 10_000, interval = 50, signal } = options;
  const deadline = Date.now() + timeout;
  let lastError: unknown;
  for (;;) {
    signal?.throwIfAborted();
    try {
      const value = await condition();
      if (value) {
        return value as NonNullable<T>;
      }
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const message = typeof options.message === 'function' ? options.message() : options.message;
      const detail = lastError === undefined ? '' : `; last error: ${errorText(lastError)}`;
      throw new Error(`waitFor: timed out after ${timeout} ms${message ? ` waiting for ${message}` : ''}${detail}`);
    }
    await sleep(Math.min(interval, Math.max(0, deadline - Date.now())), undefined, { signal });
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
