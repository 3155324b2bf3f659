// Sync orchestration: list, select what is new (with a state backend), plan tables, send
// migrate_table for each, then read files in parallel (at most `concurrency` at once across all
// tables) and stream their rows as insert records. Backpressure: every send awaits the sink, so a
// slow client slows the readers instead of filling memory. Per-object problems are reported and
// skipped; store problems fail the sync. Each table's state is flushed as soon as it is delivered.
import type { Schema } from 'apache-arrow';
import { Catalog, isPermanent, isPerObjectError, type PlanInput, type TablePlan } from './catalog.js';
import { RecordEncoder } from './arrow/records.js';
import { decodeMerged, encodeMerged } from './arrow/schema.js';
import { openParquet, ParquetFormatError } from './formats/parquet.js';
import type { Logger } from './log.js';
import { advance, readTableState, selectNew, stateKeys, writeTableState, type Outcome, type TableState } from './state/cursors.js';
import { ObjectError, type ObjectInfo } from './store/types.js';
import { noTelemetry, type Telemetry, type TelemetrySpan } from './telemetry.js';
import { mapLimit } from './util/limit.js';

/** The key/value state of incremental syncs (the CloudQuery state backend). */
export interface SyncState {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
  flush(): Promise<void>;
}

export interface SyncOptions {
  tables: string[];
  skipTables: string[];
  deterministicCqId: boolean;
  shard?: { num: number; total: number };
  /** With a state, only objects new since the last sync are read. */
  state?: SyncState;
  /** Names the store in state keys: the bucket (or local path). */
  stateId?: string;
  /** Spans per table (children of `span`) and row/byte/error counters. */
  telemetry?: Telemetry;
  span?: TelemetrySpan;
}

/** Where sync output goes: the gRPC stream in the server. */
export interface SyncSink {
  migrate(schema: Schema): Promise<void>;
  insert(record: Uint8Array, rows: number): Promise<void>;
  /** A per-object problem the sync skipped past: the one place it is logged and reported. */
  error(table: string, key: string, message: string): Promise<void>;
}

