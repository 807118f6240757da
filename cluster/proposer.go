package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/ringbackhq/ringback/actors"
)

// Proposer groups concurrent commands into one Raft entry (group commit)
// and hands each proposer its own outcome. Up to Config.MaxInflight
// entries are in flight (proposed, not yet applying) at once; what arrives
// meanwhile gathers into the next one.
type Proposer struct {
	r        *raft.Raft
	cfg      Config
	in       chan *proposal
	inflight chan *entry
	places   *places
	stop     chan struct{}
	wg       sync.WaitGroup
	took     prometheus.Histogram // proposal latency; nil: not measured
}

type proposal struct {
	enc  []byte // the command, encoded by its proposer (appendCommand)
	done chan proposalResult
}

// proposals are reused: a proposal goes back to the pool once its
// proposer has taken the result, so the steady state allocates neither the
// proposal nor its channel. One abandoned on a cancelled context is left
// to the garbage collector, since its result may still be sent.
var proposals = sync.Pool{New: func() any { return &proposal{done: make(chan proposalResult, 1)} }}

type proposalResult struct {
	out actors.Outcome
	err error
}

// entry is one proposed log entry in flight.
type entry struct {
	f     raft.ApplyFuture
	batch []*proposal
	data  []byte // the bytes handed to raft
	// freed: its place in flight is free (places.free); answered: its
	// proposers have their results or are being given them (claim).
	freed, answered atomic.Bool
}

// claim reports whether the caller is the one to answer the entry's
// proposers: the FSM as soon as it has the outcomes, or resultLoop from
// raft's answer (or its failure), whichever comes first, never both.
func (e *entry) claim() bool { return e.answered.CompareAndSwap(false, true) }

// places frees an entry's place in flight as soon as the FSM starts to
// apply it, not when its outcomes come back: the next entry's disk write
// then overlaps this one's apply, which on a busy leader takes as long as
// the write. By then raft's leader loop has taken the entry's commit, so
// the next entry cannot hold it back (see Config.MaxInflight). On the
// leader hashicorp/raft gives the FSM the very log it was handed, so the
// data's first byte names the entry; where it does not (a follower, a log
// read back from the store), the place is freed with the outcome, as a
// fallback. Once the FSM has an entry's outcomes it answers the entry's
// proposers itself (applied). The FSM calls applying and applied from
// raft's FSM goroutine; the proposer calls add and done.
type places struct {
	freed chan struct{} // a place in flight was freed
	mu    sync.Mutex
	queue []*entry // in flight and not yet seen by the FSM, oldest first
	// applyingNow is the entry the FSM is applying, if it is one of ours;
	// touched only on the FSM goroutine.
	applyingNow *entry
	fromFSM     atomic.Uint64 // entries answered by the FSM (tests see the fast path is taken)
}

func newPlaces() *places { return &places{freed: make(chan struct{}, 1024)} }

func (pl *places) add(e *entry) {
	pl.mu.Lock()
	pl.queue = append(pl.queue, e)
	pl.mu.Unlock()
}

// applying is told of each command entry the FSM starts to apply.
func (pl *places) applying(data []byte) {
	pl.mu.Lock()
	var e *entry
	if len(pl.queue) > 0 && sameBytes(pl.queue[0].data, data) {
		e = pl.queue[0]
		pl.queue = slices.Delete(pl.queue, 0, 1)
	}
	pl.mu.Unlock()
	pl.applyingNow = e
	if e != nil {
		pl.free(e)
	}
}

// applied is told of each command entry's outcomes as soon as the FSM has
// them: for an entry of ours the proposers get them at once, without
// waiting for raft to answer the entry's future.
func (pl *places) applied(data []byte, outs []actors.Outcome) {
	e := pl.applyingNow
	pl.applyingNow = nil
	if e == nil || !sameBytes(e.data, data) || len(outs) != len(e.batch) || !e.claim() {
		return
	}
	pl.fromFSM.Add(1)
	for i, pr := range e.batch {
		pr.done <- proposalResult{out: outs[i]}
	}
}

// done is told that an entry's outcome (or failure) is known.
func (pl *places) done(e *entry) {
	pl.mu.Lock()
	if i := slices.Index(pl.queue, e); i >= 0 {
		pl.queue = slices.Delete(pl.queue, i, i+1)
	}
	pl.mu.Unlock()
	pl.free(e)
}

// free frees e's place once, whichever of applying and done comes first.
// At most MaxInflight places are taken, so the send never blocks.
func (pl *places) free(e *entry) {
	if e.freed.CompareAndSwap(false, true) {
		pl.freed <- struct{}{}
	}
}

// sameBytes reports whether a and b are the same memory, not just equal.
func sameBytes(a, b []byte) bool {
	return len(a) > 0 && len(a) == len(b) && &a[0] == &b[0]
}

func newProposer(r *raft.Raft, cfg Config, pl *places) *Proposer {
	p := &Proposer{
		r: r, cfg: cfg,
		in:       make(chan *proposal, cfg.MaxBatch*4),
		inflight: make(chan *entry, 1024),
		places:   pl,
		stop:     make(chan struct{}),
	}
	p.wg.Add(2)
	go p.batchLoop()
	go p.resultLoop()
	return p
}

