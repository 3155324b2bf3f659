// Discovery planning, pure: which listed keys are data files, which table each belongs to, which tables
// the request selected, and which objects a shard owns. No I/O here.
import { createHash } from 'node:crypto';
import picomatch from 'picomatch';
import { detectFile, stripDataExtensions } from './formats/detect.js';
import { SpecError, type FileType } from './spec.js';
import { resolveLayout, type TableLayout } from './spec-tables.js';
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
export function tableNameForKey(key: string, hive = false): string {
  const slash = key.lastIndexOf('/');
  if (slash >= 0) {
    const dir = key.slice(0, slash);
    // With Hive partitioning, `name=value` segments are columns, not part of the table's name.
    return normalizeName(
      hive
        ? dir
            .split('/')
            .filter((segment) => !HIVE_SEGMENT.test(segment))
            .join('/')
        : dir,
    );
  }
  const stem = stripDataExtensions(key);
  if (stem !== key) return normalizeName(stem);
  const dot = key.lastIndexOf('.');
  return normalizeName(dot > 0 ? key.slice(0, dot) : key);
}

const HIVE_SEGMENT = /^[^=/]+=[^/]*$/;

/** The `name=value` segments of a key's directory, in path order (values URL-decoded, as Hive writes them). */
export function hivePartitions(key: string): [string, string][] {
  const segments = key.split('/').slice(0, -1);
  return segments
    .filter((segment) => HIVE_SEGMENT.test(segment))
    .map((segment) => {
      const at = segment.indexOf('=');
      return [segment.slice(0, at), decodePartValue(segment.slice(at + 1))];
    });
}

function decodePartValue(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
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

/** A key matches two glob_tables entries: the spec is ambiguous (INVALID_ARGUMENT, like a bad spec). */
export class OverlappingTablesError extends SpecError {
  constructor(problem: string) {
    super([problem]);
  }
}

/** Groups data files into tables, sorted by table name. */
export function groupTables(objects: Iterable<ObjectInfo>, filetype: FileType, layout: TableLayout = DEFAULT_LAYOUT): Discovery {
  const tableOf = tableNamer(filetype, layout);
  const byName = new Map<string, ObjectInfo[]>();
  const unnamed: string[] = [];
  for (const object of objects) {
    const name = tableOf(object.key);
    if (name === undefined) continue;
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

const DEFAULT_LAYOUT = resolveLayout({});

/**
 * The table of a key: a glob_tables entry's name, else its directory's name (unless only defined
 * tables are read); '' when the key gives no usable name; undefined when the key is not read.
 */
function tableNamer(filetype: FileType, layout: TableLayout): (key: string) => string | undefined {
  const globTables = layout.globTables.map((t) => ({ ...t, matches: globMatcher(t.include, t.exclude) }));
  const selected = globMatcher(layout.include.length > 0 ? layout.include : ['**'], layout.exclude);
  return (key) => {
    const matching = globTables.filter((t) => t.matches(key));
    if (matching.length > 1) {
      throw new OverlappingTablesError(
        `the key "${key}" matches two glob_tables entries, "${matching[0]!.name}" and "${matching[1]!.name}": make their globs exclusive`,
      );
    }
    const table = matching[0];
    // A glob table's key is read by its extension, whatever the spec's filetype (unless the entry sets one).
    if (table) return detectFile(key, table.filetype ?? 'auto') ? table.name : undefined;
    if (layout.onlyDefinedTables || !selected(key) || !isDataKey(key, filetype)) return undefined;
    return tableNameForKey(key, layout.hivePartitioning);
  };
}

function globMatcher(include: string[], exclude: string[]): (key: string) => boolean {
  const included = picomatch(include, { dot: true });
  const excluded = exclude.length > 0 ? picomatch(exclude, { dot: true }) : () => false;
  return (key) => included(key) && !excluded(key);
}

/**
 * The key prefixes to list: the path prefix, or, when only glob tables are read, the longest literal
 * prefix of each include glob within it, so the listing stays on the server side of what can match.
 */
export function listPrefixes(pathPrefix: string, layout: TableLayout): string[] {
  if (!layout.onlyDefinedTables || layout.globTables.length === 0) return [pathPrefix];
  const prefixes: string[] = [];
  for (const glob of layout.globTables.flatMap((t) => t.include)) {
    const base = picomatch.scan(glob).base;
    const literal = base && base !== glob ? `${base}/` : base;
    if (literal.startsWith(pathPrefix)) prefixes.push(literal);
    else if (pathPrefix.startsWith(literal)) prefixes.push(pathPrefix);
  }
  // Sorted and without a prefix that another covers: the listings are then disjoint and in key order.
  const sorted = [...new Set(prefixes)].sort();
  return sorted.filter((p, i) => !sorted.slice(0, i).some((q) => p.startsWith(q)));
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
