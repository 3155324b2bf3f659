# cq-source-s3: CloudQuery source plugin image (distroless Node.js 22, non-root, amd64 + arm64).
#
#   docker build --build-arg VERSION=v1.2.3 -t cq-source-s3:v1.2.3 .
#   docker buildx build --platform linux/amd64,linux/arm64 --build-arg VERSION=v1.2.3 -t IMAGE --push .
#
# Needs BuildKit (cache and secret mounts). No `# syntax=` line on purpose: the built-in frontend
# handles everything below, and an air-gapped builder cannot pull an external frontend.
#
# Optional build secrets, for builders that reach the npm registry only through a private CA or a
# private registry (neither ends up in any image layer; without them the build uses npm's defaults):
#   --secret id=npmrc,src=PATH    an .npmrc for the builder (registry, auth token, ...)
#   --secret id=npm_ca,src=PATH   extra CA certificates (PEM) trusted by npm, via NODE_EXTRA_CA_CERTS

# ---- Builder: always runs on the build machine's own platform. The bundle is plain JavaScript plus
# ---- a .wasm file, the same bytes for every target architecture, so no target needs emulation.
FROM --platform=$BUILDPLATFORM node:22-bookworm-slim AS builder
WORKDIR /src

# Dependencies first, so editing the sources does not invalidate this layer.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    --mount=type=secret,id=npmrc,target=/root/.npmrc \
    --mount=type=secret,id=npm_ca,target=/run/secrets/npm_ca \
    if [ -s /run/secrets/npm_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; fi \
    && npm ci --ignore-scripts --no-audit --no-fund --loglevel=warn

COPY tsconfig.json ./
COPY scripts/ scripts/
COPY src/ src/

# VERSION is injected into the bundle (the analogue of Go's -ldflags -X ...Version=).
# SOURCE_DATE_EPOCH fixes the files' modification times, so the same commit and args give the same
# layer content; `git log -1 --format=%ct` is a good value.
ARG VERSION=development
ARG SOURCE_DATE_EPOCH=0
# Everything `npm run build` writes to dist/ (main.js, its chunks, the .wasm) becomes /app, marked as
# ES modules, with fixed modes and dates.
RUN VERSION="$VERSION" npm run build --silent \
    && mkdir -p /out && cp -R dist /out/app \
    && printf '{"type":"module"}\n' > /out/app/package.json \
    && node -e ' \
         const fs = require("node:fs"), path = require("node:path"), t = Number(process.argv[1]) || 0; \
         const fix = (p) => { \
           const dir = fs.statSync(p).isDirectory(); \
           if (dir) for (const name of fs.readdirSync(p)) fix(path.join(p, name)); \
           fs.chmodSync(p, dir ? 0o755 : 0o644); \
           fs.utimesSync(p, t, t); \
         }; \
         fix("/out/app");' "$SOURCE_DATE_EPOCH"

# ---- Runtime: distroless Node.js 22 on Debian 12, user nonroot (65532). No shell, no package
# ---- manager, and no RUN here: this stage only copies the bundle in.
FROM gcr.io/distroless/nodejs22-debian12:nonroot

ARG VERSION=development
ARG REVISION=
ARG CREATED=
ARG SOURCE_URL=https://github.com/infobloxopen/cq-source-s3
LABEL org.opencontainers.image.title="cq-source-s3" \
      org.opencontainers.image.description="CloudQuery source plugin that syncs Parquet files from Amazon S3 and S3-compatible stores" \
      org.opencontainers.image.licenses="MPL-2.0" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.url="${SOURCE_URL}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"

# /app and its files: owned by root, not writable by the plugin's user (the plugin writes nothing to
# disk, so the container runs with a read-only root filesystem), dated SOURCE_DATE_EPOCH.
COPY --from=builder /out/ /

# At most two glibc malloc arenas: the main thread and the decoder worker otherwise each get a 64 MB
# arena that keeps freed Parquet row groups resident (peak RSS on a 1 GB Parquet file 385-401 MB ->
# 354-363 MB, same throughput; one arena saves ~50 MB but costs 10-15% throughput).
ENV MALLOC_ARENA_MAX=2

USER 65532:65532
EXPOSE 7777
ENTRYPOINT ["/nodejs/bin/node", "/app/main.js"]
# The CloudQuery CLI starts the container with its own flags (serve --address ... --log-format json
# ...), which replace this default.
CMD ["serve", "--address", "[::]:7777", "--log-format", "json", "--log-level", "info"]
