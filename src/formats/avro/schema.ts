// An Avro writer schema (the JSON of a container file's `avro.schema`) as a resolved graph: named types
// looked up by their full names (namespaces as the Avro specification qualifies them), logical types
// kept only where the specification calls them valid (an invalid one falls back to its underlying type,
// as the specification says). The Arrow mapping (arrow-types.ts) and the JSON rendering of values
// (json-values.ts) both walk this graph; avsc decodes with the same JSON schema.
import { FormatError } from '../../errors.js';

export type AvroNode =
  | { kind: 'null' | 'boolean' | 'float' | 'double' }
  | { kind: 'int' | 'long'; logical?: string }
  | { kind: 'string'; logical?: 'uuid' }
  | { kind: 'bytes'; logical?: 'decimal'; precision?: number; scale?: number }
  | { kind: 'fixed'; name: string; size: number; logical?: 'decimal' | 'uuid' | 'duration'; precision?: number; scale?: number }
  | { kind: 'enum'; name: string; symbols: string[] }
  | AvroRecord
  | { kind: 'array'; items: AvroNode }
  | { kind: 'map'; values: AvroNode }
  | { kind: 'union'; branches: AvroNode[] };

export interface AvroRecord {
  kind: 'record';
  name: string;
  fields: { name: string; type: AvroNode }[];
}

type NamedNode = Extract<AvroNode, { name: string }>;

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);
const INT_LOGICAL = new Set(['date', 'time-millis']);
const LONG_LOGICAL = new Set([
  'time-micros',
  'timestamp-millis',
  'timestamp-micros',
  'timestamp-nanos',
  'local-timestamp-millis',
  'local-timestamp-micros',
  'local-timestamp-nanos',
]);
/** Nesting deeper than this is refused: the walk, avsc and the Arrow builders all recurse. */
const MAX_DEPTH = 64;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Parses `avro.schema` into the resolved graph; throws FormatError for a schema that is not valid Avro. */
export function parseAvroSchema(text: string): { node: AvroNode; json: Json } {
  let json: Json;
  try {
    json = JSON.parse(text) as Json;
  } catch {
    throw new FormatError(`the Avro schema in the header is not JSON: ${text.slice(0, 100)}`);
  }
  return { node: new Walker().walk(json, '', 0), json };
}

class Walker {
  private readonly named = new Map<string, AvroNode>();

  walk(schema: Json, namespace: string, depth: number): AvroNode {
    if (depth > MAX_DEPTH) throw new FormatError(`the Avro schema nests deeper than ${MAX_DEPTH} levels`);
    if (typeof schema === 'string') return this.reference(schema, namespace);
    if (Array.isArray(schema)) {
      if (schema.length === 0) throw new FormatError('the Avro schema has an empty union');
      return { kind: 'union', branches: schema.map((branch) => this.walk(branch, namespace, depth + 1)) };
    }
    if (schema === null || typeof schema !== 'object') throw new FormatError(`not an Avro schema: ${JSON.stringify(schema)}`);
    const type = schema.type;
    // {"type": {...}} nests a whole schema (also how a logical type wraps a named one).
    if (typeof type === 'object' && type !== null) return this.walk(type, namespace, depth + 1);
    if (typeof type !== 'string') throw new FormatError(`an Avro schema has no type: ${JSON.stringify(schema).slice(0, 100)}`);
    if (PRIMITIVES.has(type)) return primitive(type, schema);
    if (type === 'array') return { kind: 'array', items: this.walk(schema.items ?? null, namespace, depth + 1) };
    if (type === 'map') return { kind: 'map', values: this.walk(schema.values ?? null, namespace, depth + 1) };
    if (type === 'record' || type === 'error') return this.record(schema, namespace, depth);
    if (type === 'enum') return this.define(schema, namespace, (name) => ({ kind: 'enum', name, symbols: stringList(schema.symbols) }));
    if (type === 'fixed') return this.define(schema, namespace, (name) => fixed(name, schema));
    return this.reference(type, namespace);
  }

  private record(schema: { [key: string]: Json }, namespace: string, depth: number): AvroNode {
    const record: AvroRecord = { kind: 'record', name: '', fields: [] };
    const fullName = this.define(schema, namespace, (name) => Object.assign(record, { name })).name;
    const inner = fullName.includes('.') ? fullName.slice(0, fullName.lastIndexOf('.')) : '';
    if (!Array.isArray(schema.fields)) throw new FormatError(`Avro record ${fullName} has no fields list`);
    const seen = new Set<string>();
    for (const field of schema.fields) {
      if (field === null || typeof field !== 'object' || Array.isArray(field) || typeof field.name !== 'string') {
        throw new FormatError(`Avro record ${fullName} has a field without a name`);
      }
      if (seen.has(field.name)) throw new FormatError(`Avro record ${fullName} has two fields named "${field.name}"`);
      seen.add(field.name);
      // The record itself is registered first, so a field may refer to it (a recursive type).
      record.fields.push({ name: field.name, type: this.walk(field.type ?? null, inner, depth + 1) });
    }
    return record;
  }

