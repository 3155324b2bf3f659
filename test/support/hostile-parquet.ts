// Hostile Parquet files, made deterministically from real writers' output (DuckDB, and Arrow's Rust
// writer through parquet-wasm): each one lies in one way (its footer, a page header, a page's bytes)
// and says which message the reader must answer with. Also the good files every check must accept.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tableFromArrays, tableToIPC, type Table } from 'apache-arrow';
import * as wasm from 'parquet-wasm/esm';
import { ALL_TYPES_SQL, parquetFromSql } from './fixtures.js';
import {
  T,
  binary,
  encodeStruct,
  concat,
  decodeStruct,
  i32,
  i64,
  items,
  list,
  num,
  struct,
  withFooter,
  type Struct,
} from './thrift-footer.js';
import { rewritePages, withPageCrcs } from './parquet-pages.js';

export interface GoodFile {
  name: string;
  file: Uint8Array;
  rows: number;
}

export interface HostileFile {
  name: string;
  file: Uint8Array;
  /** What the reader must say of it. */
  message: RegExp;
  /** Where the lie is caught: the footer (before decoding), or a fetched row group's pages. */
  caughtBy: 'footer' | 'pages';
}

/** The E2E table's rows: a dictionary column, text, and a repeated (list) column. */
export const simpleSql = (from: number, to: number) =>
  `SELECT i::BIGINT AS id, 'v' || i AS name, (i % 7)::INTEGER AS small, [i::INTEGER, (i + 1)::INTEGER] AS pair FROM range(${from}, ${to}) t(i)`;

// ---------------------------------------------------------------------------------------------------
// Good files

let wasmReady = false;

/** Arrow's Rust writer with explicit properties (DuckDB writes neither v2 pages nor a page size limit). */
export function parquetFromArrowWith(
  table: Table,
  configure: (b: wasm.WriterPropertiesBuilder) => wasm.WriterPropertiesBuilder,
): Uint8Array {
  if (!wasmReady) {
    wasm.initSync({ module: readFileSync(createRequire(import.meta.url).resolve('parquet-wasm/esm/parquet_wasm_bg.wasm')) });
    wasmReady = true;
  }
  return wasm.writeParquet(wasm.Table.fromIPCStream(tableToIPC(table, 'stream')), configure(new wasm.WriterPropertiesBuilder()).build());
}

function arrowTable(rows: number): Table {
  const ids = BigInt64Array.from({ length: rows }, (_, i) => BigInt(i));
  const small = Int32Array.from({ length: rows }, (_, i) => i % 7);
  const names = Array.from({ length: rows }, (_, i) => `v${i}`);
  return tableFromArrays({ id: ids, small, name: names });
}

export async function goodFiles(): Promise<GoodFile[]> {
  const files: GoodFile[] = [];
  for (const codec of ['snappy', 'gzip', 'zstd', 'uncompressed'] as const) {
    files.push({ name: `duckdb-alltypes-${codec}`, file: await parquetFromSql(ALL_TYPES_SQL, { codec, rowGroupSize: 1024 }), rows: 3000 });
  }
  const crcs = withPageCrcs(await parquetFromSql(ALL_TYPES_SQL, { codec: 'snappy', rowGroupSize: 1024 }));
  files.push({ name: 'duckdb-alltypes-page-crcs', file: crcs, rows: 3000 });
  files.push({ name: 'duckdb-many-row-groups', file: await parquetFromSql(simpleSql(0, 100_000), { rowGroupSize: 2048 }), rows: 100_000 });
  files.push({ name: 'duckdb-one-big-row-group', file: await parquetFromSql(simpleSql(0, 300_000), { codec: 'zstd' }), rows: 300_000 });
  files.push({ name: 'duckdb-zero-rows', file: await parquetFromSql(`${simpleSql(0, 10)} WHERE false`), rows: 0 });
  const V = wasm.WriterVersion;
  const C = wasm.Compression;
  const arrow: [string, (b: wasm.WriterPropertiesBuilder) => wasm.WriterPropertiesBuilder][] = [
    ['arrow-dictionary', (b) => b],
    [
      'arrow-no-dictionary-snappy',
      (b) => b.setDictionaryEnabled(false).setCompression(C.SNAPPY).setDataPageSizeLimit(1024).setWriteBatchSize(100),
    ],
    ['arrow-v2-pages-snappy', (b) => b.setWriterVersion(V.V2).setCompression(C.SNAPPY).setDataPageSizeLimit(1024).setWriteBatchSize(100)],
    ['arrow-v2-pages-zstd', (b) => b.setWriterVersion(V.V2).setCompression(C.ZSTD).setDataPageSizeLimit(1024).setWriteBatchSize(100)],
    [
      'arrow-v2-uncompressed',
      (b) => b.setWriterVersion(V.V2).setDictionaryEnabled(false).setDataPageSizeLimit(1024).setWriteBatchSize(100),
    ],
    ['arrow-row-groups', (b) => b.setMaxRowGroupSize(1000).setCompression(C.GZIP)],
  ];
  for (const [name, configure] of arrow) files.push({ name, file: parquetFromArrowWith(arrowTable(5000), configure), rows: 5000 });
  files.push({ name: 'arrow-zero-rows', file: parquetFromArrowWith(arrowTable(0), (b) => b), rows: 0 });
  return files;
}

