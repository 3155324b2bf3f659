// Table schemas: the Arrow schema CloudQuery sees for a table, built from the files' own schemas.
// Files of one table may drift compatibly (columns added, integers/floats widened); their schemas merge
// into one. A truly incompatible file is reported with both keys and the column.
import { DataType, Field, FixedSizeBinary, Float64, Int64, Schema, Type, Utf8 } from 'apache-arrow';
import { schemaOfIpc, schemaOnlyIpc } from './ipc.js';

export const CQ_ID = '_cq_id';
export const CQ_PARENT_ID = '_cq_parent_id';

export const MD_TABLE_NAME = 'cq:table_name';
export const MD_INCREMENTAL = 'cq:extension:incremental';
export const MD_PRIMARY_KEY = 'cq:extension:primary_key';
export const MD_UNIQUE = 'cq:extension:unique';
export const MD_EXTENSION_NAME = 'ARROW:extension:name';
export const MD_EXTENSION_METADATA = 'ARROW:extension:metadata';
/** On fields whose type was inferred from text (CSV, JSON): a conflict between files widens to utf8. */
export const MD_INFERRED = 'cq-source-s3:inferred';

/** CloudQuery's UUID extension type, as its Go and JS SDKs declare it. */
function uuidField(name: string, nullable: boolean, extra: Record<string, string>): Field {
  return new Field(
    name,
    new FixedSizeBinary(16),
    nullable,
    new Map(
      Object.entries({
        [MD_EXTENSION_NAME]: 'uuid',
        [MD_EXTENSION_METADATA]: 'uuid-serialized',
        ...extra,
      }),
    ),
  );
}

export class SchemaConflictError extends Error {
  constructor(
    message: string,
    readonly column: string,
  ) {
    super(message);
    this.name = 'SchemaConflictError';
  }
}

/** A table's merged schema and where each column was first seen (for messages). */
export interface MergedSchema {
  fields: Field[];
  firstSeen: Map<string, string>;
  /** How many files were merged in. */
  files: number;
}

export function emptyMerge(): MergedSchema {
  return { fields: [], firstSeen: new Map(), files: 0 };
}

const MD_FIRST_SEEN = 'cq-source-s3:first_seen';
const MD_FILES = 'cq-source-s3:files';

/** A merged schema as bytes (base64 Arrow IPC), kept in the state so unchanged files need no footer read. */
export function encodeMerged(merged: MergedSchema): string {
  const schema = new Schema(
    merged.fields,
    new Map([
      [MD_FIRST_SEEN, JSON.stringify(Object.fromEntries(merged.firstSeen))],
      [MD_FILES, String(merged.files)],
    ]),
  );
  return Buffer.from(schemaOnlyIpc(schema)).toString('base64');
}

export function decodeMerged(encoded: string): MergedSchema | undefined {
  try {
    const schema = schemaOfIpc(Buffer.from(encoded, 'base64'));
    return {
      fields: [...schema.fields],
      firstSeen: new Map(Object.entries(JSON.parse(schema.metadata.get(MD_FIRST_SEEN) ?? '{}') as Record<string, string>)),
      files: Number(schema.metadata.get(MD_FILES) ?? 1),
    };
  } catch {
    return undefined;
  }
}

/**
 * The wider of two types when one file's column can be read as the other's, or undefined.
 * Integers widen to a wider integer of the same signedness (or to int64), floats to float64,
 * and integers mixed with floats become float64.
 */
export function widen(a: DataType, b: DataType): DataType | undefined {
  if (sameType(a, b)) return a;
  if (DataType.isInt(a) && DataType.isInt(b)) {
    if (a.isSigned === b.isSigned) return a.bitWidth >= b.bitWidth ? a : b;
    // Mixed signedness fits in int64 unless one side is already uint64.
    if (Math.max(a.bitWidth, b.bitWidth) < 64) return new Int64();
    return undefined;
  }
  if (DataType.isFloat(a) && DataType.isFloat(b)) return new Float64();
  if ((DataType.isFloat(a) && DataType.isInt(b)) || (DataType.isInt(a) && DataType.isFloat(b))) return new Float64();
  return undefined;
}

