// JSON Lines and JSON readers without a server: columns from keys, nested values, exact numbers, keys
// after the sample, malformed lines and records, files that are not JSON.
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { FormatError } from '../../src/errors.js';
import { formatsFor } from '../../src/formats/index.js';
import { parseSpec } from '../../src/spec.js';
import { ByteBudget } from '../../src/util/byte-budget.js';
import { compress, memorySource, readText, typesOf } from '../support/text-fixtures.js';

const micros = (iso: string) => BigInt(Date.parse(iso)) * 1000n;

/** `mib` MiB of 'x' without a newline, gzipped as a stream (the inflated bytes never exist here). */
/**
 * A gzip bomb: `mib` members of 1 MiB of `x` each, about 1 KB compressed apiece (a file of several
 * members is valid gzip, as `cat a.gz b.gz` writes). Built from one member so the test spends its time
 * reading, not compressing 512 MiB.
 */
function gzipBomb(mib: number): Buffer {
  const member = gzipSync(Buffer.alloc(1024 * 1024, 'x'), { level: 9 });
  return Buffer.concat(Array.from({ length: mib }, () => member));
}

describe('JSON Lines', () => {
  it('keys in first-seen order, every type inferred, nested values as CloudQuery JSON', async () => {
    const text = [
      '{"id": 1, "ok": true, "x": 1.5, "d": "2024-01-31", "t": "2024-01-31T10:00:00Z", "s": "a\\"b\\u00e9", "o": {"k": [1, 2.50, {"z": null}]}}',
      '{"id": 9007199254740993, "ok": false, "x": 2, "d": "1970-01-01", "t": "2024-01-31 12:00:00+02:00", "s": "", "o": [], "late": null}',
      '',
      '{"o": "text", "id": -3}',
    ].join('\n');
    const { schema, rows, problems } = await readText('t.jsonl', text);
    assert.deepEqual(typesOf(schema), {
      id: 'Int64',
      ok: 'Bool',
      x: 'Float64',
      d: 'Date32<DAY>',
      t: 'Timestamp<MICROSECOND, UTC>',
      s: 'Utf8',
      o: 'Binary json',
      late: 'Utf8',
    });
    const o = schema.fields.find((f) => f.name === 'o')!;
    assert.equal(o.metadata.get('ARROW:extension:metadata'), 'json-serialized');
    assert.deepEqual(problems, []);
    assert.deepEqual(rows, [
      { id: 1n, ok: true, x: 1.5, d: 19753, t: micros('2024-01-31T10:00:00Z'), s: 'a"bé', o: '{"k":[1,2.50,{"z":null}]}', late: null },
      { id: 9007199254740993n, ok: false, x: 2, d: 0, t: micros('2024-01-31T10:00:00Z'), s: '', o: '[]', late: null },
      { id: -3n, ok: null, x: null, d: null, t: null, s: null, o: '"text"', late: null },
    ]);
  });

  it('numbers inside nested values keep their exact text', async () => {
    const { rows } = await readText('t.jsonl', '{"n": {"big": 123456789012345678901234567890, "f": 1.10e+5}}\n');
    assert.equal(rows[0]!.n, '{"big":123456789012345678901234567890,"f":1.10e+5}');
  });

  it('infer_types: false: scalars as utf8 (numbers as written), nested as json', async () => {
    const { schema, rows } = await readText('t.ndjson', '{"a": 1.50, "b": true, "c": {"x": 1}}\n', { infer_types: false });
    assert.deepEqual(typesOf(schema), { a: 'Utf8', b: 'Utf8', c: 'Binary json' });
    assert.deepEqual(rows, [{ a: '1.50', b: 'true', c: '{"x":1}' }]);
  });

  it('a late mismatching value is null and reported; a late key is reported once', async () => {
    const lines = Array.from({ length: 5 }, (_, i) => `{"id": ${i}, "v": ${i}}`);
    lines.push('{"id": 5, "v": "five", "extra": 1}', '{"id": 6, "v": 6.5, "extra": 2}', '{"id": 7, "v": 7}');
    const { rows, problems } = await readText('t.jsonl', lines.join('\n'), { schema_sample_rows: 5 });
    assert.equal(rows.length, 8);
    assert.deepEqual(rows[5], { id: 5n, v: null });
    assert.deepEqual(rows[6], { id: 6n, v: null });
    assert.deepEqual(rows[7], { id: 7n, v: 7n });
    assert.deepEqual(problems, [
      'line 6: key "extra" is not among the columns inferred from the first 5 rows, so its values in this file are not delivered (raise schema_sample_rows to include it)',
      `line 6: column "v": value "five" does not fit the column's type int64 (inferred from the first rows of the file); delivered as null`,
      `line 7: column "v": value "6.5" does not fit the column's type int64 (inferred from the first rows of the file); delivered as null`,
    ]);
  });

  it('malformed lines are reported by line and skipped; CRLF and a last line without newline work', async () => {
    const text = '{"a": 1}\r\n{"a": 2,}\r\n[1, 2]\r\n{"a": 01}\r\n{"a": "\\x"}\r\n{"a": 3}';
    const { rows, problems } = await readText('t.jsonl', text);
    assert.deepEqual(rows, [{ a: 1n }, { a: 3n }]);
    assert.deepEqual(
      problems.map((p) => p.replace(/:.*; line skipped$/, '')),
      ['line 2', 'line 3', 'line 4', 'line 5'],
    );
    assert.match(problems[1]!, /expected an object/);
  });

  it('keys and strings with and without escapes, in any order, between plain lines; unclosed strings', async () => {
    const text = [
      '{"id": 1, "s": "plain", "o": {"k": "v"}}',
      '{"i\\u0064": 2, "s": "back\\\\slash", "o": {"k\\"": "\\"v"}}',
      '{"s": "x", "id": 3, "o": []}',
      '{"id": 4, "s": "open}',
      '{"id": 5, "s": "y"}',
      '{"id": 6, "s": "tab\\t", "o": {"k": "unclosed}}',
      '{"id": 7, "id": 8, "s": "\\"", "o": null}',
    ].join('\n');
    const { rows, problems } = await readText('t.jsonl', text, { schema_sample_rows: 2 });
    assert.deepEqual(rows, [
      { id: 1n, s: 'plain', o: '{"k":"v"}' },
      { id: 2n, s: 'back\\slash', o: '{"k\\"":"\\"v"}' },
      { id: 3n, s: 'x', o: '[]' },
      { id: 5n, s: 'y', o: null },
      { id: 8n, s: '"', o: null },
    ]);
    assert.deepEqual(
      problems.map((p) => p.replace(/; line skipped$/, '')),
      [
        'line 4: invalid JSON at character 16: a string that is not closed',
        'line 6: invalid JSON at character 36: a string that is not closed',
      ],
    );
    // The same without any backslash in the text (strings found by the native search).
    const plain = [
      '{"id": 1, "s": "a"}',
      '{"id": 2, "s": "open}',
      '{"s": "b", "id": 3}',
      '{"id": 4, "s": "c", "o": {"k": "x}}',
      '{"id": 5}',
    ];
    const second = await readText('t.jsonl', plain.join('\n'), { schema_sample_rows: 1 });
    assert.deepEqual(second.rows, [
      { id: 1n, s: 'a' },
      { id: 3n, s: 'b' },
      { id: 5n, s: null },
    ]);
    assert.deepEqual(second.problems, [
      'line 2: invalid JSON at character 16: a string that is not closed; line skipped',
      'line 4: key "o" is not among the columns inferred from the first 1 rows, so its values in this file are not delivered (raise schema_sample_rows to include it)',
      'line 4: invalid JSON at character 32: a string that is not closed; line skipped',
    ]);
  });

  it('a file that is not JSON Lines fails at open: HTML, binary, invalid UTF-8', async () => {
    await assert.rejects(
      readText('t.jsonl', '<!DOCTYPE html>\n<html><body>Not found</body></html>\n'),
      /not JSON Lines: no valid JSON object/,
    );
    await assert.rejects(readText('t.jsonl', Buffer.from([0x7b, 0x7d, 0x0a, 0x00, 0x00])), /not a text file/);
    await assert.rejects(readText('t.jsonl', Buffer.from('{"a": "\xff"}\n', 'latin1')), /not UTF-8 text: line 1/);
  });

  it('a line without end beyond the bound fails with a FormatError, memory bounded', async () => {
    const lines = ['{"a": 1}'];
    const huge = `{"a": "${'x'.repeat(70 * 1024 * 1024)}"}`;
    const source = memorySource('t.jsonl', `${lines[0]}\n${huge}\n{"a": 2}\n`);
    const file = await formatsFor(parseSpec({ local_path: '/x', filetype: 'jsonl' })).open(source, { budget: new ByteBudget(64 << 20) });
    const got: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const b of file.batches({ maxRows: 100, rowMultiple: 1 })) got.push(b.numRows);
      })(),
      (err: Error) => err instanceof FormatError && /line 2 is longer than 64 MiB/.test(err.message),
    );
    assert.deepEqual(got, [1]);
  });

  it('a decompression bomb (a small .gz inflating to 512 MiB without a newline) stops at the line bound', async () => {
    const bomb = gzipBomb(512);
    assert.ok(bomb.byteLength < 1024 * 1024);
    const before = process.memoryUsage().rss;
    await assert.rejects(readText('bomb.jsonl.gz', bomb), /line 1 is longer than 64 MiB/);
    assert.ok(process.memoryUsage().rss - before < 400 * 1024 * 1024, 'memory stays bounded');
  });

  it('compressed with gzip, zstd, bzip2', async () => {
    const text = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ i, s: `v${i}` })).join('\n');
    for (const compression of ['gz', 'zst', 'bz2'] as const) {
      const { rows } = await readText(`t.jsonl.${compression}`, await compress(text, compression));
      assert.equal(rows.length, 3000);
      assert.deepEqual(rows[2999], { i: 2999n, s: 'v2999' });
    }
  });
});

