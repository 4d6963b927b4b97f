# Ledgerline. `make run` starts everything on a fresh Debian machine with Go; `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := run

GO          ?= go
PG_PORT     ?= 55432
REDIS_PORT  ?= 56379
SMTP_PORT   ?= 51025
MAIL_PORT   ?= 58025
OWNER_URL    = postgres://ledgerline_owner:ledgerline_owner@127.0.0.1:$(PG_PORT)
APP_URL      = postgres://ledgerline_app:ledgerline_app@127.0.0.1:$(PG_PORT)
BIN         := bin/ledgerline
# The stability run of make bench (mixed profile at 64 clients); BENCH_SOAK=0 skips it.
BENCH_SOAK  ?= 10m
# Static analysis through the Go toolchain, at pinned versions (suppressions carry their reason inline).
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOSEC       := github.com/securego/gosec/v2/cmd/gosec@v2.30.0

export DATABASE_URL         ?= $(APP_URL)/ledgerline?sslmode=disable
export MIGRATE_DATABASE_URL ?= $(OWNER_URL)/ledgerline?sslmode=disable
export REDIS_URL            ?= redis://127.0.0.1:$(REDIS_PORT)/0
export SMTP_URL             ?= smtp://127.0.0.1:$(SMTP_PORT)
export MAILPIT_URL          ?= http://127.0.0.1:$(MAIL_PORT)
# The demo admin also runs the installation, so the job monitor (all tenants' jobs) is open to them.
export PLATFORM_OPERATORS   ?= admin@acme.example
export LEDGERLINE_PG_PORT        = $(PG_PORT)
export LEDGERLINE_REDIS_PORT     = $(REDIS_PORT)
export LEDGERLINE_SMTP_PORT      = $(SMTP_PORT)
export LEDGERLINE_MAIL_WEB_PORT  = $(MAIL_PORT)

TEST_DATABASE_URL         = $(APP_URL)/ledgerline_test?sslmode=disable
TEST_MIGRATE_DATABASE_URL = $(OWNER_URL)/ledgerline_test?sslmode=disable
BENCH_DATABASE_URL         = $(APP_URL)/ledgerline_bench?sslmode=disable
BENCH_MIGRATE_DATABASE_URL = $(OWNER_URL)/ledgerline_bench?sslmode=disable

## bench: store benchmarks, then the load harness (bench/loadgen): bench data via `ledgerline seed --scale large`
## (once; reused), the Fortunes floor and pgbench -S, every screen at 1, 16 and 64 clients; report in
## bench/results/latest.md. Also the middleware overhead and River no-op benchmarks (Go benchmarks, read into the
## report) and a stability run of BENCH_SOAK (10m; BENCH_SOAK=0 skips it). BENCH_FLAGS passes options, e.g.
## BENCH_FLAGS='-duration 30s -scenarios items-search' or BENCH_FLAGS='-soak 2m'.
.PHONY: run test bench stop services assets generate check-generated build migrate seed test-setup browser vet clean cluster cluster-stop verify fuzz

## run: start PostgreSQL, Redis and mailpit under .data/, migrate, seed, serve on http://localhost:8080
run: services build
	@$(BIN) migrate
	@$(BIN) seed
	@echo
	@echo "Ledgerline:  http://localhost:8080   (sign in as admin@acme.example / ledgerline-demo)"
	@echo "Mail inbox:  $(MAILPIT_URL)  (password reset and invitation e-mails land here)"
	@echo "Stop the local services with: make stop"
	@echo
	HTTP_ADDR=$${HTTP_ADDR:-127.0.0.1:8080} exec $(BIN) serve

## test: the same set-up with separate databases, then go vet and every test with -race
test: services check-generated build browser
	DATABASE_URL='$(TEST_DATABASE_URL)' MIGRATE_DATABASE_URL='$(TEST_MIGRATE_DATABASE_URL)' $(BIN) migrate
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) run $(GOSEC) -quiet -fmt text -exclude-dir=bench ./...
	TEST_DATABASE_URL='$(TEST_DATABASE_URL)' TEST_MIGRATE_DATABASE_URL='$(TEST_MIGRATE_DATABASE_URL)' \
	LEDGERLINE_BIN=$(CURDIR)/$(BIN) REDIS_URL='redis://127.0.0.1:$(REDIS_PORT)/1' \
		$(GO) test -race -count=1 -timeout 20m ./...

