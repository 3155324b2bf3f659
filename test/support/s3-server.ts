// A real S3-compatible server for tests: OpenStack Swift with its s3api middleware,
// started per test process from a private temp dir (configs, rings, devices, logs).
// Set CQ_TEST_S3_ENDPOINT to use an already running server instead.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, openSync, closeSync, readFileSync, existsSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  S3Client,
  CreateBucketCommand,
  HeadBucketCommand,
  PutObjectCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  CompleteMultipartUploadCommand,
  AbortMultipartUploadCommand,
} from '@aws-sdk/client-s3';

const run = promisify(execFile);

export interface S3TestServer {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Path-style client for this server. */
  client: S3Client;
  /** PIDs (= process-group ids) of the processes this instance started; empty for an external server. */
  pids: readonly number[];
  createBucket(name: string): Promise<void>;
  put(bucket: string, key: string, body: Uint8Array | string): Promise<void>;
  remove(bucket: string, key: string): Promise<void>;
  emptyBucket(bucket: string): Promise<void>;
  stop(): Promise<void>;
}

const MULTIPART_THRESHOLD = 64 * 1024 * 1024;
const PART_SIZE = 16 * 1024 * 1024; // s3api: >= 5 MiB per part, at most 1000 parts
const READY_TIMEOUT_MS = 60_000;
const BINARIES = [
  'swift-proxy-server',
  'swift-account-server',
  'swift-container-server',
  'swift-object-server',
  'swift-ring-builder',
  'memcached',
];
const APT_PACKAGES = ['swift-proxy', 'swift-object', 'swift-container', 'swift-account', 'memcached'];

export async function startS3Server(): Promise<S3TestServer> {
  const external = process.env.CQ_TEST_S3_ENDPOINT;
  if (external) {
    return makeServer({
      endpoint: external,
      region: process.env.CQ_TEST_S3_REGION || 'us-east-1',
      accessKeyId: process.env.CQ_TEST_S3_ACCESS_KEY_ID ?? '',
      secretAccessKey: process.env.CQ_TEST_S3_SECRET_ACCESS_KEY ?? '',
      pids: [],
      stop: async () => {},
    });
  }
  await ensureInstalled();
  // A free port can be taken by another process between probing and binding: retry once from scratch.
  try {
    return await startSwift();
  } catch (err) {
    if (!(err instanceof PortRaceError)) throw err;
    return startSwift();
  }
}

// ---------- the client-side helpers, shared by the local and the external server ----------

interface ServerBase {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  pids: readonly number[];
  stop(): Promise<void>;
}

function makeServer(base: ServerBase): S3TestServer {
  const client = new S3Client({
    endpoint: base.endpoint,
    region: base.region,
    forcePathStyle: true,
    credentials: { accessKeyId: base.accessKeyId, secretAccessKey: base.secretAccessKey },
  });
  return {
    ...base,
    client,
    async createBucket(name) {
      try {
        await client.send(new CreateBucketCommand({ Bucket: name }));
      } catch (err) {
        // Idempotent: an existing bucket we can see is fine, whichever error code the server chose.
        await client.send(new HeadBucketCommand({ Bucket: name })).catch(() => {
          throw err;
        });
      }
    },
    async put(bucket, key, body) {
      const bytes = typeof body === 'string' ? Buffer.from(body) : body;
      if (bytes.byteLength <= MULTIPART_THRESHOLD) {
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentLength: bytes.byteLength }));
        return;
      }
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
      try {
        const parts = [];
        for (let offset = 0, n = 1; offset < bytes.byteLength; offset += PART_SIZE, n++) {
          const chunk = bytes.subarray(offset, offset + PART_SIZE);
          const { ETag } = await client.send(
            new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: n, Body: chunk, ContentLength: chunk.byteLength }),
          );
          parts.push({ ETag, PartNumber: n });
        }
        await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }));
      } catch (err) {
        await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId })).catch(() => {});
        throw err;
      }
    },
    async remove(bucket, key) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
    async emptyBucket(bucket) {
      // One DELETE per key: Swift's DeleteObjects demands Content-MD5, which current SDKs no longer send.
      // Bounded concurrency: a 1000-key page at once overflows the SDK's socket pool.
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
        const keys = (page.Contents ?? []).map((o) => o.Key!);
        for (let i = 0; i < keys.length; i += 16) {
          await Promise.all(keys.slice(i, i + 16).map((Key) => client.send(new DeleteObjectCommand({ Bucket: bucket, Key }))));
        }
        token = page.NextContinuationToken;
      } while (token);
    },
  };
}

