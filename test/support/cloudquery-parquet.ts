// Parquet files as CloudQuery's own destinations write them: an embedded Arrow schema (ARROW:schema)
// carrying CloudQuery field metadata such as cq:extension:primary_key. DuckDB cannot write field
// metadata, so these come from Arrow's Rust writer (parquet-wasm's writeParquet), the same
// kind of writer CloudQuery's Go destination uses (Arrow's pqarrow).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tableToIPC, type Table } from 'apache-arrow';
import * as wasm from 'parquet-wasm/esm';

let ready = false;

export function parquetFromArrow(table: Table): Uint8Array {
  if (!ready) {
    wasm.initSync({ module: readFileSync(createRequire(import.meta.url).resolve('parquet-wasm/esm/parquet_wasm_bg.wasm')) });
    ready = true;
  }
  const wasmTable = wasm.Table.fromIPCStream(tableToIPC(table, 'stream'));
  return wasm.writeParquet(wasmTable);
}
