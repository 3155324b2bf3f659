// What the bench prints on stdout: a header line, the table of measurements, the profile's tables (--profile),
// and as the last line one JSON object with every figure.
import { GRPC_JS_DEFAULT_WINDOW } from './cli-client.js';
import { MULTI_COPIES } from './data.js';
import { cpuPerMrow, figures, summarize, type Outcome, type Summary } from './figures.js';
import { formatRows } from './formats-report.js';
import { rowsPerSecond, type Pass } from './passes/pass.js';
import type { ProfileReport } from './passes/profile.js';
import { DEFAULT_ROWS_PER_RECORD } from './plugin.js';
import { scaleRows } from './scale-report.js';
import { fmtInt, mb, median, round } from './util.js';

type Figures = ReturnType<typeof figures>;
type Targets = Figures['targets_met'];

export function report(o: Outcome): string {
  const summary = summarize(o.results);
  const { options, data } = o;
  const out: string[] = [];
  const window =
    options.clientWindow > GRPC_JS_DEFAULT_WINDOW
      ? `${mb(options.clientWindow)} MiB (as grpc-go's BDP grows it)`
      : '64 KiB (grpc-js default)';
  if (data.main.length === 0) {
    out.push(
      `cq-source-s3 benchmark: sections ${[...o.sections].join(', ')}; medians of ${options.runs} runs${options.quick ? ' (--quick)' : ''}`,
    );
  } else {
    out.push(
      `cq-source-s3 benchmark: ${data.main.length} files, ${fmtInt(data.mainRows)} rows, ${mb(data.mainBytes)} MB (snappy+zstd) on a local Swift s3api; ` +
        `medians of ${options.runs} runs${options.quick ? ' (--quick)' : ''}; gRPC client window ${window}`,
    );
  }
  out.push('');
  const json = figures(o, summary);
  out.push(table(measurementRows(o, summary, json)));
  if (o.profile) out.push('', ...profileTables(o.profile));
  out.push(JSON.stringify(json, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? null : value)));
  return out.join('\n') + '\n';
}

const ok = (value: boolean | null) => (value === null ? '' : value ? 'ok' : 'MISSED');
const runsOf = (passes: Pass[]) => passes.map((p) => fmtInt(rowsPerSecond(p))).join(' / ');
const ratio = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '');

function measurementRows(o: Outcome, s: Summary, json: Figures): string[][] {
  const targets = json.targets_met;
  const rows: string[][] = [['measurement', 'median', 'runs', 'vs ceiling', 'target', '']];
  if (o.sections.has('throughput')) rows.push(...throughputRows(o, s, json));
  if (o.sections.has('noop')) rows.push(...noopRows(o, s, targets));
  if (o.sections.has('rss')) rows.push(...rssRows(o, s, targets));
  if (o.sections.has('startup')) {
    rows.push([
      'cold start: spawn to first GetName',
      `${s.startupMs.toFixed(0)} ms`,
      `${o.results.startup.length} runs`,
      '',
      '<= 300 ms',
      ok(targets.startup_ms),
    ]);
  }
  if (o.scale) rows.push(...scaleRows(o.scale));
  if (o.formats) rows.push(...formatRows(o.formats));
  rows.push(['dist/ size', `${mb(o.distBytes)} MB`, `${fmtInt(o.distBytes)} B`, '', '<= 8 MB', ok(targets.dist_bytes)]);
  return rows;
}

function throughputRows(o: Outcome, s: Summary, json: Figures): string[][] {
  const { results } = o;
  const large = o.options.largeRowsPerRecord;
  const rows = [
    [
      'ceiling: openParquet + the S3 store, Arrow batches counted',
      `${fmtInt(s.ceilingRps)} rows/s`,
      runsOf(results.ceiling),
      '1.000',
      '',
      '',
    ],
    [
      `full sync over gRPC, rows_per_record=${DEFAULT_ROWS_PER_RECORD}`,
      `${fmtInt(s.syncRps)} rows/s`,
      runsOf(results.sync),
      ratio(s.syncRps / s.ceilingRps),
      '>= 0.8',
      ok(json.targets_met.sync_vs_ceiling),
    ],
    [
      `full sync over gRPC, rows_per_record=${large}`,
      `${fmtInt(s.syncLargeRps)} rows/s`,
      runsOf(results.syncLarge),
      ratio(s.syncLargeRps / s.ceilingRps),
      '',
      '',
    ],
  ];
  if (results.syncSmallWindow.length > 0) {
    rows.push([
      `  diag: rpr=${DEFAULT_ROWS_PER_RECORD}, grpc-js default 64 KiB client window`,
      `${fmtInt(s.smallWindowRps)} rows/s`,
      `${runsOf(results.syncSmallWindow)} (1 run)`,
      ratio(s.smallWindowRps / s.ceilingRps),
      '',
      '',
    ]);
  }
  for (const [rpr, passes, rps] of [
    [DEFAULT_ROWS_PER_RECORD, results.pipeline, s.pipelineRps],
    [large, results.pipelineLarge, s.pipelineLargeRps],
  ] as const) {
    rows.push([
      `  diag: runSync in-process, no gRPC, rpr=${rpr}`,
      `${fmtInt(rps)} rows/s`,
      runsOf(passes),
      ratio(rps / s.ceilingRps),
      '',
      '',
    ]);
  }
  rows.push(cpuRow(o, json));
  return rows;
}

