// The Avro reader's container handling, on files written by avro-js and on hand-made corrupt ones: every
// codec, blocks read in ranged chunks (and across them) within the byte budget, the header read with
// more GETs when it is large, and every way a file can lie (magic, header, sync marker, sizes, counts,
// CRC, records, decompression bombs) refused with a FormatError naming the block and its byte offset,
// after the rows of the blocks before it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import type { RecordBatch } from 'apache-arrow';
import { compress as snappyCompress } from 'snappyjs';
import { FormatError, ObjectError } from '../../src/errors.js';
import { openAvro } from '../../src/formats/avro/index.js';
import { ByteBudget } from '../../src/util/byte-budget.js';
import {
  avroFile,
  blockPositions,
  containerFile,
  headerOf,
  memorySource,
  varintBytes,
  zstdFrame,
  ZSTD_REAL_FILE,
  ZSTD_REAL_ROWS,
  type AvroCodec,
} from '../support/avro-fixtures.js';

const SCHEMA = {
  type: 'record',
  name: 'Row',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'score', type: ['null', 'double'] },
  ],
};

function rows(from: number, to: number) {
  return Array.from({ length: to - from }, (_, k) => {
    const i = from + k;
    return {
      id: BigInt(i),
      name: `name-${i}-${'x'.repeat(i % 40)}`,
      tags: Array.from({ length: i % 3 }, (_, t) => `t${t}`),
      score: i % 4 ? { double: i / 4 } : null,
    };
  });
}

interface ReadResult {
  ids: number[];
  batches: RecordBatch[];
  error?: unknown;
}

