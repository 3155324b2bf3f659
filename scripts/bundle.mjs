// The bundle of the plugin: src/main.ts (or another entry) into an output directory as main.js plus
// chunks (pure JS), with the Parquet decode worker's entry (parquet-worker.js, started as a worker
// thread by src/formats/parquet/decoder.ts) and parquet-wasm's .wasm beside it. The bundle needs
// nothing from node_modules at run time, so one build serves every CPU architecture. Byte-for-byte
// reproducible for the same sources and version (no timestamps, no absolute paths). Used by build.mjs
// and the benchmark.
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { specValidatorPlugin } from './spec-validator.mjs';

const require = createRequire(import.meta.url);

/** @param {{ entry?: string, outdir: string, version: string, minify?: boolean }} options */
export async function bundle({ entry = 'src/main.ts', outdir, version, minify = true }) {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  // The worker's entry sits at the same place in the tree `entry` comes from; a tree from before the
  // decoder ran in workers has none.
  const worker = join(dirname(entry), 'formats/parquet/decode-worker.ts');
  const entryPoints = { main: entry, ...(existsSync(worker) ? { 'parquet-worker': worker } : {}) };
  const validator = await specValidatorPlugin(dirname(entry));
  await build({
    entryPoints,
    outdir,
    // Code behind dynamic imports (serve, preview, OpenTelemetry) goes into chunks loaded on demand;
    // code both entries use, into chunks they share.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify,
    legalComments: 'none',
    sourcemap: false,
    logLevel: 'warning',
    define: { __PLUGIN_VERSION__: JSON.stringify(version) },
    plugins: validator ? [validator] : [],
    // Some CommonJS dependencies call require() for Node built-ins; give the ESM bundle one.
    banner: { js: "import { createRequire as __cqCreateRequire } from 'node:module'; const require = __cqCreateRequire(import.meta.url);" },
  });
  const wasm = join(dirname(require.resolve('parquet-wasm/esm/parquet_wasm_bg.wasm')), 'parquet_wasm_bg.wasm');
  copyFileSync(wasm, join(outdir, 'parquet_wasm_bg.wasm'));
  return join(outdir, 'main.js');
}
