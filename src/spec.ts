// The plugin spec: one JSON Schema (served by GetSpecSchema and used by Init to validate), the typed
// view of it, defaults, and validation messages that name every bad field.
import type { ErrorObject, ValidateFunction } from 'ajv';
import { resolveCsv, type CsvOptions, type CsvSpec } from './spec-csv.js';
import { specSchema, type FileType } from './spec-schema.js';
import { compileSpecValidator } from './spec-validator.js';
import { accessProblems, resolveAccess, type AccessOptions, type AccessSpec } from './spec-access.js';
import { layoutProblems, resolveLayout, type TableLayout, type TablesSpec } from './spec-tables.js';
import { declaredProblems, resolveDeclared, type DeclaredSchemas, type DeclaredSpec } from './spec-declared.js';

export type { CsvOptions, CsvSpec, FileType };

/** The spec as the user writes it (snake_case keys, as in the Go plugin this replaces). */
export interface Spec extends TablesSpec, AccessSpec, DeclaredSpec {
  bucket?: string;
  local_path?: string;
  region?: string;
  local_profile?: string;
  path_prefix?: string;
  filetype?: FileType | 'ndjson';
  csv?: CsvSpec;
  schema_sample_rows?: number;
  infer_types?: boolean;
  schema_mode?: 'merge' | 'strict';
  rows_per_record?: number;
  concurrency?: number;
  endpoint?: string;
  path_style?: boolean;
  access_key_id?: string;
  secret_access_key?: string;
  session_token?: string;
  max_retries?: number;
}

/** The spec after defaults: what the rest of the plugin works with. */
export interface ResolvedSpec {
  /** `region` is '' when the spec gives none: the S3 store then asks the bucket. */
  store: { kind: 's3'; bucket: string; region: string } | { kind: 'local'; path: string };
  localProfile: string;
  pathPrefix: string;
  filetype: FileType;
  csv: CsvOptions;
  /** Schema inference of text formats (CSV, TSV, JSON Lines, JSON). */
  inference: { sampleRows: number; inferTypes: boolean };
  /** merge: files of a table merge their schemas; strict: a file unlike the table's first is skipped. */
  schemaMode: 'merge' | 'strict';
  /** How keys become tables and which columns the plugin adds. */
  layout: TableLayout;
  /** Tables whose columns the spec declares (`schema`), by final table name. */
  declared: DeclaredSchemas;
  access: AccessOptions;
  rowsPerRecord: number;
  /** Maximum files read at once; Infinity when the spec asks for no limit (a negative value). */
  concurrency: number;
  endpoint: string;
  pathStyle: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  maxRetries: number;
}

export const DEFAULT_ROWS_PER_RECORD = 500;
export const DEFAULT_CONCURRENCY = 50;
export const DEFAULT_MAX_RETRIES = 5;
export const DEFAULT_SAMPLE_ROWS = 1000;

export { specSchema };

/** Fields whose values must never be logged or echoed in an error. */
export const SECRET_FIELDS = ['secret_access_key', 'session_token', 'sse_customer_key'] as const;

// Made on first use (compiled from sources, precompiled in the bundle): `version` and discovery never need it.
let validator: ValidateFunction | undefined;
function validate(value: unknown): value is Spec {
  validator ??= compileSpecValidator();
  return validator(value);
}

