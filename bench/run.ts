// `npm run bench`: the plugin's throughput against its reader's ceiling, its memory on big files, the cost of
// a sync with nothing new, cold start and the size of dist/, all measured side by side in ONE run on a real
// S3 server (Swift + s3api). The machine is shared and noisy: compare the ratios, not the absolute times.
//
//   npm run bench -- [options]            (= node --import tsx bench/run.ts [options])
//     --runs N                   medians of N runs (default 3); measurements are interleaved run by run
//     --quick                    1M rows and a ~110 MB "big" file instead of 10M rows and a >= 1 GB one
//     --profile                  also profile the plugin (--cpu-prof, unminified bundle) during a full sync
//     --only a,b                 sections: throughput, noop, rss, startup, profile, scale, formats
//                                (default: throughput, noop, rss, startup)
//                                scale: peak RSS of a Spark-shaped Parquet file, of three in one table, of
//                                thousands of small files (and growth per file); small files vs one file; a
//                                no-change sync over 100,000 objects (LIST time, LISTs, peak RSS)
//                                formats: CSV.gz, JSONL.gz and Avro (snappy) against their parsers' ceiling,
//                                and peak RSS of 1 GB CSV.gz and JSONL.gz files and of ones a quarter the size
//                                (--quick: smaller shapes throughout, named so in the table)
//     --scale-parts files,listing  the parts of the scale section to run (default both)
//     --startup-runs N           cold starts to take the median of (default 10)
//     --large-rows-per-record N  the second rows_per_record measured (default 10000)
//     --client-window BYTES      HTTP/2 receive window of the bench's client (default 16 MiB; 0 = grpc-js's 64 KiB)
//     --no-window-diag           skip the diagnostic sync through a 64 KiB-window client
//     --entry FILE               the plugin to start (default dist/main.js), for A/B runs of another build
//     --profile-src DIR          sources the profiled bundle is built from (default src/)
//     --no-build                 do not run `npm run build` first
//
// Data is generated once by DuckDB (a writer other than the reader under test) and cached under
// .bench-data/ (git-ignored); every run uploads it to a fresh S3 server (not timed). Progress goes to
// stderr; stdout gets the table and, as its last line, one JSON object with every figure.
//
// The parts: args.ts (options), data.ts (the data set), passes/ (each measured pass), sections.ts (which passes
// each section runs), figures.ts and report.ts (what is printed), plugin.ts (all the bench uses of src/).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startS3Server } from '../test/support/s3-server.js';
import { parseOptions, selectedSections, type Section } from './args.js';
import { describeDataSet, ensureData, uploadNeeded } from './data.js';
import { dirBytes } from './passes/startup.js';
import { report } from './report.js';
import { measureFormats } from './sections-formats.js';
import { measureScale } from './sections-scale.js';
import { emptyResults, measureNoop, measureProfile, measureRss, measureStartup, measureThroughput, type Run } from './sections.js';
import { DIST, progress, ROOT } from './util.js';

const options = parseOptions();

async function main(): Promise<void> {
  const sections = selectedSections(options);
  if (options.build) await build();
  if (!existsSync(options.entry)) throw new Error(`${options.entry} is missing: run npm run build`);
  const distBytes = dirBytes(DIST);
  // The main data set only for the sections that read it (scale and formats have data of their own).
  const needsData = ['throughput', 'noop', 'rss', 'profile'].some((x) => sections.has(x as Section));
  const data = describeDataSet(needsData ? await ensureData(options.quick) : []);

  progress('s3: starting a fresh Swift s3api server');
  const s3 = await startS3Server();
  const run: Run = { env: { s3, entry: options.entry, clientWindow: options.clientWindow }, options, data, results: emptyResults() };
  try {
    const readsMain = sections.has('throughput') || sections.has('noop') || sections.has('profile');
    if (readsMain || sections.has('rss')) await uploadNeeded(s3, data, { main: readsMain, rss: sections.has('rss') });
    if (sections.has('throughput')) await measureThroughput(run);
    if (sections.has('noop')) await measureNoop(run);
    if (sections.has('rss')) await measureRss(run);
    if (sections.has('startup')) await measureStartup(run);
    if (sections.has('profile')) await measureProfile(run);
    if (sections.has('scale')) await measureScale(run);
    if (sections.has('formats')) await measureFormats(run);
    // Before the servers stop: removing a store of 100,000 objects can take minutes on a disk that discards.
    process.stdout.write(report({ ...run, sections, distBytes }));
  } finally {
    await run.backend?.stop();
    await s3.stop();
  }
}

/** npm run build, in a child process. */
async function build(): Promise<void> {
  progress('build: npm run build');
  const child = spawn(process.execPath, [join(ROOT, 'scripts/build.mjs')], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: process.env,
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`build failed (exit ${code})`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
