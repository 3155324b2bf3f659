// A table whose columns the spec declares (`schema`): its schema is exactly the declared columns, and
// every decoded batch of its files is conformed to them. Each declared column takes the file column of
// its name cast to the declared type (a value that does not cast is null and reported with key, row,
// column and value); a declared column the file lacks is null; file columns not declared are dropped,
// with one warning per table naming them. A null in a not_null column is reported; the row is kept.
import { makeData, makeVector, RecordBatch, Schema, Struct, type Data, type Field } from 'apache-arrow';
import { castData, targetOf, type BoolWords, type Target } from '../arrow/cast.js';
import { buildData } from '../arrow/cast-build.js';
import { textOf } from '../arrow/cast-format.js';
import { emptyMerge, mergeSchema, type MergedSchema } from '../arrow/schema.js';
import { fieldTypeName } from '../arrow/type-names.js';
import { Problems, quoteValue } from '../formats/text/problems.js';
import type { DeclaredColumn } from '../spec-declared.js';
import type { SkippedObject } from '../catalog.js';
import type { ObjectInfo } from '../store/types.js';
import { fileColumnClash } from '../arrow/file-columns.js';

/** Problems of one file: reported as the sync's errors for the object, at most MAX_REPORTS then a total. */
export interface FileCaster {
  /** The batch as the declared columns; `firstRow` is the file's rows before it (for row numbers). */
  cast(batch: RecordBatch, firstRow: number): RecordBatch;
  /** Sends the closing total when more problems occurred than were reported one by one. */
  finish(): void;
}

export class DeclaredTable {
  readonly schema: Schema;
  private readonly targets: Target[];
  /** File columns already named in a "dropped" warning (one warning per table, per new column). */
  private readonly warned = new Set<string>();

  constructor(
    readonly name: string,
    private readonly columns: DeclaredColumn[],
    private readonly words: BoolWords,
  ) {
    this.schema = new Schema(columns.map((c) => c.field));
    this.targets = columns.map((c) => targetOf(c.field));
  }

  /** The declared columns as a merged table schema (the files' own schemas take no part). */
  merged(): MergedSchema {
    const merged = emptyMerge();
    mergeSchema(merged, `the spec's schema.${this.name}`, this.schema);
    return merged;
  }

  /**
   * The table's plan: the declared columns are its schema, so every readable file is read (its columns
   * are cast, not merged). A declared column named like a Hive or provenance column cannot be: the files are skipped.
   */
  plan(jobs: { object: ObjectInfo; read: boolean; footer?: { numRows?: number } }[], fileColumns: Field[], skipped: SkippedObject[]) {
    const clash = fileColumnClash(fileColumns, this.schema);
    const files: ObjectInfo[] = [];
    let declaredRows: number | undefined = 0;
    for (const { object, read, footer } of jobs) {
      if (!footer || !read) continue;
      if (!clash) {
        files.push(object);
        declaredRows = declaredRows === undefined || footer.numRows === undefined ? undefined : declaredRows + footer.numRows;
      } else {
        const reason = `column "${clash}" is declared in schema.${this.name} and is also a column the plugin adds (a Hive partition of the key, or a provenance column); rename one of them`;
        skipped.push({ key: object.key, table: this.name, reason, permanent: true });
      }
    }
    return { schema: this.merged(), files, declaredRows };
  }

  /** A caster for one file; `report` takes its problems, `warn` the dropped-columns warning. */
  forFile(report: (message: string) => void, warn: (message: string) => void): FileCaster {
    const problems = new Problems(report);
    let first = true;
    return {
      cast: (batch, firstRow) => {
        if (first) this.checkColumns(batch.schema, problems, warn);
        first = false;
        return this.conform(batch, firstRow, problems);
      },
      finish: () => problems.finish(),
    };
  }

  private checkColumns(schema: Schema, problems: Problems, warn: (message: string) => void): void {
    const declared = new Set(this.columns.map((c) => c.field.name));
    const dropped = schema.fields.map((f) => f.name).filter((n) => !declared.has(n) && !this.warned.has(n));
    for (const name of dropped) this.warned.add(name);
    if (dropped.length > 0)
      warn(`columns not in the declared schema of table "${this.name}" are dropped: ${dropped.map((n) => `"${n}"`).join(', ')}`);
    for (const column of this.columns) {
      if (column.notNull && !schema.fields.some((f) => f.name === column.field.name))
        problems.add(`column "${column.field.name}" is declared not_null but this file has no such column; it is null in all its rows`);
    }
  }

  private conform(batch: RecordBatch, firstRow: number, problems: Problems): RecordBatch {
    const length = batch.numRows;
    const children = this.columns.map((column, c): Data => {
      const { field } = column;
      const index = batch.schema.fields.findIndex((f) => f.name === field.name);
      if (index < 0) return buildNulls(this.targets[c]!, length);
      const type = fieldTypeName(field);
      const failed = new Set<number>();
      const data = castData(
        batch.data.children[index]!,
        batch.schema.fields[index]!,
        this.targets[c]!,
        this.words,
        (row, value, reason) => {
          failed.add(row);
          problems.add(
            `row ${firstRow + row + 1}: column "${field.name}": value ${quoteValue(textOf(value))} cannot be cast to ${type} (${reason}); delivered as null`,
          );
        },
      );
      if (column.notNull && data.nullCount > failed.size) reportNulls(data, field, firstRow, failed, problems);
      return data;
    });
    return new RecordBatch(this.schema, makeData({ type: new Struct(this.schema.fields), length, nullCount: 0, children }));
  }
}

/** Nulls of a not_null column, but those a failed cast made (already reported). */
function reportNulls(data: Data, field: Field, firstRow: number, failed: Set<number>, problems: Problems): void {
  const vector = makeVector(data);
  for (let i = 0; i < data.length; i++) {
    if (!vector.isValid(i) && !failed.has(i))
      problems.add(`row ${firstRow + i + 1}: column "${field.name}" is null but declared not_null; the row is delivered with the null`);
  }
}

function buildNulls(target: Target, length: number): Data {
  return buildData(target, new Array<null>(length).fill(null));
}
