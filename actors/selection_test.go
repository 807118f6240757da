package actors

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"
)

// Agent selection checked against a naive oracle.
//
// Random populations of agents (several domains, random queue memberships,
// tiers, strategies, presences and positions) and random callbacks
// (priorities, due times, reschedules, transfers) are driven through the
// real Engine commands. Before every command the oracle loads the engine's
// plain state (no heaps, no pools), applies the command's effects in the
// order the rules give them, and after each effect matches by linear scan:
// for each waiting callback in order (priority desc, due asc, creation
// asc), the eligible agent (available, member of the queue, active
// position in the callback's domain) with the lowest (tier, strategy key,
// agent id). The offers the engine made must be exactly those.

// oracleAgent and oracleCallback are the oracle's plain view of the state.
type oracleAgent struct {
	id        UserID
	domain    DomainID
	presence  Presence
	idleSince int64
	handled   int64
	lastOffer uint64
	slots     []Slot
}

type oracleCallback struct {
	id       CallbackID
	seq      uint64
	queue    QueueID
	domain   DomainID
	status   CallbackStatus
	priority int32
	due      int64
	deadline int64 // offer deadline
	attempts int32
	agent    UserID
}

// oracleOffer is one routing decision.
type oracleOffer struct {
	Callback CallbackID
	Agent    UserID
	Domain   DomainID
}

func (o oracleOffer) String() string {
	return fmt.Sprintf("cb%d->agent%d@d%d", o.Callback, o.Agent, o.Domain)
}

type oracle struct {
	tenant   TenantID
	policy   Policy
	strategy map[QueueID]Strategy
	agents   map[UserID]*oracleAgent
	cbs      map[CallbackID]*oracleCallback
	offerSeq map[DomainID]uint64
	offers   []oracleOffer
}

// loadOracle reads the engine's exported state of one tenant.
func loadOracle(t *Tenant) *oracle {
	o := &oracle{
		tenant: t.ID, policy: t.Policy,
		strategy: map[QueueID]Strategy{}, agents: map[UserID]*oracleAgent{},
		cbs: map[CallbackID]*oracleCallback{}, offerSeq: map[DomainID]uint64{},
	}
	for id, q := range t.Queues {
		o.strategy[id] = q.Strategy
	}
	for did, d := range t.routing {
		o.offerSeq[did] = d.OfferSeq
		for _, a := range d.Agents {
			o.agents[a.ID] = &oracleAgent{id: a.ID, domain: did, presence: a.Presence, idleSince: a.IdleSince,
				handled: a.Handled, lastOffer: a.LastOffer, slots: slices.Clone(a.Slots)}
		}
		for c := range d.callbacks() {
			if c.Status.Terminal() {
				continue
			}
			o.cbs[c.ID] = &oracleCallback{id: c.ID, seq: c.Seq, queue: c.Queue, domain: did, status: c.Status,
				priority: c.Priority, due: c.Due, deadline: c.OfferDeadline, attempts: c.Attempts, agent: c.Agent}
		}
	}
	return o
}

// key is the agent's strategy key in queue q.
func (o *oracle) key(a *oracleAgent, q QueueID) int64 {
	switch o.strategy[q] {
	case RoundRobin:
		return int64(a.lastOffer)
	case FewestHandled:
		return a.handled
	}
	return a.idleSince
}

