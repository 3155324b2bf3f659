// The catalog: lists the store, groups data files into tables and reads each file's footer to build
// the table schemas. Footers are cached by key and ETag, so GetTables followed by Sync, or a second
// sync of unchanged files, reads each footer once.
import type { Schema } from 'apache-arrow';
import { groupTables, ownsKey, tableFilter, type DiscoveredTable } from './discover.js';
import { emptyMerge, generatesCqId, mergeSchema, primaryKeys, SchemaConflictError, tableSchema } from './arrow/schema.js';
import { openParquet, ParquetFormatError } from './formats/parquet.js';
import type { Logger } from './log.js';
import type { ResolvedSpec } from './spec.js';
import { TailCache, withTailCache } from './store/tail-cache.js';
import { ObjectError, type ObjectInfo, type Store } from './store/types.js';
import { mapLimit } from './util/limit.js';

export interface SkippedObject {
  key: string;
  table: string;
  reason: string;
}

export interface FileFooter {
  schema: Schema;
  numRows: number;
  numRowGroups: number;
}

export interface TablePlan {
  name: string;
  schema: Schema;
  generateCqId: boolean;
  primaryKeys: string[];
  /** Readable files of the table, in key order, with their footers. */
  files: { object: ObjectInfo; footer: FileFooter }[];
}

export interface CatalogRequest {
  tables: string[];
  skipTables: string[];
  shard?: { num: number; total: number };
  signal?: AbortSignal;
}

export interface CatalogResult {
  tables: TablePlan[];
  skipped: SkippedObject[];
}

export class Catalog {
  readonly tails = new TailCache();
  private readonly footers = new Map<string, FileFooter>();

  constructor(readonly store: Store, readonly spec: ResolvedSpec, private readonly logger: Logger) {}

  /** Every object under the prefix, in key order. */
  async listAll(signal?: AbortSignal): Promise<ObjectInfo[]> {
    const all: ObjectInfo[] = [];
    for await (const page of this.store.list(this.spec.pathPrefix, signal)) all.push(...page);
    return all;
  }

  /** The tables selected by the request, grouped but without footers read. */
  select(objects: ObjectInfo[], request: CatalogRequest): { tables: DiscoveredTable[]; skipped: SkippedObject[] } {
    const discovery = groupTables(objects, this.spec.filetype);
    const wanted = tableFilter(request.tables, request.skipTables);
    const skipped = discovery.unnamed.map((key) => ({ key, table: '', reason: 'the key gives no usable table name' }));
    const tables = discovery.tables
      .filter((t) => wanted(t.name))
      .map((t) => ({ name: t.name, objects: t.objects.filter((o) => ownsKey(o.key, request.shard)) }));
    return { tables, skipped };
  }

  /** Reads the footers the tables need (cached) and merges each table's schema. */
  async plan(tables: DiscoveredTable[], signal?: AbortSignal): Promise<CatalogResult> {
    const skipped: SkippedObject[] = [];
    const jobs = tables.flatMap((t) => t.objects.map((object) => ({ table: t.name, object })));
    const footers = await mapLimit(jobs, this.spec.concurrency, async ({ table, object }) => {
      try {
        return await this.footer(object, signal);
      } catch (err) {
        if (signal?.aborted || !isPerObjectError(err)) throw err;
        skipped.push({ key: object.key, table, reason: (err as Error).message });
        return undefined;
      }
    });

    const plans: TablePlan[] = [];
    let index = 0;
    for (const table of tables) {
      const merged = emptyMerge();
      const files: TablePlan['files'] = [];
      for (const object of table.objects) {
        const footer = footers[index++];
        if (!footer) continue;
        try {
          mergeSchema(merged, object.key, footer.schema);
          files.push({ object, footer });
        } catch (err) {
          if (!(err instanceof SchemaConflictError)) throw err;
          skipped.push({ key: object.key, table: table.name, reason: err.message });
        }
      }
      // A table whose every file was skipped has no schema to offer.
      if (files.length === 0 && table.objects.length > 0) continue;
      const schema = tableSchema(table.name, merged);
      plans.push({ name: table.name, schema, generateCqId: generatesCqId(merged), primaryKeys: primaryKeys(schema), files });
    }
    for (const s of skipped) this.logger.warn('skipping object', { table: s.table, key: s.key, reason: s.reason });
    return { tables: plans, skipped };
  }

  /** Opens an object for reading, with its footer bytes served from the cache when present. */
  source(object: ObjectInfo) {
    return withTailCache(this.store.open(object), object, this.tails);
  }

  private async footer(object: ObjectInfo, signal?: AbortSignal): Promise<FileFooter> {
    const id = `${object.key}\u0000${object.etag}`;
    const cached = this.footers.get(id);
    if (cached) return cached;
    let file;
    try {
      file = await openParquet(this.source(object), signal);
    } catch (err) {
      if (err instanceof ParquetFormatError) throw new ObjectError(`${this.store.uri(object.key)}: ${err.message}`, object.key, 'corrupt');
      throw err;
    }
    const footer = { schema: file.schema, numRows: file.numRows, numRowGroups: file.numRowGroups };
    file.close();
    this.footers.set(id, footer);
    return footer;
  }
}

export function isPerObjectError(err: unknown): boolean {
  return err instanceof ObjectError || err instanceof ParquetFormatError;
}