export interface TableSummary {
  table: string;
  files: number;
  filesDone: number;
  rows: number;
  bytes: number;
  skipped: { key: string; reason: string }[];
  durationMs: number;
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

/** At most one progress line per table this often, for tables still being read. */
export const PROGRESS_INTERVAL_MS = 10_000;

// Batches decoded from Parquet: a multiple of rows_per_record large enough to keep per-batch
// overhead (WebAssembly calls, IPC framing) small, small enough to bound memory.
const TARGET_DECODE_ROWS = 65_536;

export function decodeBatchSize(rowsPerRecord: number): number {
  return Math.max(rowsPerRecord, Math.floor(TARGET_DECODE_ROWS / rowsPerRecord) * rowsPerRecord);
}

interface TableRun {
  plan: TablePlan;
  state?: TableState;
  listed: ObjectInfo[];
  outcomes: Outcome[];
  remaining: number;
  summary: TableSummary;
  started: number;
  span: TelemetrySpan;
}

export async function runSync(
  catalog: Catalog,
  options: SyncOptions,
  sink: SyncSink,
  logger: Logger,
  signal: AbortSignal,
): Promise<SyncSummary> {
  const started = Date.now();
  const { store, spec } = catalog;
  const telemetry = options.telemetry ?? noTelemetry;
  const before = { ...store.stats };

  const objects = await catalog.listAll(signal);
  const selection = catalog.select(objects, { tables: options.tables, skipTables: options.skipTables, shard: options.shard });

  // What to read per table: everything, or with a state only what is new since the last sync.
  const states = new Map<string, TableState>();
  const inputs: PlanInput[] = selection.tables.map((table) => {
    let fresh = table.objects;
    let freshAll = table.all;
    let base;
    if (options.state) {
      const state = readTableState((k) => options.state!.get(k), stateKeys(options.stateId ?? '', table.name, options.shard));
      states.set(table.name, state);
      base = state.schema ? decodeMerged(state.schema) : undefined;
      fresh = selectNew(table.objects, state);
      freshAll = selectNew(table.all, state);
    }
    // With shards, the other shards' new files shape the schema too: every shard migrates alike.
    const owned = new Set(fresh);
    const schemaExtra = freshAll.filter((o) => !owned.has(o));
    // Nothing to read and no cached schema (a shard owning no file of the table, or state written by
    // the Go plugin): the first readable footer gives the schema, so migrate_table still goes out.
    const schemaOnly = !base && fresh.length === 0 ? table.all : [];
    return { name: table.name, objects: fresh, base, schemaExtra, schemaOnly };
  });
  const { tables, skipped } = await catalog.plan(inputs, signal);

  const runs = new Map<string, TableRun>(
    tables.map((plan) => [
      plan.name,
      {
        plan,
        state: states.get(plan.name),
        listed: selection.tables.find((t) => t.name === plan.name)!.objects,
        outcomes: [],
        remaining: plan.files.length,
        summary: { table: plan.name, files: plan.files.length, filesDone: 0, rows: 0, bytes: 0, skipped: [], durationMs: 0 },
        started: Date.now(),
        span: telemetry.span('sync table', { 'cq.table': plan.name, 'cq.files': plan.files.length }, options.span),
      },
    ]),
  );
  let errors = 0;
  const report = async (table: string, key: string, message: string) => {
    errors++;
    telemetry.add('errors', 1, { table });
    runs.get(table)?.summary.skipped.push({ key, reason: message });
    await sink.error(table, key, message);
  };
  for (const s of [...selection.skipped, ...skipped]) {
    await report(s.table, s.key, s.reason);
    const object = objects.find((o) => o.key === s.key);
    if (object) runs.get(s.table)?.outcomes.push({ object, done: s.permanent });
  }

  for (const table of tables) await sink.migrate(table.schema);

  const finish = async (run: TableRun) => {
    run.summary.durationMs = Date.now() - run.started;
    logger.info('table synced', {
      table: run.plan.name,
      files: run.summary.files,
      rows: run.summary.rows,
      bytes_read: run.summary.bytes,
      skipped: run.summary.skipped,
      duration_ms: run.summary.durationMs,
    });
    run.span.setAttributes({ 'cq.rows': run.summary.rows, 'cq.bytes_read': run.summary.bytes, 'cq.skipped': run.summary.skipped.length });
    run.span.end();
    if (!options.state || !run.state) return;
    const next = advance(run.state, run.outcomes, run.listed);
    next.schema = encodeMerged(run.plan.merged);
    let changed = false;
    writeTableState(
      (k, v) => {
        if (options.state!.get(k) === v) return;
        options.state!.set(k, v);
        changed = true;
      },
      stateKeys(options.stateId ?? '', run.plan.name, options.shard),
      next,
    );
    // Flushed now, so a later failure elsewhere loses none of this table's progress.
    if (changed) await options.state.flush();
  };
  for (const run of runs.values()) if (run.remaining === 0) await finish(run);

  const encoders = new Map(tables.map((t) => [t.name, encoderFor(t, spec.rowsPerRecord, options.deterministicCqId)]));
  const jobs = tables.flatMap((t) => t.files.map((f) => ({ run: runs.get(t.name)!, object: f.object })));
  const batchSize = decodeBatchSize(spec.rowsPerRecord);

  // A store-level failure in one file stops every other reader at once.
  const stop = new AbortController();
  const forward = () => stop.abort(signal.reason);
  signal.addEventListener('abort', forward, { once: true });
  const progress = setInterval(() => {
    for (const run of runs.values()) {
      if (run.remaining === 0) continue;
      logger.info('table progress', {
        table: run.plan.name,
        rows: run.summary.rows,
        files_done: run.summary.filesDone,
        files_total: run.summary.files,
        bytes_read: run.summary.bytes,
        elapsed_ms: Date.now() - run.started,
      });
    }
  }, PROGRESS_INTERVAL_MS);
  progress.unref();
  try {
    await mapLimit(jobs, spec.concurrency, async ({ run, object }) => {
      stop.signal.throwIfAborted();
      try {
        run.outcomes.push({ object, done: await readFile(run, object, stop.signal) });
      } catch (err) {
        stop.abort(err);
        throw err;
      }
      if (--run.remaining === 0) await finish(run);
    });
  } catch (err) {
    for (const run of runs.values()) if (run.remaining > 0) run.span.end(err);
    throw err;
  } finally {
    clearInterval(progress);
    signal.removeEventListener('abort', forward);
  }

  /** Streams one file's rows; returns whether the object is done (delivered or skipped for good). */
  async function readFile(run: TableRun, object: ObjectInfo, signal: AbortSignal): Promise<boolean> {
    const table = run.plan.name;
    let rows = 0;
    const source = catalog.source(object);
    const counted = {
      ...source,
      read: async (start: number, end: number, readSignal?: AbortSignal) => {
        const bytes = await source.read(start, end, readSignal);
        run.summary.bytes += bytes.byteLength;
        telemetry.add('bytes_read', bytes.byteLength, { table });
        return bytes;
      },
    };
    try {
      const file = await openParquet(counted, signal).catch((err) => {
        throw err instanceof ParquetFormatError ? new ObjectError(`${store.uri(object.key)}: ${err.message}`, object.key, 'corrupt') : err;
      });
      try {
        const encoder = encoders.get(table)!;
        for await (const batch of file.batches(batchSize, signal, spec.rowsPerRecord)) {
          for (const record of encoder.encode(batch)) {
            await sink.insert(record.ipc, record.rows);
            rows += record.rows;
            run.summary.rows += record.rows;
            telemetry.add('rows', record.rows, { table });
          }
        }
      } finally {
        file.close();
      }
      run.summary.filesDone++;
      return true;
    } catch (err) {
      if (signal.aborted || !isPerObjectError(err)) throw err;
      run.summary.filesDone++;
      const partial = rows > 0 ? ` (${rows} rows of it were delivered before the failure)` : '';
      const message = `${(err as Error).message}${partial}`;
      await report(table, object.key, message);
      return rows === 0 && isPermanent(err);
    }
  }

  const after = store.stats;
  const summaries = [...runs.values()].map((r) => r.summary);
  return {
    tables: summaries,
    rows: summaries.reduce((n, s) => n + s.rows, 0),
    errors,
    listRequests: after.listRequests - before.listRequests,
    getRequests: after.getRequests - before.getRequests,
    bytesRead: after.bytesRead - before.bytesRead,
    durationMs: Date.now() - started,
  };
}

function encoderFor(table: TablePlan, rowsPerRecord: number, deterministic: boolean): RecordEncoder {
  return new RecordEncoder(table.schema, {
    rowsPerRecord,
    generateCqId: table.generateCqId,
    deterministicKeys: deterministic ? table.primaryKeys : [],
  });
}
