import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DataType, DateDay, Field, Float32, Float64, Int16, Int32, Int64, Schema, Uint64, Utf8 } from 'apache-arrow';
import { emptyMerge, MD_INFERRED, mergeSchema, primaryKeys, SchemaConflictError, tableSchema, widen } from '../../src/arrow/schema.js';

const schema = (...fields: Field[]) => new Schema(fields);

describe('schema merge', () => {
  it('adds columns that later files bring, as nullable', () => {
    const merged = emptyMerge();
    mergeSchema(merged, 'a.parquet', schema(new Field('id', new Int64(), false)));
    mergeSchema(merged, 'b.parquet', schema(new Field('id', new Int64(), false), new Field('extra', new Utf8(), false)));
    assert.deepEqual(
      merged.fields.map((f) => [f.name, String(f.type), f.nullable]),
      [
        ['id', 'Int64', false],
        ['extra', 'Utf8', true],
      ],
    );
  });

  it('makes columns nullable when a later file lacks them', () => {
    const merged = emptyMerge();
    mergeSchema(merged, 'a.parquet', schema(new Field('id', new Int64(), false), new Field('name', new Utf8(), false)));
    mergeSchema(merged, 'b.parquet', schema(new Field('id', new Int64(), false)));
    assert.equal(merged.fields.find((f) => f.name === 'name')?.nullable, true);
    assert.equal(merged.fields.find((f) => f.name === 'id')?.nullable, false);
  });

  it('widens integers and floats', () => {
    assert.equal(String(widen(new Int16(), new Int32())), 'Int32');
    assert.equal(String(widen(new Float32(), new Float64())), 'Float64');
    assert.equal(String(widen(new Int32(), new Float32())), 'Float64');
    assert.equal(widen(new Int64(), new Uint64()), undefined);
    assert.equal(widen(new Utf8(), new Int64()), undefined);
  });

  it('names both keys and the column on a conflict', () => {
    const merged = emptyMerge();
    mergeSchema(merged, 'd/a.parquet', schema(new Field('v', new Int64())));
    assert.throws(
      () => mergeSchema(merged, 'd/b.parquet', schema(new Field('v', new Utf8()))),
      (err: unknown) =>
        err instanceof SchemaConflictError &&
        err.column === 'v' &&
        err.message.includes('d/a.parquet') &&
        err.message.includes('d/b.parquet'),
    );
  });
});

describe('table schema', () => {
  it('adds _cq_id and _cq_parent_id as UUID extension columns and the table metadata', () => {
    const merged = emptyMerge();
    mergeSchema(merged, 'x.parquet', schema(new Field('id', new Int64(), false, new Map([['cq:extension:primary_key', 'true']]))));
    const table = tableSchema('x', merged);
    assert.equal(table.metadata.get('cq:table_name'), 'x');
    const id = table.fields.find((f) => f.name === '_cq_id')!;
    assert.equal(id.nullable, false);
    assert.equal(id.metadata.get('ARROW:extension:name'), 'uuid');
    assert.equal(id.metadata.get('cq:extension:unique'), 'true');
    assert.equal(table.fields.find((f) => f.name === '_cq_parent_id')?.nullable, true);
    assert.deepEqual(primaryKeys(table), ['id']);
  });

  it('keeps a file-provided _cq_id and adds nothing', () => {
    const merged = emptyMerge();
    mergeSchema(merged, 'x.parquet', schema(new Field('_cq_id', new Utf8()), new Field('v', new Int64())));
    assert.deepEqual(
      tableSchema('x', merged).fields.map((f) => f.name),
      ['_cq_id', 'v'],
    );
  });
});

describe('schema cache', () => {
  it('round-trips a merged schema through its state encoding', async () => {
    const { encodeMerged, decodeMerged } = await import('../../src/arrow/schema.js');
    const merged = emptyMerge();
    mergeSchema(merged, 'a.parquet', schema(new Field('id', new Int64(), false, new Map([['cq:extension:primary_key', 'true']]))));
    mergeSchema(merged, 'b.parquet', schema(new Field('id', new Int64(), false), new Field('x', new Utf8())));
    const back = decodeMerged(encodeMerged(merged))!;
    assert.deepEqual(
      back.fields.map((f) => `${f.name}:${f.type}:${f.nullable}:${f.metadata.get('cq:extension:primary_key') ?? ''}`),
      ['id:Int64:false:true', 'x:Utf8:true:'],
    );
    assert.deepEqual(
      [...back.firstSeen],
      [
        ['id', 'a.parquet'],
        ['x', 'b.parquet'],
      ],
    );
    assert.equal(back.files, 2);
    assert.equal(decodeMerged('not base64 ipc'), undefined);
  });

  it('leaves the merged schema untouched when a file is rejected', () => {
    const merged = emptyMerge();
    mergeSchema(merged, 'a.parquet', schema(new Field('id', new Int64())));
    assert.throws(
      () => mergeSchema(merged, 'b.parquet', schema(new Field('new_col', new Utf8()), new Field('id', new Utf8()))),
      SchemaConflictError,
    );
    assert.deepEqual(
      merged.fields.map((f) => f.name),
      ['id'],
    );
    assert.equal(merged.files, 1);
  });

  it('widens columns inferred from text to utf8 where files guessed differently, and only those', () => {
    const inferred = (name: string, type: DataType) => new Field(name, type, true, new Map([[MD_INFERRED, 'true']]));
    const merged = emptyMerge();
    mergeSchema(merged, 'a.csv', schema(inferred('id', new Int64()), inferred('day', new DateDay())));
    mergeSchema(merged, 'b.csv', schema(inferred('id', new Utf8()), inferred('day', new Float64())));
    assert.deepEqual(
      merged.fields.map((f) => String(f.type)),
      ['Utf8', 'Utf8'],
    );
    // Integers and floats still widen as numbers.
    const numbers = emptyMerge();
    mergeSchema(numbers, 'a.csv', schema(inferred('n', new Int64())));
    mergeSchema(numbers, 'b.csv', schema(inferred('n', new Float64())));
    assert.equal(String(numbers.fields[0]!.type), 'Float64');
    // A Parquet file's declared type is not a guess: a conflict between two of them is still an error.
    const declared = emptyMerge();
    mergeSchema(declared, 'a.parquet', schema(new Field('id', new Int64())));
    assert.throws(() => mergeSchema(declared, 'b.parquet', schema(new Field('id', new Utf8()))), SchemaConflictError);
  });
});
