package actors

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// System runs an Engine inside protoactor-go actors: a root actor owns one
// actor per tenant, and each tenant actor owns one child actor per domain.
// Every message to a domain actor comes from its tenant actor, in order,
// and the tenant waits for the answer before its next step, so a System
// reaches exactly the state the pure Engine reaches from the same commands.
// Tenants work in parallel with each other.
//
// The actors are thin: each Receive hands its message to the same plain
// functions the Engine uses. The only clock here is the deadlock guard on
// requests (requestTimeout); it never influences state.
type System struct {
	as   *actor.ActorSystem
	root *actor.PID
	// dir maps a tenant to its actor, written only by the root as it
	// spawns and stops them, so batches and queries for one tenant go
	// straight to it instead of queueing behind the root.
	dir *sync.Map
}

const requestTimeout = 5 * time.Minute

// NewSystem starts the actors over e, which the System then owns (e may be
// new or restored from a snapshot).
func NewSystem(e *Engine) *System {
	quiet := actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	})
	as := actor.NewActorSystem(quiet)
	dir := &sync.Map{}
	r := &rootActor{e: e, tenants: map[TenantID]*actor.PID{}, dir: dir}
	root := as.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return r }))
	s := &System{as: as, root: root, dir: dir}
	s.request(&startMsg{})
	return s
}

// Stop stops every actor.
func (s *System) Stop() {
	_ = s.as.Root.PoisonFuture(s.root).Wait()
	s.as.Shutdown()
}

// Outcome is the answer to one command.
type Outcome struct {
	Result Result
	Events []Event
	Err    error
}

// Apply runs one command through the actors and waits for its outcome.
func (s *System) Apply(cmd Command, now time.Time) (Result, []Event, error) {
	o := s.request(&applyMsg{cmd: cmd, now: now}).(*Outcome)
	return o.Result, o.Events, o.Err
}

// ApplyBatch runs commands addressed to one tenant, in order, as one
// message (as the replicated log delivers a batch), and returns their
// outcomes.
func (s *System) ApplyBatch(tenant TenantID, cmds []TenantCommand, now time.Time) []Outcome {
	res, err := s.ApplyBatchAsync(tenant, cmds, now).Result()
	if err != nil {
		panic(fmt.Sprintf("actors: batch for tenant %d: %v", tenant, err))
	}
	return res.([]Outcome)
}

// tenantPID is the actor a tenant's messages go to: its own, or the root
// (which answers "not found") for a tenant that does not exist.
func (s *System) tenantPID(t TenantID) *actor.PID {
	if pid, ok := s.dir.Load(t); ok {
		return pid.(*actor.PID)
	}
	return s.root
}

// ApplyBatchAsync is ApplyBatch without waiting; the outcomes arrive on the
// returned future.
func (s *System) ApplyBatchAsync(tenant TenantID, cmds []TenantCommand, now time.Time) *actor.Future {
	return s.as.Root.RequestFuture(s.tenantPID(tenant), &batchMsg{tenant: tenant, cmds: cmds, now: now}, requestTimeout)
}

// TenantBatch is the answer to ApplyTenantBatchAsync: the outcomes, and
// the tenant's earliest pending deadline after the batch (0 when none).
type TenantBatch struct {
	Outcomes     []Outcome
	NextDeadline int64
}

// ApplyTenantBatchAsync is ApplyBatchAsync whose future yields a
// *TenantBatch, so the caller learns the tenant's next deadline too.
func (s *System) ApplyTenantBatchAsync(tenant TenantID, cmds []TenantCommand, now time.Time) *actor.Future {
	return s.as.Root.RequestFuture(s.tenantPID(tenant), &batchMsg{tenant: tenant, cmds: cmds, now: now, withDeadline: true}, requestTimeout)
}

// NextDeadlines returns every active tenant's earliest pending deadline
// (unix nanoseconds; tenants with none are absent).
func (s *System) NextDeadlines() map[TenantID]int64 {
	return s.request(&deadlinesMsg{}).(map[TenantID]int64)
}

