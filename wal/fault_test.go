package wal

import (
	"errors"
	"fmt"
	"path"
	"testing"
)

// memOpts are options for a WAL on fs without background preallocation,
// so that file contents and armed faults are deterministic.
func memOpts(fs *MemFS) []Option {
	return []Option{WithFS(fs), WithSegmentSize(4096), WithPreallocate(false)}
}

// lastSegment returns the name of the newest segment file on fs.
func lastSegment(t *testing.T, fs *MemFS) string {
	t.Helper()
	names, err := fs.ReadDir("/d")
	if err != nil {
		t.Fatalf("ReadDir = %v", err)
	}
	var last string
	for _, n := range names {
		if _, ok := parseSegName(n); ok {
			last = n
		}
	}
	if last == "" {
		t.Fatalf("no segment in %v", names)
	}
	return path.Join("/d", last)
}

// buildLog writes batches of three entries up to index n and returns the
// model and the byte range [start, end) of the last batch in its file.
func buildLog(t *testing.T, fs *MemFS, n uint64) (*model, string, int64, int64) {
	t.Helper()
	w := mustOpen(t, "/d", memOpts(fs)...)
	m := &model{}
	var start int64
	for i := uint64(1); i <= n; i += 3 {
		b := entries(i, min(i+2, n), 1)
		w.mu.RLock()
		if t := w.tailLocked(); t != nil {
			start = t.end
		}
		w.mu.RUnlock()
		if err := w.StoreLogs(b); err != nil {
			t.Fatalf("StoreLogs = %v", err)
		}
		m.store(b)
	}
	w.mu.RLock()
	end := w.tailLocked().end
	if len(w.tailLocked().offsets) <= 3 {
		start = headerSize // the last batch opened the segment
	}
	w.mu.RUnlock()
	mustClose(t, w)
	return m, lastSegment(t, fs), start, end
}

func TestTornTailEveryOffset(t *testing.T) {
	for _, mode := range []string{"truncate", "zero"} {
		t.Run("mode="+mode, func(t *testing.T) {
			base := NewMemFS()
			m, seg, start, end := buildLog(t, base, 20)
			orig, _ := base.ReadFile(seg)
			before := &model{first: m.first, logs: m.logs[:len(m.logs)-2]} // last batch is 19..20
			for cut := start; cut <= end; cut++ {
				fs := base.Clone()
				img := append([]byte(nil), orig[:cut]...)
				if mode == "zero" {
					img = append(img, make([]byte, int64(len(orig))-cut+512)...)
				}
				fs.WriteFile(seg, img)
				w, err := Open("/d", memOpts(fs)...)
				if err != nil {
					t.Fatalf("cut at %d: Open = %v, want rollback", cut, err)
				}
				want := before
				if cut == end || (mode == "zero" && isZero(orig[cut:end])) {
					want = m // nothing was lost: the cut bytes were zero already
				}
				check(t, w, want)
				// The log takes new writes where the rollback left it.
				_, last := want.bounds()
				if err := w.StoreLogs(entries(last+1, last+2, 2)); err != nil {
					t.Fatalf("cut at %d: StoreLogs after rollback = %v", cut, err)
				}
				mustClose(t, w)
				w = mustOpen(t, "/d", memOpts(fs)...)
				if got, _ := w.LastIndex(); got != last+2 {
					t.Fatalf("cut at %d: LastIndex after rollback and append = %d, want %d", cut, got, last+2)
				}
				mustClose(t, w)
			}
		})
	}
}

