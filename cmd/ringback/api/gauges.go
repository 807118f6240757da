package api

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/ringbackhq/ringback/actors"
)

// stateCollector reads the local state at scrape time: callbacks waiting
// and the oldest wait per queue, and agents by presence. Without tenant
// labels the figures are summed over tenants and queues, so that no label
// carries another tenant's identifiers.
type stateCollector struct {
	node         Node
	clock        func() time.Time
	tenantLabels bool
	waiting      *prometheus.Desc
	oldest       *prometheus.Desc
	agents       *prometheus.Desc
}

func newStateCollector(n Node, clock func() time.Time, tenantLabels bool) *stateCollector {
	var ql []string
	if tenantLabels {
		ql = []string{"tenant", "queue"}
	}
	pl := []string{"presence"}
	if tenantLabels {
		pl = []string{"tenant", "presence"}
	}
	return &stateCollector{node: n, clock: clock, tenantLabels: tenantLabels,
		waiting: prometheus.NewDesc("ringback_callbacks_waiting", "Callbacks queued and waiting for an agent.", ql, nil),
		oldest:  prometheus.NewDesc("ringback_oldest_waiting_age_seconds", "How long the longest-waiting queued callback has waited.", ql, nil),
		agents:  prometheus.NewDesc("ringback_agents", "Agents by presence.", pl, nil),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.waiting
	ch <- c.oldest
	ch <- c.agents
}

var presences = []actors.Presence{actors.Offline, actors.Available, actors.Reserved, actors.Busy, actors.WrapUp, actors.Away}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	system := actors.Principal{Kind: actors.PrincipalSystem}
	now := c.clock()
	var waiting int
	var oldest time.Duration
	byPresence := map[actors.Presence]int{}
	for _, ts := range c.node.Tenants("") {
		tid := strconv.FormatUint(uint64(ts.ID), 10)
		perQueue := map[actors.QueueID][2]float64{}
		tenantPresence := map[actors.Presence]int{}
		_ = c.node.Read(context.Background(), false, ts.ID, func(t *actors.Tenant) error {
			reps, _ := t.Reports(system, now)
			for _, r := range reps {
				v := perQueue[r.Queue]
				v[0] += float64(r.Waiting)
				v[1] = max(v[1], r.LongestWait.Seconds())
				perQueue[r.Queue] = v
			}
			for _, u := range t.Users {
				if len(u.Positions) > 0 && u.Presence != 0 {
					tenantPresence[u.Presence]++
				}
			}
			return nil
		})
		for q, v := range perQueue {
			waiting += int(v[0])
			oldest = max(oldest, time.Duration(v[1]*float64(time.Second)))
			if c.tenantLabels {
				qid := strconv.FormatUint(uint64(q), 10)
				ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, v[0], tid, qid)
				ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, v[1], tid, qid)
			}
		}
		for p, n := range tenantPresence {
			byPresence[p] += n
			if c.tenantLabels {
				ch <- prometheus.MustNewConstMetric(c.agents, prometheus.GaugeValue, float64(n), tid, p.String())
			}
		}
	}
	if !c.tenantLabels {
		ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(waiting))
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, oldest.Seconds())
		for _, p := range presences {
			ch <- prometheus.MustNewConstMetric(c.agents, prometheus.GaugeValue, float64(byPresence[p]), p.String())
		}
	}
}
