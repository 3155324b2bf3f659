// An upper bound on what zstandard data decompresses to, from its frame and block headers alone
// (RFC 8878), so fzstd is never handed frames that would make it allocate or produce more than a
// block may hold: fzstd allocates a frame's declared content size, or its window size when none is
// declared, and keeps every block of a frame without a declared size.
import { FormatError } from '../../errors.js';

const ZSTD_MAGIC = 0xfd2fb528;
/** The largest block a compressed block can regenerate (RFC 8878 Block_Maximum_Size). */
const MAX_BLOCK = 128 * 1024;

/** The most bytes `data` can decompress to; stops counting once it is over `limit`. */
export function zstdOutputBound(data: Uint8Array, limit: number): number {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  let total = 0;
  while (pos < data.length && total <= limit) {
    if (pos + 8 > data.length) throw corrupt('a truncated frame');
    const magic = view.getUint32(pos, true);
    if (magic >>> 4 === 0x184d2a5) {
      // A skippable frame: its size, then that many bytes of nothing to decompress.
      pos += 8 + view.getUint32(pos + 4, true);
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw corrupt(`no zstandard frame at byte ${pos}`);
    const frame = frameBound(data, pos + 4, limit);
    total += frame.bound;
    pos = frame.end;
  }
  return total;
}

function frameBound(data: Uint8Array, start: number, limit: number): { bound: number; end: number } {
  const descriptor = data[start]!;
  const singleSegment = (descriptor >> 5) & 1;
  const checksum = (descriptor >> 2) & 1;
  const dictionaryBytes = [0, 1, 2, 4][descriptor & 3]!;
  const fcsFlag = descriptor >> 6;
  const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
  let pos = start + 1;
  let window = 0;
  if (!singleSegment) {
    const w = data[pos++]!;
    const base = 2 ** (10 + (w >> 3));
    window = base + (base / 8) * (w & 7);
  }
  pos += dictionaryBytes;
  if (pos + fcsBytes > data.length) throw corrupt('a truncated frame header');
  let contentSize: number | undefined;
  if (fcsBytes > 0) {
    contentSize = 0;
    for (let i = fcsBytes - 1; i >= 0; i--) contentSize = contentSize * 256 + data[pos + i]!;
    if (fcsBytes === 2) contentSize += 256;
  }
  pos += fcsBytes;
  if (singleSegment) window = contentSize ?? 0;
  // fzstd allocates the declared content size, or else the window.
  if ((contentSize ?? window) > limit) return { bound: limit + 1, end: data.length };
  let blocks = 0;
  for (let last = 0; !last;) {
    if (pos + 3 > data.length) throw corrupt('a truncated block header');
    const header = data[pos]! | (data[pos + 1]! << 8) | (data[pos + 2]! << 16);
    last = header & 1;
    const type = (header >> 1) & 3;
    const size = header >>> 3;
    if (type === 3) throw corrupt('a reserved block type');
    blocks += type === 2 ? Math.min(MAX_BLOCK, window || MAX_BLOCK) : size;
    pos += 3 + (type === 1 ? 1 : size);
    if (blocks > limit) break;
  }
  return { bound: contentSize ?? blocks, end: pos + 4 * checksum };
}

function corrupt(what: string): FormatError {
  return new FormatError(`not valid zstandard data: ${what}`);
}
