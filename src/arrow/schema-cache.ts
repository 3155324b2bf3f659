// Memory per object that does not grow with the bucket: thousands of files of a table share one
// schema, so a file's schema is interned (one Schema object per distinct schema).
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
