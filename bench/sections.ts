// The measurement sections (--only): which passes each runs, how many times and in what order.
import { startStateBackend, type StateBackendServer } from '../test/support/state-backend.js';
import type { Options } from './args.js';
import { GRPC_JS_DEFAULT_WINDOW } from './cli-client.js';
import { MAIN_BUCKET, MULTI_BUCKET, MULTI_COPIES, type DataSet } from './data.js';
import { ceilingPass } from './passes/ceiling.js';
import { grpcSyncPass, type GrpcPass } from './passes/grpc-sync.js';
import { passText, type Env, type Pass } from './passes/pass.js';
import { pipelinePass } from './passes/pipeline.js';
import { profilePass, type ProfileReport } from './passes/profile.js';
import { coldStart } from './passes/startup.js';
import { DEFAULT_ROWS_PER_RECORD } from './plugin.js';
import type { FormatResults } from './sections-formats.js';
import type { ScaleResults } from './sections-scale.js';
import { mb, progress } from './util.js';

/** Every pass of every run, by measurement; empty where a section was not run. */
export interface Results {
  ceiling: Pass[];
  pipeline: Pass[];
  pipelineLarge: Pass[];
  sync: GrpcPass[];
  syncLarge: GrpcPass[];
  syncSmallWindow: GrpcPass[];
  noop: GrpcPass[];
  primed: GrpcPass[];
  big: GrpcPass[];
  mid: GrpcPass[];
  multi: GrpcPass[];
  startup: number[];
}

/** One bench run: where it measures, and what it found so far. */
export interface Run {
  env: Env;
  options: Options;
  data: DataSet;
  results: Results;
  /** Started by the noop section; stopped with the S3 server at the end. */
  backend?: StateBackendServer;
  profile?: ProfileReport;
  /** The scale and formats sections (sections-scale.ts, sections-formats.ts). */
  scale?: ScaleResults;
  formats?: FormatResults;
}

export function emptyResults(): Results {
  return {
    ceiling: [],
    pipeline: [],
    pipelineLarge: [],
    sync: [],
    syncLarge: [],
    syncSmallWindow: [],
    noop: [],
    primed: [],
    big: [],
    mid: [],
    multi: [],
    startup: [],
  };
}

/** (1)/(2) Throughput: the ceiling, full syncs over gRPC at two rows_per_record, and the in-process pipeline. */
export async function measureThroughput(run: Run): Promise<void> {
  // Warm-up (not counted): Swift's and the page cache's first read of every object.
  progress('warm-up: one ceiling pass (not counted)');
  await ceilingPass(run.env, MAIN_BUCKET);

  // Interleaved, so drift on a shared machine hits every measurement alike.
  for (let n = 1; n <= run.options.runs; n++) await throughputRun(run, n);
}

async function throughputRun(run: Run, n: number): Promise<void> {
  const { env, results } = run;
  const { runs, largeRowsPerRecord: large } = run.options;
  const mainRows = run.data.mainRows;
  const c = await ceilingPass(env, MAIN_BUCKET);
  if (c.rows !== mainRows) throw new Error(`ceiling read ${c.rows} rows, expected ${mainRows}`);
  results.ceiling.push(c);
  progress(`run ${n}/${runs}: ceiling                       ${passText(c)}, ${c.getRequests} GETs`);

  const s = await grpcSyncPass(env, { bucket: MAIN_BUCKET, rowsPerRecord: DEFAULT_ROWS_PER_RECORD, expectRows: mainRows });
  results.sync.push(s);
  progress(
    `run ${n}/${runs}: gRPC sync rpr=${DEFAULT_ROWS_PER_RECORD}               ${passText(s)}, ${s.getRequests} GETs, ${s.records} records`,
  );

  const l = await grpcSyncPass(env, { bucket: MAIN_BUCKET, rowsPerRecord: large, expectRows: mainRows });
  results.syncLarge.push(l);
  progress(`run ${n}/${runs}: gRPC sync rpr=${large}             ${passText(l)}, ${l.records} records`);

  const p = await pipelinePass(env, MAIN_BUCKET, DEFAULT_ROWS_PER_RECORD);
  if (p.rows !== mainRows) throw new Error(`in-process pipeline delivered ${p.rows} rows, expected ${mainRows}`);
  results.pipeline.push(p);
  progress(`run ${n}/${runs}: in-process rpr=${DEFAULT_ROWS_PER_RECORD}              ${passText(p)}`);

  const pl = await pipelinePass(env, MAIN_BUCKET, large);
  results.pipelineLarge.push(pl);
  progress(`run ${n}/${runs}: in-process rpr=${large}            ${passText(pl)}`);

  if (n === 1 && env.clientWindow !== GRPC_JS_DEFAULT_WINDOW && run.options.windowDiag) {
    // Diagnostic, once: the same sync through a client that keeps grpc-js's fixed 64 KiB window.
    const w = await grpcSyncPass(env, {
      bucket: MAIN_BUCKET,
      rowsPerRecord: DEFAULT_ROWS_PER_RECORD,
      expectRows: mainRows,
      window: GRPC_JS_DEFAULT_WINDOW,
    });
    results.syncSmallWindow.push(w);
    progress(`run ${n}/${runs}: gRPC sync rpr=${DEFAULT_ROWS_PER_RECORD}, 64 KiB window ${passText(w)}`);
  }
}

