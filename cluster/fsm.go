package cluster

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/ringbackhq/ringback/actors"
)

// FSM applies committed entries to the actor system. Raft calls ApplyBatch,
// Snapshot and Restore from one goroutine; reads come from others and see
// the system under mu.
type FSM struct {
	mu  sync.RWMutex
	sys *actors.System // guarded by mu (swapped by Restore)

	// Touched only on raft's FSM goroutine.
	lastTime  int64 // latest entry time applied; time never goes back
	deadlines map[actors.TenantID]int64
	// applyTenantRun's scratch, reused run to run: each tenant's batch,
	// the batches, and each batch's commands' places in the run.
	batchOf  map[actors.TenantID]int
	batches  []actors.Batch
	idx      [][]int
	dec      entryDecoder         // its memory is reused entry to entry
	onEvents func([]actors.Event) // set before raft starts
	// Told of each command entry as it starts to apply and once it has its
	// outcomes (the proposer's places); set before raft starts.
	applying   func(data []byte)
	hasOutcome func(data []byte, outs []actors.Outcome)

	httpAddrs sync.Map // server ID -> HTTP address, from Announce entries

	next    atomic.Int64  // earliest pending deadline, for the leader's ticker
	applied atomic.Uint64 // last log index the FSM has finished applying
	purge   chan struct{} // a tenant was deleted: compact its data away
	timings *timings
}

// NewFSM returns an FSM over an empty engine.
func NewFSM() *FSM {
	return &FSM{sys: actors.NewSystem(actors.NewEngine()), deadlines: map[actors.TenantID]int64{}, batchOf: map[actors.TenantID]int{}, timings: newTimings(),
		purge: make(chan struct{}, 1)}
}

var _ raft.BatchingFSM = (*FSM)(nil)

// Apply applies one entry.
func (f *FSM) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// ApplyBatch applies committed entries in order. Each command entry yields
// a []actors.Outcome, one per command, for the proposer. An entry that
// cannot be decoded stops the node: skipping it would fork the replicas.
func (f *FSM) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	f.mu.RLock()
	defer f.mu.RUnlock()
	for i, l := range logs {
		if l.Type != raft.LogCommand {
			continue
		}
		if f.applying != nil {
			f.applying(l.Data)
		}
		e, err := f.dec.decode(l.Data)
		if err != nil {
			panic(fmt.Sprintf("cluster: stopping: log index %d term %d: %v", l.Index, l.Term, err))
		}
		f.lastTime = max(f.lastTime, e.Time)
		start := time.Now()
		outs := f.applyEntry(e.Commands, time.Unix(0, f.lastTime))
		out[i] = outs
		if f.hasOutcome != nil {
			f.hasOutcome(l.Data, outs)
		}
		f.timings.apply.Observe(time.Since(start).Seconds())
	}
	if len(logs) > 0 {
		f.applied.Store(logs[len(logs)-1].Index)
	}
	f.publishNext()
	return out
}

// applyEntry runs one entry's commands. Consecutive tenant commands run as
// one batch per tenant, tenants in parallel; operator commands and ticks
// run alone, in their place.
func (f *FSM) applyEntry(cmds []actors.Command, now time.Time) []actors.Outcome {
	out := make([]actors.Outcome, len(cmds))
	for i := 0; i < len(cmds); {
		if a, ok := cmds[i].(*Announce); ok {
			f.httpAddrs.Store(a.ID, a.HTTPAddr)
			i++
			continue
		}
		if _, ok := cmds[i].(actors.TenantCommand); !ok {
			out[i].Result, out[i].Events, out[i].Err = f.sys.Apply(cmds[i], now)
			if _, del := cmds[i].(*actors.DeleteTenant); del && out[i].Err == nil {
				select {
				case f.purge <- struct{}{}:
				default:
				}
			}
			f.publish(out[i : i+1])
			f.deadlines = f.sys.NextDeadlines()
			i++
			continue
		}
		j := i
		for j < len(cmds) {
			if _, ok := cmds[j].(actors.TenantCommand); !ok {
				break
			}
			j++
		}
		f.applyTenantRun(cmds[i:j], out[i:j], now)
		i = j
	}
	return out
}

func (f *FSM) applyTenantRun(cmds []actors.Command, out []actors.Outcome, now time.Time) {
	// One batch per tenant, in order of first appearance; idx maps each
	// batch's commands back to their place in the run. The batches, their
	// slices and idx are the FSM's own and reused from run to run: the
	// outcomes are copied out, and the events are published before the
	// next run.
	at := f.batchOf
	clear(at)
	batches, idx := f.batches[:0], f.idx
	for i, c := range cmds {
		tc := c.(actors.TenantCommand)
		t := tc.TenantOf()
		k, ok := at[t]
		if !ok {
			k = len(batches)
			at[t] = k
			if k < cap(batches) {
				batches = batches[:k+1]
				batches[k].Tenant, batches[k].Cmds = t, batches[k].Cmds[:0]
			} else {
				batches = append(batches, actors.Batch{Tenant: t})
			}
			if k < len(idx) {
				idx[k] = idx[k][:0]
			} else {
				idx = append(idx, nil)
			}
		}
		batches[k].Cmds = append(batches[k].Cmds, tc)
		idx[k] = append(idx[k], i)
	}
	f.batches, f.idx = batches, idx
	f.sys.ApplyBatches(batches, now)
	for k, b := range batches {
		for j, i := range idx[k] {
			out[i] = b.Outcomes[j]
		}
		if b.NextDeadline == 0 {
			delete(f.deadlines, b.Tenant)
		} else {
			f.deadlines[b.Tenant] = b.NextDeadline
		}
	}
	f.publish(out)
}

