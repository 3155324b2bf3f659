// Large values: insert records are cut by bytes as well as rows, so a row group of 1 MB documents
// never becomes one message larger than the CloudQuery CLI accepts. First the cutting itself, on
// batches built with apache-arrow (small caps through the encoder's options); then a Parquet file
// of 300 rows of ~1 MiB written by DuckDB, synced through the bundled plugin over gRPC from a real
// S3 server, every value compared with what DuckDB wrote.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pluginV3 } from '@cloudquery/plugin-pb-javascript';
import {
  Binary,
  Bool,
  Decimal,
  Dictionary,
  Field,
  FixedSizeBinary,
  FixedSizeList,
  Float64,
  Int32,
  Int64,
  LargeUtf8,
  List,
  RecordBatch,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  TimestampMicrosecond,
  Utf8,
  makeData,
  tableFromIPC,
  vectorFromArray,
  type Data,
  type DataType,
  type Vector,
} from 'apache-arrow';
import { RecordSizer } from '../src/arrow/record-bytes.js';
import { MAX_RECORD_BYTES, OversizeRowError, RECORD_LIMIT_BYTES, RecordEncoder, type RecordEncoderOptions } from '../src/arrow/records.js';
import { emptyMerge, generatesCqId, mergeSchema, tableSchema } from '../src/arrow/schema.js';
import { FormatError, isPermanent, isPerObjectError } from '../src/errors.js';
import { parquetFormat } from '../src/formats/parquet/index.js';
import { readFile, type FileJob } from '../src/sync/read-file.js';
import type { SyncContext, SyncSink } from '../src/sync/types.js';
import { ByteBudget } from '../src/util/byte-budget.js';
import { closeFixtures, parquetFromSql, rowsFromSql } from './support/fixtures.js';
import { startPlugin, tableName, type PluginProcess } from './support/plugin-client.js';
import { startS3Server, type S3TestServer } from './support/s3-server.js';
import { s3Spec } from './support/s3-spec.js';

const KiB = 1024;
const MiB = 1024 * KiB;

// ---------- building batches ----------

/** The table a file of `fields` makes, with `_cq_id` / `_cq_parent_id` as the plugin adds them. */
function plan(fields: Field[], name = 'docs') {
  const merged = emptyMerge();
  mergeSchema(merged, `${name}/part-0.parquet`, new Schema(fields));
  return { schema: tableSchema(name, merged), generateCqId: generatesCqId(merged) };
}

function encoder(fields: Field[], options: Partial<RecordEncoderOptions> = {}): RecordEncoder {
  const p = plan(fields);
  return new RecordEncoder(p.schema, { rowsPerRecord: 500, generateCqId: p.generateCqId, deterministicKeys: [], ...options });
}

function batchOf(columns: Record<string, Vector>): RecordBatch {
  const children: Record<string, Data> = {};
  for (const [name, vector] of Object.entries(columns)) children[name] = vector.data[0]!;
  return new RecordBatch(children);
}

