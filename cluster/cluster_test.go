package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/ringbackhq/ringback/actors"
)

// testCluster is n nodes in one process on raft's in-memory transport and
// stores, with fast timeouts.
type testCluster struct {
	t      *testing.T
	nodes  []*Node
	trans  []*raft.InmemTransport
	stores []*raft.InmemStore
	snaps  []*raft.InmemSnapshotStore
	addrs  []string
	clock  *testClock
}

// testClock is the leaders' clock in tests; it moves only when told.
type testClock struct {
	mu  sync.Mutex
	now time.Time // guarded by mu
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fastRaft shortens raft's timeouts for tests, yet leaves room for a
// loaded 2-core machine (go test runs packages side by side): too short,
// and leadership flaps while a test assumes a stable leader.
func fastRaft(rc *raft.Config) {
	rc.HeartbeatTimeout = 150 * time.Millisecond
	rc.ElectionTimeout = 150 * time.Millisecond
	rc.LeaderLeaseTimeout = 100 * time.Millisecond
	rc.CommitTimeout = 2 * time.Millisecond
}

func newTestCluster(t *testing.T, n int, tune func(*Config)) *testCluster {
	t.Helper()
	c := &testCluster{t: t, clock: &testClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}}
	for i := 0; i < n; i++ {
		addr, tr := raft.NewInmemTransport(raft.ServerAddress(fmt.Sprintf("node%d", i)))
		c.addrs = append(c.addrs, string(addr))
		c.trans = append(c.trans, tr)
		c.stores = append(c.stores, raft.NewInmemStore())
		c.snaps = append(c.snaps, raft.NewInmemSnapshotStore())
	}
	c.connectAll()
	for i := 0; i < n; i++ {
		c.nodes = append(c.nodes, c.open(i, tune))
	}
	t.Cleanup(func() {
		for _, nd := range c.nodes {
			if nd != nil {
				_ = nd.Close(false)
			}
		}
	})
	return c
}

func (c *testCluster) open(i int, tune func(*Config)) *Node {
	c.t.Helper()
	cfg := DefaultConfig()
	cfg.NodeID = c.addrs[i]
	cfg.Transport, cfg.LogStore, cfg.StableStore, cfg.SnapshotStore = c.trans[i], c.stores[i], c.stores[i], c.snaps[i]
	cfg.Peers = c.addrs
	cfg.Clock = c.clock.Now
	cfg.TickInterval = 5 * time.Millisecond
	cfg.ApplyTimeout = 2 * time.Second
	cfg.Tune = fastRaft
	if tune != nil {
		tune(&cfg)
	}
	n, err := Open(cfg)
	if err != nil {
		c.t.Fatalf("Open(node%d): %v", i, err)
	}
	return n
}

func (c *testCluster) connectAll() {
	for i, a := range c.trans {
		for j, b := range c.trans {
			if i != j {
				a.Connect(raft.ServerAddress(c.addrs[j]), b)
			}
		}
	}
}

// isolate cuts node i off from every other node, both ways.
func (c *testCluster) isolate(i int) {
	c.trans[i].DisconnectAll()
	for j, tr := range c.trans {
		if j != i {
			tr.Disconnect(raft.ServerAddress(c.addrs[i]))
		}
	}
}

