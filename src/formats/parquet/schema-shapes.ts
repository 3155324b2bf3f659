// A Parquet file's Arrow schema is a function of its footer's schema elements and key/value metadata
// alone (the decoder converts the one and copies the other, ARROW:schema included). Files of one shape
// (thousands of small files written by one job) therefore share one schema: once a decoder has opened
// one of them, the others need no decoder job to tell their schema, only the footer parse that checks
// them anyway (validate.ts). Their row groups are still decoded by a decoder that opens each file.
import type { Schema } from 'apache-arrow';
import type { FileMetaData } from 'hyparquet';

/** Bytes of shape text kept at most: a few hundred distinct wide schemas. */
const SHAPES_BYTES = 4 * 1024 * 1024;

/** The text that names a footer's schema: its schema elements and key/value metadata, exactly. */
export function schemaShape(metadata: FileMetaData): string {
  return JSON.stringify([metadata.schema, metadata.key_value_metadata ?? []], (_key, value: unknown) =>
    typeof value === 'bigint' ? `${value}n` : value,
  );
}

/** Schemas by shape, the least recently used dropped beyond SHAPES_BYTES. */
export class SchemaShapes {
  private readonly entries = new Map<string, Schema>();
  private bytes = 0;

  get(shape: string): Schema | undefined {
    const schema = this.entries.get(shape);
    if (schema) {
      this.entries.delete(shape);
      this.entries.set(shape, schema);
    }
    return schema;
  }

  set(shape: string, schema: Schema): void {
    if (this.entries.has(shape) || shape.length * 2 > SHAPES_BYTES / 4) return;
    this.entries.set(shape, schema);
    this.bytes += shape.length * 2;
    for (const [oldest] of this.entries) {
      if (this.bytes <= SHAPES_BYTES) break;
      this.entries.delete(oldest);
      this.bytes -= oldest.length * 2;
    }
  }
}
