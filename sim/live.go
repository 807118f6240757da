package sim

// Live mode: the same scenario played in real time (scaled by a speed)
// against a running server over its HTTP API, measuring what a client
// sees. Unlike Run it is neither pure nor deterministic: it reads the wall
// clock, opens sockets and runs goroutines. It only ever talks to a
// loopback address, and every run is bounded by a request count and a
// wall-clock duration.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"
)

// Bounds of a live run.
const (
	DefaultLiveMaxRequests int64 = 100_000
	DefaultLiveMaxDuration       = 5 * time.Minute
	MaxLiveDuration              = 2 * time.Hour // --max-duration may not ask for more
	MaxLiveAgents                = 1000          // one offer stream (a socket) per agent
	MaxLiveSpeed                 = 100_000.0
	liveInFlight                 = 64               // customer requests in flight at once
	liveRequestTimeout           = 30 * time.Second // any single request but the streams
)

// LiveOptions configure a live run. Target and Token are required.
type LiveOptions struct {
	Target      string        // base URL of the API; its host must be loopback
	Token       string        // the platform operator's token (creates the tenants)
	Speed       float64       // scenario seconds per wall second; zero: 1
	MaxRequests int64         // requests after setup; zero: DefaultLiveMaxRequests
	MaxDuration time.Duration // wall time of the play; zero: DefaultLiveMaxDuration
}

// LiveReport is what a live run measured.
type LiveReport struct {
	Target            string        `json:"target"`
	Seed              uint64        `json:"seed"`
	Speed             float64       `json:"speed"`
	Played            string        `json:"played"` // scenario time played
	Wall              string        `json:"wall"`   // wall time of the play
	StoppedBy         string        `json:"stoppedBy"`
	Tenants           int           `json:"tenants"`
	Agents            int           `json:"agents"`
	SetupRequests     int64         `json:"setupRequests"`
	Requests          int64         `json:"requests"` // after setup, streams included
	RequestsPerSecond float64       `json:"requestsPerSecond"`
	Created           int64         `json:"created"`
	Offers            int64         `json:"offers"` // offer events seen on the streams
	Accepted          int64         `json:"accepted"`
	Rejected          int64         `json:"rejected"`
	Ignored           int64         `json:"ignored"` // offers left to time out on purpose
	Completed         int64         `json:"completed"`
	FailedAttempts    int64         `json:"failedAttempts"`
	Canceled          int64         `json:"canceled"`
	Stale             int64         `json:"stale"` // 409s: an accept, reject or cancel overtaken by events
	Latencies         []LiveLatency `json:"latencies"`
	Errors            []LiveError   `json:"errors"`
}

// LiveLatency is the distribution of one measured interval.
type LiveLatency struct {
	Name  string  `json:"name"`
	Count int     `json:"count"`
	P50Ms float64 `json:"p50Ms"`
	P90Ms float64 `json:"p90Ms"`
	P99Ms float64 `json:"p99Ms"`
	MaxMs float64 `json:"maxMs"`
}

// LiveError counts refused requests of one kind by status; status 0 is a
// request that got no HTTP answer.
type LiveError struct {
	Op     string `json:"op"`
	Status int    `json:"status"`
	Count  int64  `json:"count"`
}

// Latency names, in report order.
const (
	LatCreate          = "create (POST /v1/callbacks)"
	LatCreateOffered   = "create → offer on stream (offered at once)"
	LatCreateFirstSeen = "create → first offer on stream (all, incl. wait)"
	LatAccept          = "accept → in progress (POST accept)"
	LatComplete        = "complete (POST complete)"
	LatPresence        = "presence (PUT presence)"
)

var latencyOrder = []string{LatCreate, LatCreateOffered, LatCreateFirstSeen, LatAccept, LatComplete, LatPresence}

// CheckTarget parses a live target and refuses anything but http(s) on a
// loopback host.
func CheckTarget(target string) (*url.URL, error) {
	u, err := url.Parse(target)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrTarget, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%w: scheme %q", ErrTarget, u.Scheme)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("%w: no user, query or fragment", ErrTarget)
	}
	switch strings.ToLower(u.Hostname()) {
	case "127.0.0.1", "localhost", "::1":
	default:
		return nil, fmt.Errorf("%w: host %q", ErrTarget, u.Hostname())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u, nil
}

