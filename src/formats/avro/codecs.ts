// A block's bytes decompressed by its file's codec, never to more than `limit` bytes: a hostile block
// cannot inflate to gigabytes. deflate is raw deflate (node:zlib, which stops at maxOutputLength);
// snappy blocks end with a big-endian CRC-32 of the uncompressed bytes, which is checked, and their
// declared length is checked against the limit before anything is allocated; zstandard frames are
// walked first (zstd-frames.ts) so that fzstd is only given frames whose output is bounded.
import * as zlib from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { SnappyDecompressor } from 'snappyjs/snappy_decompressor.js';
import { errorMessage, FormatError } from '../../errors.js';
import type { Codec } from './container.js';
import { zstdOutputBound } from './zstd-frames.js';

/**
 * Memory a reader decompresses snappy blocks into, reused from block to block (a block's bytes are
 * only read until the next block is asked for): allocating and zeroing a new array per block cost
 * as much as a fifth of the decompression.
 */
export class SnappyScratch {
  private buffer = new Uint8Array(0);

  take(length: number): Uint8Array {
    if (this.buffer.length < length) this.buffer = new Uint8Array(Math.max(length, 2 * this.buffer.length));
    return this.buffer.subarray(0, length);
  }
}

/** The uncompressed bytes of one block, as a Buffer (what avsc decodes from). */
export function decompressBlock(codec: Codec, bytes: Uint8Array, limit: number, scratch = new SnappyScratch()): Buffer {
  switch (codec) {
    case 'null':
      return asBuffer(bytes);
    case 'deflate':
      return inflate(bytes, limit);
    case 'snappy':
      return unsnappy(bytes, limit, scratch);
    case 'zstandard':
      return unzstd(bytes, limit);
  }
}

function inflate(bytes: Uint8Array, limit: number): Buffer {
  try {
    return zlib.inflateRawSync(bytes, { maxOutputLength: limit });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(limit);
    throw new FormatError(`not valid deflate data: ${errorMessage(err)}`);
  }
}

function unsnappy(bytes: Uint8Array, limit: number, scratch: SnappyScratch): Buffer {
  if (bytes.length < 4) throw new FormatError(`a snappy block of ${bytes.length} bytes has no room for its CRC`);
  const compressed = bytes.subarray(0, bytes.length - 4);
  const decompressor = new SnappyDecompressor(compressed);
  const length = decompressor.readUncompressedLength();
  if (length < 0) throw new FormatError('not valid snappy data: no uncompressed length');
  if (length > limit) throw tooLarge(limit);
  const out = scratch.take(length);
  if (!decompressor.uncompressToBuffer(out)) throw new FormatError('not valid snappy data');
  // Also what catches a stream that fills less than its declared length.
  const expected = new DataView(bytes.buffer, bytes.byteOffset + compressed.length, 4).getUint32(0, false);
  const actual = crc32(out);
  if (actual !== expected) {
    throw new FormatError(`snappy CRC mismatch: the block says ${hex32(expected)}, its uncompressed bytes give ${hex32(actual)}`);
  }
  return asBuffer(out);
}

function unzstd(bytes: Uint8Array, limit: number): Buffer {
  const bound = zstdOutputBound(bytes, limit);
  if (bound > limit) throw tooLarge(limit);
  try {
    return asBuffer(zstdDecompress(bytes));
  } catch (err) {
    throw new FormatError(`not valid zstandard data: ${errorMessage(err)}`);
  }
}

function tooLarge(limit: number): FormatError {
  return new FormatError(`the block decompresses to more than ${limit} bytes`);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

// node:zlib has crc32 from Node 20.15 and 22.2; older Node 20 releases use the table below.
const zlibCrc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
let table: Uint32Array | undefined;

export function crc32(bytes: Uint8Array): number {
  if (zlibCrc32) return zlibCrc32(bytes) >>> 0;
  table ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let crc = 0xffffffff;
  for (const b of bytes) crc = table[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
