// What every part of the bench shares: the repository's paths, progress lines on stderr, and number helpers.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DIST = join(ROOT, 'dist');
export const DIST_MAIN = join(DIST, 'main.js');
/** Generated data, profile bundles and profiles (git-ignored). */
export const DATA_ROOT = join(ROOT, '.bench-data');

/** A path given on the command line, relative to the working directory. */
export function cwdPath(path: string): string {
  return fileURLToPath(new URL(path, `file://${process.cwd()}/`));
}

export function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** NaN for no values, so a section that was not run yields null in the JSON line. */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function mb(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}

export function round(n: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
