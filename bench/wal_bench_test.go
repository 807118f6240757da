package bench

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	raftwal "github.com/hashicorp/raft-wal"

	"github.com/ringbackhq/ringback/wal"
)

// entrySize is the payload of every benchmarked log entry.
const entrySize = 200

// store is one log store under test.
type store struct {
	logs   raft.LogStore
	stable raft.StableStore
	close  io.Closer
	// appendOne stores one entry after the last one. It is safe for
	// concurrent use; how depends on what the store allows (see stores).
	appendOne func(data []byte) error
}

// stores lists the compared stores. Concurrent appenders need indexes in
// order: our WAL assigns them as it queues a batch (AppendLogs, the same
// group-commit path as StoreLogs); raft-wal refuses out-of-order batches,
// so its appenders take a lock around index assignment and StoreLogs;
// raft-boltdb accepts any order, so its appenders only share a counter.
var stores = []struct {
	name string
	open func(tb testing.TB, dir string) store
}{
	{"wal", func(tb testing.TB, dir string) store {
		w, err := wal.Open(dir)
		if err != nil {
			tb.Fatalf("wal.Open: %v", err)
		}
		return store{logs: w, stable: w, close: w, appendOne: func(data []byte) error {
			return w.AppendLogs([]*raft.Log{{Term: 1, Type: raft.LogCommand, Data: data}})
		}}
	}},
	{"raftwal", func(tb testing.TB, dir string) store {
		w, err := raftwal.Open(dir)
		if err != nil {
			tb.Fatalf("raftwal.Open: %v", err)
		}
		var mu sync.Mutex
		var next uint64
		return store{logs: w, stable: w, close: w, appendOne: func(data []byte) error {
			mu.Lock()
			defer mu.Unlock()
			next++
			return w.StoreLogs([]*raft.Log{{Index: next, Term: 1, Type: raft.LogCommand, Data: data}})
		}}
	}},
	{"boltdb", func(tb testing.TB, dir string) store {
		s, err := raftboltdb.NewBoltStore(filepath.Join(dir, "raft.db"))
		if err != nil {
			tb.Fatalf("raftboltdb.NewBoltStore: %v", err)
		}
		var next atomic.Uint64
		return store{logs: s, stable: s, close: s, appendOne: func(data []byte) error {
			return s.StoreLogs([]*raft.Log{{Index: next.Add(1), Term: 1, Type: raft.LogCommand, Data: data}})
		}}
	}},
}

// runConcurrent runs b.N calls of op spread over n goroutines and reports
// throughput and latency percentiles.
func runConcurrent(b *testing.B, n int, op func() error) {
	b.Helper()
	var (
		left     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	left.Store(int64(b.N))
	lat := make([][]time.Duration, n)
	b.ResetTimer()
	start := time.Now()
	for g := 0; g < n; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			mine := make([]time.Duration, 0, b.N/n+1)
			for left.Add(-1) >= 0 {
				t := time.Now()
				if err := op(); err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				mine = append(mine, time.Since(t))
			}
			lat[g] = mine
		}(g)
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if firstErr != nil {
		b.Fatalf("op: %v", firstErr)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds())
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

// BenchmarkStoreLogs stores one 200-byte entry per operation from
// concurrent appenders, durably, on each store.
func BenchmarkStoreLogs(b *testing.B) {
	data := make([]byte, entrySize)
	for i := range data {
		data[i] = byte(i)
	}
	for _, s := range stores {
		for _, n := range []int{1, 16, 64, 256} {
			b.Run(fmt.Sprintf("store=%s/appenders=%d", s.name, n), func(b *testing.B) {
				st := s.open(b, b.TempDir())
				defer st.close.Close()
				// Warm up: the first append creates the first segment.
				if err := st.appendOne(data); err != nil {
					b.Fatalf("append: %v", err)
				}
				runConcurrent(b, n, func() error { return st.appendOne(data) })
			})
		}
	}
}

// counterFSM counts applied commands; its snapshot is the count.
type counterFSM struct{ n atomic.Uint64 }

func (f *counterFSM) Apply(*raft.Log) any { return f.n.Add(1) }
func (f *counterFSM) Snapshot() (raft.FSMSnapshot, error) {
	return countSnapshot(f.n.Load()), nil
}
func (f *counterFSM) Restore(rc io.ReadCloser) error {
	var n uint64
	_, err := fmt.Fscan(rc, &n)
	f.n.Store(n)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	return err
}

type countSnapshot uint64

func (s countSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := fmt.Fprint(sink, uint64(s)); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}
func (countSnapshot) Release() {}

// startSingleNode runs a bootstrapped one-node raft on st and waits until
// it leads.
func startSingleNode(tb testing.TB, st store, fsm raft.FSM, bootstrap bool) *raft.Raft {
	tb.Helper()
	conf := raft.DefaultConfig()
	conf.LocalID = "node1"
	conf.HeartbeatTimeout = 50 * time.Millisecond
	conf.ElectionTimeout = 50 * time.Millisecond
	conf.LeaderLeaseTimeout = 50 * time.Millisecond
	conf.CommitTimeout = 5 * time.Millisecond
	conf.LogLevel = "ERROR"
	conf.Logger = nil
	_, trans := raft.NewInmemTransport("node1")
	r, err := raft.NewRaft(conf, fsm, st.logs, st.stable, raft.NewDiscardSnapshotStore(), trans)
	if err != nil {
		tb.Fatalf("raft.NewRaft: %v", err)
	}
	if bootstrap {
		cfg := raft.Configuration{Servers: []raft.Server{{ID: "node1", Address: trans.LocalAddr()}}}
		if err := r.BootstrapCluster(cfg).Error(); err != nil {
			tb.Fatalf("BootstrapCluster: %v", err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for r.State() != raft.Leader {
		if time.Now().After(deadline) {
			tb.Fatalf("no leader after 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return r
}

// BenchmarkRaftApply measures raft.Apply of 200-byte commands on a
// single-node cluster from concurrent appliers, on each store.
func BenchmarkRaftApply(b *testing.B) {
	data := make([]byte, entrySize)
	for _, s := range stores {
		for _, n := range []int{1, 64} {
			b.Run(fmt.Sprintf("store=%s/appliers=%d", s.name, n), func(b *testing.B) {
				st := s.open(b, b.TempDir())
				defer st.close.Close()
				r := startSingleNode(b, st, &counterFSM{}, true)
				defer func() {
					if err := r.Shutdown().Error(); err != nil {
						b.Errorf("Shutdown: %v", err)
					}
				}()
				runConcurrent(b, n, func() error { return r.Apply(data, 0).Error() })
			})
		}
	}
}
