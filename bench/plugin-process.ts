// A plugin process the bench starts itself (node flags of its choosing), for cold starts and the CPU profile.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { connectPlugin, freePort, sleep, type PluginClient } from '../test/support/plugin-client.js';

export interface SpawnedPlugin {
  child: ChildProcess;
  client: PluginClient;
  /** performance.now() just before the spawn. */
  startedAt: number;
  logs: string[];
  stop(): Promise<void>;
}

/** Spawns the plugin directly (node flags of our choosing), waits until its port accepts connections. */
export async function spawnPlugin(nodeArgs: string[], entry: string): Promise<SpawnedPlugin> {
  const port = await freePort();
  const logs: string[] = [];
  const startedAt = performance.now();
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      entry,
      'serve',
      '--address',
      `127.0.0.1:${port}`,
      '--log-format',
      'json',
      '--log-level',
      'info',
      '--network',
      'tcp',
      '--no-sentry',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  for (const stream of [child.stdout!, child.stderr!])
    stream.setEncoding('utf8').on('data', (chunk: string) => logs.push(...chunk.split('\n').filter(Boolean)));
  let exited = false;
  const exit = once(child, 'exit').then(() => {
    exited = true;
  });
  const stop = async () => {
    if (!exited) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exit;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 15_000;
  while (!(await tcpAccepts(port))) {
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`plugin did not start:\n${logs.join('\n')}`);
    }
    await sleep(2);
  }
  return { child, client: connectPlugin(`127.0.0.1:${port}`), startedAt, logs, stop };
}

function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
