package cluster

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/hashicorp/raft"
	"github.com/ringbackhq/ringback/actors"
)

// Backups: the snapshot file format of the FSM, taken on demand and
// restored into a cluster (disaster recovery into a fresh cluster, as
// hashicorp/raft's Restore documents).

// WriteSnapshot writes the node's current state in the snapshot format.
func (n *Node) WriteSnapshot(w io.Writer) error {
	s, err := n.fsm.Snapshot()
	if err != nil {
		return err
	}
	_, err = s.(*snapshot).WriteTo(w)
	return err
}

// RestoreSnapshot makes the cluster take on a snapshot's state. It runs on
// the leader and replaces all state.
func (n *Node) RestoreSnapshot(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if _, err := InspectSnapshot(bytes.NewReader(b)); err != nil {
		return err
	}
	// raft refuses a restore until the FSM has applied the latest
	// configuration entry, which a node just started may not have done
	// yet: a barrier waits for everything committed to be applied.
	if err := n.raft.Barrier(n.cfg.ApplyTimeout).Error(); err != nil {
		return fmt.Errorf("cluster: restore: wait for the log to be applied: %w", err)
	}
	meta := &raft.SnapshotMeta{Version: raft.SnapshotVersionMax, Size: int64(len(b))}
	return n.raft.Restore(meta, bytes.NewReader(b), n.cfg.ApplyTimeout)
}

// SnapshotInfo describes a snapshot file.
type SnapshotInfo struct {
	Bytes        int      `json:"bytes"`
	LastTime     int64    `json:"lastTime"`
	Tenants      int      `json:"tenants"`
	Callbacks    int      `json:"callbacks"`
	StateSHA256  [32]byte `json:"stateSha256"`
	HTTPAnnounce int      `json:"announcedNodes"`
}

// InspectSnapshot decodes a snapshot file fully and summarises it.
func InspectSnapshot(r io.Reader) (SnapshotInfo, error) {
	state, last, meta, err := ReadSnapshot(r)
	if err != nil {
		return SnapshotInfo{}, err
	}
	e, err := actors.Restore(state)
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("cluster: snapshot state: %w", err)
	}
	info := SnapshotInfo{Bytes: len(state), LastTime: last, Tenants: len(e.Tenants), StateSHA256: sha256.Sum256(state), HTTPAnnounce: len(meta)}
	for _, t := range e.Tenants {
		info.Callbacks += t.Callbacks.Kept()
	}
	return info, nil
}
