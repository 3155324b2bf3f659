// Avro values as JSON text, for columns of CloudQuery's JSON type (maps, unions of several types,
// recursive records). Rendered by the writer schema, so longs stay exact (digits, never a rounded
// double), bytes become base64, logical types read as what they mean (decimal text, ISO 8601 dates
// and times, UUID text), and a union's value is the value of the branch it holds.
import type { AvroNode } from './schema.js';
import { decimalText, temporalText, uuidText } from './logical.js';
import { isNullableUnion, type Tagged } from './avsc-types.js';
import type { BlockBytes } from './block-bytes.js';

export function jsonText(node: AvroNode, value: unknown, block: BlockBytes): string {
  if (value === null || value === undefined) return 'null';
  switch (node.kind) {
    case 'null':
      return 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'float':
    case 'double':
      return numberText(value as number);
    case 'int':
    case 'long':
      return node.logical ? JSON.stringify(temporalText(node.logical, value as number | bigint) ?? String(value)) : String(value);
    case 'string':
      return JSON.stringify(block.text(value as number));
    case 'enum':
      return JSON.stringify(value);
    case 'bytes':
    case 'fixed':
      return bytesText(node, block.bytes(value as number));
    case 'record':
      return `{${node.fields.map((f) => `${JSON.stringify(f.name)}:${jsonText(f.type, (value as Record<string, unknown>)[f.name], block)}`).join(',')}}`;
    case 'array':
      return `[${(value as unknown[]).map((item) => jsonText(node.items, item, block)).join(',')}]`;
    case 'map':
      return `{${(value as [string, unknown][]).map(([k, v]) => `${JSON.stringify(k)}:${jsonText(node.values, v, block)}`).join(',')}}`;
    case 'union':
      return unionText(node.branches, value, block);
  }
}

function unionText(branches: AvroNode[], value: unknown, block: BlockBytes): string {
  // A union of null and one type is decoded unwrapped (avsc-types.ts); others come tagged with their branch.
  if (isNullableUnion(branches))
    return jsonText(
      branches.find((b) => b.kind !== 'null')!,
      value,
      block,
    );
  const { index, value: inner } = value as Tagged;
  return jsonText(branches[index]!, inner, block);
}

/** JSON has no NaN or infinities: they are written as the strings "NaN", "Infinity", "-Infinity". */
function numberText(n: number): string {
  return Number.isFinite(n) ? String(n) : `"${String(n)}"`;
}

function bytesText(node: AvroNode & { kind: 'bytes' | 'fixed' }, bytes: Uint8Array): string {
  if (node.logical === 'decimal') return `"${decimalText(bytes, node.scale ?? 0)}"`;
  if (node.logical === 'uuid') return `"${uuidText(bytes)}"`;
  if (node.logical === 'duration') {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return `{"months":${view.getUint32(0, true)},"days":${view.getUint32(4, true)},"milliseconds":${view.getUint32(8, true)}}`;
  }
  return `"${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}"`;
}
