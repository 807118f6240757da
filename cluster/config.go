package cluster

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/hashicorp/raft"
	"github.com/ringbackhq/ringback/actors"
)

// Store names the log and stable store a node uses.
const (
	StoreWAL    = "wal"    // our segmented write-ahead log (default)
	StoreBoltDB = "boltdb" // hashicorp/raft-boltdb/v2
)

// Config is a node's configuration. Start from DefaultConfig.
type Config struct {
	NodeID   string // unique and stable; defaults to BindAddr
	DataDir  string // holds log/, snapshots/ and raft.db or wal/
	BindAddr string // Raft TCP address, host:port on this machine
	// AdvertiseAddr is the Raft address peers dial (a proxy in front of
	// BindAddr, say); empty means BindAddr.
	AdvertiseAddr string
	Store         string // StoreWAL or StoreBoltDB
	HTTPAddr      string // where this node serves the API, announced when it leads

	// OnEvents receives the events of every applied command, on every
	// node, on the apply goroutine: it must not block, and must copy what
	// it keeps (the slice is reused once it returns). They are the only
	// way to events: the outcomes proposers get carry none.
	OnEvents func([]actors.Event)

	// Bootstrap: with no peers, a node with no existing state bootstraps a
	// one-node cluster of itself. With peers (Raft addresses of every
	// voter, this node included), each node bootstraps the same
	// configuration once; a node with existing state never bootstraps.
	Peers []string
	// Join: this node joins an existing cluster (a leader adds it with
	// AddVoter); it never bootstraps, even with an empty data directory.
	Join bool

	SnapshotThreshold uint64        // entries between snapshots
	SnapshotInterval  time.Duration // how often to check the threshold
	TrailingLogs      uint64        // entries kept after a snapshot
	MaxBatch          int           // commands per log entry (group commit)
	// MaxInflight: entries proposed that the FSM has not started to apply
	// (an entry being applied has given its place to the next one, see
	// places); more proposals wait and batch. One is best with
	// hashicorp/raft: its leader loop picks at random between taking a
	// new entry and committing the ones written, so a second entry in
	// flight often holds the first one's commit (and its offers) back by a
	// whole disk sync. Measured with
	// BenchmarkAPIOffer and BenchmarkCluster: one in flight lowers the
	// offer p99 at 10,000 creates/s and costs no throughput, on one node
	// or three.
	MaxInflight      int
	MaxAppendEntries int           // raft entries per append / apply batch
	ApplyTimeout     time.Duration // how long a proposal may wait to be enqueued
	TickInterval     time.Duration // how often the leader checks deadlines

	Clock  func() time.Time // the leader's clock; time.Now unless a test replaces it
	Logger *slog.Logger

	// For tests: replace the network or the stores, or tune raft.
	Transport     raft.Transport
	LogStore      raft.LogStore
	StableStore   raft.StableStore
	SnapshotStore raft.SnapshotStore
	Tune          func(*raft.Config)
}

// DefaultConfig is a one-node cluster on local disk with group commit.
func DefaultConfig() Config {
	return Config{
		BindAddr:          "127.0.0.1:7000",
		Store:             StoreWAL,
		SnapshotThreshold: 16384,
		SnapshotInterval:  30 * time.Second,
		TrailingLogs:      10240,
		MaxBatch:          1024,
		MaxInflight:       1,
		MaxAppendEntries:  256,
		ApplyTimeout:      10 * time.Second,
		TickInterval:      20 * time.Millisecond,
		Clock:             time.Now,
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	bad := func(field, why string) error { return fmt.Errorf("cluster: config %s: %s", field, why) }
	switch {
	case c.DataDir == "" && (c.LogStore == nil || c.SnapshotStore == nil):
		return bad("DataDir", "is required")
	case c.Transport == nil && c.BindAddr == "":
		return bad("BindAddr", "is required")
	case c.Store != StoreWAL && c.Store != StoreBoltDB:
		return bad("Store", `must be "wal" or "boltdb"`)
	case c.MaxBatch < 1 || c.MaxBatch > 65536:
		return bad("MaxBatch", "must be between 1 and 65536")
	case c.MaxInflight < 1 || c.MaxInflight > 1024:
		return bad("MaxInflight", "must be between 1 and 1024")
	case c.MaxAppendEntries < 1 || c.MaxAppendEntries > 1024:
		return bad("MaxAppendEntries", "must be between 1 and 1024")
	case c.SnapshotThreshold < 1:
		return bad("SnapshotThreshold", "must be positive")
	case c.ApplyTimeout <= 0 || c.TickInterval <= 0 || c.SnapshotInterval <= 0:
		return bad("ApplyTimeout, TickInterval, SnapshotInterval", "must be positive")
	case c.Clock == nil || c.Logger == nil:
		return bad("Clock, Logger", "are required")
	}
	if c.Transport == nil {
		if _, _, err := net.SplitHostPort(c.BindAddr); err != nil {
			return bad("BindAddr", err.Error())
		}
	}
	for i, p := range c.Peers {
		if p == "" {
			return bad(fmt.Sprintf("Peers[%d]", i), "is empty")
		}
	}
	return nil
}

// raftConfig derives hashicorp/raft's configuration from ours and has
// raft validate it.
func (c Config) raftConfig() (*raft.Config, error) {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(c.NodeID)
	rc.SnapshotThreshold = c.SnapshotThreshold
	rc.SnapshotInterval = c.SnapshotInterval
	rc.TrailingLogs = c.TrailingLogs
	rc.MaxAppendEntries = c.MaxAppendEntries
	rc.BatchApplyCh = true
	rc.Logger = newHCLogger(c.Logger)
	if c.Tune != nil {
		c.Tune(rc)
	}
	if err := raft.ValidateConfig(rc); err != nil {
		return nil, fmt.Errorf("cluster: raft config: %w", err)
	}
	return rc, nil
}

// Errors of a node.
var (
	// ErrNotLeader: this node cannot accept writes; LeaderAddr says where to.
	ErrNotLeader = errors.New("cluster: not the leader")
	// ErrClosed: the node is shutting down.
	ErrClosed = errors.New("cluster: node closed")
	// ErrUnknownOutcome: the proposal may or may not have committed
	// (leadership was lost or the wait timed out). Retry with the same
	// idempotency key.
	ErrUnknownOutcome = errors.New("cluster: outcome unknown")
)
