package actors

import (
	"cmp"
	"encoding/json"
	"iter"
	"slices"
	"time"
)

// Callback is one customer's request to be called back. It lives in the
// domain it currently waits in; Domains lists every domain it has passed
// through (the requesting domain first), and users of any of them see it.
//
// A waiting callback is what the core holds most of, so the struct is kept
// to 160 bytes: fields ordered by size, and what only some callbacks have
// (attributes, and what happens once one is offered) in a *CallbackRecord
// that is nil until needed. Callbacks returned by the tenant's reads always
// have a record, so its promoted fields can be read directly.
type Callback struct {
	ID            CallbackID `json:"id"`
	Seq           uint64     `json:"seq"` // creation order, the last tie-breaker
	Created       int64      `json:"created"`
	Due           int64      `json:"due"`
	Expires       int64      `json:"expires,omitempty"`
	Offer         OfferID    `json:"offer,omitempty"`
	OfferDeadline int64      `json:"offerDeadline,omitempty"`
	Domains       []DomainID `json:"domains"`
	CustomerName  string     `json:"customerName"`
	Numbers       []string   `json:"numbers"`
	*CallbackRecord
	Queue    QueueID        `json:"queue"`
	Domain   DomainID       `json:"domain"` // where it waits and is routed now
	Priority int32          `json:"priority"`
	Attempts int32          `json:"attempts"`
	Agent    UserID         `json:"agent,omitempty"`
	Bytes    int32          `json:"bytes"` // counted against the storage quota
	Status   CallbackStatus `json:"status"`
}

// CallbackRecord holds a callback's attributes and what happened to it
// once offered. Its fields are promoted into Callback (and its JSON).
type CallbackRecord struct {
	Data        map[string]string `json:"data,omitempty"`
	OfferedAt   int64             `json:"offeredAt,omitempty"`
	AcceptedAt  int64             `json:"acceptedAt,omitempty"`
	Comment     string            `json:"comment,omitempty"`
	Disposition CodeID            `json:"disposition,omitempty"`
}

// record returns the callback's record, taking one from the domain's
// slab when it has none yet.
func (d *Domain) record(c *Callback) *CallbackRecord {
	if c.CallbackRecord == nil {
		if len(d.records) == cap(d.records) {
			d.records = make([]CallbackRecord, 0, 64)
		}
		d.records = d.records[:len(d.records)+1]
		c.CallbackRecord = &d.records[len(d.records)-1]
	}
	return c.CallbackRecord
}

// Agent is the routing view of one agent, kept by the domain of the
// agent's active position.
type Agent struct {
	ID        UserID     `json:"id"`
	Presence  Presence   `json:"presence"`
	Reason    string     `json:"reason,omitempty"`
	Since     int64      `json:"since"`     // presence last changed
	IdleSince int64      `json:"idleSince"` // last became available
	Handled   int64      `json:"handled"`
	LastOffer uint64     `json:"lastOffer"` // offer sequence, for round robin
	Callback  CallbackID `json:"callback,omitempty"`
	WrapUntil int64      `json:"wrapUntil,omitempty"`
	Slots     []Slot     `json:"slots"`

	// switched is set while an automatic position switch waits for the
	// offer it was made for, so the offered event can say so.
	switched *Event
}

// Slot is an agent's membership of one queue as seen by the pool.
type Slot struct {
	Queue QueueID `json:"queue"`
	Tier  int32   `json:"tier"`
	idx   int32   // position in the queue's pool, -1 when not pooled
	// line is the queue's line in the domain that last pooled the agent,
	// so a pooled agent's lines are reached without a lookup.
	line *line
}

// QueueConf is what a domain needs to know of a queue's configuration.
type QueueConf struct {
	Strategy     Strategy `json:"strategy"`
	ServiceLevel int64    `json:"serviceLevel"`
}

