# sgpilot — see README.md. Every target works on a fresh machine with Go 1.26.
SHELL      := /bin/bash
FUNCTIONS  := instance-created queue-worker nightly-cleanup
GO         ?= go
# -gcflags=all=-l turns inlining off except in the runtime: the binaries shrink
# by about 7 % (zips 4.47 -> 3.95 MB for queue-worker), which keeps every zip
# under issue 12's 4 MB. The functions wait on ECS and MNS, not on the CPU
# (README.md, "Benchmarks", has the figures and the cost).
GOFLAGS_BUILD := -trimpath -ldflags="-s -w" -gcflags=all=-l -gcflags=runtime/...= -gcflags=internal/runtime/...=
# make build DIST=/tmp/x builds elsewhere (BenchmarkFunctions measures the zips that way).
DIST ?= dist
STATICCHECK_VERSION := v0.8.2
LOCALCLOUD_ADDR ?= 127.0.0.1:9400
EVENT ?= event.json

# go.mod's toolchain line names the patched Go release; auto lets the go command
# fetch it through the module proxy (Go's own go.env, and this machine's, say local).
export GOTOOLCHAIN ?= auto

CACHE := $(CURDIR)/.cache

# make vuln: govulncheck against an offline copy of the Go vulnerability database,
# built from the golang.org/x/vulndb module (fetched through the module proxy) by
# its cmd/indexdb. Pinned for reproducible results; to refresh, run
#   go list -m golang.org/x/vulndb@latest
# put the version it prints here, and run make vuln (the cache rebuilds itself).
GOVULNCHECK_VERSION := v1.9.0
VULNDB_VERSION := v0.0.0-20261105234957-e22db6528018
VULNDB_DIR := $(CACHE)/vulndb/$(VULNDB_VERSION)

# make lint: the Serverless Devs CLI, from npm, at a pinned version.
S_VERSION := 3.1.10
S_DIR := $(CACHE)/s
S := $(S_DIR)/node_modules/.bin/s

# make install puts the sgpilot command (shared/cmd/sgpilot) here; make install BINDIR=./bin keeps it in the repository.
BINDIR ?= $(shell $(GO) env GOPATH)/bin

.PHONY: all install build floors test test-short lint lint-s-yaml vuln localcloud demo bench chaos invoke-% fuzz clean help

all: build

help: ## list targets
	@grep -E '^[a-z%-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 18

build: ## cross-compile each function for FC (linux/amd64, static, stripped) and zip it into dist/
	@mkdir -p $(DIST)
	@for fn in $(FUNCTIONS); do \
	  echo "build $$fn"; \
	  GOOS=linux GOARCH=amd64 CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(DIST)/$$fn/main ./functions/$$fn || exit 1; \
	  $(GO) run ./shared/cmd/fczip -o $(DIST)/$$fn.zip $(DIST)/$$fn/main || exit 1; \
	done

# The cold-start floors of BenchmarkFunctions: the least runtime-SDK function, and
# the same with the ECS, MNS and zap packages linked in, built as the functions are.
COLDSTART_FLOORS := minimal sdks

floors: ## build the cold-start floor functions of BenchmarkFunctions into $(DIST)/floor-*/main
	@for fn in $(COLDSTART_FLOORS); do \
	  GOOS=linux GOARCH=amd64 CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(DIST)/floor-$$fn/main ./shared/e2e/testdata/coldstart/$$fn || exit 1; \
	done

install: ## build the sgpilot command into $GOPATH/bin (make install BINDIR=./bin: into the repository's bin/)
	@mkdir -p "$(BINDIR)"
	$(GO) build -trimpath -o "$(BINDIR)/sgpilot" ./shared/cmd/sgpilot
	@echo "installed $(BINDIR)/sgpilot: try sgpilot help"

# The end-to-end package runs without the race detector: its time goes into
# real processes and rate-limited calls, and the emulators it drives have their
# own -race tests; with -race it alone takes about 5 minutes on 2 cores.
# shared/thirdparty/gogaperrors is a module of its own (it stands in for
# github.com/gogap/errors through go.mod's replace), so ./... skips it: its
# tests run from its folder.
THIRDPARTY := shared/thirdparty/gogaperrors

test: ## all tests: unit and emulator tests with the race detector, then end to end on localcloud
	$(GO) test -race -count=1 -timeout 8m $$($(GO) list ./... | grep -v '/shared/e2e$$')
	cd $(THIRDPARTY) && $(GO) test -race -count=1 ./...
	$(GO) test -count=1 -parallel 4 -timeout 8m ./shared/e2e/

