// `preview` (and so `npm start`): the bundled sample data, and a bucket on a real S3 server.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { closeFixtures, parquetFromSql } from './support/fixtures.js';
import { startS3Server, type S3TestServer } from './support/s3-server.js';

const run = promisify(execFile);
const preview = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, ['dist/main.js', 'preview', ...args], { env: { ...process.env, ...env } });

describe('preview of the bundled sample data (npm start)', () => {
  it('prints every table with its columns, row count and sample rows', async () => {
    const { stdout } = await preview(['--spec', 'examples/sample-spec.yml']);
    assert.match(stdout, /6 objects listed, 5 tables/);
    assert.match(stdout, /Table clicks_2024: 1 file\(s\), rows unknown until read/);
    assert.match(stdout, /Table stores: 1 file\(s\), rows unknown until read/);
    assert.match(stdout, /device\s+json/);
    assert.match(stdout, /Table customers: 1 file\(s\), 50 rows/);
    assert.match(stdout, /Table events_2024_01_14: 1 file\(s\), 120 rows/);
    assert.match(stdout, /Table sales_2024: 2 file\(s\), 450 rows/);
    assert.match(stdout, /ordered_at\s+timestamp\[us, UTC\]/);
    assert.match(stdout, /_cq_id\s+uuid\s+\(not null, added by the plugin\)/);
    assert.match(stdout, /"order_id":"1","customer_id":"2","amount":"17.31","ordered_at":"2024-01-01T02:11:00.000Z"/);
  });

  it('rejects a bad spec with the field named', async () => {
    await assert.rejects(
      preview(['--spec-inline', '{"local_path": "examples/sample-data", "rows_per_recrd": 5}']),
      (err: { code: number; stderr: string }) => {
        assert.equal(err.code, 2);
        assert.match(err.stderr, /unknown field "rows_per_recrd" \(did you mean "rows_per_record"\?\)/);
        return true;
      },
    );
  });
});

describe('preview of a bucket', () => {
  let s3: S3TestServer;
  before(async () => {
    s3 = await startS3Server();
    await s3.createBucket('preview-bucket');
    await s3.put('preview-bucket', 'exports/2024/a.parquet', await parquetFromSql('SELECT i AS id FROM range(7) t(i)'));
    await s3.put('preview-bucket', 'exports/2024/bad.parquet', 'garbage');
  });
  after(async () => {
    await s3?.stop();
    await closeFixtures();
  });

  it('reads a CloudQuery config file with ${VAR} expansion and reports skipped objects', async () => {
    const config = `
kind: source
spec:
  name: s3
  path: localhost:7777
  registry: grpc
  spec:
    bucket: preview-bucket
    region: \${TEST_REGION}
    endpoint: ${s3.endpoint}
    path_style: true
    access_key_id: \${TEST_KEY}
    secret_access_key: \${TEST_SECRET}
`;
    await assert.rejects(
      preview(['--spec-inline', config], { TEST_REGION: s3.region, TEST_KEY: s3.accessKeyId, TEST_SECRET: s3.secretAccessKey }),
      (err: { code: number; stdout: string }) => {
        assert.equal(err.code, 1, 'a skipped object makes preview exit 1');
        assert.match(err.stdout, /Table exports_2024: 1 file\(s\), 7 rows/);
        assert.match(err.stdout, /Skipped exports\/2024\/bad\.parquet: .*not a Parquet file/);
        return true;
      },
    );
  });
});
