// The scale section's files, in a local directory the plugin reads through `local_path` (so the figures
// are the plugin's own, not the S3 server's): a Spark-shaped Parquet file (a few row groups of ~85 MB
// compressed), three of them in one table, thousands of 50-row files in 20 directories, and the same rows
// as the largest set of small files in one file. Written by DuckDB, cached under .bench-data/.
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cachedDataSet, withDuckDb, type CachedFile } from './data-cache.js';
import { DATA_ROOT, mb, progress } from './util.js';

/** Rows per row group of the Spark-shaped file: ~85 MB compressed (snappy), ~170 MB uncompressed. */
export const SPARK_ROW_GROUP_ROWS = 400_000;
export const SPARK_COPIES = 3;
export const TINY_ROWS = 50;
export const TINY_DIRS = 20;
/** Rows of ~1 MiB text in the large-values file: one row group of ~314 MB, incompressible under snappy. */
export const LARGE_VALUE_ROWS = 300;

type Sql = (text: string) => Promise<Record<string, unknown>[]>;

export interface ScaleShapes {
  /** Row groups of the Spark-shaped file (5 for a ~434 MB file; fewer with --quick). */
  sparkRowGroups: number;
  /** The two numbers of small files whose peak RSS gives the growth per file. */
  tinyCounts: [number, number];
}

export function scaleShapes(quick: boolean): ScaleShapes {
  return quick ? { sparkRowGroups: 2, tinyCounts: [500, 5_000] } : { sparkRowGroups: 5, tinyCounts: [2_000, 20_000] };
}

/** A directory the plugin syncs as `local_path`: its rows and what it weighs. */
export interface LocalShape {
  dir: string;
  files: number;
  rows: number;
  bytes: number;
}

export interface ScaleData {
  files: CachedFile[];
  spark: LocalShape & { rowGroups: number; compressedGroupBytes: number; uncompressedGroupBytes: number };
  sparkCopies: LocalShape;
  tiny: [LocalShape, LocalShape];
  /** The rows of the larger set of small files, in one file. */
  oneFile: LocalShape;
  /** LARGE_VALUE_ROWS values of 1 MiB in one row group of `groupBytes` compressed. */
  largeValues: LocalShape & { groupBytes: number };
}

/** Spark-like rows: ids, amounts, a category, 144 random bytes, hex digests and a repetitive note (~2:1 under snappy). */
function sparkSql(rows: number): string {
  const random = Array.from({ length: 9 }, (_, k) => `md5((i * 9 + ${k})::VARCHAR)`).join(' || ');
  return `SELECT i::BIGINT AS id, (hash(i) % 100000000)::DOUBLE / 100 AS amount, 'cat_' || (hash(i * 7) % 200) AS category,
  unhex(${random}) AS payload, md5(i::VARCHAR) || md5((i + 1)::VARCHAR) AS digest,
  repeat('spark row filler text ', 8) || (i % 1000000)::VARCHAR AS note,
  make_timestamp(1704067200000000 + i * 1000003)::TIMESTAMPTZ AS created_at
FROM range(0, ${rows}) t(i)`;
}

/** Rows of one 1 MiB value each: 32,768 md5 digests in hex, which snappy cannot shrink. */
function largeValuesSql(rows: number): string {
  return `SELECT r::INTEGER AS id, string_agg(md5((r * 100000 + j)::VARCHAR), '' ORDER BY j) AS doc
FROM range(0, ${rows}) a(r), range(0, 32768) b(j) GROUP BY r ORDER BY r`;
}

/** Narrow event rows, as many small files hold them. */
export function smallSql(rows: number): string {
  return `SELECT i::BIGINT AS id, (hash(i) % 100000000)::DOUBLE / 100 AS amount, 'cat_' || (hash(i * 7) % 200) AS category,
  make_timestamp(1704067200000000 + i * 1000003)::TIMESTAMPTZ AS created_at,
  CASE WHEN i % 5 = 0 THEN NULL ELSE (hash(i * 3) % 100000)::INTEGER END AS score
FROM range(0, ${rows}) t(i)`;
}

export function ensureScaleData(quick: boolean): Promise<ScaleData> {
  const shapes = scaleShapes(quick);
  const specs = {
    shapes,
    spark: sparkSql(1),
    small: smallSql(1),
    largeValues: largeValuesSql(LARGE_VALUE_ROWS),
    SPARK_ROW_GROUP_ROWS,
    SPARK_COPIES,
    TINY_ROWS,
    TINY_DIRS,
  };
  return cachedDataSet(join(DATA_ROOT, quick ? 'scale-quick' : 'scale-full'), specs, (dir) => generate(dir, shapes));
}