/**
 * (3) Incremental sync with nothing new: one sync fills the state, then each run is a fresh plugin process (the
 * CLI starts one per sync) against the same state.
 */
export async function measureNoop(run: Run): Promise<void> {
  const { env, results } = run;
  const { runs } = run.options;
  progress('noop: starting the state backend (memdb destination over gRPC)');
  run.backend = await startStateBackend();
  const state = { tableName: 'cq_state_bench', connection: run.backend.connection };
  const primed = await grpcSyncPass(env, {
    bucket: MAIN_BUCKET,
    rowsPerRecord: DEFAULT_ROWS_PER_RECORD,
    backend: state,
    expectRows: run.data.mainRows,
  });
  results.primed.push(primed);
  progress(`noop: first sync with the state backend ${passText(primed)}`);
  for (let n = 1; n <= runs; n++) {
    const p = await grpcSyncPass(env, { bucket: MAIN_BUCKET, rowsPerRecord: DEFAULT_ROWS_PER_RECORD, backend: state, expectRows: 0 });
    results.noop.push(p);
    progress(`run ${n}/${runs}: no-change sync ${p.ms.toFixed(0)} ms, ${p.getRequests} GETs, ${p.listRequests} LISTs`);
  }
}

/** (4) Peak RSS of the plugin process: the big file, and one a quarter of its size (same row groups). */
export async function measureRss(run: Run): Promise<void> {
  const { env, results } = run;
  const { runs } = run.options;
  const { big, mid } = run.data;
  for (let n = 1; n <= runs; n++) {
    for (const [file, list] of [
      [big, results.big],
      [mid, results.mid],
    ] as const) {
      const r = await grpcSyncPass(env, {
        bucket: file.bucket,
        rowsPerRecord: DEFAULT_ROWS_PER_RECORD,
        watchRss: true,
        expectRows: file.rows,
      });
      list.push(r);
      progress(
        `run ${n}/${runs}: ${mb(file.bytes)} MB file: peak RSS ${r.rss!.peakMb.toFixed(0)} MB (after Init ${r.rss!.baselineMb.toFixed(0)} MB), ${passText(r)}`,
      );
    }
  }
  // Diagnostic, once: several big files in one sync (the default concurrency opens them all at once).
  const m = await grpcSyncPass(env, {
    bucket: MULTI_BUCKET,
    rowsPerRecord: DEFAULT_ROWS_PER_RECORD,
    watchRss: true,
    expectRows: mid.rows * MULTI_COPIES,
  });
  results.multi.push(m);
  progress(`${MULTI_COPIES} x ${mb(mid.bytes)} MB files in one sync: peak RSS ${m.rss!.peakMb.toFixed(0)} MB, ${passText(m)}`);
}

/** (5) Cold start. */
export async function measureStartup(run: Run): Promise<void> {
  const { results } = run;
  for (let i = 0; i < run.options.startupRuns; i++) results.startup.push(await coldStart(run.env.entry));
  progress(`startup: ${results.startup.map((ms) => ms.toFixed(0)).join(', ')} ms`);
}

export async function measureProfile(run: Run): Promise<void> {
  progress('profile: a full sync under --cpu-prof (unminified bundle)');
  run.profile = await profilePass(run.env, run.data.mainRows, run.options.profileSrc);
}
