package wal

import (
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// step is one operation of a contract case.
type step struct {
	store   []*raft.Log // StoreLogs
	del     [2]uint64   // DeleteRange when store is nil
	wantErr error       // nil for success
}

func st(from, to, term uint64) step { return step{store: entries(from, to, term)} }
func del(min, max uint64) step      { return step{del: [2]uint64{min, max}} }
func fails(s step, err error) step  { s.wantErr = err; return s }

func TestContract(t *testing.T) {
	gap := entries(1, 3, 1)
	gap[2].Index = 4
	cases := []struct {
		name  string
		steps []step
	}{
		{"empty log", nil},
		{"one batch", []step{st(1, 10, 1)}},
		{"many batches across segments", []step{st(1, 40, 1), st(41, 80, 1), st(81, 81, 2), st(82, 150, 2)}},
		{"first batch at any index", []step{st(1000, 1010, 3)}},
		{"gap after last refused", []step{st(1, 5, 1), fails(st(7, 8, 1), ErrNonContiguous), st(6, 8, 1)}},
		{"overlap refused", []step{st(1, 5, 1), fails(st(5, 6, 1), ErrNonContiguous)}},
		{"gap inside batch refused", []step{{store: gap, wantErr: ErrNonContiguous}}},
		{"index 0 refused", []step{fails(st(0, 2, 1), ErrNonContiguous)}},
		{"prefix deletion inside a segment", []step{st(1, 100, 1), del(1, 42), st(101, 120, 1)}},
		{"prefix deletion of whole segments", []step{st(1, 30, 1), st(31, 60, 1), st(61, 200, 1), del(0, 150)}},
		{"prefix deletions repeated", []step{st(1, 100, 1), del(1, 10), del(11, 20), del(5, 60), st(101, 110, 1)}},
		{"suffix deletion at a batch start", []step{st(1, 10, 1), st(11, 20, 1), del(11, 20), st(11, 15, 2)}},
		{"suffix deletion inside a batch", []step{st(1, 10, 1), st(11, 20, 1), del(15, 20), st(15, 25, 2)}},
		{"suffix deletion twice inside one batch", []step{st(1, 20, 1), del(15, 20), st(15, 18, 2), del(12, 18), st(12, 13, 3)}},
		{"suffix deletion across segments", []step{st(1, 50, 1), st(51, 100, 1), st(101, 150, 1), del(60, 1000), st(60, 70, 2)}},
		{"suffix deletion of a whole segment", []step{st(1, 80, 1), st(81, 160, 1), del(81, 160), st(81, 90, 2)}},
		{"suffix then prefix", []step{st(1, 100, 1), del(50, 100), del(1, 20), st(50, 60, 2)}},
		{"delete all then store anywhere", []step{st(1, 100, 1), del(1, 100), st(500, 510, 4)}},
		{"delete all then store lower", []step{st(1, 100, 1), del(1, 100), st(3, 9, 4)}},
		{"delete all by a wide range", []step{st(5, 9, 1), del(0, 1<<40)}},
		{"delete on empty log", []step{del(1, 10)}},
		{"delete outside the log", []step{st(10, 20, 1), del(1, 5), del(30, 40)}},
		{"delete the middle refused", []step{st(1, 20, 1), fails(del(5, 10), ErrInvalidRange)}},
		{"delete min > max refused", []step{st(1, 20, 1), fails(del(10, 5), ErrInvalidRange)}},
	}
	for _, c := range cases {
		for _, reopen := range []bool{false, true} {
			name := c.name + "/reopen=false"
			if reopen {
				name = c.name + "/reopen=true"
			}
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				opts := []Option{WithSegmentSize(4096)}
				w := mustOpen(t, dir, opts...)
				defer func() { w.Close() }()
				m := &model{}
				check(t, w, m)
				for i, s := range c.steps {
					var err error
					if s.store != nil {
						err = w.StoreLogs(s.store)
					} else {
						err = w.DeleteRange(s.del[0], s.del[1])
					}
					if !errors.Is(err, s.wantErr) || (s.wantErr == nil) != (err == nil) {
						t.Fatalf("step %d: err = %v, want %v", i, err, s.wantErr)
					}
					if err == nil {
						if s.store != nil {
							m.store(s.store)
						} else {
							m.delete(s.del[0], s.del[1])
						}
					}
					check(t, w, m)
					if reopen {
						mustClose(t, w)
						w = mustOpen(t, dir, opts...)
						check(t, w, m)
					}
				}
			})
		}
	}
}

