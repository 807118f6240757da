package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/ringbackhq/ringback/actors"
)

// Proposer groups concurrent commands into one Raft entry (group commit)
// and hands each proposer its own outcome. Up to Config.MaxInflight
// entries are in flight at once; what arrives meanwhile gathers into the
// next one.
type Proposer struct {
	r        *raft.Raft
	cfg      Config
	in       chan *proposal
	inflight chan inflight
	freed    chan struct{} // an entry in flight completed
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

type inflight struct {
	f     raft.ApplyFuture
	batch []*proposal
}

func newProposer(r *raft.Raft, cfg Config) *Proposer {
	p := &Proposer{
		r: r, cfg: cfg,
		in:       make(chan *proposal, cfg.MaxBatch*4),
		inflight: make(chan inflight, 1024),
		freed:    make(chan struct{}, 1024),
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
		case <-p.freed:
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
	f := p.r.Apply(bytes.Clone(buf), p.cfg.ApplyTimeout)
	p.inflight <- inflight{f: f, batch: slices.Clone(batch)}
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
// delivers the outcomes.
func (p *Proposer) resultLoop() {
	defer p.wg.Done()
	for in := range p.inflight {
		err := p.wait(in.f)
		p.freed <- struct{}{}
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
