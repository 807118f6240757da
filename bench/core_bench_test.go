package bench

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/ringbackhq/ringback/actors"
)

// Routing-core benchmarks.
//
// A routing decision is one offer: an agent picked for a callback. The
// steady state is one queue per tenant with agents all holding an offer and
// a long line of waiting callbacks. Each step, the agent holding the oldest
// offer accepts it and reports a failed attempt; with a retry delay of zero
// the callback goes straight back into the line (behind the others), the
// agent becomes available and the engine offers it the head of the line.
// That is one decision per step, and nothing grows: completing callbacks
// instead would keep every completed callback in the domain (the core keeps
// callback data until the tenant is deleted) and measure memory growth, not
// routing. Callbacks that reach the maximum attempts are replaced outside
// the timer. (cycle=reject is the one-command variant, see benchRoutingPure.) Time advances 1µs per decision, and each tenant is ticked every
// 1024 of its decisions so stale offer deadlines are dropped.
//
//	go test -run '^$' -bench . -benchmem ./bench/

// routingShape is the population of one tenant.
type routingShape struct {
	tenants, agents, waiting int
}

func routingShapes() []routingShape {
	return []routingShape{
		{tenants: 1, agents: 1000, waiting: 10000},
		{tenants: 100, agents: 10, waiting: 100},
		{tenants: 1000, agents: 10, waiting: 100},
		{tenants: 10000, agents: 10, waiting: 100},
	}
}

var routingEpoch = time.Unix(1_800_000_000, 0).UTC()

// routingTenant is one tenant of the fixture with its pre-built commands:
// per agent index, the accept and fail commands of the offer it holds.
type routingTenant struct {
	id      actors.TenantID
	queue   actors.QueueID
	admin   actors.Target
	first   actors.UserID // agent i is first+i
	accept  []actors.AcceptOffer
	fail    []actors.FailAttempt
	reject  []actors.RejectOffer
	pending []int // agent indexes holding an offer, oldest first (a ring)
	head, n int
	waiting int // callbacks queued, from the events
	numbers int
	since   int // decisions since the last tick
	batch   []actors.TenantCommand
}

func (rt *routingTenant) push(i int) {
	rt.pending[(rt.head+rt.n)%len(rt.pending)] = i
	rt.n++
}

func (rt *routingTenant) pop() int {
	i := rt.pending[rt.head]
	rt.head = (rt.head + 1) % len(rt.pending)
	rt.n--
	return i
}

// observe takes the offers and queue changes out of events and returns
// the number of offers (decisions).
func (rt *routingTenant) observe(events []actors.Event) int {
	d := 0
	for i := range events {
		e := &events[i]
		switch e.Kind {
		case actors.EvCallbackOffered:
			j := int(e.Agent - rt.first)
			rt.accept[j].Callback, rt.accept[j].Offer = e.Callback, e.Offer
			rt.fail[j].Callback = e.Callback
			rt.reject[j].Callback, rt.reject[j].Offer = e.Callback, e.Offer
			rt.push(j)
			rt.waiting--
			d++
		case actors.EvCallbackQueued:
			rt.waiting++
		}
	}
	return d
}

type applier interface {
	Apply(actors.Command, time.Time) (actors.Result, []actors.Event, error)
}

func mustApply(b *testing.B, a applier, cmd actors.Command, now time.Time) (actors.Result, []actors.Event) {
	res, ev, err := a.Apply(cmd, now)
	if err != nil {
		b.Fatalf("%T: %v", cmd, err)
	}
	return res, ev
}

func routingPolicy() *actors.Policy {
	p := actors.DefaultPolicy()
	p.MaxAttempts = 100
	p.RetryDelay = 0
	p.OfferTimeout = time.Second
	p.CallbackTTL = 0
	p.Duplicates = actors.DuplicateAllow
	return &p
}

// newRoutingTenant creates a tenant with one queue, agents and waiting
// callbacks, then makes every agent available, which makes the first offers.
func newRoutingTenant(b *testing.B, e *actors.Engine, sh routingShape, now time.Time) *routingTenant {
	res, _ := mustApply(b, e, &actors.CreateTenant{
		Profile: actors.Profile{CompanyName: "Bench", AdminUsername: "admin", AdminEmail: "admin@bench.test", AdminFirstName: "Ada"},
		Limits:  actors.Limits{MaxAgents: sh.agents + 1, StorageQuotaBytes: 1 << 40},
		Policy:  routingPolicy(),
	}, now)
	rt := &routingTenant{id: actors.TenantID(res.ID)}
	rt.admin = actors.Target{Tenant: rt.id, By: actors.AsUser(1)}
	res, _ = mustApply(b, e, &actors.CreateQueue{Target: rt.admin, Name: "q", Domain: actors.HomeDomain}, now)
	rt.queue = actors.QueueID(res.ID)
	rt.accept = make([]actors.AcceptOffer, sh.agents)
	rt.fail = make([]actors.FailAttempt, sh.agents)
	rt.reject = make([]actors.RejectOffer, sh.agents)
	rt.pending = make([]int, sh.agents)
	rt.batch = make([]actors.TenantCommand, 0, 2*sh.agents)
	for i := range sh.agents {
		res, _ := mustApply(b, e, &actors.CreateUser{Target: rt.admin, Name: "agent" + strconv.Itoa(i), Home: actors.HomeDomain,
			Grants:      []actors.Grant{{Role: actors.RoleAgent, Scope: actors.Scope{All: true}}},
			Memberships: []actors.Membership{{Queue: rt.queue, Tier: 1}}}, now)
		id := actors.UserID(res.ID)
		if i == 0 {
			rt.first = id
		}
		tg := actors.Target{Tenant: rt.id, By: actors.AsUser(id)}
		rt.accept[i].Target, rt.fail[i].Target, rt.reject[i].Target = tg, tg, tg
	}
	rt.refill(b, e, sh.waiting, now)
	for i := range sh.agents {
		_, ev := mustApply(b, e, &actors.SetPresence{Target: rt.accept[i].Target, Agent: rt.first + actors.UserID(i), Presence: actors.Available}, now)
		rt.observe(ev)
	}
	if want := min(sh.agents, sh.waiting); rt.n != want {
		b.Fatalf("%d offers after setup, want %d", rt.n, want)
	}
	return rt
}

