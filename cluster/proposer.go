package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hashicorp/raft"
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
	stop     chan struct{}
	wg       sync.WaitGroup
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
		stop:     make(chan struct{}),
	}
	p.wg.Add(2)
	go p.batchLoop()
	go p.resultLoop()
	return p
}

// Propose submits a command and waits for its outcome.
func (p *Proposer) Propose(ctx context.Context, cmd actors.Command) (actors.Outcome, error) {
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
		return r.out, r.err
	case <-ctx.Done():
		return actors.Outcome{}, fmt.Errorf("%w: %v", ErrUnknownOutcome, ctx.Err())
	}
}

func (p *Proposer) close() {
	close(p.stop)
	p.wg.Wait()
}

// batchLoop takes whatever proposals are waiting, up to MaxBatch, encodes
// them as one entry stamped with the leader's clock, and proposes it.
func (p *Proposer) batchLoop() {
	defer p.wg.Done()
	defer close(p.inflight)
	batch := make([]*proposal, 0, p.cfg.MaxBatch)
	var buf []byte
	for {
		batch = batch[:0]
		select {
		case pr := <-p.in:
			batch = append(batch, pr)
		case <-p.stop:
			for {
				select {
				case pr := <-p.in:
					fail([]*proposal{pr}, ErrClosed)
				default:
					return
				}
			}
		}
	drain:
		for len(batch) < p.cfg.MaxBatch {
			select {
			case pr := <-p.in:
				batch = append(batch, pr)
			default:
				break drain
			}
		}
		e := Entry{Time: p.cfg.Clock().UnixNano(), Commands: make([]actors.Command, len(batch))}
		for i, pr := range batch {
			e.Commands[i] = pr.cmd
		}
		var err error
		buf, err = EncodeEntry(buf[:0], e)
		if err != nil {
			fail(batch, err)
			continue
		}
		data := make([]byte, len(buf))
		copy(data, buf)
		f := p.r.Apply(data, p.cfg.ApplyTimeout)
		p.inflight <- inflight{f: f, batch: append([]*proposal(nil), batch...)}
	}
}

// resultLoop waits for each entry in order and delivers the outcomes.
func (p *Proposer) resultLoop() {
	defer p.wg.Done()
	for in := range p.inflight {
		if err := in.f.Error(); err != nil {
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

func fail(batch []*proposal, err error) {
	for _, pr := range batch {
		pr.done <- proposalResult{err: err}
	}
}
