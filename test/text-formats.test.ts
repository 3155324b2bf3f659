// CSV, TSV, JSON Lines and JSON end to end: files written by DuckDB (and compressed by it or by bzip2) on a
// real S3 server (Swift s3api), the bundled plugin over gRPC, and a protocol v3 client. Every value is
// compared with DuckDB's own query of the same rows.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { closeFixtures, parquetFromSql, rowsFromSql } from './support/fixtures.js';
import { startPlugin, type PluginProcess, type SyncResult } from './support/plugin-client.js';
import { startS3Server, type S3TestServer } from './support/s3-server.js';
import { s3Spec } from './support/s3-spec.js';
import { startStateBackend, type StateBackendServer } from './support/state-backend.js';
import {
  compress,
  errorsOf,
  rowsOf,
  suffix,
  textFromSql,
  typesOf,
  type TextCompression,
  type TextFormat,
} from './support/text-fixtures.js';

const BUCKET = 'cq-text-test';
const ROWS = 3000;
const FORMATS: TextFormat[] = ['csv', 'tsv', 'jsonl', 'json'];
const COMPRESSIONS: TextCompression[] = ['none', 'gz', 'zst', 'bz2'];

/** Every inferred type, text with delimiters, quotes, newlines and non-ASCII, empty strings, NULLs, ids beyond 2^53. */
const SCALARS = `
  (9007199254740993 + i)::BIGINT * (CASE WHEN i % 2 = 0 THEN 1 ELSE -1 END) AS id,
  CASE WHEN i % 10 = 0 THEN 'with, comma "quoted"' || chr(10) || 'and	tab' WHEN i % 10 = 1 THEN '' ELSE 'name-' || i || '-é✓' END AS name,
  (i / 8)::DOUBLE AS amount,
  i % 3 = 0 AS flag,
  DATE '2020-01-01' + i::INTEGER AS day,
  make_timestamp(1704067200000000 + i * 3600000001) AS ts,
  make_timestamp(1704067200000000 + i * 3600000001)::TIMESTAMPTZ AS tstz,
  CASE WHEN i % 7 = 0 THEN NULL ELSE i * 2 END AS maybe`;
const NESTED = `{'a': i::INTEGER, 'b': [i::INTEGER, (i + 1)::INTEGER], 'c': 'x' || i} AS nested, [i::INTEGER, NULL] AS list`;
const sqlFor = (format: TextFormat) => `SELECT ${SCALARS}${format.startsWith('json') ? `, ${NESTED}` : ''} FROM range(${ROWS}) t(i)`;

let s3: S3TestServer;
let plugin: PluginProcess;
let backend: StateBackendServer;

const spec = (extra: Record<string, unknown> = {}) => s3Spec(s3, BUCKET, { filetype: 'auto', ...extra });

async function sync(extra: Record<string, unknown>, tables = ['*'], options: Parameters<PluginProcess['client']['sync']>[0] = {}) {
  await plugin.client.init(spec(extra));
  return plugin.client.sync({ tables, ...options });
}

