// Hostile Parquet files beside good ones on a real S3 server (Swift s3api), read by the bundled plugin
// through the protocol the CloudQuery CLI speaks: every hostile object is reported by key, no row of
// it is delivered, the good files' rows all arrive, and the process is still there afterwards.
// Run `npm run build` first. Also here: read-file's own rule that the rows read add up to the rows a
// file declares, with a format stub (no server).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RecordBatch, Schema, Field, Int64, makeData, Struct, vectorFromArray, type Vector } from 'apache-arrow';
import { RecordEncoder } from '../src/arrow/records.js';
import type { FileFormat, FileReader } from '../src/formats/types.js';
import { readFile, type FileJob } from '../src/sync/read-file.js';
import type { SyncContext, SyncSink } from '../src/sync/types.js';
import { ByteBudget } from '../src/util/byte-budget.js';
import { closeFixtures, parquetFromSql } from './support/fixtures.js';
import { footerLies, legacyLayouts, pageLies, simpleSql, type HostileFile } from './support/hostile-parquet.js';
import { startPlugin, tableName, type PluginProcess, type SyncResult } from './support/plugin-client.js';
import { startS3Server, type S3TestServer } from './support/s3-server.js';
import { s3Spec } from './support/s3-spec.js';
import { withPageCrcs } from './support/parquet-pages.js';

const BUCKET = 'cq-hostile-test';
/** The good files and their ids; the hostile files are made from rows [0, 3000), so no good id is below 3000. */
const GOOD: { name: string; range: [number, number]; make: (sql: string) => Promise<Uint8Array> }[] = [
  { name: 'good-gzip', range: [10_000, 13_000], make: (sql) => parquetFromSql(sql, { codec: 'gzip' }) },
  { name: 'good-uncompressed', range: [20_000, 25_000], make: (sql) => parquetFromSql(sql, { codec: 'uncompressed', rowGroupSize: 2048 }) },
  { name: 'good-page-crcs', range: [30_000, 33_000], make: async (sql) => withPageCrcs(await parquetFromSql(sql, { rowGroupSize: 2048 })) },
  ...['legacy-data-offset-inside-dictionary', 'legacy-no-dictionary-offset', 'dictionary-offset-equals-data'].map((name, i) => ({
    name,
    range: [40_000 + 10_000 * i, 43_000 + 10_000 * i] as [number, number],
    make: async (sql: string) => legacyLayouts(await parquetFromSql(sql, { rowGroupSize: 2048 })).find((l) => l.name === name)!.file,
  })),
];

let s3: S3TestServer;
let footerCases: HostileFile[];
let pageCases: HostileFile[];

const spec = () => s3Spec(s3, BUCKET, { concurrency: 4 });

async function putGoodFiles(table: string): Promise<void> {
  for (const { name, range, make } of GOOD) await s3.put(BUCKET, `${table}/${name}.parquet`, await make(simpleSql(...range)));
}

/** Every good row arrived once, with its values; nothing else did. */
function assertGoodRows(result: SyncResult, table: string): void {
  const rows = result.rows(table);
  const ids = rows.map((r) => Number(r.id)).sort((x, y) => x - y);
  const expected = GOOD.flatMap(({ range: [from, to] }) => Array.from({ length: to - from }, (_, i) => from + i));
  assert.deepEqual(ids, expected, `${table}: exactly the good files' rows`);
  for (const row of rows) {
    const id = Number(row.id);
    assert.equal(row.name, `v${id}`);
    assert.equal(row.small, id % 7);
    assert.deepEqual([...(row.pair as Vector)], [id, id + 1]);
  }
}

function assertReported(result: SyncResult, table: string, cases: HostileFile[]): void {
  const errors = result.errors.filter((e) => e.table === table).map((e) => e.error);
  const problems: string[] = [];
  for (const c of cases) {
    const mine = errors.filter((e) => e.includes(`s3://${BUCKET}/${table}/${c.name}.parquet:`));
    if (mine.length !== 1) problems.push(`${c.name}: reported ${mine.length} times`);
    else if (!c.message.test(mine[0]!)) problems.push(`${c.name}: ${mine[0]} does not match ${c.message}`);
    else if (/rows of it were delivered/.test(mine[0]!)) problems.push(`${c.name}: rows of it went out`);
  }
  assert.deepEqual(problems, [], 'every hostile object is reported once by key, with what is wrong, and no row of it delivered');
  assert.equal(errors.length, cases.length, `no good file is reported:\n${errors.join('\n')}`);
}

before(async () => {
  s3 = await startS3Server();
  await s3.createBucket(BUCKET);
  const snappy = await parquetFromSql(simpleSql(0, 3000), { rowGroupSize: 2048 });
  const uncompressed = await parquetFromSql(simpleSql(0, 3000), { rowGroupSize: 2048, codec: 'uncompressed' });
  footerCases = footerLies(snappy);
  pageCases = pageLies(snappy, uncompressed);
  for (const table of ['footers', 'pages']) await putGoodFiles(table);
  for (const c of footerCases) await s3.put(BUCKET, `footers/${c.name}.parquet`, c.file);
  for (const c of pageCases) await s3.put(BUCKET, `pages/${c.name}.parquet`, c.file);
});

after(async () => {
  await s3?.stop();
  await closeFixtures();
});

