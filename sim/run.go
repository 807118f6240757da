package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/ringbackhq/ringback/actors"
)

// Options tune how a run is watched; they never change its result.
type Options struct {
	// Progress, when set, is called now and then (and once at the end)
	// with the simulated time done and the run's length.
	Progress func(done, total time.Duration)
}

// simulator event kinds.
const (
	evArrival uint8 = iota + 1
	evDuplicate
	evCancel
	evAccept
	evReject
	evEnd
	evWrapEnd
	evShiftOn
	evShiftOff
	evBack
	evSample
)

// event is one thing the simulated world does at a time; ties run in the
// order they were scheduled.
type event struct {
	at     int64
	seq    uint64
	kind   uint8
	fail   bool
	tenant int32
	who    int32 // agent user id, or arrival stream index
	aux    uint32
	cb     actors.CallbackID
	offer  actors.OfferID
}

type eventHeap []event

func (h eventHeap) less(i, j int) bool {
	return h[i].at < h[j].at || h[i].at == h[j].at && h[i].seq < h[j].seq
}

func (h *eventHeap) push(e event) {
	*h = append(*h, e)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *eventHeap) pop() event {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && s.less(r, l) {
			m = r
		}
		if !s.less(m, i) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// callback states as the simulator sees them, from the core's events.
const (
	cbNew uint8 = iota
	cbScheduled
	cbQueued
	cbOffered
	cbInProgress
	cbDone
)

type cbRec struct {
	stream   int32
	due      int64 // first due time: creation, or the scheduled time
	state    uint8
	counted  bool // created after the warm-up
	accepted bool // some attempt was accepted
}

// row accumulates the figures of one queue or one domain.
type row struct {
	offered, answered, inSL, waited, abandoned, failed, failedAttempts, dupRefused, completed, pending int64
	waitSum                                                                                            int64
	waits                                                                                              []float64 // seconds
	depth, maxDepth                                                                                    int
	busy, staffed                                                                                      int64
}

type queueRun struct {
	id     actors.QueueID
	name   string
	sl     int64
	handle sampler
	row    row
}

type streamRun struct {
	idx                                   int32
	t                                     *tenantRun
	q                                     *queueRun
	spec                                  *ArrivalSpec
	domain                                actors.DomainID
	rng                                   *rand.Rand
	ahead, noAnswerTime, patience, dupAft sampler
}

type agentRun struct {
	id                   actors.UserID
	spec                 *AgentSpec
	rng                  *rand.Rand
	handle, wrap, accept sampler
	ownHandle            bool
	presence             actors.Presence
	domain               actors.DomainID
	since                int64
	onShift              int
	queues               []*queueRun
	callQueue            *queueRun
	wrapSeq              uint32
}

type tenantRun struct {
	idx         int32
	id          actors.TenantID
	name        string
	spec        *TenantSpec
	admin       actors.Target
	domainIDs   map[string]actors.DomainID
	domainNames []string // by DomainID
	domainRows  []row    // by DomainID
	queues      []*queueRun
	queueByID   []*queueRun // by QueueID
	agents      []*agentRun // by UserID; nil for the administrator
	cbs         []cbRec     // by CallbackID
	code        actors.CodeID
	simWrap     bool // the simulator ends wrap-up (per-agent times, shifts)
	wrap        sampler
}

type runner struct {
	s                *Scenario
	opt              Options
	eng              *actors.Engine
	now              int64
	start, warm, end int64
	seq              uint64
	heap             eventHeap
	tenants          []*tenantRun
	streams          []*streamRun
	buf              []actors.Event
	numBuf           [1]string
	commands         int64
	stale            int64
	created          int64
	agentsBy         [actors.Away + 1]int
	series           Series
	bucketWaits      []float64
	err              error

	create   actors.CreateCallback
	accept   actors.AcceptOffer
	complete actors.CompleteCallback
	tick     actors.Tick
}

// Run simulates a validated scenario and returns its report.
func Run(s *Scenario, opt Options) (*Report, error) {
	if s.prefix == nil {
		if err := s.Validate(); err != nil {
			return nil, err
		}
	}
	r := &runner{s: s, opt: opt, eng: actors.NewEngine()}
	r.start = s.Start.UnixNano()
	r.warm = r.start + int64(s.Warmup)
	r.end = r.start + int64(s.Duration)
	r.now = r.start
	if err := r.setup(); err != nil {
		return nil, err
	}
	if err := r.loop(); err != nil {
		return nil, err
	}
	return r.report(), nil
}

func (r *runner) push(e event) {
	r.seq++
	e.seq = r.seq
	r.heap.push(e)
}

func (r *runner) pcg(stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(r.s.Seed, stream))
}

