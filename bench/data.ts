// The data set: generated once with DuckDB COPY straight to files (a writer other than the reader under test),
// cached under .bench-data/ by a hash of what generates it, and uploaded to each run's fresh S3 server.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { S3TestServer } from '../test/support/s3-server.js';
import { DATA_ROOT, mb, progress, ROOT } from './util.js';

interface FileSpec {
  bucket: string;
  key: string;
  rows: number;
  codec: 'snappy' | 'zstd';
  sql: string;
  rowGroupSize?: number;
}

export interface GeneratedFile extends FileSpec {
  path: string;
  bytes: number;
  rowGroups: number;
}

export const MAIN_BUCKET = 'bench-main';
export const BIG_BUCKET = 'bench-big';
export const MID_BUCKET = 'bench-mid';
/** Four copies of the mid-size file, read in one sync: what bounds memory when several big files are open at once. */
export const MULTI_BUCKET = 'bench-multi';
export const MULTI_COPIES = 4;

/** The generated files, and the parts of them each measurement reads. */
export interface DataSet {
  files: GeneratedFile[];
  /** The main bucket's files: the throughput, no-change and profile measurements. */
  main: GeneratedFile[];
  mainRows: number;
  mainBytes: number;
  /** The big file and the one a quarter of its size: the peak RSS measurements (absent when not generated). */
  big: GeneratedFile;
  mid: GeneratedFile;
}

export function describeDataSet(files: GeneratedFile[]): DataSet {
  const main = files.filter((f) => f.bucket === MAIN_BUCKET);
  return {
    files,
    main,
    mainRows: main.reduce((n, f) => n + f.rows, 0),
    mainBytes: main.reduce((n, f) => n + f.bytes, 0),
    big: files.find((f) => f.bucket === BIG_BUCKET)!,
    mid: files.find((f) => f.bucket === MID_BUCKET)!,
  };
}

/** Mixed columns: int64, float64, short and long strings with repeats, tz timestamps, a nullable int, a list. */
function mainSql(start: number, rows: number, payload: boolean): string {
  // Eight distinct md5 digests (256 hex characters) a row: bytes that neither codec can shrink much, so a
  // file of a few million rows weighs a gigabyte.
  const blob = Array.from({ length: 8 }, (_, k) => `md5((i * 8 + ${k})::VARCHAR)`).join(' || ');
  return `SELECT
  i::BIGINT                                                             AS id,
  (hash(i) % 100000000)::DOUBLE / 100                                   AS amount,
  'cat_' || (hash(i * 7) % 200)                                         AS category,
  repeat('lorem ipsum dolor sit amet ', 3 + (i % 5)::INTEGER) || (hash(i * 13) % 1000) AS description,
  make_timestamp(1704067200000000 + i * 1000003)::TIMESTAMPTZ           AS created_at,
  CASE WHEN i % 5 = 0 THEN NULL ELSE (hash(i * 3) % 100000)::INTEGER END AS score,
  list_transform(range((i % 4)::BIGINT), x -> 'tag' || ((i + x) % 50)) AS tags${
    payload
      ? `,
  ${blob} AS payload`
      : ''
  }
FROM range(${start}, ${start + rows}) t(i)`;
}

function dataSet(quick: boolean): FileSpec[] {
  const files: FileSpec[] = [];
  // Main bucket: >= 8 files, 10M rows (1M quick), snappy and zstd alternating, several row groups each.
  const count = quick ? 8 : 10;
  const perFile = quick ? 125_000 : 1_000_000;
  for (let f = 0; f < count; f++) {
    files.push({
      bucket: MAIN_BUCKET,
      key: `events/part-${String(f).padStart(2, '0')}.parquet`,
      rows: perFile,
      codec: f % 2 === 0 ? 'snappy' : 'zstd',
      sql: mainSql(f * perFile, perFile, false),
      rowGroupSize: quick ? 32_768 : undefined,
    });
  }
  // One big file (>= 1 GB) and one a quarter of its size, same schema and row group size: peak RSS must not
  // follow the file size.
  const big = quick ? 400_000 : 3_900_000;
  const mid = quick ? 100_000 : 900_000;
  files.push({ bucket: BIG_BUCKET, key: 'big/data.parquet', rows: big, codec: 'snappy', sql: mainSql(0, big, true) });
  files.push({ bucket: MID_BUCKET, key: 'big/data.parquet', rows: mid, codec: 'snappy', sql: mainSql(0, mid, true) });
  return files;
}