// loopbackOnly refuses to connect anywhere but a loopback address, even if
// "localhost" resolves elsewhere.
func loopbackOnly(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%w: refusing to connect to %s", ErrTarget, address)
	}
	return nil
}

type liveRun struct {
	s        *Scenario
	opt      LiveOptions
	base     string
	hc       *http.Client
	speed    float64
	nonce    string
	t0       time.Time // wall start of the play
	playing  atomic.Bool
	cancel   context.CancelCauseFunc
	wg       sync.WaitGroup
	sem      chan struct{}
	numbers  atomic.Int64
	setupReq atomic.Int64
	requests atomic.Int64

	created, offers, accepted, rejected, ignored, completed, failedAttempts, canceled, stale atomic.Int64

	mu   sync.Mutex
	lat  map[string][]float64 // ms; guarded by mu
	errs map[LiveError]int64  // Count unused in the key; guarded by mu
	cbs  map[cbKey]*liveCbRec // guarded by mu

	tenants []*liveTenant
	streams []*liveStream
}

type cbKey struct {
	tenant int
	id     uint64
}

// liveCbRec follows one callback: when it was asked for and first seen
// offered (either may come first).
type liveCbRec struct {
	asked, seen time.Time
	atOnce      bool
	measured    bool
	accepted    bool
}

type liveTenant struct {
	idx       int
	spec      *TenantSpec
	admin     string
	domains   map[string]uint32
	queues    map[string]*liveQueue
	queueByID map[uint32]*liveQueue
	apps      map[uint32]string // requesting domain -> channel key
	code      uint64
	wrap      bool // agents end wrap-up themselves
	agents    []*liveAgent
}

type liveQueue struct {
	id     uint32
	handle sampler
}

type liveAgent struct {
	t                    *liveTenant
	id                   uint32
	name                 string
	key                  string
	spec                 *AgentSpec
	rng                  *rand.Rand
	handle, wrap, accept sampler
	ownHandle            bool
}

type liveStream struct {
	idx                     int
	t                       *liveTenant
	q                       *liveQueue
	spec                    *ArrivalSpec
	app                     string // key of the channel application of the requesting domain
	rng                     *rand.Rand
	ahead, patience, dupAft sampler
}

