package wal

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// listFSM records every applied command, in order.
type listFSM struct {
	mu   sync.Mutex
	cmds []uint64 // guarded by mu
}

func (f *listFSM) Apply(l *raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cmds = append(f.cmds, binary.BigEndian.Uint64(l.Data))
	return len(f.cmds)
}

func (f *listFSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return listSnapshot(append([]uint64(nil), f.cmds...)), nil
}

func (f *listFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cmds = f.cmds[:0]
	for len(b) >= 8 {
		f.cmds = append(f.cmds, binary.BigEndian.Uint64(b))
		b = b[8:]
	}
	return nil
}

func (f *listFSM) snapshot() []uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]uint64(nil), f.cmds...)
}

type listSnapshot []uint64

func (s listSnapshot) Persist(sink raft.SnapshotSink) error {
	var b []byte
	for _, c := range s {
		b = binary.BigEndian.AppendUint64(b, c)
	}
	if _, err := sink.Write(b); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (listSnapshot) Release() {}

// TestRaftSingleNode runs a real hashicorp/raft node on the WAL, applies
// commands, takes a snapshot that compacts the log, restarts on the same
// directory and finds every command again.
func TestRaftSingleNode(t *testing.T) {
	dir, snapDir := t.TempDir(), t.TempDir()
	const total = 600
	start := func(fsm *listFSM, bootstrap bool) (*raft.Raft, *WAL) {
		w := mustOpen(t, dir, WithSegmentSize(16<<10))
		conf := raft.DefaultConfig()
		conf.LocalID = "n1"
		conf.HeartbeatTimeout = 50 * time.Millisecond
		conf.ElectionTimeout = 50 * time.Millisecond
		conf.LeaderLeaseTimeout = 50 * time.Millisecond
		conf.CommitTimeout = 5 * time.Millisecond
		conf.TrailingLogs = 50
		conf.SnapshotThreshold = 1 << 30 // snapshots only when asked
		conf.LogLevel = "ERROR"
		snaps, err := raft.NewFileSnapshotStore(snapDir, 2, io.Discard)
		if err != nil {
			t.Fatalf("NewFileSnapshotStore = %v", err)
		}
		_, trans := raft.NewInmemTransport("n1")
		r, err := raft.NewRaft(conf, fsm, w, w, snaps, trans)
		if err != nil {
			t.Fatalf("NewRaft = %v", err)
		}
		if bootstrap {
			cfg := raft.Configuration{Servers: []raft.Server{{ID: "n1", Address: trans.LocalAddr()}}}
			if err := r.BootstrapCluster(cfg).Error(); err != nil {
				t.Fatalf("BootstrapCluster = %v", err)
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for r.State() != raft.Leader {
			if time.Now().After(deadline) {
				t.Fatalf("no leader after 10s")
			}
			time.Sleep(5 * time.Millisecond)
		}
		return r, w
	}
	apply := func(r *raft.Raft, from, to int) {
		var wg sync.WaitGroup
		errs := make(chan error, to-from)
		for i := from; i < to; i++ {
			wg.Add(1)
			go func(i int) { // concurrent applies exercise raft's batching
				defer wg.Done()
				if err := r.Apply(binary.BigEndian.AppendUint64(nil, uint64(i)), 5*time.Second).Error(); err != nil {
					errs <- fmt.Errorf("Apply(%d) = %w", i, err)
				}
			}(i)
			if i%50 == 49 {
				wg.Wait()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	stop := func(r *raft.Raft, w *WAL) {
		if err := r.Shutdown().Error(); err != nil {
			t.Fatalf("Shutdown = %v", err)
		}
		mustClose(t, w)
	}
	checkAll := func(fsm *listFSM, n int) {
		got := fsm.snapshot()
		seen := map[uint64]bool{}
		for _, c := range got {
			seen[c] = true
		}
		if len(got) != n || len(seen) != n {
			t.Fatalf("FSM holds %d commands (%d distinct), want %d", len(got), len(seen), n)
		}
		for i := 0; i < n; i++ {
			if !seen[uint64(i)] {
				t.Fatalf("command %d missing after restart", i)
			}
		}
	}

	fsm := &listFSM{}
	r, w := start(fsm, true)
	apply(r, 0, total/2)
	if err := r.Snapshot().Error(); err != nil {
		t.Fatalf("Snapshot = %v", err)
	}
	apply(r, total/2, total)
	first, _ := w.FirstIndex()
	if first <= 1 {
		t.Fatalf("FirstIndex() = %d after snapshot, want the log compacted", first)
	}
	stop(r, w)

	fsm2 := &listFSM{}
	r, w = start(fsm2, false)
	if err := r.Barrier(5 * time.Second).Error(); err != nil {
		t.Fatalf("Barrier = %v", err)
	}
	checkAll(fsm2, total)
	apply(r, total, total+20)
	checkAll(fsm2, total+20)
	stop(r, w)
}
