// Diagnostic: the plugin's whole pipeline (list, footers, decode, conform, _cq_id, IPC encode) in this process, no gRPC.
import { performance } from 'node:perf_hooks';
import { cpuMs, s3CpuMs } from '../cpu.js';
import { prepareInProcessSync } from '../plugin.js';
import { pluginSpec, type Env, type Pass } from './pass.js';

export async function pipelinePass(env: Env, bucket: string, rowsPerRecord: number): Promise<Pass> {
  const sync = await prepareInProcessSync(pluginSpec(env, bucket, rowsPerRecord));
  let rows = 0;
  let records = 0;
  let recordBytes = 0;
  const s3Cpu = s3CpuMs(env.s3);
  const cpu = process.cpuUsage();
  const started = performance.now();
  try {
    const requests = await sync.run((record, n) => {
      rows += n;
      records++;
      recordBytes += record.byteLength;
    });
    const ms = performance.now() - started;
    return {
      ms,
      rows,
      records,
      recordBytes,
      cpuMs: cpuMs(process.cpuUsage(cpu)),
      s3CpuMs: s3CpuMs(env.s3) - s3Cpu,
      ...requests,
    };
  } finally {
    sync.close();
  }
}