// RunLive plays a scenario against a live server and reports what the
// clients measured. It returns when the scenario ends, MaxDuration or
// MaxRequests is reached, or ctx is done, whichever comes first.
func RunLive(ctx context.Context, s *Scenario, opt LiveOptions) (*LiveReport, error) {
	if s.prefix == nil {
		if err := s.Validate(); err != nil {
			return nil, err
		}
	}
	u, err := CheckTarget(opt.Target)
	if err != nil {
		return nil, err
	}
	if opt.Speed == 0 {
		opt.Speed = 1
	}
	if opt.MaxRequests == 0 {
		opt.MaxRequests = DefaultLiveMaxRequests
	}
	if opt.MaxDuration == 0 {
		opt.MaxDuration = DefaultLiveMaxDuration
	}
	switch {
	case opt.Token == "":
		return nil, fmt.Errorf("%w: the operator token is required", ErrLive)
	case !(opt.Speed > 0) || opt.Speed > MaxLiveSpeed:
		return nil, fmt.Errorf("%w: speed must be above 0 and at most %g, got %g", ErrLive, MaxLiveSpeed, opt.Speed)
	case opt.MaxRequests < 0:
		return nil, fmt.Errorf("%w: max requests must be positive", ErrLive)
	case opt.MaxDuration < 0 || opt.MaxDuration > MaxLiveDuration:
		return nil, fmt.Errorf("%w: max duration must be between 0 and %s", ErrLive, MaxLiveDuration)
	}
	agents := 0
	for _, t := range s.Tenants {
		for _, q := range t.Queues {
			agents += q.Agents
		}
		for _, a := range t.Agents {
			agents += a.Count
		}
	}
	if agents > MaxLiveAgents {
		return nil, fmt.Errorf("%w: %d agents, a live run plays at most %d", ErrLive, agents, MaxLiveAgents)
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: loopbackOnly}
	tr := &http.Transport{Proxy: nil, DialContext: dialer.DialContext, MaxIdleConnsPerHost: MaxLiveAgents + liveInFlight,
		IdleConnTimeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	r := &liveRun{s: s, opt: opt, base: u.String(), speed: opt.Speed, sem: make(chan struct{}, liveInFlight),
		hc:  &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		lat: map[string][]float64{}, errs: map[LiveError]int64{}, cbs: map[cbKey]*liveCbRec{},
		nonce: strconv.FormatInt(time.Now().UnixNano()%1e12, 36)}
	if err := r.setup(ctx); err != nil {
		return nil, err
	}
	return r.play(ctx), nil
}

// wallOf turns a scenario duration into wall time at the run's speed.
func (r *liveRun) wallOf(d int64) time.Duration { return time.Duration(float64(d) / r.speed) }

// secondsOf is a scenario duration as whole wall seconds (at least 1 when
// positive), for the tenant's policy.
func (r *liveRun) secondsOf(d Duration) int {
	if d <= 0 {
		return 0
	}
	return max(1, int(math.Round(r.wallOf(int64(d)).Seconds())))
}

var errStopped = errors.New("sim: live run stopped")

// do sends one request and decodes a 2xx JSON answer into out. It
// returns the status (0 without an answer). Refusals are counted by op
// and status; during the play, every request counts toward MaxRequests.
func (r *liveRun) do(ctx context.Context, op, method, path, token string, body, out any, headers ...string) (int, error) {
	if r.playing.Load() {
		if r.requests.Add(1) > r.opt.MaxRequests {
			r.cancel(errMaxRequests)
			return 0, errStopped
		}
	} else {
		r.setupReq.Add(1)
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, liveRequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	t0 := time.Now()
	resp, err := r.hc.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			r.countError(op, 0)
		}
		return 0, err
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	took := time.Since(t0)
	if err != nil {
		if ctx.Err() == nil {
			r.countError(op, 0)
		}
		return 0, err
	}
	if resp.StatusCode >= 300 {
		r.countError(op, resp.StatusCode)
		if resp.StatusCode == http.StatusConflict {
			r.stale.Add(1)
		}
		return resp.StatusCode, fmt.Errorf("%w: %s %s: %d %s", ErrLive, method, path, resp.StatusCode, bytes.TrimSpace(raw))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%w: %s %s: decode: %v", ErrLive, method, path, err)
		}
	}
	if r.playing.Load() {
		switch op {
		case "create":
			r.record(LatCreate, took)
		case "accept":
			r.record(LatAccept, took)
		case "complete":
			r.record(LatComplete, took)
		case "presence":
			r.record(LatPresence, took)
		}
	}
	return resp.StatusCode, nil
}

func (r *liveRun) countError(op string, status int) {
	if !r.playing.Load() {
		return
	}
	r.mu.Lock()
	r.errs[LiveError{Op: op, Status: status}]++
	r.mu.Unlock()
}

func (r *liveRun) record(name string, d time.Duration) {
	r.mu.Lock()
	r.lat[name] = append(r.lat[name], float64(d)/1e6)
	r.mu.Unlock()
}

