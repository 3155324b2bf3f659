// Avro object container files for tests, written by avro-js (Apache Avro's JavaScript implementation), a
// different library from the reader under test (avsc). Longs are BigInts (avro-js's custom long type),
// so values beyond 2^53 are written exactly. Codecs: avro-js's own null and deflate; snappy and
// zstandard through its codec hook: snappyjs compression plus the big-endian CRC-32 the specification
// asks for, and zstandard frames of raw and RLE blocks (valid RFC 8878 frames; no zstd compressor is a
// dependency), plus one file whose blocks a real zstd compressor wrote (ZSTD_REAL_FILE).
import { createRequire } from 'node:module';
import { crc32, deflateRawSync } from 'node:zlib';
import { compress as snappyCompress } from 'snappyjs';

const require = createRequire(import.meta.url);

interface AvroJsType {
  getSchema(): string;
}
interface BlockEncoder {
  on(event: 'data', listener: (chunk: Buffer) => void): void;
  on(event: 'end' | 'error', listener: (err?: Error) => void): void;
  write(record: unknown): boolean;
  end(): void;
}
type Codec = (buf: Buffer, cb: (err: Error | null, out?: Buffer) => void) => void;
// avro-js's index module requires a package it does not depend on, so its modules are loaded directly.
const files = require('avro-js/lib/files.js') as {
  streams: { BlockEncoder: { new (type: AvroJsType, opts: object): BlockEncoder; getDefaultCodecs(): Record<string, Codec> } };
};
const schemas = require('avro-js/lib/schemas.js') as {
  createType(schema: unknown, opts: object): AvroJsType;
  types: { LongType: { using(methods: object): AvroJsType } };
};

export type AvroCodec = 'null' | 'deflate' | 'snappy' | 'zstandard';

export interface AvroFileOptions {
  codec?: AvroCodec;
  /** Uncompressed bytes per block (avro-js's blockSize); small values make many blocks. */
  blockSize?: number;
  syncMarker?: Buffer;
}

/** Longs as BigInts, so every 64-bit value round-trips. */
const BIG_LONG = schemas.types.LongType.using({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (value: bigint | number) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(value));
    return buf;
  },
  fromJSON: (value: unknown) => BigInt(value as string),
  toJSON: (value: bigint) => value.toString(),
  isValid: (value: unknown) => typeof value === 'bigint' || Number.isSafeInteger(value),
  compare: (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0),
});

const CODECS: Record<string, Codec> = {
  // avro-js's own deflate, but in step (its asynchronous one completes blocks in any order).
  deflate: (buf, cb) => cb(null, deflateRawSync(buf)),
  snappy: (buf, cb) => {
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(buf) >>> 0);
    cb(null, Buffer.concat([Buffer.from(snappyCompress(new Uint8Array(buf))), crc]));
  },
  zstandard: (buf, cb) => cb(null, zstdFrame(buf)),
};

/**
 * An Avro object container file of `records`, written by avro-js with `schema` (its JSON goes into the
 * header as given, logical types included). Values as avro-js takes them: unions wrapped
 * (`{ int: 1 }`), longs as bigint or number, bytes and fixed as Buffers, maps as objects.
 */
export function avroFile(schema: object, records: unknown[], options: AvroFileOptions = {}): Promise<Buffer> {
  const type = schemas.createType(schema, {
    registry: { long: BIG_LONG },
    typeHook: (attrs: { type?: unknown }) => (attrs.type === 'long' ? BIG_LONG : undefined),
  });
  // The header carries the schema as written here, not avro-js's rendering of it (which drops logical types).
  type.getSchema = () => JSON.stringify(schema);
  const encoder = new files.streams.BlockEncoder(type, {
    codec: options.codec ?? 'null',
    codecs: { ...files.streams.BlockEncoder.getDefaultCodecs(), ...CODECS },
    blockSize: options.blockSize,
    syncMarker: options.syncMarker,
  });
  // avro-js's BlockEncoder never initialises the index that keeps its blocks in order (it is NaN), so
  // its queue hands blocks out in heap order: start it at 0 as its decoder does.
  (encoder as unknown as { _index: number })._index = 0;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    encoder.on('data', (chunk) => chunks.push(chunk));
    encoder.on('error', (err) => reject(err ?? new Error('avro-js failed')));
    encoder.on('end', () => resolve(Buffer.concat(chunks)));
    for (const record of records) encoder.write(record);
    encoder.end();
  });
}

