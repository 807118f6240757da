package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/ringbackhq/ringback/actors"
	"github.com/ringbackhq/ringback/cluster/clustertest"
	"github.com/ringbackhq/ringback/wal"
)

// Disk faults under a cluster node.

// A failed fsync under the leader: the create it was writing is never
// acknowledged, the error says why (the WAL's i/o error), and the node
// accepts no write after it. hashicorp/raft treats a failed write of the
// current term as fatal (it panics in setCurrentTerm): the node stops —
// fail-stop, never "continue as if written" — and is restarted over what
// the disk durably holds. Because that stop takes the whole process down,
// the scenario runs in a child process (this test binary, re-executed),
// and the parent checks what it printed and how it ended.
func TestFaultFsyncFailStop(t *testing.T) {
	if os.Getenv("RINGBACK_FAULT_CHILD") == "fsync" {
		fsyncChild(t)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run", "^TestFaultFsyncFailStop$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "RINGBACK_FAULT_CHILD=fsync")
	out, err := cmd.CombinedOutput()
	text := string(out)
	logChild := func() { t.Logf("child output:\n%s", text) }
	if strings.Contains(text, "CHILD acknowledged") {
		logChild()
		t.Fatal("a create was acknowledged although its fsync failed")
	}
	if !strings.Contains(text, "CHILD first write refused:") || !strings.Contains(text, "injected fault") {
		logChild()
		t.Fatalf("the refused write did not say why (want the WAL's injected i/o error); child: %v", err)
	}
	stopped := strings.Contains(text, "panic: failed to save current term") && strings.Contains(text, "wal: failed")
	refused := strings.Contains(text, "CHILD later write refused:") && strings.Contains(text, "CHILD node stayed down for writes")
	if !stopped && !refused {
		logChild()
		t.Fatalf("after a failed fsync the node neither stopped naming the WAL error nor kept refusing writes; child: %v", err)
	}
	t.Logf("fail-stop by panic naming the WAL error: %v", stopped)
}

// memWALCluster is a test cluster whose nodes keep their log and stable
// store in a WAL on a MemFS each.
func memWALCluster(t *testing.T, n int) (*testCluster, map[string]*wal.MemFS) {
	fss := map[string]*wal.MemFS{}
	c := newTestCluster(t, n, func(cfg *Config) {
		fs := wal.NewMemFS()
		w, err := wal.Open("/wal", wal.WithFS(fs), wal.WithPreallocate(false), wal.WithSegmentSize(64<<10))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = w.Close() })
		cfg.LogStore, cfg.StableStore = w, w
		fss[cfg.NodeID] = fs
	})
	return c, fss
}

func fsyncChild(t *testing.T) {
	c, fss := memWALCluster(t, 3)
	li := c.leader()
	l := c.nodes[li]
	tid, q := seedTenant(t, l, "acme")
	c.converge()
	fss[c.addrs[li]].Inject(wal.Fault{Op: wal.OpSync})
	try := func(i int) error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		out, err := l.Propose(ctx, createCallback(tid, q, i))
		if err == nil {
			err = out.Err
		}
		if err == nil {
			fmt.Printf("CHILD acknowledged create %d\n", i)
		}
		return err
	}
	err := try(1)
	fmt.Printf("CHILD first write refused: %v\n", err)
	if err == nil {
		return
	}
	time.Sleep(100 * time.Millisecond)
	err = try(2)
	fmt.Printf("CHILD later write refused: %v\n", err)
	// The others go on; the failed node either stopped the process (raft
	// panics on the next term change) or must keep refusing writes.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if l.IsLeader() {
			if try(3) == nil {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Println("CHILD node stayed down for writes")
}

