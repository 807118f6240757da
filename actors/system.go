package actors

import (
	"fmt"
	"io"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
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
// the root's requests (protoactor futures, requestTimeout); it never
// influences state. Batches and queries carry no timer: every batch
// reaches a live tenant actor or the root, which answers for tenants that
// do not exist, and a query also gives up when its tenant is deleted.
type System struct {
	as   *actor.ActorSystem
	root *actor.PID
	// dir maps a tenant to its actor (*tenantRef), written only by the
	// root as it spawns and stops them, so batches and queries for one
	// tenant go straight to it instead of queueing behind the root.
	dir *sync.Map
	// work feeds tenant mailboxes with messages to the workers that run
	// them (see poolMailbox): room for every tenant of a large
	// installation (workQueue), since a mailbox that finds it full is
	// handed over by a goroutine of its own. quit stops the workers.
	work    chan *poolMailbox
	quit    chan struct{}
	batches *batchWait // ApplyBatches' completion
}

const requestTimeout = 5 * time.Minute

// workQueue is how many tenant mailboxes wait for a worker before posting
// one costs a goroutine: a pointer each, 512 KiB in all.
const workQueue = 1 << 16

// NewSystem starts the actors over e, which the System then owns (e may be
// new or restored from a snapshot).
func NewSystem(e *Engine) *System {
	quiet := actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	})
	as := actor.NewActorSystem(quiet)
	s := &System{as: as, dir: &sync.Map{}, work: make(chan *poolMailbox, workQueue), quit: make(chan struct{}),
		batches: newBatchWait()}
	for range runtime.GOMAXPROCS(0) {
		go s.worker()
	}
	tenantMailbox := actor.WithMailbox(func() actor.Mailbox { return &poolMailbox{work: s.work} })
	r := &rootActor{e: e, tenants: map[TenantID]*actor.PID{}, dir: s.dir, props: tenantMailbox, ticked: newBatchWait()}
	s.root = as.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return r }))
	s.request(&startMsg{})
	return s
}

// Stop stops every actor.
func (s *System) Stop() {
	_ = s.as.Root.PoisonFuture(s.root).Wait()
	s.as.Shutdown()
	close(s.quit)
}

// worker runs tenant mailboxes that have messages, one at a time: tenant
// actors share GOMAXPROCS goroutines instead of starting one per message.
func (s *System) worker() {
	for {
		select {
		case m := <-s.work:
			m.mu.Lock()
			m.drain()
		case <-s.quit:
			return
		}
	}
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
	b := []Batch{{Tenant: tenant, Cmds: cmds}}
	s.ApplyBatches(b, now)
	return b[0].Outcomes
}

// Batch is one tenant's commands for ApplyBatches and, once it returns,
// their outcomes. The outcome and event slices are reused: ApplyBatches
// overwrites them from the start, growing them only when they are too
// short, so a caller that keeps its Batches allocates nothing per batch.
type Batch struct {
	Tenant TenantID
	Cmds   []TenantCommand

	Outcomes []Outcome // one per command
	// Events holds the events of every command; each successful
	// outcome's Events is its part of it.
	Events []Event
	// NextDeadline is the tenant's earliest pending deadline after the
	// batch (unix nanoseconds), 0 when none.
	NextDeadline int64

	now   int64
	done  *batchWait
	spans []int // end of each command's events in Events
	// here: run on the sender's goroutine when the tenant actor is idle
	// (see poolMailbox.PostUserMessage).
	here bool
}

// batchWait waits for messages sent to several tenant actors without a
// future each: pending counts the messages still being handled. One wait
// at a time (mu); it is reused, so waiting allocates nothing.
type batchWait struct {
	mu      sync.Mutex
	pending atomic.Int64
	done    chan struct{} // signalled by the last message handled
}

func newBatchWait() *batchWait { return &batchWait{done: make(chan struct{}, 1)} }

// finish is called by a tenant actor when it has handled its message.
func (w *batchWait) finish() {
	if w.pending.Add(-1) == 0 {
		w.done <- struct{}{}
	}
}

// wait returns when pending reaches zero.
func (w *batchWait) wait() { <-w.done }