// TenantSummary is the operator's view of a tenant: configuration only,
// never tenant data.
type TenantSummary struct {
	ID       TenantID         `json:"id"`
	Profile  Profile          `json:"profile"`
	Host     string           `json:"host,omitempty"`
	Status   TenantStatus     `json:"status"`
	Limits   Limits           `json:"limits"`
	Features map[Feature]bool `json:"features"`
	Policy   Policy           `json:"policy"`
}

// Tenants lists every tenant's summary in identifier order, and resolves
// a host when host is not empty (then only that tenant, if any, is
// listed). Tenant configuration changes only through operator commands,
// which the root runs while it waits, so the root may read it.
func (s *System) Tenants(host string) []TenantSummary {
	return s.request(&tenantsMsg{host: host}).([]TenantSummary)
}

// Snapshot encodes the whole state, as Engine.Snapshot does. Batches go
// to tenant actors directly, so call it when none is in flight (the FSM
// does: between two applies).
func (s *System) Snapshot() ([]byte, error) {
	o := s.request(&snapshotMsg{}).(*snapshotReply)
	return o.b, o.err
}

// Query runs fn on a tenant's state inside its actor, after every command
// of that tenant whose outcome has been returned. fn must only read.
func (s *System) Query(tenant TenantID, fn func(*Tenant) error) error {
	res, err := s.as.Root.RequestFuture(s.tenantPID(tenant), &queryMsg{tenant: tenant, fn: fn}, requestTimeout).Result()
	if errors.Is(err, actor.ErrDeadLetter) {
		return notFound("tenantId") // deleted while the query was on its way
	}
	if err != nil {
		panic(fmt.Sprintf("actors: query tenant %d: %v", tenant, err))
	}
	return res.(*queryReply).err
}

func (s *System) request(msg any) any {
	res, err := s.as.Root.RequestFuture(s.root, msg, requestTimeout).Result()
	if err != nil {
		panic(fmt.Sprintf("actors: request %T: %v", msg, err))
	}
	return res
}

type (
	startMsg struct{}
	applyMsg struct {
		cmd Command
		now time.Time
	}
	batchMsg struct {
		tenant       TenantID
		cmds         []TenantCommand
		now          time.Time
		withDeadline bool
	}
	deadlinesMsg  struct{}
	tenantsMsg    struct{ host string }
	snapshotMsg   struct{}
	snapshotReply struct {
		b   []byte
		err error
	}
	queryMsg struct {
		tenant TenantID
		fn     func(*Tenant) error
	}
	queryReply struct{ err error }
	// runMsg runs fn inside a tenant actor; the root waits for it.
	runMsg struct{ fn func() }
	// domainCall is one domain operation; the tenant waits on done.
	domainCall struct {
		op   *domainOp
		r    *opResult
		done chan struct{}
	}
)

// rootActor owns the tenant set and routes commands to tenant actors.
type rootActor struct {
	e       *Engine
	tenants map[TenantID]*actor.PID
	dir     *sync.Map // the System's directory, kept in step with tenants
}

