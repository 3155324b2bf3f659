// Host tools (Debian's docker.io: dockerd, containerd, runc, docker 20.10 CLI; buildah; dpkg-deb) and
// cached downloads: Node and npm from the npm registry, Debian packages with apt-get download.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE, DOWNLOADS } from './config.js';
import { check, say } from './output.js';
import { commandExists, run } from './run.js';

const APT_TOOLS: Record<string, string> = {
  dockerd: 'docker.io',
  containerd: 'docker.io',
  runc: 'docker.io',
  buildah: 'buildah',
  'dpkg-deb': 'dpkg',
};

export async function ensureTools(): Promise<void> {
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

export async function npmPack(spec: string, file: string): Promise<string> {
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

/** Downloads `pkg:arch` names (cached) and maps each to its .deb file. */
export async function aptDownload(packages: string[]): Promise<Map<string, string>> {
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
