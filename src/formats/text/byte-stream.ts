// A text file's bytes, in order, decompressed: the object is read front to back in ranged GETs of
// CHUNK_BYTES (the next one fetched while the current one is parsed, both charged to the read
// budget), then inflated as a stream (gzip and bz2 through Node streams with backpressure, zstd fed
// to its decoder in small pieces), so neither a large file nor a decompression bomb is ever held
// whole. An object stored compressed without the extension (`Content-Encoding: gzip`) is recognised
// by its magic bytes.
import { PassThrough, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import unbzip2 from 'unbzip2-stream';
import { errorMessage, FormatError } from '../../errors.js';
import type { ByteSource } from '../../store/types.js';
import type { ByteBudget } from '../../util/byte-budget.js';
import type { Compression } from '../detect.js';

/** Bytes of one ranged GET. Large enough that requests are few, small enough to bound memory. */
export const CHUNK_BYTES = 4 * 1024 * 1024;
/** Compressed bytes handed to the zstd decoder at once: it inflates each piece synchronously. */
const ZSTD_PIECE_BYTES = 4096;

export interface StreamOptions {
  compression: Compression;
  budget: ByteBudget;
  signal?: AbortSignal;
}

/** The object's decompressed bytes, chunk by chunk. Stop iterating and no further range is read. */
export async function* decompressedBytes(source: ByteSource, options: StreamOptions): AsyncGenerator<Uint8Array> {
  const raw = objectChunks(source, options.budget, options.signal);
  const first = await raw.next();
  if (first.done) return;
  const compression = options.compression === 'none' ? sniffCompression(first.value) : options.compression;
  const chunks = prepend(first.value, raw);
  if (compression === 'none') yield* chunks;
  else if (compression === 'zstd') yield* inflateZstd(chunks);
  else yield* inflateStream(chunks, compression);
}

/** The compression a stored object's first bytes announce (gzip, zstd or bzip2 magic). */
export function sniffCompression(head: Uint8Array): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  if (head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68 && head[3]! >= 0x31 && head[3]! <= 0x39) return 'bz2';
  return 'none';
}

async function* objectChunks(source: ByteSource, budget: ByteBudget, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const fetch = async (start: number) => {
    const end = Math.min(source.size, start + CHUNK_BYTES);
    const release = await budget.acquire(end - start, signal);
    try {
      return { bytes: await source.read(start, end, signal), release };
    } catch (err) {
      release();
      throw err;
    }
  };
  let next = source.size > 0 ? fetch(0) : undefined;
  try {
    for (let start = 0; next; start += CHUNK_BYTES) {
      const { bytes, release } = await next;
      next = start + CHUNK_BYTES < source.size ? fetch(start + CHUNK_BYTES) : undefined;
      next?.catch(() => {});
      try {
        yield bytes;
      } finally {
        release();
      }
    }
  } finally {
    // Abandoned early (enough rows sampled, an error): let a pending prefetch release its budget.
    next?.then(
      ({ release }) => release(),
      () => {},
    );
  }
}

async function* prepend(first: Uint8Array, rest: AsyncGenerator<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield first;
    yield* rest;
  } finally {
    await rest.return(undefined);
  }
}

async function* inflateStream(chunks: AsyncGenerator<Uint8Array>, compression: 'gzip' | 'bz2'): AsyncGenerator<Uint8Array> {
  const input = Readable.from(chunks, { objectMode: false });
  // unbzip2-stream is a classic stream; a PassThrough gives it async iteration and backpressure.
  const inflater = compression === 'gzip' ? createGunzip({ chunkSize: 256 * 1024 }) : input.pipe(unbzip2()).pipe(new PassThrough());
  if (compression === 'gzip') input.pipe(inflater);
  // A failure to read the object (not the inflater's) is passed on as it is.
  let readError: unknown;
  input.on('error', (err) => inflater.destroy((readError = err)));
  try {
    for await (const chunk of inflater as AsyncIterable<Buffer>) yield chunk;
  } catch (err) {
    if (err === readError || err instanceof FormatError || isAbort(err)) throw err;
    throw new FormatError(`not valid ${compression === 'gzip' ? 'gzip' : 'bzip2'} data: ${errorMessage(err)}`);
  } finally {
    input.destroy();
    inflater.destroy();
  }
}

async function* inflateZstd(chunks: AsyncGenerator<Uint8Array>): AsyncGenerator<Uint8Array> {
  let out: Uint8Array[] = [];
  const decoder = new ZstdDecompress((data) => void out.push(data));
  for await (const chunk of chunks) {
    for (let at = 0; at < chunk.byteLength; at += ZSTD_PIECE_BYTES) {
      try {
        decoder.push(chunk.subarray(at, Math.min(chunk.byteLength, at + ZSTD_PIECE_BYTES)));
      } catch (err) {
        throw new FormatError(`not valid zstd data: ${errorMessage(err)}`);
      }
      if (out.length > 0) {
        const ready = out;
        out = [];
        yield* ready;
      }
    }
  }
  try {
    decoder.push(new Uint8Array(0), true);
  } catch (err) {
    throw new FormatError(`not valid zstd data: ${errorMessage(err)}`);
  }
  yield* out;
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || (err as { code?: string }).code === 'ABORT_ERR');
}
