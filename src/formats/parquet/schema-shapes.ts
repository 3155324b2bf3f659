// A Parquet file's Arrow schema is a function of its footer's schema elements and key/value metadata
// alone (the decoder converts the one and copies the other, ARROW:schema included). Files of one shape
// (thousands of small files written by one job) therefore share one schema: once a decoder has opened
// one of them, the others need no decoder job to tell their schema, only the footer parse that checks
// them anyway (validate.ts). Their row groups are still decoded by a decoder that opens each file.
import type { Schema } from 'apache-arrow';
import type { FileMetaData } from 'hyparquet';
import { BoundedCache } from '../../util/bounded-cache.js';

/** Bytes of shape text kept at most: a few hundred distinct wide schemas. */
const SHAPES_BYTES = 4 * 1024 * 1024;

/** The text that names a footer's schema: its schema elements and key/value metadata, exactly. */
export function schemaShape(metadata: FileMetaData): string {
  return JSON.stringify([metadata.schema, metadata.key_value_metadata ?? []], (_key, value: unknown) =>
    typeof value === 'bigint' ? `${value}n` : value,
  );
}

/** Schemas by shape, the least recently used dropped beyond SHAPES_BYTES (a shape is charged its text). */
export class SchemaShapes extends BoundedCache<Schema> {
  constructor() {
    super({ capacity: SHAPES_BYTES, sizeOf: (shape) => shape.length * 2, maxEntryBytes: SHAPES_BYTES / 4, keepFirst: true });
  }
}
