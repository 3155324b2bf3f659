// The spec's `schema`: tables whose columns the user declares (name, type, primary_key, not_null)
// instead of inferring them from the files. Its JSON Schema, the checks the JSON Schema cannot express
// (type names, duplicate columns, table names), and the resolved form: Arrow fields per table.
import type { JSONSchemaType } from 'ajv';
import { Field } from 'apache-arrow';
import { MD_PRIMARY_KEY } from './arrow/schema.js';
import { parseTypeName, TypeNameError } from './schema/declared-types.js';
import { TABLE_NAME } from './spec-tables.js';

/** One column as the user writes it. */
export interface DeclaredColumnSpec {
  name: string;
  type: string;
  primary_key?: boolean;
  not_null?: boolean;
}

export interface DeclaredSpec {
  schema?: Record<string, DeclaredColumnSpec[]>;
}

/** One declared column after parsing: its Arrow field (primary key in its metadata) and whether nulls are reported. */
export interface DeclaredColumn {
  field: Field;
  notNull: boolean;
}

/** Declared columns by final table name. */
export type DeclaredSchemas = Map<string, DeclaredColumn[]>;

export const declaredSchemaProperties: JSONSchemaType<DeclaredSpec>['properties'] = {
  schema: {
    type: 'object',
    nullable: true,
    required: [],
    description:
      'Columns of tables by their final table name: the table has exactly these columns, values are cast to their types on read.',
    additionalProperties: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'type'],
        properties: {
          name: { type: 'string', description: 'The column name, as in the files.' },
          type: { type: 'string', description: 'int64, float64, utf8, bool, date, timestamp, decimal(p,s), json, uuid, list<T>, ...' },
          primary_key: { type: 'boolean', nullable: true, description: "Part of the table's primary key (deterministic _cq_id)." },
          not_null: { type: 'boolean', nullable: true, description: 'A null in this column is reported.' },
        },
      },
    },
  },
};

/** Table names, column names and types the JSON Schema cannot check: every problem names the table and column. */
export function declaredProblems(spec: DeclaredSpec): string[] {
  const problems: string[] = [];
  for (const [table, columns] of Object.entries(spec.schema ?? {})) {
    const where = `schema.${table}`;
    if (!TABLE_NAME.test(table))
      problems.push(`${where}: "${table}" is not a valid table name (letters, digits and _, not starting with a digit)`);
    if (columns.length === 0) problems.push(`${where}: declares no column; list at least one, or remove the table`);
    const seen = new Set<string>();
    for (const [i, column] of columns.entries()) {
      const at = `${where}[${i}]`;
      if (column.name === '') problems.push(`${at}.name: must not be empty`);
      else if (column.name.startsWith('_cq_'))
        problems.push(`${at}.name: "${column.name}" is a column CloudQuery adds; declare another name`);
      if (seen.has(column.name)) problems.push(`${at}.name: column "${column.name}" is declared twice`);
      seen.add(column.name);
      try {
        parseTypeName(column.type);
      } catch (err) {
        if (!(err instanceof TypeNameError)) throw err;
        problems.push(`${at}: column "${column.name}": ${err.message}`);
      }
    }
  }
  return problems;
}

/** The declared tables as Arrow fields (after declaredProblems found nothing). */
export function resolveDeclared(spec: DeclaredSpec): DeclaredSchemas {
  const schemas: DeclaredSchemas = new Map();
  for (const [table, columns] of Object.entries(spec.schema ?? {})) {
    schemas.set(
      table,
      columns.map((column) => {
        const { type, metadata } = parseTypeName(column.type);
        if (column.primary_key) metadata.set(MD_PRIMARY_KEY, 'true');
        // Always nullable: a value that does not cast is delivered as null (see README, "Declared schema").
        return { field: new Field(column.name, type, true, metadata), notNull: Boolean(column.not_null || column.primary_key) };
      }),
    );
  }
  return schemas;
}
