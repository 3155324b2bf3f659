// Peak RSS of a process (the plugin), read from /proc/<pid>/status.
import { readFileSync } from 'node:fs';

export interface RssWatch {
  stop(): { peakMb: number; maxSampledMb: number; samples: number };
}

/** Polls /proc/<pid>/status every 50 ms: VmRSS samples, and VmHWM (the kernel's own peak, between samples too). */
export function watchRss(pid: number): RssWatch {
  let maxRss = 0;
  let hwm = 0;
  let samples = 0;
  const sample = () => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      maxRss = Math.max(maxRss, kb(status, 'VmRSS'));
      hwm = Math.max(hwm, kb(status, 'VmHWM'));
      samples++;
    } catch {
      // the process is gone
    }
  };
  sample();
  const timer = setInterval(sample, 50);
  return {
    stop() {
      sample();
      clearInterval(timer);
      return { peakMb: Math.max(hwm, maxRss) / 1024, maxSampledMb: maxRss / 1024, samples };
    },
  };
}

/** The current RSS of a process, 0 when it is gone. */
export function rssMb(pid: number): number {
  try {
    return kb(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS') / 1024;
  } catch {
    return 0;
  }
}

function kb(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) : 0;
}
