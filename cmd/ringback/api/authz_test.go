package api

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/danielgtaylor/huma/v2"
)

var update = flag.Bool("update", false, "rewrite the expected statuses in testdata/authz_matrix.txt")

const matrixFile = "testdata/authz_matrix.txt"

// matrixRow is one line of the authorization matrix.
type matrixRow struct {
	line                      int
	method, path, role, scope string
	status                    string // expected, as written
	body                      string
}

func readMatrix(t *testing.T) (lines []string, rows []matrixRow) {
	t.Helper()
	f, err := os.Open(matrixFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		lines = append(lines, line)
		if s := strings.TrimSpace(line); s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		parts := strings.SplitN(line, " ", 6)
		if len(parts) < 5 {
			t.Fatalf("%s:%d: want METHOD PATH ROLE SCOPE STATUS [BODY], got %q", matrixFile, n, line)
		}
		r := matrixRow{line: n, method: parts[0], path: parts[1], role: parts[2], scope: parts[3], status: parts[4]}
		if len(parts) == 6 {
			r.body = parts[5]
		}
		rows = append(rows, r)
	}
	return lines, rows
}

// authzFixture is the world the matrix runs in: tenant A with domains D1
// and D2, callers of every role scoped to D1, objects on both sides, and
// tenant B with its own objects, numbered above anything tenant A uses so
// that a foreign id never names an object of tenant A by accident.
type authzFixture struct {
	s       *testServer
	admin   string            // tenant A's all-domains administrator
	adminB  string            // tenant B's administrator
	keys    map[string]string // role -> API key of a D1 caller
	callers map[string]uint64 // role -> user id (0 for the channel)
	ids     map[string]uint64 // placeholder -> id
	n       int
}

func (f *authzFixture) create(token, path string, body any) uint64 {
	f.s.t.Helper()
	var o createdObj
	f.s.must("POST", path, token, body, &o, 201)
	return o.ID
}

func (f *authzFixture) key(token string, user uint64) string {
	f.s.t.Helper()
	var o createdObj
	f.s.must("POST", fmt.Sprintf("/v1/users/%d/api-keys", user), token, nil, &o, 201)
	return o.APIKey
}

func (f *authzFixture) callback(token string, queue uint64, name string) uint64 {
	f.n++
	return f.create(token, "/v1/callbacks", map[string]any{"queueId": queue, "callbackNumbers": []string{fmt.Sprintf("+1666%06d", f.n)},
		"callbackUserName": name})
}

