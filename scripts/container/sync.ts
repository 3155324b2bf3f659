// A full sync through the container's gRPC port from the real S3 server (test/support/s3-server.ts).
import type { PluginClient } from '../../test/support/plugin-client.js';
import type { S3TestServer } from '../../test/support/s3-server.js';
import { s3Spec } from '../../test/support/s3-spec.js';
import { ALL_TYPES_ROW_COUNT, ALL_TYPES_SQL, parquetFromSql } from '../../test/support/fixtures.js';
import { check, prove } from './output.js';

const EVENT_CODECS = ['snappy', 'zstd', 'gzip', 'lz4', 'brotli', 'uncompressed'] as const;
const EVENT_ROWS = 10_000;

/** A bucket of Parquet files: `events` in one file a codec, `all_types` with every column type, and a file that is not data. */
async function fillBucket(s3: S3TestServer, bucket: string): Promise<void> {
  for (const [i, codec] of EVENT_CODECS.entries()) {
    const sql = `SELECT (${i * EVENT_ROWS} + i)::BIGINT AS id, 'event ' || i AS name, (i * 0.5)::DOUBLE AS score,
        TIMESTAMP '2024-01-01' + to_seconds(i) AS at FROM range(${EVENT_ROWS}) t(i)`;
    await s3.put(bucket, `events/part-${i}-${codec}.parquet`, await parquetFromSql(sql, { codec, rowGroupSize: 4096 }));
  }
  await s3.put(bucket, 'all_types/data.parquet', await parquetFromSql(ALL_TYPES_SQL, { codec: 'zstd', rowGroupSize: 2048 }));
  await s3.put(bucket, 'README.txt', 'not a data file');
}

export async function syncThroughContainer(client: PluginClient, s3: S3TestServer): Promise<void> {
  const bucket = `container-test-${process.pid}`;
  await s3.createBucket(bucket);
  try {
    await fillBucket(s3, bucket);
    await client.init(s3Spec(s3, bucket));
    const tables = (await client.getTables()).map((s) => s.metadata.get('cq:table_name')).sort();
    check(
      JSON.stringify(tables) === JSON.stringify(['all_types', 'events']),
      `GetTables lists all_types and events (got ${tables.join(', ')})`,
    );
    const result = await client.sync();
    check(result.errors.length === 0, `Sync sent no error messages (got ${JSON.stringify(result.errors.slice(0, 3))})`);
    const expectedEvents = EVENT_CODECS.length * EVENT_ROWS;
    check(result.rowCount('events') === expectedEvents, `events: ${expectedEvents} rows (got ${result.rowCount('events')})`);
    check(
      result.rowCount('all_types') === ALL_TYPES_ROW_COUNT,
      `all_types: ${ALL_TYPES_ROW_COUNT} rows (got ${result.rowCount('all_types')})`,
    );
    const ids = new Set(result.rows('events').map((r) => String(r.id)));
    check(ids.size === expectedEvents, `events: ${expectedEvents} distinct ids (got ${ids.size})`);
    for (let id = 0; id < expectedEvents; id += 997) check(ids.has(String(id)), `events: id ${id} arrived`);
    const allIds = new Set(result.rows('all_types').map((r) => Number(r.id)));
    check(
      allIds.size === ALL_TYPES_ROW_COUNT && allIds.has(0) && allIds.has(ALL_TYPES_ROW_COUNT - 1),
      'all_types: every id 0..2999 arrived once',
    );
    prove(
      `a full sync from the real S3 server (Swift s3api, SigV4, path-style) through the container's gRPC port delivered every row: ` +
        `events ${expectedEvents} rows from ${EVENT_CODECS.length} files (${EVENT_CODECS.join(', ')}), all_types ${ALL_TYPES_ROW_COUNT} rows ` +
        `(every column type), no error messages, ${result.batches.length} record batches`,
    );
  } finally {
    await s3.emptyBucket(bucket).catch(() => {});
  }
}
