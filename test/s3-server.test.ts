// Proves the test harness itself: a real S3 server (Swift + s3api) and real Parquet fixtures (DuckDB).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client, type S3ServiceException } from '@aws-sdk/client-s3';
import { startS3Server, type S3TestServer } from './support/s3-server.js';
import { ALL_TYPES_ROW_COUNT, ALL_TYPES_SQL, closeFixtures, parquetFromSql, rowsFromSql } from './support/fixtures.js';

const BUCKET = 'harness-test';

describe('S3 test server', () => {
  let server: S3TestServer;
  let fixture: Uint8Array;

  before(async () => {
    [server, fixture] = await Promise.all([startS3Server(), parquetFromSql(ALL_TYPES_SQL, { codec: 'zstd', rowGroupSize: 1000 })]);
    await server.createBucket(BUCKET);
  });

  after(async () => {
    await server?.stop();
    await closeFixtures();
  });

  it('creates buckets idempotently', async () => {
    await server.createBucket(BUCKET);
  });

  it('stores a Parquet fixture and serves it whole and by suffix range', async () => {
    await server.put(BUCKET, 'fixtures/all_types.parquet', fixture);

    const whole = await server.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'fixtures/all_types.parquet' }));
    assert.deepEqual(await whole.Body!.transformToByteArray(), fixture);

    const tail = await server.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'fixtures/all_types.parquet', Range: 'bytes=-8' }));
    const bytes = await tail.Body!.transformToByteArray();
    assert.equal(tail.ContentRange, `bytes ${fixture.length - 8}-${fixture.length - 1}/${fixture.length}`);
    assert.deepEqual(bytes, fixture.subarray(-8));
    assert.equal(Buffer.from(bytes.subarray(4)).toString('latin1'), 'PAR1');
    const footerLength = Buffer.from(bytes).readUInt32LE(0);
    assert.ok(footerLength > 0 && footerLength < fixture.length - 12);
  });

  it('writes fixtures that hold exactly the rows of the query, in several row groups', async () => {
    const file = join(tmpdir(), `cq-harness-${process.pid}.parquet`);
    await writeFile(file, fixture);
    try {
      const path = `'${file}'`;
      // DuckDB reads Parquet TIMESTAMP_MILLIS back as a µs TIMESTAMP: cast to compare like with like.
      const back = await rowsFromSql(
        `SELECT * REPLACE (c_timestamp_ms::TIMESTAMP_MS AS c_timestamp_ms) FROM read_parquet(${path}) ORDER BY id`,
      );
      const expected = await rowsFromSql(`SELECT * FROM (${ALL_TYPES_SQL}) ORDER BY id`);
      assert.equal(back.length, ALL_TYPES_ROW_COUNT);
      assert.deepEqual(back, expected);
      assert.ok(expected.some((r) => r.c_nullable === null) && expected.some((r) => r.c_nullable !== null));

      const meta = await rowsFromSql(`SELECT DISTINCT row_group_id, compression FROM parquet_metadata(${path}) ORDER BY row_group_id`);
      assert.ok(meta.length >= 2, `expected several row groups, got ${meta.length}`);
      assert.ok(meta.every((m) => m.compression === 'ZSTD'));
    } finally {
      await rm(file, { force: true });
    }
  });

  it('uploads bodies over 64 MiB (multipart) intact', async () => {
    const body = new Uint8Array(64 * 1024 * 1024 + 12345);
    for (let i = 0; i < body.length; i += 997) body[i] = i % 251;
    await server.put(BUCKET, 'big.bin', body);
    const head = await server.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'big.bin' }));
    assert.equal(head.ContentLength, body.length);
    const back = await server.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'big.bin' }));
    assert.ok(Buffer.from(await back.Body!.transformToByteArray()).equals(body));
    await server.remove(BUCKET, 'big.bin');
  });

  it('paginates ListObjectsV2', async () => {
    const keys = ['page/a', 'page/b', 'page/c', 'page/d', 'page/e'];
    await Promise.all(keys.map((k) => server.put(BUCKET, k, k)));
    const pages: string[][] = [];
    let token: string | undefined;
    do {
      const page = await server.client.send(
        new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'page/', MaxKeys: 2, ContinuationToken: token }),
      );
      pages.push((page.Contents ?? []).map((o) => o.Key!));
      assert.equal(page.IsTruncated, pages.length < 3);
      token = page.NextContinuationToken;
    } while (token);
    assert.deepEqual(pages, [['page/a', 'page/b'], ['page/c', 'page/d'], ['page/e']]);
  });

  it('rejects a wrong secret with 403', async () => {
    const intruder = new S3Client({
      endpoint: server.endpoint,
      region: server.region,
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: 'not-the-secret' },
    });
    await assert.rejects(intruder.send(new ListObjectsV2Command({ Bucket: BUCKET })), (err: S3ServiceException) => {
      assert.equal(err.$metadata.httpStatusCode, 403);
      assert.equal(err.name, 'SignatureDoesNotMatch');
      return true;
    });
    intruder.destroy();
  });

  it('removes objects and empties buckets', async () => {
    await server.put(BUCKET, 'gone', 'x');
    await server.remove(BUCKET, 'gone');
    await assert.rejects(server.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'gone' })), { name: 'NotFound' });
    await server.emptyBucket(BUCKET);
    const list = await server.client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    assert.equal(list.KeyCount, 0);
  });

  it('stops every process it started, and stopping twice is harmless', async () => {
    await server.stop();
    await server.stop();
    for (const pid of server.pids) {
      assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `process ${pid} still alive`);
    }
  });
});
