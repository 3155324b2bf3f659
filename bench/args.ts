// The bench's command line (listed at the top of run.ts), parsed with node:util parseArgs.
import { parseArgs } from 'node:util';
import { cwdPath, DIST_MAIN } from './util.js';

export interface Options {
  /** Medians of this many runs; measurements are interleaved run by run. */
  runs: number;
  /** Cold starts to take the median of. */
  startupRuns: number;
  /** The second rows_per_record measured. */
  largeRowsPerRecord: number;
  quick: boolean;
  /** Run `npm run build` first. */
  build: boolean;
  profile: boolean;
  /** --only, unparsed: see selectedSections. */
  only?: string;
  /** The plugin the gRPC measurements start (default dist/main.js; another build for A/B comparisons). */
  entry: string;
  /**
   * HTTP/2 receive window of the bench's gRPC client. The CloudQuery CLI is a grpc-go client, whose BDP estimator
   * grows the window of a bulk stream up to 16 MiB (grpc-go's bdpLimit); grpc-js keeps a fixed 64 KiB unless told.
   * 16 MiB emulates the CLI; 0 means grpc-js's default (reported as a diagnostic row either way).
   */
  clientWindow: number;
  /** The diagnostic sync through a 64 KiB-window client. */
  windowDiag: boolean;
  /** Sources the profiled bundle is built from (default src/). */
  profileSrc?: string;
  /** The parts of the scale section to run (default both). */
  scaleParts: Set<'files' | 'listing'>;
}

export function parseOptions(): Options {
  const { values: flags } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      quick: { type: 'boolean', default: false },
      'no-build': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      'startup-runs': { type: 'string', default: '10' },
      'large-rows-per-record': { type: 'string', default: '10000' },
      'client-window': { type: 'string', default: String(16 * 1024 * 1024) },
      only: { type: 'string' },
      entry: { type: 'string' },
      'no-window-diag': { type: 'boolean', default: false },
      'profile-src': { type: 'string' },
      'scale-parts': { type: 'string', default: 'files,listing' },
    },
    strict: true,
  });
  return {
    runs: positiveInt(flags.runs, '--runs'),
    startupRuns: positiveInt(flags['startup-runs'], '--startup-runs'),
    largeRowsPerRecord: positiveInt(flags['large-rows-per-record'], '--large-rows-per-record'),
    quick: flags.quick,
    build: !flags['no-build'],
    profile: flags.profile,
    only: flags.only,
    entry: flags.entry ? cwdPath(flags.entry) : DIST_MAIN,
    clientWindow: Number(flags['client-window']),
    windowDiag: !flags['no-window-diag'],
    profileSrc: flags['profile-src'],
    scaleParts: scaleParts(flags['scale-parts']),
  };
}

function scaleParts(text: string): Set<'files' | 'listing'> {
  const parts = text.split(',').map((x) => x.trim());
  for (const part of parts)
    if (part !== 'files' && part !== 'listing') throw new Error(`--scale-parts: unknown part "${part}" (files, listing)`);
  return new Set(parts as ('files' | 'listing')[]);
}

function positiveInt(text: string | undefined, name: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${text}`);
  return n;
}

export const SECTIONS = ['throughput', 'noop', 'rss', 'startup', 'profile', 'scale', 'formats'] as const;
/** Sections run only when asked for (--only, or --profile): the longer ones, each with data of its own. */
const ON_REQUEST: readonly Section[] = ['profile', 'scale', 'formats'];
export type Section = (typeof SECTIONS)[number];

/** --only's sections (default: all but those ON_REQUEST), plus profile with --profile. */
export function selectedSections(options: Options): Set<Section> {
  const only = options.only
    ?.split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  for (const name of only ?? [])
    if (!SECTIONS.includes(name as Section)) throw new Error(`--only: unknown section "${name}" (one of ${SECTIONS.join(', ')})`);
  const chosen = new Set<Section>((only ?? SECTIONS.filter((x) => !ON_REQUEST.includes(x))) as Section[]);
  if (options.profile) chosen.add('profile');
  return chosen;
}
