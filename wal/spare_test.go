package wal

import (
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// TestSpareAskedAtHalf checks when the next segment is prepared: not while
// the segment being written is less than half full (a node that writes
// little never zero-fills a second segment), and soon after it passes half,
// so that rotation finds the spare ready and uses it.
func TestSpareAskedAtHalf(t *testing.T) {
	const segSize = 64 << 10
	w := mustOpen(t, t.TempDir(), WithSegmentSize(segSize))
	defer mustClose(t, w)
	spare := func() *segment {
		w.spareMu.Lock()
		defer w.spareMu.Unlock()
		return w.spare
	}
	tailEnd := func() int64 {
		w.mu.RLock()
		defer w.mu.RUnlock()
		return w.tailLocked().end
	}
	next := uint64(1)
	write := func() {
		t.Helper()
		l := &raft.Log{Index: next, Term: 1, Type: raft.LogCommand, Data: make([]byte, 1000)}
		if err := w.StoreLogs([]*raft.Log{l}); err != nil {
			t.Fatal(err)
		}
		next++
	}
	write() // the first entry goes to the segment prepared at open
	for tailEnd()+2000 < segSize/2 {
		write()
	}
	time.Sleep(50 * time.Millisecond) // a spare asked for too early would be filling by now
	if s := spare(); s != nil {
		t.Fatalf("spare segment %d prepared while the tail holds %d of %d bytes", s.seq, tailEnd(), segSize)
	}
	for tailEnd() < segSize/2 {
		write()
	}
	deadline := time.Now().Add(10 * time.Second)
	for spare() == nil {
		if time.Now().After(deadline) {
			t.Fatalf("no spare 10 s after the tail passed half (%d of %d bytes)", tailEnd(), segSize)
		}
		time.Sleep(time.Millisecond)
	}
	want := spare().seq
	for spare() != nil {
		write()
	}
	w.mu.RLock()
	got := w.tailLocked().seq
	w.mu.RUnlock()
	if got != want {
		t.Fatalf("rotated to segment %d, want the spare %d", got, want)
	}
}
