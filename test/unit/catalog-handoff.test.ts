// Files opened while planning are handed to the sync: each file is opened once per sync (one footer
// read and parse, one decoder open), within a bound by bytes that keeps the readers the sync needs
// first. Over real Parquet files (DuckDB) in a local directory, read by the plugin's own catalog.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ReaderHandoff, type HeldReader } from '../../src/catalog-handoff.js';
import { Catalog } from '../../src/catalog.js';
import type { FileFormat, FileReader } from '../../src/formats/types.js';
import { parseSpec } from '../../src/spec.js';
import { LocalStore } from '../../src/store/local.js';
import type { ObjectInfo } from '../../src/store/types.js';
import { ByteBudget } from '../../src/util/byte-budget.js';
import { closeFixtures, parquetFromSql } from '../support/fixtures.js';

const FILES = 12;
const ROWS = 50;

/** A reader standing for one that holds `heldBytes`; records whether it was closed. */
function reader(heldBytes: number | undefined): FileReader & { closed: boolean } {
  return {
    schema: undefined as never,
    heldBytes,
    closed: false,
    // eslint-disable-next-line require-yield
    async *batches() {
      return;
    },
    close() {
      this.closed = true;
    },
  };
}

const object = (key: string, etag = '"1"'): ObjectInfo => ({ key, etag, size: 10, lastModified: new Date(0) });
const nothing = { key: '', size: 0, read: async () => new Uint8Array() };
const held = (r: FileReader): HeldReader => ({ reader: r, source: nothing, inner: nothing });
/** Bytes an entry takes beyond what its reader declares (its id and the entry). */
const overhead = (o: ObjectInfo) => (o.key.length + 1 + o.etag.length) * 2 + 160;

describe('reader handoff', () => {
  it('keeps readers up to its bound and then refuses new ones, keeping those planned first', () => {
    const handoff = new ReaderHandoff(3 * (1000 + overhead(object('k0'))));
    handoff.nextPlan();
    const offered = [0, 1, 2, 3, 4].map((i) => handoff.offer(object(`k${i}`), held(reader(1000))));
    assert.deepEqual(offered, [true, true, true, false, false]);
    assert.ok(handoff.peek(object('k0')), 'peek leaves it held');
    assert.ok(handoff.take(object('k0')));
    assert.equal(handoff.take(object('k0')), undefined, 'taken once');
    assert.equal(handoff.take(object('k1', '"2"')), undefined, 'another version of the object is another file');
    assert.ok(handoff.offer(object('k3'), held(reader(1000))), 'taking made room');
  });

  it('never keeps a reader that does not declare what it holds', () => {
    const handoff = new ReaderHandoff(1 << 20);
    assert.equal(handoff.offer(object('csv'), held(reader(undefined))), false);
    assert.equal(handoff.size, 0);
  });

  it('readers of an earlier plan make room for a later plan, and are closed', () => {
    const handoff = new ReaderHandoff(2 * (1000 + overhead(object('k0'))));
    handoff.nextPlan();
    const stale = [reader(1000), reader(1000)];
    stale.forEach((r, i) => assert.ok(handoff.offer(object(`k${i}`), held(r))));
    handoff.nextPlan();
    assert.ok(handoff.offer(object('n0'), held(reader(1000))));
    assert.equal(stale[0]!.closed, true);
    assert.equal(stale[1]!.closed, false);
    assert.ok(handoff.offer(object('n1'), held(reader(1000))));
    assert.equal(stale[1]!.closed, true);
    assert.equal(handoff.offer(object('n2'), held(reader(1000))), false, 'this plan’s own readers are never evicted');
    handoff.clear();
    assert.equal(handoff.size, 0);
  });
});

describe('catalog: each file opened once per sync', () => {
  let root: string;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'cq-handoff-'));
    mkdirSync(join(root, 'small'));
    for (let i = 0; i < FILES; i++) {
      const sql = `SELECT (i + ${i * ROWS})::BIGINT AS id, 'n' || i AS name FROM range(${ROWS}) t(i)`;
      writeFileSync(join(root, 'small', `f${String(i).padStart(2, '0')}.parquet`), await parquetFromSql(sql));
    }
  });

  after(async () => {
    rmSync(root, { recursive: true, force: true });
    await closeFixtures();
  });

  function catalogCountingOpens() {
    const store = new LocalStore(root);
    const catalog = new Catalog(store, parseSpec({ local_path: root }), new ByteBudget(64 << 20));
    const opens: string[] = [];
    // The formats beneath the catalog's own (which hands held readers over): every real open.
    const formats = (catalog as unknown as { formats: FileFormat }).formats;
    const open = formats.open.bind(formats);
    formats.open = (source, options) => {
      opens.push(source.key);
      return open(source, options);
    };
    return { catalog, store, opens };
  }

  async function readAll(catalog: Catalog, files: ObjectInfo[]) {
    let rows = 0;
    let bytes = 0;
    const signal = new AbortController().signal;
    for (const object of files) {
      // As the sync opens a file: the catalog's format, over its source wrapped by a byte counter.
      const source = catalog.source(object);
      const counted = {
        ...source,
        read: async (start: number, end: number, s?: AbortSignal) => {
          const read = await source.read(start, end, s);
          bytes += read.byteLength;
          return read;
        },
      };
      const file = await catalog.format.open(counted, { signal, budget: catalog.budget });
      for await (const batch of file.batches({ maxRows: 1000, rowMultiple: 1, signal })) rows += batch.numRows;
      file.close();
    }
    return { rows, bytes };
  }

  it('plans and reads every file with one open and one read of the store each', async () => {
    const { catalog, store, opens } = catalogCountingOpens();
    try {
      const selection = catalog.select(await catalog.listAll(), { tables: [], skipTables: [] });
      const { tables } = await catalog.plan(selection.tables);
      assert.equal(tables.length, 1);
      assert.equal(tables[0]!.files.length, FILES);
      assert.equal(tables[0]!.declaredRows, FILES * ROWS);
      const { rows, bytes } = await readAll(catalog, tables[0]!.files);
      assert.equal(rows, FILES * ROWS);
      assert.ok(bytes > 0, 'the bytes the sync reads are metered');
      assert.equal(opens.length, FILES, `opens: ${opens.join(', ')}`);
      assert.equal(store.stats.getRequests, FILES, 'one read of each file: its tail holds the whole file');
    } finally {
      catalog.close();
    }
  });

  it('GetTables then a sync: the second plan and the reads reuse the first plan’s readers', async () => {
    const { catalog, store, opens } = catalogCountingOpens();
    try {
      const selection = () => catalog.listAll().then((all) => catalog.select(all, { tables: [], skipTables: [] }));
      await catalog.plan((await selection()).tables);
      const { tables } = await catalog.plan((await selection()).tables);
      const { rows } = await readAll(catalog, tables[0]!.files);
      assert.equal(rows, FILES * ROWS);
      assert.equal(opens.length, FILES);
      assert.equal(store.stats.getRequests, FILES);
    } finally {
      catalog.close();
    }
  });
});