// QueueStats are the running counters of one queue in one domain.
type QueueStats struct {
	Offered      int64 `json:"offered"`
	Answered     int64 `json:"answered"`
	AnsweredInSL int64 `json:"answeredInSL"`
	Completed    int64 `json:"completed"`
	Abandoned    int64 `json:"abandoned"` // canceled or expired while waiting
	Failed       int64 `json:"failed"`
	TimedOut     int64 `json:"timedOut"`
	WaitSum      int64 `json:"waitSum"`   // nanoseconds, answered callbacks
	HandleSum    int64 `json:"handleSum"` // nanoseconds, accepted to completed
}

// Domain is the routing state of one domain: its callbacks, the waiting
// line and available-agent pool of every queue it has callbacks or agents
// for, its deadlines and statistics.
type Domain struct {
	ID        DomainID                `json:"id"`
	Tenant    TenantID                `json:"tenant"`
	Policy    Policy                  `json:"policy"`
	Queues    map[QueueID]QueueConf   `json:"queues"`
	Callbacks domainCallbacks         `json:"callbacks"`
	Agents    map[UserID]*Agent       `json:"agents"`
	Stats     map[QueueID]*QueueStats `json:"stats"`
	OfferSeq  uint64                  `json:"offerSeq"`

	// lines are the queues' lines in queue order: a domain has few, so a
	// search of a short slice finds one without hashing.
	lines     []*line
	deadlines deadlineHeap
	// agents is Agents indexed by identifier (users are numbered densely
	// per tenant), and table the tenant's callbacks by identifier (see
	// Domain.callback): the routing path finds both without hashing.
	agents []*Agent
	table  *callbackTable
	// records is a slab the callbacks' records are taken from, so a
	// routing decision does not allocate; it is replaced, never grown,
	// when full, so records already handed out never move.
	records []CallbackRecord
}

type line struct {
	waiting callbackHeap
	pool    agentPool
	conf    QueueConf
	queue   QueueID
	stats   *QueueStats    // the queue's entry in Stats, once it has one
	table   *callbackTable // the tenant's, where the heap keeps its places
	rank    *rankIndex     // waiting in order, once a position was asked for (rank.go)
}

// lineStats returns the line's statistics, creating them on first use.
func (d *Domain) lineStats(l *line) *QueueStats {
	if l.stats == nil {
		l.stats = d.stats(l.queue)
	}
	return l.stats
}

func newDomain(tenant TenantID, id DomainID) *Domain {
	d := &Domain{
		ID: id, Tenant: tenant,
		Queues: map[QueueID]QueueConf{},
		Agents: map[UserID]*Agent{},
		Stats:  map[QueueID]*QueueStats{},
	}
	return d
}

// domainCallbacks are a domain's callbacks. The tenant's callback table
// holds every callback, and a callback waits in the domain it names, so a
// domain keeps no index of its own (a map entry a callback, on the create
// path and for the collector to scan); d.callback finds one and
// d.callbacks visits them. A snapshot carries them per domain, as an
// object from identifier to callback; a restored domain holds those here
// until the tenant's reindex puts them in its table.
type domainCallbacks struct {
	owner    *Domain
	restored map[CallbackID]*Callback
}

func (dc domainCallbacks) MarshalJSON() ([]byte, error) {
	if dc.owner == nil || dc.owner.table == nil { // decoded, not yet part of a tenant
		return json.Marshal(dc.restored)
	}
	m := map[CallbackID]*Callback{}
	for c := range dc.owner.callbacks() {
		m[c.ID] = c
	}
	return json.Marshal(m)
}

func (dc *domainCallbacks) UnmarshalJSON(b []byte) error {
	return json.Unmarshal(b, &dc.restored)
}

// callbacks yields the callbacks waiting in the domain, in identifier
// order.
func (d *Domain) callbacks() iter.Seq[*Callback] {
	return func(yield func(*Callback) bool) {
		for _, slot := range d.table.kept() {
			if slot.c != nil && slot.c.Domain == d.ID && !yield(slot.c) {
				return
			}
		}
	}
}