func (r *rootActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *startMsg:
		for _, id := range sortedKeys(r.e.Tenants) {
			r.spawn(ctx, r.e.Tenants[id])
		}
		ctx.Respond(&Outcome{})
	case *applyMsg:
		r.apply(ctx, m)
	case *batchMsg:
		pid := r.tenants[m.tenant]
		if pid == nil {
			out := make([]Outcome, len(m.cmds))
			for i := range out {
				out[i].Err = notFound("tenantId")
			}
			if m.withDeadline {
				ctx.Respond(&TenantBatch{Outcomes: out})
				return
			}
			ctx.Respond(out)
			return
		}
		ctx.Forward(pid)
	case *tenantsMsg:
		var out []TenantSummary
		for _, id := range sortedKeys(r.e.Tenants) {
			t := r.e.Tenants[id]
			if m.host != "" && t.Host != m.host {
				continue
			}
			out = append(out, TenantSummary{ID: id, Profile: t.Profile, Host: t.Host, Status: t.Status,
				Limits: t.Limits, Features: maps.Clone(t.Features), Policy: t.Policy})
		}
		ctx.Respond(out)
	case *deadlinesMsg:
		r.quiesce(ctx)
		out := map[TenantID]int64{}
		for id, t := range r.e.Tenants {
			if n := t.nextDeadline(); n != 0 && t.Status == TenantActive {
				out[id] = n
			}
		}
		ctx.Respond(out)
	case *queryMsg:
		pid := r.tenants[m.tenant]
		if pid == nil {
			ctx.Respond(&queryReply{err: notFound("tenantId")})
			return
		}
		ctx.Forward(pid)
	case *snapshotMsg:
		r.quiesce(ctx)
		b, err := r.e.Snapshot()
		ctx.Respond(&snapshotReply{b: b, err: err})
	}
}

func (r *rootActor) spawn(ctx actor.Context, t *Tenant) {
	ta := &tenantActor{t: t, domains: map[DomainID]*actor.PID{}}
	r.tenants[t.ID] = ctx.Spawn(actor.PropsFromProducer(func() actor.Actor { return ta }))
	r.dir.Store(t.ID, r.tenants[t.ID])
}

// inTenant runs fn inside the tenant's actor and waits for it.
func (r *rootActor) inTenant(ctx actor.Context, id TenantID, fn func()) {
	if _, err := ctx.RequestFuture(r.tenants[id], &runMsg{fn: fn}, requestTimeout).Result(); err != nil {
		panic(fmt.Sprintf("actors: tenant %d: %v", id, err))
	}
}

// quiesce waits until every tenant actor has finished what it was sent.
func (r *rootActor) quiesce(ctx actor.Context) {
	futures := make([]*actor.Future, 0, len(r.tenants))
	for _, id := range sortedKeys(r.tenants) {
		futures = append(futures, ctx.RequestFuture(r.tenants[id], &runMsg{fn: func() {}}, requestTimeout))
	}
	for _, f := range futures {
		if err := f.Wait(); err != nil {
			panic(fmt.Sprintf("actors: quiesce: %v", err))
		}
	}
}

func (r *rootActor) apply(ctx actor.Context, m *applyMsg) {
	out := &Outcome{}
	var events []Event
	x := &opCtx{now: m.now.UnixNano(), events: &events}
	switch c := m.cmd.(type) {
	case *CreateTenant:
		id, err := r.e.apply(x, c)
		out.Result.ID, out.Err = id, err
		if err == nil {
			r.spawn(ctx, r.e.Tenants[TenantID(id)])
		}
	case *UpdateTenant, *SetTenantStatus, *DeleteTenant:
		id := operatorTarget(c)
		if r.tenants[id] == nil {
			out.Err = notFound("tenantId")
			break
		}
		r.inTenant(ctx, id, func() { out.Result.ID, out.Err = r.e.apply(x, c) })
		if _, gone := r.e.Tenants[id]; !gone {
			r.dir.Delete(id)
			ctx.Stop(r.tenants[id])
			delete(r.tenants, id)
		}
	case *Tick:
		ids := sortedKeys(r.tenants)
		if c.Tenant != 0 {
			ids = []TenantID{c.Tenant}
			if r.tenants[c.Tenant] == nil {
				out.Err = notFound("tenantId")
				break
			}
		}
		// Tenants tick in parallel; their events are joined in tenant order.
		per := make([][]Event, len(ids))
		futures := make([]*actor.Future, len(ids))
		for i, id := range ids {
			t, i := r.e.Tenants[id], i
			futures[i] = ctx.RequestFuture(r.tenants[id], &runMsg{fn: func() {
				if t.Status == TenantActive {
					t.tick(&opCtx{now: x.now, events: &per[i]})
				}
			}}, requestTimeout)
		}
		for i, f := range futures {
			if err := f.Wait(); err != nil {
				panic(fmt.Sprintf("actors: tick tenant %d: %v", ids[i], err))
			}
			events = append(events, per[i]...)
		}
	case TenantCommand:
		if pid := r.tenants[c.TenantOf()]; pid != nil {
			ctx.Forward(pid)
			return
		}
		out.Err = notFound("tenantId")
	default:
		out.Err = invalid("kind", "unknown command %T", m.cmd)
	}
	if out.Err == nil {
		out.Events = events
	}
	ctx.Respond(out)
}

