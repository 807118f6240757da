package cluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/ringbackhq/ringback/actors"
	"github.com/ringbackhq/ringback/wal"
)

// Node is one Raft server running the routing core.
type Node struct {
	cfg   Config
	raft  *raft.Raft
	fsm   *FSM
	trans raft.Transport
	prop  *Proposer

	closers []func() error
	// startIndex is the last log index present when the node opened: until
	// it is applied, the local state is older than what this node knew.
	startIndex uint64

	stop chan struct{}
	wg   sync.WaitGroup // the ticker
	once sync.Once
}

// Open starts a node: opens its stores, bootstraps when the configuration
// says so and the node has no state, and starts raft, the proposer and the
// deadline ticker.
func Open(cfg Config) (*Node, error) {
	if cfg.AdvertiseAddr == "" {
		cfg.AdvertiseAddr = cfg.BindAddr
	}
	if cfg.NodeID == "" {
		cfg.NodeID = cfg.AdvertiseAddr
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rc, err := cfg.raftConfig()
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, fsm: NewFSM(), stop: make(chan struct{})}
	pl := newPlaces()
	n.fsm.onEvents, n.fsm.applying, n.fsm.hasOutcome = cfg.OnEvents, pl.applying, pl.applied
	fail := func(err error) (*Node, error) {
		n.closeStores()
		n.fsm.Close()
		return nil, err
	}
	logs, stable, snaps, err := n.openStores()
	if err != nil {
		return fail(err)
	}
	n.trans = cfg.Transport
	if n.trans == nil {
		addr, err := net.ResolveTCPAddr("tcp", cfg.AdvertiseAddr)
		if err != nil {
			return fail(fmt.Errorf("cluster: advertise address: %w", err))
		}
		t, err := raft.NewTCPTransportWithLogger(cfg.BindAddr, addr, 3, 10*time.Second, rc.Logger)
		if err != nil {
			return fail(fmt.Errorf("cluster: listen %s: %w", cfg.BindAddr, err))
		}
		n.trans = t
		n.closers = append(n.closers, t.Close)
	}
	if n.startIndex, err = logs.LastIndex(); err != nil {
		return fail(fmt.Errorf("cluster: read log: %w", err))
	}
	// raft restores the newest snapshot before it applies any entry, and
	// reports entries applied as soon as it hands them to the FSM; the
	// FSM's own count starts from that snapshot.
	if metas, err := snaps.List(); err == nil && len(metas) > 0 {
		n.fsm.applied.Store(metas[0].Index)
	}
	has, err := raft.HasExistingState(logs, stable, snaps)
	if err != nil {
		return fail(fmt.Errorf("cluster: inspect state: %w", err))
	}
	if !has && !cfg.Join {
		if err := raft.BootstrapCluster(rc, logs, stable, snaps, n.trans, n.bootstrapConfiguration()); err != nil {
			return fail(fmt.Errorf("cluster: bootstrap: %w", err))
		}
	}
	r, err := raft.NewRaft(rc, n.fsm, logs, stable, snaps, n.trans)
	if err != nil {
		return fail(fmt.Errorf("cluster: start raft: %w", err))
	}
	n.raft = r
	n.prop = newProposer(r, cfg, pl)
	n.prop.took = n.fsm.timings.propose
	n.wg.Add(3)
	go n.tickLoop()
	go n.announceLoop()
	go n.purgeLoop()
	return n, nil
}

// bootstrapConfiguration is this node alone, or every configured peer
// (identified by address) when peers are given.
func (n *Node) bootstrapConfiguration() raft.Configuration {
	if len(n.cfg.Peers) == 0 {
		return raft.Configuration{Servers: []raft.Server{{ID: raft.ServerID(n.cfg.NodeID), Address: n.trans.LocalAddr()}}}
	}
	var c raft.Configuration
	for _, p := range n.cfg.Peers {
		c.Servers = append(c.Servers, raft.Server{ID: raft.ServerID(p), Address: raft.ServerAddress(p)})
	}
	return c
}

