// Discovery planning, pure: which listed keys are data files, which table each belongs to, which tables
// the request selected, and which objects a shard owns. No I/O here.
import { createHash } from 'node:crypto';
import picomatch from 'picomatch';
import { detectFile, stripDataExtensions } from './formats/detect.js';
import type { FileType } from './spec.js';
import type { ObjectInfo } from './store/types.js';

/** Does this key hold a file of the spec's filetype (by extension, case-insensitive)? */
export function isDataKey(key: string, filetype: FileType): boolean {
  return detectFile(key, filetype) !== undefined;
}

/** Replaces characters outside [A-Za-z0-9_] with `_`, collapses runs of `_`, trims them at both ends. */
export function normalizeName(raw: string): string {
  return raw
    .replace(/[^A-Za-z0-9_]/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_|_$/g, '');
}

/**
 * The table a key belongs to, as the Go plugin names it: the key's directory with `/` as `_`
 * (`data/2024/x.parquet` -> `data_2024`), or for a file at the root its name without extension
 * (`a.parquet` -> `a`). The path prefix is not stripped. Returns '' when nothing usable remains.
 */
export function tableNameForKey(key: string): string {
  const slash = key.lastIndexOf('/');
  if (slash >= 0) return normalizeName(key.slice(0, slash));
  const stem = stripDataExtensions(key);
  if (stem !== key) return normalizeName(stem);
  const dot = key.lastIndexOf('.');
  return normalizeName(dot > 0 ? key.slice(0, dot) : key);
}

export interface DiscoveredTable {
  name: string;
  /** Objects in key order. */
  objects: ObjectInfo[];
}

export interface Discovery {
  tables: DiscoveredTable[];
  /** Keys that looked like data files but give no usable table name. */
  unnamed: string[];
}

/** Groups data files into tables, sorted by table name. */
export function groupTables(objects: Iterable<ObjectInfo>, filetype: FileType): Discovery {
  const byName = new Map<string, ObjectInfo[]>();
  const unnamed: string[] = [];
  for (const object of objects) {
    if (!isDataKey(object.key, filetype)) continue;
    const name = tableNameForKey(object.key);
    if (!name) {
      unnamed.push(object.key);
      continue;
    }
    let list = byName.get(name);
    if (!list) byName.set(name, (list = []));
    list.push(object);
  }
  const tables = [...byName.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, list]) => ({ name, objects: list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)) }));
  return { tables, unnamed };
}

/**
 * The CLI's `tables` / `skip_tables` globs. An empty `tables` list means every table, as `["*"]` does.
 */
export function tableFilter(include: string[], skip: string[]): (name: string) => boolean {
  const included = picomatch(include.length > 0 ? include : ['*']);
  const skipped = skip.length > 0 ? picomatch(skip) : () => false;
  return (name) => included(name) && !skipped(name);
}

/**
 * Shard assignment by a stable hash of the key: shard `num` of `total` (numbered from 1, as
 * `cloudquery sync --shard 2/4`) owns the keys whose hash falls in its bucket. Deterministic across
 * processes, machines and versions, so N instances together cover every object exactly once.
 */
export function ownsKey(key: string, shard: { num: number; total: number } | undefined): boolean {
  if (!shard || shard.total <= 1) return true;
  const digest = createHash('sha256').update(key).digest();
  return digest.readUInt32BE(0) % shard.total === shard.num - 1;
}