// setup creates every tenant with its domains, queues, wrap-up code,
// channel applications (one per requesting domain), agents with their
// keys and the queue memberships. Any refusal stops the run.
func (r *liveRun) setup(ctx context.Context) error {
	streamNo := uint64(1 << 32)
	agentNo := uint64(1 << 48)
	for ti := range r.s.Tenants {
		spec := &r.s.Tenants[ti]
		t := &liveTenant{idx: ti, spec: spec, domains: map[string]uint32{"Home": 1}, queues: map[string]*liveQueue{},
			queueByID: map[uint32]*liveQueue{}, apps: map[uint32]string{}}
		r.tenants = append(r.tenants, t)
		agents := 0
		for _, q := range spec.Queues {
			agents += q.Agents
		}
		for _, a := range spec.Agents {
			agents += a.Count
			t.wrap = t.wrap || a.WrapUp != nil
		}
		t.wrap = t.wrap || spec.Policy.WrapUp > 0
		pol := spec.Policy
		wrapSeconds := 0
		if t.wrap {
			wrapSeconds = 3600 // the simulated agents end it earlier
		}
		policy := map[string]any{
			"closeCommentRequired": pol.CloseCommentRequired, "maxAttempts": pol.MaxAttempts,
			"retryDelaySeconds": r.secondsOf(*pol.RetryDelay), "offerTimeoutSeconds": min(3600, r.secondsOf(pol.OfferTimeout)),
			"autoSwitchPosition": pol.AutoSwitchPosition, "duplicates": pol.Duplicates,
			"serviceLevelSeconds": max(1, r.secondsOf(Duration(pol.ServiceLevelSeconds*float64(time.Second)))),
			"callbackTtlSeconds":  r.secondsOf(pol.CallbackTTL), "wrapUpSeconds": wrapSeconds,
		}
		name := spec.Name
		if len(name) > 150 {
			name = name[:150]
		}
		var tn struct {
			APIKey string `json:"apiKey"`
		}
		if _, err := r.do(ctx, "setup", http.MethodPost, "/v1/tenants", r.opt.Token, map[string]any{
			"companyName": name + " (sim " + r.nonce + ")", "adminUsername": "admin", "adminEmail": "admin@sim.example.com", "adminFirstName": "Admin",
			"limits": map[string]any{"maxAgents": max(1, agents+1), "maxDomains": len(spec.Domains) + 1, "storageQuotaBytes": int64(1) << 40},
			"policy": policy,
		}, &tn); err != nil {
			return err
		}
		t.admin = tn.APIKey
		var id struct {
			ID     uint64 `json:"id"`
			APIKey string `json:"apiKey"`
		}
		for _, d := range spec.Domains {
			if _, err := r.do(ctx, "setup", http.MethodPost, "/v1/domains", t.admin, map[string]any{"name": d.Name, "parentId": t.domains[cmp(d.Parent, "Home")]}, &id); err != nil {
				return err
			}
			t.domains[d.Name] = uint32(id.ID)
		}
		for i := range spec.Queues {
			qs := &spec.Queues[i]
			body := map[string]any{"name": qs.Name, "domainId": t.domains[qs.Domain], "strategy": qs.Strategy,
				"serviceLevelSeconds": min(86400, r.secondsOf(Duration(qs.ServiceLevelSeconds*float64(time.Second))))}
			if _, err := r.do(ctx, "setup", http.MethodPost, "/v1/queues", t.admin, body, &id); err != nil {
				return err
			}
			q := &liveQueue{id: uint32(id.ID), handle: newSampler(Exponential(5 * time.Minute))}
			if qs.HandleTime != nil {
				q.handle = newSampler(qs.HandleTime)
			}
			t.queues[qs.Name], t.queueByID[q.id] = q, q
		}
		if _, err := r.do(ctx, "setup", http.MethodPost, "/v1/wrapup-codes", t.admin, map[string]any{"name": "done"}, &id); err != nil {
			return err
		}
		t.code = id.ID
		members := map[uint32][]map[string]any{}
		addAgent := func(name string, as *AgentSpec) error {
			agentNo++
			home := t.domains[as.Home]
			scope := []uint32{home}
			var positions []map[string]any
			for i, p := range as.Positions {
				d := t.domains[p]
				positions = append(positions, map[string]any{"domainId": d, "name": "desk" + strconv.Itoa(i+1)})
				if !slices.Contains(scope, d) {
					scope = append(scope, d)
				}
			}
			if _, err := r.do(ctx, "setup", http.MethodPost, "/v1/users", t.admin, map[string]any{"username": name, "homeDomainId": home,
				"roles": []map[string]any{{"role": "agent", "domainIds": scope}}, "positions": positions}, &id); err != nil {
				return err
			}
			a := &liveAgent{t: t, id: uint32(id.ID), name: name, spec: as, rng: rand.New(rand.NewPCG(r.s.Seed, agentNo)),
				wrap: newSampler(Constant(pol.WrapUp.D())), accept: newSampler(as.AcceptTime)}
			if as.HandleTime != nil {
				a.handle, a.ownHandle = newSampler(as.HandleTime), true
			}
			if as.WrapUp != nil {
				a.wrap = newSampler(as.WrapUp)
			}
			if _, err := r.do(ctx, "setup", http.MethodPost, "/v1/users/"+strconv.Itoa(int(a.id))+"/api-keys", t.admin, nil, &id); err != nil {
				return err
			}
			a.key = id.APIKey
			for _, m := range as.Queues {
				q := t.queues[m.Queue].id
				members[q] = append(members[q], map[string]any{"userId": a.id, "tier": m.Tier})
			}
			t.agents = append(t.agents, a)
			return nil
		}
		for i := range spec.Queues {
			qs := &spec.Queues[i]
			as := &AgentSpec{Count: qs.Agents, Home: qs.Domain, Positions: []string{qs.Domain}, Queues: []MemberSpec{{Queue: qs.Name, Tier: 1}}, BackAfterTimeout: Duration(time.Minute)}
			for k := 1; k <= qs.Agents; k++ {
				if err := addAgent(qs.Name+"-agent"+strconv.Itoa(k), as); err != nil {
					return err
				}
			}
		}
		for i := range spec.Agents {
			as := &spec.Agents[i]
			for k := 1; k <= as.Count; k++ {
				name := as.Name
				if as.Count > 1 {
					name += "-" + strconv.Itoa(k)
				}
				if err := addAgent(name, as); err != nil {
					return err
				}
			}
		}
		for i := range spec.Queues {
			q := t.queues[spec.Queues[i].Name].id
			if len(members[q]) == 0 {
				continue
			}
			if _, err := r.do(ctx, "setup", http.MethodPut, "/v1/queues/"+strconv.Itoa(int(q))+"/members", t.admin, members[q], nil); err != nil {
				return err
			}
		}
		for i := range spec.Queues {
			qs := &spec.Queues[i]
			for j := range qs.Arrivals {
				a := &qs.Arrivals[j]
				streamNo++
				// Customers ask through a channel application of the
				// requesting domain: the callback belongs to that domain.
				d := t.domains[cmp(a.Domain, qs.Domain)]
				if t.apps[d] == "" {
					if _, err := r.do(ctx, "setup", http.MethodPost, "/v1/channels", t.admin, map[string]any{"name": "sim-web-" + strconv.Itoa(int(d)), "domainId": d}, &id); err != nil {
						return err
					}
					t.apps[d] = id.APIKey
				}
				r.streams = append(r.streams, &liveStream{idx: len(r.streams), t: t, q: t.queues[qs.Name], spec: a, app: t.apps[d],
					rng: rand.New(rand.NewPCG(r.s.Seed, streamNo)), ahead: newSampler(a.ScheduleAhead), patience: newSampler(a.Patience), dupAft: newSampler(a.DuplicateAfter)})
			}
		}
	}
	return nil
}

