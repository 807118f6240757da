// Package cluster replicates Ringback's routing core with hashicorp/raft.
//
// A [Node] is one Raft server. Its [FSM] decodes each committed entry — a
// batch of commands stamped with the leader's clock — and hands every
// command to its tenant actor (tenants in parallel, each tenant in log
// order), then returns each command's outcome to whoever proposed it. The
// [Proposer] groups concurrent commands into one entry (group commit).
// Snapshots serialise the whole actor tree; restore rebuilds it.
//
// The one-process default is a one-node cluster with the same code. Time
// enters only through entries: the leader stamps them and, when the
// earliest deadline of the core has passed, proposes a Tick. Replicas
// never read their own clock while applying.
//
// This package must never decide routing: it only orders, stores and
// delivers commands.
package cluster
