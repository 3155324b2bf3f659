// A row group decoded in spans of rows, one column at a time, or whole: the same rows and values
// either way, in the same batches; and several large files read at once hold no more of the budget
// than it has. Files written by DuckDB, decoded by the real decoder in its worker threads.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { RecordBatch } from 'apache-arrow';
import { openDecoder, type GroupShape } from '../src/formats/parquet/decoder.js';
import { rowGroupRanges } from '../src/formats/parquet/footer.js';
import { columnChunkRanges, groupShape, openParquet } from '../src/formats/parquet/index.js';
import { columnwiseNames } from '../src/formats/parquet/join-columns.js';
import { ByteBudget } from '../src/util/byte-budget.js';
import { ALL_TYPES_ROW_COUNT, ALL_TYPES_SQL, closeFixtures, parquetFromSql } from './support/fixtures.js';

after(closeFixtures);

function memorySource(bytes: Uint8Array) {
  const source = {
    key: 'k',
    size: bytes.length,
    reads: 0,
    read: async (start: number, end: number) => {
      source.reads++;
      return bytes.slice(start, end);
    },
  };
  return source;
}

function footerOf(bytes: Uint8Array) {
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(bytes.length - 8, true);
  const start = bytes.length - 8 - length;
  return { start, bytes: bytes.slice(start) };
}

/** Every row group of the file decoded with the shape `shapeOf` gives it: each batch's rows as JSON. */
async function decodeAll(
  bytes: Uint8Array,
  shapeOf: (group: { rows: number }, columns: string[] | undefined) => GroupShape,
  { split = false } = {},
): Promise<string[][]> {
  const footer = footerOf(bytes);
  const source = memorySource(bytes);
  const file = await openDecoder(source, footer);
  const columns = columnwiseNames(file.schema);
  const batches: string[][] = [];
  for (const range of rowGroupRanges(footer, bytes.length)) {
    // Copies of the group's bytes (or of each column chunk's) in buffers of their own, as a store reads them.
    const parts = (split && columnChunkRanges(range)) || [range];
    const segments = parts.map(({ start, end }) => ({ start, bytes: new Uint8Array(bytes.subarray(start, end)) }));
    if (split) assert.ok(segments.length > 1, 'the row group is read one column chunk at a time');
    for await (const batch of file.rowGroup(range.index, segments, shapeOf(range, columns))) batches.push(rowsOf(batch));
  }
  // Whole or split into column chunks, the decoder found every byte it read among those it was handed.
  assert.equal(source.reads, 0, 'no read outside the bytes handed to the decoder');
  return batches;
}

function rowsOf(batch: RecordBatch): string[] {
  return batch.toArray().map((row) => JSON.stringify(row, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)));
}

