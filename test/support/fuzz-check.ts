// What a fuzz sync must show, object by object: a damaged object is either delivered whole (as many
// rows as it declares: a Parquet footer's num_rows, an Avro file's block counts, the records of a text
// file as another decoder reads it) with no error naming it, or an error names its key, and any rows
// of it that went out are the ones the error owns up to. Every row's position in its object comes
// once. The good files arrive exactly, value by value, and no error names them.
import { execFileSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import type { Vector } from 'apache-arrow';
import type { SyncResult } from './plugin-client.js';
import { footerOf, num } from './thrift-footer.js';
import type { FuzzCase, GoodFile } from './fuzz-cases.js';

interface Delivered {
  /** Row positions (`_source_row`) in arrival order. */
  positions: number[];
  rows: Record<string, string>[];
}

/** A cell as text: integers exact, lists joined with commas. */
function text(vector: Vector | null, index: number): string {
  const value: unknown = vector?.get(index);
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'object' && Symbol.iterator in value) return [...(value as Iterable<unknown>)].map(String).join(',');
  return String(value);
}

/** The rows each key delivered (by the provenance columns), with the named columns as text. */
function deliveredByKey(result: SyncResult, columns: string[]): Map<string, Delivered> {
  const byKey = new Map<string, Delivered>();
  for (const { batch } of result.batches) {
    const keys = batch.getChild('_source_key')!;
    const rows = batch.getChild('_source_row')!;
    const cells = columns.map((c) => [c, batch.getChild(c)] as const);
    for (let i = 0; i < batch.numRows; i++) {
      const key = String(keys.get(i));
      let entry = byKey.get(key);
      if (!entry) byKey.set(key, (entry = { positions: [], rows: [] }));
      entry.positions.push(Number(rows.get(i)));
      entry.rows.push(Object.fromEntries(cells.map(([c, v]) => [c, text(v, i)])));
    }
  }
  return byKey;
}

/** Zigzag varint of an Avro long; undefined past the end. */
function avroLong(bytes: Uint8Array, at: { pos: number }): number | undefined {
  let n = 0;
  for (let scale = 1; at.pos < bytes.length && scale < 2 ** 63; scale *= 128) {
    const b = bytes[at.pos++]!;
    n += (b & 0x7f) * scale;
    if (!(b & 0x80)) return n % 2 ? -(n + 1) / 2 : n / 2;
  }
  return undefined;
}

/** The records an Avro container file's blocks declare, or undefined when it is not one. */
function avroRecords(bytes: Uint8Array): number | undefined {
  if (Buffer.from(bytes.subarray(0, 4)).toString('latin1') !== 'Obj\x01') return undefined;
  const at = { pos: 4 };
  for (let n = avroLong(bytes, at); n !== 0; n = avroLong(bytes, at)) {
    if (n === undefined) return undefined;
    if (n < 0 && avroLong(bytes, at) === undefined) return undefined;
    for (let i = 0; i < Math.abs(n) * 2; i++) {
      const length = avroLong(bytes, at);
      if (length === undefined || length < 0) return undefined;
      at.pos += length;
    }
  }
  at.pos += 16;
  let records = 0;
  while (at.pos < bytes.length) {
    const count = avroLong(bytes, at);
    const size = avroLong(bytes, at);
    if (count === undefined || size === undefined || count < 0 || size < 0 || at.pos + size + 16 > bytes.length) return undefined;
    records += count;
    at.pos += size + 16;
  }
  return at.pos === bytes.length ? records : undefined;
}

/** A text body as another decoder reads it (gunzip, the zstd command), or undefined when it cannot. */
function decompressed(c: FuzzCase): string | undefined {
  try {
    if (c.name.endsWith('.gz')) return gunzipSync(c.body).toString('utf8');
    if (c.name.endsWith('.zst'))
      return execFileSync('zstd', ['-d', '-c', '-q'], { input: c.body, stdio: ['pipe', 'pipe', 'ignore'] }).toString('utf8');
    return Buffer.from(c.body).toString('utf8');
  } catch {
    return undefined;
  }
}

/** The rows an object declares, or undefined when it declares none a reader could trust. */
export function declaredRows(c: FuzzCase): number | undefined {
  try {
    if (c.kind === 'parquet') return num(footerOf(c.body).meta, 3);
  } catch {
    return undefined;
  }
  if (c.kind === 'avro') return avroRecords(c.body);
  const body = decompressed(c);
  if (body === undefined) return undefined;
  const lines = body.split('\n').filter((l) => l.trim() !== '').length;
  return c.kind === 'csv' ? Math.max(0, lines - 1) : lines;
}

