package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/ringbackhq/ringback/actors"
)

// Proposer groups concurrent commands into one Raft entry (group commit)
// and hands each proposer its own outcome. Entries are pipelined: the next
// batch is proposed while earlier ones replicate.
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
	cmd  actors.Command
	done chan proposalResult
}

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

// Propose submits a command and waits for its outcome.
func (p *Proposer) Propose(ctx context.Context, cmd actors.Command) (actors.Outcome, error) {
	start := time.Now()
	pr := &proposal{cmd: cmd, done: make(chan proposalResult, 1)}
	select {
	case p.in <- pr:
	case <-p.stop:
		return actors.Outcome{}, ErrClosed
	case <-ctx.Done():
		return actors.Outcome{}, ctx.Err()
	}
	select {
	case r := <-pr.done:
		if p.took != nil {
			p.took.Observe(time.Since(start).Seconds())
		}
		return r.out, r.err
	case <-ctx.Done():
		return actors.Outcome{}, fmt.Errorf("%w: %v", ErrUnknownOutcome, ctx.Err())
	}
}

func (p *Proposer) close() {
	close(p.stop)
	p.wg.Wait()
}

// batchLoop gathers proposals into entries. An entry is proposed at once
// when nothing is in flight; while entries are in flight, proposals keep
// gathering until the batch is full (then up to MaxInflight entries may be
// in flight) or an entry completes. This keeps entries large under load and
// latency low when idle.
func (p *Proposer) batchLoop() {
	defer p.wg.Done()
	defer close(p.inflight)
	batch := make([]*proposal, 0, p.cfg.MaxBatch)
	inFlight := 0
	var buf []byte
	for {
		full := len(batch) >= p.cfg.MaxBatch
		if len(batch) > 0 && (inFlight == 0 || (full && inFlight < p.cfg.MaxInflight)) {
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

// propose encodes a batch as one entry stamped with the leader's clock and
// hands it to raft; resultLoop delivers its outcomes.
func (p *Proposer) propose(batch []*proposal, buf []byte) []byte {
	e := Entry{Time: p.cfg.Clock().UnixNano(), Commands: make([]actors.Command, len(batch))}
	for i, pr := range batch {
		e.Commands[i] = pr.cmd
	}
	buf, err := EncodeEntry(buf[:0], e)
	if err != nil {
		fail(batch, err)
		p.freed <- struct{}{}
		return buf
	}
	data := make([]byte, len(buf))
	copy(data, buf)
	f := p.r.Apply(data, p.cfg.ApplyTimeout)
	p.inflight <- inflight{f: f, batch: append([]*proposal(nil), batch...)}
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