// ApplyBatches runs each batch's commands in order inside its tenant's
// actor, tenants in parallel, and returns when every batch is done. A
// batch is one message to its tenant actor and no future or goroutine is
// made per batch, so a call costs little more than the commands
// themselves. Batches for the same tenant run in slice order; calls from
// several goroutines run one after another.
func (s *System) ApplyBatches(batches []Batch, now time.Time) {
	if len(batches) == 0 {
		return
	}
	w := s.batches
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending.Store(int64(len(batches)))
	for i := range batches {
		b := &batches[i]
		// The last batch runs on this goroutine, which would only wait
		// otherwise: a single tenant's batch, the usual entry, then costs
		// no hand-over to a worker and back.
		b.now, b.done, b.here = now.UnixNano(), w, i == len(batches)-1
		s.as.Root.Send(s.tenantPID(b.Tenant), b)
	}
	w.wait()
}

// tenantRef is a tenant's entry in the directory: its actor, and a
// channel closed when the tenant is deleted (its actor may then stop with
// messages unread).
type tenantRef struct {
	pid  *actor.PID
	gone chan struct{}
}

// tenantRef returns the tenant's directory entry, or nil.
func (s *System) tenantRef(t TenantID) *tenantRef {
	if ref, ok := s.dir.Load(t); ok {
		return ref.(*tenantRef)
	}
	return nil
}

// tenantPID is the actor a tenant's messages go to: its own, or the root
// (which answers "not found") for a tenant that does not exist.
func (s *System) tenantPID(t TenantID) *actor.PID {
	if ref := s.tenantRef(t); ref != nil {
		return ref.pid
	}
	return s.root
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
// of that tenant whose outcome has been returned. fn must only read. The
// answer comes back on a channel, not a future: reads are the API's most
// frequent request. When the actor is idle, fn runs on the caller's
// goroutine (see handledBySender). A tenant deleted while the query is on
// its way may stop its actor with the query unread: the query is then
// answered "not found" when the directory says the tenant is gone.
func (s *System) Query(tenant TenantID, fn func(*Tenant) error) error {
	ref := s.tenantRef(tenant)
	if ref == nil {
		return notFound("tenantId")
	}
	return s.queryAt(ref, fn)
}

// queryAt is Query through a directory entry looked up before.
func (s *System) queryAt(ref *tenantRef, fn func(*Tenant) error) error {
	q := queries.Get().(*queryMsg)
	q.fn = fn
	s.as.Root.Send(ref.pid, q)
	select {
	case err := <-q.done:
		q.fn = nil
		queries.Put(q)
		return err
	case <-ref.gone:
		return notFound("tenantId") // q may still be answered: not reused
	}
}

// queries are reused once answered.
var queries = sync.Pool{New: func() any { return &queryMsg{done: make(chan error, 1)} }}

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
	deadlinesMsg  struct{}
	tenantsMsg    struct{ host string }
	snapshotMsg   struct{}
	snapshotReply struct {
		b   []byte
		err error
	}
	queryMsg struct {
		fn   func(*Tenant) error
		done chan error // buffered: the answer
	}
	// runMsg runs fn inside a tenant actor; the root waits for it.
	runMsg struct{ fn func() }
	// tickMsg ticks a tenant; its events buffer is reused.
	tickMsg struct {
		now    int64
		events []Event
		done   *batchWait
	}
	// domainCall is one domain operation; the tenant waits for it. The
	// domain's mailbox nearly always runs it on the tenant's goroutine
	// before Send returns, so the two meet on state, and done carries a
	// signal only when the tenant had to wait (see callDomain).
	domainCall struct {
		op    *domainOp
		r     *opResult
		state atomic.Uint32 // callSent, then callHandled or callWaiting, whichever comes first
		done  chan struct{}
	}
)

// rootActor owns the tenant set and routes commands to tenant actors.
type rootActor struct {
	e       *Engine
	tenants map[TenantID]*actor.PID
	dir     *sync.Map         // the System's directory, kept in step with tenants
	props   actor.PropsOption // the tenant actors' mailbox
	ticks   []tickMsg         // reused by every Tick
	ticked  *batchWait
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
	case *Batch:
		// Sent here because the tenant does not exist. (A tenant's own
		// batches go to its actor directly, never through the root.)
		m.Outcomes, m.Events, m.NextDeadline = m.Outcomes[:0], m.Events[:0], 0
		for range m.Cmds {
			m.Outcomes = append(m.Outcomes, Outcome{Err: notFound("tenantId")})
		}
		m.done.finish()
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
	case *snapshotMsg:
		r.quiesce(ctx)
		b, err := r.e.Snapshot()
		ctx.Respond(&snapshotReply{b: b, err: err})
	}
}

