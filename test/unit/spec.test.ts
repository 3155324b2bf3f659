import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSpec, SpecError, specJsonSchema } from '../../src/spec.js';

function problems(input: unknown): string[] {
  try {
    parseSpec(input);
  } catch (err) {
    assert.ok(err instanceof SpecError);
    return err.problems;
  }
  assert.fail('expected the spec to be rejected');
}

describe('spec', () => {
  it('applies the Go plugin defaults', () => {
    const spec = parseSpec({ bucket: 'b', region: 'us-east-1' });
    assert.deepEqual(spec.store, { kind: 's3', bucket: 'b', region: 'us-east-1' });
    assert.equal(spec.filetype, 'parquet');
    assert.equal(spec.rowsPerRecord, 500);
    assert.equal(spec.concurrency, 50);
    assert.equal(spec.pathPrefix, '');
    assert.equal(spec.localProfile, '');
    assert.equal(spec.endpoint, '');
    assert.equal(spec.pathStyle, false);
    assert.equal(spec.credentials, undefined);
    assert.equal(spec.maxRetries, 5);
  });

  it('reads every field', () => {
    const spec = parseSpec(
      Buffer.from(
        JSON.stringify({
          bucket: 'b',
          region: 'eu-west-1',
          local_profile: 'dev',
          path_prefix: 'data/',
          filetype: 'parquet',
          rows_per_record: 42,
          concurrency: 3,
          endpoint: 'http://127.0.0.1:9000',
          path_style: true,
          access_key_id: 'AK',
          secret_access_key: 'SK',
          session_token: 'ST',
          max_retries: 2,
        }),
      ),
    );
    assert.equal(spec.localProfile, 'dev');
    assert.equal(spec.pathPrefix, 'data/');
    assert.equal(spec.rowsPerRecord, 42);
    assert.equal(spec.concurrency, 3);
    assert.equal(spec.endpoint, 'http://127.0.0.1:9000');
    assert.equal(spec.pathStyle, true);
    assert.deepEqual(spec.credentials, { accessKeyId: 'AK', secretAccessKey: 'SK', sessionToken: 'ST' });
    assert.equal(spec.maxRetries, 2);
  });

  it('treats 0 as the default and a negative concurrency as unlimited', () => {
    const spec = parseSpec({ bucket: 'b', region: 'r', rows_per_record: 0, concurrency: -1 });
    assert.equal(spec.rowsPerRecord, 500);
    assert.equal(spec.concurrency, Infinity);
    assert.equal(parseSpec({ bucket: 'b', region: 'r', concurrency: 0 }).concurrency, 50);
  });

  it('accepts local_path instead of a bucket', () => {
    assert.deepEqual(parseSpec({ local_path: 'examples/sample-data' }).store, { kind: 'local', path: 'examples/sample-data' });
  });

  it('rejects an empty spec (null, as the CLI sends it) naming the missing fields', () => {
    assert.deepEqual(problems(null), ['bucket is required (or local_path, to read a local directory)']);
    assert.deepEqual(problems(Buffer.from('')), ['bucket is required (or local_path, to read a local directory)']);
    assert.deepEqual(parseSpec({ bucket: 'b' }).store, { kind: 's3', bucket: 'b', region: '' });
  });

  it('names every bad field at once, with a hint for typos', () => {
    const found = problems({ buckets: 'b', rows_per_record: -5, concurrency: 'many', filetype: 'xml', path_style: 'yes' });
    assert.ok(found.includes('unknown field "buckets" (did you mean "bucket"?)'), found.join('|'));
    assert.ok(
      found.some((p) => p.startsWith('rows_per_record:')),
      found.join('|'),
    );
    assert.ok(
      found.some((p) => p.startsWith('concurrency:')),
      found.join('|'),
    );
    assert.ok(found.includes('filetype: must be one of: parquet, csv, tsv, jsonl, ndjson, json, avro, auto'), found.join('|'));
    assert.ok(
      found.some((p) => p.startsWith('path_style:')),
      found.join('|'),
    );
  });

  it('rejects contradictory and malformed settings', () => {
    assert.ok(problems({ bucket: 'b', region: 'r', local_path: '.' }).some((p) => p.includes('exclusive')));
    assert.ok(problems({ bucket: 'b', region: 'r', access_key_id: 'AK' }).some((p) => p.includes('secret_access_key is required')));
    assert.ok(problems({ bucket: 'b', region: 'r', endpoint: 'not a url' }).some((p) => p.startsWith('endpoint:')));
    assert.deepEqual(problems(Buffer.from('{oops')).length, 1);
  });

  it('never echoes a secret in its messages', () => {
    const found = problems({ bucket: 'b', region: 'r', secret_access_key: 'TOPSECRETVALUE', session_token: 'TOKENVALUE' });
    assert.ok(found.length > 0);
    for (const p of found) assert.ok(!p.includes('TOPSECRETVALUE') && !p.includes('TOKENVALUE'), p);
  });

  it('serves the schema it validates with', () => {
    const schema = JSON.parse(specJsonSchema());
    assert.equal(schema.additionalProperties, false);
    for (const field of [
      'bucket',
      'region',
      'local_profile',
      'path_prefix',
      'filetype',
      'rows_per_record',
      'concurrency',
      'endpoint',
      'path_style',
      'local_path',
      'access_key_id',
      'secret_access_key',
      'session_token',
      'max_retries',
    ]) {
      assert.ok(schema.properties[field]?.description, `field ${field} is described`);
    }
  });

  it('checks glob tables: valid and unique names, globs that compile', () => {
    const found = problems({
      local_path: '.',
      glob_tables: [
        { name: '2024-logs', include: ['logs/**'] },
        { name: 'a', include: ['a/**'] },
        { name: 'a', include: ['b/[x'] },
      ],
      primary_key_from_source: true,
    });
    assert.ok(
      found.some((p) => /glob_tables\[0\]\.name: "2024-logs" is not a valid table name/.test(p)),
      found.join('|'),
    );
    assert.ok(
      found.some((p) => /glob_tables\[2\]\.name: "a" is defined twice/.test(p)),
      found.join('|'),
    );
    assert.ok(
      found.some((p) => /glob "b\/\[x" is not valid/.test(p)),
      found.join('|'),
    );
    assert.ok(found.includes('primary_key_from_source needs provenance_columns: true'), found.join('|'));
    const spec = parseSpec({
      local_path: '.',
      glob_tables: [{ name: 'logs', include: ['logs/**'] }],
      hive_partitioning: true,
      hive_types: { year: 'int64' },
    });
    assert.deepEqual(spec.layout.globTables, [{ name: 'logs', include: ['logs/**'], exclude: [], filetype: undefined }]);
    assert.deepEqual(spec.layout.hiveTypes, { year: 'int64' });
  });
});