func TestStableStore(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir)
	if _, err := w.Get([]byte("CurrentTerm")); !errors.Is(err, ErrKeyNotFound) || err.Error() != "not found" {
		t.Fatalf("Get(missing) = %v, want ErrKeyNotFound reading \"not found\"", err)
	}
	if v, err := w.GetUint64([]byte("CurrentTerm")); !errors.Is(err, ErrKeyNotFound) || v != 0 {
		t.Fatalf("GetUint64(missing) = %d, %v, want 0, ErrKeyNotFound", v, err)
	}
	tests := []struct {
		key string
		val []byte
	}{
		{"LastVoteCand", []byte("node-7")},
		{"empty", []byte{}},
		{"LastVoteCand", []byte("node-9")}, // overwrite
	}
	for _, tc := range tests {
		if err := w.Set([]byte(tc.key), tc.val); err != nil {
			t.Fatalf("Set(%q) = %v", tc.key, err)
		}
	}
	if err := w.SetUint64([]byte("CurrentTerm"), 42); err != nil {
		t.Fatalf("SetUint64 = %v", err)
	}
	for round := 0; round < 2; round++ {
		if got, err := w.Get([]byte("LastVoteCand")); err != nil || string(got) != "node-9" {
			t.Fatalf("round %d: Get(LastVoteCand) = %q, %v, want node-9", round, got, err)
		}
		if got, err := w.Get([]byte("empty")); err != nil || len(got) != 0 {
			t.Fatalf("round %d: Get(empty) = %q, %v, want empty", round, got, err)
		}
		if got, err := w.GetUint64([]byte("CurrentTerm")); err != nil || got != 42 {
			t.Fatalf("round %d: GetUint64(CurrentTerm) = %d, %v, want 42", round, got, err)
		}
		mustClose(t, w)
		w = mustOpen(t, dir)
	}
	mustClose(t, w)
}

func TestStableStoreDurableAcrossCrash(t *testing.T) {
	fs := NewMemFS()
	w := mustOpen(t, "/d", WithFS(fs))
	if err := w.SetUint64([]byte("CurrentTerm"), 7); err != nil {
		t.Fatalf("SetUint64 = %v", err)
	}
	w2 := mustOpen(t, "/d", WithFS(fs.Crash()))
	defer w2.Close()
	if got, err := w2.GetUint64([]byte("CurrentTerm")); err != nil || got != 7 {
		t.Fatalf("GetUint64 after crash = %d, %v, want 7", got, err)
	}
	mustClose(t, w)
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		ok   bool
	}{
		{"default", func(*Config) {}, true},
		{"segment too small", func(c *Config) { c.SegmentSize = 100 }, false},
		{"segment too big", func(c *Config) { c.SegmentSize = 2 << 30 }, false},
		{"record size zero", func(c *Config) { c.MaxRecordSize = 0 }, false},
		{"group bytes zero", func(c *Config) { c.MaxGroupBytes = 0 }, false},
		{"nil fs", func(c *Config) { c.FS = nil }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(&c)
			err := c.Validate()
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalidConfig)) {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
			w, err := Open(t.TempDir(), WithConfig(c))
			if (err == nil) != tc.ok {
				t.Fatalf("Open() = %v, want ok=%v", err, tc.ok)
			}
			if w != nil {
				mustClose(t, w)
			}
		})
	}
}

func TestClosed(t *testing.T) {
	w := mustOpen(t, t.TempDir())
	mustClose(t, w)
	if err := w.StoreLogs(entries(1, 1, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("StoreLogs after Close = %v, want ErrClosed", err)
	}
	if _, err := w.LastIndex(); !errors.Is(err, ErrClosed) {
		t.Fatalf("LastIndex after Close = %v, want ErrClosed", err)
	}
	if err := w.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v, want ErrClosed", err)
	}
}

func TestTooLarge(t *testing.T) {
	w := mustOpen(t, t.TempDir(), WithMaxRecordSize(100))
	defer w.Close()
	big := &raft.Log{Index: 1, Term: 1, Data: make([]byte, 101)}
	if err := w.StoreLogs([]*raft.Log{big}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("StoreLogs(101 bytes) = %v, want ErrTooLarge", err)
	}
	check(t, w, &model{})
}

// TestStoreLogsAllocs checks that the write path does not allocate per
// entry: a 64-entry batch costs a handful of allocations at most.
func TestStoreLogsAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	w := mustOpen(t, t.TempDir(), WithPreallocate(false))
	defer mustClose(t, w)
	batch := entries(1, 64, 1)
	next := uint64(1)
	allocs := testing.AllocsPerRun(50, func() {
		for i, l := range batch {
			l.Index = next + uint64(i)
		}
		if err := w.StoreLogs(batch); err != nil {
			t.Fatalf("StoreLogs = %v", err)
		}
		next += uint64(len(batch))
	})
	if allocs > 4 {
		t.Fatalf("StoreLogs of 64 entries: %.1f allocations, want at most 4", allocs)
	}
}

// TestOnSync checks that each write's sync is reported, and nothing else:
// stable-store writes and deletions are not entry syncs.
func TestOnSync(t *testing.T) {
	var syncs []time.Duration
	w := mustOpen(t, t.TempDir(), WithPreallocate(false), WithOnSync(func(d time.Duration) { syncs = append(syncs, d) }))
	defer mustClose(t, w)
	for i := uint64(0); i < 3; i++ {
		if err := w.StoreLogs(entries(1+10*i, 10+10*i, 1)); err != nil {
			t.Fatalf("StoreLogs = %v", err)
		}
	}
	if err := w.SetUint64([]byte("term"), 2); err != nil {
		t.Fatalf("SetUint64 = %v", err)
	}
	if err := w.DeleteRange(1, 5); err != nil {
		t.Fatalf("DeleteRange = %v", err)
	}
	if len(syncs) != 3 {
		t.Fatalf("OnSync called %d times for 3 writes, want 3", len(syncs))
	}
	for i, d := range syncs {
		if d <= 0 {
			t.Errorf("sync %d reported as %v, want a positive duration", i, d)
		}
	}
}
