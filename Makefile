# sgpilot — see README.md. Every target works on a fresh machine with Go 1.26.
SHELL      := /bin/bash
FUNCTIONS  := instance-created queue-worker nightly-cleanup
GO         ?= go
GOFLAGS_BUILD := -trimpath -ldflags="-s -w"
STATICCHECK_VERSION := v0.8.2
LOCALCLOUD_ADDR ?= 127.0.0.1:9400

.PHONY: all build test test-short lint localcloud demo bench chaos invoke-% fuzz clean help

all: build

help: ## list targets
	@grep -E '^[a-z%-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 18

build: ## cross-compile each function for FC (linux/amd64, static, stripped) and zip it into dist/
	@mkdir -p dist
	@for fn in $(FUNCTIONS); do \
	  echo "build $$fn"; \
	  GOOS=linux GOARCH=amd64 CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o dist/$$fn/main ./functions/$$fn || exit 1; \
	  $(GO) run ./shared/cmd/fczip -o dist/$$fn.zip dist/$$fn/main || exit 1; \
	done

test: ## all tests with the race detector (unit, emulator, end-to-end on localcloud)
	$(GO) test -race -count=1 -timeout 8m ./...

test-short: ## quick tests without the race detector and without long scenarios
	$(GO) test -short -count=1 ./...

lint: ## go vet + staticcheck
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

localcloud: build ## run localcloud with the three functions of s.yaml (Ctrl-C stops it)
	$(GO) run ./shared/cmd/localcloud --addr $(LOCALCLOUD_ADDR) --functions s.yaml

demo: ## the main job end to end on localcloud: onboard a burst of instances, then a cleanup plan and sweep
	$(GO) run ./shared/cmd/sgpilot-demo

bench: ## benchmarks with printed figures (emulators, onboarding burst, cleanup at scale)
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./shared/e2e/... 
	$(GO) test -run '^$$' -bench . -benchtime 2s ./shared/localcloud/...

chaos: ## 10,000 tasks through the event stream under ECS, MNS, FC and DLQ faults; prints the figures
	SGPILOT_CHAOS=1 $(GO) test -count=1 -v -run '^TestChaos' -timeout 30m ./shared/e2e/

fuzz: ## run each fuzz target for 30 s
	$(GO) test -run '^$$' -fuzz FuzzDecodeTask -fuzztime 30s ./shared/core/domain/

invoke-%: ## invoke a function on a running localcloud with its sample event: make invoke-queue-worker
	$(GO) run ./shared/cmd/localcloud invoke --addr $(LOCALCLOUD_ADDR) $* --event-file functions/$*/testdata/event.json

clean:
	rm -rf dist
