package cluster

import (
	"strconv"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
)

// timings are the node's latency histograms, observed where the work
// happens and exposed through the Collector.
type timings struct {
	apply    prometheus.Histogram // one log entry through the FSM
	propose  prometheus.Histogram // proposal to outcome, on the leader
	snapshot prometheus.Histogram // capturing and persisting a snapshot
	restore  prometheus.Histogram
	walSync  prometheus.Histogram // one sync of the WAL's written entries
}

func newTimings() *timings {
	h := func(name, help string, buckets []float64) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	}
	fast := prometheus.ExponentialBuckets(0.0001, 2, 16) // 100 µs .. 3.3 s
	slow := prometheus.ExponentialBuckets(0.001, 2, 16)  // 1 ms .. 33 s
	return &timings{
		apply:    h("ringback_fsm_apply_duration_seconds", "Time to apply one log entry (a batch of commands).", fast),
		propose:  h("ringback_proposal_duration_seconds", "Time from proposing a command to its outcome, on the leader.", fast),
		snapshot: h("ringback_snapshot_duration_seconds", "Time to capture and persist a snapshot.", slow),
		restore:  h("ringback_snapshot_restore_duration_seconds", "Time to restore the state from a snapshot.", slow),
		// Every write waits for a sync: their tail is the node's latency
		// floor, so the buckets resolve the fractions of a millisecond.
		walSync: h("ringback_wal_fsync_duration_seconds", "Time to sync written log entries to disk (the WAL store only); every acknowledged write waits for one.",
			[]float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}),
	}
}

func (t *timings) all() []prometheus.Collector {
	return []prometheus.Collector{t.apply, t.propose, t.snapshot, t.restore, t.walSync}
}

// Collector exposes a node's Raft state as Prometheus metrics.
type Collector struct {
	n                                               *Node
	state, term, lastIndex, commitIndex, applyIndex *prometheus.Desc
	applyLag, nextDeadline                          *prometheus.Desc
}

// NewCollector returns the node's metrics collector.
func NewCollector(n *Node) *Collector {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	return &Collector{n: n,
		state:        d("ringback_raft_state", "Raft state: 0 follower, 1 candidate, 2 leader, 3 shutdown."),
		term:         d("ringback_raft_term", "Current Raft term."),
		lastIndex:    d("ringback_raft_last_log_index", "Index of the last log entry."),
		commitIndex:  d("ringback_raft_commit_index", "Index of the last committed entry."),
		applyIndex:   d("ringback_raft_applied_index", "Index of the last applied entry."),
		applyLag:     d("ringback_raft_apply_lag_entries", "Committed entries not yet applied."),
		nextDeadline: d("ringback_next_deadline_timestamp_seconds", "When the core's earliest deadline falls due (0: none)."),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.state, c.term, c.lastIndex, c.commitIndex, c.applyIndex, c.applyLag, c.nextDeadline} {
		ch <- d
	}
	for _, h := range c.n.fsm.timings.all() {
		h.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	r := c.n.raft
	st := r.Stats()
	num := func(k string) float64 {
		v, _ := strconv.ParseUint(st[k], 10, 64)
		return float64(v)
	}
	state := map[raft.RaftState]float64{raft.Follower: 0, raft.Candidate: 1, raft.Leader: 2, raft.Shutdown: 3}[r.State()]
	commit, applied := float64(r.CommitIndex()), float64(r.AppliedIndex())
	var next float64
	if t := c.n.fsm.NextDeadline(); !t.IsZero() {
		next = float64(t.UnixNano()) / 1e9
	}
	g := prometheus.GaugeValue
	ch <- prometheus.MustNewConstMetric(c.state, g, state)
	ch <- prometheus.MustNewConstMetric(c.term, g, num("term"))
	ch <- prometheus.MustNewConstMetric(c.lastIndex, g, float64(r.LastIndex()))
	ch <- prometheus.MustNewConstMetric(c.commitIndex, g, commit)
	ch <- prometheus.MustNewConstMetric(c.applyIndex, g, applied)
	ch <- prometheus.MustNewConstMetric(c.applyLag, g, max(0, commit-applied))
	ch <- prometheus.MustNewConstMetric(c.nextDeadline, g, next)
	for _, h := range c.n.fsm.timings.all() {
		h.Collect(ch)
	}
}
