// The formats section's files: the same rows as gzip CSV, gzip JSON Lines (nested objects and arrays) and
// snappy Avro, in a few objects each; and a ~1 GB (uncompressed) CSV.gz and JSONL.gz with files a quarter
// their size, for peak RSS. CSV and JSON are written by DuckDB, Avro by avro-js (avro-writer.ts): writers
// other than the readers under test. Cached under .bench-data/.
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeAvroFile } from './avro-writer.js';
import { cachedDataSet, withDuckDb, type CachedFile } from './data-cache.js';
import { DATA_ROOT, mb, progress } from './util.js';

export const FORMATS = ['csv', 'jsonl', 'avro'] as const;
export type BenchFormat = (typeof FORMATS)[number];
export const FORMAT_OBJECTS = 4;
/** The big text files' formats. */
export const BIG_FORMATS = ['csv', 'jsonl'] as const;
export type BigFormat = (typeof BIG_FORMATS)[number];

export interface FormatFile extends CachedFile {
  key: string;
  rows: number;
}

export interface BigFile extends FormatFile {
  /** Bytes once decompressed (rows times the bytes a row takes, measured on a sample). */
  textBytes: number;
}

export interface FormatData {
  files: CachedFile[];
  /** Per format, FORMAT_OBJECTS objects of rowsPerFormat / FORMAT_OBJECTS rows. */
  sets: Record<BenchFormat, FormatFile[]>;
  rowsPerFormat: number;
  big: Record<BigFormat, { big: BigFile; quarter: BigFile }>;
}

export function formatShapes(quick: boolean) {
  return quick ? { rows: 200_000, bigTextBytes: 256 * 1024 * 1024 } : { rows: 1_000_000, bigTextBytes: 1024 * 1024 * 1024 };
}

const EXTENSION: Record<BenchFormat, string> = { csv: 'csv.gz', jsonl: 'jsonl.gz', avro: 'avro' };

/** Event rows; `nested` adds a list and a struct (JSON only), `payload` 128 hex characters a row (the big files). */
function textSql(start: number, rows: number, nested: boolean, payload: boolean): string {
  return `SELECT i::BIGINT AS id, (hash(i) % 100000000)::DOUBLE / 100 AS amount, 'cat_' || (hash(i * 7) % 200) AS category,
  repeat('lorem ipsum dolor sit amet ', 1 + (i % 4)::INTEGER) || (hash(i * 13) % 1000) AS description,
  strftime(make_timestamp(1704067200000000 + i * 1000003), '%Y-%m-%dT%H:%M:%S.%fZ') AS created_at,
  CASE WHEN i % 5 = 0 THEN NULL ELSE (hash(i * 3) % 100000)::INTEGER END AS score${
    nested
      ? `,
  list_transform(range((i % 4)::BIGINT), x -> 'tag' || ((i + x) % 50)) AS tags,
  {'source': 'sensor_' || (i % 13), 'level': (i % 5)::INTEGER, 'readings': [(i % 7)::INTEGER, (i % 11)::INTEGER]} AS meta`
      : ''
  }${payload ? `,\n  md5(i::VARCHAR) || md5((i + 1)::VARCHAR) || md5((i + 2)::VARCHAR) || md5((i + 3)::VARCHAR) AS payload` : ''}
FROM range(${start}, ${start + rows}) t(i)`;
}

const AVRO_SCHEMA = {
  type: 'record',
  name: 'Event',
  namespace: 'bench',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'amount', type: 'double' },
    { name: 'category', type: 'string' },
    { name: 'description', type: 'string' },
    { name: 'created_at', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'score', type: ['null', 'int'] },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    {
      name: 'meta',
      type: {
        type: 'record',
        name: 'Meta',
        fields: [
          { name: 'source', type: 'string' },
          { name: 'level', type: 'int' },
        ],
      },
    },
  ],
};

/** The Avro twin of textSql's nested rows (JS's own hashing: the same shapes, not the same digits). */
function avroRecord(i: number): unknown {
  const h = (n: number) => Math.abs(Math.imul(n ^ 0x9e3779b9, 0x85ebca6b) ^ (n >>> 13));
  return {
    id: i,
    amount: (h(i) % 100_000_000) / 100,
    category: `cat_${h(i * 7) % 200}`,
    description: 'lorem ipsum dolor sit amet '.repeat(1 + (i % 4)) + (h(i * 13) % 1000),
    created_at: 1_704_067_200_000_000 + i * 1_000_003,
    score: i % 5 === 0 ? null : { int: h(i * 3) % 100_000 },
    tags: Array.from({ length: i % 4 }, (_, x) => `tag${(i + x) % 50}`),
    meta: { source: `sensor_${i % 13}`, level: i % 5 },
  };
}

