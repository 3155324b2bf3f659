# Container image targets (see README.md, "Running the image").
#
#   make image                    single-arch image for this machine, in the local image store
#   make image-multiarch IMAGE=ghcr.io/OWNER/cq-source-s3 [VERSION=v1.2.3]
#                                 linux/amd64 + linux/arm64, pushed as one index (docker buildx)
#   make test-container           build and prove the image with a private Docker engine
#
# The labels and file dates come from the current commit, so rebuilding a commit with the same
# VERSION gives the same app layer. Extra docker flags go in DOCKER_FLAGS, e.g. the optional npm
# secrets: DOCKER_FLAGS='--secret id=npm_ca,src=/etc/ssl/certs/ca-certificates.crt'.

VERSION           ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo development)
IMAGE             ?= cq-source-s3
PLATFORMS         ?= linux/amd64,linux/arm64
REVISION          ?= $(shell git rev-parse HEAD 2>/dev/null)
CREATED           ?= $(shell git log -1 --format=%cI 2>/dev/null)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
SOURCE_URL        ?= https://github.com/infobloxopen/cq-source-s3
DOCKER            ?= docker
DOCKER_FLAGS      ?=

BUILD_ARGS = \
	--build-arg VERSION=$(VERSION) \
	--build-arg REVISION=$(REVISION) \
	--build-arg CREATED=$(CREATED) \
	--build-arg SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) \
	--build-arg SOURCE_URL=$(SOURCE_URL)

.PHONY: image image-multiarch test-container

image:
	DOCKER_BUILDKIT=1 $(DOCKER) build $(BUILD_ARGS) $(DOCKER_FLAGS) -t $(IMAGE):$(VERSION) .

image-multiarch:
	@case "$(IMAGE)" in */*) ;; *) echo "image-multiarch pushes: set IMAGE=REGISTRY/OWNER/cq-source-s3" >&2; exit 2;; esac
	$(DOCKER) buildx build --platform $(PLATFORMS) $(BUILD_ARGS) $(DOCKER_FLAGS) -t $(IMAGE):$(VERSION) --push .

test-container:
	npm run test:container
