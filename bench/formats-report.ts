// The formats section's figures: its rows of the table and its keys of the JSON line, with their targets.
import { BIG_FORMATS, FORMATS, type BenchFormat, type BigFormat } from './format-data.js';
import type { GrpcPass } from './passes/grpc-sync.js';
import { rowsPerSecond, type Pass } from './passes/pass.js';
import { DEFAULT_ROWS_PER_RECORD } from './plugin.js';
import type { FormatResults } from './sections-formats.js';
import { fmtInt, mb, median, round } from './util.js';

export const FORMAT_TARGETS = { syncVsCeiling: 0.6, bigPeakRssMb: 250, flat: 1.1 };

const NAMES: Record<BenchFormat, string> = { csv: 'CSV (gzip)', jsonl: 'JSON Lines (gzip, nested)', avro: 'Avro (snappy)' };
const rps = (passes: Pass[]) => median(passes.map(rowsPerSecond));
const peak = (passes: GrpcPass[]) => median(passes.map((p) => p.rss!.peakMb));
const ok = (value: boolean | null) => (value === null ? '' : value ? 'ok' : 'MISSED');
const met = (value: number, good: boolean) => (Number.isFinite(value) ? good : null);

function ratio(r: FormatResults, format: BenchFormat): number {
  return rps(r.sync[format]) / rps(r.ceiling[format]);
}

function growth(r: FormatResults, format: BigFormat): number {
  return peak(r.big[format].big) / peak(r.big[format].quarter);
}

export function formatTargets(r: FormatResults) {
  const targets: Record<string, boolean | null> = {};
  for (const format of FORMATS)
    targets[`${format}_sync_vs_ceiling`] = met(ratio(r, format), ratio(r, format) >= FORMAT_TARGETS.syncVsCeiling);
  for (const format of BIG_FORMATS) {
    const big = peak(r.big[format].big);
    targets[`${format}_big_peak_rss_mb`] = met(big, big <= FORMAT_TARGETS.bigPeakRssMb);
    targets[`${format}_big_peak_rss_flat`] = met(growth(r, format), growth(r, format) <= FORMAT_TARGETS.flat);
  }
  return targets;
}

export function formatFigures(r: FormatResults) {
  const figures: Record<string, number> = { format_rows: r.data.rowsPerFormat };
  for (const format of FORMATS) {
    figures[`${format}_ceiling_rows_per_s`] = round(rps(r.ceiling[format]));
    figures[`${format}_sync_rows_per_s`] = round(rps(r.sync[format]));
    figures[`${format}_sync_vs_ceiling`] = round(ratio(r, format), 3);
    figures[`${format}_bytes`] = r.data.sets[format].reduce((n, f) => n + f.bytes, 0);
  }
  for (const format of BIG_FORMATS) {
    const { big, quarter } = r.data.big[format];
    figures[`${format}_big_text_bytes`] = big.textBytes;
    figures[`${format}_big_gzip_bytes`] = big.bytes;
    figures[`${format}_big_peak_rss_mb`] = round(peak(r.big[format].big), 1);
    figures[`${format}_quarter_text_bytes`] = quarter.textBytes;
    figures[`${format}_quarter_peak_rss_mb`] = round(peak(r.big[format].quarter), 1);
    figures[`${format}_big_peak_rss_growth`] = round(growth(r, format), 3);
  }
  return figures;
}

const runsOf = (passes: Pass[]) => passes.map((p) => fmtInt(rowsPerSecond(p))).join(' / ');
const peaks = (passes: GrpcPass[]) => passes.map((p) => p.rss!.peakMb.toFixed(0)).join(' / ');

export function formatRows(r: FormatResults): string[][] {
  const t = formatTargets(r);
  const rows: string[][] = [];
  const count = fmtInt(r.data.rowsPerFormat);
  for (const format of FORMATS) {
    const ceiling = rps(r.ceiling[format]);
    const sync = rps(r.sync[format]);
    rows.push([
      `${NAMES[format]}, ${count} rows: ceiling (parse to plain values)`,
      `${fmtInt(ceiling)} rows/s`,
      runsOf(r.ceiling[format]),
      '1.000',
      '',
      '',
    ]);
    rows.push([
      `  full sync over gRPC, rows_per_record=${DEFAULT_ROWS_PER_RECORD}`,
      `${fmtInt(sync)} rows/s`,
      runsOf(r.sync[format]),
      ratio(r, format).toFixed(3),
      `>= ${FORMAT_TARGETS.syncVsCeiling}`,
      ok(t[`${format}_sync_vs_ceiling`] ?? null),
    ]);
  }
  for (const format of BIG_FORMATS) {
    const { big, quarter } = r.data.big[format];
    const name = format === 'csv' ? 'CSV.gz' : 'JSONL.gz';
    rows.push([
      `peak RSS, ${name} of ${mb(big.textBytes)} MB text (${mb(big.bytes)} MB gzip)`,
      `${peak(r.big[format].big).toFixed(0)} MB`,
      peaks(r.big[format].big),
      '',
      `<= ${FORMAT_TARGETS.bigPeakRssMb} MB`,
      ok(t[`${format}_big_peak_rss_mb`] ?? null),
    ]);
    rows.push([
      `peak RSS, ${name} of ${mb(quarter.textBytes)} MB text`,
      `${peak(r.big[format].quarter).toFixed(0)} MB`,
      peaks(r.big[format].quarter),
      `x${growth(r, format).toFixed(2)} growth`,
      'flat (10%)',
      ok(t[`${format}_big_peak_rss_flat`] ?? null),
    ]);
  }
  return rows;
}
