// A Parquet footer is the file's own account of itself and may lie. Before any byte reaches the
// decoder, the decoded FileMetaData is checked for what would make it trap, run out of memory or
// deliver other rows than the file holds: the schema's size and depth, every row count, and every
// column chunk's place in the data area. What passes is the plan of the row groups' bytes.
import type { ColumnChunk, FileMetaData, RowGroup, SchemaElement } from 'hyparquet';
import { FormatError } from '../../errors.js';

/** Deeper schemas are refused: the decoder and the Arrow conversion recurse once per level. */
export const MAX_SCHEMA_DEPTH = 100;
/** Schema elements (columns and groups) a file may declare. */
export const MAX_SCHEMA_ELEMENTS = 100_000;
/** Row and value counts are exact in a JavaScript number below this. */
const MAX_COUNT = 2n ** 53n;
/** Column paths in messages are cut to this many characters. */
const MAX_NAME_CHARS = 200;

/** One column chunk's bytes, as the footer places them (offsets in the file). */
export interface ChunkLayout {
  /** The column's path in the schema, dotted. */
  column: string;
  /** First byte of the chunk: its dictionary page, or its first data page. */
  start: number;
  end: number;
  /** Set when the footer points at a dictionary page. */
  dictionaryPageOffset?: number;
  /** Values (levels, nulls included) the chunk's data pages hold. */
  numValues: number;
  /** hyparquet's name of the codec, e.g. 'SNAPPY'; undefined when the footer names none it knows. */
  codec?: string;
}

/** A row group that passed the checks: its byte range [start, end), rows, and column chunks. */
export interface CheckedRowGroup {
  index: number;
  start: number;
  end: number;
  rows: number;
  /** Uncompressed size, as the footer states it (never negative). */
  bytes: number;
  chunks: ChunkLayout[];
}

interface Leaf {
  /** The column's path, to compare with a column chunk's path_in_schema. */
  key: string;
  /** The column's path for messages: dotted, cut short. */
  path: string;
  /** The column or one of its ancestors is repeated: a row may hold any number of its values. */
  repeated: boolean;
}

export function fail(message: string): never {
  throw new FormatError(`not a readable Parquet file: ${message}`);
}

/**
 * Checks the footer against itself and the file; `dataEnd` is where the footer starts (the data
 * area is [4, dataEnd)). Throws a FormatError saying what is wrong.
 */
export function checkMetadata(meta: FileMetaData, dataEnd: number): CheckedRowGroup[] {
  const leaves = schemaLeaves(meta.schema);
  const fileRows = count(meta.num_rows, 'the file', 'rows');
  const groups = meta.row_groups.map((group, index) => checkRowGroup(group, index, leaves, dataEnd));
  const total = groups.reduce((n, g) => n + BigInt(g.rows), 0n);
  if (total !== BigInt(fileRows)) fail(`the footer says the file holds ${fileRows} rows but its row groups hold ${total}`);
  if (groups.length === 0 && dataEnd > 4) fail(`the footer lists no row groups, yet ${dataEnd - 4} bytes of data precede it`);
  checkNoOverlap(groups);
  return groups;
}

/** The schema's columns, in column-chunk order, from the flat element list (walked without recursion). */
function schemaLeaves(schema: SchemaElement[]): Leaf[] {
  if (schema.length === 0) fail('the schema is empty');
  if (schema.length > MAX_SCHEMA_ELEMENTS) fail(`the schema has ${schema.length} elements, more than the ${MAX_SCHEMA_ELEMENTS} read`);
  const leaves: Leaf[] = [];
  // The open groups, outermost first: children still to come, name, whether repeated.
  const open = [{ remaining: childCount(schema, 0), name: '', repeated: false }];
  let next = 1;
  let depth = 0;
  while (open.length > 0) {
    const parent = open[open.length - 1]!;
    if (parent.remaining === 0) {
      open.pop();
      continue;
    }
    parent.remaining--;
    const index = next++;
    const element = schema[index];
    if (!element) fail(`the schema ends inside a group: element ${index} of ${schema.length} is missing`);
    const repeated = parent.repeated || element.repetition_type === 'REPEATED';
    const children = childCount(schema, index);
    depth = Math.max(depth, open.length);
    if (children > 0) open.push({ remaining: children, name: String(element.name), repeated });
    // Past the limit the walk only measures the depth, for the message.
    else if (element.type !== undefined && depth <= MAX_SCHEMA_DEPTH) leaves.push(leaf(open, element, repeated));
  }
  if (depth > MAX_SCHEMA_DEPTH) fail(`the schema is nested ${depth} levels deep; at most ${MAX_SCHEMA_DEPTH} levels are read`);
  if (next !== schema.length) fail(`the schema's root holds ${next - 1} elements but the schema lists ${schema.length - 1}`);
  return leaves;
}

function leaf(open: { name: string }[], element: SchemaElement, repeated: boolean): Leaf {
  const names = [...open.slice(1).map((g) => g.name), String(element.name)];
  return { key: names.join('\u0000'), path: displayPath(names), repeated };
}

