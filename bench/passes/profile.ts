// CPU profile of the plugin during a full sync (--profile).
import { mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cliChannel, countingSync } from '../cli-client.js';
import { MAIN_BUCKET } from '../data.js';
import { DEFAULT_ROWS_PER_RECORD } from '../plugin.js';
import { spawnPlugin } from '../plugin-process.js';
import { analyzeProfile, type ProfileAnalysis } from '../profile-analysis.js';
import { cwdPath, DATA_ROOT, ROOT } from '../util.js';
import { pluginSpec, type Env } from './pass.js';

export interface ProfileReport extends ProfileAnalysis {
  rowsPerSecond: number;
}

/**
 * The same bundle as scripts/build.mjs (split into chunks), but not minified, so a profile names functions and
 * modules. Built from `profileSrc` (a directory) when given, else from src/.
 */
async function buildProfileBundle(profileSrc: string | undefined): Promise<string> {
  const { bundle } = (await import(join(ROOT, 'scripts/bundle.mjs'))) as {
    bundle(o: { entry?: string; outdir: string; version: string; minify?: boolean }): Promise<string>;
  };
  const entry = profileSrc ? join(cwdPath(profileSrc), 'main.ts') : join(ROOT, 'src/main.ts');
  return bundle({ entry, outdir: join(DATA_ROOT, 'profile-dist'), version: 'bench-profile', minify: false });
}

/** A full sync of the main bucket (`rows` rows) by the unminified bundle under --cpu-prof. */
export async function profilePass(env: Env, rows: number, profileSrc: string | undefined): Promise<ProfileReport> {
  const bundle = await buildProfileBundle(profileSrc);
  const dir = join(DATA_ROOT, 'profiles', new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(dir, { recursive: true });
  const plugin = await spawnPlugin(['--cpu-prof', `--cpu-prof-dir=${dir}`], bundle);
  let ms: number;
  try {
    const started = performance.now();
    await plugin.client.getVersions();
    await plugin.client.init(pluginSpec(env, MAIN_BUCKET, DEFAULT_ROWS_PER_RECORD));
    const raw = cliChannel(plugin.client.target, env.clientWindow);
    const result = await countingSync(raw).finally(() => raw.close());
    ms = performance.now() - started;
    if (result.rows !== rows) throw new Error(`profiled sync delivered ${result.rows} rows, expected ${rows}`);
  } finally {
    plugin.client.dispose();
    await plugin.stop();
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile written in ${dir}`);
  return { ...analyzeProfile(join(dir, file), dirname(bundle)), rowsPerSecond: rows / (ms / 1000) };
}
