// The source core: what the plugin does, whatever calls it. init / tables / sync / testConnection /
// close, owning the catalog's lifetime (a catalog replaced by Init stays open for the syncs still
// using it), the state backend, spans and the summary log. The gRPC service (server/) only translates
// protocol messages to these calls.
import type { Schema } from 'apache-arrow';
import { Catalog, openCatalog } from './catalog.js';
import { errorMessage, StoreError } from './errors.js';
import type { Logger } from './log.js';
import { parseSpec, SpecError } from './spec.js';
import { openStateBackend } from './state/backend.js';
import { noState, type SyncState } from './state/state.js';
import { runSync, type SyncRequest, type SyncSink, type SyncSummary } from './sync/index.js';
import { noTelemetry, type Telemetry } from './telemetry.js';
import { ByteBudget } from './util/byte-budget.js';

/**
 * Memory for file bytes being fetched and decoded, across every file every sync of this process reads
 * at once (a Parquet row group is charged about five times its compressed size: see formats/parquet).
 */
export const READ_BUDGET_BYTES = 256 * 1024 * 1024;

/** Sync or GetTables before Init. */
export class NotInitializedError extends Error {
  constructor() {
    super('plugin not initialized: call Init with a spec first');
  }
}

export interface BackendOptions {
  connection: string;
  tableName: string;
}

export interface TableRequest {
  tables: string[];
  skipTables: string[];
}

export interface ConnectionCheck {
  success: boolean;
  failureCode?: string;
  failureDescription?: string;
}

export class Source {
  private catalog?: Catalog;
  /** Calls using each catalog: a catalog replaced by Init or Close is closed only once they end. */
  private readonly users = new Map<Catalog, number>();
  private readonly budget = new ByteBudget(READ_BUDGET_BYTES);

  constructor(
    private readonly logger: Logger,
    private readonly telemetry: Telemetry = noTelemetry,
  ) {}

  async init(specInput: unknown, noConnection = false): Promise<void> {
    const spec = parseSpec(specInput);
    const catalog = await openCatalog(spec, this.budget, this.logger);
    this.replaceCatalog(catalog);
    this.logger.info('initialized', { store: catalog.store.location, path_prefix: spec.pathPrefix, no_connection: noConnection });
  }

  /** The schemas of the tables the request selects (footers read, cached for the sync that follows). */
  async tables(request: TableRequest): Promise<Schema[]> {
    return this.using(async (catalog) => {
      const selection = catalog.select(await catalog.listAll(), request);
      const { tables, skipped } = await catalog.plan(selection.tables);
      for (const s of [...selection.skipped, ...skipped])
        this.logger.warn('object skipped', { table: s.table, key: s.key, error: s.reason });
      return tables.map((t) => t.schema);
    });
  }

  async sync(request: SyncRequest, backend: BackendOptions | undefined, sink: SyncSink, signal: AbortSignal): Promise<SyncSummary> {
    return this.using(async (catalog) => {
      const log = this.logger.child({ invocation: 'sync' });
      const state: SyncState = backend ? await openStateBackend(backend, log) : noState;
      const span = this.telemetry.span('sync', { 'cq.store': catalog.store.location });
      try {
        const stateId = catalog.spec.store.kind === 's3' ? catalog.spec.store.bucket : catalog.spec.store.path;
        const summary = await runSync({ catalog, state, stateId, telemetry: this.telemetry, span, logger: log }, request, sink, signal);
        span.setAttributes({ 'cq.rows': summary.rows, 'cq.errors': summary.errors, 'cq.tables': summary.tables.length });
        span.end();
        logSummary(log, summary);
        return summary;
      } catch (err) {
        span.end(err);
        throw err;
      } finally {
        await state.close();
      }
    });
  }

  /** Whether the spec is valid and its bucket can be listed, without changing the current spec. */
  async testConnection(specInput: unknown): Promise<ConnectionCheck> {
    try {
      const catalog = await openCatalog(parseSpec(specInput), this.budget, this.logger);
      try {
        for await (const _page of catalog.store.list(catalog.spec.pathPrefix)) break;
      } finally {
        catalog.close();
      }
      return { success: true };
    } catch (err) {
      const code = err instanceof SpecError ? 'INVALID_SPEC' : err instanceof StoreError ? err.code.toUpperCase() : 'UNKNOWN';
      return { success: false, failureCode: code, failureDescription: errorMessage(err) };
    }
  }

  close(): void {
    this.replaceCatalog(undefined);
  }

  private replaceCatalog(next: Catalog | undefined): void {
    const previous = this.catalog;
    this.catalog = next;
    if (previous && !this.users.get(previous)) previous.close();
  }

  /** Runs `fn` with the current catalog, kept open until it ends even if Init replaces it meanwhile. */
  private async using<T>(fn: (catalog: Catalog) => Promise<T>): Promise<T> {
    const catalog = this.catalog;
    if (!catalog) throw new NotInitializedError();
    this.users.set(catalog, (this.users.get(catalog) ?? 0) + 1);
    try {
      return await fn(catalog);
    } finally {
      const left = (this.users.get(catalog) ?? 1) - 1;
      if (left > 0) this.users.set(catalog, left);
      else {
        this.users.delete(catalog);
        if (catalog !== this.catalog) catalog.close();
      }
    }
  }
}

function logSummary(log: Logger, summary: SyncSummary): void {
  log.info('sync finished', {
    tables: summary.tables.length,
    rows: summary.rows,
    errors: summary.errors,
    list_requests: summary.listRequests,
    get_requests: summary.getRequests,
    bytes_read: summary.bytesRead,
    duration_ms: summary.durationMs,
  });
}
