package api

import (
	"fmt"
	"strings"
	"testing"
)

// FuzzWriteBodies sends arbitrary bodies to the write endpoints of a real
// server: every answer is a 2xx or a 4xx problem, never a 5xx, and a 4xx
// leaves the replicated state exactly as it was (no partial writes).
//
//	go test ./cmd/ringback/api -run '^$' -fuzz FuzzWriteBodies -fuzztime 60s
func FuzzWriteBodies(f *testing.F) {
	seeds := []string{
		`{"queueId":1,"callbackNumbers":["+15550100"],"callbackUserName":"C"}`,
		`{"queueId":1,"callbackNumbers":["+15550100"],"callbackUserName":"C","callbackScheduledTime":"2999-01-01T00:00:00Z"}`,
		`{"name":"Sales","parentId":1}`,
		`{"username":"u","homeDomainId":1,"roles":[{"role":"agent","allDomains":true}],"positions":[{"domainId":1}]}`,
		`{"queueId":1,"callbackNumbers":[],"data":{"":"x"}}`,
		`[]`, `null`, `"x"`, `{"queueId":-1}`, `{"queueId":1e309}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), s)
	}
	// Requests of two changes whose second is refused (endpoints 8 and 9).
	f.Add(uint8(8), `{"priority":5,"queueId":999}`)
	f.Add(uint8(8), `{"priority":5,"callbackScheduledTime":"2999-01-01T00:00:00Z","queueId":1}`)
	f.Add(uint8(9), `{"status":"disabled","host":"taken.example.com"}`)
	f.Add(uint8(9), `{"status":"disabled","limits":{"maxAgents":-1}}`)
	srv := startServer(f)
	fx := srv.tenant("acme")
	other := srv.tenant("beta")
	srv.must("PATCH", fmt.Sprintf("/v1/tenants/%d", other.id), opToken, map[string]any{"host": "taken.example.com"}, nil, 200)
	var cb createdObj
	srv.must("POST", "/v1/callbacks", fx.admin, map[string]any{"queueId": fx.queue, "callbackNumbers": []string{"+15550199"}, "callbackUserName": "C"}, &cb, 201)
	type endpoint struct{ method, path, token string }
	endpoints := []endpoint{
		{"POST", "/v1/callbacks", fx.admin}, {"POST", "/v1/domains", fx.admin}, {"POST", "/v1/users", fx.admin},
		{"POST", "/v1/queues", fx.admin}, {"POST", "/v1/channels", fx.admin}, {"POST", "/v1/access-groups", fx.admin},
		{"POST", "/v1/queue-folders", fx.admin}, {"POST", "/v1/wrapup-codes", fx.admin},
		{"PATCH", fmt.Sprintf("/v1/callbacks/%d", cb.ID), fx.admin}, {"PATCH", fmt.Sprintf("/v1/tenants/%d", fx.id), opToken},
		{"POST", "/v1/tenants", opToken},
		{"PATCH", fmt.Sprintf("/v1/queues/%d", fx.queue), fx.admin}, {"PATCH", fmt.Sprintf("/v1/users/%d", fx.agentID), fx.admin},
	}
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		srv.t = t
		ep := endpoints[int(which)%len(endpoints)]
		_, before, err := srv.node.State()
		if err != nil {
			t.Fatal(err)
		}
		code, raw := srv.do(ep.method, ep.path, ep.token, body, nil)
		if code >= 500 {
			t.Fatalf("%s %s %q = %d %s", ep.method, ep.path, body, code, raw)
		}
		if code < 400 {
			return
		}
		if !strings.Contains(string(raw), `"status"`) {
			t.Fatalf("%s %s %q = %d without a problem body: %s", ep.method, ep.path, body, code, raw)
		}
		if _, after, err := srv.node.State(); err != nil || after != before {
			t.Fatalf("%s %s %q = %d %s, but the state changed (err %v)", ep.method, ep.path, body, code, raw, err)
		}
	})
}
