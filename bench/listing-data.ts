// The listing shape: a bucket of many small Parquet objects on the suite's S3 server, and the state an
// incremental sync leaves after reading them all. PUTs through Swift's proxy manage ~40 objects a second
// on the development machine (100,000 would take 40 minutes), so the objects are written straight into
// the running server's store by Swift's own library (swift-fill.py, ~2.5 minutes for 100,000), the same
// deterministic listing every run. Reading them all to fill the state would take as long again, so the
// state is made the way the plugin itself would make it, cheaply: the newest object of each directory
// is written and synced first (cursor and schema of each table), then the older ones are written
// behind the cursor: exactly the state a full sync of every object leaves.
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { S3TestServer } from '../test/support/s3-server.js';
import { cachedDataSet, withDuckDb, type CachedFile } from './data-cache.js';
import { smallSql, TINY_DIRS, TINY_ROWS } from './scale-data.js';
import { DATA_ROOT, ROOT } from './util.js';

const run = promisify(execFile);

export const LISTING_BUCKET = 'bench-listing';
export const LISTING_STATE_TABLE = 'cq_state_listing';
/** One object per directory: the newest of each, synced first. */
export const LISTING_NEWEST = TINY_DIRS;
/** Swift's account for the suite's tempauth user test:tester. */
const SWIFT_ACCOUNT = 'AUTH_test';
/** Object i's Last-Modified: 2026-01-01T00:00:00Z + i seconds. */
const FIRST_EPOCH = 1_767_225_600;

export function listingCount(quick: boolean): number {
  return quick ? 10_000 : 100_000;
}

/** The object every key of the bucket is a copy of (50 rows, like the scale section's small files). */
export function ensureListingTemplate(): Promise<{ files: CachedFile[] }> {
  return cachedDataSet(join(DATA_ROOT, 'listing-template'), { sql: smallSql(TINY_ROWS) }, async (dir) => {
    const path = join(dir, 'template.parquet');
    await withDuckDb((sql) => sql(`COPY (${smallSql(TINY_ROWS)}) TO '${path}' (FORMAT parquet, COMPRESSION snappy)`));
    return { files: [{ path, bytes: statSync(path).size }] };
  });
}

/** Writes objects [from, to) into the bucket (created through S3 first); keys d{NN}/part-{NNNNNN}.parquet. */
export async function fillListingBucket(s3: S3TestServer, template: string, from: number, to: number): Promise<void> {
  await s3.createBucket(LISTING_BUCKET);
  const script = join(ROOT, 'bench', 'swift-fill.py');
  const args = [
    script,
    swiftDir(s3),
    SWIFT_ACCOUNT,
    LISTING_BUCKET,
    template,
    String(from),
    String(to),
    String(TINY_DIRS),
    String(FIRST_EPOCH),
  ];
  // /usr/bin/python3: the interpreter the Debian packages install Swift for.
  await run('/usr/bin/python3', args, { maxBuffer: 1024 * 1024 });
}

/** The directory the suite's Swift server runs in, from its proxy's command line. */
function swiftDir(s3: S3TestServer): string {
  for (const pid of s3.pids) {
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const conf = args.find((a) => a.endsWith('/proxy-server.conf'));
    if (conf) return conf.slice(0, -'/proxy-server.conf'.length);
  }
  throw new Error(
    "the listing shape needs the suite's own Swift server (not CQ_TEST_S3_ENDPOINT): no proxy-server.conf among its processes",
  );
}