before(async () => {
  s3 = await startS3Server();
  await s3.createBucket(BUCKET);
  const files: [string, Uint8Array | string][] = [];
  for (const format of FORMATS) {
    for (const compression of COMPRESSIONS)
      files.push([
        `fmt/${format}_${compression}/part${suffix(format, compression)}`,
        await textFromSql(sqlFor(format), format, compression),
      ]);
  }
  const simple = (from: number, to: number, extra = '') =>
    `SELECT i::BIGINT AS id, 'n' || i AS name${extra} FROM range(${from}, ${to}) t(i)`;
  files.push(
    ['mixed/a.csv', await textFromSql(simple(0, 10), 'csv')],
    ['mixed/b.jsonl.gz', await textFromSql(simple(10, 25, ', i * 1.5 AS extra'), 'jsonl', 'gz')],
    ['mixed/c.parquet', await parquetFromSql(simple(25, 40))],
    ['late/data.csv', ['id,n', ...Array.from({ length: 1500 }, (_, i) => `${i},${i}`), '1500,"not, a number"', '1501,1501'].join('\n')],
    ['bad/good.csv', 'id,v\n1,a\n2,b\n'],
    ['bad/rows.csv', 'id,v\n3,c\n4,d,extra\n5,e\n'],
    ['bad/binary.csv', new Uint8Array(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256))],
    ['badjson/good.jsonl', '{"id": 1}\n{"id": 2}\n'],
    ['badjson/lines.jsonl', '{"id": 3}\n{"id": 4,\n{"id": 5}\n'],
    ['badjson/page.json', '<!DOCTYPE html>\n<html><body>502 Bad Gateway</body></html>\n'],
    [
      'opts1/data.csv',
      Buffer.from("exported by a tool\nat some time\nid;ok;city\n# comment line\n1;Y;'Zürich; \\'CH\\''\n2;N;NA\n", 'latin1'),
    ],
    ['opts2/data.tsv.gz', await compress('1\tx\n2\t\n', 'gz')],
    ['opts3/data.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a,,a\r\n1,2,José\r\n', 'utf16le')])],
    ['strict/a.csv', 'id,name\n1,a\n'],
    ['strict/b.csv', 'id,name\n2,b\n'],
    ['strict/c.csv', 'id,name,extra\n3,c,x\n'],
  );
  for (let n = 0; n < 6; n++) files.push([`shard/part-${n}.csv`, await textFromSql(simple(n * 100, n * 100 + 100), 'csv')]);
  for (const [key, body] of files) await s3.put(BUCKET, key, body);
  // Stored gzip-encoded without the extension: recognised by its magic bytes.
  const gzipped = await compress('id,name\n1,one\n2,two\n', 'gz');
  await s3.client.send(
    new PutObjectCommand({ Bucket: BUCKET, Key: 'encoded/data.csv', Body: gzipped, ContentEncoding: 'gzip', ContentType: 'text/csv' }),
  );
  plugin = await startPlugin();
  backend = await startStateBackend();
});

after(async () => {
  await plugin?.stop();
  await backend?.stop();
  await s3?.stop();
  await closeFixtures();
});

describe('every format and compression', () => {
  let result: SyncResult;
  before(async () => {
    result = await sync({ path_prefix: 'fmt/', rows_per_record: 700 });
  });

  for (const format of FORMATS) {
    for (const compression of COMPRESSIONS) {
      it(`${format}, compression ${compression}: DuckDB's rows, value by value`, async () => {
        const table = `fmt_${format}_${compression}`;
        const json = format.startsWith('json');
        assert.deepEqual(typesOf(result.migrations.get(table)!), {
          id: 'Int64',
          name: 'Utf8',
          amount: 'Float64',
          flag: 'Bool',
          day: 'Date32<DAY>',
          ts: 'Timestamp<MICROSECOND>',
          tstz: 'Timestamp<MICROSECOND, UTC>',
          maybe: 'Int64',
          ...(json ? { nested: 'Binary json', list: 'Binary json' } : {}),
          _cq_id: 'FixedSizeBinary[16]',
          _cq_parent_id: 'FixedSizeBinary[16]',
        });
        assert.deepEqual(errorsOf(result, table), []);
        const expected = await rowsFromSql(sqlFor(format));
        const rows = rowsOf(result, table);
        assert.equal(rows.length, ROWS);
        rows.forEach((row, i) => {
          const want = expected[i]!;
          const label = `${table} row ${i}`;
          assert.equal(row.id, want.id, label);
          assert.equal(row.name, want.name, label);
          assert.equal(row.amount, want.amount, label);
          assert.equal(row.flag, want.flag, label);
          assert.equal(row.day, Math.round((want.day as Date).getTime() / 86_400_000), label);
          assert.equal(row.ts, want.ts, label);
          assert.equal(row.tstz, want.tstz, label);
          assert.equal(row.maybe, want.maybe === null ? null : BigInt(want.maybe as bigint), label);
          if (json) {
            assert.deepEqual(JSON.parse(row.nested as string), want.nested, label);
            assert.deepEqual(JSON.parse(row.list as string), want.list, label);
          }
        });
        assert.equal(rows[0]!.id, 9007199254740993n, 'an integer beyond 2^53 arrives exactly');
        assert.ok(result.batches.filter((b) => b.table === table).every((b) => b.batch.numRows <= 700));
      });
    }
  }
});