// publish hands the outcomes' events to OnEvents, in command order, and
// drops them from the outcomes: they live in buffers the next command
// reuses, and proposers get results, not events.
func (f *FSM) publish(outs []actors.Outcome) {
	for i := range outs {
		if f.onEvents != nil && len(outs[i].Events) > 0 {
			f.onEvents(outs[i].Events)
		}
		outs[i].Events = nil
	}
}

func (f *FSM) publishNext() {
	var next int64
	for _, d := range f.deadlines {
		if next == 0 || d < next {
			next = d
		}
	}
	f.next.Store(next)
}

// HTTPAddr is the HTTP address a server announced when it last led.
func (f *FSM) HTTPAddr(id string) string {
	if v, ok := f.httpAddrs.Load(id); ok {
		return v.(string)
	}
	return ""
}

// NextDeadline is the earliest pending deadline of the applied state, or
// the zero time.
func (f *FSM) NextDeadline() time.Time {
	if n := f.next.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Query runs fn on a tenant's state inside its actor.
func (f *FSM) Query(tenant actors.TenantID, fn func(*actors.Tenant) error) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.sys.Query(tenant, fn)
}

// Tenants lists tenant summaries (all, or the one on host).
func (f *FSM) Tenants(host string) []actors.TenantSummary {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.sys.Tenants(host)
}

// State returns the encoded state and its hash.
func (f *FSM) State() ([]byte, [32]byte, error) {
	f.mu.Lock() // not during an ApplyBatch: batches reach tenant actors directly
	defer f.mu.Unlock()
	b, err := f.sys.Snapshot()
	return b, sha256.Sum256(b), err
}

// Close stops the actors.
func (f *FSM) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sys.Stop()
}

// Snapshot format: magic, version, last entry time, then the core's own
// versioned state encoding.
var snapshotMagic = []byte("RBSNAP")

const snapshotVersion = 1

// Snapshot captures the state (the encoding happens here, on the FSM
// goroutine; Persist only writes bytes).
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	start := time.Now()
	b, err := f.sys.Snapshot()
	if err != nil {
		return nil, err
	}
	meta := map[string]string{}
	f.httpAddrs.Range(func(k, v any) bool { meta[k.(string)] = v.(string); return true })
	return &snapshot{state: b, lastTime: f.lastTime, httpAddrs: meta, start: start, took: f.timings.snapshot}, nil
}

// Restore replaces the whole state with a snapshot's.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	start := time.Now()
	defer func() { f.timings.restore.Observe(time.Since(start).Seconds()) }()
	state, lastTime, meta, err := ReadSnapshot(rc)
	if err != nil {
		return err
	}
	for id, addr := range meta {
		f.httpAddrs.Store(id, addr)
	}
	e, err := actors.Restore(state)
	if err != nil {
		return err
	}
	sys := actors.NewSystem(e)
	f.mu.Lock()
	old := f.sys
	f.sys, f.lastTime = sys, lastTime
	f.deadlines = sys.NextDeadlines()
	f.mu.Unlock()
	old.Stop()
	f.publishNext()
	return nil
}

// ReadSnapshot decodes a snapshot file: the core state, the last entry
// time and the announced HTTP addresses. Layout:
//
//	"RBSNAP" | version | last time (int64) | meta len (uvarint) | meta JSON | core state
func ReadSnapshot(r io.Reader) (state []byte, lastTime int64, httpAddrs map[string]string, err error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("cluster: read snapshot: %w", err)
	}
	h := len(snapshotMagic)
	if len(b) < h+10 || !bytes.Equal(b[:h], snapshotMagic) {
		return nil, 0, nil, fmt.Errorf("cluster: not a Ringback snapshot")
	}
	if b[h] != snapshotVersion {
		return nil, 0, nil, fmt.Errorf("cluster: snapshot version %d, this build reads %d", b[h], snapshotVersion)
	}
	lastTime = int64(binary.BigEndian.Uint64(b[h+1 : h+9]))
	rest := b[h+9:]
	n, k := binary.Uvarint(rest)
	if k <= 0 || n > uint64(len(rest)-k) {
		return nil, 0, nil, fmt.Errorf("cluster: snapshot header damaged")
	}
	if err := json.Unmarshal(rest[k:k+int(n)], &httpAddrs); err != nil {
		return nil, 0, nil, fmt.Errorf("cluster: snapshot header: %w", err)
	}
	return rest[k+int(n):], lastTime, httpAddrs, nil
}

type snapshot struct {
	state     []byte
	lastTime  int64
	httpAddrs map[string]string
	start     time.Time            // when the capture began
	took      prometheus.Histogram // observes capture + persist; nil for backups
}

// WriteTo writes the snapshot file format.
func (s *snapshot) WriteTo(w io.Writer) (int64, error) {
	hdr := append(slices.Clone(snapshotMagic), snapshotVersion)
	hdr = binary.BigEndian.AppendUint64(hdr, uint64(s.lastTime))
	meta, err := json.Marshal(s.httpAddrs)
	if err != nil {
		return 0, err
	}
	hdr = binary.AppendUvarint(hdr, uint64(len(meta)))
	hdr = append(hdr, meta...)
	n, err := w.Write(hdr)
	if err != nil {
		return int64(n), err
	}
	m, err := w.Write(s.state)
	return int64(n + m), err
}

func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := s.WriteTo(sink); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("cluster: persist snapshot: %w", err)
	}
	err := sink.Close()
	if err == nil && s.took != nil {
		s.took.Observe(time.Since(s.start).Seconds())
	}
	return err
}

func (s *snapshot) Release() {}
