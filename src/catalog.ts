// The catalog: lists the store, groups data files into tables and reads each file's footer to build
// the table schemas. Footers are cached by key and ETag, so GetTables followed by Sync, or a second
// sync of unchanged files, reads each footer once; a file's reader opened here is handed to the sync
// that reads the file (catalog-handoff.ts), so the sync does not open it again. A plan keeps per file
// only the object as listed: schemas are merged as footers arrive, and nothing parsed stays with it.
import type { Field, Schema } from 'apache-arrow';
import { fileColumnClash, fileColumnFields } from './arrow/file-columns.js';
import { groupTables, listPrefixes, ownsKey, tableFilter, type DiscoveredTable } from './discover.js';
import {
  schemaDifference,
  emptyMerge,
  generatesCqId,
  mergeSchema,
  primaryKeys,
  SchemaConflictError,
  tableSchema,
  type MergedSchema,
} from './arrow/schema.js';
import { SchemaInterner } from './arrow/schema-cache.js';
import { BoundedCache } from './util/bounded-cache.js';
import { handoffFormat, ReaderHandoff, redirectable, tagged } from './catalog-handoff.js';
import { isPermanent, isPerObjectError, toObjectError } from './errors.js';
import { formatsFor } from './formats/index.js';
import type { FileFormat } from './formats/types.js';
import type { Logger } from './log.js';
import type { ResolvedSpec } from './spec.js';
import { openStore } from './store/index.js';
import type { ShardRef } from './state/cursors.js';
import { TailCache, withTailCache } from './store/tail-cache.js';
import type { ByteSource, ObjectInfo, Store } from './store/types.js';
import type { ByteBudget } from './util/byte-budget.js';
import { mapLimit } from './util/limit.js';
import { DeclaredTable } from './schema/declared.js';

export interface SkippedObject {
  key: string;
  table: string;
  reason: string;
  /** Skipped for good (its content cannot be read as this table) rather than a failure to retry. */
  permanent: boolean;
}

export interface FileFooter {
  schema: Schema;
  /** Rows the file declares, where its format tells without reading it. */
  numRows?: number;
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
  /** Columns the plugin adds from where rows were read (Hive partitions, provenance), in the schema after the files' own. */
  fileColumns: Field[];
  /** Readable files of the table, in key order. */
  files: ObjectInfo[];
  /** Rows the files declare in all, where every file's format tells without reading it. */
  declaredRows?: number;
  /** The spec declares this table's columns (`schema`): batches are cast to them as they are read. */
  declared?: DeclaredTable;
}

export interface CatalogRequest {
  tables: string[];
  skipTables: string[];
  shard?: ShardRef;
}

/** One table to plan: the objects to read, and what else decides its schema. */
export interface PlanInput {
  name: string;
  objects: ObjectInfo[];
  /** Every object of the table (all shards): their keys name its Hive partition columns. */
  all?: ObjectInfo[];
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

/** Bytes of footer cache entries (a key, an ETag, a shared schema, a count): 200,000 files of 100-byte keys. */
const FOOTER_CACHE_BYTES = 64 * 1024 * 1024;
const FOOTER_ENTRY_BYTES = 128;
/**
 * Readers kept from planning for the sync (a Parquet reader: about twice its footer). 16 MiB holds the
 * readers of ~4,000 small files (each whole in its tail); files beyond are opened again by the sync.
 */
const HANDOFF_BYTES = 16 * 1024 * 1024;
/** Tails of files whose readers were not kept: bounded apart from the handoff, so both stay small. */
const TAIL_CACHE_BYTES = 16 * 1024 * 1024;

interface FooterJob {
  table: string;
  object: ObjectInfo;
  /** Read by the sync (its failures are reported), or only shaping the schema. */
  read: boolean;
}

export class Catalog {
  readonly tails = new TailCache(TAIL_CACHE_BYTES);
  /** Opens objects for the sync: the reader planning kept for an object, when it did, else a new one. */
  readonly format: FileFormat;
  /** Opens objects for planning. */
  private readonly formats: FileFormat;
  /** Text formats without type inference, for tables with a declared schema: values are cast from the text as written. */
  private readonly declaredFormats: FileFormat;
  /** The sync's way of opening objects of a table with a declared schema (see `format`). */
  private readonly declaredFormat: FileFormat;
  /** Footers by key and ETag, for the sync after GetTables and the next sync of unchanged files. */
  private readonly footers = new BoundedCache<FileFooter>({
    capacity: FOOTER_CACHE_BYTES,
    sizeOf: (key) => key.length * 2 + FOOTER_ENTRY_BYTES,
  });
  private readonly schemas = new SchemaInterner();
  private readonly handoff = new ReaderHandoff(HANDOFF_BYTES);

