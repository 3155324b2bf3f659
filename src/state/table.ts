// The state backend's table, in the Go SDK's shape so a user switching from the Go plugin keeps their
// state: `key` utf8 (primary key), `value` utf8, `version` uint64 (not part of the primary key, so
// destinations that keep primary keys hold one row per key, and append-only ones are resolved on read
// by the highest version).
import {
  Field,
  makeData,
  RecordBatch,
  RecordBatchReader,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  Uint64,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';

const KEY = 'key';
const VALUE = 'value';
const VERSION = 'version';

export interface StateEntry {
  key: string;
  value: string;
  version: bigint;
}

/**
 * The state table's Arrow schema, field for field and key for key what Go's
 * `state.Table(name).ToArrowSchema()` produces (schema.Table.ToArrowSchema / Column.ToArrowField).
 */
export function stateTableSchema(tableName: string): Schema {
  const column = (name: string, type: Utf8 | Uint64, primaryKey: boolean) =>
    new Field(
      name,
      type,
      true, // Go: Nullable = !NotNull
      new Map([
        ['cq:extension:primary_key', primaryKey ? 'true' : 'false'],
        ['cq:extension:unique', 'false'],
        ['cq:extension:incremental', 'false'],
        ['cq:extension:primary_key_component', 'false'],
        ['cq:extension:type_schema', ''],
      ]),
    );
  return new Schema(
    [column(KEY, new Utf8(), true), column(VALUE, new Utf8(), false), column(VERSION, new Uint64(), false)],
    new Map([
      ['cq:table_name', tableName],
      ['cq:table_description', ''],
      ['cq:table_title', ''],
      ['cq:extension:constraint_name', ''],
      // Go marshals the table's nil slices as JSON null.
      ['cq:table_permissions_needed', 'null'],
      ['cq:table_sensitive_columns', 'null'],
    ]),
  );
}

/** One IPC stream holding the schema and one record batch of `entries` (Go: pb.RecordToBytes). */
export function encodeStateRecord(schema: Schema, entries: StateEntry[]): Uint8Array {
  const children = [
    vectorFromArray(
      entries.map((e) => e.key),
      new Utf8(),
    ),
    vectorFromArray(
      entries.map((e) => e.value),
      new Utf8(),
    ),
    vectorFromArray(
      entries.map((e) => e.version),
      new Uint64(),
    ),
  ].map((vector) => vector.data[0]!);
  const data = makeData({ type: new Struct(schema.fields), length: entries.length, nullCount: 0, children });
  return RecordBatchStreamWriter.writeAll([new RecordBatch(schema, data)]).toUint8Array(true);
}

/**
 * Rows of one Read.Response record (an IPC stream of any number of batches). Columns are found by
 * name; a missing or null version counts as 0 (tables written before the Go SDK added the column),
 * a null value as "" (what Go reads), and a row with a null key is dropped.
 */
export function decodeStateRecord(bytes: Uint8Array): StateEntry[] {
  const entries: StateEntry[] = [];
  for (const batch of RecordBatchReader.from(bytes)) {
    const keys = batch.getChild(KEY);
    const values = batch.getChild(VALUE);
    const versions = batch.getChild(VERSION);
    if (!keys || !values) throw new Error(`a state record lacks the "${KEY}" or "${VALUE}" column`);
    for (let i = 0; i < batch.numRows; i++) {
      const key: unknown = keys.get(i);
      if (key === null || key === undefined) continue;
      const value: unknown = values.get(i);
      const version: unknown = versions?.get(i);
      entries.push({
        key: String(key),
        value: value === null || value === undefined ? '' : String(value),
        version: typeof version === 'bigint' ? version : typeof version === 'number' ? BigInt(version) : 0n,
      });
    }
  }
  return entries;
}
