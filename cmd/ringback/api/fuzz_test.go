package api

import (
	"strings"
	"testing"
)

// FuzzWriteBodies sends arbitrary bodies to the write endpoints of a real
// server: every answer is a 2xx or a 4xx problem, never a 5xx.
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
	paths := []string{"/v1/callbacks", "/v1/domains", "/v1/users", "/v1/queues", "/v1/channels", "/v1/access-groups", "/v1/queue-folders", "/v1/wrapup-codes"}
	srv := startServer(f)
	admin := srv.tenant("acme").admin
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		srv.t = t
		path := paths[int(which)%len(paths)]
		code, raw := srv.do("POST", path, admin, body, nil)
		if code >= 500 {
			t.Fatalf("POST %s %q = %d %s", path, body, code, raw)
		}
		if code >= 400 && !strings.Contains(string(raw), `"status"`) {
			t.Fatalf("POST %s %q = %d without a problem body: %s", path, body, code, raw)
		}
	})
}