func TestBitFlips(t *testing.T) {
	base := NewMemFS()
	m, seg, start, end := buildLog(t, base, 20)
	orig, _ := base.ReadFile(seg)
	s, err := scanSegment(path.Base(seg), memReader(orig), int64(len(orig)), 1<<20)
	if err != nil {
		t.Fatalf("scan = %v", err)
	}
	// The earlier batch is 16..18: from its first entry to the last batch.
	prevStart := int64(s.offsets[len(s.offsets)-5])
	before := &model{first: m.first, logs: m.logs[:len(m.logs)-2]}

	t.Run("last batch", func(t *testing.T) {
		for off := start; off < end; off++ {
			for bit := 0; bit < 8; bit += 3 {
				fs := base.Clone()
				img := append([]byte(nil), orig...)
				img[off] ^= 1 << bit
				fs.WriteFile(seg, img)
				w, err := Open("/d", memOpts(fs)...)
				if err != nil {
					t.Fatalf("flip at %d bit %d: Open = %v, want the torn tail rolled back", off, bit, err)
				}
				check(t, w, before)
				mustClose(t, w)
			}
		}
	})
	t.Run("earlier batch", func(t *testing.T) {
		for off := prevStart; off < start; off++ {
			for bit := 0; bit < 8; bit++ {
				fs := base.Clone()
				img := append([]byte(nil), orig...)
				img[off] ^= 1 << bit
				fs.WriteFile(seg, img)
				_, err := Open("/d", memOpts(fs)...)
				var ce *CorruptError
				if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
					t.Fatalf("flip at %d bit %d: Open = %v, want *CorruptError", off, bit, err)
				}
				if ce.File != path.Base(seg) || ce.Offset < prevStart || ce.Offset > start {
					t.Fatalf("flip at %d bit %d: error names %s offset %d, want %s in [%d, %d]", off, bit, ce.File, ce.Offset, path.Base(seg), prevStart, start)
				}
				rep, err := Verify("/d", memOpts(fs)...)
				if err != nil || rep.Problem == nil || rep.Problem.File != ce.File || rep.Problem.Offset != ce.Offset {
					t.Fatalf("flip at %d bit %d: Verify = %+v, %v, want problem %v", off, bit, rep, err, ce)
				}
			}
		}
	})
	t.Run("sealed segment", func(t *testing.T) {
		fs := NewMemFS()
		w := mustOpen(t, "/d", memOpts(fs)...)
		for i := uint64(1); i <= 300; i += 10 {
			if err := w.StoreLogs(entries(i, i+9, 1)); err != nil {
				t.Fatalf("StoreLogs = %v", err)
			}
		}
		mustClose(t, w)
		names, _ := fs.ReadDir("/d")
		first := path.Join("/d", names[0])
		img, _ := fs.ReadFile(first)
		if len(names) < 3 {
			t.Fatalf("want several segments, have %v", names)
		}
		for _, off := range []int{0, 5, 20, headerSize + 2, headerSize + 45, len(img) / 2, len(img) - 1} {
			c := fs.Clone()
			bad := append([]byte(nil), img...)
			bad[off] ^= 0x10
			c.WriteFile(first, bad)
			if _, err := Open("/d", memOpts(c)...); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("flip at %d of %s: Open = %v, want ErrCorrupt", off, names[0], err)
			}
		}
	})
}

type memReader []byte

func (m memReader) ReadAt(b []byte, off int64) (int, error) {
	if off >= int64(len(m)) {
		return 0, fmt.Errorf("EOF")
	}
	n := copy(b, m[off:])
	if n < len(b) {
		return n, fmt.Errorf("EOF")
	}
	return n, nil
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault Fault
		crash bool // reopen from what a power loss leaves, else from what the process wrote
	}{
		{"sync fails", Fault{Op: OpSync, Match: ".wal"}, false},
		{"sync fails then crash", Fault{Op: OpSync, Match: ".wal"}, true},
		{"write fails", Fault{Op: OpWrite, Match: ".wal"}, false},
		{"short write", Fault{Op: OpWrite, Match: ".wal", Short: 50}, false},
		{"short write then crash", Fault{Op: OpWrite, Match: ".wal", Short: 50}, true},
		{"dir sync fails at rotation", Fault{Op: OpSyncDir}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := NewMemFS()
			w := mustOpen(t, "/d", memOpts(fs)...)
			m := &model{}
			for i := uint64(1); i <= 30; i += 10 {
				b := entries(i, i+9, 1)
				if err := w.StoreLogs(b); err != nil {
					t.Fatalf("StoreLogs = %v", err)
				}
				m.store(b)
			}
			fs.Inject(tc.fault)
			// Write until the fault fires (the dir sync fires at rotation).
			var err error
			next := uint64(31)
			for fs.Pending() > 0 && err == nil {
				b := entries(next, next+9, 1)
				if err = w.StoreLogs(b); err == nil {
					m.store(b)
					next += 10
				}
			}
			if err == nil {
				t.Fatalf("StoreLogs never reported the injected fault")
			}
			if errors.Is(err, ErrFailed) {
				t.Fatalf("first failing StoreLogs = %v, want the i/o error itself", err)
			}
			// No further writes until reopened.
			if err := w.StoreLogs(entries(next, next, 1)); !errors.Is(err, ErrFailed) {
				t.Fatalf("StoreLogs after failure = %v, want ErrFailed", err)
			}
			if err := w.DeleteRange(1, 5); !errors.Is(err, ErrFailed) {
				t.Fatalf("DeleteRange after failure = %v, want ErrFailed", err)
			}
			if err := w.SetUint64([]byte("k"), 1); !errors.Is(err, ErrFailed) {
				t.Fatalf("SetUint64 after failure = %v, want ErrFailed", err)
			}
			check(t, w, m) // reads still serve what was acknowledged
			after := fs.Clone()
			if tc.crash {
				after = fs.Crash()
			}
			mustClose(t, w)
			w = mustOpen(t, "/d", memOpts(after)...)
			defer w.Close()
			// The failed batch was never acknowledged: it may survive only
			// if it was completely written; everything acknowledged must.
			got, err := w.LastIndex()
			if err != nil {
				t.Fatalf("LastIndex = %v", err)
			}
			if got != next-1 && got != next+9 {
				t.Fatalf("LastIndex after reopen = %d, want %d (or %d with the failed batch)", got, next-1, next+9)
			}
			if got == next+9 {
				m.store(entries(next, next+9, 1))
			}
			check(t, w, m)
			if err := w.StoreLogs(entries(got+1, got+1, 2)); err != nil {
				t.Fatalf("StoreLogs after reopen = %v", err)
			}
		})
	}
}

