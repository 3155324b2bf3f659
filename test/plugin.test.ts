// The plugin end to end: a real S3 server (Swift s3api) with Parquet files written by DuckDB, the
// bundled plugin served over gRPC, and a client speaking protocol v3 as the CloudQuery CLI does.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { Field, Int64, makeData, RecordBatch, Schema, Struct, Table, Utf8, vectorFromArray, type Vector } from 'apache-arrow';
import { decimalText, hex, rawValue } from './support/arrow-values.js';
import { parquetFromArrow } from './support/cloudquery-parquet.js';
import { ALL_TYPES_ROW_COUNT, ALL_TYPES_SQL, closeFixtures, parquetFromSql, rowsFromSql } from './support/fixtures.js';
import { startPlugin, tableName, type PluginProcess, type SyncResult } from './support/plugin-client.js';
import { startS3Server, type S3TestServer } from './support/s3-server.js';
import { s3Spec } from './support/s3-spec.js';

const BUCKET = 'cq-plugin-test';
const BIG_ROWS = 25_000;

let s3: S3TestServer;
let plugin: PluginProcess;

const spec = (extra: Record<string, unknown> = {}) => s3Spec(s3, BUCKET, extra);

const simple = (from: number, to: number) => `SELECT i::BIGINT AS id, 'v' || i AS name FROM range(${from}, ${to}) t(i)`;

function withPrimaryKey(ids: bigint[]): Uint8Array {
  const schema = new Schema([
    new Field('id', new Int64(), false, new Map([['cq:extension:primary_key', 'true']])),
    new Field('name', new Utf8(), true),
  ]);
  const children = [
    vectorFromArray(ids, new Int64()).data[0]!,
    vectorFromArray(
      ids.map((i) => `n${i}`),
      new Utf8(),
    ).data[0]!,
  ];
  const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: ids.length, nullCount: 0, children }));
  return parquetFromArrow(new Table([batch]));
}

const EXPECTED_TABLES = ['alltypes', 'big', 'broken', 'data_2024', 'data_2024_01_14', 'datafile_0', 'drift', 'keyed', 'reports_2024'];

before(async () => {
  s3 = await startS3Server();
  await s3.createBucket(BUCKET);
  const files: [string, Uint8Array | string][] = [
    ['alltypes/part-0.parquet', await parquetFromSql(ALL_TYPES_SQL, { codec: 'zstd', rowGroupSize: 1024 })],
    ['datafile_0.parquet', await parquetFromSql(simple(0, 10), { codec: 'uncompressed' })],
    ['data/2024/file.parquet', await parquetFromSql(simple(0, 20), { codec: 'gzip' })],
    ['data/2024/01/14/file.parquet', await parquetFromSql(simple(0, 30), { codec: 'lz4' })],
    ['reports/2024/a.parquet', await parquetFromSql(simple(0, 40), { codec: 'brotli' })],
    ['reports/2024/b.parquet', await parquetFromSql(simple(40, 100), { codec: 'snappy' })],
    [
      'big/part.parquet',
      await parquetFromSql(`SELECT i::BIGINT AS id, repeat('x', (i % 50)::INT) AS pad, i / 7 AS f FROM range(${BIG_ROWS}) t(i)`, {
        codec: 'zstd',
        rowGroupSize: 4096,
      }),
    ],
    ['broken/good.parquet', await parquetFromSql(simple(0, 5))],
    ['broken/bad.parquet', 'this is not a parquet file, just text long enough to have a footer'],
    ['broken/empty.parquet', ''],
    ['drift/a.parquet', await parquetFromSql(`SELECT i::INTEGER AS id, 'a' || i AS name FROM range(0, 10) t(i)`)],
    ['drift/b.parquet', await parquetFromSql(`SELECT i::BIGINT AS id, 'b' || i AS name, i * 1.5 AS extra FROM range(10, 25) t(i)`)],
    ['drift/c.parquet', await parquetFromSql(`SELECT 'not a number' AS id FROM range(0, 3) t(i)`)],
    ['keyed/k.parquet', withPrimaryKey([1n, 2n, 3n, 4n])],
    ['notes.txt', 'not a data file'],
    ['empty-dir/', ''],
  ];
  for (const [key, body] of files) await s3.put(BUCKET, key, body);
  plugin = await startPlugin();
});

