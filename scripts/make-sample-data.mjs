// Regenerates examples/sample-data (committed): a small bucket-like tree of Parquet files written by
// DuckDB, showing the table naming rules. Run: node scripts/make-sample-data.mjs
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = 'examples/sample-data';
const files = {
  'customers.parquet': `SELECT i AS customer_id, 'Customer ' || i AS name, ['gold','silver','bronze'][1 + i % 3] AS tier,
      DATE '2020-01-01' + (i * 37 % 1500)::INT AS signed_up FROM range(1, 51) t(i)`,
  'sales/2024/q1.parquet': `SELECT i AS order_id, 1 + i % 50 AS customer_id, round(10 + (i * 7.31) % 990, 2)::DECIMAL(10,2) AS amount,
      TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_minutes(i * 131) AS ordered_at FROM range(1, 201) t(i)`,
  'sales/2024/q2.parquet': `SELECT i AS order_id, 1 + i % 50 AS customer_id, round(10 + (i * 7.31) % 990, 2)::DECIMAL(10,2) AS amount,
      TIMESTAMPTZ '2024-04-01 00:00:00+00' + to_minutes(i * 131) AS ordered_at, i % 4 = 0 AS gift FROM range(201, 451) t(i)`,
  'events/2024/01/14/part-0.parquet': `SELECT i AS event_id, ['click','view','purchase'][1 + i % 3] AS kind,
      {'page': '/p/' || (i % 9), 'ms': i * 13 % 5000} AS detail, [i % 5, i % 7] AS tags FROM range(0, 120) t(i)`,
};

rmSync(root, { recursive: true, force: true });
const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
for (const [key, sql] of Object.entries(files)) {
  const path = join(root, key);
  mkdirSync(dirname(path), { recursive: true });
  await conn.run(`COPY (${sql}) TO '${path}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100)`);
}
console.log(`wrote ${Object.keys(files).length} files under ${root}`);
