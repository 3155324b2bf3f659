// The small shared pieces: the protobuf wire helpers (insert framing, GetVersions decoding) and safe
// message text.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pluginV3 } from '@cloudquery/plugin-pb-javascript';
import { insertResponse } from '../../src/server/sync-stream.js';
import { readFields, readRepeatedInt32, varintLength, writeVarint } from '../../src/util/protobuf-wire.js';
import { MAX_MESSAGE_CHARS, safeText } from '../../src/util/safe-text.js';

const pb = pluginV3.cloudquery.plugin.v3;

describe('protobuf wire', () => {
  it('writes varints as protobuf does, and reads them back', () => {
    for (const n of [0, 1, 127, 128, 300, 16_383, 16_384, 2 ** 31, 2 ** 35 + 7, Number.MAX_SAFE_INTEGER]) {
      const out = new Uint8Array(10);
      const end = writeVarint(out, 0, n);
      assert.equal(end, varintLength(n), `length of ${n}`);
      // Field 1, varint: tag 0x08, then the value.
      const [field] = [...readFields(new Uint8Array([0x08, ...out.subarray(0, end)]))];
      assert.deepEqual([field!.field, field!.varint], [1, n]);
    }
  });

  it('reads repeated int32 packed, unpacked and negative, skipping other fields', () => {
    const bytes = new Uint8Array([
      0x0a,
      0x02,
      0x03,
      0x02,
      0x08,
      0x01,
      0x15,
      1,
      2,
      3,
      4,
      0x08,
      ...[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
    ]);
    assert.deepEqual(readRepeatedInt32(bytes, 1), [3, 2, 1, -1]);
    assert.deepEqual(readRepeatedInt32(bytes, 7), []);
  });

  it('rejects truncated and malformed messages with an error, never a hang', () => {
    assert.throws(() => readRepeatedInt32(new Uint8Array([0x08]), 1), /truncated varint/);
    assert.throws(() => readRepeatedInt32(new Uint8Array([0x0a, 0x05, 0x01]), 1), /truncated field/);
    assert.throws(() => readRepeatedInt32(new Uint8Array([0x0b]), 1), /unsupported wire type/);
    assert.throws(() => readRepeatedInt32(new Uint8Array(12).fill(0xff), 1), /varint too long/);
  });

  it('frames an insert exactly as google-protobuf serializes it, in place when there is headroom', () => {
    // (Records are never empty; protobuf would omit an empty field where the framing writes it.)
    for (const size of [1, 127, 128, 20_000, 3_000_000]) {
      const record = new Uint8Array(size).map((_, i) => i % 251);
      const expected = new pb.Sync.Response({ insert: new pb.Sync.MessageInsert({ record }) }).serializeBinary();
      assert.deepEqual(new Uint8Array(insertResponse(record)), expected, `record of ${size} bytes, copied`);
      const withHeadroom = new Uint8Array(16 + size);
      withHeadroom.set(record, 16);
      const framed = insertResponse(withHeadroom.subarray(16));
      assert.equal(framed.buffer, withHeadroom.buffer, 'framed in place');
      assert.deepEqual(new Uint8Array(framed), expected, `record of ${size} bytes, in place`);
    }
  });
});

describe('safe text', () => {
  it('escapes lone surrogates and keeps pairs', () => {
    assert.equal(safeText('a\ud800b'), 'a\\ud800b');
    assert.equal(safeText('\udc00'), '\\udc00');
    assert.equal(safeText('x\ud83d\ude00y'), 'x\ud83d\ude00y');
    assert.equal(safeText('\ude00\ud83d'), '\\ude00\\ud83d');
    assert.equal(Buffer.from(safeText('k\ud800'), 'utf8').toString('utf8'), 'k\\ud800');
  });

  it('cuts long text, saying how much, without splitting a pair', () => {
    const long = 'x'.repeat(MAX_MESSAGE_CHARS + 500);
    assert.equal(safeText(long), `${'x'.repeat(MAX_MESSAGE_CHARS)}... (500 more characters)`);
    const pairAtCut = 'y'.repeat(9) + '\ud83d\ude00' + 'z';
    assert.equal(safeText(pairAtCut, 10), `${'y'.repeat(9)}... (3 more characters)`);
  });
});
