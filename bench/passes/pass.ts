// What every measured pass shares: where it runs, what it measures, and how it is shown in progress lines.
import type { S3TestServer } from '../../test/support/s3-server.js';
import { fmtInt } from '../util.js';

export interface Env {
  s3: S3TestServer;
  /** The plugin the gRPC passes start. */
  entry: string;
  /** The gRPC client's receive window when a pass names none. */
  clientWindow: number;
}

export interface Pass {
  ms: number;
  rows: number;
  /** CPU time of the process doing the work (the plugin for gRPC syncs). */
  cpuMs: number;
  /** CPU time of the bench process acting as the CLI (gRPC syncs only). */
  clientCpuMs?: number;
  /** CPU time of the S3 server's processes. */
  s3CpuMs?: number;
  getRequests?: number;
  listRequests?: number;
  records?: number;
  recordBytes?: number;
}

/** The plugin's spec (as the CLI sends it in Init) for one bucket of the bench's S3 server. */
export function pluginSpec(env: Env, bucket: string, rowsPerRecord: number) {
  return {
    bucket,
    region: env.s3.region,
    endpoint: env.s3.endpoint,
    path_style: true,
    access_key_id: env.s3.accessKeyId,
    secret_access_key: env.s3.secretAccessKey,
    rows_per_record: rowsPerRecord,
  };
}

export function rowsPerSecond(p: Pass): number {
  return p.rows / (p.ms / 1000);
}

export function passText(p: Pass): string {
  const cpu =
    p.clientCpuMs === undefined ? `cpu ${fmtInt(p.cpuMs)} ms` : `plugin cpu ${fmtInt(p.cpuMs)} ms, client ${fmtInt(p.clientCpuMs)} ms`;
  return `${fmtInt(p.rows / (p.ms / 1000))} rows/s (${(p.ms / 1000).toFixed(2)} s, ${cpu})`;
}