/**
 * A zstandard frame (RFC 8878) holding `data` in raw blocks, or an RLE block where a run of one byte
 * fills a whole block: single segment, content size declared.
 */
export function zstdFrame(data: Uint8Array, blockBytes = 128 * 1024): Buffer {
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xa0])];
  const size = Buffer.alloc(4);
  size.writeUInt32LE(data.length);
  parts.push(size);
  for (let at = 0; at < data.length || at === 0; at += blockBytes) {
    const block = data.subarray(at, Math.min(data.length, at + blockBytes));
    const last = at + blockBytes >= data.length ? 1 : 0;
    const rle = block.length > 1 && block.every((b) => b === block[0]);
    const header = (block.length << 3) | ((rle ? 1 : 0) << 1) | last;
    parts.push(Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff]));
    parts.push(rle ? Buffer.from([block[0]!]) : Buffer.from(block));
    if (data.length === 0) break;
  }
  return Buffer.concat(parts);
}

/** The bytes of a big-endian two's complement integer (Avro's decimal encoding), `size` bytes or fewest. */
export function decimalBytes(unscaled: bigint, size?: number): Buffer {
  let bytes = 1;
  while (unscaled < -(1n << BigInt(8 * bytes - 1)) || unscaled >= 1n << BigInt(8 * bytes - 1)) bytes++;
  const length = size ?? bytes;
  const out = Buffer.alloc(length);
  let v = BigInt.asUintN(8 * length, unscaled);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** A UUID's 16 bytes from its text. */
export function uuidBytes(text: string): Buffer {
  return Buffer.from(text.replace(/-/g, ''), 'hex');
}

/** Where each block of a container file is: for tests that corrupt one. */
export interface BlockPosition {
  /** Offset of the block's record count. */
  offset: number;
  count: number;
  /** Offset and size of the block's (compressed) data. */
  dataOffset: number;
  size: number;
  /** Offset of the 16-byte sync marker after it. */
  syncOffset: number;
}

/** The blocks of a file written by avroFile (its own small parser: a test must not lean on the reader's). */
export function blockPositions(file: Buffer): BlockPosition[] {
  let pos = 4;
  const varint = () => {
    let n = 0;
    let scale = 1;
    for (;;) {
      const b = file[pos++]!;
      n += (b & 0x7f) * scale;
      scale *= 128;
      if (!(b & 0x80)) return n % 2 ? -(n + 1) / 2 : n / 2;
    }
  };
  for (let n = varint(); n !== 0; n = varint()) {
    if (n < 0) {
      n = -n;
      varint();
    }
    for (let i = 0; i < n; i++) {
      const key = varint();
      pos += key;
      const value = varint();
      pos += value;
    }
  }
  pos += 16;
  const blocks: BlockPosition[] = [];
  while (pos < file.length) {
    const offset = pos;
    const count = varint();
    const size = varint();
    blocks.push({ offset, count, dataOffset: pos, size, syncOffset: pos + size });
    pos += size + 16;
  }
  return blocks;
}

/** A zigzag varint, as Avro encodes longs. */
export function varintBytes(value: number): Buffer {
  let z = value >= 0 ? value * 2 : -value * 2 - 1;
  const out: number[] = [];
  do {
    const b = z % 128;
    z = Math.floor(z / 128);
    out.push(z > 0 ? b | 0x80 : b);
  } while (z > 0);
  return Buffer.from(out);
}

/**
 * A file written by avro-js whose zstandard blocks came from the reference zstd compressor (v1.5.4,
 * level 19): compressed blocks, not raw ones. Schema `fixture.Line { id: int, text: string }`, 120
 * records: ZSTD_REAL_ROWS.
 */
export const ZSTD_REAL_FILE = Buffer.from(
  'T2JqAQQWYXZyby5zY2hlbWH2AXsidHlwZSI6InJlY29yZCIsIm5hbWUiOiJMaW5lIiwibmFtZXNwYWNlIjoiZml4dHVyZSIsImZpZWxkcyI6W3sibmFtZSI6' +
    'ImlkIiwidHlwZSI6ImludCJ9LHsibmFtZSI6InRleHQiLCJ0eXBlIjoic3RyaW5nIn1dfRRhdnJvLmNvZGVjEnpzdGFuZGFyZAB6c3RkLXJlYWwtZml4dHVy' +
    'KOoCKLUv/QBoZQUAFAYAaGxpbmUgMDogdGhlIHF1aWNrIGJyb3duIGZveCBqdW1wcyBvdmVybGF6eSBkb2cgAsABMQSYAjIGMwg0CjUMNg43EDgSORTCMTAW' +
    'mjExGGoxIBozHDQeNSA2IjckOCY5KahBwLq+9TOQM5McAxF0JCqF//+NMRoeB98dHB323sH0EnchzkBxx6CFPYvEl6xt84F2xfEG22usr3A2ZZRNI/muNms8' +
    'hVhRFXpzdGQtcmVhbC1maXh0dXIo5AIotS/9AGhNBQBUBiiaAmxpbmUgMjA6IHRoZSBxdWljayBicm93biBmb3gganVtcHMgb3ZlcmxhenkgZG9nKmoxLMIB' +
    'Mi4zMDQyNTQ2Njc4ODo5PDMwPjMxQDMyQjMgRDQgRjUgSDYgSjcgTDggTjkgKKgRsOY1678BwDOLDRE0GIwU/v9XxbDwggX97EFoQb19EDfIeQZnH8Bbbw/y' +
    'bpw+ALnknVLONm+iZIX2ulCJlVQBenN0ZC1yZWFsLWZpeHR1cijQAii1L/0AaP0EAOQFUMIBbGluZSA0MDogdGhlIHF1aWNrIGJyb3duIGZveCBqdW1wcyBv' +
    'dmVybGF6eSBkb2dSmgIxVGoyVjNYNFo1XDZeN2A4YjlkNTBmNTFoNTJqM2w0bjVwNnI3dDh2OSmoMcy3Zv03wDPTARE0GIoU/v+3xbDwgzvr3eA79d5g5WQ3' +
    'UwOdGy8G/J0XA/6BXTgOSZzGjr1zmXzNvgRA1HpzdGQtcmVhbC1maXh0dXIo5AIotS/9AGhNBQAkBnhqbGluZSA2MDogdGhlIHF1aWNrIGJyb3duIGZveCBq' +
    'dW1wcyBvdmVybGF6eSBkb2cgesIBMXyaAjJ+M4ABNIIBNYQBNoY3iDiKOYw3MI43MZA3MpIzlDSWNZg2mjecOJ45KahBwLq+9TOwM1McETQQBsPC///BGA0P' +
    'BysNIJesNEAe8PoONr/r3UDi4FTF/GACTG6elzx1KTD9Np9U8iF+3mZpBGCrenN0ZC1yZWFsLWZpeHR1cijsAii1L/0AaG0FAIQGoAGaAmxpbmUgODA6IHRo' +
    'ZSBxdWljayBicm93biBmb3gganVtcHMgb3ZlcmxhenkgZG9nogFqMaQBwgEypjOoNKo1rDauN7A4sjm0IDkwtjkxuDkyujO8NCC+NSDANiDCNyDEOCDGOSAo' +
    'qBHQMi7XfwPAM4sNETQYAUYK//+nYlh4ggvy2YPcBH12GGOQ6Qw9+wDdbX3Qu2HaABSTd0y54rwJTlZkr8ufWIkaenN0ZC1yZWFsLWZpeHR1cibWAii1L/0A' +
    'aBUFAAQGyAHEAWxpbmUgMTAwOiB0aGUgcXVpY2sgYnJvd24gZm94IGp1bXBzIG92ZXJsYXp5IGRvZ8oBnAIxzAFsMs4z0DTSNdQ21jfYONo53DEw3jEx4DEy' +
    '4jPkNOY16DbqN+w4J6gxyLbl+m/AM9MBETQEEMMShf//cTEbHofHDvaxAwNtzvJvebCfc2Dgnv9jAJyTxmOAlJBRR5d0Tb4mn2IlanpzdGQtcmVhbC1maXh0' +
    'dXICkAEotS/9AGj9AQBEA+4BnAJsaW5lIDExOTogdGhlIHF1aWNrIGJyb3duIGZveCBqdW1wcyBvdmVybGF6eSBkb2cCAPbUcIpWlQF6c3RkLXJlYWwtZml4' +
    'dHVy',
  'base64',
);

export const ZSTD_REAL_ROWS = Array.from({ length: 120 }, (_, i) => ({
  id: i,
  text: `line ${i}: ${'the quick brown fox jumps over the lazy dog '.repeat(1 + (i % 3))}`,
}));

/** Every Avro type the reader maps, in one record: primitives, named types, unions, logical types. */
export const ALL_TYPES_SCHEMA = {
  type: 'record',
  name: 'AllTypes',
  namespace: 'test.avro',
  fields: [
    { name: 'n', type: 'null' },
    { name: 'b', type: 'boolean' },
    { name: 'i', type: 'int' },
    { name: 'l', type: 'long' },
    { name: 'f', type: 'float' },
    { name: 'd', type: 'double' },
    { name: 'raw', type: 'bytes' },
    { name: 's', type: 'string' },
    { name: 'hash', type: { type: 'fixed', name: 'Hash', size: 4 } },
    { name: 'hash_again', type: 'Hash' },
    { name: 'color', type: { type: 'enum', name: 'Color', symbols: ['RED', 'GREEN', 'BLUE'] } },
    { name: 'opt_int', type: ['null', 'int'] },
    { name: 'opt_str', type: ['string', 'null'] },
    {
      name: 'address',
      type: {
        type: 'record',
        name: 'Address',
        fields: [
          { name: 'street', type: 'string' },
          { name: 'zip', type: ['null', 'int'] },
          {
            name: 'geo',
            type: {
              type: 'record',
              name: 'Geo',
              fields: [
                { name: 'lat', type: 'double' },
                { name: 'lon', type: 'double' },
              ],
            },
          },
        ],
      },
    },
    { name: 'opt_address', type: ['null', 'Address'] },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'matrix', type: { type: 'array', items: { type: 'array', items: 'long' } } },
    { name: 'points', type: { type: 'array', items: 'Geo' } },
    { name: 'opt_list', type: ['null', { type: 'array', items: ['null', 'int'] }] },
    { name: 'attrs', type: { type: 'map', values: 'long' } },
    { name: 'nested_map', type: { type: 'map', values: { type: 'array', items: 'string' } } },
    { name: 'choice', type: ['null', 'int', 'string', 'Geo'] },
    { name: 'either', type: ['long', 'bytes'] },
    { name: 'date', type: { type: 'int', logicalType: 'date' } },
    { name: 'time_ms', type: { type: 'int', logicalType: 'time-millis' } },
    { name: 'time_us', type: { type: 'long', logicalType: 'time-micros' } },
    { name: 'ts_ms', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'ts_us', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'ts_ns', type: { type: 'long', logicalType: 'timestamp-nanos' } },
    { name: 'lts_ms', type: { type: 'long', logicalType: 'local-timestamp-millis' } },
    { name: 'lts_us', type: { type: 'long', logicalType: 'local-timestamp-micros' } },
    { name: 'lts_ns', type: { type: 'long', logicalType: 'local-timestamp-nanos' } },
    { name: 'dec', type: { type: 'bytes', logicalType: 'decimal', precision: 38, scale: 10 } },
    { name: 'dec_fixed', type: { type: 'fixed', name: 'Dec16', size: 16, logicalType: 'decimal', precision: 38, scale: 2 } },
    { name: 'dec_wide', type: { type: 'bytes', logicalType: 'decimal', precision: 50, scale: 5 } },
    { name: 'dec_huge', type: { type: 'bytes', logicalType: 'decimal', precision: 80, scale: 3 } },
    { name: 'not_decimal', type: { type: 'bytes', logicalType: 'decimal', precision: 3, scale: 5 } },
    { name: 'uuid', type: { type: 'string', logicalType: 'uuid' } },
    { name: 'uuid_fixed', type: { type: 'fixed', name: 'Uuid16', size: 16, logicalType: 'uuid' } },
    { name: 'opt_ts', type: ['null', { type: 'long', logicalType: 'timestamp-micros' }] },
    {
      name: 'node',
      type: {
        type: 'record',
        name: 'Node',
        fields: [
          { name: 'value', type: 'int' },
          { name: 'next', type: ['null', 'Node'] },
        ],
      },
    },
    { name: 'span', type: { type: 'fixed', name: 'Span', size: 12, logicalType: 'duration' } },
  ],
};

