package cluster_test

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// TestLinearizableUnderFaults: clients create, cancel and read callbacks
// over HTTP against three real `ringback server` processes on 127.0.0.1
// whose Raft traffic goes through TCP proxies (fault_proxy_test.go), while
// a fault injector, round after round:
//
//   - kills -9 a node and restarts it;
//   - pauses a node with SIGSTOP past the election timeout and resumes it;
//   - isolates the leader from both followers (the old leader is a
//     minority of one that still believes it leads for a while; the two
//     others elect a new one);
//   - isolates a follower (it campaigns alone, then rejoins with a higher
//     term);
//   - cuts the leader from one follower only (the other follower still
//     sees both: a partial, split-brain-ish partition).
//
// Cut connections are closed; new ones are refused or, alternately,
// accepted and held silent (dropped) until heal.
//
// Every operation is recorded with its call and return time; a timeout, a
// 5xx or a dropped connection is an operation of unknown outcome (return
// time "never", any effect allowed). porcupine then checks the history
// against a model of one callback per idempotency key:
//
//   - create(key) returns the same id every time it succeeds, whoever
//     asks and however often (the idempotency key);
//   - cancel(id) succeeds only once, and only after a create of it could
//     have taken effect; a cancel refused as a conflict must follow a
//     successful (or unknown) cancel;
//   - read(id), a GET with Ringback-Read-Consistency: linearizable, sees
//     404 before the create took effect, "canceled" once a cancel did,
//     the live callback in between. Reads are of acknowledged callbacks
//     and (one in four) of the next few ids, which in-flight creates may
//     be taking; those are tied to their key after the run from the
//     callback number the key determines. A read that errors has no
//     effect and is left out (an unknown outcome of a read is always
//     legal).
//
// The short run (5 fault rounds, one of each) is in plain `go test`; with
// RINGBACK_FAULTS_LONG=1 (make test-faults) it runs 20 rounds, alternating
// refused and dropped connections. On a violation porcupine's HTML
// visualisation is written and its path logged.
func TestLinearizableUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	rounds := 5
	if os.Getenv("RINGBACK_FAULTS_LONG") != "" {
		rounds = 20
	}
	began := time.Now()
	rn := newRaftNet(t, 3)
	ps := startProxiedProcs(t, rn)
	ts := setup(t, ps)
	leader(t, ps)
	t.Logf("cluster up in %v", time.Since(began).Round(time.Millisecond))

	h := &linHistory{start: time.Now()}
	var mu sync.Mutex // guards procs' cmd fields against the injector
	live := func(r *rand.Rand) *proc {
		mu.Lock()
		defer mu.Unlock()
		for k := 0; k < 6; k++ {
			if p := ps[r.IntN(len(ps))]; p.cmd != nil {
				return p
			}
		}
		return ps[0]
	}
	stop := make(chan struct{})
	var stopOnce sync.Once
	var wg sync.WaitGroup
	halt := func() { stopOnce.Do(func() { close(stop) }); wg.Wait() }
	defer halt() // also on t.Fatal: the clients stop by themselves
	clientDeadline := time.Now().Add(time.Duration(rounds)*6*time.Second + 30*time.Second)
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), 42))
			for i := 0; i < 100000 && time.Now().Before(clientDeadline); i++ {
				select {
				case <-stop:
					return
				default:
				}
				p := live(r)
				switch op := r.IntN(8); {
				case op < 4 || h.keys() == 0:
					// A new key, or (one time in four) a key another client may be creating.
					key := fmt.Sprintf("c%d-%d", c, i)
					if r.IntN(4) == 0 && h.keys() > 0 {
						key = h.randomKey(r)
					}
					h.create(c, p, ts, key)
				case op < 6:
					h.cancel(c, p, ts, h.randomKey(r))
				default:
					h.read(c, p, ts, r)
				}
			}
		}(c)
	}
	kinds := []string{"kill -9", "SIGSTOP", "isolate leader", "isolate follower", "cut leader from one follower"}
	for round := 0; round < rounds; round++ {
		time.Sleep(600 * time.Millisecond)
		kind := kinds[round%len(kinds)]
		drop := (round%len(kinds)+round/len(kinds))%2 == 0
		var victim *proc
		l := leaderIndex(ps, &mu)
		f := (l + 1 + round%2) % 3 // a follower (or any node when no leader is known)
		if l < 0 {
			l, f = round%3, (round+1)%3
		}
		if kind == "kill -9" || kind == "SIGSTOP" {
			// The leader in even cycles (a paused leader that resumes still
			// believing it leads), a follower in odd ones.
			victim = ps[l]
			if round/len(kinds)%2 == 1 {
				victim = ps[f]
			}
		}
		t0 := time.Now()
		switch kind {
		case "kill -9":
			mu.Lock()
			victim.kill()
			mu.Unlock()
			time.Sleep(500 * time.Millisecond)
			mu.Lock()
			startProxied(t, victim, rn.addrs[indexOf(ps, victim)])
			mu.Unlock()
		case "SIGSTOP":
			if victim.cmd != nil {
				_ = victim.cmd.Process.Signal(syscall.SIGSTOP)
				// Past the election timeout and the client timeout, so that
				// requests sent after the others elected a new leader are
				// still waiting when it resumes.
				time.Sleep(3500 * time.Millisecond)
				_ = victim.cmd.Process.Signal(syscall.SIGCONT)
			}
		case "isolate leader":
			victim = ps[l]
			rn.isolate(drop, l)
			time.Sleep(2500 * time.Millisecond) // the majority elects a new leader
			rn.heal()
		case "isolate follower":
			victim = ps[f]
			rn.isolate(drop, f)
			time.Sleep(2000 * time.Millisecond)
			rn.heal()
		case "cut leader from one follower":
			victim = ps[f]
			rn.cut(drop, [2]int{l, f}, [2]int{f, l})
			time.Sleep(2000 * time.Millisecond)
			rn.heal()
		}
		mode := ""
		if strings.HasPrefix(kind, "isolate") || strings.HasPrefix(kind, "cut") {
			mode = map[bool]string{true: " (dropped)", false: " (refused)"}[drop]
		}
		t.Logf("round %d: %s %s%s for %v", round, kind, victim.name, mode, time.Since(t0).Round(time.Millisecond))
	}
	time.Sleep(600 * time.Millisecond)
	halt()
	leader(t, ps)
	converged(t, ps)
	t.Logf("faults done, converged at %v", time.Since(began).Round(time.Millisecond))

	ops, strays := h.operations(t, ps, ts)
	for _, s := range strays {
		t.Errorf("a linearizable read saw callback %d (%s), which no create made", s.ID, s.State)
	}
	res, info := porcupine.CheckOperationsVerbose(callbackModel, ops, 60*time.Second)
	t.Logf("%d operations (%d of unknown outcome; %d reads, %d of them of the next ids; %d reads failed and are left out), %d keys, %d fault rounds, proxy: %d connections refused or dropped, %d of unknown sender: %v",
		len(ops), h.unknown, h.reads, h.probes, h.failedReads, h.keys(), rounds, rn.refused.Load(), rn.unknownSrc.Load(), res)
	if res == porcupine.Illegal {
		out := filepath.Join(os.TempDir(), fmt.Sprintf("ringback-linearizability-%d.html", time.Now().UnixNano()))
		if err := porcupine.VisualizePath(callbackModel, info, out); err != nil {
			t.Logf("visualisation: %v", err)
		}
		t.Fatalf("history is not linearizable; visualisation: %s", out)
	}
	if h.reads-h.failedReads == 0 {
		t.Fatal("no linearizable read succeeded")
	}
}