describe('selection and schemas', () => {
  it('a Content-Encoding: gzip object without .gz is read', async () => {
    const result = await sync({ path_prefix: 'encoded/' });
    assert.deepEqual(rowsOf(result, 'encoded'), [
      { id: 1n, name: 'one' },
      { id: 2n, name: 'two' },
    ]);
  });

  it('filetype auto: CSV, JSON Lines and Parquet in one directory are one table, schemas merged', async () => {
    const result = await sync({ path_prefix: 'mixed/' });
    assert.deepEqual([...result.migrations.keys()], ['mixed']);
    assert.deepEqual(typesOf(result.migrations.get('mixed')!), {
      id: 'Int64',
      name: 'Utf8',
      extra: 'Float64',
      _cq_id: 'FixedSizeBinary[16]',
      _cq_parent_id: 'FixedSizeBinary[16]',
    });
    const rows = rowsOf(result, 'mixed').sort((a, b) => Number(a.id) - Number(b.id));
    assert.equal(rows.length, 40);
    assert.deepEqual(rows[0], { id: 0n, name: 'n0', extra: null });
    assert.deepEqual(rows[11], { id: 11n, name: 'n11', extra: 16.5 });
    assert.deepEqual(rows[39], { id: 39n, name: 'n39', extra: null });
  });

  it('filetype csv reads only .csv keys', async () => {
    const result = await sync({ path_prefix: 'mixed/', filetype: 'csv' });
    assert.equal(rowsOf(result, 'mixed').length, 10);
  });

  it('schema_mode strict skips and reports a file whose schema differs from the first', async () => {
    const result = await sync({ path_prefix: 'strict/', schema_mode: 'strict' });
    assert.deepEqual(rowsOf(result, 'strict'), [
      { id: 1n, name: 'a' },
      { id: 2n, name: 'b' },
    ]);
    const [error, ...more] = errorsOf(result, 'strict');
    assert.deepEqual(more, []);
    assert.match(error!, /schema differs from strict\/a\.csv \(schema_mode strict\)/);
    const logged = plugin.jsonLogs().find((l) => String(l.error) === error);
    assert.equal(logged?.key, 'strict/c.csv');
  });
});

describe('csv options', () => {
  it('delimiter, quote, escape, skip_rows, comment, null/true/false values, encoding latin1', async () => {
    const csv = {
      delimiter: ';',
      quote: "'",
      escape: '\\',
      skip_rows: 2,
      comment: '#',
      null_values: ['NA'],
      true_values: ['Y'],
      false_values: ['N'],
      encoding: 'latin1',
    };
    const result = await sync({ path_prefix: 'opts1/', csv });
    assert.deepEqual(errorsOf(result, 'opts1'), []);
    assert.deepEqual(rowsOf(result, 'opts1'), [
      { id: 1n, ok: true, city: "Zürich; 'CH'" },
      { id: 2n, ok: false, city: null },
    ]);
  });

  it('header: false with column_names, on a gzipped TSV', async () => {
    const result = await sync({ path_prefix: 'opts2/', csv: { header: false, column_names: ['num', 'label'] } });
    assert.deepEqual(rowsOf(result, 'opts2'), [
      { num: 1n, label: 'x' },
      { num: 2n, label: null },
    ]);
  });

  it('encoding utf-16le (byte-order mark stripped), empty and duplicate header names made unique', async () => {
    const result = await sync({ path_prefix: 'opts3/', csv: { encoding: 'utf-16le' } });
    assert.deepEqual(rowsOf(result, 'opts3'), [{ a: 1n, column_2: 2n, a_2: 'José' }]);
  });
});