describe('footers that lie', () => {
  let plugin: PluginProcess;
  before(async () => (plugin = await startPlugin()));
  after(() => plugin?.stop());

  it('GetTables answers (a 3,000-level schema included), the files skipped and logged by key', async () => {
    await plugin.client.init(spec());
    const tables = await plugin.client.getTables({ tables: ['footers'] });
    assert.deepEqual(tables.map(tableName), ['footers']);
    assert.deepEqual(tables[0]!.fields.map((f) => f.name).slice(0, 4), ['id', 'name', 'small', 'pair']);
    const skipped = plugin.jsonLogs().filter((l) => l.message === 'object skipped');
    for (const c of footerCases)
      assert.ok(
        skipped.some((l) => l.key === `footers/${c.name}.parquet`),
        `${c.name} logged`,
      );
    assert.ok(skipped.some((l) => /nested 3000 levels deep/.test(String(l.error))));
    assert.equal(await plugin.client.getName(), 'cq-source-s3');
  });

  it('are each reported by key as a sync error while the good files sync, and the process lives', async () => {
    await plugin.client.init(spec());
    const result = await plugin.client.sync({ tables: ['footers'] });
    assertReported(result, 'footers', footerCases);
    assertGoodRows(result, 'footers');
    assert.equal(await plugin.client.getName(), 'cq-source-s3');
  });
});

describe('pages that lie (caught once a row group is fetched, before it is decoded)', () => {
  let plugin: PluginProcess;
  before(async () => (plugin = await startPlugin()));
  after(() => plugin?.stop());

  it('are each reported by key as a sync error while the good files sync, and the process lives', async () => {
    await plugin.client.init(spec());
    const result = await plugin.client.sync({ tables: ['pages'] });
    assertReported(result, 'pages', pageCases);
    assertGoodRows(result, 'pages');
    assert.equal(await plugin.client.getName(), 'cq-source-s3');
  });
});

// ---------- read-file: the rows read must be the rows declared ----------

const idSchema = new Schema([new Field('id', new Int64(), true)]);

function batchOf(from: number, to: number): RecordBatch {
  const ids = vectorFromArray(
    Array.from({ length: to - from }, (_, i) => BigInt(from + i)),
    new Int64(),
  );
  return new RecordBatch(
    idSchema,
    makeData({ type: new Struct(idSchema.fields), length: to - from, nullCount: 0, children: [ids.data[0]!] }),
  );
}

/** Reads one stub file that declares `declared` rows and yields `batches`; what was sent and reported. */
async function readStub(declared: number | undefined, batches: [number, number][]) {
  const reader: FileReader = {
    schema: idSchema,
    numRows: declared,
    batches: async function* () {
      for (const [from, to] of batches) yield batchOf(from, to);
    },
    close: () => {},
  };
  const format: FileFormat = { name: 'stub', open: () => Promise.resolve(reader) };
  const object = { key: 'stub/part-0.parquet', size: 100, lastModified: new Date(), etag: 'x' };
  const run = {
    name: 'stub',
    plan: { fileColumns: [] },
    encoder: new RecordEncoder(idSchema, { rowsPerRecord: 10, generateCqId: false, deterministicKeys: [] }),
    summary: { rows: 0 },
  };
  const ctx = {
    catalog: {
      format,
      source: () => ({ key: object.key, size: object.size, read: () => Promise.resolve(new Uint8Array()) }),
      store: { uri: (key: string) => `s3://bucket/${key}` },
      spec: { rowsPerRecord: 10 },
      budget: new ByteBudget(1 << 20),
    },
    telemetry: { add: () => {} },
  } as unknown as SyncContext;
  const sent: number[] = [];
  const sink = { insert: (_record: Uint8Array, rows: number) => Promise.resolve(void sent.push(rows)) } as unknown as SyncSink;
  const reports: string[] = [];
  const report = (_table: string, key: string, message: string) => Promise.resolve(void reports.push(`${key} | ${message}`));
  const done = await readFile({ run, object } as unknown as FileJob, ctx, sink, report, new AbortController().signal);
  return { done, delivered: sent.reduce((n, r) => n + r, 0), reports };
}

describe('a file whose rows do not add up to what it declares', () => {
  it('is delivered and done when they do (or when it declares nothing)', async () => {
    assert.deepEqual(
      await readStub(25, [
        [0, 20],
        [20, 25],
      ]),
      { done: true, delivered: 25, reports: [] },
    );
    assert.deepEqual(await readStub(undefined, [[0, 7]]), { done: true, delivered: 7, reports: [] });
  });

  it('is reported by key with declared and read counts, and not done, when fewer rows come', async () => {
    const { done, delivered, reports } = await readStub(30, [[0, 20]]);
    assert.equal(done, false);
    assert.equal(delivered, 20);
    assert.deepEqual(reports, [
      'stub/part-0.parquet | s3://bucket/stub/part-0.parquet: the file declares 30 rows but 20 were read from it (20 rows of it were delivered before the failure)',
    ]);
  });

  it('is not done even when no row at all came', async () => {
    const { done, reports } = await readStub(5, []);
    assert.equal(done, false);
    assert.match(reports[0]!, /the file declares 5 rows but 0 were read from it$/);
  });

  it('stops before sending rows beyond the declared count', async () => {
    const { done, delivered, reports } = await readStub(15, [
      [0, 10],
      [10, 20],
    ]);
    assert.equal(done, false);
    assert.equal(delivered, 10, 'the batch that overflows is not sent');
    assert.match(reports[0]!, /the file declares 15 rows but 20 were read from it \(10 rows of it were delivered before the failure\)$/);
  });
});