after(async () => {
  await plugin?.stop();
  await s3?.stop();
  await closeFixtures();
});

describe('protocol', () => {
  it('answers discovery, name, version and spec schema', async () => {
    assert.deepEqual(await plugin.client.getVersions(), [3]);
    assert.equal(await plugin.client.getName(), 'cq-source-s3');
    assert.equal(await plugin.client.getVersion(), 'development');
    const schema = JSON.parse(await plugin.client.getSpecSchema());
    assert.equal(schema.type, 'object');
    assert.ok(schema.properties.bucket && schema.properties.rows_per_record);
  });

  it('rejects a bad spec with INVALID_ARGUMENT naming every bad field, and stays up', async () => {
    await assert.rejects(
      plugin.client.init({ buckets: BUCKET, region: 'us-east-1', rows_per_record: 'many', concurrency: 1.5 }),
      (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
        assert.match(err.details, /unknown field "buckets" \(did you mean "bucket"\?\)/);
        assert.match(err.details, /rows_per_record: must be integer/);
        assert.match(err.details, /concurrency: must be integer/);
        return true;
      },
    );
    await assert.rejects(
      plugin.client.init(undefined),
      (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT && /bucket is required/.test(err.details),
    );
    assert.equal(await plugin.client.getName(), 'cq-source-s3');
  });
});

describe('tables', () => {
  it('names tables as the Go plugin does and lists them in GetTables', async () => {
    await plugin.client.init(spec());
    const tables = await plugin.client.getTables({ tables: ['*'] });
    assert.deepEqual(tables.map(tableName), EXPECTED_TABLES);
  });

  it('honours tables and skip_tables globs', async () => {
    await plugin.client.init(spec());
    const tables = await plugin.client.getTables({ tables: ['data_*', 'reports_*'], skipTables: ['data_2024_01_*'] });
    assert.deepEqual(tables.map(tableName), ['data_2024', 'reports_2024']);
    const result = await plugin.client.sync({ tables: ['data_*'], skipTables: ['data_2024'] });
    assert.deepEqual([...result.migrations.keys()], ['data_2024_01_14']);
    assert.equal(result.rowCount(), 30);
  });

  it('reads only under path_prefix and keeps the prefix in table names', async () => {
    await plugin.client.init(spec({ path_prefix: 'data/' }));
    const result = await plugin.client.sync({ tables: ['*'] });
    assert.deepEqual([...result.migrations.keys()].sort(), ['data_2024', 'data_2024_01_14']);
    assert.equal(result.rowCount('data_2024'), 20);
    assert.equal(result.rowCount('data_2024_01_14'), 30);
  });
});

describe('sync', () => {
  let result: SyncResult;

  before(async () => {
    await plugin.client.init(spec({ rows_per_record: 1000, concurrency: 4 }));
    result = await plugin.client.sync({ tables: ['*'] });
  });

  it('migrates every table before inserting into it', () => {
    assert.deepEqual([...result.migrations.keys()].sort(), EXPECTED_TABLES);
    const firstInsert = new Map<string, number>();
    const migrated = new Set<string>();
    let index = 0;
    for (const kind of result.kinds) {
      if (kind === 'migrate_table') migrated.add([...result.migrations.keys()][migrated.size]!);
      if (kind === 'insert') {
        const table = result.batches[index++]!.table;
        if (!firstInsert.has(table)) firstInsert.set(table, migrated.size);
        assert.ok(migrated.has(table), `${table} migrated before its first insert`);
      }
    }
  });

  it('delivers every row of every table exactly once', () => {
    assert.equal(result.rowCount('alltypes'), ALL_TYPES_ROW_COUNT);
    assert.equal(result.rowCount('big'), BIG_ROWS);
    assert.equal(result.rowCount('datafile_0'), 10);
    assert.equal(result.rowCount('data_2024'), 20);
    assert.equal(result.rowCount('data_2024_01_14'), 30);
    assert.equal(result.rowCount('reports_2024'), 100);
    assert.equal(result.rowCount('keyed'), 4);
    const ids = result
      .rows('reports_2024')
      .map((r) => Number(r.id))
      .sort((a, b) => a - b);
    assert.deepEqual(
      ids,
      Array.from({ length: 100 }, (_, i) => i),
    );
    const big = result
      .rows('big')
      .map((r) => Number(r.id))
      .sort((a, b) => a - b);
    assert.deepEqual(
      big,
      Array.from({ length: BIG_ROWS }, (_, i) => i),
    );
  });

  it('sends multi-row records of at most rows_per_record rows, with the migrated schema and cq:table_name', () => {
    const bigBatches = result.batches.filter((b) => b.table === 'big');
    assert.ok(bigBatches.length >= BIG_ROWS / 1000, `${bigBatches.length} records for ${BIG_ROWS} rows`);
    assert.ok(bigBatches.filter((b) => b.batch.numRows === 1000).length >= 20, 'most records are full');
    for (const { table, schema, batch } of result.batches) {
      assert.ok(batch.numRows > 0 && batch.numRows <= 1000);
      assert.equal(schema.metadata.get('cq:table_name'), table);
      const migrated = result.migrations.get(table)!;
      assert.deepEqual(
        schema.fields.map((f) => `${f.name}:${f.type}:${f.nullable}`),
        migrated.fields.map((f) => `${f.name}:${f.type}:${f.nullable}`),
      );
    }
  });

  it('fills _cq_id with unique UUIDs and leaves _cq_parent_id null', () => {
    const ids = new Set<string>();
    for (const { batch } of result.batches) {
      const cqId = batch.getChild('_cq_id')!;
      const parent = batch.getChild('_cq_parent_id')!;
      for (let i = 0; i < batch.numRows; i++) {
        const id = cqId.get(i) as Uint8Array;
        assert.ok(id && id.length === 16);
        assert.equal(id[6]! >> 4, 4, 'UUID version 4');
        ids.add(hex(id));
        assert.equal(parent.get(i), null);
      }
    }
    assert.equal(ids.size, result.rowCount());
    const field = result.migrations.get('big')!.fields.find((f) => f.name === '_cq_id')!;
    assert.equal(field.metadata.get('ARROW:extension:name'), 'uuid');
    assert.equal(field.nullable, false);
  });

  it('keeps every type and value the files hold', async () => {
    const schema = result.migrations.get('alltypes')!;
    const types = Object.fromEntries(schema.fields.map((f) => [f.name, String(f.type)]));
    assert.deepEqual(types, {
      id: 'Int32',
      c_tinyint: 'Int8',
      c_smallint: 'Int16',
      c_integer: 'Int32',
      c_bigint: 'Int64',
      c_utinyint: 'Uint8',
      c_usmallint: 'Uint16',
      c_uinteger: 'Uint32',
      c_ubigint: 'Uint64',
      c_float: 'Float32',
      c_double: 'Float64',
      c_decimal_9_2: 'Decimal[9e+2]',
      c_decimal_18_4: 'Decimal[18e+4]',
      c_decimal_38_10: 'Decimal[38e+10]',
      c_boolean: 'Bool',
      c_varchar: 'Utf8',
      c_blob: 'Binary',
      c_date: 'Date32<DAY>',
      c_time: 'Time64<MICROSECOND>',
      c_timestamp: 'Timestamp<MICROSECOND>',
      c_timestamptz: 'Timestamp<MICROSECOND, UTC>',
      c_timestamp_ms: 'Timestamp<MILLISECOND>',
      c_timestamp_ns: 'Timestamp<NANOSECOND>',
      c_uuid: 'FixedSizeBinary[16]',
      c_list: 'List<Int32>',
      c_struct: 'Struct<{a:Int32, b:Utf8}>',
      c_map: 'Map<{key:Utf8, value:Int32}>',
      c_nullable: 'Int32',
      _cq_id: 'FixedSizeBinary[16]',
      _cq_parent_id: 'FixedSizeBinary[16]',
    });

    const expected = await rowsFromSql(ALL_TYPES_SQL);
    let checked = 0;
    for (const { table, batch } of result.batches) {
      if (table !== 'alltypes') continue;
      const col = (name: string) => batch.getChild(name)! as Vector;
      for (let i = 0; i < batch.numRows; i++) {
        const want = expected[col('id').get(i) as number]!;
        const label = `row ${want.id}`;
        for (const name of [
          'c_tinyint',
          'c_smallint',
          'c_integer',
          'c_utinyint',
          'c_usmallint',
          'c_uinteger',
          'c_float',
          'c_double',
          'c_boolean',
          'c_varchar',
        ]) {
          assert.equal(col(name).get(i), want[name], `${label} ${name}`);
        }
        for (const name of ['c_bigint', 'c_ubigint', 'c_time', 'c_timestamp', 'c_timestamptz', 'c_timestamp_ms', 'c_timestamp_ns']) {
          assert.equal(rawValue(col(name), i), want[name], `${label} ${name}`);
        }
        for (const name of ['c_decimal_9_2', 'c_decimal_18_4', 'c_decimal_38_10']) {
          assert.equal(decimalText(col(name), i), want[name], `${label} ${name}`);
        }
        assert.equal(hex(col('c_blob').get(i) as Uint8Array), hex(want.c_blob as Uint8Array), `${label} c_blob`);
        assert.equal(rawValue(col('c_date'), i), Math.round((want.c_date as Date).getTime() / 86_400_000), `${label} c_date`);
        assert.equal(hex(col('c_uuid').get(i) as Uint8Array), String(want.c_uuid).replaceAll('-', ''), `${label} c_uuid`);
        assert.deepEqual([...(col('c_list').get(i) as Vector)], want.c_list, `${label} c_list`);
        assert.deepEqual((col('c_struct').get(i) as { toJSON(): unknown }).toJSON(), want.c_struct, `${label} c_struct`);
        const map = (col('c_map').get(i) as { toJSON(): Record<string, unknown> }).toJSON();
        assert.deepEqual(
          map,
          Object.fromEntries((want.c_map as { key: string; value: number }[]).map((e) => [e.key, e.value])),
          `${label} c_map`,
        );
        assert.equal(col('c_nullable').get(i), want.c_nullable, `${label} c_nullable`);
        checked++;
      }
    }
    assert.equal(checked, ALL_TYPES_ROW_COUNT);
  });

  it('merges compatible schema drift and reports the incompatible file by both keys', () => {
    const drift = result.migrations.get('drift')!;
    assert.deepEqual(drift.fields.map((f) => `${f.name}:${f.type}:${f.nullable}`).slice(0, 3), [
      'id:Int64:true',
      'name:Utf8:true',
      'extra:Decimal[21e+1]:true',
    ]);
    const rows = result.rows('drift');
    assert.equal(rows.length, 25);
    assert.deepEqual(
      rows.map((r) => Number(r.id)).sort((a, b) => a - b),
      Array.from({ length: 25 }, (_, i) => i),
    );
    assert.equal(rows.filter((r) => r.extra === null).length, 10);
    const conflict = result.errors.find((e) => e.table === 'drift');
    assert.ok(conflict, 'the conflicting file is reported');
    assert.match(conflict.error, /drift\/c\.parquet/);
    assert.match(conflict.error, /drift\/a\.parquet/);
    assert.match(conflict.error, /"id"/);
  });

  it('skips corrupt objects with an error naming the key and syncs the rest', () => {
    assert.equal(result.rowCount('broken'), 5);
    const messages = result.errors.filter((e) => e.table === 'broken').map((e) => e.error);
    assert.equal(messages.length, 2);
    assert.ok(
      messages.some((m) => m.includes(`s3://${BUCKET}/broken/bad.parquet`)),
      messages.join('\n'),
    );
    assert.ok(
      messages.some((m) => m.includes(`s3://${BUCKET}/broken/empty.parquet`)),
      messages.join('\n'),
    );
    const warnings = plugin.jsonLogs().filter((l) => l.level === 'warn' && JSON.stringify(l).includes('broken/bad.parquet'));
    assert.ok(warnings.length > 0, 'a warning names the key');
  });

  it('derives deterministic _cq_id from the primary key when asked', async () => {
    const first = await plugin.client.sync({ tables: ['keyed'], deterministicCqId: true });
    const second = await plugin.client.sync({ tables: ['keyed'], deterministicCqId: true });
    const ids = (r: SyncResult) =>
      new Map(
        r.batches.flatMap(({ batch }) =>
          Array.from(
            { length: batch.numRows },
            (_, i) => [String(batch.getChild('id')!.get(i)), hex(batch.getChild('_cq_id')!.get(i) as Uint8Array)] as const,
          ),
        ),
      );
    const a = ids(first);
    assert.deepEqual(a, ids(second));
    assert.equal(new Set(a.values()).size, 4);
    for (const id of a.values()) assert.equal(id[12], '5', 'UUID version 5');
    assert.deepEqual(first.migrations.get('keyed')!.fields[0]!.metadata.get('cq:extension:primary_key'), 'true');
    const random = await plugin.client.sync({ tables: ['keyed'] });
    assert.notDeepEqual(ids(random), a);
  });

  it('gives the same rows whatever the concurrency', async () => {
    for (const concurrency of [1, -1]) {
      await plugin.client.init(spec({ concurrency, rows_per_record: 333 }));
      const again = await plugin.client.sync({ tables: ['reports_2024', 'big'] });
      assert.equal(again.rowCount('reports_2024'), 100);
      assert.equal(again.rowCount('big'), BIG_ROWS);
      assert.ok(again.batches.every((b) => b.batch.numRows <= 333));
    }
  });
});

describe('shards', () => {
  it('split the objects so N shards together deliver every row exactly once', async () => {
    await plugin.client.init(spec({ rows_per_record: 5000 }));
    const whole = await plugin.client.sync({ tables: ['*'] });
    const rowIds = (r: SyncResult) =>
      r.batches.flatMap(({ table, batch }) =>
        Array.from({ length: batch.numRows }, (_, i) => `${table}:${String(batch.getChild('id')?.get(i) ?? '')}`),
      );
    const union: string[] = [];
    for (const num of [1, 2, 3]) {
      const part = await plugin.client.sync({ tables: ['*'], shard: { num, total: 3 } });
      // Every shard migrates every table, to the same schema; destinations handle repeated migrations.
      assert.deepEqual([...part.migrations.keys()].sort(), [...whole.migrations.keys()].sort());
      for (const [name, schema] of part.migrations) {
        assert.deepEqual(
          schema.fields.map((f) => `${f.name}:${f.type}`),
          whole.migrations.get(name)!.fields.map((f) => `${f.name}:${f.type}`),
          name,
        );
      }
      union.push(...rowIds(part));
    }
    const expected = rowIds(whole);
    assert.equal(union.length, expected.length, 'no row lost or duplicated');
    assert.deepEqual([...union].sort(), [...expected].sort());
  });
});

describe('store errors', () => {
  it('names a missing bucket and its endpoint', async () => {
    await plugin.client.init(spec({ bucket: 'no-such-bucket-here' }));
    await assert.rejects(plugin.client.sync({ tables: ['*'] }), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.NOT_FOUND);
      assert.match(err.details, /bucket "no-such-bucket-here"/);
      assert.ok(err.details.includes(s3.endpoint), err.details);
      assert.match(err.details, /does not exist/);
      return true;
    });
  });

  it('reports wrong credentials as access denied without echoing them', async () => {
    const secret = 'wrong-secret-DO-NOT-LOG-7f3a';
    await plugin.client.init(spec({ secret_access_key: secret }));
    await assert.rejects(plugin.client.getTables({ tables: ['*'] }), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.PERMISSION_DENIED);
      assert.match(err.details, /access denied to bucket "cq-plugin-test"/);
      assert.match(err.details, /check the credentials/);
      assert.ok(!err.details.includes(secret));
      return true;
    });
    assert.ok(!plugin.logs.join('\n').includes(secret), 'the secret never reaches the logs');
    assert.ok(!plugin.logs.join('\n').includes(s3.secretAccessKey), 'the real secret never reaches the logs');
  });

  it('names an unreachable endpoint, quickly', async () => {
    await plugin.client.init(spec({ endpoint: 'http://127.0.0.1:1', max_retries: 1 }));
    const started = Date.now();
    await assert.rejects(plugin.client.sync({ tables: ['*'] }), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.UNAVAILABLE);
      assert.match(err.details, /cannot reach http:\/\/127\.0\.0\.1:1 for bucket "cq-plugin-test"/);
      return true;
    });
    assert.ok(Date.now() - started < 30_000);
    assert.equal(await plugin.client.getName(), 'cq-source-s3');
  });
});

describe('logs', () => {
  it('are one JSON object a line with level and message', () => {
    assert.ok(plugin.logs.length > 0);
    for (const line of plugin.logs) {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      assert.equal(typeof parsed.level, 'string', line);
      assert.equal(typeof parsed.message, 'string', line);
    }
  });
});
