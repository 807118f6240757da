package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/ringbackhq/ringback/cluster"
	"github.com/ringbackhq/ringback/cluster/clustertest"
	"github.com/ringbackhq/ringback/cmd/ringback/api"
)

const liveToken = "rbop_sim_live_test"

// startLiveServer runs a one-node cluster and the HTTP API in-process on
// 127.0.0.1, as `ringback server` does.
func startLiveServer(t *testing.T) string {
	t.Helper()
	addr := clustertest.FreeAddr(t)
	hub := api.NewHub()
	cfg := cluster.DefaultConfig()
	cfg.DataDir, cfg.BindAddr, cfg.OnEvents = t.TempDir(), addr, hub.Publish
	node, err := cluster.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); !node.IsLeader(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no leader after 5s")
		}
	}
	srv := api.New(api.Options{Node: node, Hub: hub, OperatorToken: liveToken, Registry: prometheus.NewRegistry()}) // the default 15 s heartbeat, as the server runs
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		_ = node.Close(false)
	})
	return hs.URL
}

// liveScenario: Sales and Support under Home; a queue served by four
// shorthand agents, and a queue in Home asked for from Sales (customers who
// sometimes do not answer) and from Support, served by agents with
// positions in both who sometimes reject and switch position
// automatically; 20 simulated minutes.
const liveScenario = `seed: 3
duration: 20m
policy: {wrapUp: 5s, closeCommentRequired: true, autoSwitchPosition: true}
domains: [{name: Sales}, {name: Support}]
queues:
  - name: general
    agents: 4
    handleTime: {distribution: exponential, mean: 30s}
    arrivals: {perHour: 240}
  - name: sales
    handleTime: 20s
    arrivals: [{perHour: 120, domain: Sales, noAnswer: 0.2, noAnswerTime: 10s}, {perHour: 60, domain: Support}]
agents:
  - name: seller
    count: 3
    home: Sales
    positions: [Sales, Support]
    queues: [sales]
    reject: 0.1
    acceptTime: 2s
`

func TestRunLive(t *testing.T) {
	if testing.Short() {
		t.Skip("plays 6 s against a real server")
	}
	url := startLiveServer(t)
	s, err := Parse([]byte(liveScenario))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := RunLive(context.Background(), s, LiveOptions{Target: url, Token: liveToken, Speed: 200})
	if err != nil {
		t.Fatalf("RunLive: %v", err)
	}
	var out bytes.Buffer
	if err := rep.WriteTable(&out); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", out.String())
	if rep.StoppedBy != "end of scenario" || rep.Agents != 7 || rep.Tenants != 1 {
		t.Errorf("stopped by %q with %d agents in %d tenants, want end of scenario, 7, 1", rep.StoppedBy, rep.Agents, rep.Tenants)
	}
	// 420 arrivals per hour for 20 minutes: about 140.
	if rep.Created < 80 || rep.Created > 220 {
		t.Errorf("created %d callbacks, want about 140", rep.Created)
	}
	if rep.Offers < rep.Created*8/10 || rep.Accepted < rep.Created*7/10 || rep.Completed < rep.Created/2 {
		t.Errorf("offers %d, accepted %d, completed %d of %d created: the agents are not working", rep.Offers, rep.Accepted, rep.Completed, rep.Created)
	}
	if rep.FailedAttempts == 0 {
		t.Errorf("no failed attempts, want some (noAnswer 0.2)")
	}
	for _, e := range rep.Errors {
		if e.Status != 409 {
			t.Errorf("refused: %+v, want only stale 409s", e)
		}
	}
	got := map[string]LiveLatency{}
	for _, l := range rep.Latencies {
		got[l.Name] = l
	}
	for _, name := range []string{LatCreate, LatCreateOffered, LatCreateFirstSeen, LatAccept, LatComplete} {
		l, ok := got[name]
		if !ok || l.Count == 0 || !(l.P50Ms > 0 && l.P50Ms <= l.P90Ms && l.P90Ms <= l.P99Ms && l.P99Ms <= l.MaxMs) {
			t.Errorf("latency %q = %+v, want ordered positive percentiles", name, l)
		}
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back LiveReport
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Created != rep.Created {
		t.Errorf("JSON round trip: %v, created %d, want %d", err, back.Created, rep.Created)
	}
}

func TestRunLiveBounds(t *testing.T) {
	if testing.Short() {
		t.Skip("runs against a real server")
	}
	url := startLiveServer(t)
	s, err := Parse([]byte(liveScenario))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := RunLive(context.Background(), s, LiveOptions{Target: url, Token: liveToken, Speed: 200, MaxRequests: 40})
	if err != nil {
		t.Fatal(err)
	}
	if rep.StoppedBy != "max requests" || rep.Requests > 40 {
		t.Errorf("MaxRequests 40: stopped by %q after %d requests, want max requests, at most 40", rep.StoppedBy, rep.Requests)
	}
	s, _ = Parse([]byte(liveScenario))
	start := time.Now()
	rep, err = RunLive(context.Background(), s, LiveOptions{Target: url, Token: liveToken, Speed: 10, MaxDuration: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.StoppedBy != "max duration" || time.Since(start) > 10*time.Second {
		t.Errorf("MaxDuration 500ms: stopped by %q after %s, want max duration, soon", rep.StoppedBy, time.Since(start))
	}
	_, err = RunLive(context.Background(), s, LiveOptions{Target: url, Token: "wrong"})
	if !errors.Is(err, ErrLive) || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong operator token: %v, want ErrLive naming 401", err)
	}
}

func TestCheckTarget(t *testing.T) {
	for _, tt := range []struct {
		target string
		ok     bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://localhost:8080/", true},
		{"https://[::1]:8443", true},
		{"http://LOCALHOST", true},
		{"http://10.0.0.1:8080", false},
		{"http://127.0.0.2:8080", false},
		{"http://example.com", false},
		{"http://localhost.example.com", false},
		{"http://user:pw@127.0.0.1", false},
		{"ftp://127.0.0.1", false},
		{"127.0.0.1:8080", false},
		{"", false},
	} {
		_, err := CheckTarget(tt.target)
		if (err == nil) != tt.ok || err != nil && !errors.Is(err, ErrTarget) {
			t.Errorf("CheckTarget(%q) = %v, want ok=%v (else ErrTarget)", tt.target, err, tt.ok)
		}
	}
	s, _ := Parse([]byte(liveScenario))
	if _, err := RunLive(context.Background(), s, LiveOptions{Target: "http://192.0.2.1", Token: "x"}); !errors.Is(err, ErrTarget) {
		t.Errorf("RunLive to 192.0.2.1: %v, want ErrTarget", err)
	}
}