// ---------- installing and running Swift ----------

async function missingBinaries(): Promise<string[]> {
  const found = await Promise.all(
    BINARIES.map((b) =>
      run('sh', ['-c', `command -v ${b}`]).then(
        () => true,
        () => false,
      ),
    ),
  );
  return BINARIES.filter((_, i) => !found[i]);
}

/** Installs Swift and memcached through apt when missing; a lock dir serialises concurrent test processes. */
async function ensureInstalled(): Promise<void> {
  if ((await missingBinaries()).length === 0) return;
  const lock = join(tmpdir(), 'cq-s3-test-apt.lock');
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch {
      if (lockHolderIsDead(lock)) rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      else await sleep(500);
    }
  }
  try {
    if ((await missingBinaries()).length === 0) return; // another test process installed them meanwhile
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const opts = { env, maxBuffer: 64 * 1024 * 1024 };
    await run('apt-get', ['update'], opts);
    await run('apt-get', ['install', '-y', '--no-install-recommends', ...APT_PACKAGES], opts);
    const still = await missingBinaries();
    if (still.length) throw new Error(`apt-get install did not provide: ${still.join(', ')}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function lockHolderIsDead(lock: string): boolean {
  try {
    process.kill(Number(readFileSync(join(lock, 'pid'), 'utf8')), 0);
    return false;
  } catch (err) {
    // No pid file yet (holder is between mkdir and write) counts as alive.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

class PortRaceError extends Error {}

/** Every child started by this module in this process, so an exiting process can take them down. */
const live = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const cleanup = () => {
    for (const child of live) killGroup(child, 'SIGKILL');
    for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
    live.clear();
    liveDirs.clear();
  };
  process.on('exit', cleanup);
  // Signals skip 'exit'. Clean up, then keep the default outcome (death by that signal) unless
  // someone else, e.g. the test runner, handles the signal.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanup();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal); // negative pid: the whole process group (children are detached)
  } catch {
    /* already gone */
  }
}

async function startSwift(): Promise<S3TestServer> {
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), 'cq-s3-swift-'));
  liveDirs.add(dir);
  const children: ChildProcess[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(children.map(terminate));
    rmSync(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
  };

  try {
    const [memcachePort, proxyPort, accountPort, containerPort, objectPort] = await freePorts(5);
    writeConfigs(dir, { memcachePort, proxyPort, accountPort, containerPort, objectPort });

    const startChild = (name: string, cmd: string, args: string[]) => {
      const log = openSync(join(dir, 'log', `${name}.log`), 'a');
      // detached: own process group, so stop() can kill anything the server forks.
      const child = spawn(cmd, args, { cwd: dir, detached: true, stdio: ['ignore', log, log] });
      closeSync(log);
      child.unref(); // a forgotten stop() must not keep the test process alive; the exit hook cleans up
      child.once('error', () => {}); // a failed spawn leaves pid undefined, which waitReady reports
      live.add(child);
      child.once('exit', () => live.delete(child));
      children.push(child);
    };
    // -v: log to the console (our log file) instead of syslog.
    const startSwiftServer = (server: string) => startChild(server, `swift-${server}-server`, [join(dir, `${server}-server.conf`), '-v']);

    // Storage servers do not read the rings at start-up, so they boot while the rings are built;
    // the proxy needs the rings.
    startChild('memcached', 'memcached', ['-l', '127.0.0.1', '-p', String(memcachePort), '-U', '0', '-m', '64', '-u', 'root']);
    for (const server of ['account', 'container', 'object']) startSwiftServer(server);
    await buildRings(dir, { account: accountPort, container: containerPort, object: objectPort });
    startSwiftServer('proxy');

    const ports = [accountPort, containerPort, objectPort, proxyPort];
    await waitReady(children, ports);
    return makeServer({
      endpoint: `http://127.0.0.1:${proxyPort}`,
      region: 'us-east-1',
      accessKeyId: 'test:tester',
      secretAccessKey: 'testing',
      pids: children.map((c) => c.pid!),
      stop,
    });
  } catch (err) {
    const logs = logTail(dir);
    await stop();
    if (/Address already in use|Could not bind/i.test(logs)) throw new PortRaceError(`port taken while starting Swift\n${logs}`);
    if (err instanceof Error) err.message += `\n${logs}`;
    throw err;
  }
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  killGroup(child, 'SIGTERM');
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
  killGroup(child, 'SIGKILL'); // anything left in the group after the leader exited
}