/** Deterministic text of `length` characters that differs from row to row. */
function text(row: number, length: number): string {
  const unit = createHash('sha256').update(String(row)).digest('hex');
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

const DOC_FIELDS = [new Field('id', new Int32(), false), new Field('doc', new Utf8(), true)];

/** A batch of rows `id`, `doc` with docs of the given lengths (null where the length is negative). */
function docs(lengths: number[]): RecordBatch {
  return batchOf({
    id: vectorFromArray(
      lengths.map((_, i) => i),
      new Int32(),
    ),
    doc: vectorFromArray(
      lengths.map((n, i) => (n < 0 ? null : text(i, n))),
      new Utf8(),
    ),
  });
}

/** Every record of a batch: its size, rows, and the ids and docs it decodes to. */
function encodeAll(enc: RecordEncoder, batch: RecordBatch) {
  return [...enc.encode(batch)].map(({ ipc, rows }) => {
    const table = tableFromIPC(ipc);
    assert.equal(table.numRows, rows);
    return {
      bytes: ipc.byteLength,
      rows,
      ids: [...table.getChild('id')!] as number[],
      docs: [...table.getChild('doc')!] as (string | null)[],
    };
  });
}

/** The bytes apache-arrow's stream writer makes of a batch on its own (schema, record, end of stream). */
function ipcBytes(batch: RecordBatch): number {
  return RecordBatchStreamWriter.writeAll([batch]).toUint8Array(true).byteLength;
}

function schemaBytes(schema: Schema): number {
  const writer = new RecordBatchStreamWriter();
  writer.reset(undefined, schema);
  return writer.toUint8Array(true).byteLength;
}

// ---------- cutting ----------

describe('records cut by bytes', () => {
  it('keeps the rows-only cut when the batch is under the cap', () => {
    const enc = encoder(DOC_FIELDS, { rowsPerRecord: 500 });
    const records = encodeAll(enc, docs(Array.from({ length: 2000 }, (_, i) => i % 40)));
    assert.deepEqual(
      records.map((r) => r.rows),
      [500, 500, 500, 500],
    );
    assert.deepEqual(
      records.flatMap((r) => r.ids),
      Array.from({ length: 2000 }, (_, i) => i),
    );
  });

  it('cuts mixed sizes so no record exceeds the cap, full records, every row once and in order', () => {
    const cap = 256 * KiB;
    // Mostly small rows, some of tens of KiB, a few just under the cap, nulls and empty strings.
    const lengths = Array.from({ length: 1500 }, (_, i) =>
      i % 97 === 0 ? 250 * KiB : i % 13 === 0 ? 40 * KiB : i % 11 === 0 ? -1 : i % 7 === 0 ? 0 : (i * 37) % 3000,
    );
    const input = docs(lengths);
    const records = encodeAll(encoder(DOC_FIELDS, { rowsPerRecord: 200, maxRecordBytes: cap }), input);
    assert.ok(records.length > lengths.length / 200, `${records.length} records: cut by bytes, not only by rows`);
    for (const [i, r] of records.entries()) {
      assert.ok(r.bytes <= cap, `record ${i}: ${r.bytes} bytes > cap ${cap}`);
      assert.ok(r.rows >= 1 && r.rows <= 200, `record ${i}: ${r.rows} rows`);
    }
    assert.deepEqual(
      records.flatMap((r) => r.ids),
      lengths.map((_, i) => i),
    );
    assert.deepEqual(
      records.flatMap((r) => r.docs),
      [...input.getChild('doc')!],
    );
    // Not cut early: each record but the last is at rows_per_record, or its next row would not fit
    // (allowing the estimate's framing, a few KiB at most).
    let next = 0;
    for (const r of records.slice(0, -1)) {
      next += r.rows;
      const nextRow = Math.max(0, lengths[next]!);
      assert.ok(r.rows === 200 || r.bytes + nextRow + 8 * KiB > cap, `record of ${r.rows} rows, ${r.bytes} bytes cut early`);
    }
  });

  it('still cuts at rows_per_record when rows are wide but well under the cap', () => {
    const records = encodeAll(encoder(DOC_FIELDS, { rowsPerRecord: 100, maxRecordBytes: 4 * MiB }), docs(Array(1000).fill(8 * KiB)));
    assert.ok(records.length >= 10);
    for (const r of records) {
      assert.ok(r.rows <= 100 && r.bytes <= 4 * MiB);
    }
    assert.equal(
      records.reduce((n, r) => n + r.rows, 0),
      1000,
    );
    // 100 rows of 8 KiB are 800 KiB: under the cap, so rows_per_record is what cuts.
    assert.deepEqual(
      records.map((r) => r.rows),
      Array(10).fill(100),
    );
  });

  it('sends a row larger than the cap alone, when it fits the hard limit', () => {
    const enc = encoder(DOC_FIELDS, { maxRecordBytes: 64 * KiB, recordLimitBytes: 1 * MiB });
    const records = encodeAll(enc, docs([KiB, KiB, 300 * KiB, KiB, KiB]));
    assert.deepEqual(
      records.map((r) => r.ids),
      [[0, 1], [2], [3, 4]],
    );
    assert.ok(records[1]!.bytes > 64 * KiB && records[1]!.bytes <= 1 * MiB);
    assert.equal(records[1]!.docs[0], text(2, 300 * KiB));
  });

  it('raises OversizeRowError for a row over the hard limit, once the rows before it are out', () => {
    const enc = encoder(DOC_FIELDS, { maxRecordBytes: 64 * KiB, recordLimitBytes: 1 * MiB });
    const out: number[][] = [];
    const consume = (position?: { firstRow: number }) => {
      for (const { ipc } of enc.encode(docs([KiB, KiB, 2 * MiB, KiB]), position))
        out.push([...tableFromIPC(ipc).getChild('id')!] as number[]);
    };
    assert.throws(
      () => consume(),
      (err: unknown) => {
        assert.ok(err instanceof OversizeRowError && err instanceof FormatError);
        assert.ok(isPerObjectError(err) && isPermanent(err), 'reported by key and skipped for good');
        assert.equal(err.message, 'row 3 of a batch of 4 rows is 2 MiB, more than the 1 MiB a CloudQuery message can carry');
        assert.equal(err.row, 3);
        return true;
      },
    );
    assert.deepEqual(out, [[0, 1]]);
    // Told where the batch starts in its file, the error names the row's place in the file.
    assert.throws(() => consume({ firstRow: 1231 }), { name: 'OversizeRowError', message: /^row 1234 is 2 MiB, more than the 1 MiB/ });
  });

  it('cuts nested values (lists of strings, structs) by their bytes too', () => {
    const fields = [
      new Field('id', new Int32(), false),
      new Field('parts', new List(new Field('item', new Utf8(), true)), true),
      new Field('meta', new Struct([new Field('name', new Utf8(), true), new Field('size', new Int64(), true)]), true),
    ];
    const parts = Array.from({ length: 60 }, (_, i) =>
      i % 5 === 0 ? null : Array.from({ length: i % 4 }, (_, k) => text(i * 10 + k, (i % 6) * 5 * KiB)),
    );
    const meta = Array.from({ length: 60 }, (_, i) => ({ name: text(i, (i % 3) * 20 * KiB), size: BigInt(i) }));
    const input = batchOf({
      id: vectorFromArray(
        parts.map((_, i) => i),
        new Int32(),
      ),
      parts: vectorFromArray(parts, fields[1]!.type),
      meta: vectorFromArray(meta, fields[2]!.type),
    });
    const records = [...encoder(fields, { maxRecordBytes: 128 * KiB }).encode(input)];
    assert.ok(records.length > 3);
    const decoded = records.map(({ ipc }) => tableFromIPC(ipc));
    for (const { ipc } of records) assert.ok(ipc.byteLength <= 128 * KiB, `${ipc.byteLength} bytes`);
    assert.ok(
      records.some((r) => r.rows > 1),
      'records of several rows',
    );
    assert.deepEqual(
      decoded.flatMap((t) => [...t.getChild('parts')!].map((v) => (v ? [...(v as Vector)] : null))),
      parts,
    );
    assert.deepEqual(
      decoded.flatMap((t) => [...t.getChild('meta')!].map((v) => (v as { toJSON(): unknown }).toJSON())),
      meta,
    );
  });

  it('keeps each column in its place when files carry _cq_parent_id but not _cq_id', () => {
    const fields = [
      new Field('a', new Int64(), true),
      new Field('_cq_parent_id', new FixedSizeBinary(16), true),
      new Field('b', new Utf8(), true),
    ];
    const input = batchOf({
      a: vectorFromArray([1n, 2n, 3n, 4n, 5n], new Int64()),
      _cq_parent_id: vectorFromArray([null, null, null, null, null], new FixedSizeBinary(16)),
      b: vectorFromArray(['x1', 'x2', null, 'x4', text(5, 100 * KiB)], new Utf8()),
    });
    const records = [...encoder(fields, { rowsPerRecord: 2, maxRecordBytes: 64 * KiB }).encode(input)].map(({ ipc }) => tableFromIPC(ipc));
    assert.deepEqual(
      records.map((t) => t.numRows),
      [2, 2, 1],
    );
    for (const t of records) {
      assert.deepEqual(
        t.schema.fields.map((f) => f.name),
        ['a', '_cq_parent_id', 'b', '_cq_id'],
      );
      assert.ok([...t.getChild('_cq_parent_id')!].every((v) => v === null));
      assert.ok([...t.getChild('_cq_id')!].every((v) => v instanceof Uint8Array && v.byteLength === 16));
    }
    assert.deepEqual(
      records.flatMap((t) => [...t.getChild('a')!]),
      [1n, 2n, 3n, 4n, 5n],
    );
    assert.deepEqual(
      records.flatMap((t) => [...t.getChild('b')!]),
      ['x1', 'x2', null, 'x4', text(5, 100 * KiB)],
    );
  });

  it('sends every record with its dictionaries', () => {
    const type = new Dictionary(new Utf8(), new Int32());
    const enc = encoder([new Field('id', new Int32(), false), new Field('kind', type, true)], { rowsPerRecord: 2 });
    const kinds = ['a', 'b', null, 'c', 'a', 'b', 'c'];
    const input = batchOf({
      id: vectorFromArray(
        kinds.map((_, i) => i),
        new Int32(),
      ),
      kind: vectorFromArray(kinds, type),
    });
    const records = [...enc.encode(input), ...enc.encode(input)];
    assert.equal(records.length, 8);
    assert.deepEqual(
      records.flatMap(({ ipc }) => [...tableFromIPC(ipc).getChild('kind')!]),
      [...kinds, ...kinds],
    );
  });
});

describe('RecordSizer', () => {
  const rows = 257;
  const at = (i: number) => i % 9 !== 4; // some nulls
  const columns: [string, DataType, (i: number) => unknown][] = [
    ['int64', new Int64(), (i) => BigInt(i) * 1_000_003n],
    ['float64', new Float64(), (i) => i / 7],
    ['bool', new Bool(), (i) => i % 3 === 0],
    ['utf8', new Utf8(), (i) => text(i, (i * 131) % 5000)],
    ['large_utf8', new LargeUtf8(), (i) => text(i, (i * 17) % 900)],
    ['binary', new Binary(), (i) => new Uint8Array((i * 53) % 2000).fill(i % 256)],
    ['decimal', new Decimal(10, 38, 128), (i) => new Uint32Array([i, 0, 0, 0])],
    ['timestamp', new TimestampMicrosecond('UTC'), (i) => i * 1000],
    ['list', new List(new Field('item', new Utf8(), true)), (i) => Array.from({ length: i % 5 }, (_, k) => text(k, (i * k) % 700))],
    ['fixed_list', new FixedSizeList(3, new Field('item', new Int32(), true)), (i) => [i, i + 1, i + 2]],
    ['struct', new Struct([new Field('a', new Int32(), true), new Field('b', new Utf8(), true)]), (i) => ({ a: i, b: text(i, i % 300) })],
    ['dict', new Dictionary(new Utf8(), new Int32()), (i) => ['x', 'yy', 'zzz'][i % 3]],
  ];

  it('never estimates a record smaller than apache-arrow writes it, and not much larger', () => {
    for (const [name, type, value] of columns) {
      const vector = vectorFromArray(
        Array.from({ length: rows }, (_, i) => (at(i) ? value(i) : null)),
        type,
      );
      const schema = new Schema([new Field(name, type, true)]);
      const batch = new RecordBatch(
        schema,
        makeData({ type: new Struct(schema.fields), length: rows, nullCount: 0, children: [vector.data[0]!] }),
      );
      const sizer = new RecordSizer(batch, schemaBytes(schema) + 8);
      for (const [from, to] of [
        [0, rows],
        [0, 1],
        [5, 6],
        [3, 100],
        [100, 257],
        [17, 18],
        [64, 128],
      ] as const) {
        const actual = ipcBytes(batch.slice(from, to));
        const estimate = sizer.bytes(from, to);
        assert.ok(estimate >= actual, `${name} [${from}, ${to}): estimated ${estimate} < ${actual} written`);
        assert.ok(estimate <= actual + 2 * KiB, `${name} [${from}, ${to}): estimated ${estimate}, written ${actual}`);
      }
    }
  });
});

// ---------- through read-file: an oversize row skips its object, reported by key ----------

describe('an oversize row in a file', () => {
  it('is reported by key and the object is skipped; the rows before it were delivered', async () => {
    const bytes = await parquetFromSql(
      `SELECT i::INTEGER AS id, repeat('ab', CASE WHEN i = 1 THEN 1048576 ELSE 100 END) AS doc FROM range(3) t(i)`,
    );
    const fields = DOC_FIELDS.map((f) => new Field(f.name, f.type, true));
    const run = {
      name: 'docs',
      plan: { fileColumns: [] },
      encoder: encoder(fields, { maxRecordBytes: 64 * KiB, recordLimitBytes: 1 * MiB }),
      summary: { rows: 0 },
    };
    const source = { key: 'docs/part-0.parquet', size: bytes.byteLength, read: async (s: number, e: number) => bytes.slice(s, e) };
    const ctx = {
      catalog: {
        format: parquetFormat,
        source: () => source,
        store: { uri: (key: string) => `s3://bucket/${key}` },
        spec: { rowsPerRecord: 500 },
        budget: new ByteBudget(64 * MiB),
      },
      telemetry: { add: () => {} },
    } as unknown as SyncContext;
    const inserted: number[] = [];
    const sink = { insert: async (_record: Uint8Array, rows: number) => void inserted.push(rows) } as unknown as SyncSink;
    const reports: [string, string, string][] = [];
    const object = { key: source.key, size: bytes.byteLength, lastModified: new Date(), etag: 'x' };
    const done = await readFile(
      { run, object } as unknown as FileJob,
      ctx,
      sink,
      async (...r) => void reports.push(r),
      new AbortController().signal,
    );
    assert.deepEqual(inserted, [1], 'the row before the oversize one went out');
    assert.equal(done, false, 'rows were delivered, so the object is not done');
    assert.equal(reports.length, 1);
    const [table, key, message] = reports[0]!;
    assert.equal(table, 'docs');
    assert.equal(key, 'docs/part-0.parquet');
    // readFile passes the file position: the row is named by its place in the object.
    assert.match(message, /row 2 is 2 MiB, more than the 1 MiB a CloudQuery message can carry/);
  });
});

// ---------- end to end: the bundled plugin, a real S3 server, DuckDB's files ----------

const BUCKET = 'cq-large-values';
const DOC_ROWS = 300;
const v3 = pluginV3.cloudquery.plugin.v3;

// 300 rows of ~1 MiB of hex text, each row a different window of 1 MiB of md5 digests, in one row group.
const DOCS_SQL = `
WITH base AS (SELECT string_agg(md5(j::VARCHAR), '' ORDER BY j) AS b FROM range(32768) r(j))
SELECT i::INTEGER AS id, substr(b || b, (i * 7919 % 1048576)::INTEGER + 1, 1048576 - i * 13) AS doc
FROM base, range(${DOC_ROWS}) t(i)`;
// Mostly short rows, some of 3.2 MB, blobs of 200 KB on some, nulls; several row groups.
const MIXED_SQL = `
SELECT i::BIGINT AS id,
  CASE WHEN i % 250 = 7 THEN repeat(md5(i::VARCHAR), 100000) WHEN i % 11 = 0 THEN NULL ELSE 'v' || i END AS doc,
  CASE WHEN i % 97 = 5 THEN encode(repeat(md5((i * 3)::VARCHAR), 6400)) WHEN i % 3 = 0 THEN NULL ELSE encode('b' || i) END AS payload
FROM range(5000) t(i)`;
// One row over the cap (20 MB) between two small ones: it goes alone.
const WIDE_SQL = `SELECT i::INTEGER AS id, CASE WHEN i = 1 THEN repeat(md5('wide'), 650000) ELSE 'small ' || i END AS doc FROM range(3) t(i)`;

interface Expected {
  id: number;
  length: number | null;
  md5: string | null;
}

let s3: S3TestServer;
let plugin: PluginProcess;
const expected = new Map<string, Map<string, Expected[]>>();
let docsRowGroups = 0;
const scratch = join(tmpdir(), `cq-large-values-${process.pid}.parquet`);

/**
 * What DuckDB reads back from the file it wrote: per row, each column's byte length and md5 (`payload`
 * is a BLOB, the others VARCHAR); and the file's row groups.
 */
async function digests(bytes: Uint8Array, columns: string[]): Promise<{ columns: Map<string, Expected[]>; rowGroups: number }> {
  writeFileSync(scratch, bytes);
  try {
    const length = (c: string) => (c === 'payload' ? `octet_length(${c})` : `strlen(${c})`);
    const select = columns.map((c) => `${length(c)} AS ${c}_len, md5(${c}) AS ${c}_md5`).join(', ');
    const rows = await rowsFromSql(`SELECT id, ${select} FROM read_parquet('${scratch}') ORDER BY id`);
    const [meta] = await rowsFromSql(`SELECT count(DISTINCT row_group_id) AS n FROM parquet_metadata('${scratch}')`);
    const out = new Map<string, Expected[]>();
    for (const c of columns) {
      const digest = (r: Record<string, unknown>) => ({
        id: Number(r.id),
        length: r[`${c}_len`] === null ? null : Number(r[`${c}_len`]),
        md5: r[`${c}_md5`] as string | null,
      });
      out.set(c, rows.map(digest));
    }
    return { columns: out, rowGroups: Number(meta!.n) };
  } finally {
    rmSync(scratch, { force: true });
  }
}

/** Per row of a utf8/binary column of a record: byte length and md5 of its bytes, from the Arrow buffers. */
function columnDigests(vector: Vector, ids: Vector): Expected[] {
  const out: Expected[] = [];
  for (const data of vector.data) {
    const offsets = data.valueOffsets as Int32Array;
    const values = data.values as Uint8Array;
    for (let i = 0; i < data.length; i++) {
      const id = Number(ids.get(out.length));
      if (!data.getValid(i)) {
        out.push({ id, length: null, md5: null });
        continue;
      }
      const value = values.subarray(offsets[i]!, offsets[i + 1]!);
      out.push({ id, length: value.byteLength, md5: createHash('md5').update(value).digest('hex') });
    }
  }
  return out;
}

interface Received {
  records: { table: string; bytes: number; rows: number }[];
  digests: Map<string, Map<string, Expected[]>>;
  errors: string[];
}

/** A Sync over the raw protocol client: each insert's size, and digests of its values (records are not kept). */
function syncDigests(tables: string[], columns: Record<string, string[]>): Promise<Received> {
  const received: Received = { records: [], digests: new Map(), errors: [] };
  return new Promise((resolve, reject) => {
    const call = plugin.client.raw.Sync(new v3.Sync.Request({ tables, withErrorMessages: true }));
    call.on('data', (message: InstanceType<typeof v3.Sync.Response>) => {
      if (message.message === 'error') received.errors.push(`${message.error.table_name}: ${message.error.error}`);
      if (message.message !== 'insert') return;
      const bytes = message.insert.record;
      const table = tableFromIPC(bytes);
      const name = tableName(table.schema);
      received.records.push({ table: name, bytes: bytes.byteLength, rows: table.numRows });
      const perColumn = received.digests.get(name) ?? new Map<string, Expected[]>();
      received.digests.set(name, perColumn);
      for (const column of columns[name] ?? []) {
        perColumn.set(column, [...(perColumn.get(column) ?? []), ...columnDigests(table.getChild(column)!, table.getChild('id')!)]);
      }
    });
    call.on('error', reject);
    call.on('end', () => resolve(received));
  });
}

function peakRssMb(pid: number): number {
  const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round(Number(match?.[1] ?? 0) / 1024);
}

function resetPeakRss(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5'); // VmHWM := the current RSS
  } catch {
    // not permitted here: VmHWM then counts from the process start (startup is far below the sync)
  }
}