// callback returns the callback of this domain with the identifier, or
// nil. The tenant's table holds every callback; one waits here when it
// says so (a transferred callback says so from when it is added here).
func (d *Domain) callback(id CallbackID) *Callback {
	if s := d.table.lookup(id); s != nil && s.c != nil && s.c.Domain == d.ID {
		return s.c
	}
	return nil
}

// agent returns the domain's agent with the identifier, or nil.
func (d *Domain) agent(id UserID) *Agent {
	if int(id) < len(d.agents) {
		return d.agents[id]
	}
	return nil
}

// setAgent adds (a non-nil) or removes the agent with the identifier.
func (d *Domain) setAgent(id UserID, a *Agent) { setIndexed(d.Agents, &d.agents, id, a) }

// lineAt returns the queue's line, or nil when the domain has none.
func (d *Domain) lineAt(q QueueID) *line {
	if i, ok := d.findLine(q); ok {
		return d.lines[i]
	}
	return nil
}

func (d *Domain) findLine(q QueueID) (int, bool) {
	return slices.BinarySearchFunc(d.lines, q, func(l *line, q QueueID) int { return cmp.Compare(l.queue, q) })
}

// line returns the queue's line, creating it on first use.
func (d *Domain) line(q QueueID) *line {
	i, ok := d.findLine(q)
	if !ok {
		d.lines = slices.Insert(d.lines, i, &line{conf: d.Queues[q], queue: q, table: d.table})
	}
	return d.lines[i]
}

// stats returns the queue's statistics, creating them on first use; a
// line keeps its queue's, so routing finds them without hashing.
func (d *Domain) stats(q QueueID) *QueueStats {
	l := d.lineAt(q)
	if l != nil && l.stats != nil {
		return l.stats
	}
	s := d.Stats[q]
	if s == nil {
		s = &QueueStats{}
		d.Stats[q] = s
	}
	if l != nil {
		l.stats = s
	}
	return s
}

// rebuild derives the lines, pools and deadlines from the stored objects,
// in identifier order, after a restore.
func (d *Domain) rebuild() {
	d.lines, d.agents = nil, nil
	d.deadlines = nil
	for c := range d.callbacks() {
		switch c.Status {
		case Queued:
			d.line(c.Queue).enter(c)
		case Scheduled:
			d.deadlines.push(deadline{at: c.Due, kind: dueAt, id: uint32(c.ID)})
		case Offered:
			d.deadlines.push(deadline{at: c.OfferDeadline, kind: offerExpiresAt, id: uint32(c.ID)})
		}
		if !c.Status.Terminal() && c.Expires != 0 {
			d.deadlines.push(deadline{at: c.Expires, kind: expiresAt, id: uint32(c.ID)})
		}
	}
	for _, id := range sortedKeys(d.Agents) {
		a := d.Agents[id]
		d.setAgent(id, a)
		for i := range a.Slots {
			a.Slots[i].idx = -1
		}
		switch a.Presence {
		case Available:
			d.pool(a)
		case WrapUp:
			d.deadlines.push(deadline{at: a.WrapUntil, kind: wrapUpEndsAt, id: uint32(a.ID)})
		}
	}
}

// opCtx carries what every domain operation needs: the time, where events
// go, and who asks (for visibility checks made by the tenant's rules).
type opCtx struct {
	now    int64
	events *[]Event
	guard  guard
}

func (d *Domain) emit(x *opCtx, e Event) {
	e.At = x.now
	e.Tenant = d.Tenant
	if e.Domain == 0 {
		e.Domain = d.ID
	}
	*x.events = append(*x.events, e)
}

// setStatus moves a callback through its lifecycle; an impossible
// transition is a bug in the core.
func (d *Domain) setStatus(c *Callback, to CallbackStatus) {
	if !canTransition(c.Status, to) {
		panic("actors: impossible callback transition " + c.Status.String() + " -> " + to.String())
	}
	c.Status = to
}