// Propose submits a command and waits for its outcome. The command is
// encoded here, on the caller's goroutine, so that encoding runs in
// parallel and the batching goroutine only concatenates.
func (p *Proposer) Propose(ctx context.Context, cmd actors.Command) (actors.Outcome, error) {
	start := time.Now()
	pr := proposals.Get().(*proposal)
	enc, err := appendCommand(pr.enc[:0], cmd)
	if err != nil {
		proposals.Put(pr)
		return actors.Outcome{}, err
	}
	pr.enc = enc
	select {
	case p.in <- pr:
	case <-p.stop:
		proposals.Put(pr)
		return actors.Outcome{}, ErrClosed
	case <-ctx.Done():
		proposals.Put(pr)
		return actors.Outcome{}, ctx.Err()
	}
	var r proposalResult
	select {
	case r = <-pr.done:
	case <-ctx.Done():
		return actors.Outcome{}, fmt.Errorf("%w: %v", ErrUnknownOutcome, ctx.Err())
	}
	proposals.Put(pr)
	if p.took != nil {
		p.took.Observe(time.Since(start).Seconds())
	}
	return r.out, r.err
}

func (p *Proposer) close() {
	close(p.stop)
	p.wg.Wait()
}

// batchLoop gathers proposals into entries. Whatever has gathered is
// proposed at once while fewer than MaxInflight entries are in flight;
// otherwise proposals keep gathering (up to a full batch) until an entry
// completes. Idle, a proposal goes out alone and at once; under load what
// gathers behind the entries in flight makes the entries large.
func (p *Proposer) batchLoop() {
	defer p.wg.Done()
	defer close(p.inflight)
	batch := make([]*proposal, 0, p.cfg.MaxBatch)
	inFlight := 0
	var buf []byte
	for {
		full := len(batch) >= p.cfg.MaxBatch
		if len(batch) > 0 && inFlight < p.cfg.MaxInflight {
			buf = p.propose(batch, buf)
			batch = batch[:0]
			inFlight++
			continue
		}
		in := p.in
		if full {
			in = nil // wait for a completion before taking more
		}
		select {
		case pr := <-in:
			batch = append(batch, pr)
		drain:
			for len(batch) < p.cfg.MaxBatch {
				select {
				case pr := <-p.in:
					batch = append(batch, pr)
				default:
					break drain
				}
			}
		case <-p.places.freed:
			inFlight--
		case <-p.stop:
			fail(batch, ErrClosed)
			p.drain()
			return
		}
	}
}

// propose joins a batch into one entry stamped with the leader's clock and
// hands it to raft; resultLoop delivers its outcomes.
func (p *Proposer) propose(batch []*proposal, buf []byte) []byte {
	buf = appendEntryHeader(buf[:0], p.cfg.Clock().UnixNano(), len(batch))
	for _, pr := range batch {
		buf = append(buf, pr.enc...)
	}
	e := &entry{data: bytes.Clone(buf), batch: slices.Clone(batch)}
	p.places.add(e) // before raft has it, so the FSM cannot miss it
	e.f = p.r.Apply(e.data, p.cfg.ApplyTimeout)
	p.inflight <- e
	return buf
}

// drain refuses what is still queued when the proposer stops.
func (p *Proposer) drain() {
	for {
		select {
		case pr := <-p.in:
			fail([]*proposal{pr}, ErrClosed)
		default:
			return
		}
	}
}

// resultLoop waits for each entry in order, says it completed and
// delivers the outcomes, unless the FSM already has.
func (p *Proposer) resultLoop() {
	defer p.wg.Done()
	for in := range p.inflight {
		err := p.wait(in.f)
		p.places.done(in)
		if !in.claim() {
			continue // the FSM answered
		}
		if err != nil {
			if errors.Is(err, raft.ErrNotLeader) {
				fail(in.batch, ErrNotLeader)
			} else {
				// Leadership lost, shutdown, timeout: the entry may commit.
				fail(in.batch, fmt.Errorf("%w: %v", ErrUnknownOutcome, err))
			}
			continue
		}
		outs, ok := in.f.Response().([]actors.Outcome)
		if !ok || len(outs) != len(in.batch) {
			fail(in.batch, fmt.Errorf("%w: unexpected FSM response %T", ErrUnknownOutcome, in.f.Response()))
			continue
		}
		for i, pr := range in.batch {
			pr.done <- proposalResult{out: outs[i]}
		}
	}
}

// wait returns the future's error, or ErrClosed once the proposer stops.
// hashicorp/raft never answers an apply future still queued in its
// buffered apply channel when it shuts down (as a leader that removed
// itself does), and the future has no shutdown channel: waiting on it
// alone would hang Close forever. Such a waiter goroutine is left blocked;
// there are at most MaxInflight of them, once, at shutdown.
func (p *Proposer) wait(f raft.ApplyFuture) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-p.stop:
		select {
		case err := <-done:
			return err
		default:
			return ErrClosed // reported as an unknown outcome
		}
	}
}

func fail(batch []*proposal, err error) {
	for _, pr := range batch {
		pr.done <- proposalResult{err: err}
	}
}
