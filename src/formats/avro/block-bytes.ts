// The block being decoded, which Avro strings, bytes and fixed values are read from in place: the
// utf8 and binary columns copy a value's bytes as they are (a string is never decoded to UTF-16 and
// encoded back: that round trip cost more than all other decoding), and where avsc decodes a value
// (decimals, UUIDs, values inside JSON) it gives a handle, one number telling where the bytes sit.
// Handles are only read while their block is the current one: every record goes into the columns as
// soon as it is read.
import { MAX_BLOCK_BYTES } from './limits.js';

/** start * HANDLE_SCALE + length: exact in a double while blocks stay within MAX_BLOCK_BYTES (2^26). */
const HANDLE_SCALE = 2 ** 27;
if (MAX_BLOCK_BYTES >= HANDLE_SCALE || (MAX_BLOCK_BYTES - 1) * HANDLE_SCALE + MAX_BLOCK_BYTES > Number.MAX_SAFE_INTEGER) {
  throw new Error('MAX_BLOCK_BYTES is too large for value handles');
}

export function makeHandle(start: number, length: number): number {
  return start * HANDLE_SCALE + length;
}

export function handleStart(handle: number): number {
  return Math.floor(handle / HANDLE_SCALE);
}

export function handleLength(handle: number): number {
  return handle % HANDLE_SCALE;
}

/** The decompressed bytes of the block being decoded, which handles point into. */
export class BlockBytes {
  data: Buffer = Buffer.alloc(0);
  /** The same bytes as a plain Uint8Array: its subarrays cost less than a Buffer's. */
  view: Uint8Array = new Uint8Array(0);

  set(data: Buffer): void {
    this.data = data;
    this.view = new Uint8Array(data.buffer, data.byteOffset, data.length);
  }

  bytes(handle: number): Buffer {
    const start = handleStart(handle);
    return this.data.subarray(start, start + handleLength(handle));
  }

  /** The value's UTF-8 bytes as a string (invalid sequences become U+FFFD, as avsc would decode them). */
  text(handle: number): string {
    const start = handleStart(handle);
    return this.data.toString('utf8', start, start + handleLength(handle));
  }
}
