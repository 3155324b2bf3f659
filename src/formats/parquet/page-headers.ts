// A fetched row group's pages, checked before the decoder sees them. The footer (validate.ts) says
// where each column chunk lies; here every chunk is walked page header by page header: the pages
// must tile the chunk exactly, claim sizes the reader can afford (and an uncompressed page exactly its
// stored size), hold as many values as the footer says, and match the CRC-32 their writer stored.
import * as zlib from 'node:zlib';
import { errorMessage, FormatError } from '../../errors.js';
import { CompactReader } from './thrift-compact.js';
import { fail, type CheckedRowGroup, type ChunkLayout } from './validate.js';

export interface PageLimits {
  /** The largest uncompressed page accepted: about what decoding one page allocates. */
  maxPageBytes: number;
}

const PAGE_TYPE = { DATA: 0, INDEX: 1, DICTIONARY: 2, DATA_V2: 3 } as const;

interface PageHeader {
  type?: number;
  uncompressedSize?: number;
  compressedSize?: number;
  crc?: number;
  /** Which data page header the page carries (field 5 or 8). */
  dataHeader?: 'v1' | 'v2';
  /** Data pages (v1 and v2): the values (levels, nulls included) the page holds. */
  numValues?: number;
  /** v2 data pages only. */
  v2?: { numRows?: number; levelBytes: number; isCompressed: boolean };
  hasDictionaryHeader?: boolean;
}

/** What walking a chunk's pages found. */
interface ChunkTally {
  values: number;
  v1Pages: number;
  v2Pages: number;
  v2Rows: number;
}

/**
 * Checks the pages of every column chunk of a fetched row group. `bytes` are the row group's bytes
 * [group.start, group.end) of the file, `rowGroupStart` their offset in the file. Throws a FormatError
 * naming the row group, column and page; never anything else.
 */
export function checkRowGroupPages(bytes: Uint8Array, rowGroupStart: number, group: CheckedRowGroup, limits: PageLimits): void {
  checkFetchedPages([{ start: rowGroupStart, bytes }], group, limits);
}

/** As checkRowGroupPages, for a row group fetched as several buffers (one per column chunk, or one in all). */
export function checkFetchedPages(segments: { start: number; bytes: Uint8Array }[], group: CheckedRowGroup, limits: PageLimits): void {
  for (const chunk of group.chunks) {
    const where = `row group ${group.index}, column ${chunk.column}`;
    const segment = segments.find((s) => s.start <= chunk.start && chunk.end <= s.start + s.bytes.length) ?? segments[0]!;
    try {
      checkChunkPages(segment.bytes, segment.start, chunk, group.rows, where, limits);
    } catch (err) {
      if (err instanceof FormatError) throw err;
      fail(`${where}: ${errorMessage(err)}`);
    }
  }
}

function checkChunkPages(bytes: Uint8Array, base: number, chunk: ChunkLayout, rows: number, where: string, limits: PageLimits): void {
  const end = chunk.end - base;
  let pos = chunk.start - base;
  if (pos < 0 || end > bytes.length) {
    fail(`${where}: the fetched bytes ${base}-${base + bytes.length} do not hold the column chunk (bytes ${chunk.start}-${chunk.end})`);
  }
  const tally: ChunkTally = { values: 0, v1Pages: 0, v2Pages: 0, v2Rows: 0 };
  while (pos < end) {
    const page = `${where}: the page at byte ${base + pos}`;
    const reader = new CompactReader(bytes, pos, end, (problem) => fail(`${page} has a broken header: ${problem}`));
    const header = readPageHeader(reader);
    const payload = reader.pos;
    const size = checkSizes(header, end - payload, page, chunk.codec, limits);
    const body = bytes.subarray(payload, payload + size);
    if (header.crc !== undefined) checkCrc(body, header.crc, page);
    if (chunk.codec === 'SNAPPY' && (header.v2?.isCompressed ?? true)) checkSnappyLength(body, header, page);
    tallyPage(header, tally, page, pos === chunk.start - base, chunk);
    pos = payload + size;
  }
  if (tally.values !== chunk.numValues) fail(`${where}: the pages hold ${tally.values} values but the footer says ${chunk.numValues}`);
  if (tally.v2Pages > 0 && tally.v1Pages === 0 && tally.v2Rows !== rows) {
    fail(`${where}: the pages hold ${tally.v2Rows} rows but the row group claims ${rows}`);
  }
}