func (n *Node) openStores() (raft.LogStore, raft.StableStore, raft.SnapshotStore, error) {
	c := n.cfg
	logs, stable, snaps := c.LogStore, c.StableStore, c.SnapshotStore
	if logs == nil || stable == nil {
		if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
			return nil, nil, nil, fmt.Errorf("cluster: data dir: %w", err)
		}
		switch c.Store {
		case StoreBoltDB:
			b, err := raftboltdb.NewBoltStore(filepath.Join(c.DataDir, "raft.db"))
			if err != nil {
				return nil, nil, nil, fmt.Errorf("cluster: open boltdb: %w", err)
			}
			n.closers = append(n.closers, b.Close)
			logs, stable = b, b
		default:
			syncTimes := n.fsm.timings.walSync
			w, err := wal.Open(filepath.Join(c.DataDir, "wal"), wal.WithOnSync(func(d time.Duration) { syncTimes.Observe(d.Seconds()) }))
			if err != nil {
				return nil, nil, nil, fmt.Errorf("cluster: open wal: %w", err)
			}
			n.closers = append(n.closers, w.Close)
			logs, stable = w, w
		}
	}
	if snaps == nil {
		// One snapshot is kept: a deleted tenant's data must not survive in
		// an older one.
		s, err := raft.NewFileSnapshotStoreWithLogger(c.DataDir, 1, newHCLogger(c.Logger))
		if err != nil {
			return nil, nil, nil, fmt.Errorf("cluster: snapshot store: %w", err)
		}
		snaps = s
	}
	return logs, stable, snaps, nil
}

func (n *Node) closeStores() {
	for i := len(n.closers) - 1; i >= 0; i-- {
		_ = n.closers[i]()
	}
	n.closers = nil
}

// Close stops the node. With leave, a leader first hands leadership to
// another voter and the node removes itself from the configuration.
func (n *Node) Close(leave bool) error {
	var err error
	n.once.Do(func() {
		close(n.stop)
		n.wg.Wait()
		if leave {
			err = n.leave()
		}
		if e := n.raft.Shutdown().Error(); e != nil && err == nil {
			err = e
		}
		n.prop.close()
		n.closeStores()
		n.fsm.Close()
	})
	return err
}

// leave removes this node from the configuration when it leads (raft then
// elects another leader among the rest). A follower is removed by the
// leader when asked through RemovePeer.
func (n *Node) leave() error {
	if n.raft.State() != raft.Leader {
		return nil
	}
	if peers, _ := n.Peers(); len(peers) < 2 {
		return nil // the only voter: nothing to leave
	}
	if err := n.RemovePeer(n.cfg.NodeID); err != nil {
		return fmt.Errorf("cluster: leave: %w", err)
	}
	return nil
}

// announceLoop: whenever this node becomes leader it announces its HTTP
// address through the log.
func (n *Node) announceLoop() {
	defer n.wg.Done()
	for {
		select {
		case <-n.stop:
			return
		case leader := <-n.raft.LeaderCh():
			if !leader || n.cfg.HTTPAddr == "" {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ApplyTimeout)
			_, _ = n.prop.Propose(ctx, &Announce{ID: n.cfg.NodeID, HTTPAddr: n.cfg.HTTPAddr})
			cancel()
		}
	}
}

// purgeLoop: after a tenant is deleted, this node snapshots at once and
// keeps no trailing log, so the tenant's data leaves the snapshots (only
// the newest is kept) and the log; the WAL drops whole segments, so the
// last bytes go when their segment is compacted away.
func (n *Node) purgeLoop() {
	defer n.wg.Done()
	for {
		select {
		case <-n.stop:
			return
		case <-n.fsm.purge:
		}
		rc := n.raft.ReloadableConfig()
		keep := rc.TrailingLogs
		rc.TrailingLogs = 0
		if err := n.raft.ReloadConfig(rc); err != nil {
			n.cfg.Logger.Warn("purge: reload config", "err", err)
			continue
		}
		if err := n.raft.Snapshot().Error(); err != nil {
			n.cfg.Logger.Warn("purge: snapshot after a tenant deletion", "err", err)
		}
		rc.TrailingLogs = keep
		if err := n.raft.ReloadConfig(rc); err != nil {
			n.cfg.Logger.Warn("purge: restore config", "err", err)
		}
	}
}

