// The scale section's figures: its rows of the table and its keys of the JSON line, with their targets.
import type { GrpcPass } from './passes/grpc-sync.js';
import { SPARK_COPIES, TINY_DIRS, TINY_ROWS, type ScaleData } from './scale-data.js';
import type { ScaleResults } from './sections-scale.js';
import { fmtInt, mb, median, round } from './util.js';

export const SCALE_TARGETS = {
  sparkPeakRssMb: 450,
  tinyPeakRssMb: 200,
  growthKbPerFile: 1.5,
  tinyVsOneFile: 5,
  /** Peak RSS over the compressed size of a row group of 1 MiB values. */
  largeValuesVsRowGroup: 3.5,
};

const peak = (passes: GrpcPass[]) => median(passes.map((p) => p.rss!.peakMb));
const ok = (value: boolean | null) => (value === null ? '' : value ? 'ok' : 'MISSED');
const peaks = (passes: GrpcPass[]) => passes.map((p) => p.rss!.peakMb.toFixed(0)).join(' / ');
const met = (value: number, good: boolean) => (Number.isFinite(value) ? good : null);

/** The file shapes' medians: peaks, KB of peak RSS per additional small file, small files' time over one file's. */
function summarize(r: ScaleResults, data: ScaleData) {
  const [small, large] = data.tiny;
  const tinySmall = peak(r.tinySmall);
  const tinyLarge = peak(r.tinyLarge);
  return {
    spark: peak(r.spark),
    sparkCopies: peak(r.sparkCopies),
    tinySmall,
    tinyLarge,
    growthKb: ((tinyLarge - tinySmall) * 1024) / (large.files - small.files),
    tinyVsOne: median(r.tinyLarge.map((p) => p.ms)) / median(r.oneFile.map((p) => p.ms)),
    largeValues: peak(r.largeValues),
    largeValuesVsGroup: peak(r.largeValues) / (data.largeValues.groupBytes / 1024 / 1024),
  };
}

/** Each target: met or not, null where it was not measured. */
export function scaleTargets(r: ScaleResults) {
  if (!r.data) return {};
  const s = summarize(r, r.data);
  return {
    spark_peak_rss_mb: met(s.spark, s.spark <= SCALE_TARGETS.sparkPeakRssMb),
    small_files_peak_rss_mb: met(s.tinyLarge, s.tinyLarge <= SCALE_TARGETS.tinyPeakRssMb),
    small_files_growth_kb_per_file: met(s.growthKb, s.growthKb <= SCALE_TARGETS.growthKbPerFile),
    small_files_vs_one_file: met(s.tinyVsOne, s.tinyVsOne <= SCALE_TARGETS.tinyVsOneFile),
    large_values_vs_row_group: met(s.largeValuesVsGroup, s.largeValuesVsGroup <= SCALE_TARGETS.largeValuesVsRowGroup),
  };
}

export function scaleFigures(r: ScaleResults) {
  return { ...(r.data ? fileFigures(r, r.data) : {}), ...(r.listing.length > 0 ? listingFigures(r) : {}) };
}

function fileFigures(r: ScaleResults, data: ScaleData) {
  const s = summarize(r, data);
  const [small, large] = data.tiny;
  return {
    spark_file_bytes: data.spark.bytes,
    spark_file_row_groups: data.spark.rowGroups,
    spark_row_group_compressed_bytes: data.spark.compressedGroupBytes,
    spark_row_group_uncompressed_bytes: data.spark.uncompressedGroupBytes,
    spark_peak_rss_mb: round(s.spark, 1),
    [`spark_${SPARK_COPIES}_files_peak_rss_mb`]: round(s.sparkCopies, 1),
    [`small_files_${small.files}_peak_rss_mb`]: round(s.tinySmall, 1),
    [`small_files_${large.files}_peak_rss_mb`]: round(s.tinyLarge, 1),
    small_files_growth_kb_per_file: round(s.growthKb, 3),
    small_files_vs_one_file: round(s.tinyVsOne, 2),
    small_files_s: round(median(r.tinyLarge.map((p) => p.ms)) / 1000, 2),
    one_file_s: round(median(r.oneFile.map((p) => p.ms)) / 1000, 2),
    large_values_row_group_bytes: data.largeValues.groupBytes,
    large_values_peak_rss_mb: round(s.largeValues, 1),
    large_values_vs_row_group: round(s.largeValuesVsGroup, 2),
  };
}