/** The page's stored size, once its claims are found affordable and consistent; `room` is what the chunk has left. */
function checkSizes(header: PageHeader, room: number, page: string, codec: string | undefined, limits: PageLimits): number {
  const { type, compressedSize: stored, uncompressedSize: full } = header;
  if (type === undefined || stored === undefined || full === undefined) fail(`${page} has a header without its type or sizes`);
  if (stored < 0 || full < 0) fail(`${page} claims a negative size (${stored} bytes stored, ${full} uncompressed)`);
  if (stored > room) fail(`${page} claims ${stored} bytes but its column chunk ends ${room} bytes after its header`);
  if (full > limits.maxPageBytes) fail(`${page} claims ${full} uncompressed bytes, more than the ${limits.maxPageBytes} a page may take`);
  if ((codec === 'UNCOMPRESSED' || header.v2?.isCompressed === false) && full !== stored) {
    fail(`${page} is stored uncompressed in ${stored} bytes but claims ${full} uncompressed bytes`);
  }
  if (header.v2 && (header.v2.levelBytes > stored || header.v2.levelBytes > full)) {
    fail(`${page} claims ${header.v2.levelBytes} bytes of levels in a page of ${stored} bytes`);
  }
  return stored;
}

/** The Parquet spec's page CRC: CRC-32 (as in gzip) of the page's bytes as stored, after its header. */
function checkCrc(body: Uint8Array, expected: number, page: string): void {
  const actual = crc32(body);
  if (actual !== expected >>> 0) {
    fail(`${page} fails its checksum: its bytes have CRC-32 ${hex(actual)}, its header says ${hex(expected >>> 0)}`);
  }
}

/** Snappy's block starts with the length it decompresses to: it must be what the header claims. */
function checkSnappyLength(body: Uint8Array, header: PageHeader, page: string): void {
  const levels = header.v2?.levelBytes ?? 0;
  const expected = header.uncompressedSize! - levels;
  if (body.length === levels) return;
  let length = 0;
  for (let i = 0; ; i++) {
    const b = body[levels + i];
    if (b === undefined || i === 5) fail(`${page} is not valid snappy: its length prefix is broken`);
    length += (b & 0x7f) * 2 ** (7 * i);
    if (!(b & 0x80)) break;
  }
  if (length !== expected) fail(`${page} decompresses to ${length} bytes but its header claims ${expected}`);
}

/**
 * Counts a page's values. A dictionary page comes first, where the footer says; where the data pages
 * start is not checked against the footer's data page offset, which some writers got wrong (DuckDB
 * before 0.10.1 left the dictionary page's header out of it) and the decoder does not use.
 */
function tallyPage(header: PageHeader, tally: ChunkTally, page: string, first: boolean, chunk: ChunkLayout): void {
  if (first && chunk.dictionaryPageOffset !== undefined && header.type !== PAGE_TYPE.DICTIONARY) {
    fail(`${page}: the footer says a dictionary page starts there, but it is a page of type ${header.type}`);
  }
  switch (header.type) {
    case PAGE_TYPE.DICTIONARY:
      if (!first) fail(`${page} is a dictionary page after the column chunk's first page`);
      if (!header.hasDictionaryHeader) fail(`${page} is a dictionary page without its dictionary page header`);
      return;
    case PAGE_TYPE.INDEX:
      return;
    case PAGE_TYPE.DATA:
    case PAGE_TYPE.DATA_V2:
      break;
    default:
      fail(`${page} has the unknown page type ${header.type}`);
  }
  const v2 = header.type === PAGE_TYPE.DATA_V2;
  if (header.dataHeader !== (v2 ? 'v2' : 'v1')) fail(`${page} is a data page of type ${header.type} without its data page header`);
  tally.values += pageCount(header.numValues, page, 'values');
  if (v2) {
    const rows = pageCount(header.v2!.numRows, page, 'rows');
    tally.v2Pages++;
    tally.v2Rows += rows;
  } else tally.v1Pages++;
}