// parallel runs n creations at once (they share Raft entries).
func parallel(t *testing.T, n int, fn func(i int) error) {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(i); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func newAuthzFixture(t *testing.T) *authzFixture {
	s := startServer(t)
	f := &authzFixture{s: s, keys: map[string]string{}, callers: map[string]uint64{}, ids: map[string]uint64{}}
	all := map[string]bool{"scheduledCallbacks": true, "reportsExport": true, "developerApi": true, "transfers": true}
	var ta, tb createdObj
	s.must("POST", "/v1/tenants", opToken, map[string]any{"companyName": "Acme", "adminUsername": "admin", "adminEmail": "a@acme.test",
		"adminFirstName": "Ada", "features": all}, &ta, 201)
	s.must("POST", "/v1/tenants", opToken, map[string]any{"companyName": "Bertha-B-secret", "adminUsername": "admin", "adminEmail": "b@b.test",
		"adminFirstName": "Bea", "features": all}, &tb, 201)
	f.admin, f.adminB = ta.APIKey, tb.APIKey
	f.ids["admin"] = 1
	f.ids["home"] = 1

	// Tenant A.
	d1 := f.create(f.admin, "/v1/domains", map[string]any{"name": "D1", "parentId": 1})
	d2 := f.create(f.admin, "/v1/domains", map[string]any{"name": "D2-hidden", "parentId": 1})
	f.ids["D1"], f.ids["D2"] = d1, d2
	f.ids["queueD1"] = f.create(f.admin, "/v1/queues", map[string]any{"name": "queue-D1", "domainId": d1})
	f.ids["queueD2"] = f.create(f.admin, "/v1/queues", map[string]any{"name": "queue-D2-hidden", "domainId": d2})
	f.ids["code"] = f.create(f.admin, "/v1/wrapup-codes", map[string]any{"name": "resolved"})
	f.ids["folderD1"] = f.create(f.admin, "/v1/queue-folders", map[string]any{"name": "folder-D1", "domainId": d1})
	f.ids["folderD2"] = f.create(f.admin, "/v1/queue-folders", map[string]any{"name": "folder-D2-hidden", "domainId": d2})
	// Objects only lists show: each list must leave out those of D2.
	f.create(f.admin, "/v1/wrapup-codes", map[string]any{"name": "code-D1", "domainId": d1})
	f.create(f.admin, "/v1/wrapup-codes", map[string]any{"name": "code-D2-hidden", "domainId": d2})
	f.create(f.admin, "/v1/away-reasons", map[string]any{"name": "lunch"})
	f.create(f.admin, "/v1/away-reasons", map[string]any{"name": "away-D2-hidden", "domainId": d2})
	s.must("POST", "/v1/channels", f.admin, map[string]any{"name": "web-D2-hidden", "domainId": d2}, nil, 201)
	for _, role := range []string{"administrator", "supervisor", "monitor", "developer", "agent"} {
		body := map[string]any{"username": role + "-d1", "homeDomainId": d1, "roles": []any{map[string]any{"role": role, "domainIds": []uint64{d1}}}}
		if role == "agent" {
			body["positions"] = []any{map[string]any{"domainId": d1}}
		}
		id := f.create(f.admin, "/v1/users", body)
		f.callers[role], f.keys[role] = id, f.key(f.admin, id)
	}
	f.ids["agent"] = f.callers["agent"]
	var ch createdObj
	s.must("POST", "/v1/channels", f.admin, map[string]any{"name": "web-D1", "domainId": d1}, &ch, 201)
	f.keys["channel"] = ch.APIKey
	agentIn := func(name string, d uint64) map[string]any {
		return map[string]any{"username": name, "homeDomainId": d, "roles": []any{map[string]any{"role": "agent", "domainIds": []uint64{d}}},
			"positions": []any{map[string]any{"domainId": d}}}
	}
	f.ids["userD1"] = f.create(f.admin, "/v1/users", agentIn("user-D1", d1))
	f.ids["userD2"] = f.create(f.admin, "/v1/users", agentIn("user-D2-hidden", d2))
	s.must("PUT", fmt.Sprintf("/v1/queues/%d/members", f.ids["queueD1"]), f.admin, []any{map[string]any{"userId": f.callers["agent"]}}, nil, 204)
	f.ids["callbackD1"] = f.callback(f.admin, f.ids["queueD1"], "Carol-D1")
	f.ids["callbackD2"] = f.callback(f.admin, f.ids["queueD2"], "Dave-D2-hidden")

	// Tenant B, its ids above tenant A's.
	post := func(path string, body any) error {
		if code, raw := s.do("POST", path, f.adminB, body, nil); code != 201 {
			return fmt.Errorf("POST %s = %d %s", path, code, raw)
		}
		return nil
	}
	parallel(t, 29, func(i int) error {
		return post("/v1/domains", map[string]any{"name": fmt.Sprintf("filler-%d", i), "parentId": 1})
	})
	f.ids["DB"] = f.create(f.adminB, "/v1/domains", map[string]any{"name": "domain-B-secret", "parentId": 1})
	parallel(t, 39, func(i int) error {
		return post("/v1/queues", map[string]any{"name": fmt.Sprintf("filler-%d", i), "domainId": 1})
	})
	f.ids["queueB"] = f.create(f.adminB, "/v1/queues", map[string]any{"name": "queue-B-secret", "domainId": f.ids["DB"]})
	parallel(t, 29, func(i int) error {
		return post("/v1/queue-folders", map[string]any{"name": fmt.Sprintf("filler-%d", i), "domainId": 1})
	})
	f.ids["folderB"] = f.create(f.adminB, "/v1/queue-folders", map[string]any{"name": "folder-B-secret", "domainId": f.ids["DB"]})
	parallel(t, 39, func(i int) error {
		return post("/v1/wrapup-codes", map[string]any{"name": fmt.Sprintf("filler-%d", i)})
	})
	f.create(f.adminB, "/v1/wrapup-codes", map[string]any{"name": "code-B-secret"})
	parallel(t, 19, func(i int) error {
		return post("/v1/access-groups", map[string]any{"name": fmt.Sprintf("filler-%d", i)})
	})
	f.create(f.adminB, "/v1/access-groups", map[string]any{"name": "group-B-secret"})
	f.create(f.adminB, "/v1/away-reasons", map[string]any{"name": "away-B-secret"})
	parallel(t, 29, func(i int) error {
		return post("/v1/channels", map[string]any{"name": fmt.Sprintf("filler-%d", i), "domainId": 1})
	})
	s.must("POST", "/v1/channels", f.adminB, map[string]any{"name": "web-B-secret", "domainId": f.ids["DB"]}, nil, 201)
	parallel(t, 58, func(i int) error {
		return post("/v1/users", map[string]any{"username": fmt.Sprintf("filler-%d", i), "homeDomainId": 1,
			"roles": []any{map[string]any{"role": "monitor", "allDomains": true}}})
	})
	f.ids["userB"] = f.create(f.adminB, "/v1/users", agentIn("user-B-secret", f.ids["DB"]))
	parallel(t, 199, func(i int) error {
		return post("/v1/callbacks", map[string]any{"queueId": 1, "callbackNumbers": []string{fmt.Sprintf("+1777%06d", i)}, "callbackUserName": "filler"})
	})
	f.ids["callbackB"] = f.callback(f.adminB, f.ids["queueB"], "Bob-B-secret")
	return f
}

var placeholder = regexp.MustCompile(`\{[a-zA-Z0-9:]+\}`)

// fill replaces the placeholders of s; fresh objects ({new:callbackD1})
// are made now. It returns the text and, by placeholder, what it became.
func (f *authzFixture) fill(t *testing.T, s string, fresh map[string]uint64) string {
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		name := m[1 : len(m)-1]
		switch {
		case name == "n":
			f.n++
			return strconv.Itoa(f.n)
		case name == "self":
			return strconv.FormatUint(fresh["self"], 10)
		case strings.HasPrefix(name, "new:"):
			if id, ok := fresh[name]; ok {
				return strconv.FormatUint(id, 10)
			}
			obj := strings.TrimPrefix(name, "new:")
			var id uint64
			switch obj {
			case "callbackD1":
				id = f.callback(f.admin, f.ids["queueD1"], "Fresh-D1")
			case "callbackD2":
				id = f.callback(f.admin, f.ids["queueD2"], "Fresh-D2-hidden")
			case "callbackB":
				id = f.callback(f.adminB, f.ids["queueB"], "Fresh-B-secret")
			case "channelD1", "channelD2", "channelB", "queueD1", "queueD2", "queueB", "userD1", "userD2", "userB", "codeD1", "codeD2", "codeB",
				"folderD1", "folderD2", "folderB", "groupD1", "groupB":
				id = f.fresh(obj)
			default:
				t.Fatalf("unknown placeholder %s", m)
			}
			fresh[name] = id
			return strconv.FormatUint(id, 10)
		}
		id, ok := f.ids[name]
		if !ok {
			t.Fatalf("unknown placeholder %s", m)
		}
		return strconv.FormatUint(id, 10)
	})
}

