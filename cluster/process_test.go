package cluster_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ringbackhq/ringback/cluster/clustertest"
)

// These tests run real `ringback server` processes on 127.0.0.1. They are
// bounded in time and request count and stop by themselves.

const operatorToken = "rbop_process_test"

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func ringbackBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ringback-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "ringback")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/ringback").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

type proc struct {
	name, http, raft, dir string
	peers                 []string
	leave                 bool // leave the cluster on SIGTERM
	cmd                   *exec.Cmd
	log                   *bytes.Buffer
}

func (p *proc) start(t *testing.T) {
	t.Helper()
	args := []string{"server", "--data-dir", p.dir, "--http-addr", p.http, "--raft-addr", p.raft, "--log-level", "warn"}
	if len(p.peers) > 1 {
		args = append(args, "--join", strings.Join(p.peers, ","), "--bootstrap-expect", fmt.Sprint(len(p.peers)))
	}
	p.cmd = exec.Command(ringbackBinary(t), args...)
	p.cmd.Env = append(os.Environ(), "RINGBACK_OPERATOR_TOKEN="+operatorToken, "RINGBACK_LEAVE_ON_STOP="+fmt.Sprint(p.leave))
	p.log = &bytes.Buffer{}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
}

func (p *proc) kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
	}
	p.cmd = nil
}

func startProcs(t *testing.T, n int) []*proc {
	t.Helper()
	var ps []*proc
	var peers []string
	for i := 0; i < n; i++ {
		p := &proc{name: fmt.Sprintf("node%d", i), http: clustertest.FreeAddr(t), raft: clustertest.FreeAddr(t), dir: filepath.Join(t.TempDir(), "data")}
		peers = append(peers, p.raft)
		ps = append(ps, p)
	}
	for _, p := range ps {
		p.peers = peers
		p.start(t)
	}
	t.Cleanup(func() {
		for _, p := range ps {
			p.kill()
		}
		if t.Failed() {
			for _, p := range ps {
				t.Logf("%s log:\n%s", p.name, p.log)
			}
		}
	})
	return ps
}

var client = &http.Client{Timeout: 3 * time.Second}

func call(method, url, token string, body any, out any, headers ...string) (int, error) {
	return callWith(client, method, url, token, body, out, headers...)
}

// callWith sends one JSON request. A transport error, or an answer cut
// short, is an error with status 0: the outcome is unknown.
func callWith(c *http.Client, method, url, token string, body any, out any, headers ...string) (int, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, err
		}
	}
	return resp.StatusCode, nil
}

