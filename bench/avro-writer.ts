// Avro object container files for the bench, written by avro-js (Apache Avro's JavaScript implementation),
// a different library from the plugin's reader (avsc), as test/support/avro-fixtures.ts writes them for
// the tests, but streamed to a file: snappy blocks (snappyjs plus the big-endian CRC-32 the
// specification asks for).
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { crc32 } from 'node:zlib';
import { compress as snappyCompress } from 'snappyjs';

const require = createRequire(import.meta.url);

interface AvroJsType {
  getSchema(): string;
}
interface BlockEncoder extends NodeJS.ReadWriteStream {
  write(record: unknown): boolean;
}
type Codec = (buf: Buffer, cb: (err: Error | null, out?: Buffer) => void) => void;
// avro-js's index module requires a package it does not depend on, so its modules are loaded directly.
const files = require('avro-js/lib/files.js') as {
  streams: { BlockEncoder: { new (type: AvroJsType, opts: object): BlockEncoder; getDefaultCodecs(): Record<string, Codec> } };
};
const schemas = require('avro-js/lib/schemas.js') as { createType(schema: unknown): AvroJsType };

const snappy: Codec = (buf, cb) => {
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(buf) >>> 0);
  cb(null, Buffer.concat([Buffer.from(snappyCompress(new Uint8Array(buf))), crc]));
};

/** Writes `rows` records made by `record(i)` to `path` as one snappy-compressed container file. */
export async function writeAvroFile(path: string, schema: object, rows: number, record: (i: number) => unknown): Promise<void> {
  const type = schemas.createType(schema);
  // The header carries the schema as written here, not avro-js's rendering of it (which drops logical types).
  type.getSchema = () => JSON.stringify(schema);
  const encoder = new files.streams.BlockEncoder(type, {
    codec: 'snappy',
    codecs: { ...files.streams.BlockEncoder.getDefaultCodecs(), snappy },
  });
  // avro-js's BlockEncoder never initialises the index that keeps its blocks in order (it is NaN).
  (encoder as unknown as { _index: number })._index = 0;
  const out = createWriteStream(path);
  encoder.pipe(out);
  for (let i = 0; i < rows; i++) {
    if (!encoder.write(record(i))) await once(encoder, 'drain');
  }
  encoder.end();
  await once(out, 'finish');
}