  constructor(
    readonly store: Store,
    readonly spec: ResolvedSpec,
    /** Bounds the file bytes the readers hold at once (the source's, shared by every sync). */
    readonly budget: ByteBudget,
  ) {
    this.formats = formatsFor(spec);
    this.format = handoffFormat(this.formats, this.handoff);
    this.declaredFormats =
      spec.declared.size > 0 ? formatsFor({ ...spec, inference: { ...spec.inference, inferTypes: false } }) : this.formats;
    this.declaredFormat = handoffFormat(this.declaredFormats, this.handoff);
  }

  /** How the sync opens files of `table`: text as written where the spec declares the table's columns. */
  formatFor(table: string): FileFormat {
    return this.spec.declared.has(table) ? this.declaredFormat : this.format;
  }

  /** Every object under the prefix (or under the glob tables' literal prefixes), in key order. */
  async listAll(signal?: AbortSignal): Promise<ObjectInfo[]> {
    const all: ObjectInfo[] = [];
    for (const prefix of listPrefixes(this.spec.pathPrefix, this.spec.layout)) {
      for await (const page of this.store.list(prefix, signal)) all.push(...page);
    }
    return all;
  }

  /** The tables the request selected; with a shard, `objects` holds only the keys this shard owns. */
  select(objects: ObjectInfo[], request: CatalogRequest): { tables: SelectedTable[]; skipped: SkippedObject[] } {
    const discovery = groupTables(objects, this.spec.filetype, this.spec.layout);
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
    this.handoff.nextPlan();
    const jobs = inputs.map(footerJobs);
    const footers = await this.readFooters(jobs.flat(), skipped, signal);
    const plans: TablePlan[] = [];
    for (const [n, input] of inputs.entries()) {
      const fileColumns = fileColumnFields(this.spec.layout, input.all ?? input.objects);
      const declared = this.declaredTable(input.name);
      const merged = declared
        ? declared.plan(
            jobs[n]!.map((job) => ({ ...job, footer: footers.get(job) })),
            fileColumns,
            skipped,
          )
        : await this.mergeTable(input, jobs[n]!, footers, skipped, fileColumns, signal);
      // Without a single readable file there is no schema to offer.
      if (merged.schema.files === 0) continue;
      const schema = tableSchema(input.name, merged.schema, fileColumns);
      plans.push({
        name: input.name,
        schema,
        merged: merged.schema,
        generateCqId: generatesCqId(merged.schema),
        primaryKeys: primaryKeys(schema),
        fileColumns,
        files: merged.files,
        declaredRows: merged.declaredRows,
        declared,
      });
    }
    return { tables: plans, skipped };
  }

  /** The table's declared columns (spec `schema`), for one sync (it remembers which dropped columns it warned of). */
  private declaredTable(table: string): DeclaredTable | undefined {
    const columns = this.spec.declared.get(table);
    const words = { trueValues: new Set(this.spec.csv.trueValues), falseValues: new Set(this.spec.csv.falseValues) };
    return columns && new DeclaredTable(table, columns, words);
  }

  close(): void {
    this.handoff.clear();
    this.store.close();
  }

  /**
   * Opens an object for reading, with its footer bytes served from the cache when present; for an object
   * whose reader is held, the source that reader reads from (it holds the object's tail).
   */
  source(object: ObjectInfo): ByteSource {
    const held = this.handoff.peek(object);
    return tagged(held ? held.inner : withTailCache(this.store.open(object), object, this.tails), object);
  }

  /** Footers of every job, read in parallel; undefined where the file could not be read. */
  private async readFooters(jobs: FooterJob[], skipped: SkippedObject[], signal?: AbortSignal): Promise<Map<FooterJob, FileFooter>> {
    const footers = new Map<FooterJob, FileFooter>();
    await mapLimit(jobs, this.spec.concurrency, async (job) => {
      try {
        footers.set(job, await this.footer(job.object, signal, job.table, job.read));
      } catch (err) {
        if (signal?.aborted || !isPerObjectError(err)) throw err;
        if (job.read) skipped.push({ key: job.object.key, table: job.table, reason: (err as Error).message, permanent: isPermanent(err) });
      }
    });
    return footers;
  }

