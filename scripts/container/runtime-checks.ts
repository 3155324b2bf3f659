// Checks on the amd64 image in the engine and on its running containers: labels, no shell, the
// version command, the default CMD, and a container run as the CloudQuery CLI runs it (user,
// capabilities, read-only root, gRPC, a full sync, JSON logs, stop on SIGTERM).
import { existsSync, readFileSync } from 'node:fs';
import { connectPlugin, freePort, sleep, type PluginClient } from '../../test/support/plugin-client.js';
import type { S3TestServer } from '../../test/support/s3-server.js';
import { BUILD_ARGS, EXPECTED_ENTRYPOINT, EXPECTED_LABELS, IMAGE, LABEL } from './config.js';
import type { Engine } from './engine.js';
import { check, log, notes, prove, secs, step, tail } from './output.js';
import { syncThroughContainer } from './sync.js';

function procStatus(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) out[line.slice(0, colon)] = line.slice(colon + 1).trim();
  }
  return out;
}

/** Is something in the process's network namespace listening on TCP `port` (IPv4 or IPv6)? */
function listensOn(pid: number, port: number): string | undefined {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['tcp6', 'tcp']) {
    const path = `/proc/${pid}/net/${file}`;
    if (!existsSync(path)) continue;
    for (const line of readFileSync(path, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[1]?.endsWith(`:${hex}`) && cols[3] === '0A') return `${file} ${cols[1]}`;
    }
  }
  return undefined;
}

async function waitForGrpc(engine: Engine, cid: string, target: string): Promise<PluginClient> {
  const deadline = Date.now() + 30_000;
  let lastError: unknown;
  let client: PluginClient | undefined;
  while (Date.now() < deadline) {
    const state = (await engine.docker(['inspect', '-f', '{{.State.Running}}', cid])).stdout.trim();
    if (state !== 'true') {
      const logs = await engine.docker(['logs', cid], { allowFail: true });
      throw new Error(`the container exited before it answered gRPC\n${tail(logs.stdout + logs.stderr)}`);
    }
    client ??= connectPlugin(target);
    try {
      await new Promise<void>((resolve, reject) => client!.raw.waitForReady(Date.now() + 1000, (e) => (e ? reject(e) : resolve())));
      await client.getName();
      return client;
    } catch (error) {
      lastError = error;
      await sleep(200);
    }
  }
  client?.dispose();
  const logs = await engine.docker(['logs', cid], { allowFail: true });
  throw new Error(`no gRPC answer at ${target} within 30 s: ${String(lastError)}\n${tail(logs.stdout + logs.stderr)}`);
}

async function containerPid(e: Engine, cid: string): Promise<number> {
  return Number((await e.docker(['inspect', '-f', '{{.State.Pid}}', cid])).stdout.trim());
}

async function checkInspect(e: Engine): Promise<void> {
  const inspect = JSON.parse((await e.docker(['inspect', IMAGE])).stdout)[0];
  const labels: Record<string, string> = inspect.Config.Labels ?? {};
  for (const [k, v] of Object.entries(EXPECTED_LABELS)) check(labels[k] === v, `label ${k}=${v} (got ${labels[k]})`);
  check(labels['org.opencontainers.image.description']?.includes('Parquet'), 'label org.opencontainers.image.description');
  check(inspect.Config.User === '65532:65532', `image USER 65532:65532 (got ${inspect.Config.User})`);
  prove(
    `docker inspect: labels ${Object.entries(EXPECTED_LABELS)
      .map(([k, v]) => `${k.replace('org.opencontainers.image.', '')}=${v}`)
      .join(', ')} and description are set; USER 65532:65532`,
  );
}

async function checkNoShell(e: Engine): Promise<void> {
  for (const entry of ['/bin/sh', 'sh']) {
    const r = await e.docker(['run', '--rm', '--network', 'none', '--label', LABEL, '--entrypoint', entry, IMAGE, '-c', 'echo shell'], {
      allowFail: true,
    });
    check(r.code !== 0 && !r.stdout.includes('shell'), `docker run --entrypoint ${entry} fails (exit ${r.code})`);
    log(`--entrypoint ${entry}: exit ${r.code}: ${r.stderr.trim()}`);
  }
  prove('docker run --entrypoint /bin/sh (and sh from PATH) fails: the image has no shell (exit 127, executable not found)');
}

async function checkVersionCommand(e: Engine): Promise<void> {
  const r = await e.docker(['run', '--rm', '--read-only', '--cap-drop', 'ALL', '--network', 'none', '--label', LABEL, IMAGE, 'version']);
  check(r.stdout.trim() === BUILD_ARGS.VERSION, `\`version\` prints ${BUILD_ARGS.VERSION} (got ${r.stdout.trim()})`);
  prove(`docker run IMAGE version prints ${BUILD_ARGS.VERSION}: arguments replace the default CMD, the entrypoint stays`);
}

async function checkDefaultCmd(e: Engine, containers: string[]): Promise<void> {
  const cid = (
    await e.docker(['run', '-d', '--read-only', '--cap-drop', 'ALL', '--network', 'none', '--label', LABEL, IMAGE])
  ).stdout.trim();
  containers.push(cid);
  const pid = await containerPid(e, cid);
  let listening: string | undefined;
  for (let i = 0; i < 150 && !(listening = listensOn(pid, 7777)); i++) await sleep(100);
  const logs = await e.docker(['logs', cid], { allowFail: true });
  check(listening, `the default CMD listens on port 7777\n${tail(logs.stdout + logs.stderr)}`);
  check(
    listening.startsWith('tcp6') && listening.includes('00000000000000000000000000000000:1E61'),
    `listens on [::]:7777 (got ${listening})`,
  );
  await e.docker(['rm', '-f', cid]);
  prove('with no arguments the image serves gRPC on [::]:7777 (default CMD), read-only, no capabilities');
}

