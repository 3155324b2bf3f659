import type { Plugin } from 'esbuild';

/** The esbuild plugin bundling src/spec-validator.ts as ajv standalone code (undefined if the tree has none). */
export function specValidatorPlugin(srcDir: string): Promise<Plugin | undefined>;
