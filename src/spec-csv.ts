// The `csv` options of the spec (CSV and TSV files): their schema, defaults and resolved form.
import type { JSONSchemaType } from 'ajv';

export type CsvEncoding = 'utf-8' | 'latin1' | 'utf-16le';

/** As the user writes it, under `csv:`. */
export interface CsvSpec {
  delimiter?: string;
  quote?: string;
  escape?: string;
  header?: boolean;
  column_names?: string[];
  skip_rows?: number;
  null_values?: string[];
  true_values?: string[];
  false_values?: string[];
  comment?: string;
  encoding?: CsvEncoding;
}

/** After defaults. `delimiter` is undefined when the file's format decides it (`,` for CSV, tab for TSV). */
export interface CsvOptions {
  delimiter?: string;
  quote: string;
  escape: string;
  header: boolean;
  columnNames: string[];
  skipRows: number;
  nullValues: string[];
  trueValues: string[];
  falseValues: string[];
  comment: string;
  encoding: CsvEncoding;
}

const text = (description: string) => ({ type: 'string', nullable: true, description }) as const;
const list = (description: string) => ({ type: 'array', nullable: true, items: { type: 'string' }, description }) as const;

export const csvSchema: JSONSchemaType<CsvSpec> & { nullable: true } = {
  type: 'object',
  nullable: true,
  additionalProperties: false,
  description: 'Options of CSV and TSV files.',
  properties: {
    delimiter: text('Field delimiter, one character (default "," for CSV, tab for TSV).'),
    quote: text('Quote character (default ").'),
    escape: text('Escape character inside quoted fields (default ", i.e. a doubled quote).'),
    header: { type: 'boolean', nullable: true, description: 'The first line names the columns (default true).' },
    column_names: list('Column names, overriding the header (or naming the columns of a file without one).'),
    skip_rows: { type: 'integer', nullable: true, minimum: 0, description: 'Lines skipped before the header (default 0).' },
    null_values: list('Values read as null (default [""]).'),
    true_values: list('Values read as true (default true, True, TRUE).'),
    false_values: list('Values read as false (default false, False, FALSE).'),
    comment: text('Lines starting with this prefix are ignored (default: none).'),
    encoding: { type: 'string', nullable: true, enum: ['utf-8', 'latin1', 'utf-16le'], description: 'Text encoding (default utf-8).' },
  },
  required: [],
};

export function resolveCsv(csv: CsvSpec | undefined, filetype: string | undefined): CsvOptions {
  return {
    delimiter: csv?.delimiter ?? (filetype === 'tsv' ? '\t' : undefined),
    quote: csv?.quote ?? '"',
    escape: csv?.escape ?? csv?.quote ?? '"',
    header: csv?.header ?? true,
    columnNames: csv?.column_names ?? [],
    skipRows: csv?.skip_rows ?? 0,
    nullValues: csv?.null_values ?? [''],
    trueValues: csv?.true_values ?? ['true', 'True', 'TRUE'],
    falseValues: csv?.false_values ?? ['false', 'False', 'FALSE'],
    comment: csv?.comment ?? '',
    encoding: csv?.encoding ?? 'utf-8',
  };
}
