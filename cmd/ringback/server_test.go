package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/ringbackhq/ringback/cluster"
	"github.com/ringbackhq/ringback/cluster/clustertest"
)

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"1024": 1024, "512MiB": 512 << 20, "8GiB": 8 << 30, "1TiB": 1 << 40, "3KiB": 3 << 10} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-5", "8GB", "lots", "9999999999TiB"} {
		if _, err := parseBytes(in); err == nil {
			t.Errorf("parseBytes(%q) accepted", in)
		}
	}
}

func TestServerMemoryPolicy(t *testing.T) {
	auto := cluster.DefaultMemoryPolicy().Limit
	for _, c := range []struct {
		flags   serverFlags
		percent int
		limit   int64
	}{
		{serverFlags{GCPercent: 400, MemoryLimit: "auto"}, 400, auto},
		{serverFlags{GCPercent: 150, MemoryLimit: "2GiB"}, 150, 2 << 30},
		{serverFlags{GCPercent: -1, MemoryLimit: "4GiB"}, -1, 4 << 30},
		{serverFlags{GCPercent: 400, MemoryLimit: "none"}, 400, 0},
		// GOMEMLIMIT set and no --memory-limit: the runtime's stays.
		{serverFlags{GCPercent: 400, MemoryLimit: "auto", keepLimit: true}, 400, 0},
	} {
		p, err := c.flags.memoryPolicy()
		if err != nil || p.GCPercent != c.percent || p.Limit != c.limit {
			t.Errorf("%+v: %+v, %v; want percent %d, limit %d", c.flags, p, err, c.percent, c.limit)
		}
	}
	// GOGC set and no --gc-percent: the runtime's percent stays.
	prev := debug.SetGCPercent(77)
	defer debug.SetGCPercent(prev)
	if p, _ := (&serverFlags{GCPercent: 400, MemoryLimit: "auto", keepGC: true}).memoryPolicy(); p.GCPercent != 77 {
		t.Errorf("with GOGC kept: percent %d, want the runtime's 77", p.GCPercent)
	}
	for _, bad := range []struct {
		flags serverFlags
		names string
	}{
		{serverFlags{GCPercent: 400, MemoryLimit: "8 gigs"}, "--memory-limit"},
		{serverFlags{GCPercent: 0, MemoryLimit: "auto"}, "--gc-percent"},
		{serverFlags{GCPercent: -5, MemoryLimit: "auto"}, "--gc-percent"},
		// never collected at all
		{serverFlags{GCPercent: -1, MemoryLimit: "none"}, "--gc-percent -1 needs a memory limit"},
	} {
		bad.flags.LogLevel = "info"
		if err := bad.flags.validate(); err == nil || !strings.Contains(err.Error(), bad.names) {
			t.Errorf("validate %+v: %v, want an error naming %s", bad.flags, err, bad.names)
		}
	}
}

// Stopping a server ends the agents' open offer streams at once, so the
// shutdown does not wait out its grace period (10 s) for streams that
// would never end by themselves, and agents can reconnect elsewhere.
func TestServerStopEndsOfferStreams(t *testing.T) {
	t.Setenv("RINGBACK_OPERATOR_TOKEN", testOperatorToken)
	var f serverFlags
	fs := pflag.NewFlagSet("server", pflag.ContinueOnError)
	f.register(fs)
	addr := clustertest.FreeAddr(t)
	if err := fs.Parse([]string{"--data-dir", t.TempDir(), "--http-addr", addr, "--raft-addr", clustertest.FreeAddr(t), "--log-level", "error"}); err != nil {
		t.Fatal(err)
	}
	if err := f.validate(); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	served := make(chan error, 1)
	go func() { served <- runServer(ctx, f, io.Discard) }()
	for deadline := time.Now().Add(10 * time.Second); !leading(addr); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the server never became a ready leader")
		}
	}
	url := "http://" + addr
	op := &apiClient{base: url, token: testOperatorToken, http: http.DefaultClient}
	var tn struct {
		APIKey string `json:"apiKey"`
	}
	if _, err := op.send(ctx, "POST", "/v1/tenants", map[string]any{"companyName": "Acme", "adminUsername": "admin", "adminEmail": "a@acme.test", "adminFirstName": "Ada"}, &tn); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", url+"/v1/offers/stream", nil)
	req.Header.Set("Authorization", "Bearer "+tn.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	if _, err := rd.ReadString('\n'); err != nil { // the stream's first event: it is open
		t.Fatal(err)
	}

	stop()
	ended := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, rd)
		ended <- err
	}()
	// Well inside the shutdown's 10 s grace period: without Hub.Close the
	// stream stays open past it (nothing else ends it).
	select {
	case err := <-ended:
		if err != nil {
			t.Fatalf("the stream ended with %v, want a clean end", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the offer stream was still open 5 s after the server began to stop")
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("runServer = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server had not stopped 5 s after its streams ended")
	}
}
