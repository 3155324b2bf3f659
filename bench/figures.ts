// From the passes to the figures: medians, ratios, CPU per row, the targets, and the JSON object with every
// figure (NaN, shown as null, where a section was not run).
import type { Options, Section } from './args.js';
import { MULTI_COPIES, type DataSet } from './data.js';
import { rowsPerSecond, type Pass } from './passes/pass.js';
import type { ProfileReport } from './passes/profile.js';
import { formatFigures, formatTargets } from './formats-report.js';
import { scaleFigures, scaleTargets } from './scale-report.js';
import type { Results } from './sections.js';
import type { FormatResults } from './sections-formats.js';
import type { ScaleResults } from './sections-scale.js';
import { median, round } from './util.js';

export const TARGETS = {
  syncVsCeiling: 0.8,
  peakRssMb: 300,
  noopVsFull: 0.02,
  startupMs: 300,
  distBytes: 8 * 1024 * 1024,
};

/** Everything a report is made of. */
export interface Outcome {
  options: Options;
  sections: Set<Section>;
  data: DataSet;
  /** Size of dist/, measured before the run. */
  distBytes: number;
  results: Results;
  profile?: ProfileReport;
  scale?: ScaleResults;
  formats?: FormatResults;
}

/** The medians the table and the JSON line share. */
export interface Summary {
  ceilingRps: number;
  syncRps: number;
  syncLargeRps: number;
  pipelineRps: number;
  smallWindowRps: number;
  pipelineLargeRps: number;
  /** The full sync the no-change sync is compared with: the throughput runs, else the sync that filled the state. */
  fullMs: number;
  noopMs: number;
  noopGets: number;
  noopLists: number;
  peakBig: number;
  peakMid: number;
  startupMs: number;
}

export function summarize(results: Results): Summary {
  const noop = results.noop;
  return {
    ceilingRps: median(results.ceiling.map(rowsPerSecond)),
    syncRps: median(results.sync.map(rowsPerSecond)),
    syncLargeRps: median(results.syncLarge.map(rowsPerSecond)),
    pipelineRps: median(results.pipeline.map(rowsPerSecond)),
    smallWindowRps: median(results.syncSmallWindow.map(rowsPerSecond)),
    pipelineLargeRps: median(results.pipelineLarge.map(rowsPerSecond)),
    fullMs: results.sync.length > 0 ? median(results.sync.map((p) => p.ms)) : median(results.primed.map((p) => p.ms)),
    noopMs: median(noop.map((p) => p.ms)),
    noopGets: noop.length > 0 ? Math.max(...noop.map((p) => p.getRequests ?? 0)) : NaN,
    noopLists: noop.length > 0 ? Math.max(...noop.map((p) => p.listRequests ?? 0)) : NaN,
    peakBig: median(results.big.map((p) => p.rss!.peakMb)),
    peakMid: median(results.mid.map((p) => p.rss!.peakMb)),
    startupMs: median(results.startup),
  };
}

/** Median CPU ms per million rows of some passes (the working process's CPU unless `pick` says otherwise). */
export function cpuPerMrow(passes: Pass[], pick: (p: Pass) => number | undefined = (p) => p.cpuMs): number {
  return median(passes.map((p) => (pick(p) ?? NaN) / (p.rows / 1e6)));
}

/** Each target: met or not, null where its section was not run. */
function targetsMet(s: Summary, distBytes: number) {
  const met = (value: number, ok: boolean) => (Number.isFinite(value) ? ok : null);
  return {
    sync_vs_ceiling: met(s.syncRps / s.ceilingRps, s.syncRps / s.ceilingRps >= TARGETS.syncVsCeiling),
    peak_rss_mb: met(s.peakBig, s.peakBig <= TARGETS.peakRssMb),
    peak_rss_flat: met(s.peakBig / s.peakMid, s.peakBig <= s.peakMid * 1.15),
    noop_vs_full: met(s.noopMs / s.fullMs, s.noopMs / s.fullMs <= TARGETS.noopVsFull && s.noopGets === 0),
    startup_ms: met(s.startupMs, s.startupMs <= TARGETS.startupMs),
    dist_bytes: distBytes <= TARGETS.distBytes,
  };
}

/** The JSON line's object, its keys in the order of the sections. */
export function figures(o: Outcome, s: Summary) {
  return {
    quick: o.options.quick,
    runs: o.options.runs,
    sections: [...o.sections],
    files: o.data.main.length,
    rows: o.data.mainRows,
    data_bytes: o.data.mainBytes,
    ...throughputFigures(o, s),
    ...noopFigures(o.results, s),
    ...(o.data.big ? rssFigures(o, s) : {}),
    startup_ms: round(s.startupMs, 1),
    startup_runs_ms: o.results.startup.map((ms) => round(ms, 1)),
    dist_bytes: o.distBytes,
    ...(o.scale ? scaleFigures(o.scale) : {}),
    ...(o.formats ? formatFigures(o.formats) : {}),
    targets_met: {
      ...targetsMet(s, o.distBytes),
      ...(o.scale ? scaleTargets(o.scale) : {}),
      ...(o.formats ? formatTargets(o.formats) : {}),
    },
    ...(o.profile ? { profile: profileFigures(o.profile) } : {}),
  };
}