test-short: ## quick tests without the race detector and without long scenarios
	$(GO) test -short -count=1 ./...
	cd $(THIRDPARTY) && $(GO) test -short -count=1 ./...

lint: lint-s-yaml ## go vet, staticcheck and the s.yaml checks of lint-s-yaml
	$(GO) vet ./...
	cd $(THIRDPARTY) && $(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	cd $(THIRDPARTY) && $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

# s preview renders s.yaml offline (YAML syntax, ${vars.*} and ${env(...)} references)
# and exits 1 on an error. It cannot check props: that needs the fc3 component, which
# only the Serverless Devs registry serves (s verify fails offline), so the project's
# schema (shared/testkit/fc3schema) checks both s.yaml and what s preview rendered.
lint-s-yaml: $(S_DIR)/.installed-$(S_VERSION) ## s.yaml: the fc3 schema test, then `s preview` and the schema on its output
	$(GO) test -count=1 -run 'TestRepositorySYAML|TestBrokenFixture' ./shared/testkit/fc3schema/
	@mkdir -p $(CACHE)/s-home
	@echo "s preview -t s.yaml"
	@serverless_devs_config_home=$(CACHE)/s-home $(S) preview -t s.yaml -o json --silent > $(S_DIR)/preview.json \
	  || { cat $(S_DIR)/preview.json; echo "s preview failed"; exit 1; }
	$(GO) run ./shared/cmd/fc3lint -rendered $(S_DIR)/preview.json s.yaml

$(S_DIR)/.installed-$(S_VERSION):
	rm -rf $(S_DIR) && mkdir -p $(S_DIR)
	npm install --prefix $(S_DIR) --no-audit --no-fund --no-update-notifier --save-exact @serverless-devs/s@$(S_VERSION)
	@touch $@

vuln: $(VULNDB_DIR)/index/db.json ## govulncheck (reachable vulnerabilities fail) against the pinned offline database
	$(GO) run golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION) -db file://$(VULNDB_DIR) ./...

$(VULNDB_DIR)/index/db.json:
	rm -rf $(CACHE)/vulndb && mkdir -p $(CACHE)/vulndb
	src=$$($(GO) mod download -json golang.org/x/vulndb@$(VULNDB_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	  test -d "$$src/data/osv" || { echo "no data/osv in golang.org/x/vulndb@$(VULNDB_VERSION) ('$$src')"; exit 1; }; \
	  $(GO) run golang.org/x/vulndb/cmd/indexdb@$(VULNDB_VERSION) -vulns "$$src/data/osv" -out $(VULNDB_DIR).tmp
	mv $(VULNDB_DIR).tmp $(VULNDB_DIR)

localcloud: build ## run localcloud with the three functions of s.yaml (Ctrl-C stops it)
	$(GO) run ./shared/cmd/localcloud --addr $(LOCALCLOUD_ADDR) --functions s.yaml

demo: ## the main job end to end on localcloud: onboard a burst of instances, then a cleanup plan and sweep
	@echo "make demo: compiling the demo command (a fresh machine then compiles the SDKs for the functions too: about 3 minutes)…"
	@$(GO) run ./shared/cmd/sgpilot-demo

# make bench: the emulators' own benchmarks, then issue 12's scenarios on localcloud
# (trickle, burst, cleanup, scale, functions), ending with one table of every figure
# beside its bound and baseline; the same figures go to bench-results/latest.json.
# Shorter runs: SGPILOT_BENCH_TRICKLE=30s SGPILOT_BENCH_INSTANCES=200 SGPILOT_BENCH_GROUPS=2000
# SGPILOT_BENCH_SCALE_GROUPS=6000 SGPILOT_BENCH_SCALE_INSTANCES=3000 make bench (see shared/e2e/bench_*_test.go).
bench: ## benchmarks with printed figures: emulators, then trickle, burst, cleanup, scale and function figures
	$(GO) test -run '^$$' -bench . -benchtime 2s ./shared/localcloud/...
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 120m ./shared/e2e/...

chaos: ## 10,000 tasks through the event stream under ECS, MNS, FC and DLQ faults; prints the figures
	SGPILOT_CHAOS=1 $(GO) test -count=1 -v -run '^TestChaos' -timeout 30m ./shared/e2e/

fuzz: ## run each fuzz target for 30 s
	$(GO) test -run '^$$' -fuzz FuzzDecodeTask -fuzztime 30s ./shared/core/domain/

invoke-%: ## invoke a function on a running localcloud with a sample event: make invoke-queue-worker [EVENT=plan.json]
	$(GO) run ./shared/cmd/localcloud invoke --addr $(LOCALCLOUD_ADDR) $* --event-file functions/$*/testdata/$(EVENT)

clean:
	rm -rf dist
