// A batch decoded one column at a time (decode-worker.ts): one IPC stream per top-level column, joined
// here into one record batch of the file's schema without copying the columns' buffers.
import { makeData, RecordBatch, RecordBatchReader, Struct, type Schema } from 'apache-arrow';
import { FormatError } from '../../errors.js';

/** The schema's top-level column names, when decoding by each name reads exactly that column; else undefined. */
export function columnwiseNames(schema: Schema): string[] | undefined {
  const names = schema.fields.map((f) => f.name);
  if (names.length < 2 || new Set(names).size !== names.length) return undefined;
  // parquet-wasm projects a name onto every leaf whose dotted path is it or starts with it and a dot:
  // a column named "a.b" beside a column "a" would be read with it.
  const clash = names.some((a) => names.some((b) => a !== b && b.startsWith(`${a}.`)));
  return clash ? undefined : names;
}

/** Joins one batch's columns, each an IPC stream of one batch of one column, into a batch of `schema`. */
export function joinColumns(schema: Schema, parts: Uint8Array[]): RecordBatch {
  if (parts.length !== schema.fields.length) throw new FormatError(`the decoder sent ${parts.length} columns of ${schema.fields.length}`);
  let length = -1;
  const children = parts.map((part, c) => {
    const batches = [...RecordBatchReader.from(part)];
    const column = batches[0];
    const field = schema.fields[c]!;
    if (batches.length !== 1 || column?.numCols !== 1 || column.schema.fields[0]!.name !== field.name) {
      throw new FormatError(`column ${field.name} was decoded into an unexpected shape`);
    }
    if (length >= 0 && column.numRows !== length)
      throw new FormatError(`column ${field.name} was decoded into ${column.numRows} rows, not ${length}`);
    length = column.numRows;
    return column.data.children[0]!;
  });
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: Math.max(0, length), nullCount: 0, children }));
}