// refill creates callbacks until want are waiting.
func (rt *routingTenant) refill(b *testing.B, a applier, want int, now time.Time) {
	for rt.waiting < want {
		rt.numbers++
		_, ev := mustApply(b, a, &actors.CreateCallback{Target: rt.admin, Queue: rt.queue, CustomerName: "Customer",
			Numbers: []string{"+1555" + strconv.Itoa(rt.numbers)}}, now)
		rt.observe(ev)
	}
}

// meter counts time, allocations and the process's CPU time only while
// the benchmark timer runs. CPU per decision shows what a change costs
// even when other work shares the machine and skews the rate.
type meter struct {
	b       *testing.B
	mallocs uint64
	cpu     time.Duration
	ms      runtime.MemStats
	// The steal is taken over the whole run, from the first start to the
	// report: /proc/stat counts it in 10 ms ticks, credited at a tick for
	// the time since the last one, so summing it over many short timed
	// stretches overcounted (159% of the machine in one run).
	began  time.Time
	stolen time.Duration // stolenCPU at began
}

// start reads the steal outside the bracket of the allocation count and
// the CPU time: reading /proc/stat allocates.
func (m *meter) start() {
	if m.began.IsZero() {
		m.began, m.stolen = time.Now(), stolenCPU()
	}
	runtime.ReadMemStats(&m.ms)
	m.mallocs -= m.ms.Mallocs
	m.cpu -= processCPU()
	m.b.StartTimer()
}

func (m *meter) stop() {
	m.b.StopTimer()
	m.cpu += processCPU()
	runtime.ReadMemStats(&m.ms)
	m.mallocs += m.ms.Mallocs
}

func (m *meter) report(decisions int) {
	m.b.ReportMetric(float64(decisions)/m.b.Elapsed().Seconds(), "decisions/s")
	m.b.ReportMetric(float64(m.mallocs)/float64(decisions), "allocs/decision")
	m.b.ReportMetric(float64(m.cpu.Nanoseconds())/float64(decisions), "cpu-ns/decision")
	m.b.ReportMetric(stealPercent(stolenCPU()-m.stolen, time.Since(m.began)), "steal-%")
}

func BenchmarkRouting(b *testing.B) {
	for _, sh := range routingShapes() {
		name := fmt.Sprintf("tenants=%d/agents=%d/waiting=%d", sh.tenants, sh.agents, sh.waiting)
		b.Run("mode=pure/cycle=retry/"+name, func(b *testing.B) { benchRoutingPure(b, sh, false) })
		b.Run("mode=pure/cycle=reject/"+name, func(b *testing.B) { benchRoutingPure(b, sh, true) })
		b.Run("mode=actors/cycle=retry/"+name, func(b *testing.B) { benchRoutingActors(b, sh) })
	}
}

func newRoutingFixture(b *testing.B, sh routingShape) (*actors.Engine, []*routingTenant) {
	e := actors.NewEngine()
	ts := make([]*routingTenant, sh.tenants)
	for i := range ts {
		ts[i] = newRoutingTenant(b, e, sh, routingEpoch)
	}
	return e, ts
}

