// The spec's table layout options: tables defined by globs, include/exclude globs for the default
// directory-per-table naming, Hive partition columns and provenance columns. Schema, defaults and
// the checks the JSON Schema cannot express (valid globs and table names, known hive types).
import type { JSONSchemaType } from 'ajv';
import picomatch from 'picomatch';
import type { FileType } from './spec-schema.js';

export type HiveType = 'utf8' | 'int64' | 'float64' | 'bool' | 'date' | 'timestamp';

/** As the user writes it: one entry of `glob_tables`. */
export interface GlobTableSpec {
  name: string;
  include: string[];
  exclude?: string[];
  filetype?: FileType;
}

export interface TablesSpec {
  glob_tables?: GlobTableSpec[];
  only_defined_tables?: boolean;
  include?: string[];
  exclude?: string[];
  hive_partitioning?: boolean;
  hive_types?: Record<string, HiveType>;
  provenance_columns?: boolean;
  primary_key_from_source?: boolean;
}

export interface GlobTable {
  name: string;
  include: string[];
  exclude: string[];
  filetype?: FileType;
}

/** After defaults. */
export interface TableLayout {
  globTables: GlobTable[];
  onlyDefinedTables: boolean;
  include: string[];
  exclude: string[];
  hivePartitioning: boolean;
  hiveTypes: Record<string, HiveType>;
  provenanceColumns: boolean;
  primaryKeyFromSource: boolean;
}

const FILETYPES: FileType[] = ['parquet', 'csv', 'tsv', 'jsonl', 'json', 'avro', 'auto'];
const HIVE_TYPES: HiveType[] = ['utf8', 'int64', 'float64', 'bool', 'date', 'timestamp'];
const globs = (description: string) => ({ type: 'array', nullable: true, items: { type: 'string', minLength: 1 }, description }) as const;

export const tablesSchemaProperties: JSONSchemaType<TablesSpec>['properties'] = {
  glob_tables: {
    type: 'array',
    nullable: true,
    description: 'Tables defined by globs over the keys: each entry is one table of every key it matches.',
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'include'],
      properties: {
        name: { type: 'string', description: 'The table name ([A-Za-z0-9_], not starting with a digit).' },
        include: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 }, description: 'Globs of the keys of this table.' },
        exclude: globs('Globs of keys left out of this table.'),
        filetype: { type: 'string', nullable: true, enum: FILETYPES, description: "This table's file format (default: the spec's)." },
      },
    },
  },
  only_defined_tables: { type: 'boolean', nullable: true, description: 'Ignore keys that no glob_tables entry matches.' },
  include: globs('Only keys matching one of these globs are read (directory-per-table mode).'),
  exclude: globs('Keys matching one of these globs are not read (directory-per-table mode).'),
  hive_partitioning: {
    type: 'boolean',
    nullable: true,
    description: 'name=value path segments become columns and are left out of table names.',
  },
  hive_types: {
    type: 'object',
    nullable: true,
    required: [],
    additionalProperties: { type: 'string', enum: HIVE_TYPES },
    description: 'Types of Hive partition columns by name (default utf8).',
  },
  provenance_columns: {
    type: 'boolean',
    nullable: true,
    description: 'Add _source_key, _source_last_modified, _source_etag and _source_row to every table.',
  },
  primary_key_from_source: {
    type: 'boolean',
    nullable: true,
    description: 'Make (_source_key, _source_row) the primary key, so a re-read object upserts instead of duplicating.',
  },
};

export const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function resolveLayout(spec: TablesSpec): TableLayout {
  return {
    globTables: (spec.glob_tables ?? []).map((t) => ({ name: t.name, include: t.include, exclude: t.exclude ?? [], filetype: t.filetype })),
    onlyDefinedTables: spec.only_defined_tables ?? false,
    include: spec.include ?? [],
    exclude: spec.exclude ?? [],
    hivePartitioning: spec.hive_partitioning ?? false,
    hiveTypes: spec.hive_types ?? {},
    provenanceColumns: spec.provenance_columns ?? false,
    primaryKeyFromSource: spec.primary_key_from_source ?? false,
  };
}

/** What the JSON Schema cannot say: table names, duplicate names, globs that do not compile. */
export function layoutProblems(spec: TablesSpec): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [i, table] of (spec.glob_tables ?? []).entries()) {
    const where = `glob_tables[${i}]`;
    if (!TABLE_NAME.test(table.name))
      problems.push(`${where}.name: "${table.name}" is not a valid table name (letters, digits and _, not starting with a digit)`);
    if (seen.has(table.name)) problems.push(`${where}.name: "${table.name}" is defined twice`);
    seen.add(table.name);
    for (const glob of [...table.include, ...(table.exclude ?? [])]) problems.push(...globProblem(`${where}`, glob));
  }
  for (const glob of [...(spec.include ?? []), ...(spec.exclude ?? [])]) problems.push(...globProblem('include/exclude', glob));
  if (spec.primary_key_from_source && !spec.provenance_columns) problems.push('primary_key_from_source needs provenance_columns: true');
  return problems;
}

function globProblem(where: string, glob: string): string[] {
  try {
    picomatch.makeRe(glob, { strictBrackets: true });
    return [];
  } catch (err) {
    return [`${where}: glob "${glob}" is not valid: ${(err as Error).message}`];
  }
}