// LeaderHTTP is the HTTP address of the current leader, when known.
func (n *Node) LeaderHTTP() string {
	_, id := n.raft.LeaderWithID()
	if id == "" {
		return ""
	}
	return n.fsm.HTTPAddr(string(id))
}

// tickLoop, on the leader, proposes a Tick when the earliest deadline of
// the applied state has passed.
func (n *Node) tickLoop() {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.TickInterval)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		next := n.fsm.NextDeadline()
		if next.IsZero() || n.raft.State() != raft.Leader || n.cfg.Clock().Before(next) {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ApplyTimeout)
		_, _ = n.prop.Propose(ctx, &actors.Tick{})
		cancel()
	}
}

// Propose replicates a command and returns its outcome (result or
// refusal) once applied here; its events go to Config.OnEvents. On a
// follower it returns ErrNotLeader; ErrUnknownOutcome means it may still
// commit.
func (n *Node) Propose(ctx context.Context, cmd actors.Command) (actors.Outcome, error) {
	if n.raft.State() != raft.Leader {
		return actors.Outcome{}, ErrNotLeader
	}
	return n.prop.Propose(ctx, cmd)
}

// Read runs fn on a tenant's state. A linearizable read first confirms
// leadership and waits until everything committed before it is applied.
func (n *Node) Read(ctx context.Context, linearizable bool, tenant actors.TenantID, fn func(*actors.Tenant) error) error {
	if linearizable {
		if n.raft.State() != raft.Leader {
			return ErrNotLeader
		}
		if err := n.raft.VerifyLeader().Error(); err != nil {
			return fmt.Errorf("%w: %v", ErrNotLeader, err)
		}
		if err := n.raft.Barrier(n.cfg.ApplyTimeout).Error(); err != nil {
			return fmt.Errorf("cluster: barrier: %w", err)
		}
	}
	return n.fsm.Query(tenant, fn)
}

// Tenants lists tenant summaries from the local state (all, or the one
// configured for host).
func (n *Node) Tenants(host string) []actors.TenantSummary { return n.fsm.Tenants(host) }

// Leader returns the leader's Raft address and ID, empty when unknown.
func (n *Node) Leader() (string, string) {
	a, id := n.raft.LeaderWithID()
	return string(a), string(id)
}

// Ready reports whether the node has applied everything its log held when
// it started, so its local reads are no older than before a restart.
func (n *Node) Ready() bool { return n.fsm.applied.Load() >= n.startIndex }

// IsLeader reports whether this node leads.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// ID is this node's server ID.
func (n *Node) ID() string { return n.cfg.NodeID }

// Peer is one member of the configuration.
type Peer struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	Voter   bool   `json:"voter"`
	Leader  bool   `json:"leader"`
}

// Peers lists the current configuration.
func (n *Node) Peers() ([]Peer, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	_, leader := n.raft.LeaderWithID()
	var out []Peer
	for _, s := range f.Configuration().Servers {
		out = append(out, Peer{ID: string(s.ID), Address: string(s.Address), Voter: s.Suffrage == raft.Voter, Leader: s.ID == leader})
	}
	return out, nil
}

// AddVoter adds a server (run on the leader).
func (n *Node) AddVoter(id, addr string) error {
	return n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, n.cfg.ApplyTimeout).Error()
}

// RemovePeer removes a server (run on the leader).
func (n *Node) RemovePeer(id string) error {
	return n.raft.RemoveServer(raft.ServerID(id), 0, n.cfg.ApplyTimeout).Error()
}

// TransferLeadership hands leadership to another voter.
func (n *Node) TransferLeadership() error { return n.raft.LeadershipTransfer().Error() }

// State returns the encoded state of the applied log and its hash.
func (n *Node) State() ([]byte, [32]byte, error) { return n.fsm.State() }

// AppliedIndex is the index of the last applied entry.
func (n *Node) AppliedIndex() uint64 { return n.raft.AppliedIndex() }

// Raft exposes the raft instance (metrics, tests).
func (n *Node) Raft() *raft.Raft { return n.raft }

// Snapshot asks raft to take a snapshot now.
func (n *Node) Snapshot() error { return n.raft.Snapshot().Error() }
