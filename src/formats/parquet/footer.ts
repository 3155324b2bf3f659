// A Parquet file's footer, read with ranged GETs and checked before any byte reaches the decoder:
// the tail (usually the whole footer) in one read, the rest of the metadata when it is larger, and
// the byte range and column chunks of every row group, once validate.ts has found them consistent.
import { parquetMetadata } from 'hyparquet';
import { schemaShape } from './schema-shapes.js';
import { errorMessage, FormatError } from '../../errors.js';
import { TAIL_BYTES } from '../../store/tail-cache.js';
import type { ByteSource } from '../../store/types.js';
import { checkMetadata, type CheckedRowGroup } from './validate.js';

/** Bytes of the file held in memory, starting at `start`. */
export interface Segment {
  start: number;
  bytes: Uint8Array;
}

/** A row group's byte range [start, end), rows, uncompressed size and column chunks, checked. */
export type RowGroupRange = CheckedRowGroup;

/** Footers are read whole into memory: a longer one is refused rather than fetched. */
export const MAX_FOOTER_BYTES = 256 * 1024 * 1024;

const PARQUET_MAGIC = 0x31524150; // "PAR1", little-endian

/** Reads the footer bytes: the prefetched tail, plus the rest of the metadata when it is larger. */
export async function readFooter(source: ByteSource, signal?: AbortSignal): Promise<Segment> {
  if (source.size < 12) throw new FormatError(`not a Parquet file: only ${source.size} bytes`);
  const tailStart = Math.max(0, source.size - TAIL_BYTES);
  const tail = await source.read(tailStart, source.size, signal);
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  if (view.getUint32(tail.byteLength - 4, true) !== PARQUET_MAGIC) throw new FormatError('not a Parquet file: no PAR1 magic at the end');
  const metadataLength = view.getUint32(tail.byteLength - 8, true);
  const footerStart = source.size - 8 - metadataLength;
  if (footerStart < 4) throw new FormatError(`not a Parquet file: footer length ${metadataLength} exceeds the file`);
  if (metadataLength > MAX_FOOTER_BYTES) {
    throw new FormatError(`not a readable Parquet file: the footer claims ${metadataLength} bytes, more than the ${MAX_FOOTER_BYTES} read`);
  }
  if (footerStart >= tailStart) return { start: tailStart, bytes: tail };
  const head = await source.read(footerStart, tailStart, signal);
  const bytes = new Uint8Array(source.size - footerStart);
  bytes.set(head, 0);
  bytes.set(tail, head.byteLength);
  return { start: footerStart, bytes };
}

/**
 * Every row group's byte range [start, end), rows and column chunks, once the footer has been checked
 * against itself and the file (see validate.ts): what fails is a FormatError saying what is wrong.
 */
export function rowGroupRanges(footer: Segment, fileSize: number): RowGroupRange[] {
  return checkFooter(footer, fileSize).ranges;
}

/** A checked footer: its row groups, its rows, and its schema's shape (schema-shapes.ts). */
export interface CheckedFooter {
  ranges: RowGroupRange[];
  numRows: number;
  shape: string;
}

/** rowGroupRanges, with the rows and schema shape of the same parse. */
export function checkFooter(footer: Segment, fileSize: number): CheckedFooter {
  const { bytes } = footer;
  const metadataLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(bytes.byteLength - 8, true);
  try {
    const metadata = parquetMetadata(bytes, { geoparquet: false });
    const ranges = checkMetadata(metadata, fileSize - 8 - metadataLength);
    return { ranges, numRows: Number(metadata.num_rows), shape: schemaShape(metadata) };
  } catch (err) {
    // hyparquet's own errors (a footer that is not Thrift, fields missing) say what broke.
    if (err instanceof FormatError) throw err;
    throw new FormatError(`not a readable Parquet file: ${errorMessage(err)}`);
  }
}