// setPresence records a presence change and says so.
func (d *Domain) setPresence(x *opCtx, a *Agent, p Presence, reason string) {
	if a.Presence == Available && p != Available {
		d.unpool(a)
	}
	a.Presence, a.Reason, a.Since = p, reason, x.now
	d.emit(x, Event{Kind: EvPresenceChanged, Agent: a.ID, Presence: p, Reason: reason})
	if p == Available {
		a.IdleSince = x.now
		d.pool(a)
		d.routeAgent(x, a)
	}
}

func (d *Domain) pool(a *Agent) {
	for i := range a.Slots {
		s := &a.Slots[i]
		l := d.line(s.Queue)
		s.line = l
		var key int64
		switch l.conf.Strategy {
		case RoundRobin:
			key = int64(a.LastOffer)
		case FewestHandled:
			key = a.Handled
		default:
			key = a.IdleSince
		}
		l.pool.push(poolEntry{tier: s.Tier, key: key, agent: a, slot: int32(i)})
	}
}

func (d *Domain) unpool(a *Agent) {
	for i := range a.Slots {
		if idx := a.Slots[i].idx; idx >= 0 {
			a.Slots[i].line.pool.remove(int(idx))
		}
	}
}

// enqueue makes a callback wait in its queue's line and routes the line.
func (d *Domain) enqueue(x *opCtx, c *Callback) {
	d.setStatus(c, Queued)
	l := d.line(c.Queue)
	l.enter(c)
	d.emit(x, Event{Kind: EvCallbackQueued, Queue: c.Queue, Callback: c.ID})
	d.routeLine(x, l)
}

// schedule makes a callback wait until due, or queues it when already due.
func (d *Domain) schedule(x *opCtx, c *Callback, due int64) {
	c.Due = due
	if due <= x.now {
		d.enqueue(x, c)
		return
	}
	if c.Status != Scheduled {
		d.setStatus(c, Scheduled)
	}
	d.pushDeadline(deadline{at: due, kind: dueAt, id: uint32(c.ID)})
	d.emit(x, Event{Kind: EvCallbackScheduled, Queue: c.Queue, Callback: c.ID, Object: uint64(due)})
}

// routeLine offers the line's best waiting callbacks to its best available
// agents while both exist.
func (d *Domain) routeLine(x *opCtx, l *line) {
	for len(l.waiting) > 0 && len(l.pool) > 0 {
		d.offer(x, l, l.first(), l.pool[0].agent)
	}
}

// routeAgent gives a newly available agent the best waiting callback among
// their queues. Every line either has no waiting callback or no available
// agent (routing restores that after every change), so no other agent is
// a better choice for that callback.
func (d *Domain) routeAgent(x *opCtx, a *Agent) {
	var best *line
	for i := range a.Slots {
		l := a.Slots[i].line // set when the agent was pooled, just before
		if len(l.waiting) > 0 && (best == nil || l.waiting[0].before(&best.waiting[0])) {
			best = l
		}
	}
	if best != nil {
		d.offer(x, best, best.first(), a)
	}
}

func (d *Domain) offer(x *opCtx, l *line, c *Callback, a *Agent) {
	l.leave(c)
	d.unpool(a)
	d.setStatus(c, Offered)
	d.OfferSeq++
	c.Offer = OfferID(uint64(d.ID)<<40 | d.OfferSeq)
	c.Agent = a.ID
	d.record(c).OfferedAt = x.now
	c.OfferDeadline = x.now + int64(d.Policy.OfferTimeout)
	a.Presence, a.Reason, a.Since = Reserved, "", x.now
	a.Callback = c.ID
	a.LastOffer = d.OfferSeq
	d.pushDeadline(deadline{at: c.OfferDeadline, kind: offerExpiresAt, id: uint32(c.ID)})
	d.lineStats(l).Offered++
	e := Event{Kind: EvCallbackOffered, Queue: c.Queue, Callback: c.ID, Agent: a.ID, Offer: c.Offer}
	if s := a.switched; s != nil {
		e.Switched, e.FromPosition, e.ToPosition = true, s.FromPosition, s.ToPosition
		a.switched = nil
	}
	d.emit(x, e)
}

