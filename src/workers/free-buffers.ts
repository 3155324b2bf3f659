// Frees ArrayBuffers now instead of when their isolate next collects garbage. A worker that allocates
// little JavaScript seldom collects, and the buffers it handles are large (a row group, copies of its
// column chunks): they would linger for tens of MB each. Moved into a message that is never delivered
// (both ports closed), a buffer's memory goes with the message, whatever the garbage collector does.
import { MessageChannel } from 'node:worker_threads';

/**
 * Buffers smaller than this are left to the garbage collector: a message channel costs ~0.3 ms of CPU
 * (both threads' postMessage time syncing thousands of small files), more than lingering KBs are worth.
 */
const FREE_AT_LEAST_BYTES = 1024 * 1024;

/**
 * Frees the buffers' memory; they are detached (zero length) from here on, so nothing may still read them.
 * Buffers under FREE_AT_LEAST_BYTES in all are left as they are, to be collected.
 */
export function freeBuffers(buffers: ArrayBuffer[]): void {
  const live = buffers.filter((buffer) => buffer.byteLength > 0);
  if (live.reduce((sum, buffer) => sum + buffer.byteLength, 0) < FREE_AT_LEAST_BYTES) return;
  const { port1, port2 } = new MessageChannel();
  try {
    port1.postMessage(null, live);
  } catch {
    // A buffer that cannot be moved (Node marks some untransferable) is left to the garbage collector.
  }
  port1.close();
  port2.close();
}

/** The ArrayBuffer a view covers whole, which can be moved or freed as it is; undefined for a view of part of one. */
export function wholeBuffer(bytes: Uint8Array): ArrayBuffer | undefined {
  const { buffer } = bytes;
  return buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength ? buffer : undefined;
}