describe('JSON', () => {
  it('an array of objects, pretty-printed, streamed record by record', async () => {
    const records = Array.from({ length: 2500 }, (_, i) => ({ id: i, name: `n${i}`, tags: ['a', { b: i }] }));
    const text = JSON.stringify(records, null, 2);
    const { schema, rows, problems } = await readText('t.json', text);
    assert.deepEqual(typesOf(schema), { id: 'Int64', name: 'Utf8', tags: 'Binary json' });
    assert.deepEqual(problems, []);
    assert.equal(rows.length, 2500);
    assert.deepEqual(rows[1234], { id: 1234n, name: 'n1234', tags: '["a",{"b":1234}]' });
  });

  it('a single object, or objects one after another', async () => {
    assert.deepEqual((await readText('t.json', '{"a": {"b": 1}, "c": "x"}')).rows, [{ a: '{"b":1}', c: 'x' }]);
    assert.deepEqual((await readText('t.json', '{"a": 1}\n{"a": 2} {"a": 3}')).rows, [{ a: 1n }, { a: 2n }, { a: 3n }]);
  });

  it('malformed records are reported by record index and line; the rest goes on', async () => {
    const text = '[\n  {"a": 1},\n  {"a": 2,, "b": 3},\n  7,\n  {"a": "}]"}\n]\n';
    const { rows, problems } = await readText('t.json', text, { schema_sample_rows: 1 });
    assert.deepEqual(rows, [{ a: 1n }, { a: null }]);
    assert.match(problems[0]!, /^record 2 \(line 3\): invalid JSON/);
    assert.match(problems[1]!, /^record 3 \(line 4\): invalid JSON at character 1: expected an object/);
    assert.match(problems[2]!, /^record 4 \(line 5\): column "a": value "}]" does not fit/);
  });

  it('not JSON: fails at open; a truncated array: the records before are delivered, then the failure', async () => {
    await assert.rejects(readText('t.json', '<html>hello</html>'), /not JSON: the file starts with "<"/);
    const source = memorySource('t.json', '[{"a": 1}, {"a": 2}, {"a": ');
    const file = await formatsFor(parseSpec({ local_path: '/x', filetype: 'json' })).open(source, { budget: new ByteBudget(1 << 20) });
    const got: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const b of file.batches({ maxRows: 100, rowMultiple: 1 })) got.push(b.numRows);
      })(),
      /the file ends inside record 3 \(line 1\)/,
    );
    assert.deepEqual(got, [2]);
  });
});
