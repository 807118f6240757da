package actors

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
)

// TestScenarios runs the readable scenario files in testdata/scenarios: each
// block is a command, and below ---- the events that follow (with names in
// place of identifiers) or the refusal. Rewrite expectations with
//
//	go test ./actors -run TestScenarios -rewrite
//
// and read the diff. After every refused command the harness checks that
// the state hash did not change, and after every command that a snapshot
// restores to the same hash.
func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata/scenarios", func(t *testing.T, path string) {
		s := newScenario()
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			return s.run(t, td)
		})
	})
}

type names struct {
	ids   map[string]uint64 // kind/name -> id
	names map[string]string // kind/id -> name
}

func (n *names) put(kind, name string, id uint64) {
	n.ids[kind+"/"+name] = id
	if k := kind + "/" + strconv.FormatUint(id, 10); n.names[k] == "" {
		n.names[k] = name
	}
}

func (n *names) name(kind string, id uint64) string {
	if s, ok := n.names[kind+"/"+strconv.FormatUint(id, 10)]; ok {
		return s
	}
	return strconv.FormatUint(id, 10)
}

type scenario struct {
	e       *Engine
	now     time.Time
	cur     TenantID
	tenants map[string]TenantID
	reg     map[TenantID]*names
}

func newScenario() *scenario {
	return &scenario{
		e:       NewEngine(),
		now:     time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC),
		tenants: map[string]TenantID{},
		reg:     map[TenantID]*names{},
	}
}

func (s *scenario) names() *names { return s.reg[s.cur] }

// id resolves a name of a kind in the current tenant; unknown names
// resolve to an identifier that does not exist.
func (s *scenario) id(kind, name string) uint64 {
	if n := s.names(); n != nil {
		if id, ok := n.ids[kind+"/"+name]; ok {
			return id
		}
	}
	if n, err := strconv.ParseUint(name, 10, 64); err == nil {
		return n
	}
	return 999999
}

// arg returns an argument's value; "x*501" stands for 501 x's.
func arg(td *datadriven.TestData, key, def string) string {
	if a, ok := td.Arg(key); ok && len(a.Vals) > 0 {
		if ch, n, ok := strings.Cut(a.Vals[0], "*"); ok && len(ch) == 1 {
			if k, err := strconv.Atoi(n); err == nil {
				return strings.Repeat(ch, k)
			}
		}
		return a.Vals[0]
	}
	return def
}

func args(td *datadriven.TestData, key string) []string {
	if a, ok := td.Arg(key); ok {
		return a.Vals
	}
	return nil
}

func dur(t *testing.T, v string) time.Duration {
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("bad duration %q: %v", v, err)
	}
	return d
}

func num(t *testing.T, v string) int {
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("bad number %q: %v", v, err)
	}
	return n
}

func (s *scenario) principal(td *datadriven.TestData, def string) Principal {
	as := arg(td, "as", def)
	switch {
	case as == "operator":
		return Operator
	case strings.HasPrefix(as, "app:"):
		return AsApp(AppID(s.id("app", strings.TrimPrefix(as, "app:"))))
	}
	return AsUser(UserID(s.id("user", as)))
}

func (s *scenario) target(td *datadriven.TestData) Target {
	return Target{Tenant: s.cur, By: s.principal(td, "admin")}
}

func (s *scenario) domains(vals []string) []DomainID {
	var out []DomainID
	for _, v := range vals {
		out = append(out, DomainID(s.id("domain", v)))
	}
	return out
}

func (s *scenario) callback(id CallbackID) *Callback {
	t := s.e.Tenant(s.cur)
	if t == nil {
		return nil
	}
	if did, ok := t.callbackDomain(id); ok && t.routing[did] != nil {
		return t.routing[did].callback(id)
	}
	return nil
}

