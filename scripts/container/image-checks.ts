// Checks on the images in the OCI index (both platforms): config, the one app layer, no shell or
// package manager, no build secret in any layer, the Node binary and its libraries for the right
// architecture, and the app layer byte-identical across the two builds.
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import {
  APP_FILES,
  ARCHES,
  type Arch,
  BUILD_ARGS,
  ELF_MACHINE,
  EXPECTED_CMD,
  EXPECTED_ENTRYPOINT,
  EXPECTED_LABELS,
  RUNTIME_BASE,
  TRIPLET,
} from './config.js';
import type { Engine } from './engine.js';
import { type OciImage, readElf, readOciLayout, resolveIn, sha256 } from './oci.js';
import { check, prove } from './output.js';
import { imageSizes } from './report.js';

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

function checkConfig(img: OciImage, arch: Arch, where: string): void {
  check(img.config.os === 'linux' && img.config.architecture === arch, `${where}: config says linux/${arch}`);
  const c = img.config.config;
  check(c.User === '65532:65532', `${where}: USER is 65532:65532 (got ${c.User})`);
  check(JSON.stringify(c.Entrypoint) === JSON.stringify(EXPECTED_ENTRYPOINT), `${where}: ENTRYPOINT ${JSON.stringify(c.Entrypoint)}`);
  check(JSON.stringify(c.Cmd) === JSON.stringify(EXPECTED_CMD), `${where}: CMD ${JSON.stringify(c.Cmd)}`);
  check(c.ExposedPorts && '7777/tcp' in c.ExposedPorts, `${where}: EXPOSE 7777`);
  for (const [k, v] of Object.entries(EXPECTED_LABELS)) check(c.Labels?.[k] === v, `${where}: label ${k}=${v} (got ${c.Labels?.[k]})`);
}

/** Checks the app layer; returns the sha256 of each of its files, and how many files it holds. */
function checkAppLayer(img: OciImage, baseLayerCount: number, where: string): { appHashes: Record<string, string>; fileCount: number } {
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
  return { appHashes, fileCount: appPaths.length };
}

function checkNoShellOrSecrets(img: OciImage, where: string, needles: string[]): void {
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
}

/** The Node binary, its loader and its shared libraries are all there, all of the platform's architecture. */
function checkNodeElf(img: OciImage, arch: Arch, where: string): void {
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
}

function checkIndexImage(img: OciImage, arch: Arch, baseLayerCount: number, needles: string[]): { appHashes: Record<string, string> } {
  const where = `${img.platform} image`;
  checkConfig(img, arch, where);
  const { appHashes, fileCount } = checkAppLayer(img, baseLayerCount, where);
  checkNoShellOrSecrets(img, where, needles);
  checkNodeElf(img, arch, where);
  prove(
    `${where}: config linux/${arch}, USER 65532:65532, ENTRYPOINT ${JSON.stringify(img.config.config.Entrypoint)}, default CMD, EXPOSE 7777, ` +
      `${Object.keys(EXPECTED_LABELS).length} OCI labels from the build args; exactly one layer (/app, ${fileCount} files, ` +
      `root-owned, not writable by the user, mtime = SOURCE_DATE_EPOCH) on the ${baseLayerCount}-layer base; no shell, no package manager; ` +
      `no .npmrc, and none of the ${needles.length} certificates of the build's CA secret that the base lacks, in any layer`,
  );
  return { appHashes };
}

/** Two separate builds gave the same app files and the same app layer. */
function checkReproducible(images: OciImage[], hashes: Partial<Record<Arch, Record<string, string>>>): void {
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
}

/** Checks each platform's image in the OCI index at `ociDir`, and the two against each other; returns the size lines. */
export async function checkOciIndex(e: Engine, ociDir: string, caSecret: string | undefined): Promise<string[]> {
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
  for (const arch of ARCHES) {
    const img = images.find((i) => i.arch === arch)!;
    const bundle = img.files.get('etc/ssl/certs/ca-certificates.crt')?.data.toString('utf8') ?? '';
    hashes[arch] = checkIndexImage(img, arch, runtimeLayers, secretNeedles(caSecret, bundle)).appHashes;
    sizes.push(imageSizes(img, arch));
  }
  checkReproducible(images, hashes);
  prove(`the app layer is under 5 MiB gzip on both platforms`);
  return sizes;
}