func (r *rootActor) spawn(ctx actor.Context, t *Tenant) {
	ta := &tenantActor{t: t, domains: map[DomainID]*actor.PID{}}
	r.tenants[t.ID] = ctx.Spawn(actor.PropsFromProducer(func() actor.Actor { return ta }, r.props))
	r.dir.Store(t.ID, &tenantRef{pid: r.tenants[t.ID], gone: make(chan struct{})})
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
		if prev, ok := r.e.createdBy(x, c); ok && r.tenants[prev.Tenant] != nil {
			// A repeat gives the existing tenant's administrator a key.
			r.inTenant(ctx, prev.Tenant, func() { out.Result.ID, out.Err = r.e.apply(x, c) })
			break
		}
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
			if ref, ok := r.dir.LoadAndDelete(id); ok {
				close(ref.(*tenantRef).gone)
			}
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
		if cap(r.ticks) < len(ids) {
			r.ticks = make([]tickMsg, len(ids))
		}
		r.ticks = r.ticks[:len(ids)]
		r.ticked.pending.Store(int64(len(ids)))
		for i, id := range ids {
			r.ticks[i].now, r.ticks[i].done = x.now, r.ticked
			ctx.Send(r.tenants[id], &r.ticks[i])
		}
		r.ticked.wait()
		for i := range r.ticks {
			events = append(events, r.ticks[i].events...)
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
	switch m := ctx.Message().(type) {
	case *actor.Started:
		ta.t.port = ta.callDomain // set once: a method value allocates
		ta.done = make(chan struct{}, 1)
		ta.call.done = ta.done
	case *applyMsg:
		ta.events = ta.events[:0]
		o := ta.apply(m.cmd.(TenantCommand), m.now.UnixNano(), &ta.events)
		o.Events = slices.Clone(o.Events)
		ctx.Respond(&o)
	case *Batch:
		ta.runBatch(m)
		m.done.finish()
	case *tickMsg:
		m.events = m.events[:0]
		if ta.t.Status == TenantActive {
			ta.t.tick(&opCtx{now: m.now, events: &m.events})
		}
		m.done.finish()
	case *queryMsg:
		m.done <- m.fn(ta.t)
	case *runMsg:
		m.fn()
		ta.stopDeleted()
		ctx.Respond(true)
	}
}

// runBatch applies a batch's commands in order into its outcomes and
// events. Each outcome's part of the events is cut once all are in:
// appending may move them.
func (ta *tenantActor) runBatch(b *Batch) {
	b.Outcomes, b.Events, b.spans = b.Outcomes[:0], b.Events[:0], b.spans[:0]
	for _, c := range b.Cmds {
		b.Outcomes = append(b.Outcomes, ta.apply(c, b.now, &b.Events))
		b.spans = append(b.spans, len(b.Events))
	}
	start := 0
	for i, end := range b.spans {
		if b.Outcomes[i].Err == nil {
			b.Outcomes[i].Events = b.Events[start:end:end]
		}
		start = end
	}
	b.NextDeadline = 0
	if ta.t.Status == TenantActive {
		b.NextDeadline = ta.t.nextDeadline()
	}
}

// apply runs one command, appending its events to events; the outcome's
// Events alias them.
func (ta *tenantActor) apply(c TenantCommand, now int64, events *[]Event) Outcome {
	start := len(*events)
	x := &opCtx{now: now, events: events}
	id, err := ta.t.apply(x, c, principalOf(c))
	if err != nil {
		*events = (*events)[:start]
		return Outcome{Err: err}
	}
	if _, ok := c.(*DeleteDomain); ok {
		ta.stopDeleted()
	}
	return Outcome{Result: Result{ID: id}, Events: (*events)[start:]}
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
	ta.call.state.Store(callSent)
	ta.ctx.Send(pid, &ta.call)
	if ta.call.state.CompareAndSwap(callSent, callWaiting) {
		<-ta.done
	}
	ta.call.op, ta.call.r = nil, nil
}

// The states of a domainCall.
const (
	callSent    = iota // sent, not handled yet
	callHandled        // handled before the tenant waited: no signal
	callWaiting        // the tenant waits on done
)

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
		if !m.state.CompareAndSwap(callSent, callHandled) {
			m.done <- struct{}{}
		}
	}
}