export class SpecError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid spec: ${problems.join('; ')}`);
    this.name = 'SpecError';
  }
}

/** The field names allowed at `path` ('' for the top level, 'csv' for the csv options). */
function knownFields(path: string): string[] {
  if (/^schema\.[^.]*\.\d+$/.test(path)) return ['name', 'type', 'primary_key', 'not_null'];
  const schema = path === 'csv' ? specSchema.properties?.csv : specSchema;
  return Object.keys((schema as { properties?: object } | undefined)?.properties ?? {});
}

function closest(name: string, path: string): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const candidate of knownFields(path)) {
    const score = editDistance(name, candidate);
    if (score < bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return bestScore <= 3 ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

function describe(error: ErrorObject): string {
  const field = error.instancePath.replace(/^\//, '').replaceAll('/', '.');
  if (error.keyword === 'additionalProperties') {
    const extra = String((error.params as { additionalProperty: string }).additionalProperty);
    const hint = closest(extra, field);
    return `${field ? `${field}: ` : ''}unknown field "${extra}"${hint ? ` (did you mean "${hint}"?)` : ''}`;
  }
  if (error.keyword === 'enum') {
    const allowed = (error.params as { allowedValues: unknown[] }).allowedValues.join(', ');
    return `${field}: must be one of: ${allowed}`;
  }
  return field ? `${field}: ${error.message ?? 'is invalid'}` : `spec ${error.message ?? 'is invalid'}`;
}

/**
 * Parses and validates a spec (the JSON bytes of Init, or an object from a YAML file).
 * Throws SpecError listing every problem at once.
 */
export function parseSpec(input: unknown): ResolvedSpec {
  let raw: unknown = input;
  if (input instanceof Uint8Array) {
    const text = Buffer.from(input).toString('utf8').trim();
    try {
      raw = text === '' ? null : JSON.parse(text);
    } catch (err) {
      throw new SpecError([`spec is not valid JSON: ${(err as Error).message}`]);
    }
  }
  // The CLI sends `null` for an empty spec.
  if (raw === null || raw === undefined) raw = {};

  const problems: string[] = [];
  if (!validate(raw)) {
    for (const error of validator?.errors ?? []) problems.push(describe(error));
    throw new SpecError(problems);
  }
  const spec = raw as Spec;

  if (spec.bucket && spec.local_path) problems.push('bucket and local_path are exclusive: set one of them');
  if (!spec.bucket && !spec.local_path) problems.push('bucket is required (or local_path, to read a local directory)');
  if (spec.access_key_id && !spec.secret_access_key) problems.push('secret_access_key is required with access_key_id');
  if (!spec.access_key_id && (spec.secret_access_key || spec.session_token)) {
    problems.push('access_key_id is required with secret_access_key/session_token');
  }
  if (spec.endpoint) {
    try {
      const url = new URL(spec.endpoint);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') problems.push('endpoint: must be an http:// or https:// URL');
    } catch {
      problems.push('endpoint: must be a URL such as https://s3.example.com');
    }
  }
  problems.push(...csvProblems(spec.csv), ...layoutProblems(spec), ...accessProblems(spec), ...declaredProblems(spec));
  if (problems.length > 0) throw new SpecError(problems);

  const concurrency = spec.concurrency ?? 0;
  return {
    store: spec.bucket ? { kind: 's3', bucket: spec.bucket, region: spec.region ?? '' } : { kind: 'local', path: spec.local_path! },
    localProfile: spec.local_profile ?? '',
    pathPrefix: spec.path_prefix ?? '',
    filetype: spec.filetype === 'ndjson' ? 'jsonl' : (spec.filetype ?? 'parquet'),
    csv: resolveCsv(spec.csv, spec.filetype),
    inference: { sampleRows: spec.schema_sample_rows ?? DEFAULT_SAMPLE_ROWS, inferTypes: spec.infer_types ?? true },
    schemaMode: spec.schema_mode ?? 'merge',
    layout: resolveLayout(spec),
    declared: resolveDeclared(spec),
    access: resolveAccess(spec),
    rowsPerRecord: spec.rows_per_record || DEFAULT_ROWS_PER_RECORD,
    concurrency: concurrency < 0 ? Infinity : concurrency || DEFAULT_CONCURRENCY,
    endpoint: spec.endpoint ?? '',
    pathStyle: spec.path_style ?? false,
    credentials: spec.access_key_id
      ? { accessKeyId: spec.access_key_id, secretAccessKey: spec.secret_access_key!, sessionToken: spec.session_token }
      : undefined,
    maxRetries: spec.max_retries ?? DEFAULT_MAX_RETRIES,
  };
}

/** What the JSON Schema cannot say about the csv options: single characters that must differ. */
function csvProblems(csv: CsvSpec | undefined): string[] {
  if (!csv) return [];
  const problems: string[] = [];
  for (const name of ['delimiter', 'quote', 'escape'] as const) {
    const value = csv[name];
    if (value !== undefined && value !== null && [...value].length !== 1)
      problems.push(`csv.${name}: must be one character, not "${value}"`);
  }
  if (csv.delimiter && csv.delimiter === csv.quote) problems.push('csv.delimiter and csv.quote must differ');
  return problems;
}

/** The JSON Schema served by GetSpecSchema. */
export function specJsonSchema(): string {
  return JSON.stringify(specSchema);
}