function sortedById(rows: Expected[]): Expected[] {
  return [...rows].sort((a, b) => a.id - b.id);
}

describe('syncing 1 MB values end to end', () => {
  before(async () => {
    s3 = await startS3Server();
    await s3.createBucket(BUCKET);
    const files: [string, string, string[], Parameters<typeof parquetFromSql>[1]][] = [
      ['docs/part-0.parquet', DOCS_SQL, ['doc'], { codec: 'zstd' }],
      ['mixed/part-0.parquet', MIXED_SQL, ['doc', 'payload'], { codec: 'snappy', rowGroupSize: 2048 }],
      ['wide/part-0.parquet', WIDE_SQL, ['doc'], { codec: 'zstd' }],
      ['small/part-0.parquet', `SELECT i::BIGINT AS id, 'v' || i AS doc FROM range(1000) t(i)`, ['doc'], {}],
    ];
    for (const [key, sql, columns, options] of files) {
      const bytes = await parquetFromSql(sql, options);
      const written = await digests(bytes, columns);
      expected.set(key.split('/')[0]!, written.columns);
      if (key.startsWith('docs/')) docsRowGroups = written.rowGroups;
      await s3.put(BUCKET, key, bytes);
    }
    plugin = await startPlugin({ extraArgs: ['--log-level', 'info'] });
    await plugin.client.init(s3Spec(s3, BUCKET));
  });

  after(async () => {
    await plugin?.stop();
    await s3?.stop();
    await closeFixtures();
  });

  it('delivers 300 rows of ~1 MiB from one row group in records under the cap', async (t) => {
    assert.equal(docsRowGroups, 1, 'DuckDB wrote the 300 rows as one row group');
    resetPeakRss(plugin.pid);
    const before = peakRssMb(plugin.pid);
    const received = await syncDigests(['docs'], { docs: ['doc'] });
    const peak = peakRssMb(plugin.pid);
    const records = received.records.filter((r) => r.table === 'docs');
    const total = records.reduce((n, r) => n + r.bytes, 0);
    t.diagnostic(
      `docs: ${records.length} records, largest ${(Math.max(...records.map((r) => r.bytes)) / MiB).toFixed(1)} MiB, ` +
        `${(total / MiB).toFixed(0)} MiB in all; plugin peak RSS ${peak} MB (${before} MB before the sync)`,
    );
    assert.deepEqual(received.errors, []);
    assert.ok(records.length >= Math.ceil(total / MAX_RECORD_BYTES), 'cut by bytes');
    for (const r of records) assert.ok(r.bytes <= MAX_RECORD_BYTES, `an insert of ${r.bytes} bytes is over the ${MAX_RECORD_BYTES} cap`);
    assert.equal(
      records.reduce((n, r) => n + r.rows, 0),
      DOC_ROWS,
    );
    const got = received.digests.get('docs')!.get('doc')!;
    assert.deepEqual(
      got.map((r) => r.id),
      Array.from({ length: DOC_ROWS }, (_, i) => i),
      'every row once, in file order',
    );
    assert.deepEqual(got, expected.get('docs')!.get('doc'));
    assert.ok(got.every((r) => r.length! > 1_040_000));
  });

  it('syncs large, mixed, wide and small tables together: every value exact, every insert within bounds', async () => {
    const columns = { docs: ['doc'], mixed: ['doc', 'payload'], wide: ['doc'], small: ['doc'] };
    const received = await syncDigests(['*'], columns);
    assert.deepEqual(received.errors, []);
    for (const r of received.records) {
      const ok = r.bytes <= MAX_RECORD_BYTES || (r.rows === 1 && r.bytes <= RECORD_LIMIT_BYTES);
      assert.ok(ok, `${r.table}: an insert of ${r.rows} rows and ${r.bytes} bytes`);
      assert.ok(r.rows <= 500, `${r.table}: ${r.rows} rows in one insert`);
    }
    for (const [table, perColumn] of expected) {
      for (const [column, want] of perColumn) {
        const got = received.digests.get(table)?.get(column) ?? [];
        assert.deepEqual(sortedById(got), want, `${table}.${column}`);
      }
    }
    // The 20 MB row went alone, over the cap but far under the hard limit.
    const wide = received.records.filter((r) => r.table === 'wide');
    assert.deepEqual(
      wide.map((r) => r.rows),
      [1, 1, 1],
    );
    assert.ok(wide[1]!.bytes > MAX_RECORD_BYTES);
    // Small rows still go 500 to a record.
    assert.deepEqual(
      received.records.filter((r) => r.table === 'small').map((r) => r.rows),
      [500, 500],
    );
  });
});