func (s *scenario) run(t *testing.T, td *datadriven.TestData) string {
	if td.Cmd == "use" {
		s.cur = s.tenants[arg(td, "tenant", "")]
		return "ok\n"
	}
	if td.Cmd == "show" || td.Cmd == "stats" {
		return s.show(t, td)
	}
	cmd, kind := s.command(t, td)
	before := s.hash(t)
	res, events, err := s.e.Apply(cmd, s.now)
	if err != nil {
		if after := s.hash(t); after != before {
			t.Fatalf("%s: refused command changed the state", td.Pos)
		}
		return "error: " + err.Error() + "\n"
	}
	if kind != "" {
		name := arg(td, "id", arg(td, "name", ""))
		if kind == "tenant" {
			tid := TenantID(res.ID)
			s.tenants[name], s.cur = tid, tid
			s.reg[tid] = &names{ids: map[string]uint64{}, names: map[string]string{}}
			s.names().put("domain", "Home", uint64(HomeDomain))
			s.names().put("user", "admin", 1)
		} else {
			s.names().put(kind, name, res.ID)
		}
	}
	s.checkRestore(t, td)
	var b strings.Builder
	for _, e := range events {
		b.WriteString(s.render(e))
		b.WriteByte('\n')
	}
	if b.Len() == 0 {
		return "ok\n"
	}
	return b.String()
}

