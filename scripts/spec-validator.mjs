// An esbuild plugin that bundles the spec's validator as ajv standalone code: src/spec-validator.ts is replaced
// by the validator ajv generates from the same schema and options, so the plugin never compiles it at run time
// (~90 ms of every Init). The schema is read from the sources being bundled, so the code always matches them.
import { build } from 'esbuild';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';

/** The plugin for the tree under `srcDir`, or undefined when that tree has no spec-validator.ts. */
export async function specValidatorPlugin(srcDir) {
  const path = resolve(srcDir, 'spec-validator.ts');
  if (!existsSync(path)) return undefined;
  const contents = await standaloneValidator(path);
  return {
    name: 'spec-validator',
    setup(b) {
      b.onLoad({ filter: /spec-validator\.ts$/ }, (args) => (args.path === path ? { contents, loader: 'js' } : undefined));
    },
  };
}

/** ajv's standalone code for the module's schema, exporting compileSpecValidator() as the module does. */
async function standaloneValidator(path) {
  const { specSchema, AJV_OPTIONS } = await importTs(path);
  const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true, esm: true } });
  const code = standaloneCode.default(ajv, ajv.compile(specSchema));
  // The generated code's require() calls (ajv's small runtime helpers) are bundled by esbuild.
  return `${code}\nexport function compileSpecValidator() { return validate; }\n`;
}

/** Imports a TypeScript module by bundling it (with its dependencies) into a temporary file. */
async function importTs(path) {
  const result = await build({ entryPoints: [path], bundle: true, platform: 'node', format: 'esm', write: false, logLevel: 'warning' });
  const dir = mkdtempSync(join(tmpdir(), 'cq-spec-'));
  try {
    const file = join(dir, 'module.mjs');
    writeFileSync(file, result.outputFiles[0].text);
    return await import(pathToFileURL(file).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