func (c *testCluster) leader(except ...int) int {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for i, n := range c.nodes {
			skip := n == nil
			for _, e := range except {
				skip = skip || e == i
			}
			if !skip && n.IsLeader() {
				return i
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.t.Fatal("no leader elected")
	return -1
}

// converge waits until every running node applied the same index, and
// checks their state hashes agree.
func (c *testCluster) converge() [32]byte {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var idx []uint64
		var hashes [][32]byte
		for _, n := range c.nodes {
			if n == nil {
				continue
			}
			_, h, err := n.State()
			if err != nil {
				c.t.Fatal(err)
			}
			idx = append(idx, n.AppliedIndex())
			hashes = append(hashes, h)
		}
		same := true
		for i := range idx {
			same = same && idx[i] == idx[0] && hashes[i] == hashes[0]
		}
		if same {
			return hashes[0]
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("nodes did not converge: applied %v", idx)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func propose(t *testing.T, n *Node, cmd actors.Command) actors.Outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := n.Propose(ctx, cmd)
	if err != nil {
		t.Fatalf("Propose(%T) = %v", cmd, err)
	}
	if out.Err != nil {
		t.Fatalf("Propose(%T) refused: %v", cmd, out.Err)
	}
	return out
}

// seedTenant creates a tenant with a queue and returns their ids.
func seedTenant(t *testing.T, n *Node, name string) (actors.TenantID, actors.QueueID) {
	t.Helper()
	tid := actors.TenantID(propose(t, n, &actors.CreateTenant{Profile: actors.Profile{CompanyName: name,
		AdminUsername: "admin", AdminEmail: "admin@" + name + ".test", AdminFirstName: "A"}}).Result.ID)
	q := actors.QueueID(propose(t, n, &actors.CreateQueue{Target: actors.Target{Tenant: tid, By: actors.AsUser(1)}, Name: "q", Domain: actors.HomeDomain}).Result.ID)
	return tid, q
}

func createCallback(tid actors.TenantID, q actors.QueueID, i int) *actors.CreateCallback {
	return &actors.CreateCallback{Target: actors.Target{Tenant: tid, By: actors.AsUser(1)}, Queue: q,
		CustomerName: "Customer", Numbers: []string{fmt.Sprintf("+1555%07d", i)}, IdempotencyKey: fmt.Sprintf("key-%d", i)}
}

func TestThreeNodesReplicateAndAgree(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	l := c.nodes[c.leader()]
	tid, q := seedTenant(t, l, "acme")
	for i := 0; i < 50; i++ {
		propose(t, l, createCallback(tid, q, i))
	}
	c.converge()
	// Every node answers the same read locally.
	for i, n := range c.nodes {
		var waiting int
		err := n.Read(context.Background(), false, tid, func(tn *actors.Tenant) error {
			reps, err := tn.Reports(actors.AsUser(1), c.clock.Now())
			for _, r := range reps {
				waiting += r.Waiting
			}
			return err
		})
		if err != nil || waiting != 50 {
			t.Errorf("node%d: waiting = %d, %v; want 50", i, waiting, err)
		}
	}
}

func TestFollowerRefusesWrites(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	li := c.leader()
	f := c.nodes[(li+1)%3]
	if f.IsLeader() {
		t.Skip("leadership moved under load; the refusal is not testable this run")
	}
	if _, err := f.Propose(context.Background(), &actors.Tick{}); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("follower Propose = %v, want ErrNotLeader", err)
	}
	if err := f.Read(context.Background(), true, 1, func(*actors.Tenant) error { return nil }); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("follower linearizable Read = %v, want ErrNotLeader", err)
	}
}

// An isolated old leader acknowledges nothing; the majority elects a new
// leader and goes on; after healing every node has the same state.
func TestPartitionedLeaderAcknowledgesNothing(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	old := c.leader()
	tid, q := seedTenant(t, c.nodes[old], "acme")
	c.isolate(old)

	acked := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		out, err := c.nodes[old].Propose(ctx, createCallback(tid, q, 999))
		if err == nil {
			err = out.Err
		}
		acked <- err
	}()
	if err := <-acked; err == nil {
		t.Fatal("the isolated old leader acknowledged a write")
	}
	// A linearizable read on the old leader is refused too.
	if err := c.nodes[old].Read(context.Background(), true, tid, func(*actors.Tenant) error { return nil }); err == nil {
		t.Fatal("the isolated old leader served a linearizable read")
	}

	nl := c.leader(old)
	for i := 0; i < 20; i++ {
		propose(t, c.nodes[nl], createCallback(tid, q, i))
	}
	c.connectAll()
	c.converge()
	var n int
	_ = c.nodes[old].Read(context.Background(), false, tid, func(tn *actors.Tenant) error {
		tn.EachCallback(actors.AsUser(1), func(actors.Callback) { n++ })
		return nil
	})
	// The unacknowledged write may or may not have committed; the 20
	// acknowledged ones must all be there.
	if n < 20 || n > 21 {
		t.Fatalf("callbacks after healing = %d, want 20 or 21", n)
	}
}

// Deadlines fire through ticks the leader proposes from its own clock.
func TestLeaderProposesTicks(t *testing.T) {
	c := newTestCluster(t, 1, nil)
	l := c.nodes[c.leader()]
	tid, q := seedTenant(t, l, "acme")
	cb := createCallback(tid, q, 1)
	cb.ScheduledAt = c.clock.Now().Add(time.Minute)
	id := actors.CallbackID(propose(t, l, cb).Result.ID)
	status := func() actors.CallbackStatus {
		var s actors.CallbackStatus
		_ = l.Read(context.Background(), true, tid, func(tn *actors.Tenant) error {
			c, err := tn.Callback(actors.AsUser(1), id)
			s = c.Status
			return err
		})
		return s
	}
	if s := status(); s != actors.Scheduled {
		t.Fatalf("status = %v, want scheduled", s)
	}
	c.clock.Advance(2 * time.Minute)
	deadline := time.Now().Add(5 * time.Second)
	for status() != actors.Queued {
		if time.Now().After(deadline) {
			t.Fatal("the scheduled callback never became due")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