// apply runs one command at the current time and handles its events.
func (r *runner) apply(t *tenantRun, cmd actors.Command) (actors.Result, error) {
	r.commands++
	res, events, err := r.eng.Apply(cmd, time.Unix(0, r.now))
	if err != nil {
		return res, err
	}
	r.buf = append(r.buf[:0], events...)
	for i := range r.buf {
		e := &r.buf[i]
		if t == nil || e.Tenant != t.id {
			t = r.tenantByID(e.Tenant)
		}
		if t != nil {
			r.onEvent(t, e)
		}
	}
	return res, nil
}

func (r *runner) tenantByID(id actors.TenantID) *tenantRun {
	for _, t := range r.tenants {
		if t.id == id {
			return t
		}
	}
	return nil
}

func (r *runner) must(t *tenantRun, what string, cmd actors.Command) uint64 {
	if r.err != nil {
		return 0
	}
	res, err := r.apply(t, cmd)
	if err != nil {
		r.err = fmt.Errorf("%w: %s: %w", ErrEngine, what, err)
	}
	return res.ID
}

func (r *runner) setup() error {
	streamNo := uint64(1 << 32)
	agentNo := uint64(1 << 48)
	for ti := range r.s.Tenants {
		spec := &r.s.Tenants[ti]
		t := &tenantRun{idx: int32(ti), name: spec.Name, spec: spec, domainIDs: map[string]actors.DomainID{"Home": actors.HomeDomain}}
		r.tenants = append(r.tenants, t)
		pol := spec.Policy
		agents := 0
		for _, q := range spec.Queues {
			agents += q.Agents
		}
		for _, a := range spec.Agents {
			agents += a.Count
			if a.WrapUp != nil || len(a.Shifts) > 0 {
				t.simWrap = true
			}
		}
		t.wrap = newSampler(Constant(pol.WrapUp.D()))
		engineWrap := pol.WrapUp.D()
		if t.simWrap {
			engineWrap = 24 * time.Hour // the simulator ends it earlier
		}
		policy := actors.Policy{
			CloseCommentRequired: pol.CloseCommentRequired, MaxAttempts: pol.MaxAttempts, RetryDelay: pol.RetryDelay.D(),
			OfferTimeout: pol.OfferTimeout.D(), AutoSwitchPosition: pol.AutoSwitchPosition, Duplicates: actors.DuplicatePolicy(pol.Duplicates),
			ServiceLevel: time.Duration(pol.ServiceLevelSeconds * float64(time.Second)), CallbackTTL: pol.CallbackTTL.D(),
			WrapUp: engineWrap, NotRespondingAway: "not responding",
		}
		t.id = actors.TenantID(r.must(nil, "tenant "+spec.Name, &actors.CreateTenant{
			Profile: actors.Profile{CompanyName: spec.Name, AdminUsername: "admin", AdminEmail: "admin@sim.example.com", AdminFirstName: "Admin"},
			Limits:  actors.Limits{MaxAgents: max(1, agents), StorageQuotaBytes: 1 << 50, MaxDomains: len(spec.Domains) + 1},
			Policy:  &policy,
		}))
		t.admin = actors.Target{Tenant: t.id, By: actors.AsUser(actors.TenantAdmin)}
		t.domainNames = []string{"", "Home"}
		for _, d := range spec.Domains {
			parent := actors.HomeDomain
			if d.Parent != "" {
				parent = t.domainIDs[d.Parent]
			}
			id := actors.DomainID(r.must(t, "domain "+d.Name, &actors.CreateDomain{Target: t.admin, Name: d.Name, Parent: parent}))
			t.domainIDs[d.Name] = id
			for len(t.domainNames) <= int(id) {
				t.domainNames = append(t.domainNames, "")
			}
			t.domainNames[id] = d.Name
		}
		t.domainRows = make([]row, len(t.domainNames))
		qByName := map[string]*queueRun{}
		for i := range spec.Queues {
			qs := &spec.Queues[i]
			st, _ := actors.ParseStrategy(qs.Strategy)
			sl := time.Duration(qs.ServiceLevelSeconds * float64(time.Second))
			id := actors.QueueID(r.must(t, "queue "+qs.Name, &actors.CreateQueue{Target: t.admin, Name: qs.Name, Domain: t.domainIDs[qs.Domain], Strategy: st, ServiceLevel: sl}))
			q := &queueRun{id: id, name: qs.Name, sl: int64(sl), handle: newSampler(Exponential(5 * time.Minute))}
			if qs.HandleTime != nil {
				q.handle = newSampler(qs.HandleTime)
			}
			t.queues = append(t.queues, q)
			for len(t.queueByID) <= int(id) {
				t.queueByID = append(t.queueByID, nil)
			}
			t.queueByID[id] = q
			qByName[qs.Name] = q
		}
		t.code = actors.CodeID(r.must(t, "wrap-up code", &actors.CreateCode{Target: t.admin, CodeKind: actors.WrapUpCode, Name: "done"}))
		t.agents = []*agentRun{nil, nil}
		addAgent := func(name string, spec *AgentSpec, q *queueRun) {
			if r.err != nil {
				return
			}
			agentNo++
			var positions []actors.Position
			var scope []actors.DomainID
			home := t.domainIDs[spec.Home]
			scope = append(scope, home)
			for i, p := range spec.Positions {
				d := t.domainIDs[p]
				positions = append(positions, actors.Position{Name: "desk" + strconv.Itoa(i+1), Domain: d})
				if !slices.Contains(scope, d) {
					scope = append(scope, d)
				}
			}
			a := &agentRun{spec: spec, rng: r.pcg(agentNo), presence: actors.Offline, domain: positions[0].Domain, since: r.now}
			var ms []actors.Membership
			for _, m := range spec.Queues {
				mq := qByName[m.Queue]
				ms = append(ms, actors.Membership{Queue: mq.id, Tier: m.Tier})
				a.queues = append(a.queues, mq)
			}
			if spec.HandleTime != nil {
				a.handle, a.ownHandle = newSampler(spec.HandleTime), true
			}
			a.wrap = t.wrap
			if spec.WrapUp != nil {
				a.wrap = newSampler(spec.WrapUp)
			}
			a.accept = newSampler(spec.AcceptTime)
			a.id = actors.UserID(r.must(t, "agent "+name, &actors.CreateUser{Target: t.admin, Name: name, Home: home,
				Grants:    []actors.Grant{{Role: actors.RoleAgent, Scope: actors.Scope{Domains: scope}}},
				Positions: positions, Memberships: ms}))
			if r.err != nil {
				return
			}
			for len(t.agents) <= int(a.id) {
				t.agents = append(t.agents, nil)
			}
			t.agents[a.id] = a
			r.agentsBy[actors.Offline]++
			r.scheduleShifts(t, a)
		}
		for i := range spec.Queues {
			qs := &spec.Queues[i]
			if qs.Agents == 0 {
				continue
			}
			as := &AgentSpec{Count: qs.Agents, Home: qs.Domain, Positions: []string{qs.Domain}, Queues: []MemberSpec{{Queue: qs.Name, Tier: 1}}, BackAfterTimeout: Duration(time.Minute)}
			for k := 1; k <= qs.Agents; k++ {
				addAgent(qs.Name+"-agent"+strconv.Itoa(k), as, qByName[qs.Name])
			}
		}
		for i := range spec.Agents {
			as := &spec.Agents[i]
			for k := 1; k <= as.Count; k++ {
				name := as.Name
				if as.Count > 1 {
					name += "-" + strconv.Itoa(k)
				}
				addAgent(name, as, nil)
			}
		}
		for i := range spec.Queues {
			qs := &spec.Queues[i]
			for j := range qs.Arrivals {
				a := &qs.Arrivals[j]
				streamNo++
				st := &streamRun{idx: int32(len(r.streams)), t: t, q: qByName[qs.Name], spec: a, domain: t.domainIDs[cmp(a.Domain, qs.Domain)], rng: r.pcg(streamNo),
					ahead: newSampler(a.ScheduleAhead), noAnswerTime: newSampler(a.NoAnswerTime), patience: newSampler(a.Patience), dupAft: newSampler(a.DuplicateAfter)}
				r.streams = append(r.streams, st)
				if at := r.nextArrival(st, r.start); at >= 0 {
					r.push(event{at: at, kind: evArrival, tenant: t.idx, who: int32(len(r.streams) - 1)})
				}
			}
		}
		t.cbs = make([]cbRec, 1, 1024)
		if r.err != nil {
			return r.err
		}
	}
	r.series.Every = r.s.SampleEvery.D()
	for _, t := range r.tenants {
		for _, q := range t.queues {
			r.series.Queues = append(r.series.Queues, r.queueName(t, q.name))
		}
	}
	r.series.Depth = make([][]float64, len(r.series.Queues))
	r.push(event{at: r.start, kind: evSample})
	return r.err
}