// leaderIndex is the index of the node that says it leads, polled for at
// most 5 s; -1 when none does.
func leaderIndex(ps []*proc, mu *sync.Mutex) int {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for i, p := range ps {
			mu.Lock()
			up := p.cmd != nil
			mu.Unlock()
			if !up {
				continue
			}
			var hs struct{ Leader, Ready bool }
			if _, err := callTimeout("GET", "http://"+p.http+"/v1/health", "", nil, &hs); err == nil && hs.Leader && hs.Ready {
				return i
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return -1
}

type linInput struct {
	Op  string // "create", "cancel" or "read"
	Key string
	ID  uint64 // cancel, read: the callback
}

type linOutput struct {
	Kind  string // "ok", "conflict", "unknown"; a read: "ok" or "absent" (404)
	ID    uint64 // create: the callback
	State string // read: the state seen
}

// linState is one key's callback as the model sees it.
type linState struct {
	Created  bool
	ID       uint64 // 0 while only an unknown create made it
	Canceled bool
}

var callbackModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		var order []string
		for _, op := range history {
			k := op.Input.(linInput).Key
			if _, ok := by[k]; !ok {
				order = append(order, k)
			}
			by[k] = append(by[k], op)
		}
		out := make([][]porcupine.Operation, 0, len(order))
		for _, k := range order {
			out = append(out, by[k])
		}
		return out
	},
	Init: func() any { return linState{} },
	Step: func(s, in, out any) (bool, any) {
		st, i, o := s.(linState), in.(linInput), out.(linOutput)
		switch i.Op {
		case "create":
			switch o.Kind {
			case "unknown":
				if !st.Created {
					st.Created = true
				}
				return true, st
			case "ok":
				if st.Created && st.ID != 0 && st.ID != o.ID {
					return false, st // a second callback for the same key
				}
				st.Created, st.ID = true, o.ID
				return true, st
			}
			return false, st
		case "cancel":
			switch o.Kind {
			case "unknown":
				if st.Created {
					st.Canceled = true
				}
				return true, st
			case "ok":
				if !st.Created || st.Canceled {
					return false, st
				}
				st.Canceled = true
				return true, st
			case "conflict":
				return st.Canceled, st
			}
		case "read":
			switch o.Kind {
			case "absent":
				return !st.Created, st
			case "ok":
				if !st.Created || st.ID != 0 && st.ID != i.ID || (o.State == "canceled") != st.Canceled {
					return false, st
				}
				st.ID = i.ID
				return true, st
			}
		}
		return false, st
	},
	Equal: func(a, b any) bool { return a.(linState) == b.(linState) },
	DescribeOperation: func(in, out any) string {
		i, o := in.(linInput), out.(linOutput)
		switch i.Op {
		case "create":
			return fmt.Sprintf("create(%s) -> %s %d", i.Key, o.Kind, o.ID)
		case "read":
			return fmt.Sprintf("read(%s #%d) -> %s %s", i.Key, i.ID, o.Kind, o.State)
		}
		return fmt.Sprintf("cancel(%s #%d) -> %s", i.Key, i.ID, o.Kind)
	},
	DescribeState: func(s any) string { return fmt.Sprintf("%+v", s.(linState)) },
}

