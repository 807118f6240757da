package cluster

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/ringbackhq/ringback/actors"
	"github.com/ringbackhq/ringback/wal"
)

// TestSimulation runs a three-node cluster in this process — raft's
// in-memory transport, each node's WAL on its own wal.MemFS — under a
// seeded schedule of faults (partitions both ways and one way, crashes
// that lose every unsynced write, restarts, clock jumps) and a seeded
// workload (creates with idempotency keys, accepts, completes, cancels,
// presence changes). Invariants are checked while it runs and after the
// cluster is healed:
//
//   - no acknowledged create is lost: its callback exists on every node,
//     under the id first acknowledged, and its idempotency key maps to it;
//   - a retried create never makes a second callback (numbers are unique);
//   - no callback is offered to (or held by) two agents at once, and no
//     agent holds two callbacks at once;
//   - no offer crosses a tenant or a domain (checked on every node's
//     applied events and on its state);
//   - the replicas converge: equal applied index and state hash.
//
// Honest note on determinism: the seed fixes the schedule — which faults,
// which operations, with which parameters, in which order — but raft's
// elections, heartbeats and timeouts run on real time, and a burst of
// operations runs concurrently. So a seed replays the same schedule, not
// the same interleaving; a failure found with a seed usually, not always,
// reproduces with it. The seed and the schedule trace are printed on
// failure.
//
//	go test ./cluster -run TestSimulation -seed 12345     # replay one seed
//	RINGBACK_SIM_SEEDS=200 go test ./cluster -run TestSimulation  # soak
var (
	simSeed  = flag.Uint64("seed", 0, "TestSimulation: run only this seed")
	simSeeds = flag.Int("seeds", 0, "TestSimulation: how many seeds (default 3, or $RINGBACK_SIM_SEEDS)")
	simSteps = flag.Int("steps", 0, "TestSimulation: scheduler steps per seed (default 120, or $RINGBACK_SIM_STEPS)")
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func TestSimulation(t *testing.T) {
	steps := *simSteps
	if steps <= 0 {
		steps = envInt("RINGBACK_SIM_STEPS", 120)
	}
	if *simSeed != 0 {
		runSimulation(t, *simSeed, steps)
		return
	}
	n := *simSeeds
	if n <= 0 {
		n = envInt("RINGBACK_SIM_SEEDS", 3)
	}
	base := uint64(envInt("RINGBACK_SIM_BASE", 1))
	for i := 0; i < n; i++ {
		seed := base + uint64(i)*7919
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { runSimulation(t, seed, steps) })
	}
}

// simNode is one node and what survives its crashes.
type simNode struct {
	fs    *wal.MemFS
	w     *wal.WAL
	snaps *raft.InmemSnapshotStore // snapshots are written whole (raft renames them in place)
	trans *raft.InmemTransport
	node  *Node
}

type tenantAgent struct {
	tenant actors.TenantID
	agent  actors.UserID
}

type tenantCallback struct {
	tenant actors.TenantID
	cb     actors.CallbackID
}

type simTenant struct {
	id     actors.TenantID
	queues []actors.QueueID // queues[d] lives in domains[d]
	doms   []actors.DomainID
	agents []actors.UserID // agents[k] sits in domains[k%2]
	code   actors.CodeID
}

type simCluster struct {
	t     *testing.T
	seed  uint64
	rng   *rand.Rand // used only on the scheduler goroutine
	clock *testClock
	addrs []string
	nodes []*simNode
	link  [][]bool // link[i][j]: i can send to j

	tenants []*simTenant
	nextKey int

	mu         sync.Mutex
	agentDom   map[tenantAgent]actors.DomainID                        // guarded by mu
	queueDom   map[actors.TenantID]map[actors.QueueID]actors.DomainID // guarded by mu
	acked      map[string]tenantCallback                              // guarded by mu; idempotency key -> first acknowledged callback
	violations []string                                               // guarded by mu
	counts     map[actors.EventKind]int                               // guarded by mu; events applied on sim0
	trace      []string                                               // guarded by mu
}

func (sc *simCluster) tracef(format string, args ...any) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.trace = append(sc.trace, fmt.Sprintf("%s "+format, append([]any{time.Now().Format("15:04:05.000")}, args...)...))
}

func (sc *simCluster) violate(format string, args ...any) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if len(sc.violations) < 50 {
		sc.violations = append(sc.violations, fmt.Sprintf(format, args...))
	}
}

