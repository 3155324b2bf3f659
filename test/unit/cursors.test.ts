import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  advance,
  formatRfc3339Nano,
  parseRfc3339,
  readTableState,
  selectNew,
  stateKeys,
  writeTableState,
  type TableState,
} from '../../src/state/cursors.js';

const T0 = Date.parse('2024-05-01T10:11:12Z');
const obj = (key: string, secondsAfter: number, etag = `"${key}"`) => ({
  key,
  size: 10,
  etag,
  lastModified: new Date(T0 + secondsAfter * 1000),
});

describe('state keys and format', () => {
  it('uses the Go plugin key, and separate keys per shard', () => {
    assert.equal(stateKeys('b', 't').cursor, 's3/b/t/last_modified_cursor');
    assert.equal(stateKeys('b', 't', { num: 1, total: 1 }).cursor, 's3/b/t/last_modified_cursor');
    assert.equal(stateKeys('b', 't', { num: 2, total: 3 }).cursor, 's3/b/t/shard_2_of_3/last_modified_cursor');
  });

  it('writes RFC3339Nano as Go does and reads Go values', () => {
    assert.equal(formatRfc3339Nano(T0), '2024-05-01T10:11:12Z');
    assert.equal(formatRfc3339Nano(T0 + 120), '2024-05-01T10:11:12.12Z');
    assert.equal(parseRfc3339('2024-05-01T10:11:12.123456789Z'), T0 + 123);
    assert.equal(parseRfc3339('2024-05-01T12:11:12+02:00'), T0);
    assert.equal(parseRfc3339('garbage'), undefined);
  });

  it('round-trips through a key/value store', () => {
    const kv = new Map<string, string>();
    const keys = stateKeys('b', 't');
    const state: TableState = { cursor: T0, synced: new Map([['a', '"1"']]), schema: 'QUJD' };
    writeTableState((k, v) => kv.set(k, v), keys, state);
    assert.deepEqual(
      readTableState((k) => kv.get(k), keys),
      state,
    );
  });
});

describe('selecting and advancing', () => {
  it('syncs everything the first time, then only what is new', () => {
    const objects = [obj('a', 0), obj('b', 5)];
    assert.deepEqual(selectNew(objects, {}), objects);
    const state = advance(
      {},
      objects.map((object) => ({ object, done: true })),
      objects,
    );
    assert.equal(state.cursor, T0 + 5000);
    assert.deepEqual(selectNew(objects, state), []);
    const newer = obj('c', 9);
    assert.deepEqual(selectNew([...objects, newer], state), [newer]);
  });

  it('keeps an object written in the cursor second after the last sync, and syncs nothing twice', () => {
    const first = [obj('a', 5)];
    const state = advance({}, [{ object: first[0]!, done: true }], first);
    const sameSecond = obj('b', 5);
    const listing = [first[0]!, sameSecond];
    assert.deepEqual(selectNew(listing, state), [sameSecond]);
    const next = advance(state, [{ object: sameSecond, done: true }], listing);
    assert.deepEqual(selectNew(listing, next), []);
  });

  it('re-syncs an overwritten object', () => {
    const a = obj('a', 5, '"v1"');
    const state = advance({}, [{ object: a, done: true }], [a]);
    const overwritten = obj('a', 5, '"v2"');
    assert.deepEqual(selectNew([overwritten], state), [overwritten]);
    const later = obj('a', 8, '"v3"');
    assert.deepEqual(selectNew([later], state), [later]);
  });

  it('does not move past an object that failed, and remembers the done ones after it', () => {
    const [a, b, c] = [obj('a', 1), obj('b', 2), obj('c', 3)];
    const state = advance(
      {},
      [
        { object: a, done: true },
        { object: b, done: false },
        { object: c, done: true },
      ],
      [a, b, c],
    );
    assert.equal(state.cursor, T0 + 1000);
    assert.deepEqual(selectNew([a, b, c], state), [b]);
    const none = advance({}, [{ object: a, done: false }], [a]);
    assert.equal(none.cursor, undefined);
    assert.deepEqual(selectNew([a], none), [a]);
  });

  it('honours state written by the Go plugin: strictly newer objects only, then its own bookkeeping', () => {
    const [a, b] = [obj('a', 5), obj('b', 7)];
    const goState: TableState = { cursor: T0 + 5000 };
    assert.deepEqual(selectNew([a, b], goState), [b]);
    const next = advance(goState, [{ object: b, done: true }], [a, b]);
    assert.deepEqual(selectNew([a, b], next), []);
    const unchanged = advance(goState, [], [a]);
    assert.deepEqual(selectNew([a], unchanged), [], 'objects at the Go cursor were synced by the Go plugin');
  });

  it('forgets remembered objects once the cursor passes them', () => {
    const [a, b] = [obj('a', 5), obj('b', 5)];
    const s1 = advance(
      {},
      [
        { object: a, done: true },
        { object: b, done: true },
      ],
      [a, b],
    );
    assert.equal(s1.synced?.size, 2);
    const c = obj('c', 9);
    const s2 = advance(s1, [{ object: c, done: true }], [a, b, c]);
    assert.deepEqual([...s2.synced!.keys()], ['c']);
  });
});
