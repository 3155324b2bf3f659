// Where a file's rows are read: open the object in its format, decode batches, encode them as insert
// records and send them, and check that as many rows went out as the file declares. A per-object
// failure is reported, naming the object, and the sync goes on; anything else (a store failure,
// cancellation) fails the sync.
import { FormatError, isPermanent, isPerObjectError, toObjectError } from '../errors.js';
import { fileValues, withFileColumns } from '../arrow/file-columns.js';
import type { FileReader } from '../formats/types.js';
import type { ByteSource, ObjectInfo } from '../store/types.js';
import type { TableRun } from './table-run.js';
import type { SyncContext, SyncSink } from './types.js';

// Batches decoded from a file: a multiple of rows_per_record large enough to keep per-batch overhead
// (WebAssembly calls, IPC framing) small, small enough to bound memory.
const TARGET_DECODE_ROWS = 65_536;

export function decodeBatchSize(rowsPerRecord: number): number {
  return Math.max(rowsPerRecord, Math.floor(TARGET_DECODE_ROWS / rowsPerRecord) * rowsPerRecord);
}

export interface FileJob {
  run: TableRun;
  object: ObjectInfo;
}

/** Reports a per-object problem: counted, logged and sent to the client once. */
export type Report = (table: string, key: string, message: string) => Promise<void>;

/** The rows read from a file disagree with the number it declares (its footer lies, or its pages do). */
class RowCountError extends FormatError {
  constructor(declared: number, read: number) {
    super(`the file declares ${declared} rows but ${read} were read from it`);
  }
}

/**
 * Streams one file's rows; returns whether the object is done (delivered, or skipped for good). Every
 * row the file declares must arrive: a file that yields fewer or more is reported and not done.
 */
export async function readFile(job: FileJob, ctx: SyncContext, sink: SyncSink, report: Report, signal: AbortSignal): Promise<boolean> {
  const { catalog } = ctx;
  const { run, object } = job;
  const sent = { rows: 0 };
  try {
    // A table with a declared schema reads text formats as written (catalog.formatFor); the others use the one format.
    const format = run.plan.declared ? catalog.formatFor(run.name) : catalog.format;
    const file = await format.open(counted(catalog.source(object), run, ctx), { signal, budget: catalog.budget });
    try {
      await sendRows(file, job, { ctx, sink, report, signal }, sent);
    } finally {
      file.close();
    }
    if (file.numRows !== undefined && sent.rows !== file.numRows) throw new RowCountError(file.numRows, sent.rows);
    return true;
  } catch (err) {
    if (signal.aborted || !isPerObjectError(err)) throw err;
    // Named by its URI, whether it failed opening or while its rows were read.
    const { message } = toObjectError(err, catalog.store.uri(object.key), object.key) as Error;
    const partial = sent.rows > 0 ? ` (${sent.rows} rows of it were delivered before the failure)` : '';
    await report(run.name, object.key, `${message}${partial}`);
    // A file whose rows did not add up is read again next time, whatever was delivered.
    return sent.rows === 0 && isPermanent(err) && !(err instanceof RowCountError);
  }
}

interface SendContext {
  ctx: SyncContext;
  sink: SyncSink;
  report: Report;
  signal: AbortSignal;
}

/** Decodes the file's batches, adds the file columns, and sends them as insert records. */
async function sendRows(file: FileReader, { run, object }: FileJob, { ctx, sink, report, signal }: SendContext, sent: { rows: number }) {
  const declared = file.numRows;
  // Problems inside the file the reader went past (a value that does not fit its column, a
  // malformed row): sent on after each batch, so they arrive close to the rows they concern.
  const issues: string[] = [];
  const uri = ctx.catalog.store.uri(object.key);
  const flushIssues = async () => {
    for (const message of issues.splice(0)) await report(run.name, object.key, `${uri}: ${message}`);
  };
  const { fileColumns } = run.plan;
  const values = fileColumns.length > 0 ? fileValues(object, fileColumns, (m) => issues.push(m)) : undefined;
  // A declared schema (spec `schema`): each batch becomes exactly the declared columns, cast; values that do not cast are reported.
  const warn = (message: string) => ctx.logger.warn(message, { table: run.name, key: object.key });
  const caster = run.plan.declared?.forFile((m) => issues.push(m), warn);
  const { rowsPerRecord } = ctx.catalog.spec;
  const batchOptions = {
    maxRows: decodeBatchSize(rowsPerRecord),
    rowMultiple: rowsPerRecord,
    signal,
    report: (m: string) => issues.push(m),
  };
  for await (const decoded of file.batches(batchOptions)) {
    await flushIssues();
    // More rows than declared: stop before sending any of them.
    if (declared !== undefined && sent.rows + decoded.numRows > declared) throw new RowCountError(declared, sent.rows + decoded.numRows);
    const typed = caster ? caster.cast(decoded, sent.rows) : decoded;
    const batch = values ? withFileColumns(typed, fileColumns, values, sent.rows) : typed;
    for (const record of run.encoder.encode(batch, { firstRow: sent.rows })) {
      await sink.insert(record.ipc, record.rows);
      sent.rows += record.rows;
      run.summary.rows += record.rows;
      ctx.telemetry.add('rows', record.rows, { table: run.name });
    }
  }
  caster?.finish();
  await flushIssues();
}

/** The object's bytes, counted into the table's summary and the bytes_read metric as they arrive. */
function counted(source: ByteSource, run: TableRun, ctx: SyncContext): ByteSource {
  return {
    ...source,
    read: async (start, end, signal) => {
      const bytes = await source.read(start, end, signal);
      run.summary.bytes += bytes.byteLength;
      ctx.telemetry.add('bytes_read', bytes.byteLength, { table: run.name });
      return bytes;
    },
  };
}
