// Catalog memory that does not grow with the bucket: interned schemas and a byte-bounded footer cache.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Field, Int64, List, Schema, Utf8 } from 'apache-arrow';
import { SchemaInterner } from '../../src/arrow/schema-cache.js';
import { BoundedCache } from '../../src/util/bounded-cache.js';

const schema = (...fields: Field[]) => new Schema(fields);

describe('schema interning', () => {
  it('gives files with equal schemas one Schema object', () => {
    const interner = new SchemaInterner();
    const first = interner.intern(schema(new Field('id', new Int64()), new Field('tags', new List(new Field('item', new Utf8())))));
    for (let i = 0; i < 1000; i++) {
      const same = interner.intern(schema(new Field('id', new Int64()), new Field('tags', new List(new Field('item', new Utf8())))));
      assert.equal(same, first);
    }
    assert.equal(interner.size, 1);
  });

  it('tells apart names, types, nullability, nested types and metadata', () => {
    const interner = new SchemaInterner();
    const variants = [
      schema(new Field('id', new Int64())),
      schema(new Field('ID', new Int64())),
      schema(new Field('id', new Utf8())),
      schema(new Field('id', new Int64(), true)),
      schema(new Field('id', new Int64(), true, new Map([['cq:extension:primary_key', 'true']]))),
      schema(new Field('id', new List(new Field('item', new Int64())))),
      schema(new Field('id', new List(new Field('item', new Utf8())))),
      new Schema([new Field('id', new Int64())], new Map([['k', 'v']])),
    ];
    for (const s of variants) assert.equal(interner.intern(s), s);
    assert.equal(interner.size, variants.length);
  });
});

describe('bounded cache', () => {
  it('evicts the least recently used entries beyond its byte capacity', () => {
    // Keys of 2 characters (4 bytes) + 6 bytes per entry: 10 bytes each, 3 fit in 30.
    const cache = new BoundedCache<number>({ capacity: 30, sizeOf: (key) => key.length * 2 + 6 });
    cache.set('k1', 1);
    cache.set('k2', 2);
    cache.set('k3', 3);
    assert.equal(cache.get('k1'), 1); // k1 is now the most recent
    cache.set('k4', 4);
    assert.equal(cache.get('k2'), undefined);
    assert.deepEqual(
      ['k1', 'k3', 'k4'].map((k) => cache.get(k)),
      [1, 3, 4],
    );
    assert.equal(cache.size, 3);
  });

  it('replaces an entry without counting it twice', () => {
    const cache = new BoundedCache<string>({ capacity: 30, sizeOf: (key) => key.length * 2 + 6 });
    for (let i = 0; i < 100; i++) cache.set('k1', `v${i}`);
    cache.set('k2', 'x');
    cache.set('k3', 'y');
    assert.equal(cache.get('k1'), 'v99');
    assert.equal(cache.size, 3);
  });
});
