// (5) Cold start, and the size of what ships (dist/).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { spawnPlugin } from '../plugin-process.js';

/** Process start to the first answered GetName. */
export async function coldStart(entry: string): Promise<number> {
  const plugin = await spawnPlugin([], entry);
  try {
    await plugin.client.getName();
    return performance.now() - plugin.startedAt;
  } finally {
    plugin.client.dispose();
    await plugin.stop();
  }
}

/** Bytes of every file under a directory. */
export function dirBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? dirBytes(path) : statSync(path).size;
  }
  return total;
}
