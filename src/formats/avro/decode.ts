// Blocks to record batches: each block's records read into the batch's Arrow columns (columns.ts). A
// batch's rows are handed on only once every block they come from has decoded whole, so a corrupt
// block (a record that does not decode, bytes left over, a count that lies) delivers none of its rows:
// the rows of the blocks before it go out, then the FormatError naming the block.
import type { RecordBatch } from 'apache-arrow';
import { errorMessage, FormatError } from '../../errors.js';
import type { BlockBytes } from './block-bytes.js';
import type { Block } from './blocks.js';
import type { RecordColumns } from './nested-columns.js';
import { Tap } from './tap.js';

/** Decoded bytes a batch aims at: memory grows with bytes, not rows. */
export const TARGET_BATCH_BYTES = 2 * 1024 * 1024;
/** Arrow columns take more than Avro's varints: the estimate of a row's decoded size from its Avro bytes. */
const ARROW_PER_AVRO_BYTE = 1.5;
/** A block of records that take no bytes (a schema of nulls) is refused beyond this many records. */
export const MAX_EMPTY_RECORDS = 1 << 24;

export interface DecodeContext {
  /** Where the columns find the bytes value handles point to: set to each block's before it decodes. */
  block: BlockBytes;
  columns: RecordColumns;
  /** The fewest bytes a record takes (0 for a record of nulls): bounds a block's count. */
  minRecordBytes: number;
  maxRows: number;
  rowMultiple: number;
  /** Told the file index of the record about to be appended (for messages about its values). */
  atRecord: (record: number) => void;
}

export async function* decodeBlocks(blocks: AsyncIterable<Block>, ctx: DecodeContext): AsyncGenerator<RecordBatch> {
  const decoder = new BlockDecoder(ctx);
  const iterator = blocks[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<Block>;
      try {
        next = await iterator.next();
      } catch (err) {
        // A block that could not be read or decompressed: the rows of the blocks before it go out first.
        yield* decoder.rest();
        throw err;
      }
      if (next.done) break;
      const { batches, failure } = decoder.decode(next.value);
      yield* batches;
      if (failure) throw failure;
    }
    yield* decoder.rest();
  } finally {
    // Stopped early (enough rows, an error): the blocks' reader lets go of its chunks.
    await iterator.return?.(undefined);
  }
}

class BlockDecoder {
  private firstRecord = 0;

  constructor(private readonly ctx: DecodeContext) {}

  /** Decodes a whole block: the batches it completed, or those holding only earlier rows and the failure. */
  decode(block: Block): { batches: RecordBatch[]; failure?: FormatError } {
    const { columns } = this.ctx;
    const batches: RecordBatch[] = [];
    const target = batchRows(block, this.ctx);
    const multiple = Math.max(1, this.ctx.rowMultiple);
    let decoded = 0;
    try {
      checkCount(block, this.ctx.minRecordBytes);
      this.ctx.block.set(block.data);
      const tap = new Tap(block.data, 0);
      for (; decoded < block.count; decoded++) {
        this.ctx.atRecord(this.firstRecord + decoded);
        this.readRecord(tap, decoded);
        // Cut at a multiple of rowMultiple: when blocks differ, the target can drop below the rows held.
        if (columns.rows >= target && columns.rows % multiple === 0) batches.push(columns.finish());
      }
      if (tap.pos !== block.data.length) throw new Error(`${block.data.length - tap.pos} bytes are left after its ${block.count} records`);
    } catch (err) {
      const failure = new FormatError(`block ${block.index} at byte ${block.offset}: ${errorMessage(err)}`);
      return { batches: [...withoutLast([...batches, columns.finish()], decoded)], failure };
    }
    this.firstRecord += block.count;
    return { batches };
  }

  /** The rows still in the columns, all of whole blocks. */
  *rest(): Generator<RecordBatch> {
    if (this.ctx.columns.rows > 0) yield this.ctx.columns.finish();
  }

  private readRecord(tap: Tap, index: number): void {
    try {
      this.ctx.columns.read(tap);
    } catch (err) {
      throw new Error(`record ${index} of the block does not decode: ${errorMessage(err)}`, { cause: err });
    }
    // avsc's readers do not stop at the end of the buffer; a record that ran past it is garbage.
    if (tap.pos > tap.buf.length) throw new Error(`record ${index} of the block runs past its end`);
    this.ctx.columns.commit();
  }
}

function checkCount(block: Block, minRecordBytes: number): void {
  const most = minRecordBytes > 0 ? Math.floor(block.data.length / minRecordBytes) : MAX_EMPTY_RECORDS;
  if (block.count > most) throw new Error(`it claims ${block.count} records, more than its ${block.data.length} bytes can hold`);
}

/** At most maxRows rows and about TARGET_BATCH_BYTES decoded, in multiples of rowMultiple. */
export function batchRows(block: Pick<Block, 'count' | 'data'>, ctx: Pick<DecodeContext, 'maxRows' | 'rowMultiple'>): number {
  const multiple = Math.max(1, ctx.rowMultiple);
  if (block.count === 0 || block.data.length === 0) return Math.max(multiple, ctx.maxRows);
  const rowBytes = (ARROW_PER_AVRO_BYTE * block.data.length) / block.count;
  const rows = Math.floor(TARGET_BATCH_BYTES / rowBytes / multiple) * multiple;
  return Math.max(multiple, Math.min(ctx.maxRows, rows));
}

/** The batches without their last `drop` rows. */
function* withoutLast(batches: RecordBatch[], drop: number): Generator<RecordBatch> {
  let keep = batches.reduce((n, b) => n + b.numRows, 0) - drop;
  for (const batch of batches) {
    if (keep <= 0) return;
    yield keep >= batch.numRows ? batch : batch.slice(0, keep);
    keep -= batch.numRows;
  }
}
