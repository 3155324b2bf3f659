// Objects that disappear or change after the listing: reported by key, never mixed, never fatal.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { closeFixtures, parquetFromSql } from './support/fixtures.js';
import { startPlugin, type PluginProcess } from './support/plugin-client.js';
import { startS3Server, type S3TestServer } from './support/s3-server.js';
import { s3Spec } from './support/s3-spec.js';

const BUCKET = 'cq-race-test';
const FIRST_ROWS = 1_500_000;
// Random text keeps these files larger than the footer prefetch, so their row groups need a GET.
const other = (tag: string) =>
  `SELECT i::BIGINT AS id, '${tag}' AS version, md5(i::VARCHAR || '${tag}') AS noise FROM range(0, 20000) t(i)`;

let s3: S3TestServer;
let plugin: PluginProcess;

before(async () => {
  s3 = await startS3Server();
  plugin = await startPlugin();
});

after(async () => {
  await plugin?.stop();
  await s3?.stop();
  await closeFixtures();
});

describe('objects changing during a sync', () => {
  it('reports a deleted and an overwritten object by key, and delivers the rest', async () => {
    await s3.createBucket(BUCKET);
    await s3.put(
      BUCKET,
      'race/a.parquet',
      await parquetFromSql(`SELECT i::BIGINT AS id, 'first' AS version, md5(i::VARCHAR) AS noise FROM range(${FIRST_ROWS}) t(i)`, {
        rowGroupSize: 65536,
      }),
    );
    await s3.put(BUCKET, 'race/b.parquet', await parquetFromSql(other('old')));
    await s3.put(BUCKET, 'race/c.parquet', await parquetFromSql(other('old')));
    const replacement = await parquetFromSql(other('new'));

    await plugin.client.init(s3Spec(s3, BUCKET, { concurrency: 1, max_retries: 1 }));
    // Files are read one at a time in key order: while a.parquet streams, b is deleted and c replaced.
    let changed: Promise<void> | undefined;
    const result = await plugin.client.sync({
      tables: ['*'],
      onMessage: (kind) => {
        if (kind === 'insert' && !changed) {
          changed = Promise.all([s3.remove(BUCKET, 'race/b.parquet'), s3.put(BUCKET, 'race/c.parquet', replacement)]).then(() => {});
        }
      },
    });
    await changed;

    const rows = result.rows('race');
    assert.equal(rows.filter((r) => r.version === 'first').length, FIRST_ROWS, 'the untouched file is delivered whole');
    assert.equal(rows.filter((r) => r.version === 'new').length, 0, 'rows of the new version are never mixed in');
    assert.equal(rows.filter((r) => r.version === 'old').length, 0, 'the changed and deleted objects deliver nothing');
    const messages = result.errors.map((e) => e.error);
    assert.ok(
      messages.some((m) => m.includes(`s3://${BUCKET}/race/b.parquet`) && /deleted/.test(m)),
      messages.join('\n'),
    );
    assert.ok(
      messages.some((m) => m.includes(`s3://${BUCKET}/race/c.parquet`) && /changed/.test(m)),
      messages.join('\n'),
    );
  });
});
