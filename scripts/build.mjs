// Bundles src/main.ts into dist/main.js plus chunks (pure JS) and copies parquet-wasm's .wasm beside it.
// The bundle needs nothing from node_modules at run time, so one build serves every CPU architecture.
// VERSION (env) is injected as the plugin version; the output is byte-for-byte reproducible for the
// same sources and VERSION (no timestamps, no absolute paths).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const version = process.env.VERSION || 'development';
const out = 'dist';

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await build({
  entryPoints: ['src/main.ts'],
  outdir: out,
  // Code behind dynamic imports (serve, preview, OpenTelemetry) goes into chunks loaded on demand.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  sourcemap: false,
  logLevel: 'warning',
  define: { __PLUGIN_VERSION__: JSON.stringify(version) },
  // Some CommonJS dependencies call require() for Node built-ins; give the ESM bundle one.
  banner: { js: "import { createRequire as __cqCreateRequire } from 'node:module'; const require = __cqCreateRequire(import.meta.url);" },
});

const wasm = join(dirname(require.resolve('parquet-wasm/esm/parquet_wasm_bg.wasm')), 'parquet_wasm_bg.wasm');
copyFileSync(wasm, join(out, 'parquet_wasm_bg.wasm'));
console.error(`built ${out}/main.js (version ${version})`);
