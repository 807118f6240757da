package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/ringbackhq/ringback/actors"
	"github.com/ringbackhq/ringback/cluster"
	"github.com/ringbackhq/ringback/cluster/clustertest"
)

const opToken = "rbop_test_operator_token"

type testServer struct {
	t    testing.TB
	url  string
	node *cluster.Node
	srv  *Server
	reg  *prometheus.Registry
}

func startServer(t testing.TB) *testServer {
	t.Helper()
	hub := NewHub()
	cfg := cluster.DefaultConfig()
	cfg.DataDir, cfg.BindAddr, cfg.OnEvents = t.TempDir(), clustertest.FreeAddr(t), hub.Publish
	node, err := cluster.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !node.IsLeader() {
		if time.Now().After(deadline) {
			t.Fatal("no leader")
		}
		time.Sleep(5 * time.Millisecond)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(cluster.NewCollector(node))
	srv := New(Options{Node: node, Hub: hub, OperatorToken: opToken, Registry: reg, Heartbeat: 50 * time.Millisecond})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		_ = node.Close(false)
	})
	return &testServer{t: t, url: hs.URL, node: node, srv: srv, reg: reg}
}

// do sends a request and decodes a JSON answer into out (when not nil).
// It returns the status and the raw body.
func (s *testServer) do(method, path, token string, body any, out any, headers ...string) (int, []byte) {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		if raw, ok := body.(string); ok {
			r = strings.NewReader(raw)
		} else {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
	}
	req, _ := http.NewRequest(method, s.url+path, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, raw
}

func (s *testServer) must(method, path, token string, body any, out any, want int) []byte {
	s.t.Helper()
	code, raw := s.do(method, path, token, body, out)
	if code != want {
		s.t.Fatalf("%s %s = %d %s, want %d", method, path, code, raw, want)
	}
	return raw
}

type createdObj struct {
	ID     uint64 `json:"id"`
	APIKey string `json:"apiKey"`
}

// tenantFixture builds a tenant with two domains, a queue in Home serving
// both, an agent in Sales and a channel application in Sales.
type tenantFixture struct {
	id                  uint64
	admin, agent, app   string
	sales, support      uint64
	queue, agentID, dsp uint64
}

func (s *testServer) tenant(name string) tenantFixture {
	s.t.Helper()
	var f tenantFixture
	var tn createdObj
	s.must("POST", "/v1/tenants", opToken, map[string]any{"companyName": name, "adminUsername": "admin", "adminEmail": "admin@" + name + ".test",
		"adminFirstName": "Ada", "policy": map[string]any{"closeCommentRequired": true}}, &tn, 201)
	f.id, f.admin = tn.ID, tn.APIKey
	var d createdObj
	s.must("POST", "/v1/domains", f.admin, map[string]any{"name": "Sales", "parentId": 1}, &d, 201)
	f.sales = d.ID
	s.must("POST", "/v1/domains", f.admin, map[string]any{"name": "Support", "parentId": 1}, &d, 201)
	f.support = d.ID
	var q createdObj
	s.must("POST", "/v1/queues", f.admin, map[string]any{"name": "callbacks", "domainId": 1}, &q, 201)
	f.queue = q.ID
	var u createdObj
	s.must("POST", "/v1/users", f.admin, map[string]any{"username": "dana", "name": "Dana Agent", "homeDomainId": f.sales,
		"roles": []any{map[string]any{"role": "agent", "domainIds": []uint64{f.sales}}}, "positions": []any{map[string]any{"domainId": f.sales}}}, &u, 201)
	f.agentID = u.ID
	var k createdObj
	s.must("POST", fmt.Sprintf("/v1/users/%d/api-keys", u.ID), f.admin, nil, &k, 201)
	f.agent = k.APIKey
	s.must("PUT", fmt.Sprintf("/v1/queues/%d/members", f.queue), f.admin, []any{map[string]any{"userId": u.ID, "tier": 1}}, nil, 204)
	var ch createdObj
	s.must("POST", "/v1/channels", f.admin, map[string]any{"name": "web", "domainId": f.sales}, &ch, 201)
	f.app = ch.APIKey
	var code createdObj
	s.must("POST", "/v1/wrapup-codes", f.admin, map[string]any{"name": "resolved"}, &code, 201)
	f.dsp = code.ID
	return f
}

// readOffer reads server-sent events until an offer arrives.
func readOffer(t *testing.T, body io.Reader) OfferEvent {
	t.Helper()
	sc := bufio.NewScanner(body)
	for sc.Scan() {
		line := sc.Text()
		if data, ok := strings.CutPrefix(line, "data: "); ok && strings.Contains(data, "callbackId") {
			var e OfferEvent
			if err := json.Unmarshal([]byte(data), &e); err != nil {
				t.Fatal(err)
			}
			return e
		}
	}
	t.Fatal("stream ended without an offer")
	return OfferEvent{}
}

// openStream opens token's offer stream; it closes with the test.
func (s *testServer) openStream(token string) io.Reader {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.url+"/v1/offers/stream", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		s.t.Fatalf("stream: %v %v", resp, err)
	}
	s.t.Cleanup(func() { resp.Body.Close() })
	return resp.Body
}

// TestOffersReachOnlyTheirAgent: an offer goes to its agent's stream and
// no other, even another tenant's available agent in the same place; no
// one else can see it, accept it or reject it, and their attempts answer
// exactly as for an offer that does not exist.
func TestOffersReachOnlyTheirAgent(t *testing.T) {
	s := startServer(t)
	acme, globex := s.tenant("acme"), s.tenant("globex")
	dana, other := s.openStream(acme.agent), s.openStream(globex.agent)
	for _, f := range []tenantFixture{acme, globex} {
		s.must("PUT", fmt.Sprintf("/v1/users/%d/presence", f.agentID), f.agent, map[string]any{"state": "available"}, nil, 204)
	}
	var cb CallbackView
	s.must("POST", "/v1/callbacks", acme.app, map[string]any{"queueId": acme.queue, "callbackNumbers": []string{"+15550100"}, "callbackUserName": "Carol"}, &cb, 201)
	offer := readOffer(t, dana)
	if offer.CallbackID != cb.ID {
		t.Fatalf("dana was offered callback %d, want %d", offer.CallbackID, cb.ID)
	}

	// Globex's agent hears only heartbeats (three, 50 ms apart).
	sc := bufio.NewScanner(other)
	for beats := 0; beats < 3 && sc.Scan(); {
		if strings.Contains(sc.Text(), "callbackId") {
			t.Fatalf("globex's agent was sent %s", sc.Text())
		}
		if strings.HasPrefix(sc.Text(), "event: heartbeat") {
			beats++
		}
	}
	for _, token := range []string{acme.admin, globex.agent, globex.admin} {
		var pending []OfferEvent
		s.must("GET", "/v1/offers", token, nil, &pending, 200)
		if len(pending) != 0 {
			t.Fatalf("another caller's pending offers = %+v, want none", pending)
		}
		for _, action := range []string{"accept", "reject"} {
			code, raw := s.do("POST", fmt.Sprintf("/v1/offers/%d/%s", offer.OfferID, action), token, nil, nil)
			ghostCode, ghost := s.do("POST", fmt.Sprintf("/v1/offers/%d/%s", offer.OfferID+1000, action), token, nil, nil)
			if code != http.StatusConflict || code != ghostCode || stripSchema(raw) != stripSchema(ghost) {
				t.Fatalf("another caller's %s of dana's offer = %d %s, want what a nonexistent offer answers: %d %s", action, code, raw, ghostCode, ghost)
			}
		}
	}
	s.must("POST", fmt.Sprintf("/v1/offers/%d/accept", offer.OfferID), acme.agent, nil, nil, 204)
}

