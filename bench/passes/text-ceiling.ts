// The formats section's ceiling: the objects of one format fetched from the S3 server, decompressed and
// parsed into plain values by the libraries the plugin reads them with (csv-parse; JSON.parse a line, the
// cost the plugin's own JSON scanner competes with; avsc with snappyjs), all objects at once, no Arrow
// and no gRPC. One process.
import { performance } from 'node:perf_hooks';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import avsc from 'avsc';
import { parse } from 'csv-parse';
import { uncompress as snappyUncompress } from 'snappyjs';
import { cpuMs, s3CpuMs } from '../cpu.js';
import type { BenchFormat } from '../format-data.js';
import type { Env, Pass } from './pass.js';

export async function textCeilingPass(env: Env, bucket: string, format: BenchFormat): Promise<Pass> {
  const s3Cpu = s3CpuMs(env.s3);
  const cpu = process.cpuUsage();
  const started = performance.now();
  const listing = await env.s3.client.send(new ListObjectsV2Command({ Bucket: bucket }));
  const keys = (listing.Contents ?? []).map((o) => o.Key!);
  const counts = await Promise.all(
    keys.map(async (key) => {
      const object = await env.s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return COUNTERS[format](object.Body as Readable);
    }),
  );
  return {
    ms: performance.now() - started,
    rows: counts.reduce((a, b) => a + b, 0),
    cpuMs: cpuMs(process.cpuUsage(cpu)),
    s3CpuMs: s3CpuMs(env.s3) - s3Cpu,
    getRequests: keys.length,
    listRequests: 1,
  };
}

const COUNTERS: Record<BenchFormat, (body: Readable) => Promise<number>> = { csv: csvRows, jsonl: jsonLines, avro: avroRecords };

/** gunzip, then csv-parse's records (the header line left out). */
async function csvRows(body: Readable): Promise<number> {
  let rows = 0;
  const parser = parse({ from_line: 2 });
  await pipeline(
    body,
    createGunzip(),
    parser,
    new Writable({
      objectMode: true,
      write(_record: string[], _encoding, done) {
        rows++;
        done();
      },
    }),
  );
  return rows;
}

/** gunzip, then JSON.parse of every line. */
async function jsonLines(body: Readable): Promise<number> {
  let rows = 0;
  let rest = '';
  const decoder = new StringDecoder('utf8');
  const line = (text: string) => {
    if (text.length === 0) return;
    JSON.parse(text);
    rows++;
  };
  await pipeline(
    body,
    createGunzip(),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        const text = rest + decoder.write(chunk);
        let start = 0;
        for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
          line(text.slice(start, nl));
          start = nl + 1;
        }
        rest = text.slice(start);
        done();
      },
      final(done) {
        line(rest + decoder.end());
        done();
      },
    }),
  );
  return rows;
}

/** avsc's container decoder, snappy blocks through snappyjs (their 4-byte CRC left out, as the plugin checks it apart). */
async function avroRecords(body: Readable): Promise<number> {
  let rows = 0;
  const snappy = (buf: Buffer, cb: (err: Error | null, out?: Buffer) => void) => {
    try {
      cb(null, Buffer.from(snappyUncompress(buf.subarray(0, buf.length - 4))));
    } catch (err) {
      cb(err as Error);
    }
  };
  await pipeline(
    body,
    new avsc.streams.BlockDecoder({ codecs: { snappy } }),
    new Writable({
      objectMode: true,
      write(_record: unknown, _encoding, done) {
        rows++;
        done();
      },
    }),
  );
  return rows;
}
