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
 *     cannot build this Dockerfile for arm64, see container/build.ts), writes an OCI index holding both
 *     images with `buildah manifest push --all`, and checks each platform's image: its Node binary is
 *     an ELF file of its own architecture whose loader and shared libraries (DT_NEEDED, transitively)
 *     are all present for that architecture, every ELF file in it matches the platform, no shell, no
 *     .npmrc or CA certificate from the build's secrets in any layer, exactly one layer on top of the
 *     base, the app files root-owned, read-only for the user and dated SOURCE_DATE_EPOCH, and the app
 *     files and the app layer byte-identical across the two builds (reproducible, not just cached).
 *  6. Reports sizes: the app layer gzip-compressed (target < 5 MiB) and the whole image with the
 *     stand-in base.
 *
 * The stand-in base images, what they have and lack next to the real ones, are described in
 * container/standins.ts and docs/container-standins.md.
 *
 * The steps live in scripts/container/: engine.ts (the private containerd + dockerd, the cache lock),
 * tools.ts (apt tools and cached downloads), standins.ts, build.ts (BuildKit builds, the OCI index),
 * runtime-checks.ts and sync.ts (the running container), oci.ts (reading tar layers, OCI layouts and
 * ELF headers), image-checks.ts (each platform's image in the index), report.ts (sizes, summary),
 * output.ts and run.ts (progress, run log, child processes), config.ts (settings).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { arch as hostArch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startS3Server, type S3TestServer } from '../test/support/s3-server.js';
import { closeFixtures } from '../test/support/fixtures.js';
import { buildAmd64, buildArm64, buildInputs, buildOciIndex } from './container/build.js';
import { BUILDER_BASE, CACHE, REPO, RUNTIME_BASE } from './container/config.js';
import { type Daemon, type Engine, removeStaleContainers, startEngine, stopDaemon, unmountUnder, withLock } from './container/engine.js';
import { checkOciIndex } from './container/image-checks.js';
import { check, logPath, openLog, say, secs, started, step } from './container/output.js';
import { printSummary } from './container/report.js';
import { checkRunningImage } from './container/runtime-checks.js';
import { loadStandIns, prepareStandIns } from './container/standins.js';
import { ensureTools } from './container/tools.js';

/** What a run has started, for the cleanup (which also runs on failure and on SIGINT/SIGTERM). */
interface Started {
  tmp: string;
  engine?: Engine;
  daemons: Daemon[];
  containers: string[];
  s3Ready?: Promise<S3TestServer>;
}

function dockerfileBases(): string[] {
  const text = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
  return [...text.matchAll(/^FROM\s+(?:--platform=\S+\s+)?(\S+)/gim)].map((m) => m[1]!);
}

function preflight(): void {
  // The AWS SDK (the S3 test server's client, in this process) warns about Node 20 on stderr.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  check(process.platform === 'linux' && hostArch() === 'x64', 'runs on linux/amd64');
  check(process.getuid?.() === 0, 'runs as root (it starts dockerd)');
  const bases = dockerfileBases();
  check(
    bases.length === 2 && bases[0] === BUILDER_BASE && bases[1] === RUNTIME_BASE,
    `the Dockerfile's FROM lines name ${BUILDER_BASE} and ${RUNTIME_BASE} (got ${bases.join(', ')}); update the stand-ins with them`,
  );
}

async function cleanUp(s: Started): Promise<void> {
  const attempt = async (what: string, fn: () => unknown) => {
    try {
      await fn();
    } catch (error) {
      say(`cleanup: ${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const engine = s.engine;
  if (engine) {
    for (const c of s.containers) await attempt(`docker rm ${c}`, () => engine.docker(['rm', '-f', c], { allowFail: true }));
  }
  for (const d of [...s.daemons].reverse()) await attempt(`stop ${d.name}`, () => stopDaemon(d));
  await attempt('S3 server', async () => (await s.s3Ready?.catch(() => undefined))?.stop());
  await attempt('DuckDB', () => closeFixtures());
  // dockerd leaves its netns bind mount (and, if killed, overlay mounts) behind: unmount what is ours.
  await attempt('unmount', () => unmountUnder([s.tmp, join(CACHE, 'docker')]));
  await attempt(`remove ${s.tmp}`, () => rmSync(s.tmp, { recursive: true, force: true }));
}

async function main(): Promise<void> {
  preflight();
  const tmp = mkdtempSync(join(tmpdir(), 'cqct-'));
  mkdirSync(join(CACHE, 'logs'), { recursive: true });
  openLog(join(CACHE, 'logs', 'last-run.log'));
  say(`log: ${logPath()}`);

  const s: Started = { tmp, daemons: [], containers: [] };
  let cleanedUp: Promise<void> | undefined;
  const cleanup = () => (cleanedUp ??= cleanUp(s));
  const onSignal = (signal: NodeJS.Signals) => {
    say(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(1));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    await step('tools', ensureTools);
    // The real S3 server starts while the images build.
    const s3Server = startS3Server();
    s.s3Ready = s3Server;
    s3Server.catch(() => {});

    const standIns = await step('stand-in root filesystems', prepareStandIns);
    const e = await step('engine', () => startEngine(tmp, s.daemons));
    s.engine = e;
    await removeStaleContainers(e);
    const useRuntimeStandIn = await step('stand-in base images in the engine', () => loadStandIns(e, standIns));

    const inputs = await buildInputs(tmp);
    await buildAmd64(e, inputs);
    await buildArm64(e, inputs, useRuntimeStandIn);
    await checkRunningImage(e, s.containers, s3Server);

    // The OCI index of both platforms, and what each platform's image holds.
    const ociDir = await buildOciIndex(e, tmp);
    const sizes = await checkOciIndex(e, ociDir, inputs.caSecret);
    await e.docker(['image', 'prune', '-f'], { allowFail: true });
    await e.docker(['builder', 'prune', '-f', '--keep-storage', '1GB'], { allowFail: true });
    printSummary(sizes);
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
    if (logPath()) process.stderr.write(`full log: ${logPath()}\n`);
    process.exit(1);
  },
);