export function ensureFormatData(quick: boolean): Promise<FormatData> {
  const shapes = formatShapes(quick);
  const specs = { shapes, sql: textSql(0, 1, true, true), avro: AVRO_SCHEMA, objects: FORMAT_OBJECTS, record: avroRecord.toString() };
  return cachedDataSet(join(DATA_ROOT, quick ? 'formats-quick' : 'formats-full'), specs, (dir) => generate(dir, shapes));
}

async function generate(dir: string, shapes: ReturnType<typeof formatShapes>): Promise<FormatData> {
  const perFile = shapes.rows / FORMAT_OBJECTS;
  const files: CachedFile[] = [];
  const sets = { csv: [], jsonl: [], avro: [] } as Record<BenchFormat, FormatFile[]>;
  const big = await withDuckDb(async (sql) => {
    for (const format of ['csv', 'jsonl'] as const) {
      for (let f = 0; f < FORMAT_OBJECTS; f++) {
        const key = `${format}/part-${f}.${EXTENSION[format]}`;
        const path = join(dir, key);
        mkdirSync(dirname(path), { recursive: true });
        await sql(`COPY (${textSql(f * perFile, perFile, format === 'jsonl', false)}) TO '${path}' (${copyOptions(format)})`);
        sets[format].push({ key, path, rows: perFile, bytes: statSync(path).size });
      }
      progress(`data:   ${format}: ${FORMAT_OBJECTS} x ${perFile} rows, ${mb(sets[format].reduce((n, f) => n + f.bytes, 0))} MB`);
    }
    const out = {} as FormatData['big'];
    for (const format of BIG_FORMATS) out[format] = await bigFiles(sql, dir, format, shapes.bigTextBytes);
    return out;
  });
  for (let f = 0; f < FORMAT_OBJECTS; f++) {
    const key = `avro/part-${f}.avro`;
    const path = join(dir, key);
    mkdirSync(dirname(path), { recursive: true });
    await writeAvroFile(path, AVRO_SCHEMA, perFile, (i) => avroRecord(f * perFile + i));
    sets.avro.push({ key, path, rows: perFile, bytes: statSync(path).size });
  }
  progress(`data:   avro: ${FORMAT_OBJECTS} x ${perFile} rows, ${mb(sets.avro.reduce((n, f) => n + f.bytes, 0))} MB`);
  for (const set of Object.values(sets)) files.push(...set);
  for (const pair of Object.values(big)) files.push(pair.big, pair.quarter);
  return { files, sets, rowsPerFormat: shapes.rows, big };
}

function copyOptions(format: 'csv' | 'jsonl'): string {
  return format === 'csv' ? 'FORMAT csv, HEADER true, COMPRESSION gzip' : 'FORMAT json, COMPRESSION gzip';
}

type Sql = (text: string) => Promise<Record<string, unknown>[]>;

/** A file of ~textBytes once decompressed, and one a quarter its size: rows sized from an uncompressed sample. */
async function bigFiles(sql: Sql, dir: string, format: BigFormat, textBytes: number): Promise<{ big: BigFile; quarter: BigFile }> {
  const sample = join(dir, `sample.${format}`);
  const sampleRows = 20_000;
  const plainOptions = format === 'csv' ? 'FORMAT csv, HEADER true' : 'FORMAT json';
  await sql(`COPY (${textSql(0, sampleRows, format === 'jsonl', true)}) TO '${sample}' (${plainOptions})`);
  const rowBytes = statSync(sample).size / sampleRows;
  const write = async (name: string, bytes: number): Promise<BigFile> => {
    const rows = Math.round(bytes / rowBytes);
    const key = `${name}/data.${EXTENSION[format]}`;
    const path = join(dir, key);
    mkdirSync(dirname(path), { recursive: true });
    await sql(`COPY (${textSql(0, rows, format === 'jsonl', true)}) TO '${path}' (${copyOptions(format)})`);
    const file = { key, path, rows, bytes: statSync(path).size, textBytes: Math.round(rows * rowBytes) };
    progress(`data:   ${key}: ${rows} rows, ${mb(file.textBytes)} MB of text, ${mb(file.bytes)} MB gzip`);
    return file;
  };
  return { big: await write(`big-${format}`, textBytes), quarter: await write(`quarter-${format}`, textBytes / 4) };
}