// fresh makes a new user, queue, channel, wrap-up code, folder or group in D1, D2 or tenant B (obj
// names both, as in userD1) and returns its id.
func (f *authzFixture) fresh(obj string) uint64 {
	kind := strings.TrimRight(obj, "BD12")
	token, d := f.admin, f.ids[strings.Replace(strings.TrimPrefix(obj, kind), "B", "DB", 1)]
	if strings.HasSuffix(obj, "B") {
		token = f.adminB
	}
	f.n++
	name := fmt.Sprintf("fresh-%d", f.n)
	body, path := map[string]any{"name": name, "domainId": d}, "/v1/"+kind+"s"
	switch kind {
	case "user":
		body = map[string]any{"username": name, "homeDomainId": d, "roles": []any{map[string]any{"role": "monitor", "domainIds": []uint64{d}}}}
	case "code":
		path = "/v1/wrapup-codes"
	case "folder":
		path = "/v1/queue-folders"
	case "group": // tenant-wide: D1 only says which tenant
		body, path = map[string]any{"name": name}, "/v1/access-groups"
	}
	return f.create(token, path, body)
}

// target is the placeholder a row aims at: the first one of its scope.
func target(r matrixRow) string {
	suffix := map[string]string{"own": "D1", "other-domain": "D2", "other-tenant": "B", "home": "admin", "self": "self"}[r.scope]
	all := placeholder.FindAllString(r.path+" "+r.body, -1)
	for _, m := range all {
		if name := m[1 : len(m)-1]; suffix != "" && strings.HasSuffix(name, suffix) && name != "n" {
			return m
		}
	}
	for _, m := range all {
		if m != "{n}" && m != "{code}" {
			return m
		}
	}
	return ""
}

