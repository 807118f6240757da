package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/ringbackhq/ringback/cluster"
	"github.com/ringbackhq/ringback/cluster/clustertest"
	"github.com/ringbackhq/ringback/cmd/ringback/api"
)

const testOperatorToken = "rbop_cli_test_operator"

// TestMain lets a test run this test binary as the ringback command itself
// (to check real exit codes): with RINGBACK_TEST_AS_MAIN set, it is main,
// given RINGBACK_TEST_ARGS split at spaces or, without it, its own
// arguments (as a wrapper script passes them on).
func TestMain(m *testing.M) {
	if os.Getenv("RINGBACK_TEST_AS_MAIN") == "1" {
		if args, ok := os.LookupEnv("RINGBACK_TEST_ARGS"); ok {
			os.Args = append([]string{"ringback"}, strings.Fields(args)...)
		}
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startAPI starts a one-node server on 127.0.0.1 and returns its URL and
// the Prometheus registry it exposes at /metrics.
func startAPI(t *testing.T) (string, *prometheus.Registry) {
	t.Helper()
	hub := api.NewHub()
	cfg := cluster.DefaultConfig()
	cfg.DataDir, cfg.BindAddr, cfg.OnEvents = t.TempDir(), clustertest.FreeAddr(t), hub.Publish
	node, err := cluster.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); !node.IsLeader(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no leader")
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(cluster.NewCollector(node))
	srv := api.New(api.Options{Node: node, Hub: hub, OperatorToken: testOperatorToken, Registry: reg})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		_ = node.Close(false)
	})
	return hs.URL, reg
}

// cli runs one ringback command line on a fresh command tree.
type cli struct {
	t    *testing.T
	addr string
}

