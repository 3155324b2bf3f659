// The scale section (--only scale): memory that must not depend on how big or how many the files are, and
// the cost of a sync that only lists. File shapes are read from a local directory (`local_path`), so the
// figures are the plugin's own; the listing shape is a bucket of the suite's S3 server.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStateBackend } from '../test/support/state-backend.js';
import {
  ensureListingTemplate,
  fillListingBucket,
  LISTING_BUCKET,
  LISTING_NEWEST,
  LISTING_STATE_TABLE,
  listingCount,
} from './listing-data.js';
import { grpcSyncPass, type GrpcPass } from './passes/grpc-sync.js';
import { passText } from './passes/pass.js';
import { DEFAULT_ROWS_PER_RECORD } from './plugin.js';
import { ensureScaleData, TINY_ROWS, type LocalShape, type ScaleData } from './scale-data.js';
import type { Run } from './sections.js';
import { fmtInt, mb, progress } from './util.js';

export interface ScaleResults {
  /** The file shapes (absent with --scale-parts listing). */
  data?: ScaleData;
  spark: GrpcPass[];
  sparkCopies: GrpcPass[];
  /** The smaller set of small files (once) and the larger one (every run, interleaved with `oneFile`). */
  tinySmall: GrpcPass[];
  tinyLarge: GrpcPass[];
  oneFile: GrpcPass[];
  largeValues: GrpcPass[];
  listingObjects: number;
  /** The no-change syncs over the listing bucket. */
  listing: GrpcPass[];
}

export async function measureScale(run: Run): Promise<void> {
  const parts = run.options.scaleParts;
  const results: ScaleResults = {
    data: parts.has('files') ? await ensureScaleData(run.options.quick) : undefined,
    spark: [],
    sparkCopies: [],
    tinySmall: [],
    tinyLarge: [],
    oneFile: [],
    largeValues: [],
    listingObjects: listingCount(run.options.quick),
    listing: [],
  };
  run.scale = results;
  if (results.data) await measureFiles(run, results, results.data);
  if (parts.has('listing')) await measureListing(run, results);
}

async function measureFiles(run: Run, results: ScaleResults, data: ScaleData): Promise<void> {
  const { spark, sparkCopies, tiny } = data;
  results.spark.push(await localSync(run, spark, `Spark-shaped ${mb(spark.bytes)} MB file (${data.spark.rowGroups} row groups)`));
  results.sparkCopies.push(await localSync(run, sparkCopies, `${sparkCopies.files} Spark-shaped files in one table`));
  const large = data.largeValues;
  results.largeValues.push(await localSync(run, large, `${large.rows} values of 1 MiB in one ${mb(large.groupBytes)} MB row group`));
  warmPageCache(tiny[0].dir);
  results.tinySmall.push(await localSync(run, tiny[0], `${fmtInt(tiny[0].files)} files of ${TINY_ROWS} rows`));
  warmPageCache(tiny[1].dir);
  warmPageCache(data.oneFile.dir);
  // Interleaved, so drift on a shared machine hits both alike.
  for (let n = 1; n <= run.options.runs; n++) {
    results.tinyLarge.push(await localSync(run, tiny[1], `run ${n}: ${fmtInt(tiny[1].files)} files of ${TINY_ROWS} rows`));
    results.oneFile.push(await localSync(run, data.oneFile, `run ${n}: the same ${fmtInt(data.oneFile.rows)} rows in one file`));
  }
}

/** A full sync of a local directory, peak RSS watched. */
async function localSync(run: Run, shape: LocalShape, label: string): Promise<GrpcPass> {
  const pass = await grpcSyncPass(run.env, {
    bucket: '',
    rowsPerRecord: DEFAULT_ROWS_PER_RECORD,
    spec: { local_path: shape.dir },
    watchRss: true,
    expectRows: shape.rows,
  });
  progress(`scale: ${label}: peak RSS ${pass.rss!.peakMb.toFixed(0)} MB, ${passText(pass)}`);
  return pass;
}

/** Reads every file under `dir` once, so the first measured pass does not pay for the disk. */
function warmPageCache(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) readFileSync(join(entry.parentPath, entry.name));
  }
}

/** A no-change incremental sync over the listing bucket: LIST time, LIST requests and peak RSS. */
async function measureListing(run: Run, results: ScaleResults): Promise<void> {
  const count = results.listingObjects;
  const template = (await ensureListingTemplate()).files[0]!.path;
  run.backend ??= await startStateBackend();
  const backend = { tableName: LISTING_STATE_TABLE, connection: run.backend.connection };
  const spec = { bucket: LISTING_BUCKET, rowsPerRecord: DEFAULT_ROWS_PER_RECORD, backend };
  // The newest object of each directory, synced: each table's cursor and schema (see listing-data.ts).
  await fillListingBucket(run.env.s3, template, count - LISTING_NEWEST, count);
  const primed = await grpcSyncPass(run.env, { ...spec, expectRows: LISTING_NEWEST * TINY_ROWS });
  progress(`listing: state filled by a sync of the newest ${LISTING_NEWEST} objects: ${primed.getRequests} GETs`);
  progress(`listing: writing the other ${fmtInt(count - LISTING_NEWEST)} objects (Swift's own store writer)`);
  await fillListingBucket(run.env.s3, template, 0, count - LISTING_NEWEST);
  for (let n = 1; n <= run.options.runs; n++) {
    const p = await grpcSyncPass(run.env, { ...spec, watchRss: true, expectRows: 0 });
    if (p.getRequests !== 0) throw new Error(`the no-change sync over ${LISTING_BUCKET} made ${p.getRequests} GETs`);
    results.listing.push(p);
    progress(
      `run ${n}: no-change sync over ${fmtInt(count)} objects: ${fmtInt(p.ms)} ms, ${p.listRequests} LISTs, peak RSS ${p.rss!.peakMb.toFixed(0)} MB`,
    );
  }
}
