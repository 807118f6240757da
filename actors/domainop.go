package actors

import (
	"cmp"
	"slices"
)

// A tenant changes a domain's routing state only through domain operations,
// one at a time and in log order. In the pure core the tenant calls
// Domain.handle directly; inside the actor system the operation is a message
// to the domain's actor, which calls the same function. The operation and
// its result are owned by the tenant and reused, so the pure path does not
// allocate.

type opCode uint8

const (
	opConfigure      opCode = iota + 1 // take the tenant's policy and queue settings
	opAttach                           // an agent's active position is now in this domain
	opDetach                           // the agent leaves (switch, update, deletion)
	opMemberships                      // replace an agent's queue memberships
	opPresence                         // an agent asks to change presence
	opAddCallback                      // a new or transferred-in callback
	opCallback                         // an action on one callback (see cbAction)
	opUpdateCallback                   // a waiting callback's time, priority or queue (see callbackUpdate)
	opTick                             // fire due deadlines
	opStranded                         // which queues wait with no agent
	opGet                              // read one callback
	opActive                           // list the non-terminal callbacks
)

type cbAction uint8

const (
	actCancel cbAction = iota + 1
	actAccept
	actReject
	actComplete
	actFail
)

// callbackUpdate is what opUpdateCallback changes: all of it or, when the
// callback is not waiting, none of it.
type callbackUpdate struct {
	due         int64 // reschedule to (Unix nanoseconds); 0: keep
	priority    int32
	setPriority bool
	leave       bool   // it transfers out: the tenant adds it where it goes
	refusal     string // what a callback that is not waiting is told
}

type domainOp struct {
	code opCode
	x    opCtx

	agent       *Agent
	user        UserID
	onlyIdle    bool // opDetach: only if available (automatic switch)
	presence    Presence
	reason      string
	memberships []Slot
	policy      *Policy // a pointer keeps the reused op small: it is cleared for every operation
	queues      map[QueueID]QueueConf

	callback *Callback
	id       CallbackID
	action   cbAction
	offer    OfferID
	code2    CodeID
	only     []QueueID
	update   *callbackUpdate // a pointer, like policy
}

type opResult struct {
	err       error
	agent     *Agent
	callback  *Callback
	stranded  []QueueID
	callbacks []*Callback
}

// handle applies one operation. It is the only entry into a domain's state.
func (d *Domain) handle(op *domainOp, r *opResult) {
	x := &op.x
	switch op.code {
	case opConfigure:
		d.Policy = *op.policy
		d.Queues = op.queues
		for _, l := range d.lines {
			if l.conf != d.Queues[l.queue] {
				l.conf = d.Queues[l.queue]
				d.repool(l)
			}
		}
	case opAttach:
		a := op.agent
		d.setAgent(a.ID, a)
		for i := range a.Slots {
			a.Slots[i].idx = -1
		}
		if a.Presence == Available {
			d.pool(a)
			d.routeAgent(x, a)
		}
		a.switched = nil // only the offer made on arrival is the switch's
		if a.Presence == WrapUp {
			d.pushDeadline(deadline{at: a.WrapUntil, kind: wrapUpEndsAt, id: uint32(a.ID)})
		}
	case opDetach:
		a := d.agent(op.user)
		if a == nil || (op.onlyIdle && a.Presence != Available) {
			return
		}
		if a.Presence == Available {
			d.unpool(a)
		}
		d.setAgent(a.ID, nil)
		r.agent = a
	case opMemberships:
		a := d.agent(op.user)
		avail := a.Presence == Available
		if avail {
			d.unpool(a)
		}
		a.Slots = op.memberships
		for i := range a.Slots {
			a.Slots[i].idx = -1
		}
		if avail {
			d.pool(a)
			d.routeAgent(x, a)
		}
	case opPresence:
		r.err = d.requestPresence(x, d.agent(op.user), op.presence, op.reason)
	case opAddCallback:
		c := op.callback
		c.Domain = d.ID // the tenant's table holds it: here it waits now
		if c.Expires != 0 {
			d.pushDeadline(deadline{at: c.Expires, kind: expiresAt, id: uint32(c.ID)})
		}
		switch c.Status {
		case 0: // new: starts as scheduled, queued at once when due
			c.Status = Scheduled
			d.schedule(x, c, c.Due)
		case Scheduled: // transferred in while waiting for its time
			d.schedule(x, c, c.Due)
		case Queued: // transferred in while waiting in line
			l := d.line(c.Queue)
			l.enter(c)
			d.emit(x, Event{Kind: EvCallbackQueued, Queue: c.Queue, Callback: c.ID})
			d.routeLine(x, l)
		}
	case opUpdateCallback:
		c, err := d.visibleCallback(x, op.id)
		if r.err = err; err != nil {
			return
		}
		r.err, r.callback = d.updateCallback(x, op.update, c), c
	case opCallback:
		c, err := d.visibleCallback(x, op.id)
		if r.err = err; err != nil {
			return
		}
		r.err = d.callbackAction(x, op, c)
		r.callback = c
	case opTick:
		d.tick(x)
	case opStranded:
		r.stranded = d.stranded(op.only, r.stranded[:0])
	case opActive:
		for c := range d.callbacks() {
			if !c.Status.Terminal() {
				r.callbacks = append(r.callbacks, c)
			}
		}
	case opGet:
		c, err := d.visibleCallback(x, op.id)
		if r.err = err; err != nil {
			return
		}
		r.callback = c
	}
}