const MAX_LONG = 9223372036854775807n;
const MIN_LONG = -9223372036854775808n;
const DEC38 = 10n ** 38n - 1n;
const DEC50 = 10n ** 50n - 1n;
const DEC80 = -(10n ** 79n + 12345n);
const UUID_A = 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6';
const UUID_B = '00000000-0000-0000-0000-000000000000';

function duration(months: number, days: number, millis: number): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt32LE(months, 0);
  out.writeUInt32LE(days, 4);
  out.writeUInt32LE(millis, 8);
  return out;
}

const geo = (lat: number, lon: number) => ({ lat, lon });

/** Three records of ALL_TYPES_SCHEMA as avro-js takes them: the largest values, the smallest, and empties. */
export const ALL_TYPES_RECORDS = [
  {
    n: null,
    b: true,
    i: 2147483647,
    l: MAX_LONG,
    f: 1.5,
    d: Number.MAX_VALUE,
    raw: Buffer.from([0, 1, 2, 255]),
    s: 'héllo, wörld ✓',
    hash: Buffer.from('abcd'),
    hash_again: Buffer.from('wxyz'),
    color: 'BLUE',
    opt_int: { int: 42 },
    opt_str: { string: 'present' },
    address: { street: 'Main St', zip: { int: 12345 }, geo: geo(52.5, 13.4) },
    opt_address: { 'test.avro.Address': { street: 'Side St', zip: null, geo: geo(-1, -2) } },
    tags: ['a', 'b', 'c'],
    matrix: [[1n, 2n], [], [MAX_LONG]],
    points: [geo(1, 2), geo(3, 4)],
    opt_list: { array: [{ int: 1 }, null, { int: 3 }] },
    attrs: { big: MAX_LONG, small: -1n },
    nested_map: { x: ['p', 'q'] },
    choice: { int: 7 },
    either: { long: 9007199254740993n },
    date: 19723,
    time_ms: 86399999,
    time_us: 86399999999n,
    ts_ms: 1704067200123n,
    ts_us: 1704067200123456n,
    ts_ns: 1704067200123456789n,
    lts_ms: 1704067200123n,
    lts_us: 1704067200123456n,
    lts_ns: 1704067200123456789n,
    dec: decimalBytes(DEC38),
    dec_fixed: decimalBytes(DEC38, 16),
    dec_wide: decimalBytes(DEC50),
    dec_huge: decimalBytes(DEC80),
    not_decimal: Buffer.from([7]),
    uuid: UUID_A,
    uuid_fixed: uuidBytes(UUID_A),
    opt_ts: { long: 1704067200123456n },
    node: { value: 1, next: { 'test.avro.Node': { value: 2, next: { 'test.avro.Node': { value: 3, next: null } } } } },
    span: duration(1, 2, 3),
  },
  {
    n: null,
    b: false,
    i: -2147483648,
    l: MIN_LONG,
    f: -0.25,
    d: -1e-300,
    raw: Buffer.alloc(0),
    s: '',
    hash: Buffer.from([0, 0, 0, 0]),
    hash_again: Buffer.from([255, 255, 255, 255]),
    color: 'RED',
    opt_int: null,
    opt_str: null,
    address: { street: '', zip: null, geo: geo(0, 0) },
    opt_address: null,
    tags: [],
    matrix: [],
    points: [],
    opt_list: null,
    attrs: {},
    nested_map: {},
    choice: { 'test.avro.Geo': geo(1.5, -2.25) },
    either: { bytes: Buffer.from([1, 2, 3]) },
    date: -719162,
    time_ms: 0,
    time_us: 0n,
    ts_ms: -1n,
    ts_us: -62135596800000000n,
    ts_ns: MIN_LONG,
    lts_ms: -1n,
    lts_us: -1n,
    lts_ns: -1n,
    dec: decimalBytes(-DEC38),
    dec_fixed: decimalBytes(-DEC38, 16),
    dec_wide: decimalBytes(-DEC50),
    dec_huge: decimalBytes(-DEC80),
    not_decimal: Buffer.alloc(0),
    uuid: UUID_B,
    uuid_fixed: uuidBytes(UUID_B),
    opt_ts: null,
    node: { value: 0, next: null },
    span: duration(0, 0, 0),
  },
  {
    n: null,
    b: true,
    i: 0,
    l: 0n,
    f: 0,
    d: 0,
    raw: Buffer.from('x'),
    s: 'x',
    hash: Buffer.from('0000'),
    hash_again: Buffer.from('1111'),
    color: 'GREEN',
    opt_int: { int: 0 },
    opt_str: { string: '' },
    address: { street: 'x', zip: { int: 0 }, geo: geo(0.5, 0.5) },
    opt_address: null,
    tags: [''],
    matrix: [[0n]],
    points: [geo(0, 0)],
    opt_list: { array: [] },
    attrs: { zero: 0n },
    nested_map: { empty: [] },
    choice: null,
    either: { long: -1n },
    date: 0,
    time_ms: 1,
    time_us: 1n,
    ts_ms: 0n,
    ts_us: 0n,
    ts_ns: 0n,
    lts_ms: 0n,
    lts_us: 0n,
    lts_ns: 0n,
    dec: decimalBytes(0n),
    dec_fixed: decimalBytes(1n, 16),
    dec_wide: decimalBytes(1n),
    dec_huge: decimalBytes(0n),
    not_decimal: Buffer.from([1, 2]),
    uuid: 'not-a-uuid',
    uuid_fixed: uuidBytes(UUID_A),
    opt_ts: { long: -1n },
    node: { value: 9, next: { 'test.avro.Node': { value: 10, next: null } } },
    span: duration(4294967295, 0, 1),
  },
];

