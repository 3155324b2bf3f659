// One table's part of a sync: its encoder, what became of each object (for the incremental state),
// its summary and span. finish() logs the summary, ends the span, and advances and flushes the
// table's state, as soon as the table's last file is done.
import type { TablePlan } from '../catalog.js';
import { RecordEncoder } from '../arrow/records.js';
import { encodeMerged } from '../arrow/schema.js';
import { advance, stateKeys, writeTableState, type Outcome, type ShardRef, type TableState } from '../state/cursors.js';
import type { ObjectInfo } from '../store/types.js';
import type { TelemetrySpan } from '../telemetry.js';
import type { SyncContext, TableSummary } from './types.js';

export interface TableRunOptions {
  rowsPerRecord: number;
  deterministicCqId: boolean;
  /** primary_key_from_source: the table's primary key is (_source_key, _source_row). */
  keysFromSource?: boolean;
  shard?: ShardRef;
}

export class TableRun {
  readonly summary: TableSummary;
  readonly encoder: RecordEncoder;
  readonly span: TelemetrySpan;
  /** What became of the table's objects, as two lists of the objects themselves (no object per outcome). */
  private readonly doneObjects: ObjectInfo[] = [];
  private readonly undoneObjects: ObjectInfo[] = [];
  private remaining: number;
  private readonly started = Date.now();

  constructor(
    readonly plan: TablePlan,
    /** The table's state as the last sync left it. */
    private readonly state: TableState,
    /** Every object of the table this shard owns, as listed now. */
    private readonly listed: ObjectInfo[],
    private readonly options: TableRunOptions,
    ctx: SyncContext,
  ) {
    this.remaining = plan.files.length;
    this.summary = { table: plan.name, files: plan.files.length, filesDone: 0, rows: 0, bytes: 0, skipped: [], durationMs: 0 };
    this.span = ctx.telemetry.span('sync table', { 'cq.table': plan.name, 'cq.files': plan.files.length }, ctx.span);
    this.encoder = new RecordEncoder(plan.schema, {
      rowsPerRecord: options.rowsPerRecord,
      generateCqId: plan.generateCqId,
      // Keys from the source (primary_key_from_source) or declared in the spec's `schema` exist to make
      // ids repeatable: always deterministic.
      deterministicKeys: options.deterministicCqId || options.keysFromSource || plan.declared ? plan.primaryKeys : [],
    });
  }

  get name(): string {
    return this.plan.name;
  }

  get done(): boolean {
    return this.remaining === 0;
  }

  get elapsedMs(): number {
    return Date.now() - this.started;
  }

  /** An object skipped before reading (unreadable footer, schema conflict). */
  skipped(object: ObjectInfo, permanent: boolean): void {
    this.outcome(object, permanent);
  }

  /** One of the table's files was read (`done`: delivered, or skipped for good); true when it was the last. */
  fileRead(object: ObjectInfo, done: boolean): boolean {
    this.outcome(object, done);
    this.summary.filesDone++;
    return --this.remaining === 0;
  }

  private outcome(object: ObjectInfo, done: boolean): void {
    (done ? this.doneObjects : this.undoneObjects).push(object);
  }

  async finish(ctx: SyncContext): Promise<void> {
    this.summary.durationMs = this.elapsedMs;
    const { summary } = this;
    ctx.logger.info('table synced', {
      table: this.name,
      files: summary.files,
      rows: summary.rows,
      bytes_read: summary.bytes,
      skipped: summary.skipped,
      duration_ms: summary.durationMs,
    });
    this.span.setAttributes({ 'cq.rows': summary.rows, 'cq.bytes_read': summary.bytes, 'cq.skipped': summary.skipped.length });
    this.span.end();
    await this.saveState(ctx);
  }

  /** Stores where the next sync starts; flushed now, so a later failure elsewhere loses none of it. */
  private async saveState(ctx: SyncContext): Promise<void> {
    const outcomes: Outcome[] = [
      ...this.doneObjects.map((object) => ({ object, done: true })),
      ...this.undoneObjects.map((object) => ({ object, done: false })),
    ];
    const next = advance(this.state, outcomes, this.listed);
    next.schema = encodeMerged(this.plan.merged);
    let changed = false;
    writeTableState(
      (k, v) => {
        if (ctx.state.get(k) === v) return;
        ctx.state.set(k, v);
        changed = true;
      },
      stateKeys(ctx.stateId, this.name, this.options.shard),
      next,
    );
    if (changed) await ctx.state.flush();
  }
}