// scheduleShifts pushes an agent's shift starts and ends for the whole
// run; an agent with no shifts starts at once and stays.
func (r *runner) scheduleShifts(t *tenantRun, a *agentRun) {
	if len(a.spec.Shifts) == 0 {
		r.push(event{at: r.start, kind: evShiftOn, tenant: t.idx, who: int32(a.id)})
		return
	}
	const day = int64(24 * time.Hour)
	first := r.start - ((r.start%day)+day)%day - day
	for d := first; d < r.end; d += day {
		for _, sh := range a.spec.Shifts {
			on, off := d+int64(sh.Start), d+int64(sh.End)
			if off <= on {
				off += day
			}
			if off <= r.start || on >= r.end {
				continue
			}
			r.push(event{at: max(on, r.start), kind: evShiftOn, tenant: t.idx, who: int32(a.id)})
			if off < r.end {
				r.push(event{at: off, kind: evShiftOff, tenant: t.idx, who: int32(a.id)})
			}
		}
	}
}

// nextArrival is the next Poisson arrival after t (the rate is piecewise
// constant by hour of day; memorylessness makes the restart at each hour
// exact), or -1 past the end of the run.
func (r *runner) nextArrival(st *streamRun, t int64) int64 {
	return nextArrival(st.spec, st.rng, t, r.end)
}