// requeue puts an offered callback back in its line at its original place
// (its due time and creation order are unchanged).
func (d *Domain) requeue(x *opCtx, c *Callback) {
	c.Offer, c.Agent, c.OfferDeadline = 0, 0, 0
	if c.Expires != 0 && c.Expires <= x.now {
		d.setStatus(c, Queued) // offered -> queued -> expired
		d.setStatus(c, Expired)
		d.stats(c.Queue).Abandoned++
		d.emit(x, Event{Kind: EvCallbackExpired, Queue: c.Queue, Callback: c.ID})
		return
	}
	d.setStatus(c, Queued)
	l := d.line(c.Queue)
	l.enter(c)
	d.routeLine(x, l)
}

// releaseAgent ends an agent's work on a callback: wrap-up when the tenant
// has one, otherwise available again.
func (d *Domain) releaseAgent(x *opCtx, a *Agent, wrapUp bool) {
	a.Callback = 0
	if wrapUp && d.Policy.WrapUp > 0 {
		a.WrapUntil = x.now + int64(d.Policy.WrapUp)
		d.pushDeadline(deadline{at: a.WrapUntil, kind: wrapUpEndsAt, id: uint32(a.ID)})
		d.setPresence(x, a, WrapUp, "")
		return
	}
	d.setPresence(x, a, Available, "")
}

// tick fires every deadline at or before now, in deadline order.
func (d *Domain) tick(x *opCtx) {
	for len(d.deadlines) > 0 && d.deadlines[0].at <= x.now {
		dl := d.deadlines.pop()
		switch dl.kind {
		case dueAt:
			if c := d.callback(CallbackID(dl.id)); c != nil && c.Status == Scheduled && c.Due == dl.at {
				d.enqueue(x, c)
			}
		case offerExpiresAt:
			c := d.callback(CallbackID(dl.id))
			if c == nil || c.Status != Offered || c.OfferDeadline != dl.at {
				continue
			}
			a := d.agent(c.Agent)
			d.stats(c.Queue).TimedOut++
			d.emit(x, Event{Kind: EvOfferTimedOut, Queue: c.Queue, Callback: c.ID, Agent: c.Agent, Offer: c.Offer})
			a.Callback = 0
			d.setPresence(x, a, Away, d.Policy.NotRespondingAway)
			d.requeue(x, c)
		case expiresAt:
			c := d.callback(CallbackID(dl.id))
			if c == nil || c.Expires != dl.at || (c.Status != Queued && c.Status != Scheduled) {
				continue
			}
			if c.Status == Queued {
				d.lineAt(c.Queue).leave(c)
			}
			d.setStatus(c, Expired)
			d.stats(c.Queue).Abandoned++
			d.emit(x, Event{Kind: EvCallbackExpired, Queue: c.Queue, Callback: c.ID})
		case wrapUpEndsAt:
			if a := d.agent(UserID(dl.id)); a != nil && a.Presence == WrapUp && a.WrapUntil == dl.at {
				a.WrapUntil = 0
				d.setPresence(x, a, Available, "")
			}
		}
	}
}

// pushDeadline adds a deadline. When the heap is full it first drops the
// entries that can no longer fire (tick would skip them: what they time
// out has moved on), so stale offer deadlines do not make it grow. Every
// state a dropped entry could fire for again pushes its own entry when it
// is entered, and the heap order is total, so dropping them changes
// nothing but memory. After a sweep the heap has room for three times the
// live entries, so sweeping costs at most one and a half lookups per push.
func (d *Domain) pushDeadline(dl deadline) {
	if cap(d.deadlines) == 0 {
		d.deadlines = make(deadlineHeap, 0, 32) // the size sweeps start at: no growth before
	}
	if n := len(d.deadlines); n == cap(d.deadlines) && n >= 32 {
		live := d.deadlines[:0]
		for _, e := range d.deadlines {
			if d.deadlineLive(e) {
				live = append(live, e)
			}
		}
		clear(d.deadlines[len(live):n])
		if want := 3 * len(live); want > n {
			live = append(make(deadlineHeap, 0, want), live...)
		}
		d.deadlines = live
		d.deadlines.heapify()
	}
	d.deadlines.push(dl)
}