func runSimulation(t *testing.T, seed uint64, steps int) {
	sc := &simCluster{
		t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		clock:    &testClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)},
		agentDom: map[tenantAgent]actors.DomainID{}, queueDom: map[actors.TenantID]map[actors.QueueID]actors.DomainID{},
		acked: map[string]tenantCallback{}, counts: map[actors.EventKind]int{},
	}
	t.Cleanup(func() {
		for i := range sc.nodes {
			sc.stop(i)
		}
	})
	defer func() {
		if t.Failed() {
			sc.mu.Lock()
			tr := sc.trace
			if len(tr) > 80 {
				tr = tr[len(tr)-80:]
			}
			sc.mu.Unlock()
			t.Logf("schedule (last %d steps):\n%s", len(tr), strings.Join(tr, "\n"))
			t.Logf("FAILED with seed %d; replay: go test ./cluster -run 'TestSimulation' -seed %d -steps %d", seed, seed, steps)
		}
	}()
	for i := 0; i < 3; i++ {
		sc.addrs = append(sc.addrs, fmt.Sprintf("sim%d", i))
		sc.nodes = append(sc.nodes, &simNode{fs: wal.NewMemFS(), snaps: raft.NewInmemSnapshotStore()})
		sc.link = append(sc.link, []bool{true, true, true})
	}
	for i := range sc.nodes {
		sc.start(i)
	}
	sc.setup()
	for step := 0; step < steps; step++ {
		sc.step(step)
		if step%10 == 9 {
			sc.checkLive()
		}
		if sc.failed() {
			break
		}
	}
	sc.heal()
	sc.checkFinal()
	sc.report()
}

func (sc *simCluster) failed() bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return len(sc.violations) > 0
}

func (sc *simCluster) report() {
	sc.t.Helper()
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for _, v := range sc.violations {
		sc.t.Error(v)
	}
	sc.t.Logf("seed %d: %d acknowledged creates; on sim0: %d offered, %d accepted, %d completed, %d offer timeouts, %d canceled",
		sc.seed, len(sc.acked), sc.counts[actors.EvCallbackOffered], sc.counts[actors.EvOfferAccepted],
		sc.counts[actors.EvCallbackCompleted], sc.counts[actors.EvOfferTimedOut], sc.counts[actors.EvCallbackCanceled])
}

// start opens node i over what its file system holds now.
func (sc *simCluster) start(i int) {
	sc.t.Helper()
	n := sc.nodes[i]
	w, err := wal.Open("/data/wal", wal.WithFS(n.fs), wal.WithSegmentSize(64<<10), wal.WithPreallocate(false))
	if err != nil {
		sc.t.Fatalf("sim%d: wal.Open after crash: %v", i, err)
	}
	_, n.trans = raft.NewInmemTransportWithTimeout(raft.ServerAddress(sc.addrs[i]), 200*time.Millisecond)
	n.w = w
	cfg := DefaultConfig()
	cfg.NodeID = sc.addrs[i]
	cfg.Transport, cfg.LogStore, cfg.StableStore, cfg.SnapshotStore = n.trans, w, w, n.snaps
	cfg.Peers = sc.addrs
	cfg.Clock = sc.clock.Now
	cfg.TickInterval = 5 * time.Millisecond
	cfg.ApplyTimeout = time.Second
	cfg.SnapshotThreshold = 48
	cfg.TrailingLogs = 16
	cfg.SnapshotInterval = 30 * time.Millisecond
	cfg.Tune = fastRaft
	cfg.OnEvents = func(evs []actors.Event) { sc.checkEvents(i, evs) }
	nd, err := Open(cfg)
	if err != nil {
		_ = w.Close()
		sc.t.Fatalf("sim%d: Open: %v", i, err)
	}
	n.node = nd
	sc.applyLinks()
}

// stop closes node i (the file system keeps what was written).
func (sc *simCluster) stop(i int) {
	n := sc.nodes[i]
	if n.node == nil {
		return
	}
	_ = n.node.Close(false)
	_ = n.w.Close()
	_ = n.trans.Close()
	n.node, n.w = nil, nil
	sc.applyLinks()
}

// crash: power loss on node i. What survives is taken before the node is
// stopped, so writes in flight and everything not yet fsynced are lost.
func (sc *simCluster) crash(i int) {
	n := sc.nodes[i]
	survived := n.fs.Crash()
	sc.stop(i)
	n.fs = survived
}

