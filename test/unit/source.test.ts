// The source core without gRPC or an S3 server: a local directory (the bundled sample data), a sink
// that keeps what it is sent, and the state the core keeps between syncs. Also the pure pieces of the
// sync: planning, bounded parallelism and batch sizing.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tableFromIPC, type Schema } from 'apache-arrow';
import { groupBatchSize } from '../../src/formats/parquet/index.js';
import { silentLogger } from '../../src/log.js';
import { NotInitializedError, Source } from '../../src/source.js';
import { stateKeys } from '../../src/state/cursors.js';
import { noState, type SyncState } from '../../src/state/state.js';
import { decodeBatchSize, type SyncSink } from '../../src/sync/index.js';
import { planReads } from '../../src/sync/plan.js';
import { mapLimit } from '../../src/util/limit.js';

const SAMPLE = { local_path: 'examples/sample-data', rows_per_record: 100 };
const REQUEST = { tables: ['*'], skipTables: [], deterministicCqId: false };

function collectingSink() {
  const migrated: Schema[] = [];
  const rows = new Map<string, number>();
  const errors: string[] = [];
  const sink: SyncSink = {
    migrate: async (schema) => void migrated.push(schema),
    insert: async (record) => {
      const table = tableFromIPC(record);
      const name = table.schema.metadata.get('cq:table_name') ?? '';
      rows.set(name, (rows.get(name) ?? 0) + table.numRows);
    },
    error: async (_table, key, message) => void errors.push(`${key}: ${message}`),
  };
  return { sink, migrated, rows, errors };
}

/** A state kept in memory, as a backend would keep it between syncs. */
function memoryState(): SyncState & { flushes: number } {
  const values = new Map<string, string>();
  return {
    flushes: 0,
    get: (key) => values.get(key),
    set: (key, value) => void values.set(key, value),
    async flush() {
      this.flushes++;
    },
    close: async () => {},
  };
}

describe('source core', () => {
  it('refuses tables and sync before Init', async () => {
    const source = new Source(silentLogger);
    await assert.rejects(source.tables({ tables: ['*'], skipTables: [] }), NotInitializedError);
    await assert.rejects(source.sync(REQUEST, undefined, collectingSink().sink, new AbortController().signal), NotInitializedError);
  });

  it('syncs the sample data: every table migrated, every row sent once', async () => {
    const source = new Source(silentLogger);
    await source.init(SAMPLE);
    const schemas = await source.tables({ tables: ['*'], skipTables: [] });
    assert.deepEqual(schemas.map((s) => s.metadata.get('cq:table_name')).sort(), ['customers', 'events_2024_01_14', 'sales_2024']);
    const out = collectingSink();
    const summary = await source.sync(REQUEST, undefined, out.sink, new AbortController().signal);
    assert.equal(out.migrated.length, 3);
    assert.deepEqual(Object.fromEntries(out.rows), { customers: 50, events_2024_01_14: 120, sales_2024: 450 });
    assert.equal(summary.rows, 620);
    assert.deepEqual(out.errors, []);
    source.close();
  });

  it('honours skip_tables', async () => {
    const source = new Source(silentLogger);
    await source.init(SAMPLE);
    const out = collectingSink();
    await source.sync({ ...REQUEST, skipTables: ['sales_*'] }, undefined, out.sink, new AbortController().signal);
    assert.deepEqual([...out.rows.keys()].sort(), ['customers', 'events_2024_01_14']);
  });

  it('syncs 40 files at once without a listener warning (each waiting file listens for the end)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cq-many-'));
    const warnings: string[] = [];
    const onWarning = (w: Error) => void warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const file = await readFile('examples/sample-data/customers.parquet');
      await Promise.all(Array.from({ length: 40 }, (_, i) => writeFile(join(dir, `part-${i}.parquet`), file)));
      const source = new Source(silentLogger);
      await source.init({ local_path: dir, rows_per_record: 100 });
      const out = collectingSink();
      const summary = await source.sync(REQUEST, undefined, out.sink, new AbortController().signal);
      assert.equal(summary.rows, 40 * 50);
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      assert.deepEqual(warnings, []);
      source.close();
    } finally {
      process.off('warning', onWarning);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('answers TestConnection for a readable directory and a bad spec', async () => {
    const source = new Source(silentLogger);
    assert.deepEqual(await source.testConnection(SAMPLE), { success: true });
    const bad = await source.testConnection({ local_path: 'x', bukcet: 'y' });
    assert.equal(bad.success, false);
    assert.equal(bad.failureCode, 'INVALID_SPEC');
  });
});