// A node whose WAL is damaged in the middle of the log refuses to start,
// and the error names the file and the offset; the operator removes it,
// empties its data directory and it rejoins, rebuilt from its peers.
func TestFaultCorruptWALRefusesStartAndRebuild(t *testing.T) {
	var addrs, dirs []string
	for i := 0; i < 3; i++ {
		addrs = append(addrs, clustertest.FreeAddr(t))
		dirs = append(dirs, t.TempDir())
	}
	config := func(i int) Config {
		cfg := DefaultConfig()
		cfg.NodeID, cfg.BindAddr, cfg.DataDir, cfg.Peers = addrs[i], addrs[i], dirs[i], addrs
		cfg.ApplyTimeout = 2 * time.Second
		cfg.Tune = steadyRaft // real TCP on a loaded machine: 50 ms timeouts churn
		return cfg
	}
	c := &testCluster{t: t, addrs: addrs, clock: &testClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}}
	for i := range addrs {
		cfg := config(i)
		cfg.Clock = c.clock.Now
		n, err := Open(cfg)
		if err != nil {
			t.Fatalf("Open(node%d): %v", i, err)
		}
		c.nodes = append(c.nodes, n)
	}
	t.Cleanup(func() {
		for _, n := range c.nodes {
			if n != nil {
				_ = n.Close(false)
			}
		}
	})
	li := c.leader()
	l := c.nodes[li]
	tid, q := seedTenant(t, l, "acme")
	for i := 0; i < 200; i++ {
		proposeRetry(t, c, createCallback(tid, q, i))
	}
	c.converge()
	f := (li + 1) % 3
	if err := c.nodes[f].Close(false); err != nil {
		t.Fatal(err)
	}
	c.nodes[f] = nil

	// Damage one byte in the middle of the written part of the first segment.
	walDir := filepath.Join(dirs[f], "wal")
	ents, err := os.ReadDir(walDir)
	if err != nil {
		t.Fatal(err)
	}
	var segs []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".wal") {
			segs = append(segs, e.Name())
		}
	}
	sort.Strings(segs)
	if len(segs) == 0 {
		t.Fatalf("no segment in %s: %v", walDir, ents)
	}
	path := filepath.Join(walDir, segs[0])
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	end := len(bytes.TrimRight(b, "\x00"))
	off := end / 2
	b[off] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}

	_, err = Open(config(f))
	if err == nil {
		t.Fatalf("a node with a corrupt WAL (%s, byte %d of %d) started", segs[0], off, end)
	}
	var ce *wal.CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, wal.ErrCorrupt) {
		t.Fatalf("Open over a corrupt WAL = %v, want a *wal.CorruptError", err)
	}
	if ce.File != segs[0] || ce.Offset <= 0 || ce.Offset > int64(off) || !strings.Contains(err.Error(), segs[0]) || !strings.Contains(err.Error(), fmt.Sprintf("offset %d", ce.Offset)) {
		t.Fatalf("error = %q (file %q offset %d), want it to name %s and an offset at or before %d", err, ce.File, ce.Offset, segs[0], off)
	}
	t.Logf("refused to start: %v", err)

	// Rebuild: remove it, empty its data directory, rejoin.
	if err := l.RemovePeer(addrs[f]); err != nil {
		t.Fatalf("RemovePeer: %v", err)
	}
	if err := os.RemoveAll(dirs[f]); err != nil {
		t.Fatal(err)
	}
	cfg := config(f)
	cfg.Clock, cfg.Join = c.clock.Now, true
	n, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open(empty, join): %v", err)
	}
	c.nodes[f] = n
	if err := l.AddVoter(addrs[f], addrs[f]); err != nil {
		t.Fatalf("AddVoter: %v", err)
	}
	for i := 200; i < 210; i++ {
		proposeRetry(t, c, createCallback(tid, q, i))
	}
	c.converge()
	var k int
	_ = n.Read(context.Background(), false, tid, func(tn *actors.Tenant) error {
		tn.EachCallback(actors.AsUser(1), func(actors.Callback) { k++ })
		return nil
	})
	if k != 210 {
		t.Fatalf("rebuilt node holds %d callbacks, want 210", k)
	}
}

func steadyRaft(rc *raft.Config) {
	rc.HeartbeatTimeout, rc.ElectionTimeout, rc.LeaderLeaseTimeout = 300*time.Millisecond, 300*time.Millisecond, 300*time.Millisecond
	rc.CommitTimeout = 5 * time.Millisecond
}

// proposeRetry proposes an idempotent command at whichever node leads
// until it is acknowledged.
func proposeRetry(t *testing.T, c *testCluster, cmd actors.Command) actors.Outcome {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		out, err := c.nodes[c.leader()].Propose(ctx, cmd)
		cancel()
		if err == nil && out.Err == nil {
			return out
		}
		if err == nil || time.Now().After(deadline) {
			t.Fatalf("Propose(%T) = %v, %v", cmd, err, out.Err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