var (
	errEndOfScenario = errors.New("end of scenario")
	errMaxDuration   = errors.New("max duration")
	errMaxRequests   = errors.New("max requests")
)

// play runs the agents and the customers until the end of the scenario,
// the time or request budget, or ctx, and reports.
func (r *liveRun) play(parent context.Context) *LiveReport {
	playFor, reason := r.wallOf(int64(r.s.Duration)), errEndOfScenario
	if r.opt.MaxDuration < playFor {
		playFor, reason = r.opt.MaxDuration, errMaxDuration
	}
	ctx, cancel := context.WithCancelCause(parent)
	r.cancel = cancel
	ctx, stopTimer := context.WithTimeoutCause(ctx, playFor, reason)
	defer stopTimer()
	r.playing.Store(true)
	r.t0 = time.Now()
	for _, t := range r.tenants {
		for _, a := range t.agents {
			r.wg.Go(func() { r.agent(ctx, a) })
		}
	}
	for _, st := range r.streams {
		r.wg.Go(func() { r.arrivals(ctx, st) })
	}
	<-ctx.Done()
	wall := time.Since(r.t0)
	r.wg.Wait()
	r.playing.Store(false)
	stoppedBy := "interrupted"
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errEndOfScenario), errors.Is(cause, errMaxDuration), errors.Is(cause, errMaxRequests):
		stoppedBy = cause.Error()
	}
	return r.report(wall, stoppedBy)
}

// sleep waits d of wall time; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// arrivals plays one stream of customers.
func (r *liveRun) arrivals(ctx context.Context, st *liveStream) {
	start, end := r.s.Start.UnixNano(), r.s.Start.UnixNano()+int64(r.s.Duration)
	at := start
	for n := 0; ; n++ {
		if at = nextArrival(st.spec, st.rng, at, end); at < 0 {
			return
		}
		if !sleep(ctx, time.Until(r.t0.Add(r.wallOf(at-start)))) {
			return
		}
		var ahead int64
		if st.spec.ScheduledShare > 0 && st.rng.Float64() < st.spec.ScheduledShare {
			ahead = st.ahead.draw(st.rng)
		}
		patience := int64(-1)
		if st.spec.Patience != nil {
			patience = st.patience.draw(st.rng)
		}
		dupAfter := int64(-1)
		if st.spec.DuplicateShare > 0 && st.rng.Float64() < st.spec.DuplicateShare {
			dupAfter = st.dupAft.draw(st.rng)
		}
		select {
		case <-ctx.Done():
			return
		case r.sem <- struct{}{}:
		}
		key := "sim-" + r.nonce + "-" + strconv.Itoa(st.idx) + "-" + strconv.Itoa(n)
		r.wg.Go(func() {
			defer func() { <-r.sem }()
			number := "+1555" + strconv.FormatInt(1_000_000+r.numbers.Add(1), 10)
			id, ok := r.create(ctx, st, number, ahead, key)
			if !ok {
				return
			}
			if patience >= 0 {
				r.wg.Go(func() {
					if sleep(ctx, r.wallOf(ahead+patience)) {
						r.cancelIfWaiting(ctx, st.t, id)
					}
				})
			}
			if dupAfter >= 0 {
				r.wg.Go(func() {
					if sleep(ctx, r.wallOf(dupAfter)) {
						r.create(ctx, st, number, 0, key+"-again")
					}
				})
			}
		})
	}
}

