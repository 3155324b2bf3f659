// How many bytes rows of a record batch take once IPC-encoded, from buffer lengths and value offsets
// alone: no per-value work, so RecordEncoder can cut records by bytes as cheaply as by rows. Every
// figure is an upper bound of what apache-arrow's writer produces (body buffers padded to 8 bytes,
// field nodes, buffer regions, the message header, dictionary batches).
import { Type, UnionMode, type Data, type FixedSizeList, type RecordBatch, type Union } from 'apache-arrow';
import { FormatError } from '../errors.js';

/** Metadata of one column node in the record message: its field node and up to three buffer regions. */
const NODE_FRAMING = 16 + 3 * (16 + 8);
/** A record batch or dictionary batch message: continuation, length, header fields, alignment. */
const MESSAGE_FRAMING = 256;

/** A column's bytes: `prefix(j)` for its rows [0, j), plus what any record holding it adds. */
interface Measure {
  /** Body bytes of rows [0, j), for j in [0, length]; nondecreasing. */
  prefix: (j: number) => number;
  /** Bytes that do not grow with the rows a record holds: framing, whole buffers. */
  fixed: number;
}

const none = () => 0;
const align8 = (n: number) => (n + 7) & ~7;

/** A record's bytes as rows are added to it: where RecordEncoder cuts a batch. */
export class RecordSizer {
  private readonly columns: Measure[];
  /** Bytes of every record of this batch whatever its rows: `framing` plus metadata and whole buffers. */
  readonly fixed: number;
  readonly numRows: number;

  constructor(batch: RecordBatch, framing: number) {
    this.columns = batch.data.children.map(measure);
    this.fixed = this.columns.reduce((sum, c) => sum + c.fixed, framing + MESSAGE_FRAMING);
    this.numRows = batch.numRows;
  }

  private prefix(j: number): number {
    let sum = 0;
    for (const column of this.columns) sum += column.prefix(j);
    return sum;
  }

  /** At least the encoded bytes of a record of rows [from, to). */
  bytes(from: number, to: number): number {
    return this.fixed + this.prefix(to) - this.prefix(from);
  }

  /**
   * The end of the longest record starting at row `from` with at most `maxRows` rows and `maxBytes`
   * bytes; `from + 1` when even that one row is larger (the caller decides what to do with it).
   */
  end(from: number, maxRows: number, maxBytes: number): number {
    const start = this.prefix(from);
    const fits = (to: number) => this.fixed + this.prefix(to) - start <= maxBytes;
    let lo = from + 1;
    let hi = Math.min(this.numRows, from + maxRows);
    if (fits(hi)) return hi;
    if (!fits(lo)) return lo;
    // fits(lo) and not fits(hi): the largest fitting end lies in [lo, hi).
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (fits(mid)) lo = mid;
      else hi = mid;
    }
    return lo;
  }
}

/** A row too large to be sent even alone in a CloudQuery message: the object is skipped. */
export class OversizeRowError extends FormatError {
  constructor(
    /** The row's number (from 1) in the file, or in its batch when `inFile` is false. */
    readonly row: number,
    readonly bytes: number,
    readonly limit: number,
    inFile: boolean,
    batchRows: number,
  ) {
    const where = inFile ? `row ${row}` : `row ${row} of a batch of ${batchRows} rows`;
    super(`${where} is ${formatBytes(bytes)}, more than the ${formatBytes(limit)} a CloudQuery message can carry`);
    this.name = 'OversizeRowError';
  }
}

/** 230.4 MiB, 200 MiB, 12.5 KiB. */
export function formatBytes(bytes: number): string {
  const [unit, size] = bytes >= 1024 * 1024 ? ['MiB', bytes / (1024 * 1024)] : ['KiB', bytes / 1024];
  return `${Number(size.toFixed(1))} ${unit}`;
}

function measure(data: Data): Measure {
  const own = body(data);
  // The writer sends a column's whole validity bitmap with every record, however few of its rows.
  const bitmap = data.typeId !== Type.Null && data.typeId !== Type.Union ? align8(data.nullBitmap?.byteLength ?? 0) : 0;
  return { prefix: own.prefix, fixed: own.fixed + bitmap + NODE_FRAMING };
}

