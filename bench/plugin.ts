// Everything the bench uses of the plugin's sources, and the only bench file that imports from src/: when the
// plugin's internal API changes, this file alone is adapted. The bench otherwise drives the built plugin
// (dist/) over gRPC, as the CLI does.
import { openCatalog } from '../src/catalog.js';
import { openParquet } from '../src/formats/parquet/index.js';
import { silentLogger } from '../src/log.js';
import { READ_BUDGET_BYTES } from '../src/source.js';
import { DEFAULT_CONCURRENCY, DEFAULT_ROWS_PER_RECORD, parseSpec } from '../src/spec.js';
import { noState } from '../src/state/state.js';
import { openStore } from '../src/store/index.js';
import { decodeBatchSize, runSync } from '../src/sync/index.js';
import { noTelemetry } from '../src/telemetry.js';
import { ByteBudget } from '../src/util/byte-budget.js';
import { mapLimit } from '../src/util/limit.js';

export { DEFAULT_ROWS_PER_RECORD };

/** Requests a pass made to S3. */
export interface RequestCounts {
  getRequests: number;
  listRequests: number;
}

/** The plugin's Parquet reader over the plugin's S3 store, with nothing of the sync around it. */
export interface ParquetReader {
  /** Lists the bucket and decodes every .parquet object to Arrow batches (as many at once as the sync reads); counts their rows. */
  countRows(): Promise<number>;
  /** Counters of the store, for after countRows. */
  readonly stats: RequestCounts;
  close(): void;
}

/**
 * The plugin's own store for a plugin spec (the JSON the CLI sends in Init): same client settings, same ranged
 * GETs; batches decoded at the size the sync decodes for `rowsPerRecord`.
 */
export async function openParquetReader(pluginSpec: unknown, rowsPerRecord: number): Promise<ParquetReader> {
  const store = await openStore(parseSpec(pluginSpec));
  // The memory bound the plugin's source gives its readers.
  const budget = new ByteBudget(READ_BUDGET_BYTES);
  const batches = { maxRows: decodeBatchSize(rowsPerRecord), rowMultiple: 1 };
  return {
    async countRows() {
      let rows = 0;
      const objects = [];
      for await (const page of store.list('')) objects.push(...page.filter((o) => o.key.endsWith('.parquet')));
      await mapLimit(objects, DEFAULT_CONCURRENCY, async (object) => {
        const file = await openParquet(store.open(object), { budget });
        try {
          for await (const batch of file.batches(batches)) rows += batch.numRows;
        } finally {
          file.close();
        }
      });
      return rows;
    },
    get stats() {
      return store.stats;
    },
    close: () => store.close(),
  };
}

/** A sync of every table, run by the plugin's own sync code in this process: no server, no gRPC. */
export interface InProcessSync {
  /** Calls `insert` with each Arrow IPC record the sync would send; throws at the first per-object error. */
  run(insert: (record: Uint8Array, rows: number) => void): Promise<RequestCounts>;
  close(): void;
}

export async function prepareInProcessSync(pluginSpec: unknown): Promise<InProcessSync> {
  const catalog = await openCatalog(parseSpec(pluginSpec), new ByteBudget(READ_BUDGET_BYTES));
  return {
    async run(insert) {
      // No state backend: every object is read.
      const summary = await runSync(
        { catalog, state: noState, stateId: '', telemetry: noTelemetry, logger: silentLogger },
        { tables: ['*'], skipTables: [], deterministicCqId: false },
        {
          migrate: async () => {},
          insert: async (record, n) => insert(record, n),
          error: async (table, key) => {
            throw new Error(`in-process sync reported an error for ${table}: ${key}`);
          },
        },
        new AbortController().signal,
      );
      return { getRequests: summary.getRequests, listRequests: summary.listRequests };
    },
    close: () => catalog.close(),
  };
}

/** The protobuf wire reader the plugin uses itself (the bench's client decodes Sync responses by hand). */
export { readFields } from '../src/util/protobuf-wire.js';
