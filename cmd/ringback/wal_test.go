package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/ringbackhq/ringback/wal"
)

// writeWAL makes a WAL in dir holding indexes 1..n in batches of 5.
func writeWAL(t *testing.T, dir string, n uint64) {
	t.Helper()
	w, err := wal.Open(dir, wal.WithSegmentSize(4096), wal.WithPreallocate(false))
	if err != nil {
		t.Fatalf("wal.Open = %v", err)
	}
	for i := uint64(1); i <= n; i += 5 {
		var batch []*raft.Log
		for j := i; j < i+5 && j <= n; j++ {
			batch = append(batch, &raft.Log{Index: j, Term: 1, Data: bytes.Repeat([]byte{'x'}, 100)})
		}
		if err := w.StoreLogs(batch); err != nil {
			t.Fatalf("StoreLogs = %v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
}

func segments(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.wal"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no segments in %s: %v", dir, err)
	}
	return m
}

func TestWALVerify(t *testing.T) {
	tests := []struct {
		name    string
		damage  func(t *testing.T, dir string)
		wantErr bool
		want    []string
	}{
		{"clean", func(*testing.T, string) {}, false, []string{"index 1-", "log: index 1-100  records 100", "ok"}},
		{"torn tail", func(t *testing.T, dir string) {
			segs := segments(t, dir)
			last := segs[len(segs)-1]
			st, _ := os.Stat(last)
			if err := os.Truncate(last, st.Size()-10); err != nil {
				t.Fatal(err)
			}
		}, false, []string{"log: index 1-95  records 95", "torn tail:", "ok"}},
		{"bit flip in a sealed segment", func(t *testing.T, dir string) {
			first := segments(t, dir)[0]
			b, _ := os.ReadFile(first)
			b[200] ^= 0x04
			if err := os.WriteFile(first, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}, true, []string{"problem: " + "00000000000000000001.wal at offset "}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeWAL(t, dir, 100)
			tc.damage(t, dir)
			var out bytes.Buffer
			rootCmd.SetOut(&out)
			rootCmd.SetArgs([]string{"wal", "verify", dir})
			err := rootCmd.Execute()
			if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, errWALProblem)) {
				t.Fatalf("wal verify = %v, want error=%v; output:\n%s", err, tc.wantErr, out.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Fatalf("wal verify output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}