// nextArrival is the next arrival of stream a after t (Unix ns), or -1 at
// or past end. The live mode draws its arrivals with it too.
func nextArrival(a *ArrivalSpec, rng *rand.Rand, t, end int64) int64 {
	const hour = int64(time.Hour)
	if a.Profile == nil {
		t += int64(rng.ExpFloat64() / a.PerHour * float64(hour))
		if t >= end {
			return -1
		}
		return t
	}
	for t < end {
		boundary := (t/hour + 1) * hour
		rate := a.Profile[int((t/hour)%24)]
		if rate > 0 {
			if next := t + int64(rng.ExpFloat64()/rate*float64(hour)); next < boundary {
				if next >= end {
					return -1
				}
				return next
			}
		}
		t = boundary
	}
	return -1
}

func (r *runner) loop() error {
	total := time.Duration(r.end - r.start)
	var progressAt int64
	const progressEvery = 1 << 14
	var n int64
	for r.err == nil {
		n++
		if r.opt.Progress != nil && n%progressEvery == 0 && r.now >= progressAt {
			r.opt.Progress(time.Duration(r.now-r.start), total)
			progressAt = r.now
		}
		next := int64(math.MaxInt64)
		if len(r.heap) > 0 {
			next = r.heap[0].at
		}
		if dl := r.eng.NextDeadline(); !dl.IsZero() && dl.UnixNano() <= next {
			at := dl.UnixNano()
			if at > r.end {
				break
			}
			r.now = max(r.now, at)
			if _, err := r.apply(nil, &r.tick); err != nil {
				return fmt.Errorf("%w: tick: %w", ErrEngine, err)
			}
			continue
		}
		if next > r.end {
			break
		}
		e := r.heap.pop()
		r.now = max(r.now, e.at)
		r.handle(&e)
	}
	if r.err != nil {
		return r.err
	}
	r.now = r.end
	for _, t := range r.tenants {
		for _, a := range t.agents {
			if a != nil {
				r.account(t, a)
			}
		}
	}
	if r.opt.Progress != nil {
		r.opt.Progress(total, total)
	}
	return nil
}

func (r *runner) agent(e *event) (*tenantRun, *agentRun) {
	t := r.tenants[e.tenant]
	return t, t.agents[e.who]
}

