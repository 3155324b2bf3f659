// The private engine: containerd + dockerd with their own sockets and data root, stopped by PID; the
// lock that keeps two container tests from sharing it; unmounting what dockerd leaves behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../../test/support/plugin-client.js';
import { CACHE, LABEL } from './config.js';
import { log, prove, say, tail } from './output.js';
import { run, type RunOptions, type RunResult } from './run.js';

export interface Daemon {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
  logPath: string;
}

export interface Engine {
  env: NodeJS.ProcessEnv;
  docker: (args: string[], opts?: RunOptions) => Promise<RunResult>;
}

function startDaemon(name: string, cmd: string, args: string[], logPath: string): Daemon {
  log(`$ ${cmd} ${args.join(' ')}  (log: ${logPath})`);
  const fd = openSync(logPath, 'a');
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', () => {});
  return { name, child, exited, logPath };
}

export async function stopDaemon(d: Daemon | undefined): Promise<void> {
  if (!d || d.child.pid === undefined || d.child.exitCode !== null || d.child.signalCode !== null) return;
  process.kill(d.child.pid, 'SIGTERM');
  const killed = await Promise.race([d.exited.then(() => false), sleep(20_000).then(() => true)]);
  if (killed) {
    say(`${d.name} (pid ${d.child.pid}) ignored SIGTERM for 20 s: SIGKILL`);
    process.kill(d.child.pid, 'SIGKILL');
    await d.exited;
  }
}

const alive = (d: Daemon) => d.child.exitCode === null && d.child.signalCode === null && d.child.pid !== undefined;

/** Waits up to 30 s for `ok`, failing early with the daemon's log when it exits. */
async function waitUntil(what: string, d: Daemon, ok: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!alive(d))
      throw new Error(`${what}: ${d.name} exited (${d.child.exitCode ?? d.child.signalCode})\n${tail(readFileSync(d.logPath, 'utf8'))}`);
    if (await ok()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not ready after 30 s\n${tail(readFileSync(d.logPath, 'utf8'))}`);
    await sleep(100);
  }
}

function containerdArgs(tmp: string, exec: string, ctdSock: string): string[] {
  return [
    '--config',
    join(tmp, 'containerd.toml'),
    '--root',
    join(tmp, 'containerd-root'),
    '--state',
    join(exec, 'containerd-state'),
    '--address',
    ctdSock,
    '--log-level',
    'warn',
  ];
}

function dockerdArgs(tmp: string, exec: string, ctdSock: string, dockerSock: string, dataRoot: string): string[] {
  return [
    '--config-file',
    join(tmp, 'daemon.json'),
    '--containerd',
    ctdSock,
    '--iptables=false',
    '--ip6tables=false',
    '--bridge=none',
    '--userland-proxy=false',
    '--data-root',
    dataRoot,
    '--exec-root',
    join(exec, 'd'),
    '--pidfile',
    join(exec, 'dockerd.pid'),
    '--storage-driver',
    'overlay2',
    '-H',
    `unix://${dockerSock}`,
    '--log-level',
    'warn',
  ];
}

/** Starts containerd, then dockerd; each daemon joins `daemons` as soon as it is spawned, so the caller stops it even when this fails. */
export async function startEngine(tmp: string, daemons: Daemon[]): Promise<Engine> {
  const exec = join(tmp, 'x');
  mkdirSync(exec, { recursive: true });
  const dataRoot = join(CACHE, 'docker');
  mkdirSync(dataRoot, { recursive: true });
  writeFileSync(join(tmp, 'containerd.toml'), 'version = 2\n');
  writeFileSync(join(tmp, 'daemon.json'), '{}\n');
  const ctdSock = join(exec, 'containerd.sock');
  const dockerSock = join(exec, 'docker.sock');
  const engine: Engine = {
    env: {
      ...process.env,
      DOCKER_HOST: `unix://${dockerSock}`,
      DOCKER_CONFIG: join(tmp, 'docker-config'),
      DOCKER_BUILDKIT: '1',
    },
    docker: (args, opts = {}) => run('/usr/bin/docker', args, { env: engine.env, ...opts }),
  };
  const containerd = startDaemon('containerd', 'containerd', containerdArgs(tmp, exec, ctdSock), join(tmp, 'containerd.log'));
  daemons.push(containerd);
  await waitUntil('containerd', containerd, () => existsSync(ctdSock));
  const dockerd = startDaemon('dockerd', 'dockerd', dockerdArgs(tmp, exec, ctdSock, dockerSock, dataRoot), join(tmp, 'dockerd.log'));
  daemons.push(dockerd);
  await waitUntil('dockerd', dockerd, async () => (await engine.docker(['version'], { allowFail: true })).code === 0);
  const version = (await engine.docker(['version', '--format', '{{.Server.Version}}'])).stdout.trim();
  prove(`a private dockerd ${version} (pid ${dockerd.child.pid}) with its own containerd (pid ${containerd.child.pid}) started`);
  return engine;
}

/** Removes containers an earlier, interrupted run left in the engine's store. */
export async function removeStaleContainers(e: Engine): Promise<void> {
  const stale = (await e.docker(['ps', '-aq', '--filter', `label=${LABEL}`])).stdout.split('\n').filter(Boolean);
  if (stale.length) await e.docker(['rm', '-f', ...stale]);
}

/** Unmounts (lazily, deepest first) every mount point below the given directories. */
export async function unmountUnder(dirs: string[]): Promise<void> {
  const points = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1]?.replace(/\\040/g, ' ') ?? '')
    .filter((p) => dirs.some((d) => p.startsWith(`${d}/`)))
    .sort((a, b) => b.length - a.length);
  for (const p of points) await run('umount', ['-l', p], { allowFail: true });
}

/** Runs `fn` holding the cache's lock (its data root and stand-ins are shared); a dead holder's lock is taken over. */
export async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const lock = join(CACHE, 'lock');
  mkdirSync(CACHE, { recursive: true });
  for (let waited = 0; ; waited++) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch {
      let holder = 0;
      try {
        holder = Number(readFileSync(join(lock, 'pid'), 'utf8'));
        process.kill(holder, 0);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ESRCH' || holder === 0) {
          rmSync(lock, { recursive: true, force: true });
          continue;
        }
      }
      if (waited === 0) say(`waiting for another container test (pid ${holder}) to finish`);
      if (waited > 1200) throw new Error(`${lock} held by pid ${holder} for 10 minutes`);
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
