package actors

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"
)

// Determinism: a seeded generator writes a command log over several
// tenants (domains, queues, agents with several positions, automatic
// switching for some tenants, presences, the whole callback lifecycle,
// ticks as time advances, and commands that must be refused). The log is
// generated against a reference engine, checking invariants after every
// step and that a refused command changed nothing. Then:
//
//   - replaying it on a fresh Engine gives the same hash and the same
//     events after every step;
//   - a snapshot restored at random points and fed the rest of the log
//     stays in step with the engine it was taken from;
//   - the same log through the actor System (single commands and
//     per-tenant batches) gives the same outcomes and the same final state.

type detStep struct {
	cmd Command
	now time.Time
}

type detOutcome struct {
	hash   [32]byte
	events []Event
	err    string
}

type detTenant struct {
	id      TenantID
	domains []DomainID
	queues  []QueueID
	agents  []UserID
	app     AppID
	code    CodeID
	policy  Policy
	created *CreateTenant // its create, with an idempotency key
}

type detGen struct {
	t       *testing.T
	r       *rand.Rand
	e       *Engine
	now     time.Time
	log     []detStep
	out     []detOutcome
	tenants []*detTenant
	refused int
	offers  int
}

func detHash(t *testing.T, e *Engine) [32]byte {
	t.Helper()
	h, err := e.Hash()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// do applies cmd to the reference engine, records it and its outcome, and
// checks that a refusal changed nothing and that the invariants hold.
func (g *detGen) do(cmd Command) (Result, error) {
	g.t.Helper()
	before := detHash(g.t, g.e)
	res, ev, err := g.e.Apply(cmd, g.now)
	o := detOutcome{hash: detHash(g.t, g.e), events: slices.Clone(ev)}
	if err != nil {
		o.err = err.Error()
		g.refused++
		if o.hash != before || len(ev) != 0 {
			g.t.Fatalf("step %d: refused %T %+v (%v) changed the state or emitted %v", len(g.log), cmd, cmd, err, ev)
		}
	}
	for _, e := range ev {
		if e.Kind == EvCallbackOffered {
			g.offers++
		}
		if tc, ok := cmd.(TenantCommand); ok && e.Tenant != tc.TenantOf() {
			g.t.Fatalf("step %d: %T for tenant %d emitted %v", len(g.log), cmd, tc.TenantOf(), e)
		}
	}
	g.log = append(g.log, detStep{cmd: cmd, now: g.now})
	g.out = append(g.out, o)
	if err := checkRouting(g.e); err != nil {
		g.t.Fatalf("step %d: after %T %+v: %v", len(g.log)-1, cmd, cmd, err)
	}
	return res, err
}

func (g *detGen) must(cmd Command) uint64 {
	g.t.Helper()
	res, err := g.do(cmd)
	if err != nil {
		g.t.Fatalf("setup %T %+v: %v", cmd, cmd, err)
	}
	return res.ID
}

// checkRouting checks the routing invariants of every tenant: a callback
// is offered to (or handled by) one agent at a time, of its own tenant,
// whose active position is in the callback's domain and whose routing
// state says so; the tenant's presence mirror agrees with the domains.
func checkRouting(e *Engine) error {
	for _, tid := range sortedKeys(e.Tenants) {
		t := e.Tenants[tid]
		holder := map[UserID]CallbackID{}
		for _, did := range sortedKeys(t.routing) {
			d := t.routing[did]
			if d.Tenant != tid || d.ID != did {
				return fmt.Errorf("tenant %d: domain %d claims tenant %d domain %d", tid, did, d.Tenant, d.ID)
			}
			for c := range d.callbacks() {
				cid := c.ID
				if at, _ := t.callbackDomain(cid); at != did || c.Domain != did {
					return fmt.Errorf("tenant %d: callback %d is in domain %d, index says %d, callback says %d", tid, cid, did, at, c.Domain)
				}
				if c.Status != Offered && c.Status != InProgress {
					continue
				}
				if prev, ok := holder[c.Agent]; ok {
					return fmt.Errorf("tenant %d: agent %d holds callbacks %d and %d", tid, c.Agent, prev, cid)
				}
				holder[c.Agent] = cid
				u := t.Users[c.Agent]
				if u == nil || u.activeDomain() != did {
					return fmt.Errorf("tenant %d: %s callback %d of domain %d is with agent %d, not active there", tid, c.Status, cid, did, c.Agent)
				}
				a := d.Agents[c.Agent]
				want := map[CallbackStatus]Presence{Offered: Reserved, InProgress: Busy}[c.Status]
				if a == nil || a.Callback != cid || a.Presence != want {
					return fmt.Errorf("tenant %d: %s callback %d: agent %d routing state %+v", tid, c.Status, cid, c.Agent, a)
				}
			}
			for _, aid := range sortedKeys(d.Agents) {
				a := d.Agents[aid]
				u := t.Users[aid]
				if u == nil || u.activeDomain() != did {
					return fmt.Errorf("tenant %d: domain %d holds agent %d whose active position is elsewhere", tid, did, aid)
				}
				if u.Presence != a.Presence {
					return fmt.Errorf("tenant %d: agent %d is %v in domain %d, the tenant says %v", tid, aid, a.Presence, did, u.Presence)
				}
				if a.Callback != 0 && holder[aid] != a.Callback {
					return fmt.Errorf("tenant %d: agent %d says it holds callback %d", tid, aid, a.Callback)
				}
			}
		}
	}
	return nil
}

func (g *detGen) setup(n int) {
	for i := range n {
		p := DefaultPolicy()
		p.AutoSwitchPosition = i%2 == 1
		p.OfferTimeout = time.Duration(10+g.r.IntN(20)) * time.Second
		p.RetryDelay = time.Duration(5+g.r.IntN(20)) * time.Second
		p.MaxAttempts = 1 + g.r.IntN(3)
		p.CloseCommentRequired = i == 2
		if i%2 == 0 {
			p.RecordRetention = 24 * time.Hour // the day-long jumps below forget finished callbacks
		}
		if i%3 == 0 {
			p.CallbackTTL = time.Duration(60+g.r.IntN(120)) * time.Second
			p.WrapUp = 3 * time.Second
			p.Duplicates = DuplicateAllow
		}
		s := strconv.Itoa(i)
		dt := &detTenant{policy: p, domains: []DomainID{HomeDomain}}
		dt.created = &CreateTenant{Profile: Profile{CompanyName: "Tenant " + s, AdminUsername: "admin" + s, AdminEmail: "admin@t" + s + ".test", AdminFirstName: "Ada"},
			Policy: &p, IdempotencyKey: "tenant-" + s, RequestHash: "body-" + s}
		dt.id = TenantID(g.must(dt.created))
		admin := Target{Tenant: dt.id, By: AsUser(1)}
		for j := range 2 + g.r.IntN(2) {
			parent := dt.domains[g.r.IntN(len(dt.domains))]
			dt.domains = append(dt.domains, DomainID(g.must(&CreateDomain{Target: admin, Name: "dom" + strconv.Itoa(j), Parent: parent})))
		}
		for j := range 2 + g.r.IntN(2) {
			dom := HomeDomain
			if j > 0 {
				dom = dt.domains[g.r.IntN(len(dt.domains))]
			}
			dt.queues = append(dt.queues, QueueID(g.must(&CreateQueue{Target: admin, Name: "queue" + strconv.Itoa(j), Domain: dom, Strategy: Strategy(1 + g.r.IntN(3))})))
		}
		dt.code = CodeID(g.must(&CreateCode{Target: admin, CodeKind: WrapUpCode, Name: "done"}))
		g.must(&CreateCode{Target: admin, CodeKind: AwayReason, Name: "lunch"})
		dt.app = AppID(g.must(&CreateApp{Target: admin, Name: "web", Domain: dt.domains[len(dt.domains)-1]}))
		for j := range 3 + g.r.IntN(5) {
			var pos []Position
			for k := range 1 + g.r.IntN(3) {
				pos = append(pos, Position{Name: "pos" + strconv.Itoa(k), Domain: dt.domains[g.r.IntN(len(dt.domains))]})
			}
			dt.agents = append(dt.agents, UserID(g.must(&CreateUser{Target: admin, Name: "agent" + strconv.Itoa(j), Home: HomeDomain,
				Grants: []Grant{{Role: RoleAgent, Scope: Scope{All: true}}}, Positions: pos, Memberships: g.memberships(dt)})))
		}
		g.tenants = append(g.tenants, dt)
	}
}

func (g *detGen) memberships(dt *detTenant) []Membership {
	var ms []Membership
	for _, q := range dt.queues {
		if g.r.IntN(3) > 0 {
			ms = append(ms, Membership{Queue: q, Tier: 1 + g.r.IntN(2)})
		}
	}
	return ms
}

// step generates and applies one random command.
func (g *detGen) step() {
	dt := g.tenants[g.r.IntN(len(g.tenants))]
	t := g.e.Tenant(dt.id)
	admin := Target{Tenant: dt.id, By: AsUser(1)}
	agent := dt.agents[g.r.IntN(len(dt.agents))]
	self := Target{Tenant: dt.id, By: AsUser(agent)}
	pick := func(st ...CallbackStatus) *Callback {
		cs := callbacksIn(t, st...)
		if len(cs) == 0 {
			return nil
		}
		return cs[g.r.IntN(len(cs))]
	}
	anyCallback := CallbackID(1 + g.r.IntN(int(t.Next.Callback)+1))
	if t.Status == TenantDisabled && g.r.IntN(3) == 0 {
		g.do(&SetTenantStatus{Tenant: dt.id, Status: TenantActive})
		return
	}
	switch n := g.r.IntN(100); {
	case n < 14:
		p := []Presence{Available, Available, Available, Available, Offline, Away}[g.r.IntN(6)]
		reason := ""
		if p == Away {
			reason = []string{"lunch", t.Policy.NotRespondingAway}[g.r.IntN(2)]
		}
		g.do(&SetPresence{Target: self, Agent: agent, Presence: p, Reason: reason})
	case n < 32:
		c := &CreateCallback{Target: admin, Queue: dt.queues[g.r.IntN(len(dt.queues))], CustomerName: "Customer",
			Numbers: []string{"+1555" + strconv.Itoa(g.r.IntN(40))}, Priority: g.r.IntN(3)}
		if g.r.IntN(3) == 0 {
			c.Domain = dt.domains[g.r.IntN(len(dt.domains))] // may not be served by the queue: refused
		}
		if g.r.IntN(5) == 0 {
			c.Target.By = AsApp(dt.app)
		}
		if g.r.IntN(4) == 0 {
			c.ScheduledAt = g.now.Add(time.Duration(1+g.r.IntN(60)) * time.Second)
		}
		if g.r.IntN(6) == 0 {
			c.IdempotencyKey = "k" + strconv.Itoa(g.r.IntN(10))
		}
		g.do(c)
	case n < 46:
		c := pick(Offered)
		if c == nil {
			return
		}
		tg, offer := Target{Tenant: dt.id, By: AsUser(c.Agent)}, c.Offer
		if g.r.IntN(8) == 0 {
			offer++ // stale or foreign: refused
		}
		if g.r.IntN(8) == 0 {
			tg.By = AsUser(agent) // another agent: refused unless it is the same one
		}
		if g.r.IntN(3) > 0 {
			g.do(&AcceptOffer{Target: tg, Callback: c.ID, Offer: offer})
		} else {
			g.do(&RejectOffer{Target: tg, Callback: c.ID, Offer: offer})
		}
	case n < 56:
		c := pick(InProgress)
		if c == nil {
			return
		}
		tg := Target{Tenant: dt.id, By: AsUser(c.Agent)}
		if g.r.IntN(3) > 0 {
			comment := ""
			if g.r.IntN(2) == 0 {
				comment = "ok" // the tenant that requires one refuses without
			}
			g.do(&CompleteCallback{Target: tg, Callback: c.ID, Disposition: dt.code, Comment: comment})
		} else {
			g.do(&FailAttempt{Target: tg, Callback: c.ID, Reason: "no answer"})
		}
	case n < 60:
		g.do(&CancelCallback{Target: admin, Callback: anyCallback})
	case n < 63:
		g.do(&RescheduleCallback{Target: admin, Callback: anyCallback, At: g.now.Add(time.Duration(g.r.IntN(60)-10) * time.Second)})
	case n < 66:
		g.do(&TransferCallback{Target: admin, Callback: anyCallback, Queue: dt.queues[g.r.IntN(len(dt.queues))]})
	case n < 67: // some of time, priority and queue at once
		c := &UpdateCallback{Target: admin, Callback: anyCallback}
		if g.r.IntN(2) == 0 {
			at := g.now.Add(time.Duration(g.r.IntN(60)-10) * time.Second)
			c.At = &at
		}
		if g.r.IntN(2) == 0 {
			p := g.r.IntN(3)
			c.Priority = &p
		}
		if g.r.IntN(2) == 0 {
			q := dt.queues[g.r.IntN(len(dt.queues))]
			c.Queue = &q
		}
		g.do(c)
	case n < 71:
		g.do(&SwitchPosition{Target: self, Agent: agent, Position: g.r.IntN(len(t.Users[agent].Positions) + 1)})
	case n < 73:
		ms := g.memberships(dt)
		g.do(&UpdateUser{Target: admin, User: agent, Memberships: &ms})
	case n < 74:
		st := Strategy(1 + g.r.IntN(3))
		g.do(&UpdateQueue{Target: admin, Queue: dt.queues[g.r.IntN(len(dt.queues))], Strategy: &st})
	case n < 75: // the channel or the wrap-up code renamed (the code, too, as an away reason: refused)
		name := fmt.Sprint("name-", g.r.IntN(100))
		switch g.r.IntN(3) {
		case 0:
			g.do(&RenameObject{Target: admin, Object: RenameApp, ID: uint32(dt.app), Name: name})
		case 1:
			g.do(&RenameObject{Target: admin, Object: RenameWrapUpCode, ID: uint32(dt.code), Name: name})
		default:
			g.do(&RenameObject{Target: admin, Object: RenameAwayReason, ID: uint32(dt.code), Name: name})
		}
	case n < 76: // deactivated for a while: its commands are refused
		g.do(&SetTenantStatus{Tenant: dt.id, Status: TenantDisabled})
	case n < 77 && g.r.IntN(2) == 0 && len(dt.queues) > 1: // a queue deleted, or refused while it holds callbacks
		i := 1 + g.r.IntN(len(dt.queues)-1)
		if _, err := g.do(&DeleteQueue{Target: admin, Queue: dt.queues[i]}); err == nil {
			dt.queues = slices.Delete(dt.queues, i, i+1)
		}
	case n < 77: // its create again: one more administrator key, or refused with another body
		if g.now.Sub(g.log[0].now) >= idempotencyWindow {
			return // the key has expired: it would create another tenant
		}
		c := *dt.created
		c.AdminKeyHash = fmt.Sprintf("%064x", g.r.Uint64())
		if g.r.IntN(4) == 0 {
			c.RequestHash = "another body"
		}
		if r, err := g.do(&c); err == nil && TenantID(r.ID) != dt.id {
			g.t.Fatalf("a repeated create of tenant %d answered tenant %d", dt.id, r.ID)
		}
	case n < 83: // commands that must be refused
		switch g.r.IntN(8) {
		case 0:
			g.do(&SetPresence{Target: self, Agent: agent, Presence: Busy})
		case 1:
			g.do(&CreateCallback{Target: admin, Queue: dt.queues[0], CustomerName: "x", Numbers: nil})
		case 2:
			g.do(&CreateCallback{Target: admin, Queue: dt.queues[0], CustomerName: "x", Numbers: []string{"+15550000"}, Priority: 5000})
		case 3:
			g.do(&CreateDomain{Target: admin, Name: "dom0", Parent: HomeDomain})
		case 4:
			g.do(&DeleteDomain{Target: admin, Domain: HomeDomain})
		case 5:
			g.do(&CancelCallback{Target: Target{Tenant: 99, By: AsUser(1)}, Callback: 1})
		case 6:
			g.do(&CompleteCallback{Target: self, Callback: anyCallback, Disposition: 999})
		case 7:
			g.do(&SetPresence{Target: self, Agent: agent, Presence: Away, Reason: "no such reason"})
		}
	default:
		g.now = g.now.Add(time.Duration(g.r.IntN(15)) * time.Second)
		if g.r.IntN(60) == 0 {
			g.now = g.now.Add(25 * time.Hour) // callbacks expire, finished ones are forgotten
		}
		if g.r.IntN(2) == 0 {
			g.do(&Tick{})
		} else {
			g.do(&Tick{Tenant: dt.id})
		}
	}
}

// detLogs keeps the generated logs: the tests share them (and run one
// after the other).
var detLogs = map[uint64]*detGen{}

// detGenerate writes (once per seed) a log of steps commands for seed.
func detGenerate(t *testing.T, seed uint64, steps int) *detGen {
	if g := detLogs[seed]; g != nil && len(g.log) >= steps {
		g.t = t
		return g
	}
	g := &detGen{t: t, r: rand.New(rand.NewPCG(seed, 0xde7e)), e: NewEngine(), now: time.Unix(1_800_000_000, 0).UTC()}
	g.setup(4)
	for len(g.log) < steps {
		g.step()
	}
	detLogs[seed] = g
	return g
}

func detErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (g *detGen) check(what string, i int, got detOutcome) {
	g.t.Helper()
	want := g.out[i]
	if got.err != want.err || !slices.Equal(got.events, want.events) {
		g.t.Fatalf("%s step %d: Apply(%T %+v) = %v %v, want %v %v", what, i, g.log[i].cmd, g.log[i].cmd, got.events, got.err, want.events, want.err)
	}
	if got.hash != want.hash {
		g.t.Fatalf("%s step %d: Apply(%T %+v): hash %x, want %x", what, i, g.log[i].cmd, g.log[i].cmd, got.hash[:8], want.hash[:8])
	}
}

func detApply(t *testing.T, e *Engine, s detStep) detOutcome {
	_, ev, err := e.Apply(s.cmd, s.now)
	return detOutcome{hash: detHash(t, e), events: slices.Clone(ev), err: detErr(err)}
}

var detSeeds = []uint64{1, 2, 3}

const detSteps = 1000

func TestDeterminismReplay(t *testing.T) {
	for _, seed := range detSeeds {
		t.Run("seed="+strconv.FormatUint(seed, 10), func(t *testing.T) {
			g := detGenerate(t, seed, detSteps)
			if g.refused < 20 || g.offers < 50 {
				t.Fatalf("weak log: %d refused, %d offers in %d steps", g.refused, g.offers, len(g.log))
			}
			t.Logf("%d steps, %d refused, %d offers", len(g.log), g.refused, g.offers)
			e := NewEngine()
			for i, s := range g.log {
				g.check("replay", i, detApply(t, e, s))
			}
		})
	}
}

func TestDeterminismRestore(t *testing.T) {
	for _, seed := range detSeeds {
		t.Run("seed="+strconv.FormatUint(seed, 10), func(t *testing.T) {
			g := detGenerate(t, seed, detSteps)
			r := rand.New(rand.NewPCG(seed, 0x5a5a))
			e := NewEngine()
			var restored *Engine
			restores := 0
			for i, s := range g.log {
				if r.IntN(25) == 0 {
					b, err := e.Snapshot()
					if err != nil {
						t.Fatal(err)
					}
					if restored, err = Restore(b); err != nil {
						t.Fatal(err)
					}
					restores++
					if h := detHash(t, restored); h != detHash(t, e) {
						t.Fatalf("step %d: restored hash %x, want %x", i, h[:8], detHash(t, e))
					}
				}
				g.check("original", i, detApply(t, e, s))
				if restored != nil {
					g.check(fmt.Sprintf("restored#%d", restores), i, detApply(t, restored, s))
				}
			}
			if restores == 0 {
				t.Fatal("no restore point")
			}
		})
	}
}

func TestDeterminismSystem(t *testing.T) {
	for _, seed := range detSeeds {
		t.Run("seed="+strconv.FormatUint(seed, 10), func(t *testing.T) {
			g := detGenerate(t, seed, detSteps)
			s := NewSystem(NewEngine())
			defer s.Stop()
			r := rand.New(rand.NewPCG(seed, 0xacc0))
			for i := 0; i < len(g.log); {
				step := g.log[i]
				// Runs of commands for one tenant at one time go as a batch.
				tc, ok := step.cmd.(TenantCommand)
				j := i + 1
				for ok && j < len(g.log) && j-i < 1+r.IntN(8) && g.log[j].now.Equal(step.now) {
					next, ok2 := g.log[j].cmd.(TenantCommand)
					if !ok2 || next.TenantOf() != tc.TenantOf() {
						break
					}
					j++
				}
				if j-i > 1 {
					cmds := make([]TenantCommand, 0, j-i)
					for _, st := range g.log[i:j] {
						cmds = append(cmds, st.cmd.(TenantCommand))
					}
					for k, o := range s.ApplyBatch(tc.TenantOf(), cmds, step.now) {
						g.checkEvents("system batch", i+k, o.Events, detErr(o.Err))
					}
				} else {
					_, ev, err := s.Apply(step.cmd, step.now)
					g.checkEvents("system", i, ev, detErr(err))
				}
				i = j
				if r.IntN(50) == 0 || i == len(g.log) {
					b, err := s.Snapshot()
					if err != nil {
						t.Fatal(err)
					}
					if h := sha256.Sum256(b); h != g.out[i-1].hash {
						t.Fatalf("after step %d: system hash %x, engine hash %x", i-1, h[:8], g.out[i-1].hash[:8])
					}
				}
			}
		})
	}
}

func (g *detGen) checkEvents(what string, i int, events []Event, err string) {
	g.t.Helper()
	want := g.out[i]
	if err != want.err || !slices.Equal(events, want.events) {
		g.t.Fatalf("%s step %d: Apply(%T %+v) = %v %q, want %v %q", what, i, g.log[i].cmd, g.log[i].cmd, events, err, want.events, want.err)
	}
}