bench: services build
	DATABASE_URL='$(TEST_DATABASE_URL)' MIGRATE_DATABASE_URL='$(TEST_MIGRATE_DATABASE_URL)' $(BIN) migrate
	mkdir -p bench/results
	TEST_DATABASE_URL='$(TEST_DATABASE_URL)' TEST_MIGRATE_DATABASE_URL='$(TEST_MIGRATE_DATABASE_URL)' \
		$(GO) test -run '^$$' -bench . -benchtime 3s -timeout 30m ./store/inventory/ ./store/approvals/ ./store/billing/ | tee bench/results/store-latest.txt
	TEST_DATABASE_URL='$(TEST_DATABASE_URL)' TEST_MIGRATE_DATABASE_URL='$(TEST_MIGRATE_DATABASE_URL)' \
		$(GO) test -run '^$$' -bench Export -benchtime 1x -timeout 30m ./store/exports/ ./jobs/ | tee bench/results/exports-latest.txt
	TEST_DATABASE_URL='$(TEST_DATABASE_URL)' TEST_MIGRATE_DATABASE_URL='$(TEST_MIGRATE_DATABASE_URL)' REDIS_URL='redis://127.0.0.1:$(REDIS_PORT)/2' \
		$(GO) test -run '^$$' -bench MiddlewareOverhead -benchtime 5000x ./handlers/ | tee bench/results/overhead-latest.txt
	# River's throughput as a dedicated job instance runs it (`ledgerline worker` with RIVER_WORKERS=100).
	TEST_DATABASE_URL='$(TEST_DATABASE_URL)' TEST_MIGRATE_DATABASE_URL='$(TEST_MIGRATE_DATABASE_URL)' RIVER_WORKERS=100 \
		$(GO) test -run '^$$' -bench 'RiverNoop|RiverStart' -benchtime 1x ./jobs/ | tee bench/results/river-latest.txt
	@scripts/services.sh start ledgerline_bench
	DATABASE_URL='$(BENCH_DATABASE_URL)' MIGRATE_DATABASE_URL='$(BENCH_MIGRATE_DATABASE_URL)' $(BIN) migrate
	DATABASE_URL='$(BENCH_DATABASE_URL)' MIGRATE_DATABASE_URL='$(BENCH_MIGRATE_DATABASE_URL)' $(BIN) seed --scale large
	$(GO) build -o bin/fortunes ./bench/fortunes
	$(GO) build -o bin/loadgen ./bench/loadgen
	bin/loadgen -bin $(BIN) -fortunes bin/fortunes -db '$(BENCH_DATABASE_URL)' -owner-db '$(BENCH_MIGRATE_DATABASE_URL)' \
		-redis 'redis://127.0.0.1:$(REDIS_PORT)/2' -pgbench "$$(command -v pgbench || echo /usr/lib/postgresql/15/bin/pgbench)" \
		-go-bench bench/results/overhead-latest.txt,bench/results/river-latest.txt -soak $(BENCH_SOAK) \
		-out bench/results/latest.md $(BENCH_FLAGS)
	@echo "Report: bench/results/latest.md"

## cluster: three instances behind nginx, a PostgreSQL primary with a streaming read replica and Redis, all
## under .data/cluster on their own ports (nginx on http://127.0.0.1:27110); mail goes to make run's mailpit
cluster: build
	@scripts/cluster.sh start
	@echo
	@echo "Ledgerline cluster:  http://127.0.0.1:27110   (sign in as admin@acme.example / ledgerline-demo)"
	@echo "Stop it with: make cluster-stop"

cluster-stop:
	@scripts/cluster.sh stop

## verify: everything `make test` runs, then the cluster and fault tests (a private cluster of their own,
## several minutes) and a longer fuzzing run; prints the table of faults injected, requests, errors, data lost
verify: test
	mkdir -p bench/results
	set -o pipefail; LEDGERLINE_VERIFY=1 LEDGERLINE_BIN=$(CURDIR)/$(BIN) VERIFY_REPORT=$(CURDIR)/bench/results/verify-latest.md \
		$(GO) test -count=1 -timeout 30m -v -run 'TestCluster' ./verify/ 2>&1 | tee bench/results/verify-latest.log | \
		grep -E '^(=== RUN|--- |    --- |ok|FAIL|PASS)|Error:|Messages:'
	@echo; cat bench/results/verify-latest.md

## fuzz: every fuzz target (parsers of user input: money, quantities, ids, cursors, CSV import, audit
## diffs) for FUZZTIME each; `make test` runs their committed seed corpora only
FUZZTIME ?= 30s
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

## stop: stop the local services
stop:
	@scripts/services.sh stop

services:
	@scripts/services.sh start ledgerline ledgerline_test

# Front-end libraries come from the npm registry at the exact versions in package-lock.json.
static/vendor/htmx.min.js: package.json package-lock.json
	@command -v npm >/dev/null || scripts/services.sh install-node
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js

assets: static/vendor/htmx.min.js

generate:
	$(GO) tool templ generate -log-level error

## check-generated: fail when the committed *_templ.go files are not what templ generates
check-generated: generate
	@if [ -n "$$(git status --porcelain -- '*_templ.go')" ]; then \
		echo "generated templ files are stale or missing; run 'make generate' and commit:"; \
		git status --porcelain -- '*_templ.go'; exit 1; fi

build: assets generate
	$(GO) build -o $(BIN) .

migrate: services build
	$(BIN) migrate

seed: migrate
	$(BIN) seed

browser:
	@command -v chromium >/dev/null || scripts/services.sh install-chromium

vet:
	$(GO) vet ./...

clean: stop
	rm -rf .data bin node_modules static/vendor