// visibleCallback returns the callback an operation names, when the
// principal may see it.
func (d *Domain) visibleCallback(x *opCtx, id CallbackID) (*Callback, error) {
	c := d.callback(id)
	if c == nil {
		return nil, notFound("callbackId")
	}
	return c, x.guard.check(c)
}

// repool recomputes the pool of a line whose strategy changed.
func (d *Domain) repool(l *line) {
	agents := make([]*Agent, 0, len(l.pool))
	for _, e := range l.pool {
		agents = append(agents, e.agent)
	}
	slices.SortFunc(agents, func(a, b *Agent) int { return cmp.Compare(a.ID, b.ID) })
	for _, a := range agents {
		d.unpool(a)
		d.pool(a)
	}
}

// requestPresence is a presence change asked for by a person: offline,
// available or away. Reserved and busy belong to the engine, and an agent
// with a callback must finish it first.
func (d *Domain) requestPresence(x *opCtx, a *Agent, p Presence, reason string) error {
	switch {
	case p == Reserved || p == Busy || p == WrapUp:
		return invalid("presence", "%s is set by the engine, not by request", p)
	case a.Callback != 0:
		return refuse(ErrConflict, "presence", "agent is %s with a callback; finish it first", a.Presence)
	case p == Away && reason == "":
		return invalid("reason", "an away reason is required")
	case p != Away && reason != "":
		return invalid("reason", "only away takes a reason")
	case a.Presence == p && a.Reason == reason:
		return nil
	}
	a.WrapUntil = 0
	d.setPresence(x, a, p, reason)
	return nil
}

// updateCallback changes a waiting callback's time and priority, and takes
// it out of its line when it transfers (u.leave: the tenant then adds it
// to the domain it goes to, which schedules or queues it there).
func (d *Domain) updateCallback(x *opCtx, u *callbackUpdate, c *Callback) error {
	if c.Status != Scheduled && c.Status != Queued {
		return refuse(ErrConflict, "callback", "%s, this one is %s", u.refusal, c.Status)
	}
	queued := c.Status == Queued
	if queued {
		d.lineAt(c.Queue).leave(c)
	}
	if u.setPriority {
		c.Priority = u.priority
	}
	if u.due != 0 {
		if queued {
			d.setStatus(c, Scheduled)
		}
		d.emit(x, Event{Kind: EvCallbackRescheduled, Queue: c.Queue, Callback: c.ID, Object: uint64(u.due)})
	}
	switch {
	case u.leave:
		if u.due != 0 {
			c.Due = u.due
		}
	case u.due != 0:
		d.schedule(x, c, u.due)
	case queued:
		l := d.lineAt(c.Queue)
		l.enter(c)
		d.routeLine(x, l)
	}
	return nil
}