// deadlineLive: the entry may still fire (see tick).
func (d *Domain) deadlineLive(e deadline) bool {
	switch e.kind {
	case dueAt:
		c := d.callback(CallbackID(e.id))
		return c != nil && c.Status == Scheduled && c.Due == e.at
	case offerExpiresAt:
		c := d.callback(CallbackID(e.id))
		return c != nil && c.Status == Offered && c.OfferDeadline == e.at
	case expiresAt:
		// An offered or handled callback may wait again before its expiry.
		c := d.callback(CallbackID(e.id))
		return c != nil && c.Expires == e.at && !c.Status.Terminal()
	case wrapUpEndsAt:
		a := d.agent(UserID(e.id))
		return a != nil && a.Presence == WrapUp && a.WrapUntil == e.at
	}
	return true
}

// nextDeadline is the earliest pending deadline, or 0.
func (d *Domain) nextDeadline() int64 {
	if len(d.deadlines) == 0 {
		return 0
	}
	return d.deadlines[0].at
}

// stranded lists, in queue order, the queues (of those given, or all when
// none are given) that have waiting callbacks and no available agent.
func (d *Domain) stranded(only []QueueID, out []QueueID) []QueueID {
	for _, l := range d.lines {
		if len(only) > 0 && !slices.Contains(only, l.queue) {
			continue
		}
		if len(l.waiting) > 0 && len(l.pool) == 0 {
			out = append(out, l.queue)
		}
	}
	return out
}

// queuesSeen lists, in order, every queue the domain has a line or
// statistics for.
func (d *Domain) queuesSeen() []QueueID {
	qs := sortedKeys(d.Stats)
	for _, l := range d.lines {
		if _, ok := d.Stats[l.queue]; !ok {
			qs = append(qs, l.queue)
		}
	}
	slices.Sort(qs)
	return qs
}

// QueueReport is the real-time view of one queue in one domain.
type QueueReport struct {
	Queue           QueueID       `json:"queue"`
	Domain          DomainID      `json:"domain"`
	Waiting         int           `json:"waiting"`
	LongestWait     time.Duration `json:"longestWait"`
	AgentsAvailable int           `json:"agentsAvailable"`
	ServiceLevel    float64       `json:"serviceLevel"` // answered within the threshold / answered; 1 when none answered
	QueueStats
}

func (d *Domain) report(q QueueID, now int64) QueueReport {
	r := QueueReport{Queue: q, Domain: d.ID, ServiceLevel: 1}
	if s := d.Stats[q]; s != nil {
		r.QueueStats = *s
		if s.Answered > 0 {
			r.ServiceLevel = float64(s.AnsweredInSL) / float64(s.Answered)
		}
	}
	if l := d.lineAt(q); l != nil {
		r.Waiting, r.AgentsAvailable = len(l.waiting), len(l.pool)
		for _, q := range l.waiting {
			r.LongestWait = max(r.LongestWait, time.Duration(now-q.due))
		}
	}
	return r
}

// position is the 1-based place of a queued callback in its line and the
// estimated wait: the callbacks ahead, times the mean handle time, shared
// among the agents of the line.
func (d *Domain) position(c *Callback) (int, time.Duration) {
	if c.Status != Queued {
		return 0, 0
	}
	ahead := d.lineAt(c.Queue).ahead(c)
	aht := int64(5 * time.Minute)
	if s := d.Stats[c.Queue]; s != nil && s.Completed > 0 {
		aht = s.HandleSum / s.Completed
	}
	staffed := int64(0)
	for _, a := range d.Agents {
		if a.Presence != Offline && a.Presence != Away && slices.ContainsFunc(a.Slots, func(s Slot) bool { return s.Queue == c.Queue }) {
			staffed++
		}
	}
	if staffed == 0 {
		staffed = 1
	}
	return ahead + 1, time.Duration(int64(ahead+1) * aht / staffed)
}
