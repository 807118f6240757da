package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringbackhq/ringback/cmd/ringback/api"
)

// wantLine fails unless out has a line that matches the regular
// expression re (whose spaces stand for the columns' padding).
func wantLine(t *testing.T, what, out, re string) {
	t.Helper()
	if !regexp.MustCompile(`(?m)^` + strings.ReplaceAll(re, " ", " +") + ` *$`).MatchString(out) {
		t.Fatalf("%s =\n%s\nwant a line matching %q", what, out, re)
	}
}

// createdID reads the id out of "<Noun> N created.".
func createdID(t *testing.T, out string) string {
	t.Helper()
	m := regexp.MustCompile(`^[A-Z][a-z -]+ (\d+) created\.\n$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("create printed %q, want \"... N created.\"", out)
	}
	return m[1]
}

// The day of a tenant's people, with the CLI alone: the operator creates
// the tenant, its administrator configures it, a channel and the
// administrator ask for callbacks, an agent takes one from offer to
// completion, and supervisors and developers look at what happened.
func TestCLIDailyFlow(t *testing.T) {
	url, _ := startAPI(t)
	c := cli{t: t, addr: url}
	problem := func(err error, status int, what string) {
		t.Helper()
		var p *problemError
		if !errors.As(err, &p) || p.Status != status {
			t.Fatalf("%s: err = %v, want HTTP %d", what, err, status)
		}
	}

	var tenant struct {
		ID     uint32 `json:"id"`
		APIKey string `json:"apiKey"`
	}
	c.json(testOperatorToken, &tenant, "tenant", "create", "Initech", "--admin-email", "bill@initech.test", "--admin-first-name", "Bill")
	admin := tenant.APIKey
	_, _, err := c.run(admin, "key", "test")
	problem(err, http.StatusForbidden, "key test without the developer API")
	out := c.must(admin, "organization")
	wantLine(t, "organization", out, "Company: Initech")
	wantLine(t, "organization", out, "Domains: 1 of 50")
	wantLine(t, "organization", out, "Features: reportsExport, scheduledCallbacks, transfers")
	if strings.Contains(out, "bill@initech.test") {
		t.Fatalf("organization shows the administrator's contact, the operator's:\n%s", out)
	}

	// The administrator configures the tenant.
	if out := c.must(admin, "domain", "create", "Sales"); out != "Domain 2 created.\n" {
		t.Fatalf("domain create = %q", out)
	}
	queue := createdID(t, c.must(admin, "queue", "create", "support", "--domain", "1"))
	agent := createdID(t, c.must(admin, "user", "create", "dana", "--home", "2", "--role", "agent@1,2", "--position", "1", "--position", "2"))
	var key struct {
		ID     uint32 `json:"id"`
		APIKey string `json:"apiKey"`
	}
	c.json(admin, &key, "user", "api-key", agent)
	dana := key.APIKey
	if out := c.must(admin, "queue", "members", queue, agent); out != "Queue "+queue+" now has 1 members.\n" {
		t.Fatalf("queue members = %q", out)
	}
	out = c.must(admin, "user", "get", agent)
	wantLine(t, "user get", out, "Active position: position-1 \\(domain 1\\)")
	if out := c.must(dana, "user", "position", agent, "2"); out != "User "+agent+" works in domain 2 now.\n" {
		t.Fatalf("user position = %q", out)
	}
	if _, _, err := c.run(dana, "user", "position", agent, "3"); err == nil || !strings.Contains(err.Error(), "no position in domain 3") {
		t.Fatalf("user position in a domain without one: err = %v", err)
	}
	var user api.UserView
	c.json(admin, &user, "user", "get", agent)
	if user.Username != "dana" || user.ActivePosition != 1 || len(user.Positions) != 2 || user.Positions[1].DomainID != 2 {
		t.Fatalf("user get --json = %+v, want dana working at her second position, in domain 2", user)
	}
	out = c.must(admin, "user", "get", agent)
	wantLine(t, "user get", out, "Active position: position-2 \\(domain 2\\)")
	wantLine(t, "user get", out, "Roles: agent@1,2")
	wantLine(t, "user get", out, "Positions: position-1 \\(domain 1\\), position-2 \\(domain 2\\)")

	code := createdID(t, c.must(admin, "wrapup-code", "create", "resolved"))
	reason := createdID(t, c.must(admin, "away-reason", "create", "lunch", "--domain", "2"))
	wantLine(t, "wrapup-code list", c.must(admin, "wrapup-code", "list"), code+" resolved -")
	out = c.must(admin, "away-reason", "list")
	wantLine(t, "away-reason list", out, reason+" lunch 2")
	if strings.Contains(out, "resolved") {
		t.Fatalf("away-reason list shows a wrap-up code:\n%s", out)
	}
	var codes []api.CodeView
	c.json(admin, &codes, "wrapup-code", "list")
	if len(codes) != 1 || strconv.Itoa(int(codes[0].ID)) != code || codes[0].Name != "resolved" {
		t.Fatalf("wrapup-code list --json = %+v", codes)
	}

	// A channel application asks for a callback: it lands in the
	// channel's domain. The administrator moves it to tomorrow.
	var web struct {
		ID     uint32 `json:"id"`
		APIKey string `json:"apiKey"`
	}
	c.json(admin, &web, "channel", "create", "web form", "--domain", "2")
	if web.ID == 0 || !strings.HasPrefix(web.APIKey, "rbk_") {
		t.Fatalf("channel create --json = %+v, want an id and a key", web)
	}
	channel := strconv.Itoa(int(web.ID))
	wantLine(t, "channel list", c.must(admin, "channel", "list"), channel+" web form 2")
	var walkIn api.CallbackView
	c.json(web.APIKey, &walkIn, "callback", "create", "--queue", queue, "--number", "+15550100", "--name", "Walk-in")
	if walkIn.State != "queued" || !slices.Equal(walkIn.DomainIDs, []uint32{2}) {
		t.Fatalf("the channel's callback = %+v, want it queued in domain 2", walkIn)
	}
	walkInID := strconv.FormatUint(walkIn.ID, 10)
	tomorrow := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	out = c.must(admin, "callback", "update", walkInID, "--scheduled-time", tomorrow, "--priority", "7")
	wantLine(t, "callback update", out, "State: scheduled")
	wantLine(t, "callback update", out, "Priority: 7")
	wantLine(t, "callback update", out, "Scheduled: "+tomorrow)
	wantLine(t, "callback update", out, "Domains: 2")

	// The agent's day: available, offered, accepted, completed.
	if out := c.must(dana, "user", "presence", agent, "available"); out != "User "+agent+" is available.\n" {
		t.Fatalf("presence = %q", out)
	}
	if out := c.must(dana, "offers", "list"); strings.TrimSpace(out) != "OFFER  CALLBACK  QUEUE  DOMAIN" {
		t.Fatalf("offers list with the only callback scheduled =\n%s\nwant no offer", out)
	}
	var carol api.CallbackView
	c.json(admin, &carol, "callback", "create", "--queue", queue, "--number", "+15550101", "--name", "Carol", "--domain", "2")
	carolID := strconv.FormatUint(carol.ID, 10)
	var offers []api.OfferEvent
	c.json(dana, &offers, "offers", "list")
	if len(offers) != 1 || offers[0].CallbackID != carol.ID || offers[0].OfferID == 0 {
		t.Fatalf("offers list --json = %+v, want an offer of callback %d", offers, carol.ID)
	}
	offer := strconv.FormatUint(offers[0].OfferID, 10)
	wantLine(t, "offers list", c.must(dana, "offers", "list"), offer+" "+carolID+" "+queue+" 2")
	if out := c.must(dana, "offers", "accept", offer); out != "Offer "+offer+" accepted.\n" {
		t.Fatalf("offers accept = %q", out)
	}
	out = c.must(admin, "callback", "get", carolID)
	wantLine(t, "callback get", out, "State: in-progress")
	wantLine(t, "callback get", out, "Agent: "+agent)
	if out := c.must(dana, "callback", "complete", carolID, "--disposition", code, "--comment", "rebooked"); out != "Callback "+carolID+" completed.\n" {
		t.Fatalf("callback complete = %q", out)
	}
	out = c.must(admin, "callback", "get", carolID)
	wantLine(t, "callback get", out, "State: completed")
	wantLine(t, "callback get", out, "Attempts: 1")
	wantLine(t, "callback get", out, "Disposition: "+code)
	wantLine(t, "callback get", out, "Comment: rebooked")
	var closed api.CallbackView
	c.json(admin, &closed, "callback", "get", carolID)
	if closed.State != "completed" || strconv.Itoa(int(closed.Disposition)) != code {
		t.Fatalf("callback get --json = %+v, want completed with disposition %s", closed, code)
	}
	for _, stats := range [][]string{{"queue", "stats", queue}, {"domain", "stats", "2"}} {
		out := c.must(admin, stats...)
		wantLine(t, strings.Join(stats, " "), out, "Completed: 1")
		wantLine(t, strings.Join(stats, " "), out, "Answered: 1")
		wantLine(t, strings.Join(stats, " "), out, "Waiting: 0")
		wantLine(t, strings.Join(stats, " "), out, "Agents available: 1")
	}
	var qs api.QueueStatsView
	c.json(admin, &qs, "queue", "stats", queue)
	if qs.Completed != 1 || qs.Offered != 1 {
		t.Fatalf("queue stats --json = %+v, want 1 offered, 1 completed", qs)
	}

	// A second customer is not reached; a third's offer is rejected.
	offered := func(name, number string) api.CallbackView {
		t.Helper()
		var cb api.CallbackView
		c.json(admin, &cb, "callback", "create", "--queue", queue, "--number", number, "--name", name, "--domain", "2")
		c.json(dana, &offers, "offers", "list")
		if len(offers) != 1 || offers[0].CallbackID != cb.ID {
			t.Fatalf("offers = %+v, want callback %d offered", offers, cb.ID)
		}
		return cb
	}
	ted := offered("Ted", "+15550102")
	tedID := strconv.FormatUint(ted.ID, 10)
	c.must(dana, "offers", "accept", strconv.FormatUint(offers[0].OfferID, 10))
	if out := c.must(dana, "callback", "fail", tedID, "--reason", "no-answer"); out != "Attempt on callback "+tedID+" recorded as failed.\n" {
		t.Fatalf("callback fail = %q", out)
	}
	var retried api.CallbackView
	c.json(admin, &retried, "callback", "get", tedID)
	if retried.State != "scheduled" || retried.Attempts != 1 {
		t.Fatalf("after a failed attempt: %+v, want scheduled for a retry after 1 attempt", retried)
	}
	offered("Eve", "+15550103")
	rejected := strconv.FormatUint(offers[0].OfferID, 10)
	if out := c.must(dana, "offers", "reject", rejected); out != "Offer "+rejected+" rejected.\n" {
		t.Fatalf("offers reject = %q", out)
	}
	_, _, err = c.run(dana, "offers", "accept", rejected)
	problem(err, http.StatusConflict, "accepting a rejected offer")

	// Supervisors and developers: who did what, and what was refused.
	out = c.must(admin, "audit")
	wantLine(t, "audit", out, `\S+ user 1 create-queue `+queue)
	wantLine(t, "audit", out, `\S+ user 1 create-user `+agent)
	wantLine(t, "audit", out, `\S+ user 1 create-app `+channel)
	wantLine(t, "audit", out, `\S+ channel `+channel+` create-callback `+walkInID)
	wantLine(t, "audit", out, `\S+ user `+agent+` complete-callback \S+`)
	out = c.must(admin, "audit", "--category", "configuration")
	wantLine(t, "audit --category configuration", out, `\S+ user 1 create-queue `+queue)
	if strings.Contains(out, "callback") {
		t.Fatalf("audit --category configuration shows work on callbacks:\n%s", out)
	}
	out = c.must(admin, "audit", "--category", "activity")
	wantLine(t, "audit --category activity", out, `\S+ user `+agent+` complete-callback \S+`)
	if strings.Contains(out, "create-queue") {
		t.Fatalf("audit --category activity shows configuration:\n%s", out)
	}
	var audit []api.AuditView
	c.json(admin, &audit, "audit")
	if !slices.ContainsFunc(audit, func(a api.AuditView) bool {
		return a.Action == "complete-callback" && strconv.Itoa(int(a.UserID)) == agent
	}) {
		t.Fatalf("audit --json = %+v, want dana's completion", audit)
	}
	_, _, err = c.run(admin, "errors")
	problem(err, http.StatusForbidden, "errors without the developer API")
	c.must(testOperatorToken, "tenant", "update", strconv.Itoa(int(tenant.ID)), "--feature", "developerApi=true")
	out = c.must(admin, "key", "test")
	wantLine(t, "key test", out, fmt.Sprintf("Tenant: %d", tenant.ID))
	wantLine(t, "key test", out, "Key of: User 1")
	wantLine(t, "key test", out, "Roles: administrator")
	_, _, err = c.run(web.APIKey, "key", "test")
	problem(err, http.StatusForbidden, "key test with a channel's key (not a developer)")
	_, _, err = c.run(admin, "callback", "get", "999")
	problem(err, http.StatusNotFound, "a callback that does not exist")
	out = c.must(admin, "errors")
	wantLine(t, "errors", out, `\S+ 409 POST /v1/offers/\d+/accept conflict path.offerId: this offer is not current for the caller`)
	wantLine(t, "errors", out, `\S+ 403 GET /v1/errors/recent forbidden feature: developerApi is not enabled for this tenant`)
	wantLine(t, "errors", out, `\S+ 404 GET /v1/callbacks/999 not found callbackId: no such object`)
	wantLine(t, "errors", out, `\S+ 403 POST /v1/api-keys/test forbidden role: no role permits this action here`)
	var recent []api.RecentError
	c.json(admin, &recent, "errors")
	if len(recent) != 6 || recent[5].Status != 404 || recent[5].Path != "/v1/callbacks/999" {
		t.Fatalf("errors --json = %+v, want two 403s of key test, the 422 of a position, the 409, the 403 of errors and the 404", recent)
	}

	// Folders and access groups come and go.
	group := createdID(t, c.must(admin, "access-group", "create", "Billing"))
	wantLine(t, "access-group list", c.must(admin, "access-group", "list"), group+" Billing")
	if out := c.must(admin, "access-group", "rename", group, "Billing and refunds"); out != "Access group "+group+" renamed to \"Billing and refunds\".\n" {
		t.Fatalf("access-group rename = %q", out)
	}
	wantLine(t, "access-group list after the rename", c.must(admin, "access-group", "list"), group+" Billing and refunds")
	c.must(admin, "channel", "rename", channel, "web chat")
	wantLine(t, "channel list after the rename", c.must(admin, "channel", "list"), channel+" web chat 2")
	_, _, err = c.run(admin, "away-reason", "rename", channel, "x")
	problem(err, http.StatusNotFound, "renaming a channel's id as an away reason")
	folder := createdID(t, c.must(admin, "folder", "create", "EMEA", "--domain", "2", "--revoke-read", group))
	wantLine(t, "folder list", c.must(admin, "folder", "list"), folder+" EMEA 2 false "+group)
	if out := c.must(admin, "folder", "update", folder, "--propagate"); out != "Folder "+folder+" updated.\n" {
		t.Fatalf("folder update = %q", out)
	}
	var folders []api.FolderView
	c.json(admin, &folders, "folder", "list")
	if len(folders) != 1 || !folders[0].Propagate || !slices.Equal(folders[0].RevokeReadGroupIDs, []uint32{group32(t, group)}) {
		t.Fatalf("folder list --json = %+v, want EMEA propagating, not read by group %s", folders, group)
	}
	c.must(admin, "folder", "update", folder, "--revoke-read", "")
	wantLine(t, "folder list", c.must(admin, "folder", "list"), folder+" EMEA 2 true -")
	if out := c.must(admin, "folder", "delete", folder); out != "Folder "+folder+" deleted.\n" {
		t.Fatalf("folder delete = %q", out)
	}
	if out := c.must(admin, "access-group", "delete", group); out != "Access group "+group+" deleted.\n" {
		t.Fatalf("access-group delete = %q", out)
	}
	for _, list := range [][]string{{"folder", "list"}, {"access-group", "list"}} {
		var none []any
		c.json(admin, &none, list...)
		if len(none) != 0 {
			t.Fatalf("%s after delete = %v, want none", list, none)
		}
	}
	if out := c.must(admin, "wrapup-code", "delete", code); out != "Wrap-up code "+code+" deleted.\n" {
		t.Fatalf("wrapup-code delete = %q", out)
	}

	// A deleted channel's key stops working.
	if out := c.must(admin, "channel", "delete", channel); out != "Channel "+channel+" deleted.\n" {
		t.Fatalf("channel delete = %q", out)
	}
	_, _, err = c.run(web.APIKey, "callback", "create", "--queue", queue, "--number", "+15550104", "--name", "Late")
	problem(err, http.StatusUnauthorized, "the deleted channel's key")
	var channels []api.ChannelView
	c.json(admin, &channels, "channel", "list")
	if len(channels) != 0 {
		t.Fatalf("channel list after delete = %+v", channels)
	}
}

func group32(t *testing.T, s string) uint32 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(n)
}

// A mistake on the command line is caught before any request, and the
// error names the argument or flag.
func TestCLIUsageErrorsSendNothing(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusTeapot)
	}))
	defer srv.Close()
	c := cli{t: t, addr: srv.URL}
	for _, tc := range []struct {
		args  []string
		names string
	}{
		{[]string{"callback", "update", "X", "--priority", "3"}, `CALLBACK_ID must be a positive number, got "X"`},
		{[]string{"callback", "update", "5"}, "--scheduled-time, --priority or --queue"},
		{[]string{"callback", "update", "5", "--scheduled-time", "tomorrow"}, `--scheduled-time "tomorrow"`},
		{[]string{"callback", "update", "5", "--queue", "0"}, "--queue"},
		{[]string{"callback", "create", "--queue", "1", "--number", "1", "--name", "A", "--at", "9am"}, `--at "9am"`},
		{[]string{"callback", "complete", "5", "--disposition", "0"}, "--disposition"},
		{[]string{"callback", "fail", "0"}, "CALLBACK_ID"},
		{[]string{"callback", "cancel", "one"}, "CALLBACK_ID"},
		{[]string{"offers", "accept", "abc"}, "OFFER_ID"},
		{[]string{"offers", "reject", "0"}, "OFFER_ID"},
		{[]string{"queue", "stats", "q1"}, "QUEUE_ID"},
		{[]string{"domain", "stats", "two"}, "DOMAIN_ID"},
		{[]string{"user", "get", "0"}, "USER_ID"},
		{[]string{"user", "position", "2", "Sales"}, "DOMAIN_ID"},
		{[]string{"folder", "update", "1"}, "--propagate or --revoke-read"},
		{[]string{"folder", "update", "1", "--revoke-read", "1,x"}, `--revoke-read "x"`},
		{[]string{"folder", "create", "F", "--revoke-read", "0"}, "--revoke-read"},
		{[]string{"folder", "delete", "f"}, "FOLDER_ID"},
		{[]string{"channel", "create", "web", "--domain", "0"}, "--domain"},
		{[]string{"channel", "delete", "web"}, "CHANNEL_ID"},
		{[]string{"wrapup-code", "delete", "none"}, "WRAP_UP_CODE_ID"},
		{[]string{"away-reason", "delete", "lunch"}, "AWAY_REASON_ID"},
		{[]string{"access-group", "delete", "1.5"}, "ACCESS_GROUP_ID"},
	} {
		_, _, err := c.run("rbk_1_key", tc.args...)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.names) {
			t.Errorf("ringback %s: err = %v, want a usage error naming %s", strings.Join(tc.args, " "), err, tc.names)
		}
	}
	// cobra checks the required flag.
	if _, _, err := c.run("rbk_1_key", "callback", "complete", "5"); err == nil || !strings.Contains(err.Error(), `"disposition"`) {
		t.Errorf("callback complete without --disposition: err = %v, want it named", err)
	}
	if n := requests.Load(); n != 0 {
		t.Fatalf("the server got %d requests, want none", n)
	}
	// The same client does reach the server (so none above was lost).
	if _, _, err := c.run("rbk_1_key", "offers", "list"); err == nil || requests.Load() != 1 {
		t.Fatalf("offers list: err = %v, %d requests; want the server's teapot", err, requests.Load())
	}
}
