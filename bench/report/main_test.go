package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func sample(t *testing.T) *Results {
	t.Helper()
	f, err := os.Open("testdata/bench-sample.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rs, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestParse(t *testing.T) {
	rs := sample(t)
	if len(rs.Order) != 22 {
		t.Errorf("Parse found %d benchmarks, want 22: %v", len(rs.Order), rs.Order)
	}
	for _, tt := range []struct {
		name, unit string
		want       float64
	}{
		{"BenchmarkRouting/mode=pure/cycle=retry/tenants=1/agents=1000/waiting=10000", "decisions/s", 2500000},
		{"BenchmarkRouting/mode=actors/cycle=retry/tenants=1/agents=1000/waiting=10000", "allocs/decision", 0.01},
		{"BenchmarkMemory/per=callback", "B/callback", 280},
		{"BenchmarkRaftApply/store=wal/appliers=64", "p99-µs", 3000},
		{"BenchmarkCluster/nodes=3/store=wal/batch=1024/proposers=256", "cmds/s", 110000}, // median of three runs
		{"BenchmarkCluster/nodes=3/store=wal/batch=1024/proposers=256", "p99-ms", 19},
		{"BenchmarkSim/mmc/agents=12/hours=200", "ns/op", 1e8},
	} {
		if got, ok := rs.Value(tt.name, tt.unit); !ok || got != tt.want {
			t.Errorf("Value(%s, %s) = %v, %v, want %v", tt.name, tt.unit, got, ok, tt.want)
		}
	}
	if len(rs.Failures) != 1 || !strings.Contains(rs.Failures[0], "appenders=256") {
		t.Errorf("Failures = %q, want the one failed benchmark", rs.Failures)
	}
}

func TestRows(t *testing.T) {
	rows := Rows(sample(t))
	byFigure := map[string]Row{} // figure|benchmark: the offer runs share their detail rows' names
	for _, r := range rows {
		byFigure[r.Figure+"|"+r.From] = r
	}
	for _, tt := range []struct {
		figure, measured, status, from string
	}{
		// the worse of the two shapes counts (1 tenant: 2.5M)
		{"core decisions, pure (10,000 waiting, 1,000 agents)", "1,900,000/s", Missed, "Routing/mode=pure/cycle=retry/tenants=100/agents=10/waiting=100"},
		{"  core decisions, pure, 10000 tenants × 100 waiting", "1,650,000/s", Info, "Routing/mode=pure/cycle=retry/tenants=10000/agents=10/waiting=100"},
		{"  core decisions, pure, 1000 tenants × 100 waiting", "-", NotMeasured, ""},
		{"core decisions, actors, 1,000 tenants", "950,000/s", Missed, "Routing/mode=actors/cycle=retry/tenants=1000/agents=10/waiting=100"},
		{"  core decisions, actors (worst shape)", "900,000/s", Info, "Routing/mode=actors/cycle=retry/tenants=1/agents=1000/waiting=10000"},
		{"allocs per decision, pure (worst)", "0.000", Met, "Routing/mode=pure/cycle=retry/tenants=1/agents=1000/waiting=10000"},
		{"heap per waiting callback", "280 B", Met, "Memory/per=callback"},
		{"  wal ÷ raftwal, 64 appliers", "1.67×", Met, "RaftApply/store=raftwal/appliers=64"},
		{"  wal ÷ boltdb, 64 appliers", "2.00×", Missed, "RaftApply/store=boltdb/appliers=64"},
		{"  wal ÷ boltdb, 1 appliers", "2.22×", Info, "RaftApply/store=boltdb/appliers=1"},
		// no level meets both: the fastest is shown
		{"cluster 1 node: rate with p99", "300,000/s, p99 9.00 ms (1024 in flight)", Missed, "Cluster/nodes=1/store=wal/batch=1024/proposers=1024"},
		{"  cluster 1 node, 256 in flight", "250,000/s, p99 4.20 ms", Info, "Cluster/nodes=1/store=wal/batch=1024/proposers=256"},
		// the median of three runs meets both
		{"cluster 3 nodes: rate with p99", "110,000/s, p99 19.00 ms (256 in flight)", Met, "Cluster/nodes=3/store=wal/batch=1024/proposers=256"},
		{"API creates: rate with p99", "-", NotMeasured, ""},
		// cycling agents are shown, not judged; idle agents are judged
		{"API creates issued for the offer test at 10,000/s, agents cycle", "8,808/s", Info, "APIOffer/rate=10000/agents=cycle"},
		{"API create → offer p99 at 10,000/s, agents cycle", "110.20 ms", Info, "APIOffer/rate=10000/agents=cycle"},
		{"API creates issued for the offer test at 10,000/s, agents idle", "9,996/s", Met, "APIOffer/rate=10000/agents=idle"},
		{"API create → offer p99 at 10,000/s, agents idle", "2.49 ms", Missed, "APIOffer/rate=10000/agents=idle"},
		{"  p50", "0.77 ms", Info, "APIOffer/rate=10000/agents=idle"},
		{"  log syncs: mean", "199 µs", Info, "APIOffer/rate=10000/agents=idle"},
		{"  log syncs over 0.5 ms", "2.0%", Info, "APIOffer/rate=10000/agents=idle"},
		{"  log syncs over 2.5 ms", "1", Info, "APIOffer/rate=10000/agents=idle"},
		{"  collections during the run", "0", Info, "APIOffer/rate=10000/agents=idle"},
		// the benchmark that lost the most CPU to the hypervisor
		{"host CPU taken by the hypervisor (worst benchmark)", "4.0%", Info, "APIOffer/rate=10000/agents=idle"},
		{"simulator, center day: sim hours", "12.0 h/s", Info, "Sim/center/agents=1000/callbacks=100k/day=1"},
	} {
		r, ok := byFigure[tt.figure+"|"+tt.from]
		if !ok || r.Measured != tt.measured || r.Status != tt.status || r.From != tt.from {
			t.Errorf("row %q = %+v, want measured %q, status %q, from %q", tt.figure, r, tt.measured, tt.status, tt.from)
		}
	}
}

func TestRun(t *testing.T) {
	var out bytes.Buffer
	err := run(&out, "testdata/bench-sample.txt", false)
	if err == nil || !strings.Contains(out.String(), "reported failures") {
		t.Errorf("run on a file with a failure = %v, want an error and the failure listed\n%s", err, out.String())
	}
	for _, want := range []string{"figure", "target", "measured", "status", "MISSED", "not measured", "targets met"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	t.Logf("\n%s", out.String())
	if err := run(&out, "testdata/missing.out", false); err == nil {
		t.Error("run on a missing file: nil error")
	}
}
