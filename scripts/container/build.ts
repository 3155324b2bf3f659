// Building the repository's Dockerfile: BuildKit builds for linux/amd64 and linux/arm64, with npm's
// registry and this machine's CA as build secrets; then an OCI index of both images with buildah.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARM_IMAGE, type Arch, BUILD_ARGS, CACHE, IMAGE, MANIFEST, REPO } from './config.js';
import type { Engine } from './engine.js';
import { check, prove, secs, step } from './output.js';
import { run, type RunOptions, type RunResult } from './run.js';

export interface BuildInputs {
  /** --secret and --build-arg flags for `docker build` */
  flags: string[];
  /** the CA bundle handed to the build as the npm_ca secret, if this machine has one */
  caSecret: string | undefined;
}

/** Secrets for the builder: npm's registry and this machine's CA bundle. Optional in the Dockerfile. */
export async function buildInputs(tmp: string): Promise<BuildInputs> {
  const registry = (await run('npm', ['config', 'get', 'registry'])).stdout.trim();
  const cafile = (await run('npm', ['config', 'get', 'cafile'])).stdout.trim();
  writeFileSync(join(tmp, 'npmrc'), `registry=${registry}\n`);
  const secretArgs = ['--secret', `id=npmrc,src=${join(tmp, 'npmrc')}`];
  const caSecret = cafile && cafile !== 'null' && existsSync(cafile) ? cafile : undefined;
  if (caSecret) secretArgs.push('--secret', `id=npm_ca,src=${caSecret}`);
  const buildArgs = Object.entries(BUILD_ARGS).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]);
  return { flags: [...secretArgs, ...buildArgs], caSecret };
}

export async function buildAmd64(e: Engine, inputs: BuildInputs): Promise<void> {
  await step('docker build (BuildKit, linux/amd64)', async () => {
    const t = Date.now();
    await e.docker(['build', '--network', 'host', '--progress', 'plain', ...inputs.flags, '-t', IMAGE, REPO], {
      timeoutMs: 15 * 60_000,
    });
    prove(
      `the repository's Dockerfile, unmodified, built with BuildKit in ${secs(Date.now() - t)} (the npm CA reached the build only as a secret)`,
    );
  });
}

// The arm64 image: the builder stage runs on linux/amd64 ($BUILDPLATFORM), the arm64 stage only
// copies, so nothing is emulated. --no-cache: the builder runs again from scratch, so identical
// app bytes in both images prove the build reproducible, not merely cached.
export async function buildArm64(e: Engine, inputs: BuildInputs, useRuntimeStandIn: (arch: Arch) => Promise<unknown>): Promise<void> {
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
          ...inputs.flags,
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
}

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

/** Writes the OCI index of both platforms' images (`buildah manifest push --all`); returns its directory. */
export async function buildOciIndex(e: Engine, tmp: string): Promise<string> {
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
  return ociDir;
}