// callbackAction applies an agent's or a supervisor's action to a visible
// callback. Permission to act was checked by the tenant; here are the
// lifecycle rules.
func (d *Domain) callbackAction(x *opCtx, op *domainOp, c *Callback) error {
	switch op.action {
	case actCancel:
		switch c.Status {
		case Queued:
			d.lineAt(c.Queue).leave(c)
		case Scheduled:
		case Offered:
			a := d.agent(c.Agent)
			c.Offer, c.Agent = 0, 0
			d.setStatus(c, Canceled)
			d.stats(c.Queue).Abandoned++
			d.emit(x, Event{Kind: EvCallbackCanceled, Queue: c.Queue, Callback: c.ID})
			d.releaseAgent(x, a, false)
			return nil
		default:
			return refuse(ErrConflict, "callback", "a %s callback cannot be canceled", c.Status)
		}
		d.setStatus(c, Canceled)
		d.stats(c.Queue).Abandoned++
		d.emit(x, Event{Kind: EvCallbackCanceled, Queue: c.Queue, Callback: c.ID})
	case actAccept, actReject:
		if c.Status != Offered || c.Offer != op.offer || c.Agent != op.user {
			return refuse(ErrConflict, "offer", "offer %d is not the current offer of this callback to this agent", op.offer)
		}
		a := d.agent(c.Agent)
		if op.action == actReject {
			d.emit(x, Event{Kind: EvOfferRejected, Queue: c.Queue, Callback: c.ID, Agent: a.ID, Offer: c.Offer})
			a.Callback = 0
			d.requeue(x, c)
			if a.Presence == Reserved {
				d.setPresence(x, a, Available, "")
			}
			return nil
		}
		d.setStatus(c, InProgress)
		c.Attempts++
		d.record(c).AcceptedAt = x.now
		// The line exists unless restored from a snapshot since the offer;
		// do not create one (lines show in reports).
		s, sl := (*QueueStats)(nil), int64(0)
		if l := d.lineAt(c.Queue); l != nil {
			s, sl = d.lineStats(l), l.conf.ServiceLevel
		} else {
			s, sl = d.stats(c.Queue), d.Queues[c.Queue].ServiceLevel
		}
		s.Answered++
		wait := x.now - c.Due
		s.WaitSum += wait
		if wait <= sl {
			s.AnsweredInSL++
		}
		a.Presence, a.Since = Busy, x.now
		d.emit(x, Event{Kind: EvOfferAccepted, Queue: c.Queue, Callback: c.ID, Agent: a.ID, Offer: c.Offer, Object: uint64(wait)})
		d.emit(x, Event{Kind: EvPresenceChanged, Agent: a.ID, Presence: Busy})
	case actComplete, actFail:
		if c.Status != InProgress {
			return refuse(ErrConflict, "callback", "only a callback in progress can be closed, this one is %s", c.Status)
		}
		if op.action == actComplete && d.Policy.CloseCommentRequired && op.reason == "" {
			return invalid("comment", "this tenant requires a comment when a callback is closed")
		}
		a := d.agent(c.Agent)
		s := d.stats(c.Queue)
		s.HandleSum += x.now - d.record(c).AcceptedAt
		c.Offer, c.OfferDeadline = 0, 0
		if op.action == actComplete {
			d.setStatus(c, Completed)
			r := d.record(c)
			r.Disposition, r.Comment = op.code2, op.reason
			s.Completed++
			d.emit(x, Event{Kind: EvCallbackCompleted, Queue: c.Queue, Callback: c.ID, Agent: c.Agent, Object: uint64(op.code2)})
		} else {
			d.emit(x, Event{Kind: EvAttemptFailed, Queue: c.Queue, Callback: c.ID, Agent: c.Agent, Reason: op.reason})
			if int(c.Attempts) >= d.Policy.MaxAttempts {
				d.setStatus(c, Failed)
				s.Failed++
				d.emit(x, Event{Kind: EvCallbackFailed, Queue: c.Queue, Callback: c.ID, Reason: "maximum attempts reached"})
			} else {
				c.Agent = 0
				d.setStatus(c, Scheduled)
				d.schedule(x, c, x.now+int64(d.Policy.RetryDelay))
				if c.Expires != 0 && c.Expires <= x.now {
					// Its expiry fired while it was in progress and was
					// dropped; waiting again, it expires at the next tick,
					// as it does after a restore (see rebuild).
					d.pushDeadline(deadline{at: c.Expires, kind: expiresAt, id: uint32(c.ID)})
				}
			}
		}
		if a != nil {
			a.Handled++
			d.releaseAgent(x, a, true)
		}
	}
	return nil
}
