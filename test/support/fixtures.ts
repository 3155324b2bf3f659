// Real Parquet fixtures written by DuckDB: a different writer than the reader under test (parquet-wasm),
// so a test cannot pass because reader and writer share the same mistake.
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  DuckDBInstance,
  DuckDBTypeId,
  JSDuckDBValueConverter,
  type DuckDBConnection,
  type DuckDBValueConverter,
  type DuckDBDecimalValue,
  type DuckDBTimestampValue,
  type DuckDBTimestampTZValue,
  type DuckDBTimestampSecondsValue,
  type DuckDBTimestampMillisecondsValue,
  type DuckDBTimestampNanosecondsValue,
  type JS,
} from '@duckdb/node-api';

export interface ParquetOptions {
  /** DuckDB's default is snappy. */
  codec?: 'snappy' | 'zstd' | 'gzip' | 'uncompressed' | 'lz4' | 'brotli';
  /**
   * Target rows per row group (DuckDB's default is 122880). DuckDB fills row groups in whole 2048-row
   * vectors, so 1000 on 3000 rows gives groups of 2048 and 952: use multiples of 2048 for exact sizes.
   */
  rowGroupSize?: number;
}

export const ALL_TYPES_ROW_COUNT = 3000;

/**
 * One row per i in [0, 3000) with a column of every type the plugin must read.
 * Values reach the edges that break naive readers: int64/uint64 beyond 2^53, decimal(38,10) beyond
 * double precision, microsecond and nanosecond timestamps, empty lists, non-ASCII text, NULLs.
 */
export const ALL_TYPES_SQL = `
SELECT
  i::INTEGER                                                   AS id,
  (i % 256 - 128)::TINYINT                                     AS c_tinyint,
  (i * 7 % 65536 - 32768)::SMALLINT                            AS c_smallint,
  (i * 104729 - 150000000)::INTEGER                            AS c_integer,
  (i - 1500)::BIGINT * 6148914691236517                        AS c_bigint,
  (i % 256)::UTINYINT                                          AS c_utinyint,
  (i * 31 % 65536)::USMALLINT                                  AS c_usmallint,
  (i * 1431655)::UINTEGER                                      AS c_uinteger,
  i::UBIGINT * 6148914691236517                                AS c_ubigint,
  (i / 8)::FLOAT                                               AS c_float,
  (i / 3)::DOUBLE                                              AS c_double,
  ((i - 1500) * 1.25)::DECIMAL(9,2)                            AS c_decimal_9_2,
  ((i - 1500) * 12345.6789)::DECIMAL(18,4)                     AS c_decimal_18_4,
  ('1234567890123456789012345678.' || lpad(i::VARCHAR, 10, '0'))::DECIMAL(38,10) AS c_decimal_38_10,
  i % 3 = 0                                                    AS c_boolean,
  'row-' || i || '-é✓'                                         AS c_varchar,
  '\\x00\\xFF'::BLOB || ('-' || i)::BLOB                        AS c_blob,
  DATE '2020-01-01' + i::INTEGER                               AS c_date,
  make_time(i % 24, i % 60, i % 60 + 0.123456)                 AS c_time,
  make_timestamp(1704067200000000 + i * 3600000001)            AS c_timestamp,
  make_timestamp(1704067200000000 + i * 3600000001)::TIMESTAMPTZ AS c_timestamptz,
  make_timestamp(1704067200000000 + i * 3600001000)::TIMESTAMP_MS AS c_timestamp_ms,
  make_timestamp_ns(1704067200000000000 + i * 3600000000001)   AS c_timestamp_ns,
  md5(i::VARCHAR)::UUID                                        AS c_uuid,
  list_transform(range(i % 4), x -> (x + i)::INTEGER)          AS c_list,
  {'a': i::INTEGER, 'b': 'b' || i}                             AS c_struct,
  map(['k' || i, 'z'], [i::INTEGER, (-i)::INTEGER])            AS c_map,
  CASE WHEN i % 7 = 0 THEN NULL ELSE (i * 2)::INTEGER END      AS c_nullable
FROM range(${ALL_TYPES_ROW_COUNT}) t(i)
`;