var schemaField = regexp.MustCompile(`"\$schema":"[^"]*",?`)

// stripSchema removes the "$schema" URL, which names the response type.
func stripSchema(b []byte) string { return schemaField.ReplaceAllString(string(b), "") }

// listLeaks names a foreign object a list answer shows, or "".
func (f *authzFixture) listLeaks(path string, raw []byte) string {
	body := string(raw)
	for _, marker := range []string{"D2-hidden", "B-secret"} {
		if strings.Contains(body, marker) {
			return marker
		}
	}
	var ids []uint64
	switch path {
	case "/v1/callbacks":
		var page struct {
			Entities []CallbackView `json:"entities"`
		}
		_ = json.Unmarshal(raw, &page)
		for _, c := range page.Entities {
			ids = append(ids, c.ID)
		}
		for _, id := range ids {
			if id == f.ids["callbackD2"] {
				return "callbackD2"
			}
		}
	case "/v1/users":
		var us []UserView
		_ = json.Unmarshal(raw, &us)
		for _, u := range us {
			if uint64(u.ID) == f.ids["userD2"] || u.ID == 1 {
				return fmt.Sprintf("user %d", u.ID)
			}
		}
	case "/v1/queues":
		var qs []QueueView
		_ = json.Unmarshal(raw, &qs)
		for _, q := range qs {
			if uint64(q.ID) == f.ids["queueD2"] {
				return "queueD2"
			}
		}
	case "/v1/domains":
		var ds []DomainView
		_ = json.Unmarshal(raw, &ds)
		for _, d := range ds {
			if uint64(d.ID) != f.ids["D1"] && d.ParentID != uint32(f.ids["D1"]) {
				return fmt.Sprintf("domain %d", d.ID)
			}
		}
	case "/v1/callbacks/export":
		for _, line := range strings.Split(body, "\n")[1:] {
			if id, _, _ := strings.Cut(line, ","); id == strconv.FormatUint(f.ids["callbackD2"], 10) {
				return "callbackD2"
			}
		}
	}
	return ""
}