// handle runs one simulator event.
func (r *runner) handle(e *event) {
	switch e.kind {
	case evArrival:
		st := r.streams[e.who]
		r.request(st, 0)
		if at := r.nextArrival(st, r.now); at >= 0 {
			e.at = at
			r.push(*e)
		}
	case evDuplicate:
		r.request(r.streams[e.who], e.cb)
	case evCancel:
		t := r.tenants[e.tenant]
		if c := &t.cbs[e.cb]; !c.accepted && (c.state == cbScheduled || c.state == cbQueued || c.state == cbOffered) {
			r.try(t, &actors.CancelCallback{Target: t.admin, Callback: e.cb})
		}
	case evAccept:
		t, a := r.agent(e)
		r.accept = actors.AcceptOffer{Target: actors.Target{Tenant: t.id, By: actors.AsUser(a.id)}, Callback: e.cb, Offer: e.offer}
		r.try(t, &r.accept)
	case evReject:
		t, a := r.agent(e)
		r.try(t, &actors.RejectOffer{Target: actors.Target{Tenant: t.id, By: actors.AsUser(a.id)}, Callback: e.cb, Offer: e.offer})
	case evEnd:
		t, a := r.agent(e)
		by := actors.Target{Tenant: t.id, By: actors.AsUser(a.id)}
		if e.fail {
			r.must(t, "fail attempt", &actors.FailAttempt{Target: by, Callback: e.cb, Reason: "no answer"})
		} else {
			r.complete = actors.CompleteCallback{Target: by, Callback: e.cb, Disposition: t.code, Comment: "done"}
			r.must(t, "complete", &r.complete)
		}
	case evWrapEnd:
		t, a := r.agent(e)
		if a.presence == actors.WrapUp && a.wrapSeq == e.aux {
			r.presence(t, a, r.idle(a))
		}
	case evShiftOn:
		t, a := r.agent(e)
		a.onShift++
		if a.onShift == 1 && a.presence == actors.Offline {
			r.presence(t, a, actors.Available)
		}
	case evShiftOff:
		t, a := r.agent(e)
		a.onShift--
		if a.onShift == 0 && (a.presence == actors.Available || a.presence == actors.Away) {
			r.presence(t, a, actors.Offline)
		}
	case evBack:
		t, a := r.agent(e)
		if a.presence == actors.Away {
			r.presence(t, a, r.idle(a))
		}
	case evSample:
		r.sample()
		if next := e.at + int64(r.s.SampleEvery); next <= r.end {
			e.at = next
			r.push(*e)
		}
	}
}

// idle is what an agent becomes when free: available on shift, else offline.
func (r *runner) idle(a *agentRun) actors.Presence {
	if a.onShift > 0 {
		return actors.Available
	}
	return actors.Offline
}

func (r *runner) presence(t *tenantRun, a *agentRun, p actors.Presence) {
	r.must(t, "presence", &actors.SetPresence{Target: actors.Target{Tenant: t.id, By: actors.AsUser(a.id)}, Agent: a.id, Presence: p})
}

// try applies an action that may have been overtaken by events (an accept
// after the offer timed out or the customer canceled): a conflict is
// counted as stale, anything else is an error.
func (r *runner) try(t *tenantRun, cmd actors.Command) {
	if _, err := r.apply(t, cmd); err != nil {
		if errors.Is(err, actors.ErrConflict) {
			r.stale++
			return
		}
		if r.err == nil {
			r.err = fmt.Errorf("%w: %T: %w", ErrEngine, cmd, err)
		}
	}
}

func number(id actors.CallbackID) string {
	var b [24]byte
	n := strconv.AppendUint(append(b[:0], "+1555"...), uint64(id)+1_000_000, 10)
	return string(n)
}

