// The fuzz cases: real writers' files (DuckDB and Arrow's Rust writer for Parquet, DuckDB for CSV and
// JSON Lines, avro-js for Avro), each damaged in one seeded way: bytes of a data, dictionary or page
// header flipped or overwritten, a footer or page header field re-encoded with a lying value, the
// file cut short, a compressed body damaged. Beside them, in the same tables, the good files whose
// rows a sync must deliver exactly.
import { Table, Utf8, vectorFromArray } from 'apache-arrow';
import * as wasm from 'parquet-wasm/esm';
import { avroFile, type AvroCodec } from './avro-fixtures.js';
import { ALL_TYPES_SQL, parquetFromSql } from './fixtures.js';
import { parquetFromArrowWith, simpleSql } from './hostile-parquet.js';
import { rewritePages, splitFile, withPageCrcs } from './parquet-pages.js';
import { compress, textFromSql } from './text-fixtures.js';
import { decodeStruct, footerOf, items, num, struct, withFooter, type Struct } from './thrift-footer.js';
import { damage, lieInStruct, truncate, type Rng } from './fuzz-mutate.js';

export type CaseKind = 'parquet' | 'csv' | 'jsonl' | 'avro';

export interface FuzzCase {
  /** The table's directory below the batch prefix; the key is `<prefix><table>/<name>`. */
  table: string;
  name: string;
  kind: CaseKind;
  body: Uint8Array;
  /** The base file and what was done to it: enough to see the case, the seed replays it. */
  how: string;
  /** The kind of damage, for totals: `parquet footer-lie`, `csv gz body`, `avro truncated`. */
  damage: string;
}

/** A good file and the rows it must deliver (values as text, by column). */
export interface GoodFile {
  table: string;
  name: string;
  body: Uint8Array;
  rows: Record<string, string>[];
}

interface Base {
  name: string;
  file: Uint8Array;
}

export interface Bases {
  parquet: Base[];
  alltypes: Base[];
  csv: string;
  jsonl: string;
  avro: Base[];
  good: GoodFile[];
}

// ---------------------------------------------------------------------------------------------------
// The files before damage

const textSql = (from: number, to: number) => `SELECT i::BIGINT AS id, 'n' || i AS name, i + 0.5 AS amount FROM range(${from}, ${to}) t(i)`;
const textRows = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, k) => ({ id: String(from + k), name: `n${from + k}`, amount: String(from + k + 0.5) }));
const simpleRows = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, k) => {
    const i = from + k;
    return { id: String(i), name: `v${i}`, small: String(i % 7), pair: `${i},${i + 1}` };
  });
const allTypesRows = () =>
  Array.from({ length: 3000 }, (_, i) => ({
    id: String(i),
    c_varchar: `row-${i}-é✓`,
    c_bigint: String(BigInt(i - 1500) * 6148914691236517n),
  }));

const AVRO_SCHEMA = {
  type: 'record',
  name: 'Row',
  fields: Object.entries({ id: 'long', name: 'string', amount: 'double' }).map(([name, type]) => ({ name, type })),
};
const avroRecords = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, k) => ({ id: BigInt(from + k), name: `n${from + k}`, amount: from + k + 0.5 }));

/** Arrow's Rust writer: v2 data pages, small pages, no dictionary for some columns. */
function arrowV2(rows: number): Uint8Array {
  // Plain utf8 names (tableFromArrays would make them a dictionary type, which does not merge with DuckDB's).
  const table = new Table({
    id: vectorFromArray(BigInt64Array.from({ length: rows }, (_, i) => BigInt(i))),
    name: vectorFromArray(
      Array.from({ length: rows }, (_, i) => `v${i}`),
      new Utf8(),
    ),
    small: vectorFromArray(Int32Array.from({ length: rows }, (_, i) => i % 7)),
  });
  return parquetFromArrowWith(table, (b) =>
    b.setWriterVersion(wasm.WriterVersion.V2).setCompression(wasm.Compression.SNAPPY).setDataPageSizeLimit(1024).setWriteBatchSize(100),
  );
}

