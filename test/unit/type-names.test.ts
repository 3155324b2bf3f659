// Column types as preview shows them: CloudQuery's names, not apache-arrow's internal ones.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Binary,
  Bool,
  DateDay,
  Decimal,
  Field,
  FixedSizeBinary,
  Float32,
  Float64,
  Int16,
  Int64,
  List,
  Map_,
  Struct,
  TimeMicrosecond,
  TimestampMicrosecond,
  TimestampNanosecond,
  Uint8,
  Utf8,
} from 'apache-arrow';
import { MD_EXTENSION_METADATA, MD_EXTENSION_NAME } from '../../src/arrow/schema.js';
import { fieldTypeName, typeName } from '../../src/arrow/type-names.js';

describe('type names', () => {
  it('names scalar types as CloudQuery users read them', () => {
    const cases: [unknown, string][] = [
      [new Int64(), 'int64'],
      [new Int16(), 'int16'],
      [new Uint8(), 'uint8'],
      [new Float32(), 'float32'],
      [new Float64(), 'float64'],
      [new Bool(), 'bool'],
      [new Utf8(), 'utf8'],
      [new Binary(), 'binary'],
      [new FixedSizeBinary(8), 'fixed_size_binary[8]'],
      [new Decimal(2, 10, 128), 'decimal(10,2)'],
      [new DateDay(), 'date32'],
      [new TimestampMicrosecond('UTC'), 'timestamp[us, UTC]'],
      [new TimestampNanosecond(), 'timestamp[ns]'],
      [new TimeMicrosecond(), 'time64[us]'],
    ];
    for (const [type, name] of cases) assert.equal(typeName(type as never), name);
  });

  it('names nested types by their children', () => {
    assert.equal(typeName(new List(new Field('item', new Int64()))), 'list<int64>');
    assert.equal(typeName(new Struct([new Field('page', new Utf8()), new Field('ms', new Int64())])), 'struct<page: utf8, ms: int64>');
    const entries = new Struct([new Field('key', new Utf8(), false), new Field('value', new Float64())]);
    assert.equal(typeName(new Map_(new Field('entries', entries, false))), 'map<utf8, float64>');
  });

  it('names extension types by their extension name', () => {
    const ext = (name: string, type: FixedSizeBinary | Binary) =>
      new Field(
        'c',
        type,
        true,
        new Map([
          [MD_EXTENSION_NAME, name],
          [MD_EXTENSION_METADATA, `${name}-serialized`],
        ]),
      );
    assert.equal(fieldTypeName(ext('uuid', new FixedSizeBinary(16))), 'uuid');
    assert.equal(fieldTypeName(ext('json', new Binary())), 'json');
    assert.equal(typeName(new List(ext('uuid', new FixedSizeBinary(16)))), 'list<uuid>');
  });
});