  /** Registers a named type under its full name (before its body is walked, for recursion). */
  private define<T extends NamedNode>(schema: { [key: string]: Json }, namespace: string, make: (name: string) => T): T {
    if (typeof schema.name !== 'string' || schema.name === '') throw new FormatError(`an Avro ${String(schema.type)} has no name`);
    const ns = typeof schema.namespace === 'string' ? schema.namespace : namespace;
    const fullName = schema.name.includes('.') || !ns ? schema.name : `${ns}.${schema.name}`;
    if (this.named.has(fullName)) throw new FormatError(`the Avro schema defines ${fullName} twice`);
    const node = make(fullName);
    this.named.set(fullName, node);
    return node;
  }

  private reference(name: string, namespace: string): AvroNode {
    if (PRIMITIVES.has(name)) return { kind: name } as AvroNode;
    const node = (namespace && !name.includes('.') && this.named.get(`${namespace}.${name}`)) || this.named.get(name);
    if (!node) throw new FormatError(`the Avro schema refers to an undefined type "${name}"`);
    return node;
  }
}

function primitive(type: string, schema: { [key: string]: Json }): AvroNode {
  const logical = typeof schema.logicalType === 'string' ? schema.logicalType : undefined;
  if (type === 'int' && logical && INT_LOGICAL.has(logical)) return { kind: 'int', logical };
  if (type === 'long' && logical && LONG_LOGICAL.has(logical)) return { kind: 'long', logical };
  if (type === 'string' && logical === 'uuid') return { kind: 'string', logical };
  if (type === 'bytes' && logical === 'decimal') {
    const decimal = decimalParams(schema, Infinity);
    if (decimal) return { kind: 'bytes', logical, ...decimal };
  }
  return { kind: type } as AvroNode;
}

function fixed(name: string, schema: { [key: string]: Json }): Extract<AvroNode, { kind: 'fixed' }> {
  const size = schema.size;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || size > 0x7fffffff) {
    throw new FormatError(`Avro fixed ${name} has an invalid size ${JSON.stringify(size)}`);
  }
  const node = { kind: 'fixed' as const, name, size };
  if (schema.logicalType === 'decimal') {
    // The most digits `size` bytes of two's complement can hold.
    const decimal = decimalParams(schema, Math.floor(Math.log10(2) * (8 * size - 1)));
    if (decimal) return { ...node, logical: 'decimal', ...decimal };
  }
  if (schema.logicalType === 'uuid' && size === 16) return { ...node, logical: 'uuid' };
  if (schema.logicalType === 'duration' && size === 12) return { ...node, logical: 'duration' };
  return node;
}

/** A decimal's precision and scale when the specification calls them valid; undefined otherwise. */
function decimalParams(schema: { [key: string]: Json }, maxPrecision: number): { precision: number; scale: number } | undefined {
  const { precision } = schema;
  const scale = schema.scale ?? 0;
  if (typeof precision !== 'number' || !Number.isInteger(precision) || precision < 1 || precision > maxPrecision) return undefined;
  if (typeof scale !== 'number' || !Number.isInteger(scale) || scale < 0 || scale > precision) return undefined;
  return { precision, scale };
}

function stringList(value: Json | undefined): string[] {
  if (!Array.isArray(value) || value.some((s) => typeof s !== 'string')) throw new FormatError('an Avro enum has no list of symbols');
  return value as string[];
}

/** The fewest bytes a value of this type takes encoded (0 for null, empty records): bounds lying counts. */
export function minEncodedBytes(node: AvroNode, seen = new Set<AvroNode>()): number {
  switch (node.kind) {
    case 'null':
      return 0;
    case 'float':
      return 4;
    case 'double':
      return 8;
    case 'fixed':
      return node.size;
    case 'record': {
      if (seen.has(node)) return 0;
      seen.add(node);
      const total = node.fields.reduce((n, f) => n + minEncodedBytes(f.type, seen), 0);
      seen.delete(node);
      return total;
    }
    default:
      // A varint, a length, a count or a union index: at least one byte.
      return 1;
  }
}