func (sc *simCluster) applyLinks() {
	for i, a := range sc.nodes {
		if a.node == nil {
			continue
		}
		for j, b := range sc.nodes {
			if i == j {
				continue
			}
			if b.node != nil && sc.link[i][j] {
				a.trans.Connect(raft.ServerAddress(sc.addrs[j]), b.trans)
			} else {
				a.trans.Disconnect(raft.ServerAddress(sc.addrs[j]))
			}
		}
	}
}

func (sc *simCluster) up() []int {
	var out []int
	for i, n := range sc.nodes {
		if n.node != nil {
			out = append(out, i)
		}
	}
	return out
}

// leaderNode returns a running node that says it leads, waiting up to d.
func (sc *simCluster) leaderNode(d time.Duration) *Node {
	deadline := time.Now().Add(d)
	for {
		for _, n := range sc.nodes {
			if nd := n.node; nd != nil && nd.IsLeader() {
				return nd
			}
		}
		if time.Now().After(deadline) {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// do proposes cmd at whichever node leads, retrying the same command (so
// the same idempotency key) on not-leader and unknown outcomes. The
// scheduler goroutine never runs it while it changes the node set.
func (sc *simCluster) do(cmd actors.Command, tries int) (actors.Outcome, error) {
	var err error
	for a := 0; a < tries; a++ {
		nd := sc.leaderNode(300 * time.Millisecond)
		if nd == nil {
			err = ErrNotLeader
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
		var out actors.Outcome
		out, err = nd.Propose(ctx, cmd)
		cancel()
		if err == nil {
			return out, nil
		}
		if !errors.Is(err, ErrNotLeader) && !errors.Is(err, ErrUnknownOutcome) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrClosed) {
			return out, err
		}
	}
	return actors.Outcome{}, err
}

// must runs a setup command, failing the test if it does not succeed.
func (sc *simCluster) must(cmd actors.Command) uint64 {
	sc.t.Helper()
	out, err := sc.do(cmd, 30)
	if err == nil {
		err = out.Err
	}
	if err != nil {
		sc.t.Fatalf("setup %T: %v", cmd, err)
	}
	return out.Result.ID
}

// setup: two tenants with the same shape (so their identifiers collide):
// Home and a child domain, a queue in each, two agents positioned in each.
func (sc *simCluster) setup() {
	for k := 0; k < 2; k++ {
		name := fmt.Sprintf("tenant%d", k)
		tid := actors.TenantID(sc.must(&actors.CreateTenant{Profile: actors.Profile{CompanyName: name, AdminUsername: "admin",
			AdminEmail: "admin@" + name + ".test", AdminFirstName: "A"}, Limits: actors.Limits{StorageQuotaBytes: 1 << 30}}))
		st := &simTenant{id: tid}
		admin := actors.Target{Tenant: tid, By: actors.AsUser(1)}
		east := actors.DomainID(sc.must(&actors.CreateDomain{Target: admin, Name: "east", Parent: actors.HomeDomain}))
		st.doms = []actors.DomainID{actors.HomeDomain, east}
		qd := map[actors.QueueID]actors.DomainID{}
		for _, d := range st.doms {
			q := actors.QueueID(sc.must(&actors.CreateQueue{Target: admin, Name: fmt.Sprintf("q%d", d), Domain: d}))
			st.queues = append(st.queues, q)
			qd[q] = d
		}
		st.code = actors.CodeID(sc.must(&actors.CreateCode{Target: admin, CodeKind: actors.WrapUpCode, Name: "done"}))
		for a := 0; a < 4; a++ {
			d := a % 2
			u := actors.UserID(sc.must(&actors.CreateUser{Target: admin, Name: fmt.Sprintf("agent%d", a), Home: st.doms[d],
				Grants:      []actors.Grant{{Role: actors.RoleAgent, Scope: actors.Scope{Domains: []actors.DomainID{st.doms[d]}}}},
				Positions:   []actors.Position{{Name: "p", Domain: st.doms[d]}},
				Memberships: []actors.Membership{{Queue: st.queues[d], Tier: 1}}}))
			st.agents = append(st.agents, u)
			sc.mu.Lock()
			sc.agentDom[tenantAgent{tid, u}] = st.doms[d]
			sc.mu.Unlock()
		}
		sc.mu.Lock()
		sc.queueDom[tid] = qd
		sc.mu.Unlock()
		sc.tenants = append(sc.tenants, st)
	}
}

// step draws one scheduler action from the seed.
func (sc *simCluster) step(step int) {
	r := sc.rng.IntN(100)
	switch {
	case r < 50:
		sc.burst(step)
	case r < 58:
		d := time.Duration(1+sc.rng.IntN(40)) * time.Second
		sc.tracef("step %d: clock +%v", step, d)
		sc.clock.Advance(d)
	case r < 68:
		sc.partition(step)
	case r < 76:
		sc.crashOrRestart(step)
	default:
		d := time.Duration(sc.rng.IntN(40)) * time.Millisecond
		sc.tracef("step %d: sleep %v", step, d)
		time.Sleep(d)
	}
}

func (sc *simCluster) partition(step int) {
	switch sc.rng.IntN(4) {
	case 0: // isolate one node both ways
		x := sc.rng.IntN(3)
		for j := range sc.link {
			if j != x {
				sc.link[x][j], sc.link[j][x] = false, false
			}
		}
		sc.tracef("step %d: isolate sim%d", step, x)
	case 1: // cut one direction of one link
		i, j := sc.rng.IntN(3), sc.rng.IntN(3)
		if i == j {
			j = (i + 1) % 3
		}
		sc.link[i][j] = false
		sc.tracef("step %d: cut sim%d -> sim%d", step, i, j)
	default: // heal
		for i := range sc.link {
			for j := range sc.link[i] {
				sc.link[i][j] = true
			}
		}
		sc.tracef("step %d: heal network", step)
	}
	sc.applyLinks()
}

func (sc *simCluster) crashOrRestart(step int) {
	if up := sc.up(); len(up) < 3 {
		for i, n := range sc.nodes {
			if n.node == nil {
				sc.tracef("step %d: restart sim%d", step, i)
				sc.start(i)
			}
		}
		return
	}
	x := sc.rng.IntN(3)
	if sc.rng.IntN(2) == 0 {
		sc.tracef("step %d: crash sim%d (unsynced writes lost)", step, x)
		sc.crash(x)
	} else {
		sc.tracef("step %d: clean stop sim%d", step, x)
		sc.stop(x)
	}
}

// op is one client operation, its parameters drawn from the seed.
type simOp struct {
	kind   int // 0 create, 1 accept, 2 complete, 3 available, 4 cancel, 5 retry an old create
	tenant *simTenant
	q      int
	agent  int
	key    string
}

func (sc *simCluster) burst(step int) {
	n := 1 + sc.rng.IntN(6)
	ops := make([]simOp, n)
	var desc []string
	for k := range ops {
		o := simOp{kind: sc.rng.IntN(6), tenant: sc.tenants[sc.rng.IntN(len(sc.tenants))], q: sc.rng.IntN(2), agent: sc.rng.IntN(4)}
		switch o.kind {
		case 0:
			sc.nextKey++
			o.key = fmt.Sprintf("k%d", sc.nextKey)
		case 5:
			if sc.nextKey == 0 {
				o.kind = 0
				sc.nextKey++
			}
			o.key = fmt.Sprintf("k%d", 1+sc.rng.IntN(sc.nextKey))
		}
		ops[k] = o
		desc = append(desc, fmt.Sprintf("%d:t%d/q%d/a%d/%s", o.kind, o.tenant.id, o.q, o.agent, o.key))
	}
	sc.tracef("step %d: burst %v", step, desc)
	var wg sync.WaitGroup
	for _, o := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc.run(o)
		}()
	}
	wg.Wait()
}

func (sc *simCluster) createCmd(st *simTenant, key string) *actors.CreateCallback {
	n, _ := strconv.Atoi(strings.TrimPrefix(key, "k"))
	// The queue is a function of the key, so a retry sends the same body.
	q := n % 2
	return &actors.CreateCallback{Target: actors.Target{Tenant: st.id, By: actors.AsUser(1)}, Queue: st.queues[q],
		CustomerName: "C", Numbers: []string{fmt.Sprintf("+1555%07d", n)}, IdempotencyKey: key}
}

func (sc *simCluster) run(o simOp) {
	st := o.tenant
	agent := st.agents[o.agent]
	as := actors.Target{Tenant: st.id, By: actors.AsUser(agent)}
	switch o.kind {
	case 0, 5:
		if o.kind == 5 {
			sc.mu.Lock()
			tc, ok := sc.acked[o.key]
			sc.mu.Unlock()
			if !ok {
				return // never acknowledged: its tenant is unknown, nothing to retry
			}
			for _, t := range sc.tenants {
				if t.id == tc.tenant {
					st = t
				}
			}
		}
		cmd := sc.createCmd(st, o.key)
		out, err := sc.do(cmd, 4)
		if err != nil || out.Err != nil {
			return
		}
		id := actors.CallbackID(out.Result.ID)
		sc.mu.Lock()
		defer sc.mu.Unlock()
		if prev, ok := sc.acked[o.key]; ok && (prev.cb != id || prev.tenant != st.id) {
			sc.violations = append(sc.violations, fmt.Sprintf("create with key %s acknowledged as callback %d, earlier as %d", o.key, id, prev.cb))
		} else if !ok {
			sc.acked[o.key] = tenantCallback{st.id, id}
		}
	case 1:
		nd := sc.leaderNode(100 * time.Millisecond)
		if nd == nil {
			return
		}
		var c actors.Callback
		var ok bool
		_ = nd.Read(context.Background(), false, st.id, func(tn *actors.Tenant) error {
			c, ok = tn.CurrentOffer(agent)
			return nil
		})
		if ok {
			_, _ = sc.do(&actors.AcceptOffer{Target: as, Callback: c.ID, Offer: c.Offer}, 3)
		}
	case 2:
		nd := sc.leaderNode(100 * time.Millisecond)
		if nd == nil {
			return
		}
		var id actors.CallbackID
		_ = nd.Read(context.Background(), false, st.id, func(tn *actors.Tenant) error {
			tn.EachCallback(actors.AsUser(1), func(c actors.Callback) {
				if c.Status == actors.InProgress && c.Agent == agent {
					id = c.ID
				}
			})
			return nil
		})
		if id != 0 {
			_, _ = sc.do(&actors.CompleteCallback{Target: as, Callback: id, Disposition: st.code}, 3)
		}
	case 3:
		_, _ = sc.do(&actors.SetPresence{Target: as, Agent: agent, Presence: actors.Available}, 3)
	case 4:
		sc.mu.Lock()
		var victim actors.CallbackID
		for _, tc := range sc.acked { // any one; map order is fine, the outcome is checked, not replayed
			if tc.tenant == st.id {
				victim = tc.cb
				break
			}
		}
		sc.mu.Unlock()
		if victim != 0 {
			_, _ = sc.do(&actors.CancelCallback{Target: actors.Target{Tenant: st.id, By: actors.AsUser(1)}, Callback: victim}, 2)
		}
	}
}

// checkEvents runs on node i's apply goroutine for every applied command:
// an offer must stay inside its tenant and domain.
func (sc *simCluster) checkEvents(i int, evs []actors.Event) {
	for _, e := range evs {
		if i == 0 {
			sc.mu.Lock()
			sc.counts[e.Kind]++
			sc.mu.Unlock()
		}
		if e.Kind != actors.EvCallbackOffered {
			continue
		}
		sc.mu.Lock()
		dom, agentKnown := sc.agentDom[tenantAgent{e.Tenant, e.Agent}]
		qdom, queueKnown := sc.queueDom[e.Tenant][e.Queue]
		sc.mu.Unlock()
		switch {
		case !agentKnown:
			sc.violate("sim%d: callback %d of tenant %d offered to agent %d, who is not an agent of that tenant", i, e.Callback, e.Tenant, e.Agent)
		case dom != e.Domain:
			sc.violate("sim%d: tenant %d callback %d in domain %d offered to agent %d positioned in domain %d", i, e.Tenant, e.Callback, e.Domain, e.Agent, dom)
		case queueKnown && qdom != e.Domain:
			sc.violate("sim%d: tenant %d callback %d of queue %d (domain %d) offered in domain %d", i, e.Tenant, e.Callback, e.Queue, qdom, e.Domain)
		}
	}
}

// checkLive checks every running node's local state: each callback
// offered or in progress is held by exactly one agent of its own domain,
// and each agent holds at most one.
func (sc *simCluster) checkLive() {
	for i, n := range sc.nodes {
		if n.node == nil {
			continue
		}
		for _, st := range sc.tenants {
			err := n.node.Read(context.Background(), false, st.id, func(tn *actors.Tenant) error {
				sc.checkTenant(i, st, tn)
				return nil
			})
			if err != nil && !errors.Is(err, actors.ErrNotFound) { // a lagging replica may not have the tenant yet
				sc.violate("sim%d: read tenant %d: %v", i, st.id, err)
			}
		}
	}
}

func (sc *simCluster) checkTenant(i int, st *simTenant, tn *actors.Tenant) {
	holder := map[actors.CallbackID]actors.UserID{}
	for _, a := range st.agents {
		c, ok := tn.CurrentOffer(a)
		if !ok {
			continue
		}
		if prev, dup := holder[c.ID]; dup {
			sc.violate("sim%d: tenant %d callback %d offered to agents %d and %d at once", i, st.id, c.ID, prev, a)
		}
		holder[c.ID] = a
		sc.mu.Lock()
		dom := sc.agentDom[tenantAgent{st.id, a}]
		sc.mu.Unlock()
		if c.Domain != dom {
			sc.violate("sim%d: tenant %d callback %d (domain %d) offered to agent %d of domain %d", i, st.id, c.ID, c.Domain, a, dom)
		}
	}
	held := map[actors.UserID]actors.CallbackID{}
	tn.EachCallback(actors.AsUser(1), func(c actors.Callback) {
		if c.Status != actors.Offered && c.Status != actors.InProgress {
			return
		}
		sc.mu.Lock()
		dom, ok := sc.agentDom[tenantAgent{st.id, c.Agent}]
		sc.mu.Unlock()
		if !ok || dom != c.Domain {
			sc.violate("sim%d: tenant %d callback %d %v by agent %d (known %v, domain %d) in domain %d", i, st.id, c.ID, c.Status, c.Agent, ok, dom, c.Domain)
		}
		if prev, dup := held[c.Agent]; dup {
			sc.violate("sim%d: tenant %d agent %d holds callbacks %d and %d at once", i, st.id, c.Agent, prev, c.ID)
		}
		held[c.Agent] = c.ID
		if c.Status == actors.Offered {
			if h, ok := holder[c.ID]; !ok || h != c.Agent {
				sc.violate("sim%d: tenant %d callback %d offered to agent %d, but that agent's current offer is not it", i, st.id, c.ID, c.Agent)
			}
		}
	})
}

// heal restarts every stopped node, reconnects the network and waits for
// every replica to apply the same state.
func (sc *simCluster) heal() {
	sc.t.Helper()
	sc.tracef("heal: restart all, connect all")
	for i := range sc.link {
		for j := range sc.link[i] {
			sc.link[i][j] = true
		}
	}
	for i, n := range sc.nodes {
		if n.node == nil {
			sc.start(i)
		}
	}
	sc.applyLinks()
	// A write through the new term makes every earlier entry commit.
	if _, err := sc.do(&actors.Tick{}, 40); err != nil {
		sc.violate("after healing, no write succeeded: %v", err)
		return
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var idx []uint64
		var hs [][32]byte
		for _, n := range sc.nodes {
			_, h, err := n.node.State()
			if err != nil {
				sc.t.Fatal(err)
			}
			idx = append(idx, n.node.AppliedIndex())
			hs = append(hs, h)
		}
		if idx[0] == idx[1] && idx[1] == idx[2] && hs[0] == hs[1] && hs[1] == hs[2] {
			return
		}
		if time.Now().After(deadline) {
			sc.violate("replicas did not converge after healing: applied %v, hashes %x %x %x", idx, hs[0][:4], hs[1][:4], hs[2][:4])
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkFinal: every acknowledged create is on every node under its first
// id; no number has two callbacks; the live invariants hold.
func (sc *simCluster) checkFinal() {
	sc.checkLive()
	sc.mu.Lock()
	acked := make(map[string]tenantCallback, len(sc.acked))
	for k, v := range sc.acked {
		acked[k] = v
	}
	sc.mu.Unlock()
	for i, n := range sc.nodes {
		for _, st := range sc.tenants {
			_ = n.node.Read(context.Background(), false, st.id, func(tn *actors.Tenant) error {
				numbers := map[string]int{}
				tn.EachCallback(actors.AsUser(1), func(c actors.Callback) { numbers[c.Numbers[0]]++ })
				for num, k := range numbers {
					if k > 1 {
						sc.violate("sim%d: tenant %d: number %s has %d callbacks (a retried create made another)", i, st.id, num, k)
					}
				}
				for key, tc := range acked {
					if tc.tenant != st.id {
						continue
					}
					if _, err := tn.Callback(actors.AsUser(1), tc.cb); err != nil {
						sc.violate("sim%d: acknowledged callback %d (key %s, tenant %d) lost: %v", i, tc.cb, key, st.id, err)
					}
					if got := tn.Idempotency[key].Callback; got != tc.cb {
						sc.violate("sim%d: key %s maps to callback %d, acknowledged as %d", i, key, got, tc.cb)
					}
				}
				return nil
			})
		}
	}
}
