// The data blocks of a container file, front to back: each block's record count and byte size
// (checked against the limit and the file's end before its bytes are read), its bytes, the sync
// marker after it (checked against the header's), and its bytes decompressed. A block that fails any
// of these is a FormatError naming its index and byte offset.
import { errorMessage, FormatError } from '../../errors.js';
import type { ByteSource } from '../../store/types.js';
import type { ByteBudget } from '../../util/byte-budget.js';
import { ChunkReader } from './chunk-reader.js';
import { decompressBlock, SnappyScratch } from './codecs.js';
import { Cursor, NeedMore, SYNC_BYTES, type Header } from './container.js';
import { MAX_BLOCK_BYTES } from './limits.js';

export interface Block {
  /** 0-based position among the file's blocks. */
  index: number;
  /** File offset where the block starts (its record count). */
  offset: number;
  count: number;
  /** The records' bytes, decompressed (held until the next block is asked for). */
  data: Buffer;
}

export interface BlockOptions {
  budget: ByteBudget;
  signal?: AbortSignal;
  /** Bytes per ranged GET (tests use small ones). */
  chunkBytes?: number;
  /** A lower limit on a block's compressed and decompressed bytes than MAX_BLOCK_BYTES (tests). */
  maxBlockBytes?: number;
}

export async function* readBlocks(source: ByteSource, header: Header, options: BlockOptions): AsyncGenerator<Block> {
  const reader = new ChunkReader(source, header.dataStart, options.budget, options.signal, options.chunkBytes);
  const limit = Math.min(options.maxBlockBytes ?? MAX_BLOCK_BYTES, MAX_BLOCK_BYTES);
  const scratch = new SnappyScratch();
  try {
    for (let index = 0; reader.remaining > 0; index++) {
      const offset = reader.offset;
      const fail = (what: string) => new FormatError(`block ${index} at byte ${offset}: ${what}`);
      const { count, size } = await blockHeader(reader, fail);
      if (size > limit) throw fail(`its ${size} bytes are over the ${limit}-byte limit on a block`);
      if (size + SYNC_BYTES > reader.remaining) {
        throw fail(`it claims ${size} bytes, but the file has ${reader.remaining} left (truncated, or a corrupt size)`);
      }
      const held = await reader.take(size);
      try {
        const sync = await reader.peek(SYNC_BYTES);
        if (!sync.every((b, i) => b === header.sync[i])) {
          throw fail(`the sync marker after it does not match the header's (a corrupt block or size)`);
        }
        reader.skip(SYNC_BYTES);
        const data = decompress(header, held.bytes, limit, scratch, fail);
        yield { index, offset, count, data };
      } finally {
        held.release();
      }
    }
  } finally {
    reader.close();
  }
}

async function blockHeader(reader: ChunkReader, fail: (what: string) => FormatError): Promise<{ count: number; size: number }> {
  // Two varints of at most ten bytes each.
  const cursor = new Cursor(await reader.peek(20));
  try {
    const count = cursor.long('its record count');
    const size = cursor.long('its size');
    if (count < 0) throw fail(`its record count is ${count}`);
    if (size < 0) throw fail(`its size is ${size}`);
    reader.skip(cursor.pos);
    return { count, size };
  } catch (err) {
    if (err instanceof NeedMore) throw fail('the file ends inside its header (truncated)');
    if (err instanceof FormatError && !err.message.startsWith('block ')) throw fail(err.message);
    throw err;
  }
}

function decompress(header: Header, bytes: Uint8Array, limit: number, scratch: SnappyScratch, fail: (what: string) => FormatError): Buffer {
  try {
    return decompressBlock(header.codec, bytes, limit, scratch);
  } catch (err) {
    if (err instanceof FormatError) throw fail(err.message);
    throw fail(`${header.codec} decompression failed: ${errorMessage(err)}`);
  }
}
