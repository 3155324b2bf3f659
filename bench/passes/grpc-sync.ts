// (2)/(3)/(4) A full plugin process, driven as the CLI drives it: discovery, Init, Sync. The throughput,
// no-change and peak RSS measurements are all this pass with different options.
import { performance } from 'node:perf_hooks';
import { startPlugin, type PluginProcess } from '../../test/support/plugin-client.js';
import { cliChannel, countingSync, type BackendOptions, type CountedSync } from '../cli-client.js';
import { cpuMs, processCpuMs, s3CpuMs } from '../cpu.js';
import { rssMb, watchRss } from '../memory.js';
import { pluginSpec, type Env, type Pass } from './pass.js';

export interface GrpcSyncOptions {
  bucket: string;
  rowsPerRecord: number;
  backend?: BackendOptions;
  watchRss?: boolean;
  expectRows?: number;
  /** Client receive window; env.clientWindow when omitted. */
  window?: number;
  /** Spec fields over pluginSpec's (e.g. filetype); with `local_path`, the bucket and S3 fields are left out. */
  spec?: Record<string, unknown>;
}

export interface GrpcPass extends Pass {
  rss?: { peakMb: number; maxSampledMb: number; baselineMb: number; samples: number };
}

export async function grpcSyncPass(env: Env, options: GrpcSyncOptions): Promise<GrpcPass> {
  const plugin = await startPlugin({ entry: env.entry, extraArgs: ['--log-level', 'info'] });
  const raw = cliChannel(plugin.address, options.window ?? env.clientWindow);
  let pass: GrpcPass;
  try {
    let baselineMb = 0;
    const rss = options.watchRss ? watchRss(plugin.pid) : undefined;
    const cpuBefore = processCpuMs(plugin.pid);
    const s3Cpu = s3CpuMs(env.s3);
    const clientCpu = process.cpuUsage();
    const started = performance.now();
    const versions = await plugin.client.getVersions();
    if (!versions.includes(3)) throw new Error(`plugin reports protocol versions ${versions.join(', ')}`);
    await plugin.client.init(syncSpec(env, options));
    baselineMb = rssMb(plugin.pid);
    const result = await countingSync(raw, options.backend);
    const ms = performance.now() - started;
    const cpu = processCpuMs(plugin.pid) - cpuBefore;
    const clientCpuMs = cpuMs(process.cpuUsage(clientCpu));
    const s3Used = s3CpuMs(env.s3) - s3Cpu;
    const watched = rss?.stop();
    checkResult(result, options.expectRows);
    pass = {
      ms,
      rows: result.rows,
      records: result.records,
      recordBytes: result.recordBytes,
      cpuMs: cpu,
      clientCpuMs,
      s3CpuMs: s3Used,
      rss: watched ? { ...watched, baselineMb } : undefined,
    };
  } finally {
    raw.close();
    await plugin.stop();
  }
  return { ...pass, ...requestsLogged(plugin) };
}

function syncSpec(env: Env, options: GrpcSyncOptions): Record<string, unknown> {
  if (options.spec?.local_path !== undefined) return { rows_per_record: options.rowsPerRecord, ...options.spec };
  return { ...pluginSpec(env, options.bucket, options.rowsPerRecord), ...options.spec };
}

function checkResult(result: CountedSync, expectRows: number | undefined): void {
  if (result.errors.length > 0) throw new Error(`sync reported errors: ${result.errors.join('; ')}`);
  if (expectRows !== undefined && result.rows !== expectRows) {
    throw new Error(`sync delivered ${result.rows} rows, expected ${expectRows}`);
  }
}

/** The S3 requests of the sync, from the plugin's own "sync finished" log line. */
function requestsLogged(plugin: PluginProcess): { getRequests: number; listRequests: number } {
  const finished = plugin.jsonLogs().find((line) => line.message === 'sync finished');
  if (!finished) throw new Error(`the plugin logged no "sync finished" line:\n${plugin.logs.slice(-20).join('\n')}`);
  return { getRequests: Number(finished.get_requests), listRequests: Number(finished.list_requests) };
}