func TestFullFlow(t *testing.T) {
	s := startServer(t)
	f := s.tenant("acme")

	// The agent opens the offer stream, then becomes available.
	req, _ := http.NewRequest("GET", s.url+"/v1/offers/stream", nil)
	req.Header.Set("Authorization", "Bearer "+f.agent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %v %v", resp, err)
	}
	defer resp.Body.Close()
	s.must("PUT", fmt.Sprintf("/v1/users/%d/presence", f.agentID), f.agent, map[string]any{"state": "available"}, nil, 204)

	// The web channel of Sales asks for a callback: it belongs to Sales.
	var cb CallbackView
	s.must("POST", "/v1/callbacks", f.app, map[string]any{"queueId": f.queue, "callbackNumbers": []string{"+15550100"}, "callbackUserName": "Carol"}, &cb, 201)
	if len(cb.DomainIDs) != 1 || uint64(cb.DomainIDs[0]) != f.sales {
		t.Fatalf("callback domains = %v, want [%d]", cb.DomainIDs, f.sales)
	}
	offer := readOffer(t, resp.Body)
	if offer.CallbackID != cb.ID {
		t.Fatalf("offer for callback %d, want %d", offer.CallbackID, cb.ID)
	}
	var pending []OfferEvent
	s.must("GET", "/v1/offers", f.agent, nil, &pending, 200)
	if len(pending) != 1 || pending[0].OfferID != offer.OfferID {
		t.Fatalf("GET /v1/offers = %v, want the streamed offer", pending)
	}
	s.must("POST", fmt.Sprintf("/v1/offers/%d/accept", offer.OfferID), f.agent, nil, nil, 204)
	// Closing without the comment the tenant requires: 422 naming the field.
	code, raw := s.do("POST", fmt.Sprintf("/v1/callbacks/%d/complete", cb.ID), f.agent, map[string]any{"disposition": f.dsp}, nil)
	if code != 422 || !strings.Contains(string(raw), "comment") {
		t.Fatalf("complete without comment = %d %s, want 422 naming comment", code, raw)
	}
	s.must("POST", fmt.Sprintf("/v1/callbacks/%d/complete", cb.ID), f.agent, map[string]any{"disposition": f.dsp, "comment": "done"}, nil, 204)
	var got CallbackView
	s.must("GET", fmt.Sprintf("/v1/callbacks/%d", cb.ID), f.admin, nil, &got, 200)
	if got.State != "completed" {
		t.Fatalf("state = %s, want completed", got.State)
	}

	// Disable: the tenant's keys are refused, data kept; enable again.
	s.must("PATCH", fmt.Sprintf("/v1/tenants/%d", f.id), opToken, map[string]any{"status": "disabled"}, nil, 200)
	code, raw = s.do("GET", "/v1/callbacks", f.admin, nil, nil)
	if code != 403 || !strings.Contains(string(raw), "disabled") {
		t.Fatalf("disabled tenant = %d %s, want 403 saying disabled", code, raw)
	}
	s.must("PATCH", fmt.Sprintf("/v1/tenants/%d", f.id), opToken, map[string]any{"status": "active"}, nil, 200)
	s.must("GET", fmt.Sprintf("/v1/callbacks/%d", cb.ID), f.admin, nil, &got, 200)

	// The operator never reads tenant data; tenants never manage tenants.
	if code, _ := s.do("GET", "/v1/callbacks", opToken, nil, nil); code != 403 {
		t.Fatalf("operator reading callbacks = %d, want 403", code)
	}
	if code, _ := s.do("GET", "/v1/tenants", f.admin, nil, nil); code != 401 {
		t.Fatalf("tenant listing tenants = %d, want 401", code)
	}

	// Delete: the keys stop working and the data is gone.
	s.must("DELETE", fmt.Sprintf("/v1/tenants/%d", f.id), opToken, nil, nil, 204)
	if code, _ := s.do("GET", "/v1/callbacks", f.admin, nil, nil); code != 401 {
		t.Fatalf("deleted tenant's key = %d, want 401", code)
	}
}

// Another tenant's objects answer exactly like objects that do not exist.
func TestForeignObjectsAreNotFound(t *testing.T) {
	s := startServer(t)
	a, b := s.tenant("acme"), s.tenant("globex")
	var cb CallbackView
	s.must("POST", "/v1/callbacks", a.admin, map[string]any{"queueId": a.queue, "callbackNumbers": []string{"+15550100"}, "callbackUserName": "Carol"}, &cb, 201)
	codeForeign, foreign := s.do("GET", fmt.Sprintf("/v1/callbacks/%d", cb.ID), b.admin, nil, nil)
	codeMissing, missing := s.do("GET", "/v1/callbacks/999999", b.admin, nil, nil)
	if codeForeign != 404 || codeMissing != 404 || string(foreign) != string(missing) {
		t.Fatalf("foreign = %d %s; missing = %d %s; want identical 404s", codeForeign, foreign, codeMissing, missing)
	}
	var list struct {
		Entities []CallbackView `json:"entities"`
	}
	s.must("GET", "/v1/callbacks", b.admin, nil, &list, 200)
	if len(list.Entities) != 0 {
		t.Fatalf("globex lists %d callbacks, want 0", len(list.Entities))
	}
	// The Sales agent does not see a Support callback either.
	s.must("POST", "/v1/callbacks", a.admin, map[string]any{"queueId": a.queue, "domainId": a.support, "callbackNumbers": []string{"+15550101"}, "callbackUserName": "Sam"}, &cb, 201)
	if code, _ := s.do("GET", fmt.Sprintf("/v1/callbacks/%d", cb.ID), a.agent, nil, nil); code != 404 {
		t.Fatalf("Sales agent reading a Support callback = %d, want 404", code)
	}
}