/** CPU per million rows of each process (as in the JSON line), and the ratio if both were bound by their own CPU alone. */
function cpuRow(o: Outcome, json: Figures): string[] {
  const { results } = o;
  const large = o.options.largeRowsPerRecord;
  return [
    `  CPU ms / 1M rows: ceiling | in-process ${DEFAULT_ROWS_PER_RECORD}, ${large} | plugin ${DEFAULT_ROWS_PER_RECORD}, ${large}`,
    `${json.ceiling_cpu_ms_per_mrow} | ${json.pipeline_cpu_ms_per_mrow_500}, ${round(cpuPerMrow(results.pipelineLarge))} | ${json.sync_plugin_cpu_ms_per_mrow}, ${round(cpuPerMrow(results.syncLarge))}`,
    `client ${json.sync_client_cpu_ms_per_mrow}, S3 ${json.s3_server_cpu_ms_per_mrow_sync}`,
    ratio(json.cpu_bound_sync_vs_ceiling),
    '',
    '',
  ];
}

function noopRows(o: Outcome, s: Summary, targets: Targets): string[][] {
  return [
    [
      'no-change incremental sync (state backend)',
      `${fmtInt(s.noopMs)} ms`,
      o.results.noop.map((p) => fmtInt(p.ms)).join(' / '),
      `${((100 * s.noopMs) / s.fullMs).toFixed(2)}% of full`,
      '<= 2%, 0 GETs',
      ok(targets.noop_vs_full),
    ],
    ['  object GETs / LISTs of the no-change sync', `${s.noopGets} / ${s.noopLists}`, '', '', '', ''],
  ];
}

function rssRows(o: Outcome, s: Summary, targets: Targets): string[][] {
  const { results } = o;
  const { big, mid } = o.data;
  return [
    [
      `peak RSS, ${mb(big.bytes)} MB file (${big.rowGroups} row groups)`,
      `${s.peakBig.toFixed(0)} MB`,
      results.big.map((p) => p.rss!.peakMb.toFixed(0)).join(' / '),
      '',
      '<= 300 MB',
      ok(targets.peak_rss_mb),
    ],
    [
      `peak RSS, ${mb(mid.bytes)} MB file (${mid.rowGroups} row groups)`,
      `${s.peakMid.toFixed(0)} MB`,
      results.mid.map((p) => p.rss!.peakMb.toFixed(0)).join(' / '),
      `x${(s.peakBig / s.peakMid).toFixed(2)} growth`,
      'flat',
      ok(targets.peak_rss_flat),
    ],
    [
      `  diag: ${MULTI_COPIES} x ${mb(mid.bytes)} MB files in one sync`,
      `${median(results.multi.map((p) => p.rss!.peakMb)).toFixed(0)} MB`,
      '1 run',
      '',
      '',
      '',
    ],
  ];
}

function profileTables(profile: ProfileReport): string[] {
  return [
    `CPU profile of the plugin during a full sync at rows_per_record=${DEFAULT_ROWS_PER_RECORD} (${profile.file}, ${fmtInt(profile.rowsPerSecond)} rows/s under the profiler; ` +
      `main thread idle ${((100 * profile.idleMs) / profile.totalMs).toFixed(1)}% of ${fmtInt(profile.totalMs)} ms; % below are of busy time)`,
    table([['self time by module', 'ms', '%'], ...profile.modules.slice(0, 15).map((m) => [m.module, fmtInt(m.selfMs), m.pct.toFixed(1)])]),
    '',
    table([
      ['top self-time functions', 'module', 'ms', '%'],
      ...profile.top.map((f) => [f.fn, f.module, fmtInt(f.selfMs), f.pct.toFixed(1)]),
    ]),
    '',
    table([
      ['time under the innermost src/ function (self + callees)', 'ms', '%'],
      ...profile.callers.map((c) => [c.caller, fmtInt(c.ms), c.pct.toFixed(1)]),
    ]),
  ];
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}