// request is a customer asking for a callback (dupOf: asking again for
// the callback of that request).
func (r *runner) request(st *streamRun, dupOf actors.CallbackID) {
	t, q := st.t, st.q
	id := actors.CallbackID(len(t.cbs))
	counted := r.now >= r.warm
	rec := cbRec{stream: st.idx, due: r.now, counted: counted}
	var at time.Time
	if st.spec.ScheduledShare > 0 && st.rng.Float64() < st.spec.ScheduledShare {
		if ahead := st.ahead.draw(st.rng); ahead > 0 {
			rec.due = r.now + ahead
			at = time.Unix(0, rec.due)
		}
	}
	num := id
	if dupOf != 0 {
		num = dupOf
	}
	r.numBuf[0] = number(num)
	r.create = actors.CreateCallback{Target: t.admin, Queue: q.id, Domain: st.domain, CustomerName: "customer",
		Numbers: r.numBuf[:], Priority: st.spec.Priority, ScheduledAt: at}
	t.cbs = append(t.cbs, rec)
	res, err := r.apply(t, &r.create)
	if err != nil {
		t.cbs = t.cbs[:len(t.cbs)-1]
		if errors.Is(err, actors.ErrDuplicate) {
			if counted {
				q.row.dupRefused++
				t.domainRows[st.domain].dupRefused++
			}
			return
		}
		r.err = fmt.Errorf("%w: create callback: %w", ErrEngine, err)
		return
	}
	if actors.CallbackID(res.ID) != id {
		r.err = fmt.Errorf("%w: callback id %d, the simulator expected %d", ErrEngine, res.ID, id)
		return
	}
	r.created++
	if counted {
		q.row.offered++
		t.domainRows[st.domain].offered++
	}
	if dupOf != 0 {
		return
	}
	if st.spec.Patience != nil {
		r.push(event{at: rec.due + st.patience.draw(st.rng), kind: evCancel, tenant: t.idx, cb: id})
	}
	if st.spec.DuplicateShare > 0 && st.rng.Float64() < st.spec.DuplicateShare {
		r.push(event{at: r.now + st.dupAft.draw(st.rng), kind: evDuplicate, tenant: t.idx, who: rec.stream, cb: id})
	}
}

// onEvent follows the core's events: callback states, queue depth, agent
// presence, and what the simulated people do next.
func (r *runner) onEvent(t *tenantRun, e *actors.Event) {
	switch e.Kind {
	case actors.EvCallbackScheduled:
		t.cbs[e.Callback].state = cbScheduled
	case actors.EvCallbackQueued:
		r.queued(t, e, &t.cbs[e.Callback])
	case actors.EvOfferRejected, actors.EvOfferTimedOut:
		r.queued(t, e, &t.cbs[e.Callback]) // back in line at its place
	case actors.EvCallbackOffered:
		c := &t.cbs[e.Callback]
		r.unqueued(t, e, c)
		c.state = cbOffered
		a := t.agents[e.Agent]
		r.setPresence(t, a, actors.Reserved, e.Domain)
		a.callQueue = t.queueByID[e.Queue]
		u := a.rng.Float64()
		switch delay := a.accept.draw(a.rng); {
		case u < a.spec.Reject:
			r.push(event{at: r.now + delay, kind: evReject, tenant: t.idx, who: int32(a.id), cb: e.Callback, offer: e.Offer})
		case u < a.spec.Reject+a.spec.Timeout:
			// lets it ring: the core's offer timeout fires
		default:
			r.push(event{at: r.now + delay, kind: evAccept, tenant: t.idx, who: int32(a.id), cb: e.Callback, offer: e.Offer})
		}
	case actors.EvOfferAccepted:
		c := &t.cbs[e.Callback]
		c.state = cbInProgress
		q := t.queueByID[e.Queue]
		if !c.accepted {
			c.accepted = true
			wait := r.now - c.due
			r.bucketWaits = append(r.bucketWaits, float64(wait)/1e9)
			if c.counted {
				for _, rw := range []*row{&q.row, &t.domainRows[e.Domain]} {
					rw.answered++
					rw.waitSum += wait
					rw.waits = append(rw.waits, float64(wait)/1e9)
					if wait > 0 {
						rw.waited++
					}
					if wait <= q.sl {
						rw.inSL++
					}
				}
			}
		}
		st := r.streams[c.stream]
		a := t.agents[e.Agent]
		ev := event{kind: evEnd, tenant: t.idx, who: int32(a.id), cb: e.Callback}
		if st.spec.NoAnswer > 0 && st.rng.Float64() < st.spec.NoAnswer {
			ev.fail, ev.at = true, r.now+st.noAnswerTime.draw(st.rng)
		} else if a.ownHandle {
			ev.at = r.now + a.handle.draw(a.rng)
		} else {
			ev.at = r.now + q.handle.draw(a.rng)
		}
		r.push(ev)
	case actors.EvPresenceChanged:
		a := t.agents[e.Agent]
		if a == nil {
			return
		}
		r.setPresence(t, a, e.Presence, e.Domain)
		switch {
		case e.Presence == actors.WrapUp && t.simWrap:
			a.wrapSeq++
			r.push(event{at: r.now + a.wrap.draw(a.rng), kind: evWrapEnd, tenant: t.idx, who: int32(a.id), aux: a.wrapSeq})
		case e.Presence == actors.Away && e.Reason == "not responding":
			r.push(event{at: r.now + int64(a.spec.BackAfterTimeout), kind: evBack, tenant: t.idx, who: int32(a.id)})
		}
	case actors.EvPositionSwitched:
		if a := t.agents[e.Agent]; a != nil {
			r.setPresence(t, a, a.presence, e.Domain)
		}
	case actors.EvCallbackCompleted:
		c := &t.cbs[e.Callback]
		c.state = cbDone
		if c.counted {
			t.queueByID[e.Queue].row.completed++
			t.domainRows[e.Domain].completed++
		}
	case actors.EvAttemptFailed:
		if t.cbs[e.Callback].counted {
			t.queueByID[e.Queue].row.failedAttempts++
			t.domainRows[e.Domain].failedAttempts++
		}
	case actors.EvCallbackFailed:
		c := &t.cbs[e.Callback]
		c.state = cbDone
		if c.counted {
			t.queueByID[e.Queue].row.failed++
			t.domainRows[e.Domain].failed++
		}
	case actors.EvCallbackCanceled, actors.EvCallbackExpired:
		c := &t.cbs[e.Callback]
		r.unqueued(t, e, c)
		c.state = cbDone
		if c.counted {
			t.queueByID[e.Queue].row.abandoned++
			t.domainRows[e.Domain].abandoned++
		}
	}
}

