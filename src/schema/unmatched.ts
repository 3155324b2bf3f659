// Declared schemas (spec `schema`) naming no table of the bucket: most likely a typo, or a name from
// before glob_tables / Hive naming changed it. Table names are only known once the bucket is listed,
// so this is a warning of the sync (naming the tables there are), not an Init error.
import { groupTables } from '../discover.js';
import type { Logger } from '../log.js';
import type { ResolvedSpec } from '../spec.js';
import type { ObjectInfo } from '../store/types.js';

/** The declared table names no listed key makes, with the table names there are. */
export function unmatchedDeclared(spec: ResolvedSpec, objects: ObjectInfo[]): { unmatched: string[]; tables: string[] } {
  if (spec.declared.size === 0) return { unmatched: [], tables: [] };
  const tables = groupTables(objects, spec.filetype, spec.layout).tables.map((t) => t.name);
  const known = new Set(tables);
  return { unmatched: [...spec.declared.keys()].filter((name) => !known.has(name)), tables };
}

/** Logs one warning per declared table that names no table. */
export function warnUnmatchedDeclared(spec: ResolvedSpec, objects: ObjectInfo[], logger: Logger): void {
  const { unmatched, tables } = unmatchedDeclared(spec, objects);
  const shown = tables.length > 20 ? `${tables.slice(0, 20).join(', ')}, ... (${tables.length} in all)` : tables.join(', ') || 'none';
  for (const name of unmatched)
    logger.warn(
      `schema.${name} names no table: no listed key makes a table "${name}" (the tables are: ${shown}); its declared columns are unused`,
      {
        table: name,
      },
    );
}