function checkProcess(pid: number, cliArgs: string[]): void {
  const status = procStatus(pid);
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  check(status.Uid === '65532\t65532\t65532\t65532', `process uid 65532 (Uid: ${status.Uid})`);
  check(status.Gid === '65532\t65532\t65532\t65532', `process gid 65532 (Gid: ${status.Gid})`);
  check(/^0+$/.test(status.CapEff ?? '') && /^0+$/.test(status.CapPrm ?? ''), `no capabilities (CapEff ${status.CapEff})`);
  check(JSON.stringify(cmdline) === JSON.stringify([...EXPECTED_ENTRYPOINT, ...cliArgs]), `process command line ${cmdline.join(' ')}`);
  const mounts = readFileSync(`/proc/${pid}/mounts`, 'utf8')
    .split('\n')
    .find((l) => l.split(' ')[1] === '/');
  check(mounts?.split(' ')[3]?.split(',').includes('ro'), `root filesystem mounted read-only (${mounts})`);
  prove(
    `the container process (host pid ${pid}) runs "${cmdline.join(' ')}" as uid/gid 65532 with no capabilities on a read-only root filesystem`,
  );
}

async function checkGrpcIdentity(client: PluginClient): Promise<void> {
  const [pluginName, version, versions] = [await client.getName(), await client.getVersion(), await client.getVersions()];
  check(pluginName === 'cq-source-s3', `GetName = cq-source-s3 (got ${pluginName})`);
  check(version === BUILD_ARGS.VERSION, `GetVersion = ${BUILD_ARGS.VERSION} (got ${version})`);
  check(versions.includes(3), `discovery GetVersions includes protocol 3 (got ${versions})`);
  prove(`over gRPC: GetName = ${pluginName}, GetVersion = ${version} (the injected VERSION), protocol versions [${versions}]`);
}

async function checkJsonLogs(e: Engine, cid: string): Promise<void> {
  const logs = await e.docker(['logs', cid]);
  const lines = `${logs.stdout}${logs.stderr}`.split('\n').filter((l) => l.trim() !== '');
  const notJson = lines.filter((l) => {
    try {
      return typeof JSON.parse(l) !== 'object';
    } catch {
      return true;
    }
  });
  check(notJson.length === 0, `every log line is JSON; these are not:\n${notJson.slice(0, 5).join('\n')}`);
  const errors = lines.filter((l) => JSON.parse(l).level === 'error');
  check(errors.length === 0, `no "level":"error" log lines (the CLI counts them as errors):\n${errors.slice(0, 5).join('\n')}`);
  prove(`all ${lines.length} log lines of the container are JSON objects, none at level error`);
}

async function checkStop(e: Engine, cid: string): Promise<void> {
  const t = Date.now();
  await e.docker(['stop', '-t', '10', cid]);
  const stopMs = Date.now() - t;
  const exitCode = (await e.docker(['inspect', '-f', '{{.State.ExitCode}}', cid])).stdout.trim();
  if (stopMs < 5000) prove(`docker stop: the plugin exited on SIGTERM in ${secs(stopMs)} (exit code ${exitCode})`);
  else
    notes.push(
      `docker stop took ${secs(stopMs)} (exit code ${exitCode}): the plugin, PID 1 in the container, does not exit on SIGTERM; Kubernetes and the CLI wait for the kill timeout`,
    );
}

/** Runs the image with the arguments the CloudQuery CLI gives it, and checks the process, gRPC, a sync, the logs and the stop. */
async function checkAsCli(e: Engine, containers: string[], s3Server: Promise<S3TestServer>): Promise<void> {
  const port = await freePort();
  const name = `cq-container-test-${process.pid}`;
  const cliArgs = ['serve', '--log-level', 'info', '--log-format', 'json', '--network', 'tcp', '--address', `127.0.0.1:${port}`];
  const cid = await step('run as the CloudQuery CLI does', async () => {
    const docker = ['run', '-d', '--read-only', '--cap-drop', 'ALL', '--network', 'host', '--name', name, '--label', LABEL, IMAGE];
    const id = (await e.docker([...docker, ...cliArgs])).stdout.trim();
    containers.push(id);
    return id;
  });
  const client = await waitForGrpc(e, cid, `127.0.0.1:${port}`);
  try {
    checkProcess(await containerPid(e, cid), cliArgs);
    await checkGrpcIdentity(client);
    await step('sync through the container', async () => {
      const server = await s3Server;
      await syncThroughContainer(client, server);
    });
    await checkJsonLogs(e, cid);
  } finally {
    client.dispose();
  }
  await checkStop(e, cid);
}

/** Every check on the amd64 image in the engine; containers it starts join `containers`, for the cleanup. */
export async function checkRunningImage(e: Engine, containers: string[], s3Server: Promise<S3TestServer>): Promise<void> {
  await checkInspect(e);
  await step('no shell in the image', () => checkNoShell(e));
  await step('version command', () => checkVersionCommand(e));
  await step('default CMD', () => checkDefaultCmd(e, containers));
  await checkAsCli(e, containers, s3Server);
}
