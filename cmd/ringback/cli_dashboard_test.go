package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The Grafana dashboard is valid JSON and every metric it queries is one a
// running server exposes (after a callback was created, offered and
// accepted, so that every metric has a sample).
func TestDashboardMetricsExist(t *testing.T) {
	raw, err := os.ReadFile("dashboards/ringback.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboards/ringback.json is not valid JSON: %v", err)
	}

	url, _ := startAPI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	op := &apiClient{base: url, token: testOperatorToken, http: http.DefaultClient}
	var tn struct {
		APIKey string `json:"apiKey"`
	}
	must := func(_ []byte, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(op.send(ctx, "POST", "/v1/tenants", map[string]any{"companyName": "Acme", "adminUsername": "admin", "adminEmail": "a@acme.test", "adminFirstName": "Ada"}, &tn))
	admin := &apiClient{base: url, token: tn.APIKey, http: http.DefaultClient}
	var q, u, k struct {
		ID     uint64 `json:"id"`
		APIKey string `json:"apiKey"`
	}
	must(admin.send(ctx, "POST", "/v1/queues", map[string]any{"name": "q", "domainId": 1}, &q))
	must(admin.send(ctx, "POST", "/v1/users", map[string]any{"username": "dana", "homeDomainId": 1,
		"roles": []any{map[string]any{"role": "agent", "allDomains": true}}}, &u))
	must(admin.send(ctx, "PUT", fmt.Sprintf("/v1/queues/%d/members", q.ID), []any{map[string]any{"userId": u.ID}}, nil))
	must(admin.send(ctx, "POST", fmt.Sprintf("/v1/users/%d/api-keys", u.ID), nil, &k))
	agent := &apiClient{base: url, token: k.APIKey, http: http.DefaultClient}
	must(agent.send(ctx, "PUT", fmt.Sprintf("/v1/users/%d/presence", u.ID), map[string]any{"state": "available"}, nil))
	must(admin.send(ctx, "POST", "/v1/callbacks", map[string]any{"queueId": q.ID, "callbackNumbers": []string{"+15550100"}, "callbackUserName": "Carol"}, nil))
	var offers []struct {
		OfferID uint64 `json:"offerId"`
	}
	must(agent.get(ctx, "/v1/offers", &offers))
	if len(offers) != 1 {
		t.Fatalf("offers = %v, want one", offers)
	}
	must(agent.send(ctx, "POST", fmt.Sprintf("/v1/offers/%d/accept", offers[0].OfferID), nil, nil))

	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	exposed := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (\S+) `).FindAllStringSubmatch(string(body), -1) {
		exposed[m[1]] = true
	}
	metric := regexp.MustCompile(`ringback_[a-z_]+`)
	seen := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, name := range metric.FindAllString(tg.Expr, -1) {
				seen++
				base := name
				for _, suffix := range []string{"_bucket", "_count", "_sum"} {
					if b, ok := strings.CutSuffix(name, suffix); ok && exposed[b] {
						base = b
					}
				}
				if !exposed[base] {
					t.Errorf("panel %q queries %s, which the server does not expose", p.Title, name)
				}
			}
		}
	}
	if seen < 10 {
		t.Fatalf("the dashboard queries only %d metrics; did its format change?", seen)
	}
}
