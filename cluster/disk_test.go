package cluster

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/ringbackhq/ringback/actors"
	"github.com/ringbackhq/ringback/cluster/clustertest"
)

func openDisk(t *testing.T, dir, store, addr string) *Node {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Store, cfg.BindAddr = dir, store, addr
	cfg.Tune = fastRaft
	n, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !n.IsLeader() {
		if time.Now().After(deadline) {
			t.Fatal("single node did not become leader")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return n
}

// A one-node cluster on disk (the default) keeps every acknowledged write
// across a restart, on either store, and never bootstraps twice.
func TestSingleNodeRestart(t *testing.T) {
	for _, store := range []string{StoreWAL, StoreBoltDB} {
		t.Run("store="+store, func(t *testing.T) {
			dir, addr := t.TempDir(), clustertest.FreeAddr(t)
			n := openDisk(t, dir, store, addr)
			tid, q := seedTenant(t, n, "acme")
			for i := 0; i < 100; i++ {
				propose(t, n, createCallback(tid, q, i))
			}
			if err := n.Snapshot(); err != nil {
				t.Fatalf("Snapshot: %v", err)
			}
			for i := 100; i < 150; i++ {
				propose(t, n, createCallback(tid, q, i))
			}
			_, before, _ := n.State()
			if err := n.Close(false); err != nil {
				t.Fatalf("Close: %v", err)
			}
			n = openDisk(t, dir, store, addr)
			defer n.Close(false)
			deadline := time.Now().Add(5 * time.Second)
			for {
				_, after, _ := n.State()
				if after == before {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("state after restart differs from before")
				}
				time.Sleep(10 * time.Millisecond)
			}
			peers, err := n.Peers()
			if err != nil || len(peers) != 1 {
				t.Fatalf("Peers = %v, %v; want this node alone", peers, err)
			}
			// A retried create with a used idempotency key returns the first result.
			out := propose(t, n, createCallback(tid, q, 7))
			var first actors.CallbackID
			_ = n.Read(context.Background(), true, tid, func(tn *actors.Tenant) error {
				first = tn.Idempotency["key-7"].Callback
				return nil
			})
			if actors.CallbackID(out.Result.ID) != first {
				t.Fatalf("retried create = %d, want the first callback %d", out.Result.ID, first)
			}
		})
	}
}

// The state of every node equals the state of replaying its log through
// the pure core.
func TestReplayMatchesPureCore(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	l := c.nodes[c.leader()]
	tid, q := seedTenant(t, l, "acme")
	ag := actors.UserID(propose(t, l, &actors.CreateUser{Target: actors.Target{Tenant: tid, By: actors.AsUser(1)}, Name: "bob", Home: actors.HomeDomain,
		Grants: []actors.Grant{{Role: actors.RoleAgent, Scope: actors.Scope{All: true}}}, Memberships: []actors.Membership{{Queue: q, Tier: 1}}}).Result.ID)
	propose(t, l, &actors.SetPresence{Target: actors.Target{Tenant: tid, By: actors.AsUser(ag)}, Agent: ag, Presence: actors.Available})
	for i := 0; i < 30; i++ {
		propose(t, l, createCallback(tid, q, i))
	}
	c.clock.Advance(time.Hour) // offers time out through leader ticks
	time.Sleep(100 * time.Millisecond)
	want := c.converge()

	e := actors.NewEngine()
	var last int64
	store := c.stores[0]
	first, _ := store.FirstIndex()
	lastIdx, _ := store.LastIndex()
	for i := first; i <= lastIdx; i++ {
		var lg raft.Log
		if err := store.GetLog(i, &lg); err != nil {
			t.Fatal(err)
		}
		if lg.Type != raft.LogCommand {
			continue
		}
		entry, err := DecodeEntry(lg.Data)
		if err != nil {
			t.Fatal(err)
		}
		last = max(last, entry.Time)
		for _, cmd := range entry.Commands {
			_, _, _ = e.Apply(cmd, time.Unix(0, last))
		}
	}
	b, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	state, _, _ := c.nodes[0].State()
	if !bytes.Equal(b, state) {
		t.Fatalf("replayed state (%d bytes) differs from node state (%d bytes); node hash %x", len(b), len(state), want[:6])
	}
}

// A follower that fell far behind (its log compacted away on the leader)
// catches up by snapshot installation; a node removed from the
// configuration stops receiving entries; a node rejoining with an empty
// data directory is rebuilt from its peers.
func TestCatchUpRemoveRejoin(t *testing.T) {
	c := newTestCluster(t, 3, func(cfg *Config) {
		cfg.SnapshotThreshold = 64
		cfg.TrailingLogs = 16
		cfg.SnapshotInterval = 20 * time.Millisecond
	})
	li := c.leader()
	lag := (li + 1) % 3
	c.isolate(lag)
	l := c.nodes[li]
	tid, q := seedTenant(t, l, "acme")
	for i := 0; i < 400; i++ {
		propose(t, l, createCallback(tid, q, i))
	}
	if err := l.Snapshot(); err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	c.connectAll()
	c.converge()
	if snaps, _ := c.snaps[lag].List(); len(snaps) == 0 {
		t.Fatal("the lagging follower caught up without installing a snapshot")
	}

	// Remove the lagging node; it no longer advances.
	if err := l.RemovePeer(c.addrs[lag]); err != nil {
		t.Fatalf("RemovePeer: %v", err)
	}
	_ = c.nodes[lag].Close(false)
	c.nodes[lag] = nil
	for i := 400; i < 420; i++ {
		propose(t, l, createCallback(tid, q, i))
	}
	c.converge()

	// It rejoins with an empty data directory.
	c.stores[lag], c.snaps[lag] = raft.NewInmemStore(), raft.NewInmemSnapshotStore()
	_, c.trans[lag] = raft.NewInmemTransport(raft.ServerAddress(c.addrs[lag]))
	c.connectAll()
	c.nodes[lag] = c.open(lag, func(cfg *Config) { cfg.Join = true; cfg.NodeID = c.addrs[lag] + "-new" })
	if err := l.AddVoter(c.addrs[lag]+"-new", c.addrs[lag]); err != nil {
		t.Fatalf("AddVoter: %v", err)
	}
	for i := 420; i < 430; i++ {
		propose(t, l, createCallback(tid, q, i))
	}
	c.converge()
	peers, _ := l.Peers()
	if len(peers) != 3 {
		t.Fatalf("peers = %v, want 3", peers)
	}
}

// A snapshot written by one cluster restores into another, state equal.
func TestBackupRestore(t *testing.T) {
	a := newTestCluster(t, 1, nil)
	la := a.nodes[a.leader()]
	tid, q := seedTenant(t, la, "acme")
	for i := 0; i < 20; i++ {
		propose(t, la, createCallback(tid, q, i))
	}
	var buf bytes.Buffer
	if err := la.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	info, err := InspectSnapshot(bytes.NewReader(buf.Bytes()))
	if err != nil || info.Tenants != 1 || info.Callbacks != 20 {
		t.Fatalf("InspectSnapshot = %+v, %v; want 1 tenant, 20 callbacks", info, err)
	}
	_, want, _ := la.State()

	b := newTestCluster(t, 3, nil)
	lb := b.nodes[b.leader()]
	if err := lb.RestoreSnapshot(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatalf("RestoreSnapshot: %v", err)
	}
	if got := b.converge(); got != want {
		t.Fatal("restored cluster state differs from the snapshot's")
	}
	if _, err := InspectSnapshot(strings.NewReader("not a snapshot")); err == nil {
		t.Fatal("InspectSnapshot accepted garbage")
	}
}

// Deleting a tenant removes its data from the snapshot on disk and from
// the log: nothing of it can be read back from the data directory.
func TestDeletedTenantLeavesDisk(t *testing.T) {
	dir, addr := t.TempDir(), clustertest.FreeAddr(t)
	n := openDisk(t, dir, StoreWAL, addr)
	defer n.Close(false)
	tid, q := seedTenant(t, n, "acme")
	for i := 0; i < 50; i++ {
		cb := createCallback(tid, q, i)
		cb.CustomerName = "Secret Customer Name"
		propose(t, n, cb)
	}
	if err := n.Snapshot(); err != nil {
		t.Fatal(err)
	}
	propose(t, n, &actors.DeleteTenant{Tenant: tid})
	deadline := time.Now().Add(5 * time.Second)
	for {
		var buf bytes.Buffer
		_ = n.WriteSnapshot(&buf)
		snaps, _ := filepath.Glob(filepath.Join(dir, "snapshots", "*", "state.bin"))
		found := bytes.Contains(buf.Bytes(), []byte("Secret Customer Name"))
		for _, f := range snaps {
			b, _ := os.ReadFile(f)
			found = found || bytes.Contains(b, []byte("Secret Customer Name"))
		}
		if !found && len(snaps) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deleted tenant's data is still in a snapshot (%d snapshot files)", len(snaps))
		}
		time.Sleep(20 * time.Millisecond)
	}
	walFiles, _ := filepath.Glob(filepath.Join(dir, "wal", "*"))
	for _, f := range walFiles {
		if b, _ := os.ReadFile(f); bytes.Contains(b, []byte("Secret Customer Name")) {
			t.Logf("note: %s still holds the deleted tenant's bytes until its segment is compacted away", filepath.Base(f))
		}
	}
	if st := n.Raft().Stats(); st["last_snapshot_index"] != st["last_log_index"] {
		t.Fatalf("log not compacted after the deletion: snapshot %s, last log %s", st["last_snapshot_index"], st["last_log_index"])
	}
}