func TestIdempotencyKey(t *testing.T) {
	s := startServer(t)
	f := s.tenant("acme")
	body := map[string]any{"queueId": f.queue, "callbackNumbers": []string{"+15550100"}, "callbackUserName": "Carol"}
	var first, again CallbackView
	code, raw := s.do("POST", "/v1/callbacks", f.app, body, &first, "Idempotency-Key", "k-1")
	if code != 201 {
		t.Fatalf("create = %d %s", code, raw)
	}
	code, _ = s.do("POST", "/v1/callbacks", f.app, body, &again, "Idempotency-Key", "k-1")
	if code != 201 || again.ID != first.ID {
		t.Fatalf("retry = %d id %d, want 201 id %d", code, again.ID, first.ID)
	}
	body["callbackUserName"] = "Someone Else"
	if code, raw := s.do("POST", "/v1/callbacks", f.app, body, nil, "Idempotency-Key", "k-1"); code != 422 {
		t.Fatalf("same key, other body = %d %s, want 422", code, raw)
	}
}

// TestTenantCreateIdempotencyKey: an operator's retried tenant create
// makes no second tenant. It answers the first tenant with a new
// administrator key, and the first answer's key keeps working; the same
// key with another body is refused naming the header.
func TestTenantCreateIdempotencyKey(t *testing.T) {
	s := startServer(t)
	body := map[string]any{"companyName": "Acme", "adminUsername": "ada", "adminEmail": "ada@acme.test", "adminFirstName": "Ada"}
	var first, again createdObj
	if code, raw := s.do("POST", "/v1/tenants", opToken, body, &first, "Idempotency-Key", "provision-acme"); code != 201 {
		t.Fatalf("create = %d %s", code, raw)
	}
	if code, raw := s.do("POST", "/v1/tenants", opToken, body, &again, "Idempotency-Key", "provision-acme"); code != 201 || again.ID != first.ID {
		t.Fatalf("retry = %d %s, want 201 with tenant %d", code, raw, first.ID)
	}
	if again.APIKey == first.APIKey {
		t.Fatal("the retry showed the first answer's key again")
	}
	for _, key := range []string{first.APIKey, again.APIKey} {
		var home DomainView
		s.must("GET", "/v1/domains/home", key, nil, &home, 200)
	}
	tenants := func() int {
		var list []TenantView
		s.must("GET", "/v1/tenants", opToken, nil, &list, 200)
		return len(list)
	}
	if n := tenants(); n != 1 {
		t.Fatalf("%d tenants after a retried create, want 1", n)
	}
	body["companyName"] = "Acme Two"
	if code, raw := s.do("POST", "/v1/tenants", opToken, body, nil, "Idempotency-Key", "provision-acme"); code != 422 || !strings.Contains(string(raw), "Idempotency-Key") {
		t.Fatalf("same key, other body = %d %s, want 422 naming Idempotency-Key", code, raw)
	}
	// Keys are the operator's: another key creates another tenant.
	s.must("POST", "/v1/tenants", opToken, body, nil, 201)
	if n := tenants(); n != 2 {
		t.Fatalf("%d tenants, want 2", n)
	}
}

// TestTenantUsage: the operator sees how much of its limits each tenant
// uses, in the tenant's view and in the list, and it follows the tenant's
// own changes; the tenant's people see it in GET /v1/organization.
func TestTenantUsage(t *testing.T) {
	s := startServer(t)
	acme, globex := s.tenant("acme"), s.tenant("globex")
	usage := func(id uint64) UsageView {
		var v TenantView
		s.must("GET", fmt.Sprintf("/v1/tenants/%d", id), opToken, nil, &v, 200)
		return v.Usage
	}
	// The fixture: Home, Sales and Support; one agent (the administrator
	// is not one); no callback yet.
	if u := usage(acme.id); u != (UsageView{Agents: 1, Domains: 3}) {
		t.Fatalf("acme's usage = %+v, want 1 agent, 3 domains, no storage", u)
	}
	s.must("POST", "/v1/callbacks", acme.app, map[string]any{"queueId": acme.queue, "callbackNumbers": []string{"+15550100"}, "callbackUserName": "Carol"}, nil, 201)
	s.must("POST", "/v1/users", acme.admin, map[string]any{"username": "eve", "name": "Eve Agent", "homeDomainId": 1,
		"roles": []any{map[string]any{"role": "agent", "allDomains": true}}}, nil, 201)
	s.must("POST", "/v1/domains", acme.admin, map[string]any{"name": "Billing", "parentId": 1}, nil, 201)
	u := usage(acme.id)
	if u.Agents != 2 || u.Domains != 4 || u.StorageBytes <= 0 {
		t.Fatalf("acme's usage after an agent, a domain and a callback = %+v, want 2 agents, 4 domains, some storage", u)
	}
	var list []TenantView
	s.must("GET", "/v1/tenants", opToken, nil, &list, 200)
	if len(list) != 2 || list[0].Usage != u || list[1].ID != uint32(globex.id) || list[1].Usage != (UsageView{Agents: 1, Domains: 3}) {
		t.Fatalf("tenant list = %+v, want acme with %+v and globex untouched", list, u)
	}
	// The operator sets how long finished callbacks are kept.
	var v TenantView
	s.must("PATCH", fmt.Sprintf("/v1/tenants/%d", globex.id), opToken, map[string]any{"policy": map[string]any{"recordRetentionDays": 30}}, &v, 200)
	if v.Policy.RecordRetentionDays != 30 {
		t.Fatalf("retention after PATCH = %d days, want 30", v.Policy.RecordRetentionDays)
	}
	if code, raw := s.do("PATCH", fmt.Sprintf("/v1/tenants/%d", globex.id), opToken, map[string]any{"policy": map[string]any{"recordRetentionDays": 9999}}, nil); code != 422 || !strings.Contains(string(raw), "recordRetentionDays") {
		t.Fatalf("a retention of 9999 days = %d %s, want 422 naming recordRetentionDays", code, raw)
	}
	// The tenant's own people see the same account of their tenant, and
	// the rules they work by, but not the operator's contact for it.
	for _, token := range []string{acme.admin, acme.agent, acme.app} {
		var org OrganizationView
		raw := s.must("GET", "/v1/organization", token, nil, &org, 200)
		if org.ID != uint32(acme.id) || org.Usage != u || org.Limits != list[0].Limits || !org.Policy.CloseCommentRequired || org.Policy.RecordRetentionDays != 90 {
			t.Fatalf("organization = %+v, want acme with usage %+v and limits %+v, closing needing a comment, records kept 90 days", org, u, list[0].Limits)
		}
		if strings.Contains(string(raw), "admin@acme.test") {
			t.Fatalf("organization shows the administrator's contact: %s", raw)
		}
	}
}

