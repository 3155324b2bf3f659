// Sync orchestration: list, plan tables, send migrate_table for each, then read files in parallel
// (at most `concurrency` at once across all tables) and stream their rows as insert records.
// Backpressure: every send awaits the sink, so a slow client slows the readers instead of
// filling memory. Per-object problems are reported and skipped; store problems fail the sync.
import type { Schema } from 'apache-arrow';
import { Catalog, isPerObjectError, type SkippedObject, type TablePlan } from './catalog.js';
import { RecordEncoder } from './arrow/records.js';
import { openParquet, ParquetFormatError } from './formats/parquet.js';
import type { Logger } from './log.js';
import { ObjectError, type ObjectInfo } from './store/types.js';
import { mapLimit } from './util/limit.js';

export interface SyncOptions {
  tables: string[];
  skipTables: string[];
  deterministicCqId: boolean;
  shard?: { num: number; total: number };
}

/** Where sync output goes: the gRPC stream in the server, a collector in preview. */
export interface SyncSink {
  migrate(schema: Schema): Promise<void>;
  insert(record: Uint8Array, rows: number): Promise<void>;
  /** A per-object problem the sync skipped past. */
  error(table: string, message: string): Promise<void>;
}

export interface TableSummary {
  table: string;
  files: number;
  rows: number;
  skipped: SkippedObject[];
  failed: boolean;
}

export interface SyncSummary {
  tables: TableSummary[];
  rows: number;
  errors: number;
  listRequests: number;
  getRequests: number;
  bytesRead: number;
  durationMs: number;
}

// Batches decoded from Parquet: a multiple of rows_per_record large enough to keep per-batch
// overhead (WebAssembly calls, IPC framing) small, small enough to bound memory.
const TARGET_DECODE_ROWS = 65_536;

export function decodeBatchSize(rowsPerRecord: number): number {
  return Math.max(rowsPerRecord, Math.floor(TARGET_DECODE_ROWS / rowsPerRecord) * rowsPerRecord);
}

export async function runSync(catalog: Catalog, options: SyncOptions, sink: SyncSink, logger: Logger, signal: AbortSignal): Promise<SyncSummary> {
  const started = Date.now();
  const { store, spec } = catalog;
  const before = { ...store.stats };

  const objects = await catalog.listAll(signal);
  const selection = catalog.select(objects, { tables: options.tables, skipTables: options.skipTables, shard: options.shard });
  const { tables, skipped } = await catalog.plan(selection.tables, signal);
  const allSkipped = [...selection.skipped, ...skipped];

  const summaries = new Map<string, TableSummary>(
    tables.map((t) => [t.name, { table: t.name, files: t.files.length, rows: 0, skipped: [], failed: false }]),
  );
  let errors = 0;
  const report = async (table: string, key: string, message: string) => {
    errors++;
    const summary = summaries.get(table);
    summary?.skipped.push({ key, table, reason: message });
    await sink.error(table, message);
  };
  for (const s of allSkipped) await report(s.table, s.key, s.reason);

  for (const table of tables) await sink.migrate(table.schema);

  const encoders = new Map(tables.map((t) => [t.name, encoderFor(t, spec.rowsPerRecord, options.deterministicCqId)]));
  const jobs = tables.flatMap((t) => t.files.map((f) => ({ table: t, object: f.object })));
  const batchSize = decodeBatchSize(spec.rowsPerRecord);

  // A store-level failure in one file stops every other reader at once.
  const stop = new AbortController();
  const forward = () => stop.abort(signal.reason);
  signal.addEventListener('abort', forward, { once: true });
  try {
    await mapLimit(jobs, spec.concurrency, async (job) => {
      stop.signal.throwIfAborted();
      try {
        await readFile(job.table, job.object, stop.signal);
      } catch (err) {
        stop.abort(err);
        throw err;
      }
    });
  } finally {
    signal.removeEventListener('abort', forward);
  }

  async function readFile(table: TablePlan, object: ObjectInfo, signal: AbortSignal): Promise<void> {
    const summary = summaries.get(table.name)!;
    let rows = 0;
    try {
      const file = await openParquet(catalog.source(object), signal).catch((err) => {
        throw err instanceof ParquetFormatError ? new ObjectError(`${store.uri(object.key)}: ${err.message}`, object.key, 'corrupt') : err;
      });
      try {
        const encoder = encoders.get(table.name)!;
        for await (const batch of file.batches(batchSize, signal)) {
          for (const record of encoder.encode(batch)) {
            await sink.insert(record.ipc, record.rows);
            rows += record.rows;
          }
        }
      } finally {
        file.close();
      }
      summary.rows += rows;
    } catch (err) {
      if (signal.aborted || !isPerObjectError(err)) throw err;
      summary.rows += rows;
      const partial = rows > 0 ? ` (${rows} rows of it were delivered before the failure)` : '';
      const message = `${(err as Error).message}${partial}`;
      logger.warn('object failed', { table: table.name, key: object.key, error: message });
      await report(table.name, object.key, message);
      if (rows > 0) summary.failed = true;
    }
  }

  const after = store.stats;
  const result: SyncSummary = {
    tables: [...summaries.values()],
    rows: [...summaries.values()].reduce((n, s) => n + s.rows, 0),
    errors,
    listRequests: after.listRequests - before.listRequests,
    getRequests: after.getRequests - before.getRequests,
    bytesRead: after.bytesRead - before.bytesRead,
    durationMs: Date.now() - started,
  };
  return result;
}

function encoderFor(table: TablePlan, rowsPerRecord: number, deterministic: boolean): RecordEncoder {
  return new RecordEncoder(table.schema, {
    rowsPerRecord,
    generateCqId: table.generateCqId,
    deterministicKeys: deterministic ? table.primaryKeys : [],
  });
}
