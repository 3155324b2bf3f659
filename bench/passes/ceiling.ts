// (1) The ceiling: the same reader, the same ranged GETs, decoded to Arrow batches and counted. One process.
import { performance } from 'node:perf_hooks';
import { cpuMs, s3CpuMs } from '../cpu.js';
import { DEFAULT_ROWS_PER_RECORD, openParquetReader } from '../plugin.js';
import { pluginSpec, type Env, type Pass } from './pass.js';

export async function ceilingPass(env: Env, bucket: string): Promise<Pass> {
  // The plugin's own store for the plugin's own spec: same client settings, same ranged GETs.
  const reader = await openParquetReader(pluginSpec(env, bucket, DEFAULT_ROWS_PER_RECORD), DEFAULT_ROWS_PER_RECORD);
  const s3Cpu = s3CpuMs(env.s3);
  const cpu = process.cpuUsage();
  const started = performance.now();
  let rows: number;
  try {
    rows = await reader.countRows();
  } finally {
    reader.close();
  }
  const ms = performance.now() - started;
  return {
    ms,
    rows,
    cpuMs: cpuMs(process.cpuUsage(cpu)),
    s3CpuMs: s3CpuMs(env.s3) - s3Cpu,
    getRequests: reader.stats.getRequests,
    listRequests: reader.stats.listRequests,
  };
}