// linHistory records operations from every client.
type linHistory struct {
	start   time.Time
	mu      sync.Mutex
	ops     []porcupine.Operation
	acked   map[string]uint64 // key -> id of an acknowledged create
	order   []string
	unknown int

	maxID       uint64                // highest acknowledged id
	numberKey   map[string]string     // callback number -> the key that asks for it ("" if two do)
	pending     []porcupine.Operation // reads of ids not yet tied to a key
	reads       int
	probes      int
	failedReads int
}

// never is the return time of an operation of unknown outcome.
const never = int64(1) << 62

func (h *linHistory) now() int64 { return int64(time.Since(h.start)) }

func (h *linHistory) keys() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.order)
}

func (h *linHistory) randomKey(r *rand.Rand) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.order[r.IntN(len(h.order))]
}

func (h *linHistory) record(client int, in linInput, out linOutput, call int64) {
	ret := h.now()
	if out.Kind == "unknown" {
		ret = never
		defer time.Sleep(25 * time.Millisecond) // back off while the cluster recovers (after unlocking)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if out.Kind == "unknown" {
		h.unknown++
	}
	if in.Op == "read" && in.Key == "" {
		h.pending = append(h.pending, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
		return
	}
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
	if in.Op == "create" && out.Kind == "ok" {
		h.maxID = max(h.maxID, out.ID)
		if h.acked == nil {
			h.acked = map[string]uint64{}
		}
		if _, ok := h.acked[in.Key]; !ok {
			h.acked[in.Key] = out.ID
			h.order = append(h.order, in.Key)
		}
	}
}

// stray is a read that saw a callback no key ended up with.
type stray struct {
	ID    uint64
	State string
}

// operations returns the history, with each read of a not-yet-known id
// tied to the key whose callback has that id in the converged state (the
// callback number names the key). A read that saw nothing of an id no key
// has is dropped (it is legal); one that saw a callback is a stray.
func (h *linHistory) operations(t *testing.T, ps []*proc, ts tenantSetup) ([]porcupine.Operation, []stray) {
	t.Helper()
	idNumber := map[uint64]string{}
	token := ""
	for k := 0; k < 1000; k++ {
		var page struct {
			Entities []struct {
				ID      uint64   `json:"id"`
				Numbers []string `json:"callbackNumbers"`
			} `json:"entities"`
			Next string `json:"nextPageToken"`
		}
		if err := retry(t, ps, "GET", "/v1/callbacks?pageSize=500&pageToken="+token, ts.admin, nil, &page, "Ringback-Read-Consistency", "linearizable"); err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Entities {
			idNumber[e.ID] = e.Numbers[0]
		}
		if token = page.Next; token == "" {
			break
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	ops := append([]porcupine.Operation(nil), h.ops...)
	var strays []stray
	for _, op := range h.pending {
		in, out := op.Input.(linInput), op.Output.(linOutput)
		number, ok := idNumber[in.ID]
		if !ok || h.numberKey[number] == "" {
			if out.Kind != "absent" {
				strays = append(strays, stray{in.ID, out.State})
			}
			continue
		}
		in.Key = h.numberKey[number]
		op.Input = in
		ops = append(ops, op)
	}
	return ops, strays
}

// outcome classifies an HTTP answer: success, a definite refusal, or
// unknown (no answer, a timeout, a 5xx).
func outcome(code int, err error) string {
	switch {
	case err == nil:
		return "ok"
	case code == http.StatusConflict:
		return "conflict"
	case code >= 400 && code < 500:
		return "refused"
	default:
		return "unknown"
	}
}

func (h *linHistory) create(client int, p *proc, ts tenantSetup, key string) {
	f := fnv.New32a()
	_, _ = f.Write([]byte(key))
	number := fmt.Sprintf("+1555%010d", f.Sum32())
	h.mu.Lock()
	if h.numberKey == nil {
		h.numberKey = map[string]string{}
	}
	if k, ok := h.numberKey[number]; !ok {
		h.numberKey[number] = key
	} else if k != key {
		h.numberKey[number] = "" // two keys, one number: reads of it cannot be tied to a key
	}
	h.mu.Unlock()
	body := map[string]any{"queueId": ts.queue, "callbackNumbers": []string{number}, "callbackUserName": "C"}
	var cb struct {
		ID uint64 `json:"id"`
	}
	call := h.now()
	code, err := callTimeout("POST", "http://"+p.http+"/v1/callbacks", ts.admin, body, &cb, "Idempotency-Key", key)
	kind := outcome(code, err)
	if kind == "refused" || kind == "conflict" {
		// e.g. 422: a refused create has no effect; not part of the model.
		return
	}
	h.record(client, linInput{Op: "create", Key: key}, linOutput{Kind: kind, ID: cb.ID}, call)
}

func (h *linHistory) cancel(client int, p *proc, ts tenantSetup, key string) {
	h.mu.Lock()
	id := h.acked[key]
	h.mu.Unlock()
	call := h.now()
	code, err := callTimeout("POST", fmt.Sprintf("http://%s/v1/callbacks/%d/cancel", p.http, id), ts.admin, nil, nil)
	kind := outcome(code, err)
	if kind == "refused" {
		return
	}
	h.record(client, linInput{Op: "cancel", Key: key, ID: id}, linOutput{Kind: kind}, call)
}

// read asks for a callback with a linearizable read: one of an
// acknowledged key, or (one time in four) one of the next few ids, which
// an in-flight create may be taking. A failed read is counted and left out.
func (h *linHistory) read(client int, p *proc, ts tenantSetup, r *rand.Rand) {
	h.mu.Lock()
	h.reads++
	var key string
	var id uint64
	if r.IntN(4) == 0 || len(h.order) == 0 {
		id = h.maxID + 1 + uint64(r.IntN(4))
		h.probes++
	} else {
		// Half the time one of the latest acknowledged: a stale read shows.
		n := len(h.order)
		k := r.IntN(n)
		if r.IntN(2) == 0 {
			k = n - 1 - r.IntN(min(n, 8))
		}
		key = h.order[k]
		id = h.acked[key]
	}
	h.mu.Unlock()
	var cb struct {
		ID    uint64 `json:"id"`
		State string `json:"state"`
	}
	call := h.now()
	code, err := callTimeout("GET", fmt.Sprintf("http://%s/v1/callbacks/%d", p.http, id), ts.admin, nil, &cb, "Ringback-Read-Consistency", "linearizable")
	out := linOutput{Kind: "ok", State: cb.State}
	switch {
	case err == nil && cb.ID == id:
	case code == http.StatusNotFound:
		out = linOutput{Kind: "absent"}
	default:
		h.mu.Lock()
		h.failedReads++
		h.mu.Unlock()
		time.Sleep(25 * time.Millisecond) // back off while the cluster recovers
		return
	}
	h.record(client, linInput{Op: "read", Key: key, ID: id}, out, call)
}

var linClient = &http.Client{Timeout: 2 * time.Second}

// callTimeout is call with a shorter client timeout, so a paused node
// yields an unknown outcome quickly.
func callTimeout(method, url, token string, body, out any, headers ...string) (int, error) {
	return callWith(linClient, method, url, token, body, out, headers...)
}