func TestAuthzMatrix(t *testing.T) {
	lines, rows := readMatrix(t)
	f := newAuthzFixture(t)
	got := map[int]string{}
	for _, r := range rows {
		key, ok := f.keys[r.role]
		if !ok {
			t.Fatalf("%s:%d: unknown role %q", matrixFile, r.line, r.role)
		}
		fresh := map[string]uint64{"self": f.callers[r.role]}
		path, body := f.fill(t, r.path, fresh), f.fill(t, r.body, fresh)
		var reqBody any
		if body != "" {
			reqBody = body
		}
		code, raw := f.s.do(r.method, path, key, reqBody, nil)
		got[r.line] = strconv.Itoa(code)
		where := fmt.Sprintf("%s:%d: %s %s as %s (%s)", matrixFile, r.line, r.method, r.path, r.role, r.scope)
		if !*update && got[r.line] != r.status {
			t.Errorf("%s = %d %s, want %s", where, code, raw, r.status)
		}
		if code == 404 {
			// The same request for an id that never existed answers the same bytes.
			if tg := target(r); tg != "" {
				ghost := map[string]uint64{"self": 999999}
				gp := strings.ReplaceAll(r.path, tg, "999999")
				gb := strings.ReplaceAll(r.body, tg, "999999")
				gp, gb = f.fill(t, gp, ghost), f.fill(t, gb, ghost)
				var gbody any
				if gb != "" {
					gbody = gb
				}
				gcode, graw := f.s.do(r.method, gp, key, gbody, nil)
				if gcode != 404 || stripSchema(raw) != stripSchema(graw) {
					t.Errorf("%s: 404 body differs from a nonexistent id's:\n  got     %s\n  missing %d %s", where, raw, gcode, graw)
				}
			}
		}
		if r.method == "GET" && code == 200 && !strings.Contains(r.path, "{") {
			if leak := f.listLeaks(r.path, raw); leak != "" {
				t.Errorf("%s: the list shows %s, which the caller may not see: %s", where, leak, raw)
			}
		}
	}
	// Tenant B's ids never named an object of tenant A.
	for _, p := range []string{"/v1/domains/{DB}", "/v1/users/{userB}", "/v1/callbacks/{callbackB}", "/v1/queues/{queueB}"} {
		if code, raw := f.s.do("GET", f.fill(t, p, nil), f.admin, nil, nil); code != 404 {
			t.Fatalf("tenant A's administrator reading %s = %d %s: tenant B's ids collide with tenant A's; raise the fillers", p, code, raw)
		}
	}
	if *update {
		for _, r := range rows {
			parts := strings.SplitN(lines[r.line-1], " ", 6)
			parts[4] = got[r.line]
			lines[r.line-1] = strings.Join(parts, " ")
		}
		if err := os.WriteFile(matrixFile, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// matrixExempt are the tenant operations the matrix cannot express, and
// the tests that check who may use them instead.
var matrixExempt = map[string]string{
	"GET /v1/offers/stream":            "a stream that never ends; TestOffersReachOnlyTheirAgent",
	"POST /v1/offers/{offerId}/accept": "names only the caller's own current offer; TestOffersReachOnlyTheirAgent",
	"POST /v1/offers/{offerId}/reject": "names only the caller's own current offer; TestOffersReachOnlyTheirAgent",
	"POST /v1/api-keys/revoke":         "takes a key, not an id; TestRevokeAPIKey, TestKeySecretIsBoundToItsTenant",
}

// TestAuthzMatrixCoversEveryEndpoint: every tenant operation the API
// describes has rows in the matrix, or is exempt with a reason; operator
// operations are TestTokensStayOnTheirSide's.
func TestAuthzMatrixCoversEveryEndpoint(t *testing.T) {
	_, rows := readMatrix(t)
	covered := map[string]bool{}
	for _, r := range rows {
		path, _, _ := strings.Cut(r.path, "?")
		covered[r.method+" "+placeholder.ReplaceAllString(path, "{}")] = true
	}
	param := regexp.MustCompile(`\{[A-Za-z]+\}`)
	s := startServer(t)
	paths := s.srv.api.OpenAPI().Paths
	for _, path := range slices.Sorted(maps.Keys(paths)) {
		item := paths[path]
		for _, o := range []*huma.Operation{item.Get, item.Put, item.Post, item.Patch, item.Delete} {
			if o == nil || len(o.Security) == 0 || o.Metadata["operator"] == true {
				continue
			}
			name := o.Method + " " + path
			_, exempt := matrixExempt[name]
			switch in := covered[o.Method+" "+param.ReplaceAllString(path, "{}")]; {
			case !in && !exempt:
				t.Errorf("%s has no rows in %s", name, matrixFile)
			case in && exempt:
				t.Errorf("%s has rows in %s and is exempt from it", name, matrixFile)
			}
		}
	}
}
