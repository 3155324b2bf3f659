// What every generated data set shares: a directory under .bench-data/ whose manifest records the hash of
// what generated it, so a change of shape regenerates it and an unchanged one is reused as it is.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { progress, ROOT } from './util.js';

/** A file a cached data set holds: its path and size, checked before the cache is trusted. */
export interface CachedFile {
  path: string;
  bytes: number;
}

/**
 * The data set `name` as described by `specs`: from its manifest when the version matches and every file
 * listed is present at its size, else `generate(dir)` into an emptied directory and recorded.
 */
export async function cachedDataSet<T extends { files: CachedFile[] }>(
  dir: string,
  specs: unknown,
  generate: (dir: string) => Promise<T>,
): Promise<T> {
  const version = createHash('sha256').update(JSON.stringify(specs)).digest('hex').slice(0, 16);
  const manifestPath = join(dir, 'manifest.json');
  if (existsSync(manifestPath)) {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { version: string; data: T };
    const intact = manifest.data.files.every((f) => existsSync(f.path) && statSync(f.path).size === f.bytes);
    if (manifest.version === version && intact) {
      progress(`data: cached in ${relative(ROOT, dir)}`);
      return manifest.data;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  progress(`data: generating ${relative(ROOT, dir)} (once)`);
  const data = await generate(dir);
  writeFileSync(manifestPath, JSON.stringify({ version, data }, null, 2));
  return data;
}

/** A DuckDB connection for generating files (a writer other than the readers under test), closed after `use`. */
export async function withDuckDb<T>(use: (sql: (text: string) => Promise<Record<string, unknown>[]>) => Promise<T>): Promise<T> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const conn = await instance.connect();
  try {
    await conn.run(`SET TimeZone = 'UTC'`);
    return await use(async (text) => (await conn.runAndReadAll(text)).getRowObjectsJS() as Record<string, unknown>[]);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