// create asks for one callback through the stream's channel application.
func (r *liveRun) create(ctx context.Context, st *liveStream, number string, ahead int64, key string) (uint64, bool) {
	body := map[string]any{"queueId": st.q.id, "callbackNumbers": []string{number}, "callbackUserName": "customer", "priority": st.spec.Priority}
	if ahead > 0 {
		body["callbackScheduledTime"] = time.Now().Add(r.wallOf(ahead)).UTC()
	}
	var out struct {
		ID    uint64 `json:"id"`
		State string `json:"state"`
	}
	asked := time.Now()
	if _, err := r.do(ctx, "create", http.MethodPost, "/v1/callbacks", st.app, body, &out, "Idempotency-Key", key); err != nil {
		return 0, false
	}
	r.created.Add(1)
	r.mu.Lock()
	c := r.cb(st.t, out.ID)
	c.asked, c.atOnce = asked, out.State == "offered" || out.State == "in-progress"
	r.measure(c)
	r.mu.Unlock()
	return out.ID, true
}

// cb returns the record of a callback, creating it; r.mu must be held.
func (r *liveRun) cb(t *liveTenant, id uint64) *liveCbRec {
	k := cbKey{t.idx, id}
	c := r.cbs[k]
	if c == nil {
		c = &liveCbRec{}
		r.cbs[k] = c
	}
	return c
}

// measure records create → first offer once both ends are known; r.mu
// must be held.
func (r *liveRun) measure(c *liveCbRec) {
	if c.measured || c.asked.IsZero() || c.seen.IsZero() {
		return
	}
	c.measured = true
	ms := float64(c.seen.Sub(c.asked)) / 1e6
	r.lat[LatCreateFirstSeen] = append(r.lat[LatCreateFirstSeen], ms)
	if c.atOnce {
		r.lat[LatCreateOffered] = append(r.lat[LatCreateOffered], ms)
	}
}

func (r *liveRun) cancelIfWaiting(ctx context.Context, t *liveTenant, id uint64) {
	r.mu.Lock()
	accepted := r.cb(t, id).accepted
	r.mu.Unlock()
	if accepted {
		return
	}
	if _, err := r.do(ctx, "cancel", http.MethodPost, "/v1/callbacks/"+strconv.FormatUint(id, 10)+"/cancel", t.admin, nil, nil); err == nil {
		r.canceled.Add(1)
	}
}

// liveOffer is an event of an agent's offer stream.
type liveOffer struct {
	Type       string `json:"type"`
	CallbackID uint64 `json:"callbackId"`
	OfferID    uint64 `json:"offerId"`
	QueueID    uint32 `json:"queueId"`
	Reason     string `json:"reason"`
}

// onShift reports whether a daily shift covers the Unix time at (ns); an
// agent without shifts is always on.
func onShift(a *AgentSpec, at int64) bool {
	if len(a.Shifts) == 0 {
		return true
	}
	const day = int64(24 * time.Hour)
	tod := ((at % day) + day) % day
	for _, sh := range a.Shifts {
		s, e := int64(sh.Start), int64(sh.End)
		if e > s && tod >= s && tod < e || e < s && (tod >= s || tod < e) {
			return true
		}
	}
	return false
}

