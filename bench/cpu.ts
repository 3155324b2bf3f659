// CPU time: of this process, of another process (/proc/<pid>/stat) and of the S3 server's processes.
import { readFileSync } from 'node:fs';
import type { S3TestServer } from '../test/support/s3-server.js';

const CLOCK_TICKS = 100;

/** utime + stime of a process, in ms. */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after "(comm)": state is [0]; utime is field 14 of the whole line, i.e. [11] here.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** CPU time of every process of the S3 server (Swift proxy, object, container, account servers, memcached). */
export function s3CpuMs(s3: S3TestServer): number {
  return s3.pids.reduce((sum, pid) => sum + processCpuMs(pid), 0);
}

/** A process.cpuUsage() difference, in ms. */
export function cpuMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000;
}
