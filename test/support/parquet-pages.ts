// Test-only: a Parquet file taken apart into its footer and pages and laid out again, with the footer's
// offsets and sizes following the bytes actually written, so that page headers (CRCs added, sizes that
// lie) and page bytes can be changed in a real writer's file.
import { crc32 } from 'node:zlib';
import {
  concat,
  decodeStruct,
  encodeStruct,
  footerOf,
  i32,
  i64,
  items,
  lengthAndMagic,
  MAGIC,
  num,
  struct,
  type Struct,
} from './thrift-footer.js';

export interface Page {
  header: Struct;
  payload: Uint8Array;
}

/** A Parquet file taken apart: its FileMetaData and every column chunk's pages, [group][column][page]. */
export interface ParquetParts {
  meta: Struct;
  chunks: Page[][][];
}

export function splitFile(file: Uint8Array): ParquetParts {
  const { meta } = footerOf(file);
  const chunks = items<Struct>(meta, 4).map((group) =>
    items<Struct>(group, 1).map((chunk) => {
      const m = struct(chunk, 3)!;
      const dict = num(m, 11);
      let pos = dict !== undefined && dict > 0 ? dict : num(m, 9)!;
      const end = pos + num(m, 7)!;
      const pages: Page[] = [];
      while (pos < end) {
        const { value: header, end: payloadStart } = decodeStruct(file, pos);
        pos = payloadStart + num(header, 3)!;
        pages.push({ header, payload: file.slice(payloadStart, pos) });
      }
      return pages;
    }),
  );
  return { meta, chunks };
}

/**
 * Lays the pages out again, chunk after chunk, and points the footer at them: data and dictionary page
 * offsets, compressed sizes and row-group offsets follow the bytes actually written (page headers may
 * have changed length). Page indexes and bloom filters are dropped. Compressed page sizes are the
 * headers' own (a header lying about its size is written as it is, with its real payload).
 */
export function joinFile({ meta, chunks }: ParquetParts): Uint8Array {
  const parts: Uint8Array[] = [MAGIC];
  let pos = MAGIC.length;
  const groups = items<Struct>(meta, 4);
  chunks.forEach((columns, g) => {
    const groupStart = pos;
    columns.forEach((pages, c) => {
      const chunk = items<Struct>(groups[g]!, 1)[c]!;
      const m = struct(chunk, 3)!;
      const start = pos;
      let dataOffset: number | undefined;
      for (const page of pages) {
        if (num(page.header, 1) !== 2) dataOffset ??= pos;
        const header = encodeStruct(page.header);
        parts.push(header, page.payload);
        pos += header.length + page.payload.length;
      }
      if (m.has(11) && num(m, 11)! > 0) m.set(11, i64(start));
      m.set(9, i64(dataOffset ?? start));
      m.set(7, i64(pos - start));
      for (const id of [14, 15]) m.delete(id);
      for (const id of [4, 5, 6, 7]) chunk.delete(id);
    });
    if (groups[g]!.has(5)) groups[g]!.set(5, i64(groupStart));
    if (groups[g]!.has(6)) groups[g]!.set(6, i64(pos - groupStart));
  });
  const footer = encodeStruct(meta);
  return concat([...parts, footer, lengthAndMagic(footer.length)]);
}

/** Takes the file apart, lets `edit` change each page (header and payload), and lays it out again. */
export function rewritePages(
  file: Uint8Array,
  edit: (page: Page, at: { group: number; column: number; page: number }) => void,
): Uint8Array {
  const parts = splitFile(file);
  parts.chunks.forEach((columns, group) =>
    columns.forEach((pages, column) => pages.forEach((p, page) => edit(p, { group, column, page }))),
  );
  return joinFile(parts);
}

/** Every page with a CRC-32 of its payload in the header, as the Parquet spec defines it. */
export function withPageCrcs(file: Uint8Array): Uint8Array {
  return rewritePages(file, (page) => page.header.set(4, i32(crc32(page.payload) | 0)));
}