// agent plays one agent: it holds the offer stream, is available on
// shift, and accepts, rejects or ignores what it is offered.
func (r *liveRun) agent(ctx context.Context, a *liveAgent) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.base+"/v1/offers/stream", nil)
	if err != nil {
		return
	}
	req.Header.Set("Authorization", "Bearer "+a.key)
	req.Header.Set("Accept", "text/event-stream")
	r.requests.Add(1)
	resp, err := r.hc.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			r.countError("stream", 0)
		}
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		r.countError("stream", resp.StatusCode)
		return
	}
	events := make(chan liveOffer, 64)
	r.wg.Go(func() { r.readStream(ctx, a, resp.Body, events) })

	vnow := func() int64 { return r.s.Start.UnixNano() + int64(float64(time.Since(r.t0))*r.speed) }
	on := onShift(a.spec, vnow())
	if on {
		r.presence(ctx, a, "available")
	}
	var shiftCheck <-chan time.Time
	if len(a.spec.Shifts) > 0 {
		tk := time.NewTicker(max(20*time.Millisecond, r.wallOf(int64(time.Minute))))
		defer tk.Stop()
		shiftCheck = tk.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-shiftCheck:
			if now := onShift(a.spec, vnow()); now != on {
				on = now
				state := "offline"
				if on {
					state = "available"
				}
				r.presence(ctx, a, state)
			}
		case e, ok := <-events:
			if !ok {
				return
			}
			switch {
			case e.Type == "offered":
				r.onOffer(ctx, a, e, on)
			case e.Type == "revoked" && e.Reason == "timed out":
				if sleep(ctx, r.wallOf(int64(a.spec.BackAfterTimeout))) && on {
					r.presence(ctx, a, "available")
				}
			}
		}
	}
}

func (r *liveRun) presence(ctx context.Context, a *liveAgent, state string) {
	_, _ = r.do(ctx, "presence", http.MethodPut, "/v1/users/"+strconv.Itoa(int(a.id))+"/presence", a.key, map[string]any{"state": state}, nil)
}

// readStream reads server-sent events, stamps offers as they arrive and
// hands them to the agent; it closes events when the stream ends.
func (r *liveRun) readStream(ctx context.Context, a *liveAgent, body io.Reader, events chan<- liveOffer) {
	defer close(events)
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || !strings.Contains(data, `"callbackId"`) {
			continue
		}
		var e liveOffer
		if json.Unmarshal([]byte(data), &e) != nil {
			continue
		}
		if e.Type == "offered" {
			seen := time.Now()
			r.offers.Add(1)
			r.mu.Lock()
			if c := r.cb(a.t, e.CallbackID); c.seen.IsZero() {
				c.seen = seen
				r.measure(c)
			}
			r.mu.Unlock()
		}
		select {
		case events <- e:
		case <-ctx.Done():
			return
		}
	}
}

// onOffer is what an agent does with an offer: reject it, let it time
// out, or accept it, call the customer (who may not answer), complete or
// fail the attempt, and end wrap-up.
func (r *liveRun) onOffer(ctx context.Context, a *liveAgent, e liveOffer, on bool) {
	u := a.rng.Float64()
	delay := a.accept.draw(a.rng)
	offer := "/v1/offers/" + strconv.FormatUint(e.OfferID, 10)
	switch {
	case u < a.spec.Reject:
		if sleep(ctx, r.wallOf(delay)) {
			if _, err := r.do(ctx, "reject", http.MethodPost, offer+"/reject", a.key, nil, nil); err == nil {
				r.rejected.Add(1)
			}
		}
		return
	case u < a.spec.Reject+a.spec.Timeout:
		r.ignored.Add(1)
		return
	}
	if !sleep(ctx, r.wallOf(delay)) {
		return
	}
	if _, err := r.do(ctx, "accept", http.MethodPost, offer+"/accept", a.key, nil, nil); err != nil {
		return
	}
	r.accepted.Add(1)
	r.mu.Lock()
	r.cb(a.t, e.CallbackID).accepted = true
	r.mu.Unlock()
	var noAnswer float64
	var noAnswerTime *Dist
	for _, st := range r.streams {
		if st.t == a.t && st.q.id == e.QueueID {
			noAnswer, noAnswerTime = st.spec.NoAnswer, st.spec.NoAnswerTime
			break
		}
	}
	cb := "/v1/callbacks/" + strconv.FormatUint(e.CallbackID, 10)
	if noAnswer > 0 && a.rng.Float64() < noAnswer {
		s := newSampler(noAnswerTime)
		if !sleep(ctx, r.wallOf(s.draw(a.rng))) {
			return
		}
		if _, err := r.do(ctx, "fail", http.MethodPost, cb+"/fail", a.key, map[string]any{"reason": "no answer"}, nil); err == nil {
			r.failedAttempts.Add(1)
		}
	} else {
		handle := a.handle
		if !a.ownHandle {
			if q := a.t.queueByID[e.QueueID]; q != nil {
				handle = q.handle
			}
		}
		if !sleep(ctx, r.wallOf(handle.draw(a.rng))) {
			return
		}
		if _, err := r.do(ctx, "complete", http.MethodPost, cb+"/complete", a.key, map[string]any{"disposition": a.t.code, "comment": "done"}, nil); err == nil {
			r.completed.Add(1)
		}
	}
	if a.t.wrap {
		if sleep(ctx, r.wallOf(a.wrap.draw(a.rng))) && on {
			r.presence(ctx, a, "available")
		}
	}
}

