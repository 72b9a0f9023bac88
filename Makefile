# The two commands a newcomer needs are `make run` and `make test`; the rest
# serve development and CI. Tool versions are pinned in tools/go.mod.
SHELL   := /bin/bash
GO      ?= go
BIN     := bin
TOOLBIN := .bin
SERVICES := ingest router publisher gateway devstack
# Every module in go.work; `./...` does not cross module boundaries there.
MODULES  := gen services/platform services/ingest services/router services/publisher services/gateway services/devstack test examples
PKGS     := $(addsuffix /...,$(addprefix ./,$(MODULES)))
# Everything the race detector and the end-to-end tests cover.
TEST_FLAGS ?= -race -count=1 -timeout 20m
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X github.com/nemo-mqtt-bridge/bridge/services/platform/service.Version=$(VERSION)

.PHONY: all build run test fuzz bench soak generate check-generated check-modules check-standalone images k8s lint breaking clean

all: build

build:
	@mkdir -p $(BIN)
	@for s in $(SERVICES); do $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/$$s ./services/$$s || exit 1; done

## run: the whole system on this machine, with an embedded Redis and MQTT
## broker unless REDIS_URL / MQTT_URL name real ones (see README).
run: build
	$(BIN)/devstack -bin-dir $(BIN)

test:
	$(GO) vet $(PKGS)
	$(GO) test $(TEST_FLAGS) $(PKGS)
	GOWORK=off $(GO) -C tools/deploy vet ./...
	GOWORK=off $(GO) -C tools/deploy test -count=1 -timeout 20m ./...
	$(MAKE) fuzz

## k8s: every overlay of deploy/k8s rendered with kustomize's Go API to
## bin/k8s/<overlay>.yaml (tools/deploy is its own module, outside go.work;
## its tests check the rendered objects).
k8s:
	GOWORK=off $(GO) -C tools/deploy run ./cmd/k8s -root $(CURDIR)/deploy/k8s -out $(CURDIR)/bin/k8s

# A short run of every fuzzer beyond its committed seed corpus (which the
# plain test run already replays). Each run is a count of executions, sized
# to about ten seconds here, not a duration: with -fuzztime as a duration,
# Go 1.26's fuzz coordinator can fail a clean run with a bare "context
# deadline exceeded" when a starved worker misses the deadline (Go issue
# 75804, fixed in 1.27). FUZZTIME=5m make fuzz for a longer hunt.
FUZZERS := services/router/internal/rules:FuzzParse:30000x \
           services/router/internal/rules:FuzzRender:50000x \
           services/platform/mqtttopic:FuzzSanitizeAlwaysYieldsAPublishableTopic:150000x \
           services/platform/envelope:FuzzFromJSONMatchesReference:150000x \
           services/platform/payload:FuzzDecodeMatchesReference:20000x \
           services/platform/records:FuzzMarshalToolMatchesProtojson:20000x
fuzz:
	@for f in $(FUZZERS); do \
		dir=$${f%%:*}; rest=$${f#*:}; name=$${rest%%:*}; count=$${rest#*:}; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $${FUZZTIME:-$$count} ./$$dir || exit 1; \
	done

# BENCHFLAGS passes the bench's own flags, e.g. BENCHFLAGS="-shards 4 -tools 200000".
bench: build
	$(GO) run ./test/bench -bin-dir $(BIN) $(BENCHFLAGS)

# Minutes of faults in turn (kill -9 of each service, Redis down, the
# broker out of reach for a minute, hostile entries), ending with a table
# of sent, delivered, lost, duplicated, reordered and the longest stall.
soak: build
	$(GO) run ./test/soak -bin-dir $(BIN)

# buf runs from a binary built out of the pinned tools module; the plugins it
# calls are run with `go tool` from that same module (see buf.gen.yaml).
$(TOOLBIN)/buf: tools/go.mod tools/go.sum
	GOWORK=off $(GO) -C tools build -o ../$(TOOLBIN)/buf github.com/bufbuild/buf/cmd/buf

generate: $(TOOLBIN)/buf
	rm -rf gen/nemo gen/openapi/*.json
	GOWORK=off $(TOOLBIN)/buf generate

check-generated: generate
	@git diff --exit-code --stat -- gen || { echo "gen/ is stale: run 'make generate' and commit the result" >&2; exit 1; }
	@test -z "$$(git status --porcelain -- gen)" || { git status --porcelain -- gen; echo "gen/ has files not committed: run 'make generate' and commit" >&2; exit 1; }

# Fails when two modules of go.work require different versions of one module
# path (tools/ is outside go.work and not checked). To fix: `go work sync`,
# then `GOWORK=off go mod tidy` in each module it changed.
check-modules:
	$(GO) run ./test/cmd/checkmodules -work go.work

# Builds and vets every service module on its own, as an image build does
# (GOWORK=off, from the module's directory, CGO_ENABLED=0, -trimpath): a
# go.mod or go.sum that only the workspace completes fails here. To fix:
# `GOWORK=off go mod tidy` in the module named, then `make check-modules`.
STANDALONE := gen services/platform $(addprefix services/,$(SERVICES))
check-standalone:
	@for m in $(STANDALONE); do \
		echo "GOWORK=off: $$m"; \
		( cd $$m && GOWORK=off CGO_ENABLED=0 $(GO) build -trimpath ./... && GOWORK=off $(GO) vet ./... ) || \
		{ echo "$$m does not build on its own (GOWORK=off): run 'GOWORK=off go mod tidy' in $$m and commit its go.mod and go.sum" >&2; exit 1; }; \
	done

## images: one OCI image per service in bin/images (an OCI layout, and a
## <service>.tar for `docker load` or `kind load image-archive`), without a
## container engine; ARCH=arm64 for another platform.
ARCH ?= amd64
images:
	GOWORK=off $(GO) -C tools/deploy run ./cmd/images -repo-root $(CURDIR) -out $(CURDIR)/$(BIN)/images -version $(VERSION) -arch $(ARCH)

lint: $(TOOLBIN)/buf
	GOWORK=off $(TOOLBIN)/buf lint

# Fails when proto/ changed in a way that breaks clients generated from the
# main branch's protos (BREAKING_AGAINST overrides what to compare with).
BREAKING_AGAINST ?= .git\#branch=main
breaking: $(TOOLBIN)/buf
	GOWORK=off $(TOOLBIN)/buf breaking --against '$(BREAKING_AGAINST)'

clean:
	rm -rf $(BIN) $(TOOLBIN)