// TestTokensStayOnTheirSide walks every operation the API describes: the
// operator token is refused by every tenant operation (it never reads
// tenant data) and a tenant administrator's key by every operator one
// (/v1/tenants and /v1/cluster), before anything is read or changed. A new
// endpoint registered on the wrong side fails here.
func TestTokensStayOnTheirSide(t *testing.T) {
	s := startServer(t)
	f := s.tenant("acme")
	_, before, err := s.node.State()
	if err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\{[A-Za-z]+\}`)
	paths := s.srv.api.OpenAPI().Paths
	checked := 0
	for _, path := range slices.Sorted(maps.Keys(paths)) {
		item := paths[path]
		for _, o := range []*huma.Operation{item.Get, item.Put, item.Post, item.Patch, item.Delete} {
			if o == nil || len(o.Security) == 0 {
				continue // public: health, the description
			}
			token, want := opToken, http.StatusForbidden
			if strings.HasPrefix(path, "/v1/tenants") || strings.HasPrefix(path, "/v1/cluster/") {
				token, want = f.admin, http.StatusUnauthorized
			}
			var body any
			if o.Method != http.MethodGet && o.Method != http.MethodDelete {
				body = "{}"
			}
			if code, raw := s.do(o.Method, param.ReplaceAllString(path, "1"), token, body, nil); code != want {
				t.Errorf("%s %s with the %s = %d %s, want %d", o.Method, path, map[bool]string{true: "tenant's key", false: "operator token"}[token == f.admin], code, raw, want)
			}
			checked++
		}
	}
	if checked < 60 {
		t.Fatalf("checked %d operations; the description lists more", checked)
	}
	if _, after, err := s.node.State(); err != nil || after != before {
		t.Fatalf("refused requests changed the state (err %v)", err)
	}
}

// TestDeleteQueue: a queue with a waiting callback is refused (409 naming
// the queue, nothing changed); once the callback is canceled the queue
// goes, its finished callback still reads, and nothing new can name it.
func TestDeleteQueue(t *testing.T) {
	s := startServer(t)
	f := s.tenant("acme")
	var cb CallbackView
	s.must("POST", "/v1/callbacks", f.app, map[string]any{"queueId": f.queue, "callbackNumbers": []string{"+15550100"}, "callbackUserName": "Carol"}, &cb, 201)
	path := fmt.Sprintf("/v1/queues/%d", f.queue)
	_, before, _ := s.node.State()
	if code, raw := s.do("DELETE", path, f.admin, nil, nil); code != 409 || !strings.Contains(string(raw), "queueId") || !strings.Contains(string(raw), "1 active") {
		t.Fatalf("deleting a queue with a waiting callback = %d %s, want 409 naming queueId", code, raw)
	}
	if _, after, _ := s.node.State(); after != before {
		t.Fatal("the refused delete changed the state")
	}
	s.must("POST", fmt.Sprintf("/v1/callbacks/%d/cancel", cb.ID), f.admin, nil, nil, 204)
	s.must("DELETE", path, f.admin, nil, nil, 204)
	s.must("GET", path, f.admin, nil, nil, 404)
	var got CallbackView
	s.must("GET", fmt.Sprintf("/v1/callbacks/%d", cb.ID), f.admin, nil, &got, 200)
	if got.State != "canceled" || uint64(got.QueueID) != f.queue {
		t.Fatalf("the deleted queue's callback reads %+v, want canceled in queue %d", got, f.queue)
	}
	s.must("POST", "/v1/callbacks", f.app, map[string]any{"queueId": f.queue, "callbackNumbers": []string{"+15550101"}, "callbackUserName": "Dan"}, nil, 404)
	s.must("PUT", path+"/members", f.admin, []any{map[string]any{"userId": f.agentID, "tier": 1}}, nil, 404)
}

// TestDeleteChannel: a deleted channel application's key stops working at
// once (the key cache follows), and the callbacks it asked for stay.
func TestDeleteChannel(t *testing.T) {
	s := startServer(t)
	f := s.tenant("acme")
	var cb CallbackView
	s.must("POST", "/v1/callbacks", f.app, map[string]any{"queueId": f.queue, "callbackNumbers": []string{"+15550100"}, "callbackUserName": "Carol"}, &cb, 201)
	var chans []ChannelView
	s.must("GET", "/v1/channels", f.admin, nil, &chans, 200)
	if len(chans) != 1 {
		t.Fatalf("channels = %+v, want the fixture's one", chans)
	}
	s.must("DELETE", fmt.Sprintf("/v1/channels/%d", chans[0].ID), f.admin, nil, nil, 204)
	s.must("GET", "/v1/organization", f.app, nil, nil, 401)
	s.must("POST", "/v1/callbacks", f.app, map[string]any{"queueId": f.queue, "callbackNumbers": []string{"+15550101"}, "callbackUserName": "Dan"}, nil, 401)
	s.must("GET", fmt.Sprintf("/v1/callbacks/%d", cb.ID), f.admin, nil, nil, 200)
	s.must("GET", "/v1/channels", f.admin, nil, &chans, 200)
	if len(chans) != 0 {
		t.Fatalf("channels after the delete = %+v, want none", chans)
	}
}

// Bad input names the field and changes nothing.
// TestLargestMembersList sends the largest members list the schema allows
// (10,000 members, the longest identifiers, indented): it must be judged
// on its members, not refused for its size, and a list one longer is
// refused naming the list.
func TestLargestMembersList(t *testing.T) {
	s := startServer(t)
	f := s.tenant("acme")
	members := make([]map[string]any, 10000)
	for i := range members {
		members[i] = map[string]any{"userId": uint32(math.MaxUint32), "tier": 10}
	}
	raw, _ := json.MarshalIndent(members, "", "  ")
	path := fmt.Sprintf("/v1/queues/%d/members", f.queue)
	code, answer := s.do("PUT", path, f.admin, string(raw), nil)
	if code == http.StatusRequestEntityTooLarge || !strings.Contains(string(answer), "userId") {
		t.Fatalf("PUT %d members (%d bytes) = %d %s, want a problem naming the unknown userId", len(members), len(raw), code, answer)
	}
	members = append(members, members[0])
	raw, _ = json.Marshal(members)
	if code, answer := s.do("PUT", path, f.admin, string(raw), nil); code != http.StatusUnprocessableEntity || !strings.Contains(string(answer), "body") {
		t.Fatalf("PUT %d members = %d %s, want 422 naming the body", len(members), code, answer)
	}
}

func TestBadInput(t *testing.T) {
	s := startServer(t)
	f := s.tenant("acme")
	cases := []struct {
		name, path, body, field string
	}{
		{"malformed JSON", "/v1/callbacks", `{"queueId":`, ""},
		{"unknown field", "/v1/callbacks", `{"queueId":1,"callbackNumbers":["+15550100"],"callbackUserName":"C","bogus":1}`, "bogus"},
		{"wrong type", "/v1/callbacks", `{"queueId":"one","callbackNumbers":["+15550100"],"callbackUserName":"C"}`, "queueId"},
		{"bad phone number", "/v1/callbacks", `{"queueId":1,"callbackNumbers":["call me"],"callbackUserName":"C"}`, "numbers[0]"},
		{"time in the past", "/v1/callbacks", `{"queueId":1,"callbackNumbers":["+15550100"],"callbackUserName":"C","callbackScheduledTime":"2001-01-01T00:00:00Z"}`, "callbackScheduledTime"},
		{"unknown queue", "/v1/callbacks", `{"queueId":77,"callbackNumbers":["+15550100"],"callbackUserName":"C"}`, "queueId"},
		{"name too long", "/v1/domains", `{"name":"` + strings.Repeat("x", 501) + `","parentId":1}`, "name"},
		{"oversized body", "/v1/domains", `{"name":"` + strings.Repeat("x", 70000) + `","parentId":1}`, ""},
	}
	var before []CallbackView
	s.must("GET", "/v1/callbacks", f.admin, nil, &struct {
		Entities *[]CallbackView `json:"entities"`
	}{&before}, 200)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, raw := s.do("POST", c.path, f.admin, c.body, nil)
			if code < 400 || code >= 500 || !strings.Contains(string(raw), c.field) {
				t.Fatalf("POST %s %s = %d %s, want a 4xx problem naming %q", c.path, c.name, code, raw, c.field)
			}
		})
	}
	var after []CallbackView
	s.must("GET", "/v1/callbacks", f.admin, nil, &struct {
		Entities *[]CallbackView `json:"entities"`
	}{&after}, 200)
	if len(after) != len(before) {
		t.Fatalf("bad input changed the callbacks: %d before, %d after", len(before), len(after))
	}
}

func TestMetricsLint(t *testing.T) {
	s := startServer(t)
	f := s.tenant("acme")
	s.must("POST", "/v1/callbacks", f.admin, map[string]any{"queueId": f.queue, "callbackNumbers": []string{"+15550100"}, "callbackUserName": "Carol"}, nil, 201)
	s.must("POST", "/v1/callbacks", f.admin, map[string]any{"queueId": f.queue, "callbackNumbers": []string{"+15550100"}, "callbackUserName": "Carol"}, nil, 409)
	for _, m := range []string{"BREW", "WHEN"} { // made-up methods share one series
		s.do(m, "/v1/health", "", nil, nil)
	}
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`ringback_callbacks_waiting 1`, `ringback_agents{presence="offline"} 1`, `ringback_oldest_waiting_age_seconds`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if !strings.Contains(string(raw), `ringback_callbacks_total{event="created"} 1`) {
		t.Fatalf("metrics lack the created callback:\n%s", raw)
	}
	for _, want := range []string{`ringback_http_request_duration_seconds_count{code="201",method="POST"} `, `ringback_http_request_duration_seconds_count{code="409",method="POST"} 1`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Every write waited for a sync of the WAL, and each was timed.
	if m := regexp.MustCompile(`(?m)^ringback_wal_fsync_duration_seconds_count (\d+)$`).FindSubmatch(raw); m == nil || string(m[1]) == "0" {
		t.Errorf("metrics show no timed WAL sync: %q", m)
	}
	problems, err := promlint.New(bytes.NewReader(raw)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	if strings.Contains(string(raw), `method="BREW"`) || !strings.Contains(string(raw), `method="other"`) {
		t.Error(`a made-up request method has a series of its own, or none labelled "other"`)
	}
	if strings.Contains(string(raw), "tenant=") {
		t.Error("metrics carry tenant labels without --metrics-tenant-labels")
	}
}

// A snapshot saved over HTTP restores into another cluster with the same
// state; a damaged file is refused.
func TestSnapshotSaveRestore(t *testing.T) {
	a := startServer(t)
	f := a.tenant("acme")
	a.must("POST", "/v1/callbacks", f.admin, map[string]any{"queueId": f.queue, "callbackNumbers": []string{"+15550100"}, "callbackUserName": "Carol"}, nil, 201)
	raw := a.must("GET", "/v1/cluster/snapshot", opToken, nil, nil, 200)
	var wantState struct{ Hash string }
	a.must("GET", "/v1/cluster/state", opToken, nil, &wantState, 200)

	b := startServer(t)
	req, _ := http.NewRequest("POST", b.url+"/v1/cluster/snapshot", bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+opToken)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 204 {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("restore: %v %v: %s", resp.StatusCode, err, body)
	}
	resp.Body.Close()
	var got struct{ Hash string }
	b.must("GET", "/v1/cluster/state", opToken, nil, &got, 200)
	if got.Hash != wantState.Hash {
		t.Fatalf("restored hash %s, want %s", got.Hash, wantState.Hash)
	}
	// The tenant's key works on the restored cluster.
	b.must("GET", "/v1/callbacks", f.admin, nil, nil, 200)

	req, _ = http.NewRequest("POST", b.url+"/v1/cluster/snapshot", strings.NewReader("garbage"))
	req.Header.Set("Authorization", "Bearer "+opToken)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 422 {
		t.Fatalf("restoring garbage = %v %v, want 422", resp, err)
	}
	resp.Body.Close()
}

// Keys are revocable: a user revokes their own key, an administrator any
// key they could have issued; a revoked key stops working at once.
func TestRevokeAPIKey(t *testing.T) {
	s := startServer(t)
	f := s.tenant("acme")
	s.must("GET", "/v1/offers", f.agent, nil, nil, 200)
	// The agent may not revoke the administrator's key.
	if code, raw := s.do("POST", "/v1/api-keys/revoke", f.agent, map[string]any{"apiKey": f.admin}, nil); code != 403 && code != 404 {
		t.Fatalf("agent revoking the admin key = %d %s, want 403 or 404", code, raw)
	}
	s.must("GET", "/v1/callbacks", f.admin, nil, nil, 200)
	s.must("POST", "/v1/api-keys/revoke", f.agent, map[string]any{"apiKey": f.agent}, nil, 204)
	if code, _ := s.do("GET", "/v1/offers", f.agent, nil, nil); code != 401 {
		t.Fatalf("revoked key = %d, want 401", code)
	}
	// The administrator revokes the channel's key.
	s.must("POST", "/v1/api-keys/revoke", f.admin, map[string]any{"apiKey": f.app}, nil, 204)
	if code, _ := s.do("POST", "/v1/callbacks", f.app, map[string]any{"queueId": f.queue, "callbackNumbers": []string{"+15550100"}, "callbackUserName": "C"}, nil); code != 401 {
		t.Fatalf("revoked channel key = %d, want 401", code)
	}
}

// A key's secret is valid in its own tenant only: the same secret under
// another tenant's prefix is refused, before and after the real key was
// used (and cached).
func TestKeySecretIsBoundToItsTenant(t *testing.T) {
	s := startServer(t)
	a, b := s.tenant("acme"), s.tenant("beta")
	for _, key := range []string{a.admin, a.agent, a.app} {
		tid, secret, ok := parseKey(key)
		if !ok || uint64(tid) != a.id {
			t.Fatalf("parseKey(%q) = %d, %v; want tenant %d", key, tid, ok, a.id)
		}
		forged := keyOf(actors.TenantID(b.id), secret)
		for _, when := range []string{"before", "after"} {
			if code, raw := s.do("GET", "/v1/domains", forged, nil, nil); code != 401 {
				t.Fatalf("%s the real key was used: tenant %d's secret under tenant %d = %d %s, want 401", when, a.id, b.id, code, raw)
			}
			s.must("GET", "/v1/offers", key, nil, nil, 200)
		}
	}
}

// PATCH /v1/tenants/{id} makes every change it names, or none.
func TestPatchTenantIsAllOrNothing(t *testing.T) {
	s := startServer(t)
	s.tenant("acme")
	b := s.tenant("beta")
	s.must("PATCH", fmt.Sprintf("/v1/tenants/%d", b.id-1), opToken, map[string]any{"host": "acme.example.com"}, nil, 200)
	path := fmt.Sprintf("/v1/tenants/%d", b.id)
	code, raw := s.do("PATCH", path, opToken, map[string]any{"status": "disabled", "host": "acme.example.com"}, nil)
	if code != 409 || !strings.Contains(string(raw), "host") {
		t.Fatalf("disabling with a taken host = %d %s, want 409 naming host", code, raw)
	}
	var v TenantView
	s.must("GET", path, opToken, nil, &v, 200)
	if v.Status != "active" || v.Host != "" {
		t.Fatalf("after a refused PATCH the tenant is %q on %q, want active with no host", v.Status, v.Host)
	}
	s.must("GET", "/v1/domains", b.admin, nil, nil, 200)
	s.must("PATCH", path, opToken, map[string]any{"status": "disabled", "host": "beta.example.com"}, &v, 200)
	if v.Status != "disabled" || v.Host != "beta.example.com" {
		t.Fatalf("after the PATCH the tenant is %q on %q, want disabled on beta.example.com", v.Status, v.Host)
	}
	if code, _ := s.do("GET", "/v1/domains", b.admin, nil, nil); code != 403 {
		t.Fatalf("a disabled tenant's key = %d, want 403", code)
	}
}

// PATCH /v1/callbacks/{id} makes every change it names, or none: a refused
// transfer leaves the new priority and time unmade too.
func TestPatchCallbackIsAllOrNothing(t *testing.T) {
	s := startServer(t)
	f := s.tenant("acme")
	other := s.tenant("beta")
	var q2 createdObj
	s.must("POST", "/v1/queues", f.admin, map[string]any{"name": "second", "domainId": f.support}, &q2, 201)
	var cb CallbackView
	s.must("POST", "/v1/callbacks", f.admin, map[string]any{"queueId": f.queue, "callbackNumbers": []string{"+15550100"}, "callbackUserName": "Carol"}, &cb, 201)
	path := fmt.Sprintf("/v1/callbacks/%d", cb.ID)
	later := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	for _, c := range []struct {
		body  map[string]any
		code  int
		field string
	}{
		{map[string]any{"priority": 7, "callbackScheduledTime": later, "queueId": other.queue + 1000}, 404, "queueId"},
		{map[string]any{"priority": 7, "queueId": other.queue + 1000}, 404, "queueId"},
		{map[string]any{"callbackScheduledTime": later, "priority": 1001}, 422, "priority"},
	} {
		code, raw := s.do("PATCH", path, f.admin, c.body, nil)
		if code != c.code || !strings.Contains(string(raw), c.field) {
			t.Fatalf("PATCH %v = %d %s, want %d naming %s", c.body, code, raw, c.code, c.field)
		}
		var got CallbackView
		s.must("GET", path, f.admin, nil, &got, 200)
		if got.Priority != cb.Priority || got.State != cb.State || got.QueueID != cb.QueueID || got.CallbackScheduledTime != nil {
			t.Fatalf("after the refused PATCH %v the callback is %+v, want it unchanged from %+v", c.body, got, cb)
		}
	}
	var got CallbackView
	s.must("PATCH", path, f.admin, map[string]any{"priority": 7, "callbackScheduledTime": later, "queueId": q2.ID}, &got, 200)
	if got.Priority != 7 || got.QueueID != uint32(q2.ID) || got.State != "scheduled" || got.CallbackScheduledTime == nil || !got.CallbackScheduledTime.Equal(later) {
		t.Fatalf("after the PATCH the callback is %+v, want priority 7, queue %d, scheduled at %v", got, q2.ID, later)
	}
	// The audit trail names the one change, made once.
	var audit []AuditView
	s.must("GET", "/v1/audit", f.admin, nil, &audit, 200)
	updates := 0
	for _, a := range audit {
		if a.Action == "update-callback" && a.ObjectID == cb.ID {
			updates++
		}
	}
	if updates != 1 {
		t.Fatalf("the audit holds %d update-callback entries for callback %d, want 1: %+v", updates, cb.ID, audit)
	}
}

// Queues, users and folders change after they are made, and users leave.
func TestUpdateQueueUserFolder(t *testing.T) {
	s := startServer(t)
	f := s.tenant("acme")
	qpath := fmt.Sprintf("/v1/queues/%d", f.queue)
	var q QueueView
	s.must("PATCH", qpath, f.admin, map[string]any{"name": "Call-backs", "strategy": "fewest-handled", "serviceLevelSeconds": 45}, &q, 200)
	if q.Name != "Call-backs" || q.Strategy != "fewest-handled" || q.ServiceLevelSeconds != 45 {
		t.Fatalf("after PATCH the queue is %+v, want Call-backs, fewest-handled at 45 s", q)
	}
	for field, bad := range map[string]map[string]any{"strategy": {"strategy": "fastest"}, "name": {"name": " ", "strategy": "round-robin"}} {
		if code, raw := s.do("PATCH", qpath, f.admin, bad, nil); code != 422 || !strings.Contains(string(raw), field) {
			t.Fatalf("PATCH %v = %d %s, want 422 naming %s", bad, code, raw, field)
		}
	}
	s.must("GET", qpath, f.admin, nil, &q, 200)
	if q.Name != "Call-backs" || q.Strategy != "fewest-handled" {
		t.Fatalf("a refused PATCH changed the queue to %+v", q)
	}

	upath := fmt.Sprintf("/v1/users/%d", f.agentID)
	var u UserView
	s.must("PATCH", upath, f.admin, map[string]any{"roles": []any{map[string]any{"role": "agent", "domainIds": []uint64{f.sales, f.support}}}}, &u, 200)
	if len(u.Roles) != 1 || len(u.Roles[0].DomainIDs) != 2 {
		t.Fatalf("after PATCH the user's roles are %+v, want agent in two domains", u.Roles)
	}
	s.must("PUT", upath+"/presence", f.agent, map[string]any{"state": "available"}, nil, 204)
	code, raw := s.do("PATCH", upath, f.admin, map[string]any{"positions": []any{map[string]any{"domainId": f.support}}}, nil)
	if code != 409 || !strings.Contains(string(raw), "positions") {
		t.Fatalf("moving an available agent's positions = %d %s, want 409 naming positions", code, raw)
	}
	if code, _ := s.do("DELETE", upath, f.admin, nil, nil); code != 409 {
		t.Fatalf("deleting an available agent = %d, want 409", code)
	}
	s.must("PUT", upath+"/presence", f.agent, map[string]any{"state": "offline"}, nil, 204)
	s.must("DELETE", upath, f.admin, nil, nil, 204)
	s.must("GET", upath, f.admin, nil, nil, 404)
	if code, _ := s.do("GET", "/v1/offers", f.agent, nil, nil); code != 401 {
		t.Fatalf("a deleted user's key = %d, want 401", code)
	}

	var folder createdObj
	s.must("POST", "/v1/queue-folders", f.admin, map[string]any{"name": "vip", "domainId": f.sales}, &folder, 201)
	s.must("PATCH", fmt.Sprintf("/v1/queue-folders/%d", folder.ID), f.admin, map[string]any{"propagate": true}, nil, 204)
	s.must("PATCH", fmt.Sprintf("/v1/queue-folders/%d", folder.ID+100), f.admin, map[string]any{"propagate": true}, nil, 404)
	s.must("PATCH", qpath, f.admin, map[string]any{"folderId": folder.ID}, &q, 200)
	if q.FolderID != uint32(folder.ID) {
		t.Fatalf("the queue's folder is %d, want %d", q.FolderID, folder.ID)
	}
}

// An agent's app lists the codes it may pick: the unassigned ones and
// those of the agent's domains, of the right kind.
func TestCodeAndFolderLists(t *testing.T) {
	s := startServer(t)
	f := s.tenant("acme") // "resolved": an unassigned wrap-up code
	var sales, support, away createdObj
	s.must("POST", "/v1/wrapup-codes", f.admin, map[string]any{"name": "sold", "domainId": f.sales}, &sales, 201)
	s.must("POST", "/v1/wrapup-codes", f.admin, map[string]any{"name": "fixed", "domainId": f.support}, &support, 201)
	s.must("POST", "/v1/away-reasons", f.admin, map[string]any{"name": "lunch"}, &away, 201)
	names := func(path, key string) []string {
		var vs []CodeView
		s.must("GET", path, key, nil, &vs, 200)
		var out []string
		for _, v := range vs {
			out = append(out, v.Name)
		}
		return out
	}
	if got := names("/v1/wrapup-codes", f.agent); !slices.Equal(got, []string{"resolved", "sold"}) {
		t.Fatalf("the Sales agent's wrap-up codes are %v, want [resolved sold]", got)
	}
	if got := names("/v1/wrapup-codes", f.admin); !slices.Equal(got, []string{"resolved", "sold", "fixed"}) {
		t.Fatalf("the administrator's wrap-up codes are %v, want [resolved sold fixed]", got)
	}
	if got := names("/v1/away-reasons", f.agent); !slices.Equal(got, []string{"lunch"}) {
		t.Fatalf("the agent's away reasons are %v, want [lunch]", got)
	}
	var folder createdObj
	s.must("POST", "/v1/queue-folders", f.admin, map[string]any{"name": "vip", "domainId": f.support, "propagate": true}, &folder, 201)
	var fs []FolderView
	s.must("GET", "/v1/queue-folders", f.admin, nil, &fs, 200)
	if len(fs) != 1 || fs[0].ID != uint32(folder.ID) || !fs[0].Propagate || fs[0].DomainID != uint32(f.support) {
		t.Fatalf("folders = %+v, want the one propagating folder in Support", fs)
	}
	s.must("GET", "/v1/queue-folders", f.agent, nil, &fs, 200)
	if len(fs) != 0 {
		t.Fatalf("the Sales agent sees the Support folder: %+v", fs)
	}
	var g1, g2 createdObj
	s.must("POST", "/v1/access-groups", f.admin, map[string]any{"name": "retail"}, &g1, 201)
	s.must("POST", "/v1/access-groups", f.admin, map[string]any{"name": "business"}, &g2, 201)
	other := s.tenant("beta")
	s.must("POST", "/v1/access-groups", other.admin, map[string]any{"name": "beta-only"}, nil, 201)
	var gs []GroupView
	s.must("GET", "/v1/access-groups", f.agent, nil, &gs, 200)
	if len(gs) != 2 || gs[0].Name != "retail" || gs[1].Name != "business" || gs[1].ID != uint32(g2.ID) {
		t.Fatalf("access groups = %+v, want retail and business, and not beta's", gs)
	}
	var chs []ChannelView
	s.must("GET", "/v1/channels", f.admin, nil, &chs, 200)
	if len(chs) != 1 || chs[0].Name != "web" || chs[0].DomainID != uint32(f.sales) {
		t.Fatalf("channels = %+v, want web in Sales", chs)
	}
}

// A key issued before keys were stored by their secret's hash (stored by
// the whole key's) keeps working, and can be revoked.
func TestLegacyKeysStillWork(t *testing.T) {
	s := startServer(t)
	f := s.tenant("acme")
	key := keyOf(actors.TenantID(f.id), strings.Repeat("ab", 24))
	out, err := s.node.Propose(context.Background(), &actors.PutAPIKey{Target: actors.Target{Tenant: actors.TenantID(f.id),
		By: actors.Principal{Kind: actors.PrincipalSystem}}, Hash: legacyHash(key), For: actors.AsUser(1)})
	if err == nil {
		err = out.Err
	}
	if err != nil {
		t.Fatal(err)
	}
	s.must("GET", "/v1/domains", key, nil, nil, 200)
	s.must("POST", "/v1/api-keys/revoke", f.admin, map[string]any{"apiKey": key}, nil, 204)
	if code, _ := s.do("GET", "/v1/domains", key, nil, nil); code != 401 {
		t.Fatalf("a revoked legacy key = %d, want 401", code)
	}
}

// A domain's real-time view sums its queues.
func TestDomainStatistics(t *testing.T) {
	s := startServer(t)
	f := s.tenant("acme")
	var q2 createdObj
	s.must("POST", "/v1/queues", f.admin, map[string]any{"name": "second", "domainId": 1}, &q2, 201)
	for i, q := range []uint64{f.queue, f.queue, q2.ID} {
		s.must("POST", "/v1/callbacks", f.admin, map[string]any{"queueId": q, "callbackNumbers": []string{fmt.Sprintf("+1555010%d", i)}, "callbackUserName": "C"}, nil, 201)
	}
	var home, sales QueueStatsView
	s.must("GET", "/v1/domains/1/realtime-statistics", f.admin, nil, &home, 200)
	s.must("GET", fmt.Sprintf("/v1/domains/%d/realtime-statistics", f.sales), f.admin, nil, &sales, 200)
	if home.Waiting != 3 || sales.Waiting != 0 || home.ServiceLevel != 1 {
		t.Fatalf("Home %+v, Sales %+v: want 3 waiting in Home (two queues summed), none in Sales", home, sales)
	}
	s.must("GET", "/v1/domains/999/realtime-statistics", f.admin, nil, nil, 404)
}

// TestRecentErrorsKeepEveryRefusal: a developer sees every refused request
// of their tenant, whatever refused it (huma's validation, a handler's own
// check, the core, on huma's path or the fast create's), with its method,
// path and fields; not the requests that succeeded, nor another tenant's.
func TestRecentErrorsKeepEveryRefusal(t *testing.T) {
	s := startServer(t)
	f, other := s.tenant("acme"), s.tenant("globex")
	s.must("PATCH", fmt.Sprintf("/v1/tenants/%d", f.id), opToken, map[string]any{"features": map[string]bool{"developerApi": true}}, nil, 200)
	served := s.srv.fastServed.Load()
	s.must("POST", "/v1/callbacks", f.admin, `{"queueId":"one"}`, nil, 422)
	s.must("POST", "/v1/callbacks", f.admin, map[string]any{"queueId": 999, "callbackNumbers": []string{"+15550100"}, "callbackUserName": "Carol"}, nil, 404)
	if s.srv.fastServed.Load() == served {
		t.Fatal("the unknown queue's create did not take the fast path: this test no longer covers it")
	}
	s.must("POST", "/v1/callbacks", f.admin, map[string]any{"queueId": f.queue, "callbackNumbers": []string{"+15550100"}, "callbackUserName": "Carol",
		"callbackScheduledTime": "2001-01-01T00:00:00Z"}, nil, 422)
	s.must("PATCH", "/v1/callbacks/77", f.admin, map[string]any{"priority": 3}, nil, 404)
	s.must("GET", "/v1/queues", f.admin, nil, nil, 200)
	s.must("GET", "/v1/callbacks/5", other.admin, nil, nil, 404)

	var recent []RecentError
	s.must("GET", "/v1/errors/recent", f.admin, nil, &recent, 200)
	want := []struct {
		method, path string
		status       int
		field        string
	}{
		{"POST", "/v1/callbacks", 422, "body.queueId: "},
		{"POST", "/v1/callbacks", 404, "queueId: no such object"},
		{"POST", "/v1/callbacks", 422, "body.callbackScheduledTime: is in the past"},
		{"PATCH", "/v1/callbacks/77", 404, "callbackId: no such object"},
	}
	if len(recent) != len(want) {
		t.Fatalf("recent errors = %+v, want %d", recent, len(want))
	}
	for i, w := range want {
		r := recent[i]
		if r.Method != w.method || r.Path != w.path || r.Status != w.status || !strings.Contains(r.Detail, w.field) || r.Title == "" {
			t.Errorf("recent error %d = %+v, want %s %s %d naming %q", i, r, w.method, w.path, w.status, w.field)
		}
	}
}

// TestSwitchPositionByDomain: an agent's active position is switched by
// naming its domain (and the position's name when there are several), or
// by index; a body that gives both, or neither, is refused naming the
// field, and nothing changes.
func TestSwitchPositionByDomain(t *testing.T) {
	s := startServer(t)
	f := s.tenant("acme")
	var u createdObj
	s.must("POST", "/v1/users", f.admin, map[string]any{"username": "eve", "homeDomainId": 1,
		"roles":     []any{map[string]any{"role": "agent", "allDomains": true}},
		"positions": []any{map[string]any{"domainId": f.sales}, map[string]any{"domainId": f.support, "name": "desk"}}}, &u, 201)
	path := fmt.Sprintf("/v1/users/%d/active-position", u.ID)
	active := func() int {
		var v UserView
		s.must("GET", fmt.Sprintf("/v1/users/%d", u.ID), f.admin, nil, &v, 200)
		return v.ActivePosition
	}
	s.must("PUT", path, f.admin, map[string]any{"domainId": f.support}, nil, 204)
	if a := active(); a != 1 {
		t.Fatalf("after switching to Support: active position %d, want 1", a)
	}
	for _, bad := range []struct {
		body  any
		field string
	}{
		{map[string]any{}, "body.position"},
		{map[string]any{"position": 0, "domainId": f.sales}, "body.position"},
		{map[string]any{"domainId": 1}, "domain"},
		{map[string]any{"domainId": f.sales, "name": "nope"}, "name"},
	} {
		code, raw := s.do("PUT", path, f.admin, bad.body, nil)
		if code != 422 || !strings.Contains(string(raw), `"location":"`+bad.field+`"`) {
			t.Errorf("PUT %v = %d %s, want 422 naming %s", bad.body, code, raw, bad.field)
		}
	}
	if a := active(); a != 1 {
		t.Fatalf("refused switches moved the agent: active position %d, want 1", a)
	}
	s.must("PUT", path, f.admin, map[string]any{"position": 0}, nil, 204)
	if a := active(); a != 0 {
		t.Fatalf("after switching by index: active position %d, want 0", a)
	}
}