/** Every base file and every good file, written once per run. */
export async function makeBases(): Promise<Bases> {
  const snappy = await parquetFromSql(simpleSql(0, 3000), { rowGroupSize: 2048 });
  const avro = await Promise.all(
    (['null', 'deflate', 'snappy'] as AvroCodec[]).map(async (codec) => ({
      name: `avro-${codec}`,
      file: new Uint8Array(await avroFile(AVRO_SCHEMA, avroRecords(0, 300), { codec, blockSize: 1024 })),
    })),
  );
  const good: GoodFile[] = [
    { table: 'parquet', name: 'a-good.parquet', body: await parquetFromSql(simpleSql(10_000, 11_000)), rows: simpleRows(10_000, 11_000) },
    {
      table: 'parquet',
      name: 'z-good-crcs.parquet',
      body: withPageCrcs(await parquetFromSql(simpleSql(20_000, 22_048), { rowGroupSize: 2048, codec: 'zstd' })),
      rows: simpleRows(20_000, 22_048),
    },
    { table: 'alltypes', name: 'a-good.parquet', body: await parquetFromSql(ALL_TYPES_SQL, { rowGroupSize: 1024 }), rows: allTypesRows() },
    { table: 'csv', name: 'a-good.csv', body: await textFromSql(textSql(1000, 1100), 'csv'), rows: textRows(1000, 1100) },
    { table: 'csv', name: 'z-good.csv.gz', body: await textFromSql(textSql(2000, 2100), 'csv', 'gz'), rows: textRows(2000, 2100) },
    { table: 'jsonl', name: 'a-good.jsonl', body: await textFromSql(textSql(1000, 1100), 'jsonl'), rows: textRows(1000, 1100) },
    { table: 'jsonl', name: 'z-good.jsonl.zst', body: await textFromSql(textSql(2000, 2100), 'jsonl', 'zst'), rows: textRows(2000, 2100) },
    {
      table: 'avro',
      name: 'a-good.avro',
      body: new Uint8Array(await avroFile(AVRO_SCHEMA, avroRecords(1000, 1100))),
      rows: textRows(1000, 1100),
    },
    {
      table: 'avro',
      name: 'z-good.avro',
      body: new Uint8Array(await avroFile(AVRO_SCHEMA, avroRecords(2000, 2100), { codec: 'deflate' })),
      rows: textRows(2000, 2100),
    },
  ];
  return {
    parquet: [
      { name: 'duckdb-snappy', file: snappy },
      { name: 'duckdb-uncompressed', file: await parquetFromSql(simpleSql(0, 3000), { rowGroupSize: 2048, codec: 'uncompressed' }) },
      { name: 'duckdb-gzip-crcs', file: withPageCrcs(await parquetFromSql(simpleSql(0, 3000), { rowGroupSize: 2048, codec: 'gzip' })) },
      { name: 'arrow-v2-snappy', file: arrowV2(3000) },
    ],
    alltypes: [
      { name: 'duckdb-alltypes-uncompressed', file: await parquetFromSql(ALL_TYPES_SQL, { rowGroupSize: 1024, codec: 'uncompressed' }) },
      { name: 'duckdb-alltypes-zstd', file: await parquetFromSql(ALL_TYPES_SQL, { rowGroupSize: 1024, codec: 'zstd' }) },
    ],
    csv: Buffer.from(await textFromSql(textSql(0, 200), 'csv')).toString('utf8'),
    jsonl: Buffer.from(await textFromSql(textSql(0, 200), 'jsonl')).toString('utf8'),
    avro,
    good,
  };
}

// ---------------------------------------------------------------------------------------------------
// Parquet damage