func (s *scenario) hash(t *testing.T) [32]byte {
	h, err := s.e.Hash()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// checkRestore: a snapshot taken now restores to the same state.
func (s *scenario) checkRestore(t *testing.T, td *datadriven.TestData) {
	b, err := s.e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Restore(b)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := r.Hash(); h != s.hash(t) {
		t.Fatalf("%s: restored state differs", td.Pos)
	}
}

func (s *scenario) render(e Event) string {
	n := s.reg[e.Tenant]
	if n == nil {
		return e.Kind.String()
	}
	var b strings.Builder
	if e.Tenant != s.cur {
		for name, id := range s.tenants {
			if id == e.Tenant {
				b.WriteString("(" + name + ") ")
			}
		}
	}
	b.WriteString(e.Kind.String())
	kv := func(k, v string) { fmt.Fprintf(&b, " %s=%s", k, v) }
	if e.Domain != 0 {
		kv("domain", n.name("domain", uint64(e.Domain)))
	}
	if e.Queue != 0 {
		kv("queue", n.name("queue", uint64(e.Queue)))
	}
	if e.Callback != 0 {
		kv("callback", n.name("callback", uint64(e.Callback)))
	}
	if e.Agent != 0 {
		kv("user", n.name("user", uint64(e.Agent)))
	}
	if e.Presence != 0 {
		kv("presence", e.Presence.String())
	}
	if e.Kind == EvPositionSwitched || e.Switched {
		u := s.e.Tenant(e.Tenant).Users[e.Agent]
		pos := func(i int) string {
			if u == nil || i >= len(u.Positions) {
				return strconv.Itoa(i)
			}
			return u.Positions[i].Name
		}
		kv("position", pos(int(e.FromPosition))+"->"+pos(int(e.ToPosition)))
		if e.Switched {
			kv("automatic", "true")
		}
	}
	if e.Reason != "" {
		kv("reason", strconv.Quote(e.Reason))
	}
	if e.Kind == EvCallbackScheduled || e.Kind == EvCallbackRescheduled {
		kv("due", "+"+time.Duration(int64(e.Object)-s.now.UnixNano()).String())
	}
	return b.String()
}

// command builds the command a scenario line describes, and the kind of
// object it names (for the name registry), if it creates one.
func (s *scenario) command(t *testing.T, td *datadriven.TestData) (Command, string) {
	tg := s.target(td)
	switch td.Cmd {
	case "tenant":
		name := arg(td, "name", "")
		c := &CreateTenant{
			Profile: Profile{CompanyName: name, AdminUsername: name + "-admin", AdminEmail: "admin@" + name + ".test", AdminFirstName: "Admin"},
			Host:    arg(td, "host", ""),
			Limits: Limits{MaxAgents: num(t, arg(td, "maxAgents", "0")), MaxDomains: num(t, arg(td, "maxDomains", "0")),
				StorageQuotaBytes: int64(num(t, arg(td, "quota", "0")))},
			Features: map[Feature]bool{},
		}
		for _, f := range args(td, "disable") {
			c.Features[Feature(f)] = false
		}
		for _, f := range args(td, "enable") {
			c.Features[Feature(f)] = true
		}
		p := s.policy(t, td, DefaultPolicy())
		c.Policy = &p
		return c, "tenant"
	case "operator":
		tid := s.cur
		switch arg(td, "do", "update") {
		case "disable":
			return &SetTenantStatus{Tenant: tid, Status: TenantDisabled}, ""
		case "enable":
			return &SetTenantStatus{Tenant: tid, Status: TenantActive}, ""
		case "delete":
			return &DeleteTenant{Tenant: tid}, ""
		}
		cur := s.e.Tenant(tid)
		c := &UpdateTenant{Tenant: tid, Features: map[Feature]bool{}}
		if cur != nil {
			l := cur.Limits
			if td.HasArg("quota") {
				l.StorageQuotaBytes = int64(num(t, arg(td, "quota", "")))
			}
			if td.HasArg("maxAgents") {
				l.MaxAgents = num(t, arg(td, "maxAgents", ""))
			}
			if td.HasArg("maxDomains") {
				l.MaxDomains = num(t, arg(td, "maxDomains", ""))
			}
			c.Limits = &l
			p := s.policy(t, td, cur.Policy)
			c.Policy = &p
		}
		for _, f := range args(td, "disable") {
			c.Features[Feature(f)] = false
		}
		for _, f := range args(td, "enable") {
			c.Features[Feature(f)] = true
		}
		return c, ""
	case "domain":
		return &CreateDomain{Target: tg, Name: arg(td, "name", ""), Parent: DomainID(s.id("domain", arg(td, "parent", "Home")))}, "domain"
	case "rename-domain":
		d := DomainID(s.id("domain", arg(td, "domain", "")))
		name := arg(td, "name", "")
		s.names().put("domain", name, uint64(d))
		return &RenameDomain{Target: tg, Domain: d, Name: name}, ""
	case "delete-domain":
		return &DeleteDomain{Target: tg, Domain: DomainID(s.id("domain", arg(td, "domain", "")))}, ""
	case "group":
		return &CreateGroup{Target: tg, Name: arg(td, "name", "")}, "group"
	case "folder":
		return &CreateFolder{Target: tg, Name: arg(td, "name", ""), Domain: DomainID(s.id("domain", arg(td, "domain", "Home"))),
			Propagate: td.HasArg("propagate"), RevokeRead: s.groups(args(td, "revoke"))}, "folder"
	case "update-folder":
		c := &UpdateFolder{Target: tg, Folder: FolderID(s.id("folder", arg(td, "folder", "")))}
		if td.HasArg("revoke") {
			g := s.groups(args(td, "revoke"))
			c.RevokeRead = &g
		}
		if td.HasArg("propagate") {
			p := arg(td, "propagate", "true") == "true"
			c.Propagate = &p
		}
		return c, ""
	case "queue":
		st := Strategy(0)
		if v := arg(td, "strategy", ""); v != "" {
			st, _ = ParseStrategy(v)
		}
		var sl time.Duration
		if v := arg(td, "sl", ""); v != "" {
			sl = dur(t, v)
		}
		return &CreateQueue{Target: tg, Name: arg(td, "name", ""), Domain: DomainID(s.id("domain", arg(td, "domain", "Home"))),
			Folder: FolderID(s.id("folder", arg(td, "folder", "0"))), Strategy: st, ServiceLevel: sl, RevokeRead: s.groups(args(td, "revoke"))}, "queue"
	case "update-queue":
		c := &UpdateQueue{Target: tg, Queue: QueueID(s.id("queue", arg(td, "queue", "")))}
		if v := arg(td, "strategy", ""); v != "" {
			st, _ := ParseStrategy(v)
			c.Strategy = &st
		}
		if td.HasArg("folder") {
			f := FolderID(s.id("folder", arg(td, "folder", "")))
			c.Folder = &f
		}
		if td.HasArg("revoke") {
			g := s.groups(args(td, "revoke"))
			c.RevokeRead = &g
		}
		return c, ""
	case "user", "agent":
		c := &CreateUser{Target: tg, Name: arg(td, "name", ""), Home: DomainID(s.id("domain", arg(td, "home", "Home"))), Groups: s.groups(args(td, "groups"))}
		roles := args(td, "roles")
		if roles == nil && td.Cmd == "agent" {
			roles = []string{"agent@all"}
		}
		c.Grants = s.grants(t, roles)
		c.Positions, c.Memberships = s.positions(t, td)
		return c, "user"
	case "update-user":
		c := &UpdateUser{Target: tg, User: UserID(s.id("user", arg(td, "name", "")))}
		if td.HasArg("roles") {
			g := s.grants(t, args(td, "roles"))
			c.Grants = &g
		}
		p, m := s.positions(t, td)
		if td.HasArg("positions") {
			c.Positions = &p
		}
		if td.HasArg("queues") {
			c.Memberships = &m
		}
		return c, ""
	case "members":
		c := &SetQueueMembers{Target: tg, Queue: QueueID(s.id("queue", arg(td, "queue", "")))}
		for _, v := range args(td, "set") {
			u, tier, _ := strings.Cut(v, ":")
			c.Members = append(c.Members, Member{Agent: UserID(s.id("user", u)), Tier: num(t, tier)})
		}
		return c, ""
	case "delete-folder":
		return &DeleteFolder{Target: tg, Folder: FolderID(s.id("folder", arg(td, "name", "")))}, ""
	case "rename": // what=app|group|code|away name=OLD to=NEW
		what := arg(td, "what", "")
		ns, object := what, map[string]Renamable{"app": RenameApp, "group": RenameGroup, "code": RenameWrapUpCode, "away": RenameAwayReason}[what]
		if what == "away" {
			ns = "code"
		}
		id, to := s.id(ns, arg(td, "name", "")), arg(td, "to", "")
		s.names().put(ns, to, id)
		return &RenameObject{Target: tg, Object: object, ID: uint32(id), Name: to}, ""
	case "delete-group":
		return &DeleteGroup{Target: tg, Group: GroupID(s.id("group", arg(td, "name", "")))}, ""
	case "delete-code":
		k := WrapUpCode
		if td.HasArg("away") {
			k = AwayReason
		}
		return &DeleteCode{Target: tg, CodeKind: k, Code: CodeID(s.id("code", arg(td, "name", "")))}, ""
	case "delete-app":
		return &DeleteApp{Target: tg, App: AppID(s.id("app", arg(td, "name", "")))}, ""
	case "delete-queue":
		return &DeleteQueue{Target: tg, Queue: QueueID(s.id("queue", arg(td, "queue", "")))}, ""
	case "delete-user":
		return &DeleteUser{Target: tg, User: UserID(s.id("user", arg(td, "name", "")))}, ""
	case "app":
		return &CreateApp{Target: tg, Name: arg(td, "name", ""), Domain: DomainID(s.id("domain", arg(td, "domain", "Home")))}, "app"
	case "code":
		k := WrapUpCode
		if td.HasArg("away") {
			k = AwayReason
		}
		return &CreateCode{Target: tg, CodeKind: k, Name: arg(td, "name", ""), Domain: DomainID(s.id("domain", arg(td, "domain", "0")))}, "code"
	case "presence":
		agent := arg(td, "agent", "")
		p, ok := ParsePresence(arg(td, "state", ""))
		if !ok {
			p = Presence(99)
		}
		tg.By = s.principal(td, agent)
		return &SetPresence{Target: tg, Agent: UserID(s.id("user", agent)), Presence: p, Reason: arg(td, "reason", "")}, ""
	case "switch":
		agent := arg(td, "agent", "")
		tg.By = s.principal(td, agent)
		c := &SwitchPosition{Target: tg, Agent: UserID(s.id("user", agent)), Position: num(t, arg(td, "position", "0")), Name: arg(td, "name", "")}
		if td.HasArg("domain") {
			c.Domain = DomainID(s.id("domain", arg(td, "domain", "")))
		}
		return c, ""
	case "callback":
		id := arg(td, "id", "")
		c := &CreateCallback{Target: tg, Queue: QueueID(s.id("queue", arg(td, "queue", ""))),
			Domain: DomainID(s.id("domain", arg(td, "domain", "0"))), CustomerName: arg(td, "name", "Customer "+id),
			Numbers: args(td, "number"), Priority: num(t, arg(td, "priority", "0")), IdempotencyKey: arg(td, "key", "")}
		if c.Numbers == nil {
			c.Numbers = []string{fmt.Sprintf("+1555%07d", len(s.names().ids))}
		}
		if v := arg(td, "at", ""); v != "" {
			c.ScheduledAt = s.now.Add(dur(t, v))
		}
		return c, "callback"
	case "priority":
		return &SetPriority{Target: tg, Callback: CallbackID(s.id("callback", arg(td, "callback", ""))), Priority: num(t, arg(td, "priority", "0"))}, ""
	case "update": // what it names of at=, priority= and queue=
		c := &UpdateCallback{Target: tg, Callback: CallbackID(s.id("callback", arg(td, "callback", "")))}
		if v := arg(td, "at", ""); v != "" {
			at := s.now.Add(dur(t, v))
			c.At = &at
		}
		if v := arg(td, "priority", ""); v != "" {
			p := num(t, v)
			c.Priority = &p
		}
		if v := arg(td, "queue", ""); v != "" {
			q := QueueID(s.id("queue", v))
			c.Queue = &q
		}
		return c, ""
	case "accept", "reject", "complete", "fail", "cancel", "reschedule", "transfer":
		return s.callbackCommand(t, td, tg), ""
	case "advance":
		s.now = s.now.Add(dur(t, arg(td, "by", "0s")))
		return &Tick{}, ""
	}
	t.Fatalf("%s: unknown scenario command %q", td.Pos, td.Cmd)
	return nil, ""
}

func (s *scenario) callbackCommand(t *testing.T, td *datadriven.TestData, tg Target) Command {
	id := CallbackID(s.id("callback", arg(td, "callback", "")))
	c := s.callback(id)
	var offer OfferID
	if c != nil {
		offer = c.Offer
		if c.Agent != 0 && !td.HasArg("as") && td.Cmd != "cancel" && td.Cmd != "reschedule" && td.Cmd != "transfer" {
			tg.By = AsUser(c.Agent)
		}
	}
	if arg(td, "offer", "") == "stale" {
		offer--
	}
	switch td.Cmd {
	case "accept":
		return &AcceptOffer{Target: tg, Callback: id, Offer: offer}
	case "reject":
		return &RejectOffer{Target: tg, Callback: id, Offer: offer}
	case "complete":
		return &CompleteCallback{Target: tg, Callback: id, Disposition: CodeID(s.id("code", arg(td, "code", ""))), Comment: arg(td, "comment", "")}
	case "fail":
		return &FailAttempt{Target: tg, Callback: id, Reason: arg(td, "reason", "no answer")}
	case "cancel":
		return &CancelCallback{Target: tg, Callback: id}
	case "reschedule":
		return &RescheduleCallback{Target: tg, Callback: id, At: s.now.Add(dur(t, arg(td, "at", "0s")))}
	}
	return &TransferCallback{Target: tg, Callback: id, Queue: QueueID(s.id("queue", arg(td, "queue", "")))}
}

func (s *scenario) policy(t *testing.T, td *datadriven.TestData, p Policy) Policy {
	if v := arg(td, "closeComment", ""); v != "" {
		p.CloseCommentRequired = v == "true"
	}
	if v := arg(td, "autoSwitch", ""); v != "" {
		p.AutoSwitchPosition = v == "true"
	}
	if v := arg(td, "maxAttempts", ""); v != "" {
		p.MaxAttempts = num(t, v)
	}
	if v := arg(td, "retryDelay", ""); v != "" {
		p.RetryDelay = dur(t, v)
	}
	if v := arg(td, "offerTimeout", ""); v != "" {
		p.OfferTimeout = dur(t, v)
	}
	if v := arg(td, "wrapUp", ""); v != "" {
		p.WrapUp = dur(t, v)
	}
	if v := arg(td, "ttl", ""); v != "" {
		p.CallbackTTL = dur(t, v)
	}
	if v := arg(td, "retention", ""); v != "" {
		p.RecordRetention = dur(t, v)
	}
	if v := arg(td, "duplicates", ""); v != "" {
		p.Duplicates = DuplicatePolicy(v)
	}
	return p
}

func (s *scenario) groups(vals []string) []GroupID {
	var out []GroupID
	for _, v := range vals {
		out = append(out, GroupID(s.id("group", v)))
	}
	return out
}

// grants parses role@domain or role@all.
func (s *scenario) grants(t *testing.T, vals []string) []Grant {
	var out []Grant
	for _, v := range vals {
		role, scope, _ := strings.Cut(v, "@")
		r, ok := ParseRole(role)
		if !ok {
			t.Fatalf("unknown role %q", role)
		}
		g := Grant{Role: r}
		if scope == "all" {
			g.Scope.All = true
		} else {
			g.Scope.Domains = s.domains(strings.Split(scope, "+"))
		}
		out = append(out, g)
	}
	return out
}

// positions parses positions=(Domain[:name], ...) and queues=(queue:tier, ...).
func (s *scenario) positions(t *testing.T, td *datadriven.TestData) ([]Position, []Membership) {
	var ps []Position
	for _, v := range args(td, "positions") {
		d, name, ok := strings.Cut(v, ":")
		if !ok {
			name = d
		}
		ps = append(ps, Position{Name: name, Domain: DomainID(s.id("domain", d))})
	}
	var ms []Membership
	for _, v := range args(td, "queues") {
		q, tier, ok := strings.Cut(v, ":")
		if !ok {
			tier = "1"
		}
		ms = append(ms, Membership{Queue: QueueID(s.id("queue", q)), Tier: num(t, tier)})
	}
	return ps, ms
}

// show prints a callback as a principal sees it, an agent, or the queue
// statistics of the current tenant.
func (s *scenario) show(t *testing.T, td *datadriven.TestData) string {
	ten := s.e.Tenant(s.cur)
	if td.Cmd == "stats" {
		reports, err := ten.Reports(s.principal(td, "admin"), s.now)
		if err != nil {
			return "error: " + err.Error() + "\n"
		}
		var b strings.Builder
		for _, r := range reports {
			fmt.Fprintf(&b, "domain=%s queue=%s waiting=%d longest=%s available=%d offered=%d answered=%d completed=%d abandoned=%d failed=%d timedOut=%d sl=%.2f\n",
				s.names().name("domain", uint64(r.Domain)), s.names().name("queue", uint64(r.Queue)), r.Waiting, r.LongestWait, r.AgentsAvailable,
				r.Offered, r.Answered, r.Completed, r.Abandoned, r.Failed, r.TimedOut, r.ServiceLevel)
		}
		if d := arg(td, "domain", ""); d != "" {
			r, err := ten.DomainReport(s.principal(td, "admin"), DomainID(s.id("domain", d)), s.now)
			if err != nil {
				return b.String() + "error: " + err.Error() + "\n"
			}
			fmt.Fprintf(&b, "domain=%s total: waiting=%d available=%d offered=%d answered=%d sl=%.2f\n", d, r.Waiting, r.AgentsAvailable, r.Offered, r.Answered, r.ServiceLevel)
		}
		return b.String()
	}
	if v := arg(td, "agent", ""); v != "" {
		u := ten.Users[UserID(s.id("user", v))]
		if u == nil {
			return "not found\n"
		}
		return fmt.Sprintf("agent=%s presence=%s position=%s domain=%s\n", u.Name, u.Presence, u.Positions[u.Active].Name,
			s.names().name("domain", uint64(u.activeDomain())))
	}
	id := CallbackID(s.id("callback", arg(td, "callback", "")))
	c := s.callback(id)
	if c == nil {
		return "not found\n"
	}
	if err := ten.Allowed(s.principal(td, "admin"), ActView, c.Domains, c.Queue); err != nil {
		if errors.Is(err, ErrNotFound) {
			return "not found\n"
		}
		return "error: " + err.Error() + "\n"
	}
	var doms []string
	for _, d := range c.Domains {
		doms = append(doms, s.names().name("domain", uint64(d)))
	}
	out := fmt.Sprintf("callback=%s status=%s queue=%s domains=%s attempts=%d", arg(td, "callback", ""), c.Status,
		s.names().name("queue", uint64(c.Queue)), strings.Join(doms, ","), c.Attempts)
	if c.Agent != 0 {
		out += " user=" + s.names().name("user", uint64(c.Agent))
	}
	if pos, ewt := ten.routing[c.Domain].position(c); pos > 0 {
		out += fmt.Sprintf(" position=%d ewt=%s", pos, ewt)
	}
	return out + "\n"
}