func operatorTarget(c Command) TenantID {
	switch c := c.(type) {
	case *UpdateTenant:
		return c.Tenant
	case *SetTenantStatus:
		return c.Tenant
	case *DeleteTenant:
		return c.Tenant
	}
	return 0
}

// tenantActor runs one tenant's commands in order and owns its domain
// actors.
type tenantActor struct {
	t       *Tenant
	domains map[DomainID]*actor.PID
	ctx     actor.Context // the context of the message being handled
	done    chan struct{}
	call    domainCall // reused: the tenant waits for each domain operation
	events  []Event
}

func (ta *tenantActor) Receive(ctx actor.Context) {
	ta.ctx = ctx
	ta.t.port = ta.callDomain
	switch m := ctx.Message().(type) {
	case *actor.Started:
		ta.done = make(chan struct{}, 1)
		ta.call.done = ta.done
	case *applyMsg:
		ta.events = ta.events[:0]
		o := ta.apply(m.cmd.(TenantCommand), m.now)
		o.Events = slices.Clone(o.Events)
		ctx.Respond(&o)
	case *batchMsg:
		// The events of the whole batch collect in ta.events and are
		// copied out once; each outcome gets its part of the copy.
		out := make([]Outcome, len(m.cmds))
		ta.events = ta.events[:0]
		ends := make([]int, len(m.cmds))
		for i, c := range m.cmds {
			out[i] = ta.apply(c, m.now)
			ends[i] = len(ta.events)
		}
		all := slices.Clone(ta.events)
		start := 0
		for i := range out {
			if out[i].Err == nil {
				out[i].Events = all[start:ends[i]:ends[i]]
			}
			start = ends[i]
		}
		if m.withDeadline {
			var next int64
			if ta.t.Status == TenantActive {
				next = ta.t.nextDeadline()
			}
			ctx.Respond(&TenantBatch{Outcomes: out, NextDeadline: next})
			return
		}
		ctx.Respond(out)
	case *queryMsg:
		ctx.Respond(&queryReply{err: m.fn(ta.t)})
	case *runMsg:
		m.fn()
		ta.stopDeleted()
		ctx.Respond(true)
	}
}

// apply runs one command, appending its events to ta.events; the
// outcome's Events alias ta.events until the caller copies them.
func (ta *tenantActor) apply(c TenantCommand, now time.Time) Outcome {
	start := len(ta.events)
	x := &opCtx{now: now.UnixNano(), events: &ta.events}
	id, err := ta.t.apply(x, c, principalOf(c))
	if err != nil {
		ta.events = ta.events[:start]
		return Outcome{Err: err}
	}
	if _, ok := c.(*DeleteDomain); ok {
		ta.stopDeleted()
	}
	return Outcome{Result: Result{ID: id}, Events: ta.events[start:]}
}

// callDomain is the tenant's port in the actor system: it sends the
// operation to the domain's actor (spawning it on first use) and waits.
func (ta *tenantActor) callDomain(d *Domain, op *domainOp, r *opResult) {
	pid := ta.domains[d.ID]
	if pid == nil {
		da := &domainActor{d: d}
		pid = ta.ctx.Spawn(actor.PropsFromProducer(func() actor.Actor { return da }, domainMailbox))
		ta.domains[d.ID] = pid
	}
	ta.call.op, ta.call.r = op, r
	ta.ctx.Send(pid, &ta.call)
	<-ta.done
	ta.call.op, ta.call.r = nil, nil
}