// route makes every offer the naive rule gives, by linear scan.
func (o *oracle) route(now int64) {
	var waiting []*oracleCallback
	for _, c := range o.cbs {
		if c.status == Queued {
			waiting = append(waiting, c)
		}
	}
	slices.SortFunc(waiting, func(a, b *oracleCallback) int {
		switch {
		case a.priority != b.priority:
			return int(b.priority) - int(a.priority)
		case a.due != b.due:
			return cmp.Compare(a.due, b.due)
		}
		return cmp.Compare(a.seq, b.seq)
	})
	for _, c := range waiting {
		var best *oracleAgent
		var bestTier int32
		for _, a := range o.agents {
			if a.presence != Available || a.domain != c.domain {
				continue
			}
			i := slices.IndexFunc(a.slots, func(s Slot) bool { return s.Queue == c.queue })
			if i < 0 {
				continue
			}
			tier := a.slots[i].Tier
			if best == nil || tier < bestTier ||
				tier == bestTier && (o.key(a, c.queue) < o.key(best, c.queue) ||
					o.key(a, c.queue) == o.key(best, c.queue) && a.id < best.id) {
				best, bestTier = a, tier
			}
		}
		if best == nil {
			continue
		}
		o.offerSeq[c.domain]++
		c.status, c.agent, c.deadline = Offered, best.id, now+int64(o.policy.OfferTimeout)
		best.presence, best.lastOffer = Reserved, o.offerSeq[c.domain]
		o.offers = append(o.offers, oracleOffer{Callback: c.id, Agent: best.id, Domain: c.domain})
	}
}

// The effects of commands, in the order the rules apply them.

func (o *oracle) available(id UserID, now int64) {
	a := o.agents[id]
	a.presence, a.idleSince = Available, now
	o.route(now)
}

func (o *oracle) queue(c *oracleCallback, now int64) {
	c.status, c.agent = Queued, 0
	o.route(now)
}

// tick fires due callbacks and offer timeouts, domain by domain, in
// deadline order (the policy of these tests has no expiry and no wrap-up).
func (o *oracle) tick(now int64) {
	type dl struct {
		at   int64
		kind int
		c    *oracleCallback
	}
	byDomain := map[DomainID][]dl{}
	for _, c := range o.cbs {
		switch {
		case c.status == Scheduled && c.due <= now:
			byDomain[c.domain] = append(byDomain[c.domain], dl{c.due, 1, c})
		case c.status == Offered && c.deadline <= now:
			byDomain[c.domain] = append(byDomain[c.domain], dl{c.deadline, 2, c})
		}
	}
	for _, did := range sortedKeys(byDomain) {
		list := byDomain[did]
		slices.SortFunc(list, func(a, b dl) int {
			if a.at != b.at {
				return cmp.Compare(a.at, b.at)
			}
			if a.kind != b.kind {
				return a.kind - b.kind
			}
			return cmp.Compare(a.c.id, b.c.id)
		})
		for _, d := range list {
			if d.kind == 1 {
				o.queue(d.c, now)
				continue
			}
			a := o.agents[d.c.agent]
			a.presence = Away
			o.queue(d.c, now)
		}
	}
}

// selectionRun drives one seeded random case.
type selectionRun struct {
	t       *testing.T
	r       *rand.Rand
	e       *Engine
	now     time.Time
	tenants []selTenant
	numbers int
}

type selTenant struct {
	id      TenantID
	domains []DomainID
	queues  []QueueID
	agents  []UserID
	code    CodeID
}

func (s *selectionRun) must(cmd Command) (Result, []Event) {
	s.t.Helper()
	res, ev, err := s.e.Apply(cmd, s.now)
	if err != nil {
		s.t.Fatalf("Apply(%T %+v): %v", cmd, cmd, err)
	}
	return res, slices.Clone(ev)
}

