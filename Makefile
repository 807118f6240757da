# Ringback build and test targets. `make test` is what CI runs.
GO        ?= go
PKGS      ?= ./...
BENCHTIME ?= 1s
BENCHCOUNT ?= 3
DATA      ?= ./data

# A recipe's pipeline fails when any of its commands does, not only the
# last: `make bench` pipes each family through tee.
SHELL       := bash
.SHELLFLAGS := -o pipefail -c

.PHONY: build test test-race bench run demo vet fmt clean cluster-up cluster-down soak test-faults fuzz

build:
	$(GO) build -o bin/ringback ./cmd/ringback

vet:
	$(GO) vet $(PKGS)

fmt:
	gofmt -s -w $$(git ls-files '*.go')

# Every benchmark also runs once, so a broken benchmark fails here and not
# in the middle of `make bench` (about 40 s).
test: vet
	$(GO) test -count=1 -timeout 14m $(PKGS)
	$(GO) test -count=1 -timeout 5m -run '^$$' -bench . -benchtime 1x ./bench/ > bench-smoke.out 2>&1 || { cat bench-smoke.out; exit 1; }

test-race:
	$(GO) test -race -count=1 -timeout 30m $(PKGS)

# Benchmarks: the raw results (benchstat's format) go to bench.out, then
# bench/report prints the headline figures beside their targets, met or
# MISSED, each the median of BENCHCOUNT runs (this machine's figures move
# by a quarter from run to run). Each family has its own -benchtime so
# that the whole run takes about seventeen minutes on two cores; a new
# benchmark family needs a line here. BENCHTIME applies to the core and the log;
# every line has a timeout, so a stuck benchmark cannot hold the run.
# The offer latency runs first: the others write and delete gigabytes of
# logs, and a disk that discards deleted blocks (the `discard` mount
# option) slows the next runs' syncs for a while, which shows in the
# offer's p99 (interleaved runs: worse in 4 of 4 after deleting 2 GB).
# Each family runs in BENCHCOUNT rounds of every benchmark once, not
# each benchmark BENCHCOUNT times in a row, so that figures compared with
# each other (our WAL against raft-wal and raft-boltdb) share each stretch
# of the machine's noise instead of falling in different ones.
bench_family = for i in $$(seq $(BENCHCOUNT)); do $(GO) test -run '^$$' -benchmem -count 1 $(1) ./bench/... || exit 1; done 2>&1 | tee -a bench.out
bench:
	@rm -f bench.out
	$(call bench_family,-timeout 6m -bench '^BenchmarkAPIOffer$$' -benchtime 3000x)
	$(call bench_family,-timeout 10m -bench '^Benchmark(Routing|Memory)$$' -benchtime $(BENCHTIME))
	$(call bench_family,-timeout 10m -bench '^Benchmark(StoreLogs|RaftApply)$$' -benchtime $(BENCHTIME))
	$(call bench_family,-timeout 10m -bench '^BenchmarkCluster$$/nodes=/store=/batch=1024/proposers=' -benchtime 100000x)
	$(call bench_family,-timeout 6m -bench '^BenchmarkAPI(Create|Floor)$$' -benchtime 40000x)
	$(call bench_family,-timeout 6m -bench '^BenchmarkSim$$' -benchtime 3x)
	@echo
	$(GO) run ./bench/report bench.out

# One node on $(DATA): prints the operator token on first start.
run: build
	./bin/ringback server --data-dir $(DATA) --http-addr 127.0.0.1:8080 --raft-addr 127.0.0.1:7000

# A short scenario through the routing core, no server needed.
demo: build
	./bin/ringback demo

# Three local nodes on 127.0.0.1 (HTTP 8081-8083, Raft 7001-7003), data in ./cluster-data/nodeN.
cluster-up: build
	@mkdir -p cluster-data
	@for i in 1 2 3; do \
		RINGBACK_OPERATOR_TOKEN=$${RINGBACK_OPERATOR_TOKEN:-rbop_local_cluster} ./bin/ringback server \
			--data-dir cluster-data/node$$i --http-addr 127.0.0.1:808$$i --raft-addr 127.0.0.1:700$$i \
			--join 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003 --bootstrap-expect 3 \
			> cluster-data/node$$i.log 2>&1 & echo $$! > cluster-data/node$$i.pid; \
	done
	@echo "three nodes starting; logs in cluster-data/; operator token: $${RINGBACK_OPERATOR_TOKEN:-rbop_local_cluster}"

cluster-down:
	@for i in 1 2 3; do [ -f cluster-data/node$$i.pid ] && kill $$(cat cluster-data/node$$i.pid) 2>/dev/null; rm -f cluster-data/node$$i.pid; done; true

# Every fuzz target for FUZZTIME each (30s by default); crashers land in the
# package's testdata/fuzz and become regression seeds.
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./wal/ -run '^$$' -fuzz '^FuzzDecodeRecord$$' -fuzztime $(FUZZTIME)
	$(GO) test ./wal/ -run '^$$' -fuzz '^FuzzScanSegment$$' -fuzztime $(FUZZTIME)
	$(GO) test ./cluster/ -run '^$$' -fuzz '^FuzzDecodeEntry$$' -fuzztime $(FUZZTIME)
	$(GO) test ./actors/ -run '^$$' -fuzz '^FuzzRestore$$' -fuzztime $(FUZZTIME)
	$(GO) test ./sim/ -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./cmd/ringback/api/ -run '^$$' -fuzz '^FuzzWriteBodies$$' -fuzztime $(FUZZTIME)

clean:
	rm -rf bin bench.out bench-smoke.out

# Fault tests in full: many simulation seeds, the long linearizability run
# under kill -9 / SIGSTOP / partitions, the disk-fault and Raft-pitfall
# tests, and a minute of fuzzing DecodeEntry. Everything on 127.0.0.1.
test-faults:
	RINGBACK_FAULTS_LONG=1 RINGBACK_SIM_SEEDS=$${SEEDS:-20} $(GO) test -count=1 -timeout 40m -v -run 'TestSimulation|TestFault|TestLinearizable' ./cluster/
	$(GO) test ./cluster/ -run '^$$' -fuzz FuzzDecodeEntry -fuzztime $${FUZZTIME:-60s}

# Soak: the seeded cluster simulation over many seeds and longer schedules
# (SEEDS=200 STEPS=400 by default; BASE picks the first seed), then a
# hundred kill -9 and restart cycles of one node and of a three-node
# cluster's leader under load (CYCLES=100).
soak:
	RINGBACK_SIM_SEEDS=$${SEEDS:-200} RINGBACK_SIM_STEPS=$${STEPS:-400} RINGBACK_SIM_BASE=$${BASE:-1} $(GO) test -count=1 -timeout 6h -run TestSimulation ./cluster/
	RINGBACK_CRASH_CYCLES=$${CYCLES:-100} $(GO) test -count=1 -timeout 3h -v -run 'TestProcessSingleNodeCrashLoop|TestProcessKillLeader' ./cluster/