// mailbox is the message loop of the tenant and domain mailboxes: messages
// are handled one at a time and in order, system messages first, as in
// protoactor's default mailbox, but queued in reused slices, so nothing is
// allocated per message. Who runs the loop differs (directMailbox,
// poolMailbox).
type mailbox struct {
	invoker actor.MessageInvoker

	mu        sync.Mutex
	running   bool // guarded by mu: being drained, or about to be
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

// post queues a message and reports whether the mailbox was idle: then
// the caller must have it drained.
func (m *mailbox) post(msg any, system bool) bool {
	m.mu.Lock()
	if system {
		m.sys.push(msg)
	} else {
		m.user.push(msg)
	}
	idle := !m.running
	m.running = true
	m.mu.Unlock()
	return idle
}

// drain handles the queued messages until none is left (or the mailbox is
// suspended). It is entered with mu held and returns with it released.
func (m *mailbox) drain() { m.drainUpTo(nil) }

// drainUpTo is drain, except that once the user message last has been
// handled it stops and reports whether messages are left: the mailbox then
// stays running, for the caller to hand on.
func (m *mailbox) drainUpTo(last any) (more bool) {
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
		if last != nil && um == last && (m.sys.len() > 0 || m.user.len() > 0) {
			m.mu.Unlock()
			return true
		}
	}
	m.running = false
	m.mu.Unlock()
	return false
}

func (m *mailbox) RegisterHandlers(invoker actor.MessageInvoker, _ actor.Dispatcher) {
	m.invoker = invoker
}

func (m *mailbox) Start() {}

func (m *mailbox) UserMessageCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.user.len()
}

// directMailbox is a domain actor's mailbox: a message posted while the
// actor is idle is handled at once on the poster's goroutine (the tenant
// actor, which waits for the answer anyway); one posted while it runs (a
// system message during a stop, say) waits in the queue that the running
// poster drains before it returns. No goroutine is involved.
type directMailbox struct{ mailbox }

func (m *directMailbox) PostUserMessage(msg any)   { m.run(m.post(msg, false)) }
func (m *directMailbox) PostSystemMessage(msg any) { m.run(m.post(msg, true)) }

func (m *directMailbox) run(idle bool) {
	if idle {
		m.mu.Lock()
		m.drain()
	}
}

// poolMailbox is a tenant actor's mailbox: when a message arrives while
// the actor is idle, the mailbox goes to the System's workers (see
// System.worker), one of which drains it; a Batch marked here and a query
// are handled by their sender instead (see handledBySender). A tenant's
// messages are handled one at a time and in order; tenants run in
// parallel.
type poolMailbox struct {
	mailbox
	work chan<- *poolMailbox
}

func (m *poolMailbox) PostUserMessage(msg any) {
	idle := m.post(msg, false)
	if idle && handledBySender(msg) {
		// The sender handles its message only: whatever arrived meanwhile
		// (a long query, say) goes to the workers, not onto the log's path.
		m.mu.Lock()
		if m.drainUpTo(msg) {
			m.schedule(true)
		}
		return
	}
	m.schedule(idle)
}

// handledBySender says whether the sender of msg runs it itself when the
// tenant actor is idle, instead of handing it to a worker and waiting: the
// last batch of ApplyBatches, and a query, whose asker would only wait.
func handledBySender(msg any) bool {
	switch m := msg.(type) {
	case *Batch:
		return m.here
	case *queryMsg:
		return true
	}
	return false
}

func (m *poolMailbox) PostSystemMessage(msg any) { m.schedule(m.post(msg, true)) }

func (m *poolMailbox) schedule(idle bool) {
	if !idle {
		return
	}
	select {
	case m.work <- m:
	default:
		// The queue is full: hand it over without blocking the poster,
		// which may be a worker.
		go func() { m.work <- m }()
	}
}