func (s *selectionRun) setup() {
	policy := DefaultPolicy()
	policy.CallbackTTL = 0
	policy.Duplicates = DuplicateAllow
	policy.RetryDelay = time.Duration(1+s.r.IntN(60)) * time.Second
	policy.OfferTimeout = time.Duration(5+s.r.IntN(60)) * time.Second
	for i := range 2 {
		res, _ := s.must(&CreateTenant{
			Profile: Profile{CompanyName: "T" + strconv.Itoa(i), AdminUsername: "admin", AdminEmail: "admin@t.test", AdminFirstName: "Ada"},
			Limits:  Limits{MaxAgents: 1000}, Policy: &policy,
		})
		st := selTenant{id: TenantID(res.ID), domains: []DomainID{HomeDomain}}
		admin := Target{Tenant: st.id, By: AsUser(1)}
		for j := range 1 + s.r.IntN(3) {
			res, _ := s.must(&CreateDomain{Target: admin, Name: "d" + strconv.Itoa(j), Parent: HomeDomain})
			st.domains = append(st.domains, DomainID(res.ID))
		}
		for j := range 1 + s.r.IntN(3) {
			res, _ := s.must(&CreateQueue{Target: admin, Name: "q" + strconv.Itoa(j), Domain: HomeDomain, Strategy: Strategy(1 + s.r.IntN(3))})
			st.queues = append(st.queues, QueueID(res.ID))
		}
		res, _ = s.must(&CreateCode{Target: admin, CodeKind: WrapUpCode, Name: "done"})
		st.code = CodeID(res.ID)
		for j := range 1 + s.r.IntN(12) {
			var pos []Position
			for k := range 1 + s.r.IntN(2) {
				pos = append(pos, Position{Name: "p" + strconv.Itoa(k), Domain: st.domains[s.r.IntN(len(st.domains))]})
			}
			res, _ := s.must(&CreateUser{Target: admin, Name: "agent" + strconv.Itoa(j), Home: HomeDomain,
				Grants:    []Grant{{Role: RoleAgent, Scope: Scope{All: true}}},
				Positions: pos, Memberships: s.memberships(st.queues)})
			st.agents = append(st.agents, UserID(res.ID))
		}
		s.tenants = append(s.tenants, st)
	}
}

func (s *selectionRun) memberships(queues []QueueID) []Membership {
	var ms []Membership
	for _, q := range queues {
		if s.r.IntN(3) > 0 {
			ms = append(ms, Membership{Queue: q, Tier: 1 + s.r.IntN(3)})
		}
	}
	return ms
}

// agentOf returns the routing view of an agent from its active domain.
func agentOf(t *Tenant, id UserID) *Agent {
	return t.routing[t.Users[id].activeDomain()].Agents[id]
}

// callbacksIn lists the tenant's callbacks with one of the statuses, in id order.
func callbacksIn(t *Tenant, st ...CallbackStatus) []*Callback {
	var out []*Callback
	for _, s := range t.Callbacks.kept() {
		if c := s.c; c != nil && slices.Contains(st, c.Status) { // nil: forgotten
			out = append(out, c)
		}
	}
	return out
}