let connection: Promise<{ instance: DuckDBInstance; conn: DuckDBConnection }> | undefined;
let allTypes: Promise<void> | undefined;

/**
 * The query to run for `selectSql`: ALL_TYPES_SQL's rows are computed once per connection into a
 * temporary table (its expressions take ~0.3 s each time; one thread keeps the row order).
 */
async function materialized(conn: DuckDBConnection, selectSql: string): Promise<string> {
  if (selectSql !== ALL_TYPES_SQL) return selectSql;
  allTypes ??= conn.run(`CREATE TEMP TABLE all_types AS ${ALL_TYPES_SQL}`).then(() => undefined);
  await allTypes;
  return 'SELECT * FROM all_types';
}

/** The one DuckDB connection of the test process (Parquet and text fixtures alike); closeFixtures() closes it. */
export function duck(): Promise<DuckDBConnection> {
  connection ??= (async () => {
    // One thread keeps row-group boundaries and row order deterministic.
    const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
    const conn = await instance.connect();
    await conn.run(`SET TimeZone = 'UTC'`);
    return { instance, conn };
  })();
  return connection.then((c) => c.conn);
}

/** Closes the shared DuckDB instance; the next call opens a new one. */
export async function closeFixtures(): Promise<void> {
  if (!connection) return;
  const { instance, conn } = await connection;
  connection = undefined;
  allTypes = undefined;
  conn.closeSync();
  instance.closeSync();
}

export async function parquetFromSql(selectSql: string, opts: ParquetOptions = {}): Promise<Uint8Array> {
  const conn = await duck();
  const file = join(tmpdir(), `cq-fixture-${process.pid}-${randomUUID()}.parquet`);
  const options = ['FORMAT parquet', `COMPRESSION ${opts.codec ?? 'snappy'}`];
  if (opts.rowGroupSize !== undefined) options.push(`ROW_GROUP_SIZE ${opts.rowGroupSize}`);
  try {
    await conn.run(`COPY (${await materialized(conn, selectSql)}) TO '${file.replaceAll("'", "''")}' (${options.join(', ')})`);
    return new Uint8Array(await readFile(file));
  } finally {
    await rm(file, { force: true });
  }
}

/**
 * Runs a query and returns plain JS rows, like DuckDB's getRowObjectsJS() but without its precision
 * loss: decimals come back as exact strings ("-1875.00"), timestamps as bigint counts since the epoch in
 * the column's own unit (µs for TIMESTAMP/TIMESTAMPTZ, ms, ns, s), BIGINT/UBIGINT as bigint, TIME as
 * bigint µs since midnight, DATE as a Date at UTC midnight, BLOB as Uint8Array, UUID as a string,
 * lists as arrays, structs as objects, maps as [{ key, value }].
 */
export async function rowsFromSql(selectSql: string): Promise<Record<string, unknown>[]> {
  const conn = await duck();
  const reader = await conn.runAndReadAll(await materialized(conn, selectSql));
  return reader.convertRowObjects(exactConverter);
}

const exactConverter: DuckDBValueConverter<JS> = (value, type, converter) => {
  if (value === null) return null;
  switch (type.typeId) {
    case DuckDBTypeId.DECIMAL:
      return (value as DuckDBDecimalValue).toString();
    case DuckDBTypeId.TIMESTAMP:
      return (value as DuckDBTimestampValue).micros;
    case DuckDBTypeId.TIMESTAMP_TZ:
      return (value as DuckDBTimestampTZValue).micros;
    case DuckDBTypeId.TIMESTAMP_S:
      return (value as DuckDBTimestampSecondsValue).seconds;
    case DuckDBTypeId.TIMESTAMP_MS:
      return (value as DuckDBTimestampMillisecondsValue).millis;
    case DuckDBTypeId.TIMESTAMP_NS:
      return (value as DuckDBTimestampNanosecondsValue).nanos;
    default:
      // Nested types recurse through `converter`, i.e. back through this function.
      return JSDuckDBValueConverter(value, type, converter);
  }
};