function body(data: Data): Measure {
  switch (data.typeId) {
    case Type.Null:
      return { prefix: none, fixed: 0 };
    case Type.Bool:
      // Packed bits, sent whole like a validity bitmap.
      return { prefix: none, fixed: align8((data.values as Uint8Array | undefined)?.byteLength ?? 0) };
    case Type.Utf8:
    case Type.Binary:
    case Type.LargeUtf8:
    case Type.LargeBinary:
      return variableWidth(data);
    case Type.List:
    case Type.LargeList:
    case Type.Map:
      return list(data);
    case Type.FixedSizeList: {
      const child = measure(data.children[0]!);
      const size = (data.type as FixedSizeList).listSize;
      return { prefix: (j) => child.prefix(j * size), fixed: child.fixed };
    }
    case Type.Struct:
      return sum(data.children.map(measure));
    case Type.Union:
      return union(data);
    case Type.Dictionary:
      return dictionary(data);
    case Type.Utf8View:
    case Type.BinaryView: {
      // 16-byte views per row; the data buffers they point into go whole with every record.
      const variadic = (data.variadicBuffers ?? []).reduce((n, b) => n + align8(b.byteLength), 0);
      return { prefix: (j) => 16 * j, fixed: variadic };
    }
    default: {
      // Fixed width: ints, floats, decimals, dates, times, timestamps, intervals, fixed-size binary.
      const values = data.values as ArrayLike<unknown> & { BYTES_PER_ELEMENT: number };
      const width = values ? values.BYTES_PER_ELEMENT * data.stride : 0;
      return { prefix: (j) => width * j, fixed: 0 };
    }
  }
}

/** A reader of value offsets (32- or 64-bit); the writer rebases them, so only differences matter. */
function offsets(data: Data): { at: (j: number) => number; width: number } {
  const raw = data.valueOffsets as Int32Array | BigInt64Array | undefined;
  if (!raw) return { at: none, width: 4 };
  const at = raw instanceof BigInt64Array ? (j: number) => Number(raw[j]) : (j: number) => (raw as Int32Array)[j]!;
  return { at, width: raw.BYTES_PER_ELEMENT };
}

function variableWidth(data: Data): Measure {
  const { at, width } = offsets(data);
  const base = at(0);
  // One offset per row (and one more, in the fixed part), plus the row's value bytes.
  return { prefix: (j) => width * j + at(j) - base, fixed: width };
}

function list(data: Data): Measure {
  const { at, width } = offsets(data);
  const child = measure(data.children[0]!);
  const base = child.prefix(at(0));
  return { prefix: (j) => width * j + child.prefix(at(j)) - base, fixed: width + child.fixed };
}

function sum(children: Measure[]): Measure {
  const prefix = (j: number) => {
    let total = 0;
    for (const child of children) total += child.prefix(j);
    return total;
  };
  return { prefix, fixed: children.reduce((n, c) => n + c.fixed, 0) };
}

function union(data: Data): Measure {
  const children = data.children.map(measure);
  if ((data.type as Union).mode === UnionMode.Sparse) {
    const all = sum(children);
    return { prefix: (j) => j + all.prefix(j), fixed: all.fixed };
  }
  // Dense: type ids and offsets per row; the children, which rows share, counted whole.
  const whole = children.reduce((n, c, i) => n + c.fixed + c.prefix(data.children[i]!.length), 0);
  return { prefix: (j) => 5 * j, fixed: whole };
}

function dictionary(data: Data): Measure {
  const indices = data.values as { BYTES_PER_ELEMENT: number } | undefined;
  const width = indices?.BYTES_PER_ELEMENT ?? 4;
  // Every record carries the whole dictionary, one dictionary batch message per chunk.
  const chunks = data.dictionary?.data ?? [];
  const values = chunks.reduce((n, chunk) => {
    const m = measure(chunk);
    return n + MESSAGE_FRAMING + m.fixed + m.prefix(chunk.length);
  }, 0);
  return { prefix: (j) => width * j, fixed: values };
}