function pageCount(n: number | undefined, page: string, what: string): number {
  if (n === undefined) fail(`${page} does not say how many ${what} it holds`);
  if (n < 0) fail(`${page} claims ${n} ${what}`);
  return n;
}

/** Thrift PageHeader: 1 type, 2 uncompressed_page_size, 3 compressed_page_size, 4 crc, 5/7/8 the page kind's own header. */
function readPageHeader(r: CompactReader): PageHeader {
  const h: PageHeader = {};
  r.struct((id, type) => {
    if (id === 1) h.type = r.i32(type, 'type');
    else if (id === 2) h.uncompressedSize = r.i32(type, 'uncompressed_page_size');
    else if (id === 3) h.compressedSize = r.i32(type, 'compressed_page_size');
    else if (id === 4) h.crc = r.i32(type, 'crc');
    else if (id === 5) [h.dataHeader, h.numValues] = ['v1', readDataPageHeader(r, type)];
    else if (id === 7) h.hasDictionaryHeader = readDictionaryPageHeader(r, type);
    else if (id === 8) [h.dataHeader, h.numValues, h.v2] = ['v2', ...readDataPageHeaderV2(r, type)];
    else return false;
    return true;
  });
  return h;
}

/** DataPageHeader: 1 num_values (the rest is skipped). */
function readDataPageHeader(r: CompactReader, type: number): number | undefined {
  r.expectStruct(type, 'data_page_header');
  let numValues: number | undefined;
  r.struct((id, t) => {
    if (id !== 1) return false;
    numValues = r.i32(t, 'num_values');
    return true;
  });
  return numValues;
}

/** DictionaryPageHeader: 1 num_values, required. */
function readDictionaryPageHeader(r: CompactReader, type: number): boolean {
  r.expectStruct(type, 'dictionary_page_header');
  let numValues: number | undefined;
  r.struct((id, t) => {
    if (id !== 1) return false;
    numValues = r.i32(t, 'num_values');
    return true;
  });
  return numValues !== undefined && numValues >= 0;
}

/** DataPageHeaderV2: 1 num_values, 3 num_rows, 5/6 level byte lengths, 7 is_compressed. */
function readDataPageHeaderV2(r: CompactReader, type: number): [number | undefined, NonNullable<PageHeader['v2']>] {
  r.expectStruct(type, 'data_page_header_v2');
  let numValues: number | undefined;
  const v2 = { numRows: undefined as number | undefined, levelBytes: 0, isCompressed: true };
  r.struct((id, t) => {
    if (id === 1) numValues = r.i32(t, 'num_values');
    else if (id === 3) v2.numRows = r.i32(t, 'num_rows');
    else if (id === 5 || id === 6) {
      const n = r.i32(t, id === 5 ? 'definition_levels_byte_length' : 'repetition_levels_byte_length');
      if (n < 0) r.fail(`a level byte length is ${n}`);
      v2.levelBytes += n;
    } else if (id === 7) v2.isCompressed = r.bool(t, 'is_compressed');
    else return false;
    return true;
  });
  return [numValues, v2];
}

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE, as gzip): node:zlib's where it has one (Node 20.15+), else tableCrc32. */
function crc32(bytes: Uint8Array): number {
  return nativeCrc32 ? nativeCrc32(bytes) >>> 0 : tableCrc32(bytes);
}

/** CRC-32 (IEEE, as gzip) computed with a table, for Node versions whose node:zlib has none. */
export function tableCrc32(bytes: Uint8Array): number {
  crcTable ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let crc = 0xffffffff;
  for (const b of bytes) crc = crcTable[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
