package wal

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/hashicorp/raft"
)

// TestPropertyAgainstModel drives the WAL with random appends, prefix and
// suffix deletions, clean reopens and crashes, and compares it with the
// in-memory model after every operation. A failure prints the seed.
func TestPropertyAgainstModel(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4, 5, 6, 7, 8}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed*7919))
			fs := NewMemFS()
			opts := []Option{WithFS(fs), WithSegmentSize(4096), WithPreallocate(seed%2 == 0)}
			w := mustOpen(t, "/d", opts...)
			defer func() { w.Close() }()
			m := &model{}
			term := uint64(1)
			for op := 0; op < 250; op++ {
				first, last := m.bounds()
				switch r := rng.IntN(100); {
				case r < 55: // append a batch
					from := last + 1
					if last == 0 {
						from = 1 + rng.Uint64N(1000)
					}
					n := 1 + rng.Uint64N(12)
					b := entries(from, from+n-1, term)
					for _, l := range b {
						l.Data = bytes.Repeat(l.Data, 1+rng.IntN(8))
					}
					if err := w.StoreLogs(b); err != nil {
						t.Fatalf("seed %d op %d: StoreLogs(%d..%d) = %v", seed, op, from, from+n-1, err)
					}
					m.store(b)
				case r < 68 && last != 0: // prefix deletion
					max := first + rng.Uint64N(last-first+1)
					if err := w.DeleteRange(first, max); err != nil {
						t.Fatalf("seed %d op %d: DeleteRange(%d, %d) = %v", seed, op, first, max, err)
					}
					m.delete(first, max)
				case r < 80 && last != 0: // suffix deletion after a "leader change"
					min := first + rng.Uint64N(last-first+1)
					if err := w.DeleteRange(min, last); err != nil {
						t.Fatalf("seed %d op %d: DeleteRange(%d, %d) = %v", seed, op, min, last, err)
					}
					m.delete(min, last)
					term++
				case r < 90: // clean reopen
					mustClose(t, w)
					w = mustOpen(t, "/d", opts...)
				default: // power loss: everything acknowledged must survive
					crashed := fs.Crash()
					mustClose(t, w)
					fs = crashed
					opts[0] = WithFS(fs)
					w = mustOpen(t, "/d", opts...)
				}
				check(t, w, m)
			}
		})
	}
}

// TestConcurrentAppendAndRead runs appenders that share writes through
// group commit, alongside readers, and checks that every appended entry is
// present exactly once, in the order indexes were assigned.
func TestConcurrentAppendAndRead(t *testing.T) {
	w := mustOpen(t, t.TempDir(), WithSegmentSize(64<<10))
	defer func() { mustClose(t, w) }()
	const appenders, each = 16, 60
	var wg sync.WaitGroup
	errs := make(chan error, appenders+2)
	stop := make(chan struct{})
	for g := 0; g < appenders; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				l := &raft.Log{Term: 1, Data: []byte(fmt.Sprintf("g%d-i%d", g, i))}
				if err := w.AppendLogs([]*raft.Log{l}); err != nil {
					errs <- fmt.Errorf("AppendLogs: %w", err)
					return
				}
				var got raft.Log
				if err := w.GetLog(l.Index, &got); err != nil || !bytes.Equal(got.Data, l.Data) {
					errs <- fmt.Errorf("GetLog(%d) = %q, %v, want %q", l.Index, got.Data, err, l.Data)
					return
				}
			}
		}(g)
	}
	var readers sync.WaitGroup
	readers.Add(1)
	go func() { // a reader racing the writers
		defer readers.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			first, _ := w.FirstIndex()
			last, _ := w.LastIndex()
			if first == 0 || last == 0 {
				continue // read before the first append
			}
			var l raft.Log
			if err := w.GetLog(first+(last-first)/2, &l); err != nil {
				errs <- fmt.Errorf("reader GetLog: %w", err)
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	last, _ := w.LastIndex()
	if last != appenders*each {
		t.Fatalf("LastIndex() = %d, want %d", last, appenders*each)
	}
	seen := map[string]bool{}
	next := map[int]int{}
	for i := uint64(1); i <= last; i++ {
		var l raft.Log
		if err := w.GetLog(i, &l); err != nil {
			t.Fatalf("GetLog(%d) = %v", i, err)
		}
		var g, k int
		if _, err := fmt.Sscanf(string(l.Data), "g%d-i%d", &g, &k); err != nil || seen[string(l.Data)] {
			t.Fatalf("entry %d = %q: duplicate or malformed", i, l.Data)
		}
		if k != next[g] {
			t.Fatalf("entry %d = %q, want g%d-i%d next for that appender", i, l.Data, g, next[g])
		}
		next[g]++
		seen[string(l.Data)] = true
	}
}