/** The data set of --quick or of a full run: from the cache when its manifest matches, else generated. */
export async function ensureData(quick: boolean): Promise<GeneratedFile[]> {
  const specs = dataSet(quick);
  const version = createHash('sha256').update(JSON.stringify(specs)).digest('hex').slice(0, 16);
  const dir = join(DATA_ROOT, quick ? 'quick' : 'full');
  const manifestPath = join(dir, 'manifest.json');
  const cached = cachedFiles(manifestPath, version);
  if (cached) {
    progress(`data: cached in ${relative(ROOT, dir)} (${cached.length} files)`);
    return cached;
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  progress(`data: generating ${specs.length} Parquet files with DuckDB into ${relative(ROOT, dir)} (once)`);
  const files = await generate(specs, dir);
  writeFileSync(manifestPath, JSON.stringify({ version, files }, null, 2));
  return files;
}

/** The files of a manifest of this version whose files are all present at their recorded sizes. */
function cachedFiles(manifestPath: string, version: string): GeneratedFile[] | undefined {
  if (!existsSync(manifestPath)) return undefined;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { version: string; files: GeneratedFile[] };
  if (manifest.version !== version) return undefined;
  return manifest.files.every((f) => existsSync(f.path) && statSync(f.path).size === f.bytes) ? manifest.files : undefined;
}

async function generate(specs: FileSpec[], dir: string): Promise<GeneratedFile[]> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const conn = await instance.connect();
  await conn.run(`SET TimeZone = 'UTC'`);
  const files: GeneratedFile[] = [];
  try {
    for (const spec of specs) {
      const path = join(dir, spec.bucket, spec.key);
      mkdirSync(dirname(path), { recursive: true });
      const partial = `${path}.partial`;
      const options = ['FORMAT parquet', `COMPRESSION ${spec.codec}`];
      if (spec.rowGroupSize) options.push(`ROW_GROUP_SIZE ${spec.rowGroupSize}`);
      const started = performance.now();
      await conn.run(`COPY (${spec.sql}) TO '${partial}' (${options.join(', ')})`);
      const groups = await conn.runAndReadAll(`SELECT count(DISTINCT row_group_id)::INTEGER AS n FROM parquet_metadata('${partial}')`);
      renameSync(partial, path);
      const bytes = statSync(path).size;
      files.push({ ...spec, path, bytes, rowGroups: Number(groups.getRowObjectsJS()[0]!.n) });
      progress(`data:   ${spec.bucket}/${spec.key}: ${spec.rows} rows, ${mb(bytes)} MB, ${((performance.now() - started) / 1000) | 0} s`);
    }
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
  return files;
}

/** Uploads what the chosen sections read (not timed); with rss, also MULTI_COPIES copies of the mid-size file. */
export async function uploadNeeded(s3: S3TestServer, data: DataSet, needs: { main: boolean; rss: boolean }): Promise<void> {
  await upload(
    s3,
    data.files.filter((f) => (f.bucket === MAIN_BUCKET ? needs.main : needs.rss)),
  );
  if (needs.rss) {
    const copies = Array.from({ length: MULTI_COPIES }, (_, c) => ({ ...data.mid, bucket: MULTI_BUCKET, key: `multi/data-${c}.parquet` }));
    await upload(s3, copies);
  }
}

export async function upload(s3: S3TestServer, files: { bucket: string; key: string; path: string; bytes: number }[]): Promise<void> {
  for (const bucket of new Set(files.map((f) => f.bucket))) await s3.createBucket(bucket);
  for (const file of files) {
    const started = performance.now();
    await s3.put(file.bucket, file.key, await readFile(file.path));
    progress(`upload: ${file.bucket}/${file.key} ${mb(file.bytes)} MB in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
}
