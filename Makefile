# SignetAssure. `make run` runs everything on this machine; `make test` runs every test.
TEMPORAL_CLI_VERSION := v1.5.1
TEMPORAL_CLI := bin/temporal
TEMPORAL_STAMP := bin/.temporal-$(TEMPORAL_CLI_VERSION)
BENCH_CASES ?= 200
LOAD_DURATION ?= 60s
# Linters, pinned, run from the Go module proxy: staticcheck, and workflowcheck (Temporal's check that
# workflow code is deterministic).
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
WORKFLOWCHECK := go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0

.PHONY: run build test bench load vet temporal-cli clean

run: build $(TEMPORAL_STAMP)
	./bin/signetassure dev

build:
	go build -o bin/signetassure ./cmd/signetassure

# The Temporal CLI (dev server + Web UI), built from the Go module proxy and pinned.
temporal-cli: $(TEMPORAL_STAMP)
$(TEMPORAL_STAMP):
	@echo "building the Temporal CLI $(TEMPORAL_CLI_VERSION) into ./bin (first time only, a few minutes)"
	GOBIN=$(CURDIR)/bin go install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)
	touch $@

vet:
	go vet ./...
	test -z "$$(gofmt -l .)" || (gofmt -l . && exit 1)
	go run $(STATICCHECK) ./...
	go run $(WORKFLOWCHECK) ./...

# Every test, against the real PostgreSQL (DATABASE_URL's server; each test makes its own database)
# and a real Temporal dev server started from ./bin/temporal. Every package runs under the race detector but
# the api package, the longest by far (its HTTP tests and the console's browser tests): it runs without it,
# beside the others, so CI stays within its budget on two cores. The code the api tests drive concurrently
# (the store, workflows, activities, the outbox and webhook delivery) is raced by those packages' own tests.
test: vet $(TEMPORAL_STAMP)
	@go test -count=1 -timeout 20m ./api/ & api=$$!; \
	go test -count=1 -race -timeout 20m $$(go list ./... | grep -v '/api$$'); others=$$?; \
	wait $$api; api=$$?; \
	test $$others -eq 0 && test $$api -eq 0

# Opens BENCH_CASES cases through the API (untraced, tracing off, tracing on) and runs as many bare
# one-activity workflows on the same server;
# reconciles 10,000 persons with 50,000 grants into the CredoID simulator, then re-syncs (no change, 1%);
# runs the worker binary with 20,000 open clearance and grant workflows and a storm of 1,000 renewal nudges
# due at once, against a storm of bare workflows (SCALE_PERSONS and SCALE_STORM shrink it for a trial;
# WORKER_STICKY_CACHE etc. tune the worker it runs).
bench: $(TEMPORAL_STAMP)
	go test -count=1 -run '^$$' -bench . -benchtime $(BENCH_CASES)x -timeout 20m ./api/
	go test -count=1 -run '^$$' -bench 'BenchmarkReconcile|BenchmarkBroadcast|BenchmarkEvidencePack' -benchtime 1x -timeout 30m ./activities/
	go test -count=1 -run '^$$' -bench BenchmarkWorkerAtScale -benchtime 1x -timeout 40m ./cmd/signetassure/

# The mixed load on loopback for LOAD_DURATION, on one API and one worker, then on two of each (separate
# processes of the real binary): 50 simulated case workers, partner lookups at their limit, an access sync
# and a broadcast at once. Prints p50/p99 per route, errors and throughput, and the slowest route's CPU
# profile (kept in .data/load/api-cpu.pprof); fails on any unexpected answer or anything done twice.
load: $(TEMPORAL_STAMP)
	LOAD_DURATION=$(LOAD_DURATION) go test -count=1 -run '^TestMixedLoad$$' -v -timeout 30m ./internal/load/

clean:
	rm -rf bin .data