  /** One table's merged schema and its readable files; files that do not merge are skipped. */
  private async mergeTable(
    input: PlanInput,
    jobs: FooterJob[],
    footers: Map<FooterJob, FileFooter>,
    skipped: SkippedObject[],
    fileColumns: Field[],
    signal?: AbortSignal,
  ) {
    const merged: MergedSchema = input.base
      ? { fields: [...input.base.fields], firstSeen: new Map(input.base.firstSeen), files: input.base.files }
      : emptyMerge();
    const files: ObjectInfo[] = [];
    let declaredRows: number | undefined = 0;
    let first: { key: string; schema: Schema } | undefined;
    for (const job of jobs) {
      const footer = footers.get(job);
      if (!footer) continue;
      try {
        if (this.spec.schemaMode === 'strict') first ??= { key: job.object.key, schema: footer.schema };
        if (first) checkStrict(first, job.object.key, footer.schema);
        checkFileColumns(fileColumns, job.object.key, footer.schema);
        mergeSchema(merged, job.object.key, footer.schema);
        if (job.read) {
          files.push(job.object);
          declaredRows = declaredRows === undefined || footer.numRows === undefined ? undefined : declaredRows + footer.numRows;
        }
      } catch (err) {
        if (!(err instanceof SchemaConflictError)) throw err;
        // Not read: a reader kept for it would only hold room that others can use.
        this.handoff.take(job.object)?.reader.close();
        if (job.read) skipped.push({ key: job.object.key, table: input.name, reason: err.message, permanent: true });
      }
    }
    if (merged.files === 0) await this.firstReadableSchema(merged, input.schemaOnly ?? [], signal);
    return { schema: merged, files, declaredRows };
  }

  /** Merges the first readable footer of `candidates`, read one at a time (failures not reported). */
  private async firstReadableSchema(merged: MergedSchema, candidates: ObjectInfo[], signal?: AbortSignal): Promise<void> {
    for (const object of candidates) {
      const footer = await this.footer(object, signal).catch((err: unknown) => {
        if (signal?.aborted || !isPerObjectError(err)) throw err;
        return undefined;
      });
      if (!footer) continue;
      mergeSchema(merged, object.key, footer.schema);
      return;
    }
  }

  /** The file's schema and declared rows; with `read`, its reader may be kept for the sync. */
  private async footer(object: ObjectInfo, signal?: AbortSignal, table = '', read = false): Promise<FileFooter> {
    const held = this.handoff.peek(object);
    if (held) return { schema: this.schemas.intern(held.reader.schema), numRows: held.reader.numRows };
    const id = `${object.key}\u0000${object.etag}`;
    const cached = this.footers.get(id);
    if (cached) return cached;
    const inner = this.source(object);
    const source = redirectable(inner);
    const planning = this.spec.declared.has(table) ? this.declaredFormats : this.formats;
    const file = await planning
      .open(source, { signal, budget: this.budget })
      .catch((err: unknown) => Promise.reject(toObjectError(err, this.store.uri(object.key), object.key)));
    const footer = { schema: this.schemas.intern(file.schema), numRows: file.numRows };
    if (!(read && this.handoff.offer(object, { reader: file, source, inner }))) file.close();
    this.footers.set(id, footer);
    return footer;
  }
}

/** Opens the spec's store and a catalog over it; closing the catalog closes the store. */
export async function openCatalog(spec: ResolvedSpec, budget: ByteBudget, logger?: Logger): Promise<Catalog> {
  return new Catalog(await openStore(spec, logger), spec, budget);
}

/** A Hive or provenance column the file also has: the table cannot hold both. */
function checkFileColumns(fileColumns: Field[], key: string, schema: Schema): void {
  const clash = fileColumnClash(fileColumns, schema);
  if (clash) {
    throw new SchemaConflictError(
      `column "${clash}" is both a column of the file ${key} and a column the plugin adds (a Hive partition of the key, or a provenance column); rename one of them`,
      clash,
    );
  }
}

/** schema_mode strict: every file of a table has exactly the first file's schema. */
function checkStrict(first: { key: string; schema: Schema }, key: string, schema: Schema): void {
  const difference = key === first.key ? undefined : schemaDifference(first.schema, schema);
  if (difference) throw new SchemaConflictError(`schema differs from ${first.key} (schema_mode strict): ${difference}`, '');
}

/** A table's objects to read and those that only shape its schema, in key order. */
function footerJobs(input: PlanInput): FooterJob[] {
  const extra = new Set(input.schemaExtra ?? []);
  return [...input.objects, ...extra]
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((object) => ({ table: input.name, object, read: !extra.has(object) }));
}