// stopDeleted stops the actors of domains the tenant no longer has.
func (ta *tenantActor) stopDeleted() {
	for _, id := range sortedKeys(ta.domains) {
		if _, ok := ta.t.routing[id]; !ok {
			ta.ctx.Stop(ta.domains[id])
			delete(ta.domains, id)
		}
	}
}

// domainMailbox runs a domain actor's messages on the goroutine of the
// sender: its tenant actor, which waits for the answer anyway. The domain
// processes one message at a time, but a domain operation costs no
// goroutine hand-off and no allocation (see directMailbox).
var domainMailbox = actor.WithMailbox(func() actor.Mailbox { return &directMailbox{} })

// domainActor owns one domain's routing state.
type domainActor struct{ d *Domain }

func (da *domainActor) Receive(ctx actor.Context) {
	if m, ok := ctx.Message().(*domainCall); ok {
		da.d.handle(m.op, m.r)
		m.done <- struct{}{}
	}
}

// directMailbox is a domain actor's mailbox: a message posted while the
// actor is idle is handled at once on the poster's goroutine (the tenant
// actor, which waits for the answer anyway); one posted while it runs (a
// system message during a stop, say) waits in a queue that the running
// poster drains before it returns. Messages are handled one at a time and
// in order, system messages first, as in protoactor's default mailbox, but
// nothing is allocated per message and no goroutine is involved.
type directMailbox struct {
	invoker actor.MessageInvoker

	mu        sync.Mutex
	running   bool // guarded by mu
	suspended bool // guarded by mu
	sys, user msgQueue
}

// msgQueue is a FIFO over a reused slice.
type msgQueue struct {
	q    []any
	head int
}

func (q *msgQueue) push(m any) { q.q = append(q.q, m) }

func (q *msgQueue) pop() (any, bool) {
	if q.head == len(q.q) {
		return nil, false
	}
	m := q.q[q.head]
	q.q[q.head] = nil
	if q.head++; q.head == len(q.q) {
		q.q, q.head = q.q[:0], 0
	}
	return m, true
}

func (q *msgQueue) len() int { return len(q.q) - q.head }

func (m *directMailbox) PostUserMessage(msg any) {
	m.mu.Lock()
	m.user.push(msg)
	m.run()
}

func (m *directMailbox) PostSystemMessage(msg any) {
	m.mu.Lock()
	m.sys.push(msg)
	m.run()
}

// run is entered with mu held and returns with it released.
func (m *directMailbox) run() {
	if m.running {
		m.mu.Unlock()
		return
	}
	m.running = true
	var msg any
	defer func() {
		if r := recover(); r != nil {
			m.mu.Lock()
			m.running = false
			m.mu.Unlock()
			m.invoker.EscalateFailure(r, msg)
		}
	}()
	for {
		if sm, ok := m.sys.pop(); ok {
			m.mu.Unlock()
			msg = sm
			switch sm.(type) {
			case *actor.SuspendMailbox:
				m.mu.Lock()
				m.suspended = true
				continue
			case *actor.ResumeMailbox:
				m.mu.Lock()
				m.suspended = false
				continue
			}
			m.invoker.InvokeSystemMessage(sm)
			m.mu.Lock()
			continue
		}
		if m.suspended {
			break
		}
		um, ok := m.user.pop()
		if !ok {
			break
		}
		m.mu.Unlock()
		msg = um
		m.invoker.InvokeUserMessage(um)
		m.mu.Lock()
	}
	m.running = false
	m.mu.Unlock()
}

func (m *directMailbox) RegisterHandlers(invoker actor.MessageInvoker, _ actor.Dispatcher) {
	m.invoker = invoker
}

func (m *directMailbox) Start() {}

func (m *directMailbox) UserMessageCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.user.len()
}
