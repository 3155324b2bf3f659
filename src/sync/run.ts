// Sync orchestration: list, plan (only what is new, with a state), migrate every table, then read the
// files in parallel (at most `concurrency` at once across all tables) and stream their rows as insert
// records. Backpressure: every send awaits the sink, so a slow client slows the readers instead of
// filling memory. Per-object problems are reported and skipped; store problems fail the sync. Each
// table's state is flushed as soon as it is delivered.
import { setMaxListeners } from 'node:events';
import type { SkippedObject } from '../catalog.js';
import type { Logger } from '../log.js';
import type { ObjectInfo, StoreStats } from '../store/types.js';
import { mapLimit } from '../util/limit.js';
import { warnUnmatchedDeclared } from '../schema/unmatched.js';
import { planReads } from './plan.js';
import { readFile, type FileJob, type Report } from './read-file.js';
import { TableRun } from './table-run.js';
import type { SyncContext, SyncRequest, SyncSink, SyncSummary } from './types.js';

/** At most one progress line per table this often, for tables still being read. */
export const PROGRESS_INTERVAL_MS = 10_000;

export async function runSync(ctx: SyncContext, request: SyncRequest, sink: SyncSink, signal: AbortSignal): Promise<SyncSummary> {
  const started = Date.now();
  const { catalog } = ctx;
  expectListeners(signal);
  const before = { ...catalog.store.stats };
  const objects = await catalog.listAll(signal);
  const selection = catalog.select(objects, request);
  warnUnmatchedDeclared(catalog.spec, objects, ctx.logger); // spec `schema` entries naming no table: likely typos
  const { inputs, states } = planReads(selection.tables, ctx.state, ctx.stateId, request.shard);
  const { tables, skipped } = await catalog.plan(inputs, signal);

  const options = {
    rowsPerRecord: catalog.spec.rowsPerRecord,
    deterministicCqId: request.deterministicCqId,
    keysFromSource: catalog.spec.layout.primaryKeyFromSource,
    shard: request.shard,
  };
  const runs = new Map(
    tables.map((plan) => {
      const listed = selection.tables.find((t) => t.name === plan.name)!.objects;
      return [plan.name, new TableRun(plan, states.get(plan.name)!, listed, options, ctx)];
    }),
  );
  let errors = 0;
  const report: Report = async (table, key, message) => {
    errors++;
    ctx.telemetry.add('errors', 1, { table });
    runs.get(table)?.summary.skipped.push({ key, reason: message });
    await sink.error(table, key, message);
  };
  await reportSkipped([...selection.skipped, ...skipped], objects, runs, report);
  for (const table of tables) await sink.migrate(table.schema);
  for (const run of runs.values()) if (run.done) await run.finish(ctx);

  const jobs = tables.flatMap((t) => t.files.map((object) => ({ run: runs.get(t.name)!, object })));
  await readAll(jobs, [...runs.values()], ctx, sink, report, signal);
  return summarize([...runs.values()], errors, before, catalog.store.stats, started);
}

async function reportSkipped(skipped: SkippedObject[], objects: ObjectInfo[], runs: Map<string, TableRun>, report: Report): Promise<void> {
  const byKey = skipped.length > 0 ? new Map(objects.map((o) => [o.key, o])) : new Map<string, ObjectInfo>();
  for (const s of skipped) {
    await report(s.table, s.key, s.reason);
    const object = byKey.get(s.key);
    if (object) runs.get(s.table)?.skipped(object, s.permanent);
  }
}

/**
 * Every file waiting for a decoder listens for the sync's end, up to `concurrency` at once, each
 * listener removed as its file goes on: more than Node's default of 10 is expected, not a leak (and
 * the warning would reach the user's log).
 */
function expectListeners(signal: AbortSignal): void {
  setMaxListeners(0, signal);
}

/** Reads every file, at most `concurrency` at once; a store-level failure stops every other reader. */
async function readAll(jobs: FileJob[], runs: TableRun[], ctx: SyncContext, sink: SyncSink, report: Report, signal: AbortSignal) {
  const stop = new AbortController();
  expectListeners(stop.signal);
  const forward = () => stop.abort(signal.reason);
  signal.addEventListener('abort', forward, { once: true });
  const progress = setInterval(() => logProgress(runs, ctx.logger), PROGRESS_INTERVAL_MS);
  progress.unref();
  try {
    await mapLimit(jobs, ctx.catalog.spec.concurrency, async (job) => {
      stop.signal.throwIfAborted();
      let done;
      try {
        done = await readFile(job, ctx, sink, report, stop.signal);
      } catch (err) {
        stop.abort(err);
        throw err;
      }
      if (job.run.fileRead(job.object, done)) await job.run.finish(ctx);
    });
  } catch (err) {
    for (const run of runs) if (!run.done) run.span.end(err);
    throw err;
  } finally {
    clearInterval(progress);
    signal.removeEventListener('abort', forward);
  }
}

function logProgress(runs: TableRun[], logger: Logger): void {
  for (const run of runs) {
    if (run.done) continue;
    logger.info('table progress', {
      table: run.name,
      rows: run.summary.rows,
      files_done: run.summary.filesDone,
      files_total: run.summary.files,
      bytes_read: run.summary.bytes,
      elapsed_ms: run.elapsedMs,
    });
  }
}

function summarize(runs: TableRun[], errors: number, before: StoreStats, after: StoreStats, started: number): SyncSummary {
  const tables = runs.map((r) => r.summary);
  return {
    tables,
    rows: tables.reduce((n, s) => n + s.rows, 0),
    errors,
    listRequests: after.listRequests - before.listRequests,
    getRequests: after.getRequests - before.getRequests,
    bytesRead: after.bytesRead - before.bytesRead,
    durationMs: Date.now() - started,
  };
}
