// `preview`: what a sync with this spec would produce, without CloudQuery: tables, columns and types,
// row counts (from the footers) and a few sample rows. The quickest check of a spec before a sync.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DataType, type Field, type RecordBatch } from 'apache-arrow';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { RecordEncoder } from './arrow/records.js';
import { CQ_ID, CQ_PARENT_ID } from './arrow/schema.js';
import { fieldTypeName } from './arrow/type-names.js';
import { openCatalog, type Catalog, type TablePlan } from './catalog.js';
import { errorMessage, toObjectError } from './errors.js';
import { createLogger } from './log.js';
import { READ_BUDGET_BYTES } from './source.js';
import { parseSpec, SpecError } from './spec.js';
import { ByteBudget } from './util/byte-budget.js';

interface PreviewArgs {
  spec: unknown;
  rows: number;
}

const PREVIEW_USAGE = "use --spec FILE or --spec-inline '{...}' [--rows N]";

function parsePreviewArgs(args: string[]): PreviewArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: { spec: { type: 'string' }, 'spec-inline': { type: 'string' }, rows: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new SpecError([`preview: ${errorMessage(err)}; ${PREVIEW_USAGE}`]);
  }
  if (values.rows !== undefined && !/^\d+$/.test(values.rows))
    throw new SpecError([`preview: --rows takes a whole number, not "${values.rows}"`]);
  const text = values.spec !== undefined ? readFileSync(values.spec, 'utf8') : values['spec-inline'];
  if (text === undefined) throw new SpecError([`preview: give a spec: ${PREVIEW_USAGE}`]);
  return { spec: specFromYaml(text), rows: values.rows === undefined ? 5 : Number(values.rows) };
}

/**
 * Accepts a bare plugin spec or a CloudQuery config file (the `spec:` of its source document), and
 * expands `${VAR}` from the environment as the CloudQuery CLI does.
 */
export function specFromYaml(text: string): unknown {
  const expanded = text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => process.env[name] ?? '');
  const docs = parseAllDocuments(expanded).map((d) => d.toJS() as unknown);
  // A CloudQuery config: `kind: source` documents hold the plugin spec under spec.spec.
  const source = docs.find((d) => isRecord(d) && d.kind === 'source' && isRecord(d.spec)) as { spec: Record<string, unknown> } | undefined;
  if (source) return source.spec.spec ?? null;
  if (docs.length === 1) return docs[0];
  return parseYaml(expanded);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export async function runPreview(args: string[]): Promise<number> {
  let parsed: PreviewArgs;
  let spec;
  try {
    parsed = parsePreviewArgs(args);
    spec = parseSpec(parsed.spec);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  let catalog: Catalog;
  try {
    // Warnings (a wrong region followed) go to stderr with the errors; the output stays the preview.
    catalog = await openCatalog(spec, new ByteBudget(READ_BUDGET_BYTES), createLogger({ level: 'warn' }));
  } catch (err) {
    // Opening asks the bucket its region when the spec has none, which can fail like any request.
    process.stderr.write(`preview failed: ${(err as Error).message}\n`);
    return 1;
  }
  const store = catalog.store;
  const out = (line = '') => process.stdout.write(line + '\n');
  try {
    const objects = await catalog.listAll();
    const selection = catalog.select(objects, { tables: [], skipTables: [] });
    const { tables, skipped } = await catalog.plan(selection.tables);
    out(`Store: ${store.location}${spec.pathPrefix ? `, prefix "${spec.pathPrefix}"` : ''}`);
    out(`${objects.length} objects listed, ${tables.length} tables\n`);
    for (const table of tables) {
      out(`Table ${table.name}: ${table.files.length} file(s), ${rowCount(table)}`);
      for (const field of table.schema.fields) {
        const notes = [
          field.nullable ? '' : 'not null',
          field.name === CQ_ID || field.name === CQ_PARENT_ID ? 'added by the plugin' : '',
        ].filter(Boolean);
        out(`  ${field.name.padEnd(24)} ${fieldTypeName(field)}${notes.length ? `  (${notes.join(', ')})` : ''}`);
      }
      const first = table.files[0];
      if (first && parsed.rows > 0) {
        const sample = await sampleRows(catalog, table, parsed.rows);
        out(`  sample rows from ${first.key}:`);
        for (const row of sample) out(`    ${row}`);
      }
      out();
    }
    for (const s of skipped) out(`Skipped ${s.key}: ${s.reason}`);
    return skipped.length > 0 ? 1 : 0;
  } catch (err) {
    process.stderr.write(`preview failed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    catalog.close();
  }
}

/** "N rows" from what the files declare, or "rows unknown until read" where a format cannot tell. */
function rowCount(table: TablePlan): string {
  return table.declaredRows === undefined ? 'rows unknown until read' : `${table.declaredRows} rows`;
}

async function sampleRows(catalog: Catalog, table: TablePlan, count: number): Promise<string[]> {
  const object = table.files[0]!;
  const encoder = new RecordEncoder(table.schema, { rowsPerRecord: count, generateCqId: table.generateCqId, deterministicKeys: [] });
  try {
    const file = await catalog.formatFor(table.name).open(catalog.source(object), { budget: catalog.budget });
    // A declared schema (spec `schema`): rows as the sync casts them (values that do not cast show null).
    const caster = table.declared?.forFile(
      () => {},
      () => {},
    );
    try {
      for await (const batch of file.batches({ maxRows: count, rowMultiple: 1 }))
        return rowsOf(encoder.conform(caster ? caster.cast(batch, 0) : batch), count);
      return [];
    } finally {
      file.close();
    }
  } catch (err) {
    throw toObjectError(err, catalog.store.uri(object.key), object.key);
  }
}

function rowsOf(batch: RecordBatch, count: number): string[] {
  const fields = batch.schema.fields.filter((f) => f.name !== CQ_ID && f.name !== CQ_PARENT_ID);
  const lines: string[] = [];
  for (let i = 0; i < Math.min(count, batch.numRows); i++) {
    const row: Record<string, unknown> = {};
    for (const field of fields) row[field.name] = display(batch.getChild(field.name)?.get(i), field);
    lines.push(JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  }
  return lines;
}

/** A readable rendering of one value: ISO dates and times, decimals with their scale, hex bytes. */
function display(value: unknown, field: Field): unknown {
  const type = field.type;
  if (value === null || value === undefined) return null;
  // CloudQuery's JSON type: the UTF-8 JSON text, shown as the value it holds.
  if (fieldTypeName(field) === 'json' && value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (DataType.isDate(type) || DataType.isTimestamp(type)) {
    const iso = new Date(Number(value)).toISOString();
    return DataType.isDate(type) ? iso.slice(0, 10) : iso;
  }
  if (DataType.isDecimal(type)) {
    const digits = String(value).replace(/"/g, '');
    const negative = digits.startsWith('-');
    const abs = (negative ? digits.slice(1) : digits).padStart(type.scale + 1, '0');
    const text = type.scale > 0 ? `${abs.slice(0, -type.scale)}.${abs.slice(-type.scale)}` : abs;
    return negative ? `-${text}` : text;
  }
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return value;
}
