# nightshift — run `make help` for the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO            ?= go
BIN           := bin/nightshift
DEMO_DIR      := .demo
TEST_PG_DIR   := .test-pg
DEMO_SCALE    ?= 50
BENCH_DIR     ?= .bench
# 1000 ≈ 1M trainees; rect seeds at 3.6 times the scale, so 1000 gives 10M
# declarations and about 9M period rows (BENCH_SCALE=100 is one tenth).
BENCH_SCALE   ?= 1000
BENCH_RECT_SCALE = $(shell awk 'BEGIN { print $(BENCH_SCALE) * 3.6 }')
# The PostgreSQL the tests use: this machine's server when it answers,
# otherwise a throwaway cluster that `make test` starts in $(TEST_PG_DIR).
LOCAL_PG_URL  := postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := bin/tools/golangci-lint-$(GOLANGCI_LINT_VERSION)

FUZZTIME      ?= 20s
# Each fuzz target and its package: go test fuzzes one target at a time.
FUZZ_TARGETS  := FuzzLoad:./internal/config FuzzConnString:./internal/config FuzzRedact:./internal/config \
                 FuzzParse:./schedules FuzzGuard:./pipeline

.PHONY: help build demo demo-stop test lint bench fuzz clean

help: ## Show the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

build: ## Build bin/nightshift
	$(GO) build -o $(BIN) ./cmd/nightshift

demo: build ## Start a throwaway PostgreSQL, seed synthetic sources, run the pipeline, show the result
	@url=$$(internal/devdb/pgcluster.sh start $(DEMO_DIR)/pg) && \
	  $(BIN) demo --server "$$url" --scale $(DEMO_SCALE) --spool $(DEMO_DIR)/spool --write-config $(DEMO_DIR)/nightshift.yaml && \
	  echo "" && echo "Later commands: $(BIN) --config $(DEMO_DIR)/nightshift.yaml runs    (stop the server: make demo-stop)"

demo-stop: ## Stop the demo's PostgreSQL
	@internal/devdb/pgcluster.sh stop $(DEMO_DIR)/pg

test: ## Run every test against a real PostgreSQL (with the race detector)
	@missing=; [ -x /usr/bin/chromium ] || missing="$$missing chromium"; command -v promtool >/dev/null || missing="$$missing prometheus"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian's$$missing, for the browser test of the run-history page and promtool's check of /metrics"; \
	  sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends$$missing; \
	fi
	@url="$${NIGHTSHIFT_TEST_DATABASE_URL:-}"; \
	if [ -z "$$url" ]; then \
	  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then url="$(LOCAL_PG_URL)"; \
	  else url=$$(internal/devdb/pgcluster.sh start $(TEST_PG_DIR)); fi; \
	fi; \
	echo "tests use PostgreSQL at $$url"; \
	NIGHTSHIFT_TEST_DATABASE_URL="$$url" $(GO) test -race -count=1 -timeout 20m ./...

bench: build ## Measure runs and a backfill against PostgreSQL's own binary COPY pipe (BENCH_SCALE=1000)
	@url=$$(internal/devdb/pgcluster.sh start $(BENCH_DIR)/pg) && \
	  echo "seeding register at scale $(BENCH_SCALE) and rect at $(BENCH_RECT_SCALE) (not timed), and warming up with one run …" && \
	  $(BIN) demo --server "$$url" --scale $(BENCH_SCALE) --rect-scale $(BENCH_RECT_SCALE) --fresh --spool $(BENCH_DIR)/spool --write-config $(BENCH_DIR)/nightshift.yaml > $(BENCH_DIR)/warmup.log 2>&1 && \
	  $(GO) run ./internal/bench --server "$$url" --config $(BENCH_DIR)/nightshift.yaml --bin $(BIN) --scale "register $(BENCH_SCALE), rect $(BENCH_RECT_SCALE)" --json $(BENCH_DIR)/results.json 2>$(BENCH_DIR)/bench.log && \
	  echo "" && echo "figures as JSON: $(BENCH_DIR)/results.json; Go benchmarks: go test -run '^$$' -bench . -benchmem ./steps/..."

fuzz: ## Fuzz configuration, connection strings, redaction, schedules and the guard (FUZZTIME each)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  name=$${t%%:*}; pkg=$${t#*:}; echo "fuzz $$name in $$pkg for $(FUZZTIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

lint: $(GOLANGCI_LINT) ## gofmt, go vet and golangci-lint
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GOLANGCI_LINT) run ./...

# The linter is pinned and built into bin/tools, so every machine lints alike.
$(GOLANGCI_LINT):
	@mkdir -p bin/tools
	GOBIN=$(CURDIR)/bin/tools $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv bin/tools/golangci-lint $@

clean: demo-stop ## Stop the demo server and remove build and demo outputs
	-internal/devdb/pgcluster.sh stop $(BENCH_DIR)/pg
	rm -rf bin $(DEMO_DIR) $(TEST_PG_DIR) $(BENCH_DIR)