/** The decimals above as text, per record. */
export const ALL_TYPES_DECIMALS = {
  dec: ['9999999999999999999999999999.9999999999', '-9999999999999999999999999999.9999999999', '0.0000000000'],
  dec_fixed: ['999999999999999999999999999999999999.99', '-999999999999999999999999999999999999.99', '0.01'],
  dec_wide: ['999999999999999999999999999999999999999999999.99999', '-999999999999999999999999999999999999999999999.99999', '0.00001'],
  dec_huge: [`-1${'0'.repeat(74)}12.345`, `1${'0'.repeat(74)}12.345`, '0.000'],
};

/** An object in memory as the plugin's ByteSource; `reads` records every range asked for. */
export function memorySource(bytes: Uint8Array, key = 'mem/file.avro') {
  const reads: [number, number][] = [];
  return {
    key,
    size: bytes.length,
    reads,
    read: async (start: number, end: number) => {
      reads.push([start, end]);
      return bytes.subarray(start, end);
    },
  };
}

/** The file's header (magic, metadata, sync marker): everything before its first block. */
export function headerOf(file: Buffer): { header: Buffer; sync: Buffer } {
  const first = blockPositions(Buffer.concat([file, varintBytes(0), varintBytes(0), Buffer.alloc(16)]))[0]!;
  return { header: file.subarray(0, first.offset), sync: file.subarray(first.offset - 16, first.offset) };
}

/** A container file from a header and hand-made blocks (count, data, and a sync marker, the header's by default). */
export function containerFile(header: Buffer, blocks: { count: number; data: Uint8Array; sync?: Uint8Array; size?: number }[]): Buffer {
  const sync = header.subarray(header.length - 16);
  const parts: Buffer[] = [header];
  for (const block of blocks) {
    parts.push(
      varintBytes(block.count),
      varintBytes(block.size ?? block.data.length),
      Buffer.from(block.data),
      Buffer.from(block.sync ?? sync),
    );
  }
  return Buffer.concat(parts);
}
