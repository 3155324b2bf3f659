// What a sync takes and gives: the request (from the CLI), the context the source core provides, the
// sink the rows go to, and the summaries it returns.
import type { Schema } from 'apache-arrow';
import type { Catalog } from '../catalog.js';
import type { Logger } from '../log.js';
import type { ShardRef } from '../state/cursors.js';
import type { SyncState } from '../state/state.js';
import type { Telemetry, TelemetrySpan } from '../telemetry.js';

export interface SyncRequest {
  tables: string[];
  skipTables: string[];
  deterministicCqId: boolean;
  shard?: ShardRef;
}

export interface SyncContext {
  catalog: Catalog;
  /** The incremental state: only objects new since the last sync are read (noState: every object). */
  state: SyncState;
  /** Names the store in state keys: the bucket (or local path). */
  stateId: string;
  /** Spans per table (children of `span`) and row/byte/error counters. */
  telemetry: Telemetry;
  span?: TelemetrySpan;
  logger: Logger;
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