describe('a row group decoded in spans, by columns, or whole', () => {
  it('gives the same batches of the same rows and values, every type and nesting', async () => {
    // Row groups of 2048 and 952 rows; spans of 600 rows (batches of 200), the last span short.
    const bytes = await parquetFromSql(ALL_TYPES_SQL, { rowGroupSize: 2048 });
    const whole = await decodeAll(bytes, () => ({ batchSize: 200 }));
    const spans = await decodeAll(bytes, (g) => ({ batchSize: 200, rows: g.rows, spanRows: 600 }));
    const columns = await decodeAll(bytes, (g, names) => {
      assert.ok(names && names.length > 20, 'every column of the file is decoded on its own');
      return { batchSize: 200, rows: g.rows, spanRows: 600, columns: names };
    });
    assert.equal(whole.flat().length, ALL_TYPES_ROW_COUNT);
    assert.deepEqual(
      whole.map((b) => b.length),
      [...Array<number>(10).fill(200), 48, ...Array<number>(4).fill(200), 152],
    );
    assert.deepEqual(spans, whole);
    assert.deepEqual(columns, whole);
  });

  it('gives the same column by column from the row group split into one buffer per column chunk', async () => {
    const bytes = await parquetFromSql(ALL_TYPES_SQL, { rowGroupSize: 2048 });
    const whole = await decodeAll(bytes, () => ({ batchSize: 200 }));
    const spans = await decodeAll(bytes, (g) => ({ batchSize: 200, rows: g.rows, spanRows: 600 }), { split: true });
    const columns = await decodeAll(bytes, (g, names) => ({ batchSize: 200, rows: g.rows, spanRows: 600, columns: names }), {
      split: true,
    });
    assert.equal(whole.flat().length, ALL_TYPES_ROW_COUNT);
    assert.deepEqual(spans, whole);
    assert.deepEqual(columns, whole);
  });

  it('joins columns of nulls only, empty strings and lists of lists', async () => {
    const sql = `SELECT i::INTEGER AS id, NULL::VARCHAR AS nothing, '' AS empty,
      [[i, i + 1], [], NULL] AS nested, {'x': [i], 'y': NULL::DOUBLE} AS s FROM range(5000) t(i)`;
    const bytes = await parquetFromSql(sql, { rowGroupSize: 4096 });
    const whole = await decodeAll(bytes, () => ({ batchSize: 1000 }));
    const columns = await decodeAll(bytes, (g, names) => ({ batchSize: 1000, rows: g.rows, spanRows: 3000, columns: names }));
    assert.equal(whole.flat().length, 5000);
    assert.deepEqual(columns, whole);
  });

  it('reads whole rows when a column name would project another column too', async () => {
    const bytes = await parquetFromSql(`SELECT 1 AS "a", 2 AS "a.b", 3 AS c`);
    const file = await openDecoder(memorySource(bytes), footerOf(bytes));
    assert.equal(columnwiseNames(file.schema), undefined);
  });
});

describe('spans and batches from the footer', () => {
  it('cuts a large row group into spans of about 32 MiB decoded, in whole batches', () => {
    // 640,000 rows of 260 bytes (166 MB): batches of 8,000 rows (about 2 MiB), spans of 16 batches.
    assert.deepEqual(groupShape({ rows: 640_000, bytes: 166_400_000 }, 65_500, 500), {
      batchSize: 8_000,
      rows: 640_000,
      spanRows: 128_000,
    });
    // A small row group is one span.
    assert.deepEqual(groupShape({ rows: 32_768, bytes: 5_000_000 }, 65_500, 500), { batchSize: 13_500, rows: 32_768, spanRows: 216_000 });
    // Rows of 1 MB: batches of 2 rows (off the record size, whose 500 rows would be 500 MB), spans of 32.
    assert.deepEqual(groupShape({ rows: 300, bytes: 314_000_000 }, 65_500, 500), { batchSize: 2, rows: 300, spanRows: 32 });
    // A footer without sizes: the row cap, one span.
    assert.deepEqual(groupShape({ rows: 0, bytes: 0 }, 65_500, 500), { batchSize: 65_500 });
  });
});

describe('several large files read at once', () => {
  it('hold no more than the budget, and every row arrives', async () => {
    const sql = (f: number) =>
      `SELECT (i + ${f * 100_000})::BIGINT AS id, md5(i::VARCHAR) || md5((i * ${f + 2})::VARCHAR) AS s, (i % 97)::DOUBLE AS d FROM range(60000) t(i)`;
    const files = await Promise.all([0, 1, 2].map((f) => parquetFromSql(sql(f), { rowGroupSize: 20480, codec: 'uncompressed' })));
    const budget = new ByteBudget(24 * 1024 * 1024);
    let peak = 0;
    const read = async (bytes: Uint8Array) => {
      const reader = await openParquet(memorySource(bytes), { budget });
      const ids: bigint[] = [];
      for await (const batch of reader.batches({ maxRows: 65_500, rowMultiple: 500 })) {
        peak = Math.max(peak, budget.inUse);
        for (const id of batch.getChild('id')!) ids.push(id as bigint);
      }
      return ids;
    };
    const results = await Promise.all(files.map(read));
    results.forEach((ids, f) =>
      assert.deepEqual(
        ids,
        Array.from({ length: 60000 }, (_, i) => BigInt(i + f * 100_000)),
      ),
    );
    assert.ok(peak > 0 && peak <= budget.capacity, `peak ${peak} of ${budget.capacity}`);
    assert.equal(budget.inUse, 0);
  });
});