// benchRoutingPure runs b.N decisions through Engine.Apply, tenants in
// turn, each answering all the offers it holds. With reject, the agent
// rejects instead: the callback goes back to the head of its line and the
// agent, available again, is offered it again; one command per decision,
// the cheapest decision the engine makes.
func benchRoutingPure(b *testing.B, sh routingShape, reject bool) {
	e, ts := newRoutingFixture(b, sh)
	now := routingEpoch
	tick := &actors.Tick{}
	m := &meter{b: b}
	// decide makes at least n decisions, tenants in turn, each answering
	// all the offers it holds, as a batch of the log for one tenant would;
	// metered, the meter runs except while lines are refilled.
	decide := func(n int, metered bool) int {
		decisions := 0
		for k := 0; decisions < n; k++ {
			rt := ts[k%len(ts)]
			if rt.waiting < sh.agents || rt.n == 0 {
				if metered {
					m.stop()
				}
				rt.refill(b, e, sh.waiting, now)
				if metered {
					m.start()
				}
			}
			for p := rt.n; p > 0 && decisions < n; p-- {
				now = now.Add(time.Microsecond)
				i := rt.pop()
				var cmd actors.Command = &rt.reject[i]
				if !reject {
					if _, _, err := e.Apply(&rt.accept[i], now); err != nil {
						b.Fatal(err)
					}
					cmd = &rt.fail[i]
				}
				_, ev, err := e.Apply(cmd, now)
				if err != nil {
					b.Fatal(err)
				}
				d := rt.observe(ev)
				decisions += d
				if rt.since += d; rt.since >= 1024 {
					rt.since = 0
					tick.Tenant = rt.id
					if _, _, err := e.Apply(tick, now); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
		return decisions
	}
	// Untimed first, as many decisions as callbacks wait: each has then
	// been offered once (its record taken, its tenant's buffers grown), so
	// the measurement is of the steady state, not of first offers.
	decide(sh.tenants*sh.waiting, false)
	runtime.GC()
	b.ResetTimer()
	b.StopTimer()
	m.start()
	decisions := decide(b.N, true)
	m.stop()
	m.report(decisions)
}

// benchRoutingActors runs rounds through the actor system: each round sends
// every tenant one batch (accept and fail for each offer it holds) with
// ApplyBatches, so tenants work in parallel, then reads the outcomes. The
// batches are kept from round to round, as ApplyBatches allows, so the
// driving allocates nothing. A round is the unit of work, so b.N is
// rounded up to whole rounds and ns/op is only meaningful through
// decisions/s.
func benchRoutingActors(b *testing.B, sh routingShape) {
	e, ts := newRoutingFixture(b, sh)
	s := actors.NewSystem(e)
	defer s.Stop()
	now := routingEpoch
	batches := make([]actors.Batch, len(ts))
	m := &meter{b: b}
	decisions, rounds := 0, 0
	round := func() {
		now = now.Add(time.Duration(sh.agents) * time.Microsecond)
		for k, rt := range ts {
			if rt.waiting < sh.agents {
				m.stop()
				rt.refill(b, s, sh.waiting, now)
				m.start()
			}
			rt.batch = rt.batch[:0]
			for rt.n > 0 {
				i := rt.pop()
				rt.batch = append(rt.batch, &rt.accept[i], &rt.fail[i])
			}
			batches[k].Tenant, batches[k].Cmds = rt.id, rt.batch
		}
		s.ApplyBatches(batches, now)
		for k, rt := range ts {
			for _, o := range batches[k].Outcomes {
				if o.Err != nil {
					b.Fatal(o.Err)
				}
				decisions += rt.observe(o.Events)
			}
		}
		if rounds++; rounds%(1+100/sh.agents) == 0 {
			if _, _, err := s.Apply(&actors.Tick{}, now); err != nil {
				b.Fatal(err)
			}
		}
	}
	// Untimed first, as in benchRoutingPure, rounds until each callback
	// has been offered once (and the domain actors, spawned on first use,
	// exist).
	b.StopTimer()
	for range max(1, sh.waiting/sh.agents) {
		round()
	}
	decisions = 0
	runtime.GC()
	b.ResetTimer()
	b.StopTimer()
	m.start()
	for decisions < b.N {
		round()
	}
	m.stop()
	m.report(decisions)
}

// BenchmarkMemory measures the heap held per waiting callback and per
// agent: live heap after GC before and after creating b.N of them.
func BenchmarkMemory(b *testing.B) {
	b.Run("per=callback", func(b *testing.B) {
		e := actors.NewEngine()
		rt := newRoutingTenant(b, e, routingShape{}, routingEpoch)
		before := liveHeap()
		b.ResetTimer()
		rt.refill(b, e, rt.waiting+b.N, routingEpoch)
		b.StopTimer()
		b.ReportMetric(float64(liveHeap()-before)/float64(b.N), "B/callback")
		runtime.KeepAlive(e)
	})
	b.Run("per=agent", func(b *testing.B) {
		e := actors.NewEngine()
		rt := newRoutingTenant(b, e, routingShape{}, routingEpoch)
		mustApply(b, e, &actors.UpdateTenant{Tenant: rt.id, Limits: &actors.Limits{MaxAgents: 100000, StorageQuotaBytes: 1 << 40}}, routingEpoch)
		n := min(b.N, 10000) // creating an agent scans every user, so keep n modest
		before := liveHeap()
		b.ResetTimer()
		for i := range n {
			mustApply(b, e, &actors.CreateUser{Target: rt.admin, Name: "a" + strconv.Itoa(i), Home: actors.HomeDomain,
				Grants:      []actors.Grant{{Role: actors.RoleAgent, Scope: actors.Scope{All: true}}},
				Memberships: []actors.Membership{{Queue: rt.queue, Tier: 1}}}, routingEpoch)
		}
		b.StopTimer()
		b.ReportMetric(float64(liveHeap()-before)/float64(n), "B/agent")
		runtime.KeepAlive(e)
	})
}

func liveHeap() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