/** Reads every batch, keeping the rows delivered before any failure and the failure itself. */
async function readAll(
  file: Uint8Array,
  options: { chunkBytes?: number; maxBlockBytes?: number; budget?: ByteBudget } = {},
): Promise<ReadResult> {
  const budget = options.budget ?? new ByteBudget(64 << 20);
  const reader = await openAvro(memorySource(file), { budget }, { chunkBytes: options.chunkBytes, maxBlockBytes: options.maxBlockBytes });
  const result: ReadResult = { ids: [], batches: [] };
  try {
    for await (const batch of reader.batches({ maxRows: 64, rowMultiple: 8 })) {
      result.batches.push(batch);
      for (const id of batch.getChild('id')!) result.ids.push(Number(id));
    }
  } catch (err) {
    result.error = err;
  }
  return result;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/** A file of several blocks, with its blocks' positions. */
async function blocksFile(codec: AvroCodec = 'null', count = 300) {
  const file = await avroFile(SCHEMA, rows(0, count), { codec, blockSize: 2048 });
  return { file, blocks: blockPositions(file) };
}

describe('avro container: codecs and chunks', () => {
  for (const codec of ['null', 'deflate', 'snappy', 'zstandard'] as const) {
    it(`reads ${codec} blocks in order, in chunks smaller than a block, and lets go of the budget`, async () => {
      const { file, blocks } = await blocksFile(codec, 500);
      assert.ok(blocks.length >= 5, `${blocks.length} blocks`);
      assert.match(file.toString('latin1', 0, 300), new RegExp(`avro\\.codec.${codec}`));
      const budget = new ByteBudget(1 << 20);
      const { ids, batches, error } = await readAll(file, { chunkBytes: 700, budget });
      assert.equal(error, undefined);
      assert.deepEqual(ids, range(0, 500));
      assert.ok(batches.every((b) => b.numRows <= 64));
      assert.ok(batches.slice(0, -1).every((b) => b.numRows % 8 === 0));
      const last = batches.at(-1)!;
      assert.equal(last.getChild('name')!.get(last.numRows - 1), `name-499-${'x'.repeat(499 % 40)}`);
      assert.equal(budget.inUse, 0);
    });
  }

  it('cuts batches at multiples of rowMultiple, about 2 MiB each, when row sizes change from block to block', async () => {
    const schema = {
      type: 'record',
      name: 'R',
      fields: [
        { name: 'id', type: 'long' },
        { name: 'text', type: 'string' },
      ],
    };
    const records = Array.from({ length: 400 }, (_, i) => ({ id: BigInt(i), text: i < 300 ? `small ${i}` : 'x'.repeat(20_000) }));
    const file = await avroFile(schema, records, { blockSize: 4096 });
    const reader = await openAvro(memorySource(file), { budget: new ByteBudget(64 << 20) });
    const sizes: number[] = [];
    const ids: bigint[] = [];
    for await (const batch of reader.batches({ maxRows: 994, rowMultiple: 7 })) {
      sizes.push(batch.numRows);
      ids.push(...(batch.getChild('id')! as unknown as Iterable<bigint>));
    }
    assert.deepEqual(
      ids,
      records.map((r) => r.id),
    );
    assert.ok(sizes.length > 2, sizes.join(','));
    assert.ok(
      sizes.slice(0, -1).every((n) => n % 7 === 0 && n <= 994),
      sizes.join(','),
    );
    // Rows of 20 KB: about 2 MiB a batch, not 994 rows.
    assert.ok(
      sizes.slice(1, -1).every((n) => n * 20_000 <= 3 * 1024 * 1024),
      sizes.join(','),
    );
  });

  it('reads zstandard blocks a real zstd compressor wrote', async () => {
    const reader = await openAvro(memorySource(ZSTD_REAL_FILE), { budget: new ByteBudget(1 << 20) });
    const got: unknown[] = [];
    for await (const batch of reader.batches({ maxRows: 1000, rowMultiple: 1 })) for (const row of batch) got.push(row!.toJSON());
    assert.deepEqual(got, ZSTD_REAL_ROWS);
  });

  it('reads the whole of a header larger than the first read', async () => {
    const fields = Array.from({ length: 1500 }, (_, i) => ({ name: `field_${i}`, type: 'int', doc: 'd'.repeat(60) }));
    const file = await avroFile({ type: 'record', name: 'Wide', fields }, [Object.fromEntries(fields.map((f, i) => [f.name, i]))]);
    const source = memorySource(file);
    const reader = await openAvro(source, { budget: new ByteBudget(1 << 20) });
    assert.equal(reader.schema.fields.length, 1500);
    assert.ok(source.reads.length >= 2 && source.reads[0]![1] < file.length, JSON.stringify(source.reads));
    const [batch] = await collect(reader.batches({ maxRows: 10, rowMultiple: 1 }));
    assert.equal(batch!.getChild('field_1499')!.get(0), 1499);
  });

  it('reads only the start of the file to open it', async () => {
    const { file } = await blocksFile('null', 3000);
    const source = memorySource(file);
    await openAvro(source, { budget: new ByteBudget(1 << 20) });
    assert.deepEqual(source.reads, [[0, 64 * 1024]]);
  });

  it('stops reading when the batches are abandoned, and lets go of the budget', async () => {
    const { file } = await blocksFile('snappy', 3000);
    const source = memorySource(file);
    const budget = new ByteBudget(1 << 20);
    const reader = await openAvro(source, { budget }, { chunkBytes: 1024 });
    for await (const batch of reader.batches({ maxRows: 16, rowMultiple: 16 })) {
      assert.equal(batch.numRows, 16);
      assert.ok(budget.inUse > 0, 'chunks are charged while they are held');
      break;
    }
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(budget.inUse, 0);
    assert.ok(source.reads.length < file.length / 1024 / 2, `${source.reads.length} reads`);
  });

  it('reads a file with no blocks as no rows', async () => {
    const { header } = headerOf(await avroFile(SCHEMA, rows(0, 1)));
    assert.deepEqual((await readAll(header)).ids, []);
  });
});

describe('avro container: files that are not Avro', () => {
  const open = (bytes: Uint8Array) => openAvro(memorySource(bytes), { budget: new ByteBudget(1 << 20) });

  it('names what it found instead of the magic', async () => {
    await assert.rejects(open(Buffer.from('PAR1 this is a parquet file')), {
      name: 'FormatError',
      message: 'not an Avro object container file (no "Obj\\x01" magic): it starts with "PAR1 this is a p"...',
    });
    await assert.rejects(open(Buffer.from([0x1f, 0x8b, 8, 0])), { message: /it starts with bytes 1f8b0800$/ });
    await assert.rejects(open(Buffer.alloc(0)), { message: /it is empty$/ });
    await assert.rejects(open(Buffer.from('Ob')), { message: /it starts with "Ob"$/ });
  });

  it('refuses a truncated header, an unknown codec, and a header without a schema', async () => {
    const file = await avroFile(SCHEMA, rows(0, 10));
    const { header } = headerOf(file);
    await assert.rejects(open(header.subarray(0, header.length - 5)), { name: 'FormatError', message: /ends inside its header/ });
    const bzip2 = Buffer.from(header.toString('latin1').replace('\u0008null', '\u000abzip2'), 'latin1');
    await assert.rejects(open(bzip2), { message: 'codec "bzip2" is not supported (null, deflate, snappy and zstandard are)' });
    const noSchema = Buffer.concat([
      Buffer.from('Obj\x01'),
      varintBytes(1),
      varintBytes(1),
      Buffer.from('k'),
      varintBytes(0),
      varintBytes(0),
      Buffer.alloc(16),
    ]);
    await assert.rejects(open(noSchema), { message: 'the header has no avro.schema' });
    const lying = Buffer.concat([Buffer.from('Obj\x01'), varintBytes(4_000_000_000)]);
    await assert.rejects(open(lying), { message: /the header claims 4000000000 metadata entries/ });
  });

  it('passes the store’s errors through as they are', async () => {
    const gone = new ObjectError('s3://b/k was deleted after it was listed', 'k', 'gone');
    const failing = { key: 'k', size: 100_000, read: async () => Promise.reject(gone) };
    await assert.rejects(openAvro(failing, { budget: new ByteBudget(1 << 20) }), (err) => err === gone);
    const { file } = await blocksFile('null', 300);
    const source = memorySource(file);
    const reader = await openAvro(source, { budget: new ByteBudget(1 << 20) });
    source.read = async (start) => (start === 0 ? file.subarray(0, 64 * 1024) : Promise.reject(gone));
    await assert.rejects(collect(reader.batches({ maxRows: 10, rowMultiple: 1 })), (err) => err === gone);
  });
});

describe('avro container: corrupt blocks', () => {
  /** The file with `edit` applied to a copy of its bytes. */
  const edited = (file: Buffer, edit: (copy: Buffer) => void) => {
    const copy = Buffer.from(file);
    edit(copy);
    return copy;
  };

  /** Rows of the blocks before block `index`. */
  const before = (blocks: { count: number }[], index: number) =>
    range(
      0,
      blocks.slice(0, index).reduce((n, b) => n + b.count, 0),
    );

  it('refuses a block whose sync marker does not match, after delivering the blocks before it', async () => {
    const { file, blocks } = await blocksFile();
    const bad = edited(file, (f) => (f[blocks[2]!.syncOffset + 3] ^= 0xff));
    const { ids, error } = await readAll(bad, { chunkBytes: 500 });
    assert.ok(error instanceof FormatError);
    assert.equal(
      error.message,
      `block 2 at byte ${blocks[2]!.offset}: the sync marker after it does not match the header's (a corrupt block or size)`,
    );
    assert.deepEqual(ids, before(blocks, 2));
  });

  it('refuses a block whose size runs past the end of the file, or over the limit', async () => {
    const { file, blocks } = await blocksFile();
    const { header } = headerOf(file);
    const data = file.subarray(blocks[0]!.dataOffset, blocks[0]!.dataOffset + blocks[0]!.size);
    const long = containerFile(header, [
      { count: blocks[0]!.count, data },
      { count: 5, data: Buffer.alloc(10), size: 1_000_000 },
    ]);
    const result = await readAll(long);
    assert.match(
      (result.error as Error).message,
      /^block 1 at byte \d+: it claims 1000000 bytes, but the file has 26 left \(truncated, or a corrupt size\)$/,
    );
    assert.deepEqual(result.ids, before(blocks, 1));
    const limited = await readAll(file, { maxBlockBytes: 1000 });
    assert.equal(
      (limited.error as Error).message,
      `block 0 at byte ${blocks[0]!.offset}: its ${blocks[0]!.size} bytes are over the 1000-byte limit on a block`,
    );
    const negative = containerFile(header, [{ count: -3, data: Buffer.alloc(4) }]);
    assert.match(((await readAll(negative)).error as Error).message, /^block 0 at byte \d+: its record count is -3$/);
    const cut = containerFile(header, [{ count: 1, data }]).subarray(0, header.length + 1);
    assert.match(((await readAll(cut)).error as Error).message, /^block 0 at byte \d+: the file ends inside its header \(truncated\)$/);
  });

  it('refuses a record count that lies, either way, before allocating for it', async () => {
    const { file, blocks } = await blocksFile();
    const { header } = headerOf(file);
    const block = blocks[1]!;
    const data = file.subarray(block.dataOffset, block.dataOffset + block.size);
    const first = { count: blocks[0]!.count, data: file.subarray(blocks[0]!.dataOffset, blocks[0]!.dataOffset + blocks[0]!.size) };
    const tooMany = await readAll(containerFile(header, [first, { count: 2 ** 50, data }]));
    assert.match(
      (tooMany.error as Error).message,
      new RegExp(`^block 1 at byte \\d+: it claims ${2 ** 50} records, more than its ${block.size} bytes can hold$`),
    );
    assert.deepEqual(tooMany.ids, before(blocks, 1));
    const tooFew = await readAll(containerFile(header, [first, { count: block.count - 1, data }]));
    assert.match((tooFew.error as Error).message, /^block 1 at byte \d+: \d+ bytes are left after its \d+ records$/);
    assert.deepEqual(tooFew.ids, before(blocks, 1), 'none of the lying block’s rows');
    const overrun = await readAll(containerFile(header, [first, { count: block.count + 1, data }]));
    assert.match(
      (overrun.error as Error).message,
      new RegExp(`^block 1 at byte \\d+: record ${block.count} of the block (runs past its end|does not decode: .*)$`),
    );
    assert.deepEqual(overrun.ids, before(blocks, 1));
  });

  it('refuses a record that does not decode: a union branch or an array count that cannot be', async () => {
    const { header } = headerOf(await avroFile(SCHEMA, rows(0, 1)));
    const good = Buffer.concat([varintBytes(1), varintBytes(1), Buffer.from('a'), varintBytes(0), varintBytes(0)]);
    const badUnion = Buffer.concat([varintBytes(2), varintBytes(1), Buffer.from('b'), varintBytes(0), varintBytes(7)]);
    const union = await readAll(
      containerFile(header, [
        { count: 1, data: good },
        { count: 1, data: badUnion },
      ]),
    );
    assert.match(
      (union.error as Error).message,
      /^block 1 at byte \d+: record 0 of the block does not decode: union branch 7 does not exist$/,
    );
    assert.deepEqual(union.ids, [1]);
    const badArray = Buffer.concat([varintBytes(3), varintBytes(1), Buffer.from('c'), varintBytes(1_000_000_000), varintBytes(0)]);
    const array = await readAll(containerFile(header, [{ count: 1, data: badArray }]));
    assert.match(
      (array.error as Error).message,
      /^block 0 at byte \d+: record 0 of the block does not decode: an array claims 1000000000 items, more than the 1 bytes left in its block hold$/,
    );
    const hugeString = Buffer.concat([varintBytes(4), varintBytes(2 ** 40), Buffer.from('d')]);
    const string = await readAll(containerFile(header, [{ count: 1, data: hugeString }]));
    assert.match((string.error as Error).message, /^block 0 at byte \d+: record 0 of the block runs past its end$/);
    const intSchema = { type: 'record', name: 'I', fields: [{ name: 'id', type: 'int' }] };
    const { header: intHeader } = headerOf(await avroFile(intSchema, [{ id: 1 }]));
    const bigInt = await readAll(containerFile(intHeader, [{ count: 1, data: varintBytes(2 ** 40) }]));
    assert.match(
      (bigInt.error as Error).message,
      /^block 0 at byte \d+: record 0 of the block does not decode: an int varint holds 1099511627776, outside 32 bits$/,
    );
    const longLong = Buffer.concat([Buffer.alloc(10, 0xff), Buffer.from([0x01])]);
    const long = await readAll(containerFile(header, [{ count: 1, data: longLong }]));
    assert.match(
      (long.error as Error).message,
      /^block 0 at byte \d+: record 0 of the block does not decode: a long is longer than 64 bits$/,
    );
  });

  it('refuses a snappy block whose CRC does not match its bytes', async () => {
    const { file, blocks } = await blocksFile('snappy');
    const bad = edited(file, (f) => (f[blocks[1]!.syncOffset - 1] ^= 0x01));
    const { ids, error } = await readAll(bad);
    assert.match(
      (error as Error).message,
      /^block 1 at byte \d+: snappy CRC mismatch: the block says 0x[0-9a-f]{8}, its uncompressed bytes give 0x[0-9a-f]{8}$/,
    );
    assert.deepEqual(ids, before(blocks, 1));
  });

  it('refuses blocks that are not valid data of their codec', async () => {
    for (const codec of ['deflate', 'snappy', 'zstandard'] as const) {
      const { file, blocks } = await blocksFile(codec);
      const block = blocks[1]!;
      const bad = edited(file, (f) => f.fill(0xee, block.dataOffset, block.dataOffset + Math.min(block.size - 4, 12)));
      const { ids, error } = await readAll(bad);
      assert.ok(error instanceof FormatError, `${codec}: ${String(error)}`);
      assert.match(error.message, new RegExp(`^block 1 at byte ${block.offset}: `), codec);
      assert.deepEqual(ids, before(blocks, 1), codec);
    }
  });

  it('refuses blocks that decompress to more than the limit, without inflating them', async () => {
    const schema = { type: 'record', name: 'R', fields: [{ name: 's', type: 'string' }] };
    const { header: nullHeader } = headerOf(await avroFile(schema, [{ s: '' }]));
    const headerFor = (codec: string) =>
      Buffer.from(nullHeader.toString('latin1').replace('\u0008null', `${String.fromCharCode(codec.length * 2)}${codec}`), 'latin1');
    const zeros = Buffer.alloc(4 << 20);
    const limit = 1 << 20;
    const bombs: [string, Uint8Array][] = [
      ['deflate', deflateRawSync(zeros)],
      ['snappy', Buffer.concat([snappyCompress(new Uint8Array(zeros)), Buffer.alloc(4)])],
      // A frame declaring 4 MiB of content, and one declaring none whose RLE blocks add up to 4 MiB.
      ['zstandard', zstdFrame(zeros)],
      ['zstandard', Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x48]), ...rleBlocks(32, 128 * 1024)])],
    ];
    for (const [codec, data] of bombs) {
      const file = containerFile(headerFor(codec), [{ count: 1, data }]);
      const { error } = await readAll(file, { maxBlockBytes: limit });
      assert.match((error as Error).message, /^block 0 at byte \d+: the block decompresses to more than 1048576 bytes$/, codec);
    }
  });
});

/** `count` zstd RLE blocks of `size` bytes each, the last one marked last. */
function rleBlocks(count: number, size: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => {
    const header = (size << 3) | (1 << 1) | (i === count - 1 ? 1 : 0);
    return Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff, 0]);
  });
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