func (c cli) run(token string, args ...string) (stdout, stderr string, err error) {
	c.t.Helper()
	root := &cobra.Command{Use: "ringback", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(clientCommands()...)
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(append(args, "--addr", c.addr, "--token", token))
	err = root.Execute()
	return out.String(), errb.String(), err
}

func (c cli) must(token string, args ...string) string {
	c.t.Helper()
	out, _, err := c.run(token, args...)
	if err != nil {
		c.t.Fatalf("ringback %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func (c cli) json(token string, out any, args ...string) {
	c.t.Helper()
	raw := c.must(token, append(args, "--json")...)
	if err := json.Unmarshal([]byte(raw), out); err != nil {
		c.t.Fatalf("ringback %s --json: %v in %q", strings.Join(args, " "), err, raw)
	}
}

func TestCLITenantsAndCallbacks(t *testing.T) {
	url, _ := startAPI(t)
	c := cli{t: t, addr: url}
	op := testOperatorToken

	var created struct {
		ID     uint32 `json:"id"`
		APIKey string `json:"apiKey"`
	}
	create := []string{"tenant", "create", "Acme Widgets", "--admin-email", "ada@acme.test", "--admin-first-name", "Ada", "--max-agents", "7", "--idempotency-key", "acme-1"}
	c.json(op, &created, create...)
	if created.ID == 0 || !strings.HasPrefix(created.APIKey, "rbk_") {
		t.Fatalf("tenant create --json = %+v, want an id and an API key", created)
	}
	// Run again, it makes no second tenant (the list below has one).
	repeated := created
	c.json(op, &repeated, create...)
	if repeated.ID != created.ID || repeated.APIKey == created.APIKey || !strings.HasPrefix(repeated.APIKey, "rbk_") {
		t.Fatalf("tenant create again = %+v, want tenant %d with a new key", repeated, created.ID)
	}
	table := c.must(op, "tenant", "list")
	if lines := strings.Split(strings.TrimSpace(table), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "ID") ||
		!strings.Contains(lines[1], "Acme Widgets") || !strings.Contains(lines[1], "active") {
		t.Fatalf("tenant list =\n%s\nwant a header and one active Acme Widgets row", table)
	}
	var list []api.TenantView
	c.json(op, &list, "tenant", "list")
	if len(list) != 1 || list[0].ID != created.ID || list[0].Limits.MaxAgents != 7 {
		t.Fatalf("tenant list --json = %+v, want tenant %d with 7 agents", list, created.ID)
	}
	if out := c.must(op, "tenant", "disable", "1"); !strings.Contains(out, "disabled") {
		t.Fatalf("tenant disable = %q", out)
	}
	if _, _, err := c.run(created.APIKey, "domain", "list"); err == nil || !strings.Contains(err.Error(), "disabled") {
		t.Fatalf("domain list on a disabled tenant: err = %v, want a 403 saying disabled", err)
	}
	c.must(op, "tenant", "enable", "1")
	if out := c.must(op, "tenant", "update", "1", "--storage-quota", "5000000", "--feature", "transfers=false"); !strings.Contains(out, "0 of 7") ||
		!strings.Contains(out, "of 5000000 bytes") || strings.Contains(out, "transfers") {
		t.Fatalf("tenant update =\n%s\nwant 7 agents kept, a 5000000-byte quota and transfers off", out)
	}
	if _, _, err := c.run(op, "tenant", "update", "1", "--max-agents", "-3"); !errors.As(err, new(*problemError)) || !strings.Contains(err.Error(), "maxAgents") {
		t.Fatalf("tenant update with a negative limit: err = %v, want a problem naming maxAgents", err)
	}
	if out := c.must(op, "tenant", "get", "1"); !strings.Contains(out, "Acme Widgets") || !strings.Contains(out, "active") ||
		!regexp.MustCompile(`Agents: +0 of 7\n`).MatchString(out) || !regexp.MustCompile(`Domains: +1 of 50\n`).MatchString(out) || !strings.Contains(out, "waiting callbacks expire after 24h0m0s, wrap-up 0s, records kept 90 days") {
		t.Fatalf("tenant get = %q", out)
	}

	// Configuration with the tenant administrator's key.
	admin := created.APIKey
	if out := c.must(admin, "domain", "create", "Sales"); out != "Domain 2 created.\n" {
		t.Fatalf("domain create = %q", out)
	}
	c.must(admin, "domain", "rename", "2", "Sales EMEA")
	if out := c.must(admin, "domain", "list"); !strings.Contains(out, "Sales EMEA") {
		t.Fatalf("domain list =\n%s", out)
	}
	c.must(admin, "queue", "create", "callbacks", "--domain", "2", "--strategy", "round-robin")
	if out := c.must(admin, "queue", "list"); !strings.Contains(out, "round-robin") {
		t.Fatalf("queue list =\n%s", out)
	}
	c.must(admin, "user", "create", "dana", "--home", "2", "--role", "agent", "--position", "2", "--name", "Dana Agent")
	c.must(admin, "queue", "members", "1", "2:1")
	var key struct {
		APIKey string `json:"apiKey"`
	}
	c.json(admin, &key, "user", "api-key", "2")
	c.must(key.APIKey, "user", "presence", "2", "available")
	if out := c.must(admin, "user", "list"); !strings.Contains(out, "agent@2") || !strings.Contains(out, "available") {
		t.Fatalf("user list =\n%s", out)
	}
	c.must(key.APIKey, "user", "presence", "2", "offline")
	if out := c.must(admin, "queue", "update", "1", "--name", "call-backs", "--strategy", "fewest-handled", "--service-level", "20"); !strings.Contains(out, "(call-backs): fewest-handled, service level 20s") {
		t.Fatalf("queue update = %q", out)
	}
	if _, _, err := c.run(admin, "queue", "update", "1"); !errors.Is(err, errUsage) {
		t.Fatalf("queue update naming nothing: err = %v, want a usage error", err)
	}
	c.must(admin, "user", "create", "temp", "--home", "2", "--role", "monitor")
	if out := c.must(admin, "user", "delete", "3"); out != "User 3 deleted.\n" {
		t.Fatalf("user delete = %q", out)
	}
	if out := c.must(admin, "user", "list"); strings.Contains(out, "temp") {
		t.Fatalf("user list after delete =\n%s", out)
	}

	// A callback round trip.
	var cb api.CallbackView
	c.json(admin, &cb, "callback", "create", "--queue", "1", "--number", "+15550100", "--name", "Carol", "--data", "order=42", "--idempotency-key", "k1")
	if cb.ID == 0 || cb.State != "queued" {
		t.Fatalf("callback create = %+v, want a queued callback", cb)
	}
	var again api.CallbackView
	c.json(admin, &again, "callback", "create", "--queue", "1", "--number", "+15550100", "--name", "Carol", "--data", "order=42", "--idempotency-key", "k1")
	if again.ID != cb.ID {
		t.Fatalf("retried create made callback %d, want %d", again.ID, cb.ID)
	}
	if out := c.must(admin, "callback", "get", "1"); !strings.Contains(out, "queued") || !strings.Contains(out, "data.order") {
		t.Fatalf("callback get =\n%s", out)
	}
	c.must(admin, "callback", "cancel", "1")
	var got api.CallbackView
	c.json(admin, &got, "callback", "get", "1")
	if got.State != "canceled" {
		t.Fatalf("state after cancel = %s, want canceled", got.State)
	}
	if out := c.must(admin, "callback", "list", "--all"); !strings.Contains(out, "canceled") || !strings.Contains(out, "Carol") {
		t.Fatalf("callback list =\n%s", out)
	}

	// Refusals name the field.
	_, _, err := c.run(admin, "callback", "create", "--queue", "1", "--number", "call me", "--name", "Carol")
	var p *problemError
	if !errors.As(err, &p) || p.Status != 422 || !strings.Contains(err.Error(), "numbers[0]") {
		t.Fatalf("bad number: err = %v, want a 422 problem naming numbers[0]", err)
	}
	if _, _, err := c.run(admin, "callback", "get", "999"); !errors.As(err, &p) || p.Status != 404 {
		t.Fatalf("missing callback: err = %v, want 404", err)
	}
	// The queue's only callback is canceled: it can go.
	if out := c.must(admin, "queue", "delete", "1"); out != "Queue 1 deleted.\n" {
		t.Fatalf("queue delete = %q", out)
	}
	if _, _, err := c.run(admin, "callback", "create", "--queue", "1", "--number", "+15550101", "--name", "Carol"); !errors.As(err, &p) || p.Status != 404 {
		t.Fatalf("a callback for the deleted queue: err = %v, want 404", err)
	}
	if _, _, err := c.run(op, "tenant", "delete", "1"); !errors.Is(err, errUsage) {
		t.Fatalf("tenant delete without --yes: err = %v, want a usage error", err)
	}

	// Operator commands.
	if out := c.must(op, "operator", "raft", "list-peers"); !strings.Contains(out, "leader") {
		t.Fatalf("list-peers =\n%s", out)
	}
	if _, _, err := c.run(admin, "operator", "raft", "list-peers"); !errors.As(err, &p) || p.Status != 401 {
		t.Fatalf("list-peers with a tenant key: err = %v, want 401", err)
	}
	c.must(op, "tenant", "delete", "1", "--yes")
}

// The real binary exits 1 and prints the problem, field by field, to
// stderr; RINGBACK_ADDR and RINGBACK_TOKEN stand in for the flags.
func TestCLIExitCode(t *testing.T) {
	url, _ := startAPI(t)
	run := func(args string) (int, string, string) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "RINGBACK_TEST_AS_MAIN=1", "RINGBACK_TEST_ARGS="+args,
			"RINGBACK_ADDR="+url, "RINGBACK_TOKEN="+testOperatorToken)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), out.String(), errb.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, out.String(), errb.String()
	}
	if code, out, errs := run("tenant create Globex --admin-email not-an-email --admin-first-name Hank"); code != 1 ||
		!strings.Contains(errs, "Unprocessable Entity") || !strings.Contains(errs, "body.adminEmail:") || out != "" {
		t.Fatalf("bad email: exit %d, stdout %q, stderr %q; want 1 and the field on stderr", code, out, errs)
	}
	if code, out, errs := run("tenant create Globex --admin-email hank@globex.test --admin-first-name Hank"); code != 0 || !strings.Contains(out, "Globex") {
		t.Fatalf("create: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if code, _, errs := run("tenant get 77"); code != 1 || !strings.Contains(errs, "Not Found (HTTP 404)") || !strings.Contains(errs, "path.tenantId: no such object") {
		t.Fatalf("missing tenant: exit %d, stderr %q", code, errs)
	}
}
