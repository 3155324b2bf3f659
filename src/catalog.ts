// The catalog: lists the store, groups data files into tables and reads each file's footer to build
// the table schemas. Footers are cached by key and ETag, so GetTables followed by Sync, or a second
// sync of unchanged files, reads each footer once.
import type { Schema } from 'apache-arrow';
import { groupTables, ownsKey, tableFilter, type DiscoveredTable } from './discover.js';
import {
  emptyMerge,
  generatesCqId,
  mergeSchema,
  primaryKeys,
  SchemaConflictError,
  tableSchema,
  type MergedSchema,
} from './arrow/schema.js';
import { openParquet, ParquetFormatError } from './formats/parquet.js';
import type { ResolvedSpec } from './spec.js';
import { TailCache, withTailCache } from './store/tail-cache.js';
import { ObjectError, type ObjectInfo, type Store } from './store/types.js';
import { mapLimit } from './util/limit.js';

export interface SkippedObject {
  key: string;
  table: string;
  reason: string;
  /** Skipped for good (its content cannot be read as this table) rather than a failure to retry. */
  permanent: boolean;
}

export interface FileFooter {
  schema: Schema;
  numRows: number;
  numRowGroups: number;
}

export interface SelectedTable extends DiscoveredTable {
  /** Every object of the table, owned by this shard or not. */
  all: ObjectInfo[];
}

export interface TablePlan {
  name: string;
  schema: Schema;
  merged: MergedSchema;
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

/** One table to plan: the objects to read, and what else decides its schema. */
export interface PlanInput {
  name: string;
  objects: ObjectInfo[];
  /** Schema merged from earlier syncs (from the state), extended by the objects' footers. */
  base?: MergedSchema;
  /**
   * Objects whose footers shape the schema but which are not read (the other shards' objects), so
   * every shard migrates a table to the same schema. Their failures are not reported here.
   */
  schemaExtra?: ObjectInfo[];
  /**
   * When nothing is read and no schema is cached: candidates, in order, whose first readable footer
   * gives the schema (read lazily, one at a time; failures here are not reported).
   */
  schemaOnly?: ObjectInfo[];
}

export interface CatalogResult {
  tables: TablePlan[];
  skipped: SkippedObject[];
}

export class Catalog {
  readonly tails = new TailCache();
  private readonly footers = new Map<string, FileFooter>();

  constructor(
    readonly store: Store,
    readonly spec: ResolvedSpec,
  ) {}

  /** Every object under the prefix, in key order. */
  async listAll(signal?: AbortSignal): Promise<ObjectInfo[]> {
    const all: ObjectInfo[] = [];
    for await (const page of this.store.list(this.spec.pathPrefix, signal)) all.push(...page);
    return all;
  }

  /** The tables selected by the request, grouped but without footers read. */
  /** The tables the request selected; with a shard, `objects` holds only the keys this shard owns. */
  select(objects: ObjectInfo[], request: CatalogRequest): { tables: SelectedTable[]; skipped: SkippedObject[] } {
    const discovery = groupTables(objects, this.spec.filetype);
    const wanted = tableFilter(request.tables, request.skipTables);
    const skipped = discovery.unnamed.map((key) => ({ key, table: '', reason: 'the key gives no usable table name', permanent: true }));
    const tables = discovery.tables
      .filter((t) => wanted(t.name))
      .map((t) => ({ name: t.name, objects: t.objects.filter((o) => ownsKey(o.key, request.shard)), all: t.objects }));
    return { tables, skipped };
  }

  /** Reads the footers the tables need (cached) and merges each table's schema. */
  async plan(inputs: PlanInput[], signal?: AbortSignal): Promise<CatalogResult> {
    const skipped: SkippedObject[] = [];
    // Per table, in key order: the objects to read and those that only shape the schema.
    const ordered = inputs.map((t) => {
      const extra = new Set(t.schemaExtra ?? []);
      return [...t.objects, ...extra]
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
        .map((object) => ({ object, read: !extra.has(object) }));
    });
    const jobs = inputs.flatMap((t, i) => ordered[i]!.map((entry) => ({ table: t.name, ...entry })));
    const footers = await mapLimit(jobs, this.spec.concurrency, async ({ table, object, read }) => {
      try {
        return await this.footer(object, signal);
      } catch (err) {
        if (signal?.aborted || !isPerObjectError(err)) throw err;
        if (read) skipped.push({ key: object.key, table, reason: (err as Error).message, permanent: isPermanent(err) });
        return undefined;
      }
    });

    const plans: TablePlan[] = [];
    let index = 0;
    for (const [n, input] of inputs.entries()) {
      const merged: MergedSchema = input.base
        ? { fields: [...input.base.fields], firstSeen: new Map(input.base.firstSeen), files: input.base.files }
        : emptyMerge();
      const files: TablePlan['files'] = [];
      for (const { object, read } of ordered[n]!) {
        const footer = footers[index++];
        if (!footer) continue;
        try {
          mergeSchema(merged, object.key, footer.schema);
          if (read) files.push({ object, footer });
        } catch (err) {
          if (!(err instanceof SchemaConflictError)) throw err;
          if (read) skipped.push({ key: object.key, table: input.name, reason: err.message, permanent: true });
        }
      }
      for (const object of merged.files === 0 ? (input.schemaOnly ?? []) : []) {
        const footer = await this.footer(object, signal).catch((err: unknown) => {
          if (signal?.aborted || !isPerObjectError(err)) throw err;
          return undefined;
        });
        if (!footer) continue;
        mergeSchema(merged, object.key, footer.schema);
        break;
      }
      // Without a single readable file there is no schema to offer.
      if (merged.files === 0) continue;
      const schema = tableSchema(input.name, merged);
      plans.push({ name: input.name, schema, merged, generateCqId: generatesCqId(merged), primaryKeys: primaryKeys(schema), files });
    }
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

/** A problem with the object's content, which retrying will not fix (until the object changes). */
export function isPermanent(err: unknown): boolean {
  return err instanceof ParquetFormatError || (err instanceof ObjectError && (err.reason === 'corrupt' || err.reason === 'schema'));
}