// ---------------------------------------------------------------------------------------------------
// Footer edits

/** FileMetaData field ids: 2 schema, 3 num_rows, 4 row_groups. RowGroup: 1 columns, 3 num_rows. */
const rowGroups = (meta: Struct) => items<Struct>(meta, 4);
const chunkMeta = (meta: Struct, group: number, column: number) => struct(items<Struct>(rowGroups(meta)[group]!, 1)[column]!, 3)!;
/** The first column chunk with a dictionary page (ColumnMetaData field 11). */
function dictionaryColumn(meta: Struct): number {
  return items<Struct>(rowGroups(meta)[0]!, 1).findIndex((c) => struct(c, 3)!.has(11));
}

/**
 * Footers as some writers really wrote them, which the checks must accept and the decoder reads:
 * DuckDB before 0.10.1 left the dictionary page's header out of the data page offset; older writers
 * gave no dictionary page offset and pointed the data page offset at the dictionary page; some set
 * the dictionary page offset of a chunk without dictionary to its data page offset.
 */
export function legacyLayouts(base: Uint8Array): { name: string; file: Uint8Array }[] {
  const edit = (name: string, change: (m: Struct, file: Uint8Array) => void) => ({ name, file: withFooter(base, (m) => change(m, base)) });
  const everyChunk = (m: Struct, change: (c: Struct) => void) =>
    rowGroups(m).forEach((g) => items<Struct>(g, 1).forEach((c) => change(struct(c, 3)!)));
  return [
    edit('legacy-data-offset-inside-dictionary', (m, file) =>
      everyChunk(m, (c) => {
        if (c.has(11)) c.set(9, i64(num(c, 11)! + num(decodeStruct(file, num(c, 11)!).value, 3)!));
      }),
    ),
    edit('legacy-no-dictionary-offset', (m) =>
      everyChunk(m, (c) => {
        if (!c.has(11)) return;
        c.set(9, c.get(11)!);
        c.delete(11);
      }),
    ),
    edit('dictionary-offset-equals-data', (m) =>
      everyChunk(m, (c) => {
        if (!c.has(11)) c.set(11, c.get(9)!);
      }),
    ),
  ];
}

/** A FileMetaData of `depth` nested groups around one int32 column, and no row groups. */
export function deepSchemaFile(depth: number): Uint8Array {
  const element = (name: string, fields: [number, number][]) =>
    new Map([[4, binary(name)], ...fields.map(([id, v]) => [id, i32(v)] as const)]);
  const schema: Struct[] = [element('schema', [[5, 1]])];
  for (let level = 1; level < depth; level++)
    schema.push(
      element(`g${level}`, [
        [3, 1],
        [5, 1],
      ]),
    );
  schema.push(
    element('leaf', [
      [1, 1],
      [3, 1],
    ]),
  );
  const meta: Struct = new Map([
    [1, i32(1)],
    [2, list(T.STRUCT, schema)],
    [3, i64(0)],
    [4, list(T.STRUCT, [])],
  ]);
  const footer = encodeStruct(meta);
  const tail = new Uint8Array(8);
  new DataView(tail.buffer).setUint32(0, footer.length, true);
  tail.set(new TextEncoder().encode('PAR1'), 4);
  return concat([new TextEncoder().encode('PAR1'), footer, tail]);
}