/** Why `schema` is not exactly `reference` (same columns, order and types), or undefined when it is. */
export function schemaDifference(reference: Schema, schema: Schema): string | undefined {
  const names = (s: Schema) => s.fields.map((f) => f.name).join(', ');
  if (names(reference) !== names(schema)) return `its columns are (${names(schema)}), not (${names(reference)})`;
  const changed = schema.fields.find((f, i) => !sameType(f.type, reference.fields[i]!.type));
  return changed
    ? `column "${changed.name}" is ${changed.type}, not ${reference.fields.find((f) => f.name === changed.name)!.type}`
    : undefined;
}

/**
 * Types inferred from text are guesses from a sample: where two files guessed differently (an int
 * column that is text in another file) the column becomes utf8, which holds every value exactly.
 */
function widenInferred(a: Field, b: Field): DataType | undefined {
  const inferred = (f: Field) => f.metadata.get(MD_INFERRED) === 'true';
  const scalar = (t: DataType) => !t.children?.length && !isExtension(a) && !isExtension(b);
  return (inferred(a) || inferred(b)) && scalar(a.type) && scalar(b.type) ? new Utf8() : undefined;
}

function isExtension(field: Field): boolean {
  return field.metadata.has(MD_EXTENSION_NAME);
}

export function sameType(a: DataType, b: DataType): boolean {
  return a.typeId === b.typeId && typeSignature(a) === typeSignature(b);
}

function typeSignature(t: DataType): string {
  // Field names of nested types matter (struct members); list item names do not.
  if (t.typeId === Type.List || t.typeId === Type.FixedSizeList) return `${Type[t.typeId]}<${typeSignature(t.children[0]!.type)}>`;
  if (t.children?.length) return `${String(t)}{${t.children.map((c) => `${c.name}:${typeSignature(c.type)}`).join(',')}}`;
  return String(t);
}

/**
 * Merges one file's schema into the table's; throws SchemaConflictError naming both keys, leaving
 * the merged schema as it was (a rejected file contributes no columns).
 */
export function mergeSchema(merged: MergedSchema, key: string, schema: Schema): void {
  const isFirst = merged.files === 0;
  const fields = [...merged.fields];
  const firstSeen = new Map(merged.firstSeen);
  const seen = new Set<string>();
  for (const field of schema.fields) {
    seen.add(field.name);
    const index = fields.findIndex((f) => f.name === field.name);
    if (index < 0) {
      // A column new to the table: rows of earlier files get nulls in it.
      fields.push(isFirst ? field : new Field(field.name, field.type, true, field.metadata));
      firstSeen.set(field.name, key);
      continue;
    }
    const current = fields[index]!;
    const type = widen(current.type, field.type) ?? widenInferred(current, field);
    if (!type) {
      throw new SchemaConflictError(
        `column "${field.name}" is ${field.type} in ${key} but ${current.type} in ${firstSeen.get(field.name)}; ` +
          `these cannot be merged into one table (move one of the files to another prefix, or rewrite it with the same type)`,
        field.name,
      );
    }
    fields[index] = new Field(current.name, type, current.nullable || field.nullable, current.metadata);
  }
  // Columns this file lacks become nullable: its rows carry nulls there.
  merged.fields = isFirst ? fields : fields.map((f) => (seen.has(f.name) || f.nullable ? f : new Field(f.name, f.type, true, f.metadata)));
  merged.firstSeen = firstSeen;
  merged.files++;
}

/** The schema sent in migrate_table and with every insert of the table: the files' columns, then the file columns (Hive, provenance). */
export function tableSchema(table: string, merged: MergedSchema, fileColumns: Field[] = []): Schema {
  const fields = [...merged.fields, ...fileColumns];
  const hasCqId = fields.some((f) => f.name === CQ_ID);
  if (!hasCqId) {
    fields.push(uuidField(CQ_ID, false, { [MD_UNIQUE]: 'true' }));
    if (!fields.some((f) => f.name === CQ_PARENT_ID)) fields.push(uuidField(CQ_PARENT_ID, true, {}));
  }
  const metadata = new Map<string, string>([
    [MD_TABLE_NAME, table],
    [MD_INCREMENTAL, 'true'],
  ]);
  return new Schema(fields, metadata);
}

/** Primary key columns declared in the files' CloudQuery field metadata. */
export function primaryKeys(schema: Schema): string[] {
  return schema.fields.filter((f) => f.metadata.get(MD_PRIMARY_KEY) === 'true').map((f) => f.name);
}

/** Whether the plugin generates `_cq_id` (false when the files carry their own). */
export function generatesCqId(merged: MergedSchema): boolean {
  return !merged.fields.some((f) => f.name === CQ_ID);
}