async function generate(dir: string, shapes: ScaleShapes): Promise<ScaleData> {
  return withDuckDb(async (sql) => {
    const sparkRows = shapes.sparkRowGroups * SPARK_ROW_GROUP_ROWS;
    const sparkPath = join(dir, 'spark', 'part-00000.snappy.parquet');
    mkdirSync(dirname(sparkPath), { recursive: true });
    // One thread: row groups of exactly SPARK_ROW_GROUP_ROWS, in order.
    await sql(`SET threads = 1`);
    await sql(
      `COPY (${sparkSql(sparkRows)}) TO '${sparkPath}' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE ${SPARK_ROW_GROUP_ROWS})`,
    );
    await sql(`SET threads = 2`);
    const groups = await sql(
      `SELECT count(DISTINCT row_group_id)::INTEGER AS n, max(c)::BIGINT AS c, max(u)::BIGINT AS u FROM (SELECT row_group_id, sum(total_compressed_size) AS c, sum(total_uncompressed_size) AS u FROM parquet_metadata('${sparkPath}') GROUP BY row_group_id)`,
    );
    const g = groups[0]!;
    const sparkBytes = statSync(sparkPath).size;
    progress(`data:   Spark-shaped file: ${mb(sparkBytes)} MB, ${String(g.n)} row groups of <= ${mb(Number(g.c))} MB compressed`);
    const files: CachedFile[] = [{ path: sparkPath, bytes: sparkBytes }];
    const copiesDir = join(dir, 'spark-copies');
    mkdirSync(copiesDir, { recursive: true });
    for (let c = 0; c < SPARK_COPIES; c++) {
      const path = join(copiesDir, `part-${String(c).padStart(5, '0')}.snappy.parquet`);
      copyFileSync(sparkPath, path);
      files.push({ path, bytes: sparkBytes });
    }
    const template = join(dir, 'template.parquet');
    await sql(`COPY (${smallSql(TINY_ROWS)}) TO '${template}' (FORMAT parquet, COMPRESSION snappy)`);
    const tiny = shapes.tinyCounts.map((count) => smallFiles(join(dir, `tiny-${count}`), template, count, files)) as [
      LocalShape,
      LocalShape,
    ];
    const oneRows = shapes.tinyCounts[1] * TINY_ROWS;
    const onePath = join(dir, 'one-file', 'rows.parquet');
    mkdirSync(dirname(onePath), { recursive: true });
    await sql(`COPY (${smallSql(oneRows)}) TO '${onePath}' (FORMAT parquet, COMPRESSION snappy)`);
    files.push({ path: onePath, bytes: statSync(onePath).size });
    const largeValues = await writeLargeValues(sql, dir, files);
    const spark = { dir: dirname(sparkPath), files: 1, rows: sparkRows, bytes: sparkBytes };
    return {
      files,
      spark: { ...spark, rowGroups: Number(g.n), compressedGroupBytes: Number(g.c), uncompressedGroupBytes: Number(g.u) },
      sparkCopies: { dir: copiesDir, files: SPARK_COPIES, rows: sparkRows * SPARK_COPIES, bytes: sparkBytes * SPARK_COPIES },
      tiny,
      oneFile: { dir: dirname(onePath), files: 1, rows: oneRows, bytes: statSync(onePath).size },
      largeValues,
    };
  });
}

/** The large-values file: one row group (DuckDB's row groups hold far more than LARGE_VALUE_ROWS rows). */
async function writeLargeValues(sql: Sql, dir: string, files: CachedFile[]): Promise<ScaleData['largeValues']> {
  const path = join(dir, 'large-values', 'part-0.parquet');
  mkdirSync(dirname(path), { recursive: true });
  await sql(`SET threads = 1`);
  await sql(`COPY (${largeValuesSql(LARGE_VALUE_ROWS)}) TO '${path}' (FORMAT parquet, COMPRESSION snappy)`);
  await sql(`SET threads = 2`);
  const [group] = await sql(
    `SELECT max(c)::BIGINT AS c FROM (SELECT sum(total_compressed_size) AS c FROM parquet_metadata('${path}') GROUP BY row_group_id)`,
  );
  const bytes = statSync(path).size;
  files.push({ path, bytes });
  progress(`data:   ${LARGE_VALUE_ROWS} values of 1 MiB: ${mb(bytes)} MB, one row group`);
  return { dir: dirname(path), files: 1, rows: LARGE_VALUE_ROWS, bytes, groupBytes: Number(group!.c) };
}

/** `count` copies of the template in TINY_DIRS directories (one table each). */
function smallFiles(dir: string, template: string, count: number, files: CachedFile[]): LocalShape {
  const bytes = statSync(template).size;
  for (let d = 0; d < TINY_DIRS; d++) mkdirSync(join(dir, `d${String(d).padStart(2, '0')}`), { recursive: true });
  for (let i = 0; i < count; i++) {
    const path = join(dir, `d${String(i % TINY_DIRS).padStart(2, '0')}`, `part-${String(i).padStart(6, '0')}.parquet`);
    copyFileSync(template, path);
    // The cache checks one file per directory set, not every copy.
    if (i === count - 1) files.push({ path, bytes });
  }
  progress(`data:   ${count} files of ${TINY_ROWS} rows (${bytes} B each) in ${TINY_DIRS} directories`);
  return { dir, files: count, rows: count * TINY_ROWS, bytes: count * bytes };
}