// step picks a random command for a random tenant and the effects the
// oracle must apply for it. It returns nil when the pick does not apply.
func (s *selectionRun) step() (Command, TenantID, func(o *oracle, now int64)) {
	st := &s.tenants[s.r.IntN(len(s.tenants))]
	t := s.e.Tenant(st.id)
	admin := Target{Tenant: st.id, By: AsUser(1)}
	pick := func(cs []*Callback) *Callback {
		if len(cs) == 0 {
			return nil
		}
		return cs[s.r.IntN(len(cs))]
	}
	switch n := s.r.IntN(100); {
	case n < 20: // presence
		id := st.agents[s.r.IntN(len(st.agents))]
		a := agentOf(t, id)
		if a.Callback != 0 {
			return nil, 0, nil
		}
		cmd := &SetPresence{Target: Target{Tenant: st.id, By: AsUser(id)}, Agent: id}
		if a.Presence != Available {
			cmd.Presence = Available
			return cmd, st.id, func(o *oracle, now int64) { o.available(id, now) }
		}
		cmd.Presence = Offline
		if s.r.IntN(2) == 0 {
			cmd.Presence, cmd.Reason = Away, t.Policy.NotRespondingAway
		}
		return cmd, st.id, func(o *oracle, now int64) { o.agents[id].presence = cmd.Presence }
	case n < 45: // create
		s.numbers++
		cmd := &CreateCallback{Target: admin, Queue: st.queues[s.r.IntN(len(st.queues))],
			Domain: st.domains[s.r.IntN(len(st.domains))], CustomerName: "c", Numbers: []string{"+1555" + strconv.Itoa(s.numbers)},
			Priority: s.r.IntN(3)}
		if s.r.IntN(4) == 0 {
			cmd.ScheduledAt = s.now.Add(time.Duration(1+s.r.IntN(30)) * time.Second)
		}
		return cmd, st.id, func(o *oracle, now int64) {
			c := &oracleCallback{id: t.Next.Callback + 1, seq: uint64(t.Next.Callback + 1), queue: cmd.Queue, domain: cmd.Domain, status: Scheduled, priority: int32(cmd.Priority), due: now}
			o.cbs[c.id] = c
			if !cmd.ScheduledAt.IsZero() {
				c.due = cmd.ScheduledAt.UnixNano()
				return
			}
			o.queue(c, now)
		}
	case n < 60: // accept or reject
		c := pick(callbacksIn(t, Offered))
		if c == nil {
			return nil, 0, nil
		}
		tg := Target{Tenant: st.id, By: AsUser(c.Agent)}
		if s.r.IntN(3) > 0 {
			return &AcceptOffer{Target: tg, Callback: c.ID, Offer: c.Offer}, st.id, func(o *oracle, now int64) {
				o.cbs[c.ID].status, o.cbs[c.ID].attempts = InProgress, o.cbs[c.ID].attempts+1
				o.agents[c.Agent].presence = Busy
			}
		}
		agent := c.Agent
		return &RejectOffer{Target: tg, Callback: c.ID, Offer: c.Offer}, st.id, func(o *oracle, now int64) {
			o.queue(o.cbs[c.ID], now)
			o.available(agent, now)
		}
	case n < 72: // complete or fail
		c := pick(callbacksIn(t, InProgress))
		if c == nil {
			return nil, 0, nil
		}
		tg := Target{Tenant: st.id, By: AsUser(c.Agent)}
		agent := c.Agent
		release := func(o *oracle, now int64) {
			o.agents[agent].handled++
			o.available(agent, now)
		}
		if s.r.IntN(3) > 0 {
			return &CompleteCallback{Target: tg, Callback: c.ID, Disposition: st.code}, st.id, func(o *oracle, now int64) {
				delete(o.cbs, c.ID)
				release(o, now)
			}
		}
		return &FailAttempt{Target: tg, Callback: c.ID}, st.id, func(o *oracle, now int64) {
			oc := o.cbs[c.ID]
			if int(oc.attempts) >= o.policy.MaxAttempts {
				delete(o.cbs, c.ID)
			} else {
				oc.status, oc.agent, oc.due = Scheduled, 0, now+int64(o.policy.RetryDelay)
			}
			release(o, now)
		}
	case n < 76: // cancel
		c := pick(callbacksIn(t, Queued, Scheduled, Offered))
		if c == nil {
			return nil, 0, nil
		}
		agent, offered := c.Agent, c.Status == Offered
		return &CancelCallback{Target: admin, Callback: c.ID}, st.id, func(o *oracle, now int64) {
			delete(o.cbs, c.ID)
			if offered {
				o.available(agent, now)
			}
		}
	case n < 81: // reschedule
		c := pick(callbacksIn(t, Queued, Scheduled))
		if c == nil {
			return nil, 0, nil
		}
		at := s.now.Add(time.Duration(s.r.IntN(40)-10) * time.Second)
		return &RescheduleCallback{Target: admin, Callback: c.ID, At: at}, st.id, func(o *oracle, now int64) {
			oc := o.cbs[c.ID]
			oc.status, oc.due = Scheduled, max(at.UnixNano(), now)
			if oc.due <= now {
				o.queue(oc, now)
			}
		}
	case n < 85: // transfer
		c := pick(callbacksIn(t, Queued, Scheduled))
		if c == nil {
			return nil, 0, nil
		}
		q := st.queues[s.r.IntN(len(st.queues))]
		return &TransferCallback{Target: admin, Callback: c.ID, Queue: q}, st.id, func(o *oracle, now int64) {
			oc := o.cbs[c.ID]
			oc.queue, oc.domain = q, t.Queues[q].Domain
			if oc.due <= now { // waiting, or scheduled and due but not yet ticked
				o.queue(oc, now)
			}
		}
	case n < 89: // switch position
		id := st.agents[s.r.IntN(len(st.agents))]
		u := t.Users[id]
		if len(u.Positions) < 2 || agentOf(t, id).Callback != 0 {
			return nil, 0, nil
		}
		if u.Presence != agentOf(t, id).Presence {
			s.t.Fatalf("agent %d: tenant mirror says %v, its domain says %v", id, u.Presence, agentOf(t, id).Presence)
			return nil, 0, nil
		}
		to := 1 - u.Active
		return &SwitchPosition{Target: Target{Tenant: st.id, By: AsUser(id)}, Agent: id, Position: to}, st.id, func(o *oracle, now int64) {
			o.agents[id].domain = u.Positions[to].Domain
			o.route(now)
		}
	case n < 92: // memberships
		id := st.agents[s.r.IntN(len(st.agents))]
		ms := s.memberships(st.queues)
		return &UpdateUser{Target: admin, User: id, Memberships: &ms}, st.id, func(o *oracle, now int64) {
			a := o.agents[id]
			a.slots = a.slots[:0]
			for _, m := range ms {
				a.slots = append(a.slots, Slot{Queue: m.Queue, Tier: int32(m.Tier)})
			}
			o.route(now)
		}
	case n < 94: // strategy
		q := st.queues[s.r.IntN(len(st.queues))]
		strategy := Strategy(1 + s.r.IntN(3))
		return &UpdateQueue{Target: admin, Queue: q, Strategy: &strategy}, st.id, func(o *oracle, now int64) {
			o.strategy[q] = strategy
		}
	default: // time passes
		s.now = s.now.Add(time.Duration(s.r.IntN(12)) * time.Second)
		return &Tick{Tenant: st.id}, st.id, func(o *oracle, now int64) { o.tick(now) }
	}
}

