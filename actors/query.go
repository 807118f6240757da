package actors

import (
	"maps"
	"slices"
	"time"
)

// Reads. They change nothing and apply the same access rule as commands:
// what the principal may not see is not there. They run on the tenant's
// own goroutine (directly on an Engine, or through System.Query).

// Callback returns a copy of one callback as the principal may see it.
func (t *Tenant) Callback(by Principal, id CallbackID) (Callback, error) {
	did, ok := t.callbackDomain(id)
	if !ok {
		return Callback{}, notFound("callbackId")
	}
	op := t.newOp(opGet, &opCtx{})
	op.id = id
	op.x.guard = guard{t: t, p: by, act: ActView}
	r := t.call(did, op)
	if r.err != nil {
		return Callback{}, r.err
	}
	c := *r.callback
	c.Domains, c.Numbers = slices.Clone(c.Domains), slices.Clone(c.Numbers)
	if c.CallbackRecord != nil {
		r := *c.CallbackRecord
		r.Data = maps.Clone(r.Data)
		c.CallbackRecord = &r
	} else {
		c.CallbackRecord = &CallbackRecord{}
	}
	return c, nil
}

// CallbackPosition is Callback with, for a queued callback, its place in
// line (1 is next) and its estimated wait; 0 when it is not waiting in
// line.
func (t *Tenant) CallbackPosition(by Principal, id CallbackID) (Callback, int, time.Duration, error) {
	c, err := t.Callback(by, id)
	if err != nil {
		return Callback{}, 0, 0, err
	}
	d := t.routing[t.Callbacks.lookup(id).domain]
	pos, ewt := d.position(d.callback(id))
	return c, pos, ewt, nil
}

// Reports returns the real-time view of every queue in every domain the
// principal may see reports of, in domain and queue order.
func (t *Tenant) Reports(by Principal, now time.Time) ([]QueueReport, error) {
	var out []QueueReport
	for _, did := range sortedKeys(t.routing) {
		if t.Allowed(by, ActViewReports, []DomainID{did}, 0) != nil {
			continue
		}
		d := t.routing[did]
		for _, q := range d.queuesSeen() {
			if t.Queues[q] != nil && t.sees(by, nil, q) {
				out = append(out, d.report(q, now.UnixNano()))
			}
		}
	}
	if out == nil && t.Allowed(by, ActViewReports, nil, 0) != nil {
		return nil, refuse(ErrForbidden, "role", "no role permits viewing reports")
	}
	return out, nil
}

// DomainReport is the real-time view of a whole domain: its queues summed,
// with agents counted once however many queues they serve.
func (t *Tenant) DomainReport(by Principal, did DomainID, now time.Time) (QueueReport, error) {
	d := t.routing[did]
	if d == nil {
		return QueueReport{}, notFound("domainId")
	}
	if err := t.Allowed(by, ActViewReports, []DomainID{did}, 0); err != nil {
		return QueueReport{}, named(err, "domainId")
	}
	sum := QueueReport{Domain: did, ServiceLevel: 1}
	for _, q := range d.queuesSeen() {
		if !t.sees(by, nil, q) {
			continue
		}
		r := d.report(q, now.UnixNano())
		sum.Waiting += r.Waiting
		sum.LongestWait = max(sum.LongestWait, r.LongestWait)
		sum.Offered += r.Offered
		sum.Answered += r.Answered
		sum.AnsweredInSL += r.AnsweredInSL
		sum.Completed += r.Completed
		sum.Abandoned += r.Abandoned
		sum.Failed += r.Failed
		sum.TimedOut += r.TimedOut
		sum.WaitSum += r.WaitSum
		sum.HandleSum += r.HandleSum
	}
	for _, a := range d.Agents {
		if a.Presence == Available {
			sum.AgentsAvailable++
		}
	}
	if sum.Answered > 0 {
		sum.ServiceLevel = float64(sum.AnsweredInSL) / float64(sum.Answered)
	}
	return sum, nil
}

// EachCallback calls fn, in identifier order, for every callback the
// principal may see (for export and lists).
func (t *Tenant) EachCallback(by Principal, fn func(Callback)) {
	for id, s := range t.Callbacks.kept() {
		if s.c != nil {
			if c, err := t.Callback(by, id); err == nil {
				fn(c)
			}
		}
	}
}

// CurrentOffer returns the callback currently offered to an agent, if any.
func (t *Tenant) CurrentOffer(agent UserID) (Callback, bool) {
	u := t.Users[agent]
	if u == nil || len(u.Positions) == 0 {
		return Callback{}, false
	}
	a := t.routing[u.activeDomain()].Agents[agent]
	if a == nil || a.Callback == 0 {
		return Callback{}, false
	}
	c, err := t.Callback(AsUser(agent), a.Callback)
	if err != nil || c.Status != Offered || c.Agent != agent {
		return Callback{}, false
	}
	return c, true
}

// Usage is how much of its [Limits] a tenant uses.
type Usage struct {
	Agents       int   `json:"agents"`       // users who hold the agent role (see Limits.MaxAgents)
	Domains      int   `json:"domains"`      // Home included
	StorageBytes int64 `json:"storageBytes"` // callback data held, counted as against the quota
}

// Usage says how much of its limits the tenant uses. It is an account of
// the tenant, not its data, so the operator may read it.
func (t *Tenant) Usage() Usage {
	return Usage{Agents: t.agents, Domains: len(t.Domains), StorageBytes: t.StorageUsed}
}

// Principal resolves an API key hash to the principal it belongs to.
func (t *Tenant) Principal(hash string) (Principal, bool) {
	p, ok := t.APIKeys[hash]
	return p, ok
}
