// The sync, in parts: plan.ts (what to read, pure), table-run.ts (one table's outcomes, summary and
// state), read-file.ts (one file's rows to the sink), run.ts (the orchestration).
export { runSync, PROGRESS_INTERVAL_MS } from './run.js';
export { decodeBatchSize } from './read-file.js';
export type { SyncContext, SyncRequest, SyncSink, SyncSummary, TableSummary } from './types.js';