function throughputFigures(o: Outcome, s: Summary) {
  const { results } = o;
  const large = o.options.largeRowsPerRecord;
  const { ceilingRps, syncRps, syncLargeRps, smallWindowRps, pipelineRps, pipelineLargeRps } = s;
  return {
    ceiling_rows_per_s: round(ceilingRps),
    sync_rows_per_s: round(syncRps),
    sync_vs_ceiling: round(syncRps / ceilingRps, 3),
    sync_vs_ceiling_500: round(syncRps / ceilingRps, 3),
    [`sync_rows_per_s_${large}`]: round(syncLargeRps),
    [`sync_vs_ceiling_${large}`]: round(syncLargeRps / ceilingRps, 3),
    client_window_bytes: o.options.clientWindow,
    sync_rows_per_s_64k_window: round(smallWindowRps),
    sync_vs_ceiling_64k_window: round(smallWindowRps / ceilingRps, 3),
    pipeline_no_grpc_rows_per_s_500: round(pipelineRps),
    pipeline_no_grpc_vs_ceiling_500: round(pipelineRps / ceilingRps, 3),
    [`pipeline_no_grpc_rows_per_s_${large}`]: round(pipelineLargeRps),
    [`pipeline_no_grpc_vs_ceiling_${large}`]: round(pipelineLargeRps / ceilingRps, 3),
    ceiling_s: round(median(results.ceiling.map((p) => p.ms)) / 1000, 2),
    sync_s: round(s.fullMs / 1000, 2),
    [`sync_s_${large}`]: round(median(results.syncLarge.map((p) => p.ms)) / 1000, 2),
    ceiling_cpu_ms_per_mrow: round(cpuPerMrow(results.ceiling)),
    pipeline_cpu_ms_per_mrow_500: round(cpuPerMrow(results.pipeline)),
    [`pipeline_cpu_ms_per_mrow_${large}`]: round(cpuPerMrow(results.pipelineLarge)),
    sync_plugin_cpu_ms_per_mrow: round(cpuPerMrow(results.sync)),
    [`sync_plugin_cpu_ms_per_mrow_${large}`]: round(cpuPerMrow(results.syncLarge)),
    sync_client_cpu_ms_per_mrow: round(cpuPerMrow(results.sync, (p) => p.clientCpuMs)),
    s3_server_cpu_ms_per_mrow_ceiling: round(cpuPerMrow(results.ceiling, (p) => p.s3CpuMs)),
    s3_server_cpu_ms_per_mrow_sync: round(cpuPerMrow(results.sync, (p) => p.s3CpuMs)),
    /** What the ratio would be if both were bound by their own CPU alone: ceiling CPU / plugin CPU per row. */
    cpu_bound_sync_vs_ceiling: round(cpuPerMrow(results.ceiling) / cpuPerMrow(results.sync), 3),
    ceiling_get_requests: results.ceiling[0]?.getRequests ?? null,
    sync_get_requests: results.sync[0]?.getRequests ?? null,
    records_500: results.sync[0]?.records ?? null,
    record_bytes_500: results.sync[0]?.recordBytes ?? null,
  };
}

function noopFigures(results: Results, s: Summary) {
  return {
    first_sync_with_state_s: round(median(results.primed.map((p) => p.ms)) / 1000, 2),
    noop_ms: round(s.noopMs),
    noop_vs_full: round(s.noopMs / s.fullMs, 4),
    noop_get_requests: s.noopGets,
    noop_list_requests: s.noopLists,
  };
}

function rssFigures(o: Outcome, s: Summary) {
  const { results } = o;
  const { big, mid } = o.data;
  return {
    big_file_bytes: big.bytes,
    big_file_rows: big.rows,
    big_file_row_groups: big.rowGroups,
    peak_rss_mb: round(s.peakBig, 1),
    mid_file_bytes: mid.bytes,
    peak_rss_mb_mid: round(s.peakMid, 1),
    [`peak_rss_mb_${Math.round(mid.bytes / 1e6)}mb`]: round(s.peakMid, 1),
    peak_rss_growth: round(s.peakBig / s.peakMid, 3),
    [`peak_rss_mb_${MULTI_COPIES}_files`]: round(median(results.multi.map((p) => p.rss!.peakMb)), 1),
    rss_after_init_mb: round(median(results.big.map((p) => p.rss!.baselineMb)), 1),
    big_file_rows_per_s: round(median(results.big.map(rowsPerSecond))),
  };
}

function profileFigures(profile: ProfileReport) {
  return {
    file: profile.file,
    rows_per_s: round(profile.rowsPerSecond),
    idle_pct: round((100 * profile.idleMs) / profile.totalMs, 1),
    modules: profile.modules.slice(0, 12).map((m) => ({ module: m.module, pct: round(m.pct, 1) })),
    callers: profile.callers.slice(0, 12).map((c) => ({ caller: c.caller, pct: round(c.pct, 1) })),
  };
}