// leader waits for a node that says it leads.
func leader(t *testing.T, ps []*proc) *proc {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, p := range ps {
			if p.cmd == nil {
				continue
			}
			var h struct{ Leader, Ready bool }
			if _, err := call("GET", "http://"+p.http+"/v1/health", "", nil, &h); err == nil && h.Leader && h.Ready {
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no leader")
	return nil
}

// retry calls until it succeeds or the deadline passes, rotating nodes.
func retry(t *testing.T, ps []*proc, method, path, token string, body any, out any, headers ...string) error {
	deadline := time.Now().Add(20 * time.Second)
	var err error
	for i := 0; time.Now().Before(deadline); i++ {
		p := ps[i%len(ps)]
		if p.cmd == nil {
			continue
		}
		var code int
		code, err = call(method, "http://"+p.http+path, token, body, out, headers...)
		if err == nil {
			return nil
		}
		if code >= 400 && code < 500 && code != 409 {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

type stateHash struct {
	AppliedIndex uint64 `json:"appliedIndex"`
	Hash         string `json:"hash"`
}

// converged waits until every running node reports the same state hash.
func converged(t *testing.T, ps []*proc) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last []stateHash
	for time.Now().Before(deadline) {
		last = last[:0]
		ok := true
		for _, p := range ps {
			if p.cmd == nil {
				continue
			}
			var s stateHash
			if _, err := call("GET", "http://"+p.http+"/v1/cluster/state", operatorToken, nil, &s); err != nil {
				ok = false
				break
			}
			last = append(last, s)
		}
		for i := range last {
			ok = ok && last[i] == last[0]
		}
		if ok && len(last) > 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("nodes did not converge: %+v", last)
}

type tenantSetup struct {
	admin string
	queue uint64
}

func setup(t *testing.T, ps []*proc) tenantSetup {
	t.Helper()
	var tn struct {
		APIKey string `json:"apiKey"`
	}
	if err := retry(t, ps, "POST", "/v1/tenants", operatorToken, map[string]any{"companyName": "Acme", "adminUsername": "ada",
		"adminEmail": "ada@acme.test", "adminFirstName": "Ada", "limits": map[string]any{"storageQuotaBytes": 1 << 30}}, &tn); err != nil {
		t.Fatal(err)
	}
	var q struct {
		ID uint64 `json:"id"`
	}
	if err := retry(t, ps, "POST", "/v1/queues", tn.APIKey, map[string]any{"name": "q", "domainId": 1}, &q); err != nil {
		t.Fatal(err)
	}
	return tenantSetup{admin: tn.APIKey, queue: q.ID}
}

// createStream has writers create callbacks with idempotency keys, retrying
// each until acknowledged (or the run ends), while fault runs. It returns
// the callback id each acknowledged key got.
func createStream(t *testing.T, ps []*proc, ts tenantSetup, round, writers, perWriter int, fault func()) map[string]uint64 {
	t.Helper()
	var mu sync.Mutex
	acked := map[string]uint64{}
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				key := fmt.Sprintf("r%d-w%d-%d", round, w, i)
				var cb struct {
					ID uint64 `json:"id"`
				}
				body := map[string]any{"queueId": ts.queue, "callbackNumbers": []string{fmt.Sprintf("+1555%02d%02d%04d", round, w, i)}, "callbackUserName": "C"}
				if err := retry(t, ps, "POST", "/v1/callbacks", ts.admin, body, &cb, "Idempotency-Key", key); err == nil {
					mu.Lock()
					acked[key] = cb.ID
					mu.Unlock()
				}
			}
		}(w)
	}
	fault()
	wg.Wait()
	return acked
}

// checkExactlyOnce: every acknowledged callback is present, once, on every
// running node.
func checkExactlyOnce(t *testing.T, ps []*proc, ts tenantSetup, acked map[string]uint64) {
	t.Helper()
	for _, p := range ps {
		if p.cmd == nil {
			continue
		}
		seen := map[uint64]int{}
		numbers := map[string]int{}
		token := ""
		for {
			var page struct {
				Entities []struct {
					ID      uint64   `json:"id"`
					Numbers []string `json:"callbackNumbers"`
				} `json:"entities"`
				Next string `json:"nextPageToken"`
			}
			if _, err := call("GET", "http://"+p.http+"/v1/callbacks?pageSize=500&pageToken="+token, ts.admin, nil, &page); err != nil {
				t.Fatal(err)
			}
			for _, e := range page.Entities {
				seen[e.ID]++
				numbers[e.Numbers[0]]++
			}
			if page.Next == "" {
				break
			}
			token = page.Next
		}
		for key, id := range acked {
			if seen[id] != 1 {
				t.Errorf("%s: acknowledged callback %d (key %s) present %d times", p.name, id, key, seen[id])
			}
		}
		for n, c := range numbers {
			if c > 1 {
				t.Errorf("%s: number %s has %d callbacks: a retried create made a second one", p.name, n, c)
			}
		}
	}
}

// Kill -9 the leader during a steady stream of creates: every acknowledged
// callback is there exactly once; after restarting every node the state
// is the same everywhere.
func TestProcessKillLeader(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	ps := startProcs(t, 3)
	ts := setup(t, ps)
	acked := map[string]uint64{}
	for round := 0; round < crashCycles(1); round++ {
		var killed *proc
		got := createStream(t, ps, ts, round, 4, 40, func() {
			time.Sleep(300 * time.Millisecond)
			killed = leader(t, ps)
			killed.kill()
		})
		if len(got) < 100 {
			t.Fatalf("round %d: only %d of 160 creates were acknowledged", round, len(got))
		}
		for k, v := range got {
			acked[k] = v
		}
		killed.start(t)
		converged(t, ps)
	}
	checkExactlyOnce(t, ps, ts, acked)
	// A linearizable read asked of a follower is answered by the leader.
	l := leader(t, ps)
	for _, p := range ps {
		if p != l {
			if _, err := call("GET", "http://"+p.http+"/v1/callbacks?pageSize=1", ts.admin, nil, nil, "Ringback-Read-Consistency", "linearizable"); err != nil {
				t.Fatalf("linearizable read via a follower: %v", err)
			}
			break
		}
	}

	// Restart every node: the same state comes back.
	for _, p := range ps {
		p.kill()
	}
	for _, p := range ps {
		p.start(t)
	}
	leader(t, ps)
	converged(t, ps)
	checkExactlyOnce(t, ps, ts, acked)
}

// crashCycles is how many crash-restart cycles a loop runs: def in
// `make test`, RINGBACK_CRASH_CYCLES (a hundred in `make soak`) otherwise.
func crashCycles(def int) int {
	if n, err := strconv.Atoi(os.Getenv("RINGBACK_CRASH_CYCLES")); err == nil && n > 0 {
		return n
	}
	return def
}

// One node: kill -9 under load and restart, a few cycles.
func TestProcessSingleNodeCrashLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	ps := startProcs(t, 1)
	ts := setup(t, ps)
	all := map[string]uint64{}
	for cycle := 0; cycle < crashCycles(3); cycle++ {
		acked := createStream(t, ps, ts, cycle, 2, 20, func() {
			time.Sleep(time.Duration(50+cycle*40) * time.Millisecond)
			ps[0].kill()
			ps[0].start(t)
		})
		for k, v := range acked {
			all[k] = v
		}
		leader(t, ps)
	}
	checkExactlyOnce(t, ps, ts, all)
}

// SIGTERM with --leave-on-stop takes a follower, then the leader, out of
// the configuration; the rest keeps serving.
func TestProcessGracefulLeave(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	ps := startProcs(t, 3)
	for _, p := range ps {
		p.leave = true
		p.kill()
		p.start(t)
	}
	ts := setup(t, ps)
	peers := func(via *proc) int {
		var list []struct{ ID string }
		if _, err := call("GET", "http://"+via.http+"/v1/cluster/peers", operatorToken, nil, &list); err != nil {
			return -1
		}
		return len(list)
	}
	l := leader(t, ps)
	var f *proc
	for _, p := range ps {
		if p != l {
			f = p
			break
		}
	}
	_ = f.cmd.Process.Signal(syscall.SIGTERM)
	_ = f.cmd.Wait()
	f.cmd = nil
	if n := peers(l); n != 2 {
		t.Fatalf("after the follower left: %d peers, want 2", n)
	}
	_ = l.cmd.Process.Signal(syscall.SIGTERM)
	_ = l.cmd.Wait()
	l.cmd = nil
	last := leader(t, ps)
	if n := peers(last); n != 1 {
		t.Fatalf("after the leader left: %d peers, want 1", n)
	}
	if err := retry(t, ps, "POST", "/v1/callbacks", ts.admin, map[string]any{"queueId": ts.queue, "callbackNumbers": []string{"+15550199"}, "callbackUserName": "C"}, nil); err != nil {
		t.Fatalf("the remaining node does not serve writes: %v", err)
	}
}