describe('bad input', () => {
  it('a late value that does not fit: the cell is null, a sync error names the line, column and value; the log names the key', async () => {
    const result = await sync({ path_prefix: 'late/' });
    const rows = rowsOf(result, 'late');
    assert.equal(rows.length, 1502);
    assert.deepEqual(rows[1500], { id: 1500n, n: null });
    assert.deepEqual(rows[1501], { id: 1501n, n: 1501n });
    const errors = errorsOf(result, 'late');
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, /line 1502: column "n": value "not, a number" does not fit the column's type int64/);
    const logged = plugin.jsonLogs().find((l) => String(l.error).includes('line 1502'));
    assert.equal(logged?.key, 'late/data.csv');
  });

  it('malformed rows are reported by line and skipped, not-CSV files by key, the good rows sync', async () => {
    const result = await sync({ path_prefix: 'bad/' });
    assert.deepEqual(
      rowsOf(result, 'bad').map((r) => r.id),
      [1n, 2n, 3n, 5n],
    );
    const errors = errorsOf(result, 'bad');
    assert.equal(errors.length, 2, errors.join('\n'));
    assert.ok(
      errors.some((e) => /^s3:\/\/cq-text-test\/bad\/rows\.csv: line 3: 3 fields where the header has 2; row skipped$/.test(e)),
      errors.join('\n'),
    );
    assert.ok(
      errors.some((e) => e.includes(`s3://${BUCKET}/bad/binary.csv`) && /not a text file/.test(e)),
      errors.join('\n'),
    );
  });

  it('an invalid JSON line is reported by line, a JSON file holding HTML by key', async () => {
    const result = await sync({ path_prefix: 'badjson/' });
    assert.deepEqual(
      rowsOf(result, 'badjson')
        .map((r) => r.id)
        .sort(),
      [1n, 2n, 3n, 5n],
    );
    const errors = errorsOf(result, 'badjson');
    assert.equal(errors.length, 2, errors.join('\n'));
    assert.ok(
      errors.some((e) => /^s3:\/\/cq-text-test\/badjson\/lines\.jsonl: line 2: invalid JSON/.test(e)),
      errors.join('\n'),
    );
    assert.ok(
      errors.some((e) => e.includes(`s3://${BUCKET}/badjson/page.json`) && /not JSON: the file starts with "<"/.test(e)),
      errors.join('\n'),
    );
  });
});

describe('incremental and shards with CSV files', () => {
  it('a second sync reads only the new CSV file', async () => {
    const backendOptions = { tableName: 'cq_state_text', connection: backend.connection };
    await s3.put(BUCKET, 'inc/a.csv', 'id,tag\n1,a\n2,a\n');
    const first = await sync({ path_prefix: 'inc/' }, ['*'], { backendOptions });
    assert.deepEqual(
      rowsOf(first, 'inc').map((r) => r.tag),
      ['a', 'a'],
    );
    await new Promise((r) => setTimeout(r, 1100));
    await s3.put(BUCKET, 'inc/b.csv', 'id,tag\n3,b\n');
    const second = await sync({ path_prefix: 'inc/' }, ['*'], { backendOptions });
    assert.deepEqual(rowsOf(second, 'inc'), [{ id: 3n, tag: 'b' }]);
    const third = await sync({ path_prefix: 'inc/' }, ['*'], { backendOptions });
    assert.equal(third.rowCount(), 0);
  });

  it('three shards together deliver every row of the CSV files exactly once', async () => {
    const ids: bigint[] = [];
    for (const num of [1, 2, 3]) {
      const part = await sync({ path_prefix: 'shard/' }, ['*'], { shard: { num, total: 3 } });
      ids.push(...rowsOf(part, 'shard').map((r) => r.id as bigint));
    }
    assert.equal(ids.length, 600);
    assert.deepEqual(
      [...ids].sort((a, b) => Number(a - b)),
      Array.from({ length: 600 }, (_, i) => BigInt(i)),
    );
  });
});