/** Where each page header of a file lies, [start, end), found by walking its chunks. */
function pageHeaderRanges(file: Uint8Array): [number, number][] {
  const ranges: [number, number][] = [];
  for (const group of items<Struct>(footerOf(file).meta, 4))
    for (const chunk of items<Struct>(group, 1)) {
      const m = struct(chunk, 3)!;
      const dict = num(m, 11);
      let pos = dict !== undefined && dict > 0 ? dict : num(m, 9)!;
      const end = pos + num(m, 7)!;
      while (pos < end) {
        const { value, end: payload } = decodeStruct(file, pos);
        ranges.push([pos, payload]);
        pos = payload + num(value, 3)!;
      }
    }
  return ranges;
}

/** Damages the payload of one page of the given types (0 data, 2 dictionary, 3 data v2). */
function damagePage(file: Uint8Array, rng: Rng, types: number[]): { file: Uint8Array; how: string } {
  const pages = splitFile(file)
    .chunks.flatMap((columns, group) => columns.flatMap((pages, column) => pages.map((p, page) => ({ p, group, column, page }))))
    .filter(({ p }) => types.includes(num(p.header, 1)!) && p.payload.length > 0);
  if (pages.length === 0) return { file, how: 'no such page' };
  const target = rng.pick(pages);
  let how = '';
  const out = rewritePages(file, (p, at) => {
    if (at.group !== target.group || at.column !== target.column || at.page !== target.page) return;
    p.payload = p.payload.slice();
    how = damage(p.payload, rng);
  });
  return { file: out, how: `page ${target.group}/${target.column}/${target.page} (type ${num(target.p.header, 1)}): ${how}` };
}

/** One page header re-encoded with a lying field. */
function lieInPageHeader(file: Uint8Array, rng: Rng): { file: Uint8Array; how: string } {
  const counts = splitFile(file).chunks.flatMap((columns, group) =>
    columns.flatMap((pages, column) => pages.map((_, page) => [group, column, page])),
  );
  const [group, column, page] = rng.pick(counts);
  let how = '';
  const out = rewritePages(file, (p, at) => {
    if (at.group === group && at.column === column && at.page === page) how = lieInStruct(p.header, rng, `page ${group}/${column}/${page}`);
  });
  return { file: out, how };
}

/** Raw bytes of a page header damaged (its varints and field headers, not re-encoded). */
function damagePageHeaderBytes(file: Uint8Array, rng: Rng): { file: Uint8Array; how: string } {
  const [start, end] = rng.pick(pageHeaderRanges(file));
  const out = file.slice();
  return { file: out, how: `page header at ${start}: ${damage(out, rng, start, end)}` };
}

const PARQUET_DAMAGE: [string, number, (file: Uint8Array, rng: Rng) => { file: Uint8Array; how: string }][] = [
  ['data-page', 3, (f, rng) => damagePage(f, rng, [0, 3])],
  ['dictionary-page', 2, (f, rng) => damagePage(f, rng, [2])],
  ['page-header-lie', 3, lieInPageHeader],
  ['page-header-bytes', 2, damagePageHeaderBytes],
  [
    'footer-lie',
    4,
    (f, rng) => {
      let how = '';
      return { file: withFooter(f, (meta) => (how = lieInStruct(meta, rng, 'footer'))), how };
    },
  ],
  [
    'footer-bytes',
    2,
    (f, rng) => {
      const out = f.slice();
      return { file: out, how: damage(out, rng, footerOf(f).start, f.length - 8) };
    },
  ],
  [
    'tail-bytes',
    1,
    (f, rng) => {
      const out = f.slice();
      return { file: out, how: damage(out, rng, f.length - 8, f.length) };
    },
  ],
  [
    'anywhere',
    1,
    (f, rng) => {
      const out = f.slice();
      return { file: out, how: damage(out, rng) };
    },
  ],
  [
    'truncated',
    1,
    (f, rng) => {
      const { bytes, how } = truncate(f, rng);
      return { file: bytes, how };
    },
  ],
];

