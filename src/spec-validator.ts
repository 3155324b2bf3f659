// The spec's JSON Schema validator. Run from sources it is compiled by ajv at first use; the bundle replaces
// this module with the same validator as ajv's standalone code, generated at build time from the same schema
// and options (scripts/spec-validator.mjs), so a plugin process does not spend ~90 ms compiling it in Init.
import { Ajv, type ValidateFunction } from 'ajv';
import { specSchema } from './spec-schema.js';

export { specSchema };

/** ajv's options, shared with the build's standalone code. */
export const AJV_OPTIONS = { allErrors: true, strict: true, strictSchema: false } as const;

export function compileSpecValidator(): ValidateFunction {
  return new Ajv(AJV_OPTIONS).compile(specSchema);
}