func (r *runner) queued(t *tenantRun, e *actors.Event, c *cbRec) {
	c.state = cbQueued
	for _, rw := range []*row{&t.queueByID[e.Queue].row, &t.domainRows[e.Domain]} {
		rw.depth++
		if rw.depth > rw.maxDepth && r.now >= r.warm {
			rw.maxDepth = rw.depth
		}
	}
}

func (r *runner) unqueued(t *tenantRun, e *actors.Event, c *cbRec) {
	if c.state == cbQueued {
		t.queueByID[e.Queue].row.depth--
		t.domainRows[e.Domain].depth--
	}
}

// setPresence records an agent's new presence and domain, first crediting
// the time spent in the old one.
func (r *runner) setPresence(t *tenantRun, a *agentRun, p actors.Presence, d actors.DomainID) {
	r.account(t, a)
	r.agentsBy[a.presence]--
	r.agentsBy[p]++
	a.presence, a.domain = p, d
}

// account credits the agent's time since the last change, within the
// reported window, to occupancy: staffed when available or occupied,
// busy when reserved, busy or in wrap-up.
func (r *runner) account(t *tenantRun, a *agentRun) {
	from, to := max(a.since, r.warm), min(r.now, r.end)
	a.since = r.now
	if to <= from {
		return
	}
	l := to - from
	dr := &t.domainRows[a.domain]
	switch a.presence {
	case actors.Reserved, actors.Busy, actors.WrapUp:
		dr.busy += l
		if a.callQueue != nil {
			a.callQueue.row.busy += l
		}
	case actors.Available:
	default:
		return
	}
	dr.staffed += l
	for _, q := range a.queues {
		q.row.staffed += l
	}
}

// sample records a point of the charts: queue depths, agents by state,
// and the wait percentiles of the callbacks answered since the last point.
func (r *runner) sample() {
	s := &r.series
	s.Hours = append(s.Hours, float64(r.now-r.start)/float64(time.Hour))
	i := 0
	for _, t := range r.tenants {
		for _, q := range t.queues {
			s.Depth[i] = append(s.Depth[i], float64(q.row.depth))
			i++
		}
	}
	for p := actors.Offline; p <= actors.Away; p++ {
		s.Agents[p-actors.Offline] = append(s.Agents[p-actors.Offline], float64(r.agentsBy[p]))
	}
	slices.Sort(r.bucketWaits)
	for k, p := range []float64{0.5, 0.9, 0.99} {
		v := math.NaN()
		if len(r.bucketWaits) > 0 {
			v = quantile(r.bucketWaits, p)
		}
		s.Wait[k] = append(s.Wait[k], v)
	}
	r.bucketWaits = r.bucketWaits[:0]
}

// quantile is the nearest-rank quantile of sorted values.
func quantile(sorted []float64, p float64) float64 {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func (r *runner) queueName(t *tenantRun, name string) string {
	if len(r.tenants) == 1 {
		return name
	}
	return t.name + "/" + name
}