func TestCrashKeepsAcknowledged(t *testing.T) {
	for _, prealloc := range []bool{false, true} {
		t.Run(fmt.Sprintf("preallocate=%v", prealloc), func(t *testing.T) {
			fs := NewMemFS()
			opts := []Option{WithFS(fs), WithSegmentSize(4096), WithPreallocate(prealloc)}
			w := mustOpen(t, "/d", opts...)
			m := &model{}
			for i := uint64(1); i <= 400; i += 7 {
				b := entries(i, i+6, 1)
				if err := w.StoreLogs(b); err != nil {
					t.Fatalf("StoreLogs = %v", err)
				}
				m.store(b)
				if i%50 == 1 {
					if err := w.DeleteRange(0, i/2); err != nil {
						t.Fatalf("DeleteRange = %v", err)
					}
					m.delete(0, i/2)
				}
			}
			crashed := fs.Crash()
			mustClose(t, w)
			w = mustOpen(t, "/d", append(opts, WithFS(crashed))...)
			defer w.Close()
			check(t, w, m)
		})
	}
}

// TestCrashDuringDelete fails the n-th sync of a deletion, then crashes: the
// log must be what it was or what the deletion makes it, or in between as a
// contiguous range that still holds every entry the deletion keeps.
func TestCrashDuringDelete(t *testing.T) {
	tests := []struct {
		name     string
		min, max uint64
	}{
		{"suffix inside a batch", 23, 60},
		{"suffix at a batch start", 21, 60},
		{"suffix across segments", 8, 60},
		{"prefix inside a segment", 1, 33},
		{"all", 1, 60},
	}
	for _, tc := range tests {
		for _, op := range []FaultOp{OpSync, OpSyncDir} {
			for skip := 0; skip < 6; skip++ {
				t.Run(fmt.Sprintf("%s/op=%d/skip=%d", tc.name, op, skip), func(t *testing.T) {
					fs := NewMemFS()
					opts := []Option{WithFS(fs), WithSegmentSize(4096), WithPreallocate(false)}
					w := mustOpen(t, "/d", opts...)
					m := &model{}
					for i := uint64(1); i <= 60; i += 5 {
						b := entries(i, i+4, 1)
						if err := w.StoreLogs(b); err != nil {
							t.Fatalf("StoreLogs = %v", err)
						}
						m.store(b)
					}
					old := *m
					fs.Inject(Fault{Op: op, Skip: skip})
					delErr := w.DeleteRange(tc.min, tc.max)
					if skip == 0 && op == OpSync && delErr == nil {
						t.Fatalf("DeleteRange(%d, %d) did not report the failed sync", tc.min, tc.max)
					}
					crashed := fs.Crash()
					_ = w.Close()
					w = mustOpen(t, "/d", append(opts, WithFS(crashed))...)
					defer w.Close()
					first, _ := w.FirstIndex()
					last, _ := w.LastIndex()
					want := old
					want.delete(tc.min, tc.max)
					wf, wl := want.bounds()
					if delErr == nil {
						check(t, w, &want)
						return
					}
					// Partly applied: a contiguous range of the old log
					// between the old bounds and the new ones.
					if last == 0 {
						if wl != 0 {
							t.Fatalf("log empty after failed delete, want at least [%d, %d]", wf, wl)
						}
						return
					}
					if (wl != 0 && (first > wf || last < wl)) || first < old.first || last > 60 {
						t.Fatalf("after failed DeleteRange(%d, %d) (%v): log [%d, %d], want within [1, 60] and covering [%d, %d]", tc.min, tc.max, delErr, first, last, wf, wl)
					}
					part := model{first: first, logs: old.logs[first-old.first : last-old.first+1]}
					check(t, w, &part)
				})
			}
		}
	}
}