func offersOf(events []Event) []oracleOffer {
	var out []oracleOffer
	for _, e := range events {
		if e.Kind == EvCallbackOffered {
			out = append(out, oracleOffer{Callback: e.Callback, Agent: e.Agent, Domain: e.Domain})
		}
	}
	return out
}

func TestSelectionOracle(t *testing.T) {
	const cases, steps = 200, 150
	const base = 1 // case i uses seed base+i
	decisions := 0
	for i := range uint64(cases) {
		seed := base + i
		s := &selectionRun{t: t, r: rand.New(rand.NewPCG(seed, 0x5e1ec7)), e: NewEngine(), now: time.Unix(1_800_000_000, 0)}
		s.setup()
		for n := 0; n < steps; n++ {
			cmd, tid, effect := s.step()
			if cmd == nil {
				continue
			}
			o := loadOracle(s.e.Tenant(tid))
			if o.route(s.now.UnixNano()); len(o.offers) > 0 {
				t.Fatalf("seed %d step %d: before %T: waiting callbacks with eligible agents: %v", seed, n, cmd, o.offers)
			}
			effect(o, s.now.UnixNano())
			_, ev := s.must(cmd)
			decisions += len(o.offers)
			if got := offersOf(ev); !slices.Equal(got, o.offers) {
				t.Fatalf("seed %d step %d: Route(%T %+v) = %v, want %v", seed, n, cmd, cmd, got, o.offers)
			}
			for _, e := range ev {
				if e.Tenant != tid {
					t.Fatalf("seed %d step %d: %T on tenant %d emitted %v", seed, n, cmd, tid, e)
				}
			}
		}
	}
	if decisions < cases*10 {
		t.Fatalf("only %d routing decisions in %d cases; the generator is too weak", decisions, cases)
	}
	t.Logf("%d routing decisions checked in %d cases", decisions, cases)
}