describe('sync planning', () => {
  const obj = (key: string, seconds: number) => ({ key, size: 1, etag: `"${key}"`, lastModified: new Date(seconds * 1000) });
  // As the catalog selects them: a shard's objects are the same instances as in `all`.
  const all = [obj('t/a', 1), obj('t/b', 2), obj('t/c', 3)];
  const table = { name: 't', objects: all.slice(0, 2), all };

  it('without a state reads every owned object; the other shards shape the schema', () => {
    const { inputs } = planReads([table], noState, 'bucket');
    assert.deepEqual(
      inputs[0]!.objects.map((o) => o.key),
      ['t/a', 't/b'],
    );
    assert.deepEqual(
      inputs[0]!.schemaExtra!.map((o) => o.key),
      ['t/c'],
    );
    assert.deepEqual(inputs[0]!.schemaOnly, []);
  });

  it('with a cursor reads only what is newer, and falls back to any footer for the schema', () => {
    const state = memoryState();
    state.set(stateKeys('bucket', 't').cursor, new Date(2000).toISOString());
    state.set(stateKeys('bucket', 't').synced, JSON.stringify({ 't/b': '"t/b"' }));
    const { inputs, states } = planReads([table], state, 'bucket');
    assert.deepEqual(inputs[0]!.objects, []);
    assert.equal(states.get('t')!.cursor, 2000);
    assert.deepEqual(
      inputs[0]!.schemaOnly!.map((o) => o.key),
      ['t/a', 't/b', 't/c'],
    );
  });
});

describe('bounded parallelism', () => {
  it('keeps at most `limit` calls in flight and the input order', async () => {
    let running = 0;
    let peak = 0;
    const results = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
      peak = Math.max(peak, ++running);
      await new Promise((r) => setTimeout(r, n));
      running--;
      return n * 10;
    });
    assert.deepEqual(results, [50, 10, 40, 20, 30]);
    assert.equal(peak, 2);
  });

  it('hands out no more work after the first failure', async () => {
    const started: number[] = [];
    await assert.rejects(
      mapLimit([1, 2, 3, 4, 5, 6], 2, async (n) => {
        started.push(n);
        await new Promise((r) => setTimeout(r, 5));
        if (n === 1) throw new Error('store down');
        return n;
      }),
      /store down/,
    );
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(started, [1, 2]);
  });
});

describe('batch sizing', () => {
  it('decodes in multiples of rows_per_record near 64k rows', () => {
    assert.equal(decodeBatchSize(500), 65_500);
    assert.equal(decodeBatchSize(10_000), 60_000);
    assert.equal(decodeBatchSize(100_000), 100_000);
    assert.equal(decodeBatchSize(1), 65_536);
  });

  it('cuts a row group into batches of about 2 MiB decoded, in multiples of the record size', () => {
    // 1,000 rows of 1 KiB: 2 MiB is 2,048 rows, cut down to a multiple of 500.
    assert.equal(groupBatchSize({ rows: 1_000, bytes: 1_024_000 }, 65_500, 500), 2_000);
    // Narrow rows: the row cap wins.
    assert.equal(groupBatchSize({ rows: 1_000_000, bytes: 8_000_000 }, 65_500, 500), 65_500);
    // Rows of 100 KB: one record's worth (500 rows, 50 MB) at a time.
    assert.equal(groupBatchSize({ rows: 10, bytes: 1_000_000 }, 65_500, 500), 500);
    // Rows of 10 MB, whose record's worth would be 5 GB decoded: one row at a time (the encoder cuts records by bytes).
    assert.equal(groupBatchSize({ rows: 10, bytes: 100_000_000 }, 65_500, 500), 1);
    // A footer without sizes: the row cap.
    assert.equal(groupBatchSize({ rows: 0, bytes: 0 }, 65_500, 500), 65_500);
  });
});