/** Lies in the footer, each caught before any byte is decoded. `base` is simpleSql(0, 3000) with 2048-row groups. */
export function footerLies(base: Uint8Array): HostileFile[] {
  const lie = (name: string, message: RegExp, edit: (meta: Struct) => void): HostileFile => ({
    name,
    file: withFooter(base, edit),
    message,
    caughtBy: 'footer',
  });
  const setRows = (meta: Struct, group: number, rows: number | bigint) => rowGroups(meta)[group]!.set(3, i64(rows));
  return [
    lie('chunk-size-negative', /row group 0, column id: the column chunk size -5 is negative/, (m) => chunkMeta(m, 0, 0).set(7, i64(-5))),
    lie('chunk-size-2gb', /row group 0, column name: the column chunk \(bytes \d+-\d+\) lies outside the data area/, (m) =>
      chunkMeta(m, 0, 1).set(7, i64(2 ** 31)),
    ),
    lie('dictionary-offset-after-data', /the dictionary page offset \d+ is not before the data page at \d+/, (m) => {
      const c = chunkMeta(m, 0, dictionaryColumn(m));
      c.set(11, i64(num(c, 9)! + 10));
    }),
    lie('dictionary-offset-shifted', /overlap/, (m) => {
      const c = chunkMeta(m, 0, dictionaryColumn(m));
      c.set(11, i64(num(c, 11)! + 3));
    }),
    lie(
      'rows-2-to-the-40',
      /row group 0, column id: the column chunk holds 2048 values but its row group claims 1099511627776 rows/,
      (m) => {
        setRows(m, 0, 2n ** 40n);
        m.set(3, i64(2n ** 40n + 952n));
      },
    ),
    lie('file-rows-2-to-the-40', /the footer says the file holds 1099511627776 rows but its row groups hold 3000/, (m) =>
      m.set(3, i64(2n ** 40n)),
    ),
    lie('rows-negative', /row group 1 claims -5 rows/, (m) => setRows(m, 1, -5)),
    lie('rows-sum-mismatch', /the footer says the file holds 3001 rows but its row groups hold 3000/, (m) => m.set(3, i64(3001))),
    lie('more-rows-than-data', /column id: the column chunk holds 952 values but its row group claims 1000 rows/, (m) => {
      setRows(m, 1, 1000);
      m.set(3, i64(3048));
    }),
    lie('no-row-groups-but-data', /the footer lists no row groups, yet \d+ bytes of data precede it/, (m) => {
      m.set(4, list(T.STRUCT, []));
      m.set(3, i64(0));
    }),
    lie('chunks-swapped', /row group 0, column id: the column chunk is for small, not for this column/, (m) => {
      const columns = items<Struct>(rowGroups(m)[0]!, 1);
      [columns[0], columns[2]] = [columns[2]!, columns[0]!];
    }),
    { name: 'schema-3000-deep', file: deepSchemaFile(3000), message: /the schema is nested 3000 levels deep/, caughtBy: 'footer' },
  ];
}

// ---------------------------------------------------------------------------------------------------
// Page edits

/** PageHeader field ids: 1 type, 2 uncompressed size, 3 compressed size, 4 crc, 5 data page header. */
function editPage(file: Uint8Array, column: number, edit: (header: Struct, payload: Uint8Array) => void, page = 0): Uint8Array {
  return rewritePages(file, (p, at) => {
    if (at.group !== 0 || at.column !== column || at.page !== page) return;
    p.payload = p.payload.slice();
    edit(p.header, p.payload);
  });
}

/** Lies in page headers and page bytes, caught once a row group's bytes are fetched. */
export function pageLies(snappy: Uint8Array, uncompressed: Uint8Array): HostileFile[] {
  const lie = (name: string, message: RegExp, file: Uint8Array): HostileFile => ({ name, file, message, caughtBy: 'pages' });
  const huge = 2 ** 31 - 1;
  const flip = (file: Uint8Array) => editPage(withPageCrcs(file), 0, (_, payload) => (payload[payload.length - 3]! ^= 0x10));
  return [
    lie(
      'page-uncompressed-size-negative',
      /claims a negative size \(\d+ bytes stored, -5 uncompressed\)/,
      editPage(snappy, 0, (h) => h.set(2, i32(-5))),
    ),
    lie(
      'page-compressed-size-negative',
      /claims a negative size \(-5 bytes stored/,
      editPage(snappy, 1, (h) => h.set(3, i32(-5))),
    ),
    lie(
      'page-2gb-snappy',
      /claims 2147483647 uncompressed bytes, more than the/,
      editPage(snappy, 1, (h) => h.set(2, i32(huge))),
    ),
    lie(
      'page-2gb-uncompressed',
      /claims 2147483647 uncompressed bytes, more than the/,
      editPage(uncompressed, 1, (h) => h.set(2, i32(huge))),
    ),
    lie(
      'page-size-lie-snappy',
      /decompresses to \d+ bytes but its header claims \d+/,
      editPage(snappy, 0, (h) => h.set(2, i32(num(h, 2)! + 4096))),
    ),
    lie(
      'page-size-lie-uncompressed',
      /is stored uncompressed in \d+ bytes but claims \d+ uncompressed bytes/,
      editPage(uncompressed, 0, (h) => h.set(2, i32(num(h, 2)! + 4096))),
    ),
    lie(
      'page-values-short',
      /column id: the pages hold 2047 values but the footer says 2048/,
      editPage(snappy, 0, (h) => struct(h, 5)!.set(1, i32(2047))),
    ),
    lie(
      'page-overruns-chunk',
      /claims \d+ bytes but its column chunk ends \d+ bytes after its header/,
      editPage(snappy, 0, (h) => h.set(3, i32(num(h, 3)! + 1))),
    ),
    lie('bit-flip-uncompressed', /column id: the page at byte \d+ fails its checksum/, flip(uncompressed)),
    lie('bit-flip-snappy', /column id: the page at byte \d+ fails its checksum/, flip(snappy)),
  ];
}
