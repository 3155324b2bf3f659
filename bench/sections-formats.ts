// The formats section (--only formats): each text and Avro format against its parser's ceiling (the same
// objects, the same libraries, plain values, no Arrow, no gRPC), and peak RSS of big gzip text files.
import { BIG_FORMATS, ensureFormatData, FORMATS, type BenchFormat, type BigFile, type BigFormat, type FormatData } from './format-data.js';
import { upload } from './data.js';
import { grpcSyncPass, type GrpcPass } from './passes/grpc-sync.js';
import { passText, type Pass } from './passes/pass.js';
import { textCeilingPass } from './passes/text-ceiling.js';
import { DEFAULT_ROWS_PER_RECORD } from './plugin.js';
import type { Run } from './sections.js';
import { mb, progress } from './util.js';

export interface FormatResults {
  data: FormatData;
  ceiling: Record<BenchFormat, Pass[]>;
  sync: Record<BenchFormat, GrpcPass[]>;
  /** Peak RSS syncs of the big file and of the one a quarter its size, per text format. */
  big: Record<BigFormat, { big: GrpcPass[]; quarter: GrpcPass[] }>;
}

const bucketOf = (format: BenchFormat) => `bench-fmt-${format}`;
const bigBucketOf = (format: BigFormat, size: 'big' | 'quarter') => `bench-fmt-${size}-${format}`;
/** The spec's filetype for each format's objects. */
const FILETYPE: Record<BenchFormat, string> = { csv: 'csv', jsonl: 'jsonl', avro: 'avro' };

export async function measureFormats(run: Run): Promise<void> {
  const data = await ensureFormatData(run.options.quick);
  await uploadFormats(run, data);
  const results: FormatResults = {
    data,
    ceiling: { csv: [], jsonl: [], avro: [] },
    sync: { csv: [], jsonl: [], avro: [] },
    big: { csv: { big: [], quarter: [] }, jsonl: { big: [], quarter: [] } },
  };
  run.formats = results;
  // Warm-up (not counted): the S3 server's and the page cache's first read of every object.
  for (const format of FORMATS) await textCeilingPass(run.env, bucketOf(format), format);
  // Interleaved, so drift on a shared machine hits every measurement alike.
  for (let n = 1; n <= run.options.runs; n++) {
    for (const format of FORMATS) await formatRun(run, results, format, n);
  }
  for (const format of BIG_FORMATS) {
    for (const size of ['big', 'quarter'] as const) {
      const file = data.big[format][size];
      const pass = await bigSync(run, format, size, file);
      results.big[format][size].push(pass);
    }
  }
}

async function formatRun(run: Run, results: FormatResults, format: BenchFormat, n: number): Promise<void> {
  const rows = results.data.rowsPerFormat;
  const c = await textCeilingPass(run.env, bucketOf(format), format);
  if (c.rows !== rows) throw new Error(`${format} ceiling read ${c.rows} rows, expected ${rows}`);
  results.ceiling[format].push(c);
  progress(`run ${n}: ${format} ceiling ${passText(c)}`);
  const s = await grpcSyncPass(run.env, {
    bucket: bucketOf(format),
    rowsPerRecord: DEFAULT_ROWS_PER_RECORD,
    spec: { filetype: FILETYPE[format] },
    expectRows: rows,
  });
  results.sync[format].push(s);
  progress(`run ${n}: ${format} gRPC sync rpr=${DEFAULT_ROWS_PER_RECORD} ${passText(s)}`);
}

async function bigSync(run: Run, format: BigFormat, size: 'big' | 'quarter', file: BigFile): Promise<GrpcPass> {
  const pass = await grpcSyncPass(run.env, {
    bucket: bigBucketOf(format, size),
    rowsPerRecord: DEFAULT_ROWS_PER_RECORD,
    spec: { filetype: FILETYPE[format] },
    watchRss: true,
    expectRows: file.rows,
  });
  progress(
    `${format}: ${mb(file.textBytes)} MB of text (${mb(file.bytes)} MB gzip): peak RSS ${pass.rss!.peakMb.toFixed(0)} MB, ${passText(pass)}`,
  );
  return pass;
}

/** Every object the section reads, each set in a bucket of its own (not timed). */
async function uploadFormats(run: Run, data: FormatData): Promise<void> {
  const objects = FORMATS.flatMap((format) => data.sets[format].map((f) => ({ ...f, bucket: bucketOf(format) })));
  for (const format of BIG_FORMATS) {
    for (const size of ['big', 'quarter'] as const) objects.push({ ...data.big[format][size], bucket: bigBucketOf(format, size) });
  }
  await upload(run.env.s3, objects);
}