func (r *liveRun) report(wall time.Duration, stoppedBy string) *LiveReport {
	played := min(r.s.Duration.D(), time.Duration(float64(wall)*r.speed)).Round(time.Second)
	rep := &LiveReport{Target: r.base, Seed: r.s.Seed, Speed: r.speed, Played: played.String(), Wall: wall.Round(time.Millisecond).String(),
		StoppedBy: stoppedBy, Tenants: len(r.tenants), SetupRequests: r.setupReq.Load(), Requests: min(r.requests.Load(), r.opt.MaxRequests),
		Created: r.created.Load(), Offers: r.offers.Load(), Accepted: r.accepted.Load(), Rejected: r.rejected.Load(), Ignored: r.ignored.Load(),
		Completed: r.completed.Load(), FailedAttempts: r.failedAttempts.Load(), Canceled: r.canceled.Load(), Stale: r.stale.Load(),
		Latencies: []LiveLatency{}, Errors: []LiveError{}}
	for _, t := range r.tenants {
		rep.Agents += len(t.agents)
	}
	if wall > 0 {
		rep.RequestsPerSecond = round(float64(rep.Requests)/wall.Seconds(), 1)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, name := range latencyOrder {
		v := r.lat[name]
		if len(v) == 0 {
			continue
		}
		slices.Sort(v)
		rep.Latencies = append(rep.Latencies, LiveLatency{Name: name, Count: len(v), P50Ms: round(quantile(v, 0.5), 2),
			P90Ms: round(quantile(v, 0.9), 2), P99Ms: round(quantile(v, 0.99), 2), MaxMs: round(v[len(v)-1], 2)})
	}
	for k, n := range r.errs {
		k.Count = n
		rep.Errors = append(rep.Errors, k)
	}
	slices.SortFunc(rep.Errors, func(a, b LiveError) int {
		if c := strings.Compare(a.Op, b.Op); c != 0 {
			return c
		}
		return a.Status - b.Status
	})
	return rep
}

// WriteTable writes the live report as text.
func (rep *LiveReport) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "live run against %s at speed %g: %s of scenario time in %s (stopped by %s)\n",
		rep.Target, rep.Speed, rep.Played, rep.Wall, rep.StoppedBy)
	fmt.Fprintf(w, "%d tenants, %d agents; %d setup requests, then %d requests (%.1f/s)\n",
		rep.Tenants, rep.Agents, rep.SetupRequests, rep.Requests, rep.RequestsPerSecond)
	fmt.Fprintf(w, "callbacks created %d, offers seen %d, accepted %d, rejected %d, ignored %d, completed %d, failed attempts %d, canceled %d, stale %d\n\n",
		rep.Created, rep.Offers, rep.Accepted, rep.Rejected, rep.Ignored, rep.Completed, rep.FailedAttempts, rep.Canceled, rep.Stale)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "latency\tn\tp50 ms\tp90 ms\tp99 ms\tmax ms\t\n")
	for _, l := range rep.Latencies {
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t\n", l.Name, l.Count, l.P50Ms, l.P90Ms, l.P99Ms, l.MaxMs)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if len(rep.Errors) == 0 {
		_, err := fmt.Fprintln(w, "no refused requests")
		return err
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "refused\tstatus\tcount\t\n")
	for _, e := range rep.Errors {
		status := strconv.Itoa(e.Status)
		if e.Status == 0 {
			status = "no answer"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t\n", e.Op, status, e.Count)
	}
	return tw.Flush()
}

// WriteJSON writes the live report as indented JSON.
func (rep *LiveReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
