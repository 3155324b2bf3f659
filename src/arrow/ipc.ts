// Arrow IPC streams that hold only a schema: what GetTables, migrate_table, the state backend's
// Read/Write requests and the cached merged schema carry.
import { RecordBatchReader, RecordBatchStreamWriter, type Schema } from 'apache-arrow';

export function schemaOnlyIpc(schema: Schema): Uint8Array {
  const writer = new RecordBatchStreamWriter();
  writer.reset(undefined, schema);
  writer.finish();
  return writer.toUint8Array(true);
}

/** The schema of an IPC stream (its first message). */
export function schemaOfIpc(bytes: Uint8Array): Schema {
  const reader = RecordBatchReader.from(bytes);
  reader.open();
  return reader.schema;
}
