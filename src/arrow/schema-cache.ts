// Memory per object that does not grow with the bucket: thousands of files of a table share one
// schema, so a file's schema is interned (one Schema object per distinct schema), and the footers
// remembered between GetTables and Sync are an LRU bounded by bytes.
import type { Field, Schema } from 'apache-arrow';

/** One Schema object per distinct schema (names, types, nullability, metadata, recursively). */
export class SchemaInterner {
  private readonly schemas = new Map<string, Schema>();

  intern(schema: Schema): Schema {
    const key = schemaSignature(schema);
    const known = this.schemas.get(key);
    if (known) return known;
    this.schemas.set(key, schema);
    return schema;
  }

  get size(): number {
    return this.schemas.size;
  }
}

export function schemaSignature(schema: Schema): string {
  return JSON.stringify([schema.fields.map(fieldSignature), [...schema.metadata]]);
}

function fieldSignature(field: Field): unknown {
  const children = field.type.children ?? [];
  return [
    field.name,
    field.type.typeId,
    children.length ? '' : String(field.type),
    field.nullable,
    [...field.metadata],
    children.map(fieldSignature),
  ];
}

/** A map with least-recently-used eviction once its entries' estimated bytes exceed `capacity`. */
export class BoundedCache<V> {
  private readonly entries = new Map<string, { value: V; bytes: number }>();
  private bytes = 0;

  constructor(
    private readonly capacity: number,
    /** Estimated bytes of an entry beyond its key. */
    private readonly entryBytes: number,
  ) {}

  get(key: string): V | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit.value;
  }

  set(key: string, value: V): void {
    const previous = this.entries.get(key);
    if (previous) {
      this.bytes -= previous.bytes;
      this.entries.delete(key);
    }
    const bytes = key.length * 2 + this.entryBytes;
    this.entries.set(key, { value, bytes });
    this.bytes += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.capacity) break;
      this.entries.delete(oldest);
      this.bytes -= entry.bytes;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