function childCount(schema: SchemaElement[], index: number): number {
  const n = schema[index]!.num_children ?? 0;
  if (!Number.isSafeInteger(n) || n < 0 || n > schema.length - index - 1) {
    fail(`schema element ${index} claims ${String(n)} children but ${schema.length - index - 1} elements follow it`);
  }
  return n;
}

function checkRowGroup(group: RowGroup, index: number, leaves: Leaf[], dataEnd: number): CheckedRowGroup {
  const rows = count(group.num_rows, `row group ${index}`, 'rows');
  const columns = group.columns ?? [];
  if (columns.length !== leaves.length) {
    fail(`row group ${index} has ${columns.length} column chunks but the schema has ${leaves.length} columns`);
  }
  const chunks = columns.map((chunk, c) => checkChunk(chunk, `row group ${index}, column ${leaves[c]!.path}`, leaves[c]!, rows, dataEnd));
  let start = Infinity;
  let end = 0;
  for (const chunk of chunks) {
    start = Math.min(start, chunk.start);
    end = Math.max(end, chunk.end);
  }
  const bytes = Math.max(0, Number(group.total_byte_size ?? 0)) || 0;
  return start === Infinity ? { index, start: 0, end: 0, rows, bytes, chunks } : { index, start, end, rows, bytes, chunks };
}

function checkChunk(chunk: ColumnChunk, where: string, leaf: Leaf, rows: number, dataEnd: number): ChunkLayout {
  if (chunk.file_path) fail(`${where}: the column chunk is stored in another file`);
  const m = chunk.meta_data;
  if (!m) fail(`${where}: the column chunk has no metadata (encrypted columns are not read)`);
  const path = m.path_in_schema ?? [];
  if (path.join('\u0000') !== leaf.key) fail(`${where}: the column chunk is for ${displayPath(path)}, not for this column`);
  const size = integer(m.total_compressed_size, `${where}: the column chunk size`);
  if (size < 0n) fail(`${where}: the column chunk size ${size} is negative`);
  const data = integer(m.data_page_offset, `${where}: the data page offset`);
  const dict =
    m.dictionary_page_offset === undefined ? undefined : integer(m.dictionary_page_offset, `${where}: the dictionary page offset`);
  // Some writers store 0, or the data page offset, for "no dictionary page".
  const hasDict = dict !== undefined && dict !== 0n && dict !== data;
  if (hasDict && (dict < 4n || dict >= data)) fail(`${where}: the dictionary page offset ${dict} is not before the data page at ${data}`);
  const start = hasDict ? dict : data;
  const end = start + size;
  if (start < 4n || end > BigInt(dataEnd)) {
    fail(`${where}: the column chunk (bytes ${start}-${end}) lies outside the data area of the file (bytes 4-${dataEnd})`);
  }
  const numValues = count(m.num_values, `${where}: the column chunk`, 'values');
  if (size > 0n && data >= end) fail(`${where}: the data page offset ${data} is not inside the column chunk (bytes ${start}-${end})`);
  if (size === 0n && numValues > 0) fail(`${where}: an empty column chunk claims ${numValues} values`);
  checkValueCount(where, leaf, numValues, rows);
  return {
    column: leaf.path,
    start: Number(start),
    end: Number(end),
    dictionaryPageOffset: hasDict ? Number(dict) : undefined,
    numValues,
    codec: m.codec,
  };
}

/** Every row holds one value of a column outside any repeated group, and at least one of any column. */
function checkValueCount(where: string, leaf: Leaf, values: number, rows: number): void {
  if (!leaf.repeated && values !== rows) fail(`${where}: the column chunk holds ${values} values but its row group claims ${rows} rows`);
  if (leaf.repeated && values < rows)
    fail(`${where}: the column chunk holds ${values} values, fewer than the ${rows} rows of its row group`);
}

/** Column chunks never share bytes: a chunk whose size or offset lies reaches into another one. */
function checkNoOverlap(groups: CheckedRowGroup[]): void {
  const chunks = groups.flatMap((g) => g.chunks.filter((c) => c.end > c.start).map((c) => ({ group: g.index, ...c })));
  chunks.sort((a, b) => a.start - b.start);
  for (let i = 1; i < chunks.length; i++) {
    const [a, b] = [chunks[i - 1]!, chunks[i]!];
    if (b.start < a.end) {
      fail(
        `the column chunks of row group ${a.group}, column ${a.column} (bytes ${a.start}-${a.end}) ` +
          `and row group ${b.group}, column ${b.column} (bytes ${b.start}-${b.end}) overlap`,
      );
    }
  }
}

/** A count in [0, 2^53), as a number: what `subject` claims to hold of `noun`. */
function count(value: unknown, subject: string, noun: string): number {
  const v = integer(value, `the number of ${noun} ${subject} holds`);
  if (v < 0n || v >= MAX_COUNT) fail(`${subject} claims ${v} ${noun}`);
  return Number(v);
}

function integer(value: unknown, what: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  return fail(`${what} is missing or not an integer`);
}

function displayPath(names: string[]): string {
  const path = names.join('.');
  return path.length > MAX_NAME_CHARS ? `${path.slice(0, MAX_NAME_CHARS)}...` : path;
}
