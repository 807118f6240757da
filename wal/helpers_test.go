package wal

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// model is the obvious in-memory log the WAL is checked against.
type model struct {
	first uint64
	logs  []raft.Log // logs[i] has index first+i
}

func (m *model) bounds() (uint64, uint64) {
	if len(m.logs) == 0 {
		return 0, 0
	}
	return m.first, m.first + uint64(len(m.logs)) - 1
}

func (m *model) store(ls []*raft.Log) {
	if len(m.logs) == 0 {
		m.first = ls[0].Index
	}
	for _, l := range ls {
		m.logs = append(m.logs, *l)
	}
}

func (m *model) delete(min, max uint64) {
	first, last := m.bounds()
	if last == 0 || max < first || min > last {
		return
	}
	switch {
	case min <= first && max >= last:
		m.logs = nil
	case min <= first:
		m.logs = m.logs[max+1-first:]
		m.first = max + 1
	default:
		m.logs = m.logs[:min-first]
	}
}

// entries builds a batch [from, to] with term and payloads that name their
// index, so a misplaced entry is caught.
func entries(from, to, term uint64) []*raft.Log {
	var ls []*raft.Log
	for i := from; i <= to; i++ {
		ls = append(ls, &raft.Log{
			Index: i, Term: term, Type: raft.LogCommand,
			Data:       []byte(fmt.Sprintf("entry-%d-term-%d", i, term)),
			Extensions: extFor(i),
			AppendedAt: time.Unix(1700000000, int64(i)),
		})
	}
	return ls
}

func extFor(i uint64) []byte {
	if i%3 == 0 {
		return []byte{byte(i), 0xEE}
	}
	return nil
}

// check compares the WAL with the model: bounds, every entry, and
// ErrLogNotFound just outside.
func check(t *testing.T, w *WAL, m *model) {
	t.Helper()
	wantFirst, wantLast := m.bounds()
	first, err := w.FirstIndex()
	if err != nil || first != wantFirst {
		t.Fatalf("FirstIndex() = %d, %v, want %d", first, err, wantFirst)
	}
	last, err := w.LastIndex()
	if err != nil || last != wantLast {
		t.Fatalf("LastIndex() = %d, %v, want %d", last, err, wantLast)
	}
	for i, want := range m.logs {
		idx := m.first + uint64(i)
		var got raft.Log
		if err := w.GetLog(idx, &got); err != nil {
			t.Fatalf("GetLog(%d) = %v, want entry", idx, err)
		}
		if got.Index != want.Index || got.Term != want.Term || got.Type != want.Type ||
			!bytes.Equal(got.Data, want.Data) || !bytes.Equal(got.Extensions, want.Extensions) ||
			!got.AppendedAt.Equal(want.AppendedAt) {
			t.Fatalf("GetLog(%d) = %+v, want %+v", idx, got, want)
		}
	}
	for _, idx := range []uint64{0, wantFirst - 1, wantLast + 1, wantLast + 2} {
		if wantLast != 0 && idx >= wantFirst && idx <= wantLast {
			continue
		}
		var got raft.Log
		if err := w.GetLog(idx, &got); !errors.Is(err, raft.ErrLogNotFound) {
			t.Fatalf("GetLog(%d) = %v, want raft.ErrLogNotFound", idx, err)
		}
	}
}

func mustOpen(t *testing.T, dir string, opts ...Option) *WAL {
	t.Helper()
	w, err := Open(dir, opts...)
	if err != nil {
		t.Fatalf("Open(%s) = %v", dir, err)
	}
	return w
}

func mustClose(t *testing.T, w *WAL) {
	t.Helper()
	if err := w.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
}
