// Frees ArrayBuffers now instead of when their isolate next collects garbage. A worker that allocates
// little JavaScript seldom collects, and the buffers it handles are large (a row group, copies of its
// column chunks): they would linger for tens of MB each. Moved into a message that is never delivered
// (both ports closed), a buffer's memory goes with the message, whatever the garbage collector does.
import { MessageChannel } from 'node:worker_threads';

/** Frees the buffers' memory; they are detached (zero length) from here on, so nothing may still read them. */
export function freeBuffers(buffers: ArrayBuffer[]): void {
  const live = buffers.filter((buffer) => buffer.byteLength > 0);
  if (live.length === 0) return;
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