function listingFigures(r: ScaleResults) {
  return {
    listing_objects: r.listingObjects,
    listing_noop_ms: round(median(r.listing.map((p) => p.ms))),
    listing_list_requests: Math.max(...r.listing.map((p) => p.listRequests ?? 0)),
    listing_peak_rss_mb: round(peak(r.listing), 1),
  };
}

export function scaleRows(r: ScaleResults): string[][] {
  return [...(r.data ? fileRows(r, r.data) : []), ...(r.listing.length > 0 ? listingRows(r) : [])];
}

function fileRows(r: ScaleResults, data: ScaleData): string[][] {
  const s = summarize(r, data);
  const t = scaleTargets(r);
  const { spark } = data;
  const [small, large] = data.tiny;
  const group = `${spark.rowGroups} row groups of ${mb(spark.compressedGroupBytes)} MB (${mb(spark.uncompressedGroupBytes)} MB uncompressed)`;
  const times = (passes: GrpcPass[]) => passes.map((p) => (p.ms / 1000).toFixed(1)).join(' / ');
  return [
    [
      `peak RSS, Spark-shaped ${mb(spark.bytes)} MB file, ${group}`,
      `${s.spark.toFixed(0)} MB`,
      peaks(r.spark),
      '',
      `<= ${SCALE_TARGETS.sparkPeakRssMb} MB`,
      ok(t.spark_peak_rss_mb ?? null),
    ],
    [`  ${SPARK_COPIES} such files in one table, one sync`, `${s.sparkCopies.toFixed(0)} MB`, peaks(r.sparkCopies), '', '', ''],
    [
      `peak RSS, ${data.largeValues.rows} values of 1 MiB in one ${mb(data.largeValues.groupBytes)} MB row group`,
      `${s.largeValues.toFixed(0)} MB (x${s.largeValuesVsGroup.toFixed(2)})`,
      peaks(r.largeValues),
      '',
      `<= ${SCALE_TARGETS.largeValuesVsRowGroup}x the row group`,
      ok(t.large_values_vs_row_group ?? null),
    ],
    [
      `peak RSS, ${fmtInt(small.files)} files of ${TINY_ROWS} rows in ${TINY_DIRS} directories`,
      `${s.tinySmall.toFixed(0)} MB`,
      peaks(r.tinySmall),
      '',
      '',
      '',
    ],
    [
      `peak RSS, ${fmtInt(large.files)} files of ${TINY_ROWS} rows in ${TINY_DIRS} directories`,
      `${s.tinyLarge.toFixed(0)} MB`,
      peaks(r.tinyLarge),
      '',
      `<= ${SCALE_TARGETS.tinyPeakRssMb} MB`,
      ok(t.small_files_peak_rss_mb ?? null),
    ],
    [
      `  growth per file (${fmtInt(small.files)} -> ${fmtInt(large.files)} files)`,
      `${s.growthKb.toFixed(2)} KB`,
      '',
      '',
      `<= ${SCALE_TARGETS.growthKbPerFile} KB`,
      ok(t.small_files_growth_kb_per_file ?? null),
    ],
    [
      `${fmtInt(large.files)} small files vs the same ${fmtInt(data.oneFile.rows)} rows in one file`,
      `x${s.tinyVsOne.toFixed(2)} time`,
      `${times(r.tinyLarge)} s vs ${times(r.oneFile)} s`,
      '',
      `<= ${SCALE_TARGETS.tinyVsOneFile}x`,
      ok(t.small_files_vs_one_file ?? null),
    ],
  ];
}

function listingRows(r: ScaleResults): string[][] {
  const f = listingFigures(r);
  return [
    [
      `no-change sync over ${fmtInt(r.listingObjects)} objects (S3): LIST time`,
      `${fmtInt(f.listing_noop_ms)} ms`,
      r.listing.map((p) => fmtInt(p.ms)).join(' / '),
      '',
      '',
      '',
    ],
    [`  its LIST requests / peak RSS`, `${f.listing_list_requests} / ${f.listing_peak_rss_mb.toFixed(0)} MB`, peaks(r.listing), '', '', ''],
  ];
}
