// A Parquet file's footer, read with ranged GETs and checked before any byte reaches the decoder:
// the tail (usually the whole footer) in one read, the rest of the metadata when it is larger, and
// the byte range of every row group's column chunks.
import { parquetMetadata } from 'hyparquet';
import { errorMessage, FormatError } from '../../errors.js';
import { TAIL_BYTES } from '../../store/tail-cache.js';
import type { ByteSource } from '../../store/types.js';

/** Bytes of the file held in memory, starting at `start`. */
export interface Segment {
  start: number;
  bytes: Uint8Array;
}

export interface RowGroupRange {
  start: number;
  end: number;
  rows: number;
  /** Uncompressed size, as the footer states it. */
  bytes: number;
}

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
  if (footerStart >= tailStart) return { start: tailStart, bytes: tail };
  const head = await source.read(footerStart, tailStart, signal);
  const bytes = new Uint8Array(source.size - footerStart);
  bytes.set(head, 0);
  bytes.set(tail, head.byteLength);
  return { start: footerStart, bytes };
}

/** Byte range [start, end) of every row group's column chunks, checked against the file's size. */
export function rowGroupRanges(footer: Segment, fileSize: number): RowGroupRange[] {
  let ranges: RowGroupRange[];
  try {
    ranges = parquetMetadata(footer.bytes).row_groups.map(rowGroupRange);
  } catch (err) {
    throw new FormatError(`not a readable Parquet file: ${errorMessage(err)}`);
  }
  for (const r of ranges) {
    if ((r.start < 4 && r.end > r.start) || r.end > fileSize - 8 || r.end < r.start) {
      throw new FormatError(`not a readable Parquet file: a row group's column chunks point outside the data (bytes ${r.start}-${r.end})`);
    }
  }
  return ranges;
}

type RowGroupMeta = ReturnType<typeof parquetMetadata>['row_groups'][number];

function rowGroupRange(group: RowGroupMeta): RowGroupRange {
  const rows = Number(group.num_rows);
  const bytes = Number(group.total_byte_size);
  let start = Infinity;
  let end = 0;
  for (const column of group.columns) {
    const m = column.meta_data;
    if (!m) continue;
    const data = Number(m.data_page_offset);
    const dict = m.dictionary_page_offset === undefined ? undefined : Number(m.dictionary_page_offset);
    // Some writers store 0 for "no dictionary page".
    const chunkStart = dict !== undefined && dict > 0 && dict < data ? dict : data;
    start = Math.min(start, chunkStart);
    end = Math.max(end, chunkStart + Number(m.total_compressed_size));
  }
  return start === Infinity ? { start: 0, end: 0, rows, bytes } : { start, end, rows, bytes };
}
