// Text fixtures for the CSV/TSV/JSON Lines/JSON readers: files written by DuckDB (a different writer than
// the readers under test), compressed by DuckDB (gzip, zstd) or Debian's bzip2; an in-memory object
// source; and a helper that reads a file through a format the way the sync does.
import { execFile, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { DataType, type Schema, type Vector } from 'apache-arrow';
import { detectFile } from '../../src/formats/detect.js';
import { formatsFor } from '../../src/formats/index.js';
import type { SyncResult } from './plugin-client.js';
import { parseSpec, type Spec } from '../../src/spec.js';
import type { ByteSource } from '../../src/store/types.js';
import { ByteBudget } from '../../src/util/byte-budget.js';
import { rawValue } from './arrow-values.js';

const run = promisify(execFile);

export type TextFormat = 'csv' | 'tsv' | 'jsonl' | 'json';
export type TextCompression = 'none' | 'gz' | 'zst' | 'bz2';

const EXTENSION: Record<TextFormat, string> = { csv: '.csv', tsv: '.tsv', jsonl: '.jsonl', json: '.json' };

/** The key suffix of a format and compression: `.csv`, `.jsonl.gz`, `.tsv.zst`, `.json.bz2`. */
export function suffix(format: TextFormat, compression: TextCompression): string {
  return EXTENSION[format] + (compression === 'none' ? '' : `.${compression}`);
}

/** A query's rows written by DuckDB in a text format, compressed as asked. */
export async function textFromSql(selectSql: string, format: TextFormat, compression: TextCompression = 'none'): Promise<Uint8Array> {
  // Imported here so the unit tests that use only the other helpers do not load DuckDB's native module.
  const conn = await (await import('./fixtures.js')).duck();
  const file = join(tmpdir(), `cq-text-${process.pid}-${randomUUID()}${EXTENSION[format]}`);
  const options =
    format === 'csv'
      ? ['FORMAT csv', 'HEADER true']
      : format === 'tsv'
        ? ['FORMAT csv', 'HEADER true', `DELIMITER '\t'`]
        : format === 'jsonl'
          ? ['FORMAT json']
          : ['FORMAT json', 'ARRAY true'];
  if (compression === 'gz' || compression === 'zst') options.push(`COMPRESSION ${compression === 'gz' ? 'gzip' : 'zstd'}`);
  try {
    await conn.run(`COPY (${selectSql}) TO '${file.replaceAll("'", "''")}' (${options.join(', ')})`);
    const bytes = new Uint8Array(await readFile(file));
    return compression === 'bz2' ? bzip2(bytes) : bytes;
  } finally {
    await rm(file, { force: true });
  }
}

let bzip2Ready = false;

/** Debian's bzip2 compressor (installed with apt-get when missing, as the S3 server's packages are). */
export async function bzip2(bytes: Uint8Array): Promise<Uint8Array> {
  if (!bzip2Ready) {
    try {
      execFileSync('bzip2', ['--help'], { stdio: 'ignore' });
    } catch {
      await run('apt-get', ['install', '-y', '--no-install-recommends', 'bzip2'], {
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
    }
    bzip2Ready = true;
  }
  return new Uint8Array(execFileSync('bzip2', ['-c'], { input: bytes, maxBuffer: 1 << 30 }));
}

/** Compresses bytes of a text file the way its extension says (gzip by Node, zstd/bzip2 by their commands). */
export async function compress(bytes: Uint8Array | string, compression: TextCompression): Promise<Uint8Array> {
  const raw = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  if (compression === 'gz') return gzipSync(raw);
  if (compression === 'bz2') return bzip2(raw);
  if (compression === 'zst') return new Uint8Array(execFileSync('zstd', ['-c', '-q'], { input: raw, maxBuffer: 1 << 30 }));
  return raw;
}

/** One object in memory as the store would serve it, counting its reads. */
export function memorySource(key: string, bytes: Uint8Array | string): ByteSource & { reads: number; bytesRead: number } {
  const body = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  const source = {
    key,
    size: body.byteLength,
    reads: 0,
    bytesRead: 0,
    async read(start: number, end: number) {
      source.reads++;
      source.bytesRead += end - start;
      return body.slice(start, end);
    },
  };
  return source;
}

export interface ReadResult {
  schema: Schema;
  /** Rows as plain values: int64 and timestamps as bigint, dates as days, JSON as text. */
  rows: Record<string, unknown>[];
  problems: string[];
  batchSizes: number[];
}

/** Opens `key` (its format from the extension) with the spec's options and reads every batch. */
export async function readText(
  key: string,
  bytes: Uint8Array | string,
  spec: Partial<Spec> = {},
  batch: { maxRows?: number; rowMultiple?: number } = {},
): Promise<ReadResult> {
  const resolved = parseSpec({ local_path: '/nonexistent', filetype: 'auto', ...spec });
  if (!detectFile(key, resolved.filetype)) throw new Error(`${key} is not a data file for filetype ${resolved.filetype}`);
  const file = await formatsFor(resolved).open(memorySource(key, bytes), { budget: new ByteBudget(64 << 20) });
  const problems: string[] = [];
  const rows: Record<string, unknown>[] = [];
  const batchSizes: number[] = [];
  try {
    const options = { maxRows: batch.maxRows ?? 65_536, rowMultiple: batch.rowMultiple ?? 1, report: (m: string) => problems.push(m) };
    for await (const b of file.batches(options)) {
      batchSizes.push(b.numRows);
      for (let i = 0; i < b.numRows; i++) {
        const row: Record<string, unknown> = {};
        for (const field of file.schema.fields) row[field.name] = plain(b.getChild(field.name)!, i);
        rows.push(row);
      }
    }
  } finally {
    file.close();
  }
  return { schema: file.schema, rows, problems, batchSizes };
}

/** A cell as a plain value: exact int64/timestamps (bigint), dates as days, JSON (binary) as its text. */
export function plain(vector: Vector, index: number): unknown {
  const type = vector.type;
  if (DataType.isInt(type) || DataType.isTimestamp(type) || DataType.isDate(type)) return rawValue(vector, index);
  const value = vector.get(index) as unknown;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return value ?? null;
}

/** The Arrow types of a schema as strings, by column. */
export function typesOf(schema: Schema): Record<string, string> {
  return Object.fromEntries(
    schema.fields.map((f) => [f.name, String(f.type) + (f.metadata.get('ARROW:extension:name') === 'json' ? ' json' : '')]),
  );
}

/** A table's rows in a sync's result as exact plain values (see plain()), _cq_ columns left out. */
export function rowsOf(result: SyncResult, table: string): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const { table: name, batch } of result.batches) {
    if (name !== table) continue;
    for (let i = 0; i < batch.numRows; i++) {
      const row: Record<string, unknown> = {};
      for (const field of batch.schema.fields) if (!field.name.startsWith('_cq_')) row[field.name] = plain(batch.getChild(field.name)!, i);
      rows.push(row);
    }
  }
  return rows;
}

/** The sync error messages of one table. */
export const errorsOf = (result: SyncResult, table: string) => result.errors.filter((e) => e.table === table).map((e) => e.error);