function weighted<V>(rng: Rng, entries: [string, number, V][]): [string, V] {
  let at = rng.int(entries.reduce((n, [, w]) => n + w, 0));
  for (const [name, weight, value] of entries) {
    if (at < weight) return [name, value];
    at -= weight;
  }
  throw new Error('unreachable');
}

function parquetCase(table: string, bases: Base[], rng: Rng, index: number): FuzzCase {
  const base = rng.pick(bases);
  const [what, mutate] = weighted(rng, PARQUET_DAMAGE);
  const { file, how } = mutate(base.file, rng);
  return {
    table,
    name: `m-${index}-${what}.parquet`,
    kind: 'parquet',
    body: file,
    how: `${base.name}, ${what}: ${how}`,
    damage: `parquet ${what}`,
  };
}

// ---------------------------------------------------------------------------------------------------
// Text and Avro damage

type TextCompression = 'none' | 'gz' | 'zst';

/** A CSV or JSON Lines file damaged as text, or compressed and then damaged or cut. */
async function textCase(kind: 'csv' | 'jsonl', text: string, rng: Rng, index: number): Promise<FuzzCase> {
  const compression = rng.pick<TextCompression>(['none', 'none', 'gz', 'zst']);
  const ext = `.${kind}${compression === 'none' ? '' : `.${compression}`}`;
  const plain = new Uint8Array(Buffer.from(text));
  const mode = compression === 'none' ? 'text' : rng.pick(['text', 'body', 'body-cut']);
  let body: Uint8Array;
  let how: string;
  const cut = mode === 'body-cut' || (mode === 'text' && rng.next() < 0.2);
  if (mode === 'text') {
    const damaged = cut ? truncate(plain, rng) : { bytes: plain, how: damage(plain, rng) };
    body = await compress(damaged.bytes, compression);
    how = `text ${damaged.how}`;
  } else {
    const packed = new Uint8Array(await compress(plain, compression));
    const damaged = mode === 'body-cut' ? truncate(packed, rng) : { bytes: packed, how: damage(packed, rng) };
    body = damaged.bytes;
    how = `compressed body ${damaged.how}`;
  }
  const kindOfDamage = `${kind}${compression === 'none' ? '' : ` ${compression}`} ${mode === 'text' ? 'text' : 'body'}${cut ? ' truncated' : ''}`;
  return { table: kind, name: `m-${index}${ext}`, kind, body, how: `${kind} ${compression}: ${how}`, damage: kindOfDamage };
}

function avroCase(bases: Base[], rng: Rng, index: number): FuzzCase {
  const base = rng.pick(bases);
  const cut = rng.next() < 0.2;
  const file = base.file.slice();
  const { bytes, how } = cut ? truncate(file, rng) : { bytes: file, how: damage(file, rng) };
  return {
    table: 'avro',
    name: `m-${index}.avro`,
    kind: 'avro',
    body: bytes,
    how: `${base.name}: ${how}`,
    damage: cut ? 'avro truncated' : 'avro bytes',
  };
}

/** `count` cases, their mix fixed by the generator: Parquet most, then CSV, JSON Lines, Avro. */
export async function makeCases(bases: Bases, rng: Rng, count: number): Promise<FuzzCase[]> {
  const cases: FuzzCase[] = [];
  for (let index = 0; index < count; index++) {
    const r = rng.fork(index);
    const roll = r.int(20);
    if (roll < 7) cases.push(parquetCase('parquet', bases.parquet, r, index));
    else if (roll < 10) cases.push(parquetCase('alltypes', bases.alltypes, r, index));
    else if (roll < 14) cases.push(await textCase('csv', bases.csv, r, index));
    else if (roll < 17) cases.push(await textCase('jsonl', bases.jsonl, r, index));
    else cases.push(avroCase(bases.avro, r, index));
  }
  return cases;
}