const PARTIAL = /\((\d+) rows of it were delivered before the failure\)/;

export interface CaseOutcome {
  c: FuzzCase;
  reported: boolean;
  delivered: number;
}

/** The problems of one damaged object's outcome; none when it was delivered whole or owned up to. */
function checkCase(c: FuzzCase, errors: string[], got: Delivered | undefined): string[] {
  const problems: string[] = [];
  const delivered = got?.positions.length ?? 0;
  const positions = [...(got?.positions ?? [])].sort((a, b) => a - b);
  if (positions.some((p, i) => p !== i)) problems.push(`row positions are not 0..${delivered - 1} once each`);
  if (errors.length === 0) {
    const declared = declaredRows(c);
    if (declared === undefined)
      problems.push(`no error, ${delivered} rows delivered, but the object declares no row count a reader could trust`);
    else if (declared !== delivered) problems.push(`no error, but ${delivered} rows delivered of ${declared} declared`);
    return problems;
  }
  const owned = errors.map((e) => PARTIAL.exec(e)).find((m) => m);
  if (owned && Number(owned[1]) !== delivered) problems.push(`an error says ${owned[1]} rows were delivered, ${delivered} were`);
  if (!owned && c.kind === 'parquet' && delivered > 0) problems.push(`reported, yet ${delivered} rows delivered and not owned up to`);
  return problems;
}

/** A good file's rows, in their order in the file, against what it holds. */
function checkGood(g: GoodFile, errors: string[], got: Delivered | undefined): string[] {
  if (errors.length > 0) return [`the good file is reported: ${errors.join(' | ')}`];
  const order = (got?.positions ?? []).map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  const rows = order.map(([, i]) => got!.rows[i]!);
  if (rows.length !== g.rows.length) return [`the good file delivered ${rows.length} rows of ${g.rows.length}`];
  for (let i = 0; i < rows.length; i++) {
    const want = g.rows[i]!;
    const have = Object.fromEntries(Object.keys(want).map((k) => [k, rows[i]![k]]));
    if (JSON.stringify(have) !== JSON.stringify(want)) return [`row ${i}: ${JSON.stringify(have)} instead of ${JSON.stringify(want)}`];
  }
  return [];
}

/** Every problem of one sync over `cases` and `good` below `prefix`, each naming its key; and each case's outcome. */
export function checkSync(
  result: SyncResult,
  bucket: string,
  prefix: string,
  cases: FuzzCase[],
  good: GoodFile[],
): { problems: string[]; outcomes: CaseOutcome[] } {
  const columns = [...new Set(good.flatMap((g) => Object.keys(g.rows[0]!)))];
  const delivered = deliveredByKey(result, columns);
  const uri = (name: string, table: string) => `s3://${bucket}/${prefix}${table}/${name}`;
  // Named by URI, or as the file a column type conflict rejects ("column c is X in KEY but Y in OTHER").
  const errorsOf = (u: string, key: string) =>
    result.errors.map((e) => e.error).filter((e) => e.includes(`${u}:`) || e.includes(` in ${key} but `));
  const problems: string[] = [];
  const outcomes: CaseOutcome[] = [];
  const named = new Set<string>();
  for (const c of cases) {
    const u = uri(c.name, c.table);
    const errors = errorsOf(u, `${prefix}${c.table}/${c.name}`);
    errors.forEach((e) => named.add(e));
    const got = delivered.get(`${prefix}${c.table}/${c.name}`);
    for (const p of checkCase(c, errors, got))
      problems.push(`${u} (${c.how}): ${p}${errors.length ? `; errors: ${errors.join(' | ')}` : ''}`);
    outcomes.push({ c, reported: errors.length > 0, delivered: got?.positions.length ?? 0 });
  }
  for (const g of good) {
    const u = uri(g.name, g.table);
    for (const p of checkGood(g, errorsOf(u, `${prefix}${g.table}/${g.name}`), delivered.get(`${prefix}${g.table}/${g.name}`)))
      problems.push(`${u}: ${p}`);
  }
  for (const { error } of result.errors) if (!named.has(error)) problems.push(`an error that names no damaged object: ${error}`);
  return { problems, outcomes };
}