/** Reserves n distinct free ports by holding them all open at once, then releases them. */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

async function waitReady(children: ChildProcess[], ports: number[]): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const pending = new Set(ports);
  while (pending.size) {
    const dead = children.find((c) => c.pid === undefined || c.exitCode !== null || c.signalCode !== null);
    if (dead)
      throw new Error(
        `${dead.spawnargs[0]} ${dead.pid === undefined ? 'failed to start' : `exited early (${dead.exitCode ?? dead.signalCode})`}`,
      );
    if (Date.now() > deadline) throw new Error(`Swift not healthy after ${READY_TIMEOUT_MS / 1000}s (ports ${[...pending]})`);
    for (const port of [...pending]) {
      // Timeout: a port grabbed by some other program may accept and never answer.
      const res = await fetch(`http://127.0.0.1:${port}/healthcheck`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
      if (res?.status === 200) pending.delete(port);
    }
    if (pending.size) await sleep(100);
  }
}

function logTail(dir: string, lines = 40): string {
  const out: string[] = [];
  for (const name of ['memcached', 'account', 'container', 'object', 'proxy']) {
    const file = join(dir, 'log', `${name}.log`);
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8').trimEnd();
    if (text) out.push(`--- ${name}.log ---\n${text.split('\n').slice(-lines).join('\n')}`);
  }
  return out.join('\n') || '(no server logs)';
}

interface Ports {
  memcachePort: number;
  proxyPort: number;
  accountPort: number;
  containerPort: number;
  objectPort: number;
}

function writeConfigs(dir: string, p: Ports): void {
  mkdirSync(join(dir, 'devices', 'sdb1'), { recursive: true });
  mkdirSync(join(dir, 'log'));
  // Every server reads swift_dir for the rings; devices is where the one "disk" lives.
  const common = (port: number) => `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${port}
workers = 0
# A port taken between probing and binding: fail in 2 s (default 30) so startS3Server can retry.
bind_timeout = 2
user = root
swift_dir = ${dir}
devices = ${join(dir, 'devices')}
mount_check = false
log_level = WARNING
`;
  for (const [server, port] of [
    ['account', p.accountPort],
    ['container', p.containerPort],
    ['object', p.objectPort],
  ] as const) {
    writeFileSync(
      join(dir, `${server}-server.conf`),
      `${common(port)}
[pipeline:main]
pipeline = healthcheck ${server}-server

[app:${server}-server]
use = egg:swift#${server}

[filter:healthcheck]
use = egg:swift#healthcheck
`,
    );
  }
  writeFileSync(
    join(dir, 'proxy-server.conf'),
    `${common(p.proxyPort)}
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:s3api]
use = egg:swift#s3api
location = us-east-1

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:${p.memcachePort}

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo
`,
  );
}

/**
 * One single-device, single-replica ring per server type. One Python process builds all three
 * (~0.6 s) where nine swift-ring-builder calls take ~2 s. /usr/bin/python3 is the interpreter the
 * Debian packages install swift for; a python3 earlier on PATH may not have it.
 */
async function buildRings(dir: string, ports: Record<'account' | 'container' | 'object', number>): Promise<void> {
  const script = `
import sys
from swift.common.ring import RingBuilder
for arg in sys.argv[2:]:
    name, port = arg.split('=')
    b = RingBuilder(8, 1, 1)  # 2^8 partitions, 1 replica, min_part_hours 1
    b.add_dev({'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': int(port), 'device': 'sdb1', 'weight': 1})
    b.rebalance()
    b.get_ring().save(f'{sys.argv[1]}/{name}.ring.gz')
`;
  await run('/usr/bin/python3', ['-c', script, dir, ...Object.entries(ports).map(([name, port]) => `${name}=${port}`)]);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
