package actors

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

var tenantTestNow = time.Unix(1_800_000_000, 0)

func acmeProfile(name string) Profile {
	return Profile{CompanyName: name, AdminUsername: "ada", AdminEmail: "ada@acme.test", AdminFirstName: "Ada"}
}

func eventKinds(ev []Event) []EventKind {
	var kinds []EventKind
	for _, e := range ev {
		kinds = append(kinds, e.Kind)
	}
	return kinds
}

func TestCreateTenantIssuesTheAdministratorsKey(t *testing.T) {
	e := NewEngine()
	hash := strings.Repeat("ab", 32)
	r, ev, err := e.Apply(&CreateTenant{Profile: acmeProfile("Acme"), AdminKeyHash: hash}, tenantTestNow)
	if err != nil {
		t.Fatal(err)
	}
	tn := e.Tenant(TenantID(r.ID))
	p, ok := tn.Principal(hash)
	if !ok || p != AsUser(1) {
		t.Fatalf("the key resolves to %v (found %v), want the administrator %v", p, ok, AsUser(1))
	}
	if u := tn.Users[p.User]; u == nil || u.Name != "ada" {
		t.Fatalf("the key's user is %+v, want the administrator ada", u)
	}
	if !slices.Contains(eventKinds(ev), EvAPIKeyChanged) {
		t.Fatalf("events %v lack %v", eventKinds(ev), EvAPIKeyChanged)
	}

	// Without a hash, the tenant has no key (the operator issues one later).
	r, _, err = e.Apply(&CreateTenant{Profile: acmeProfile("Beta")}, tenantTestNow)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(e.Tenant(TenantID(r.ID)).APIKeys); n != 0 {
		t.Fatalf("a tenant created without a key hash has %d keys", n)
	}
}

func TestCreateTenantWithABadKeyHashChangesNothing(t *testing.T) {
	e := NewEngine()
	before, _ := e.Hash()
	_, _, err := e.Apply(&CreateTenant{Profile: acmeProfile("Acme"), AdminKeyHash: "short"}, tenantTestNow)
	var re *FieldError
	if !errors.As(err, &re) || re.Field != "adminKeyHash" {
		t.Fatalf("err = %v, want a refusal naming adminKeyHash", err)
	}
	if after, _ := e.Hash(); after != before || len(e.Tenants) != 0 || e.NextTenant != 0 {
		t.Fatalf("a refused create changed the state: %d tenants, next id %d", len(e.Tenants), e.NextTenant)
	}
}

func TestUpdateTenantIsAllOrNothing(t *testing.T) {
	e := NewEngine()
	apply := func(cmd Command) ([]Event, error) {
		_, ev, err := e.Apply(cmd, tenantTestNow)
		return ev, err
	}
	if _, err := apply(&CreateTenant{Profile: acmeProfile("Acme"), Host: "acme.example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := apply(&CreateTenant{Profile: acmeProfile("Beta")}); err != nil {
		t.Fatal(err)
	}
	beta := TenantID(2)
	disabled, unknown := TenantDisabled, TenantStatus(9)
	taken := "acme.example.com"

	// A refused part refuses the whole: the status stays as it was.
	before, _ := e.Hash()
	for _, c := range []struct {
		cmd   *UpdateTenant
		field string
	}{
		{&UpdateTenant{Tenant: beta, Host: &taken, Status: &disabled}, "host"},
		{&UpdateTenant{Tenant: beta, Limits: &Limits{MaxAgents: -1}, Status: &disabled}, "limits.maxAgents"},
		{&UpdateTenant{Tenant: beta, Status: &unknown}, "status"},
	} {
		_, err := apply(c.cmd)
		var re *FieldError
		if !errors.As(err, &re) || re.Field != c.field {
			t.Fatalf("%+v: err = %v, want a refusal naming %s", c.cmd, err, c.field)
		}
		if after, _ := e.Hash(); after != before || e.Tenant(beta).Status != TenantActive {
			t.Fatalf("%+v was refused but changed the state (status %v)", c.cmd, e.Tenant(beta).Status)
		}
	}

	// Accepted, every part is made, each with its event.
	host := "beta.example.com"
	ev, err := apply(&UpdateTenant{Tenant: beta, Host: &host, Status: &disabled})
	if err != nil {
		t.Fatal(err)
	}
	if tn := e.Tenant(beta); tn.Host != host || tn.Status != TenantDisabled {
		t.Fatalf("host %q status %v, want %q disabled", tn.Host, tn.Status, host)
	}
	if want := []EventKind{EvTenantUpdated, EvTenantStatusChanged}; !slices.Equal(eventKinds(ev), want) {
		t.Fatalf("events %v, want %v", eventKinds(ev), want)
	}
	// A status alone is a status change, not a profile update.
	active := TenantActive
	ev, err = apply(&UpdateTenant{Tenant: beta, Status: &active})
	if err != nil {
		t.Fatal(err)
	}
	if want := []EventKind{EvTenantStatusChanged}; !slices.Equal(eventKinds(ev), want) || e.Tenant(beta).Status != TenantActive {
		t.Fatalf("events %v status %v, want %v and active", eventKinds(ev), e.Tenant(beta).Status, want)
	}
}

func TestCreateAppIssuesItsKey(t *testing.T) {
	e := NewEngine()
	r, _, err := e.Apply(&CreateTenant{Profile: acmeProfile("Acme")}, tenantTestNow)
	if err != nil {
		t.Fatal(err)
	}
	admin := Target{Tenant: TenantID(r.ID), By: AsUser(1)}
	before, _ := e.Hash()
	_, _, err = e.Apply(&CreateApp{Target: admin, Name: "web", Domain: HomeDomain, KeyHash: "short"}, tenantTestNow)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "keyHash" {
		t.Fatalf("err = %v, want a refusal naming keyHash", err)
	}
	if after, _ := e.Hash(); after != before {
		t.Fatal("a refused CreateApp changed the state")
	}
	hash := strings.Repeat("cd", 32)
	r, ev, err := e.Apply(&CreateApp{Target: admin, Name: "web", Domain: HomeDomain, KeyHash: hash}, tenantTestNow)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := e.Tenant(admin.Tenant).Principal(hash); !ok || p != AsApp(AppID(r.ID)) {
		t.Fatalf("the key resolves to %v (found %v), want the application %d", p, ok, r.ID)
	}
	if want := []EventKind{EvObjectCreated, EvAPIKeyChanged}; !slices.Equal(eventKinds(ev), want) {
		t.Fatalf("events %v, want %v", eventKinds(ev), want)
	}
}

func TestKindNames(t *testing.T) {
	seen := map[string]Kind{}
	for k := KindCreateTenant; int(k) < len(commandMakers); k++ {
		if c, ok := NewCommand(k); !ok || c.Kind() != k {
			t.Fatalf("kind %d makes %T, which says it is kind %v", k, c, c)
		}
		name := k.String()
		if name == "" || strings.HasPrefix(name, "kind-") || strings.ToLower(name) != name {
			t.Fatalf("kind %d is named %q", k, name)
		}
		if other, dup := seen[name]; dup {
			t.Fatalf("kinds %d and %d are both %q", other, k, name)
		}
		seen[name] = k
	}
	for k, want := range map[Kind]string{KindCreateTenant: "create-tenant", KindUpdateCallback: "update-callback", KindDeleteQueue: "delete-queue", KindPutAPIKey: "put-api-key", KindRevokeAPIKey: "revoke-api-key"} {
		if got := k.String(); got != want {
			t.Errorf("%d is %q, want %q", k, got, want)
		}
	}
	if got := Kind(999).String(); got != "kind-999" {
		t.Errorf("an unknown kind is %q", got)
	}
}

// TestRepeatedCreateTenant: a create whose idempotency key already created
// a tenant creates nothing and gives that tenant's administrator the new
// key as one more; another body, or a deleted tenant, is refused with
// nothing changed; the key is remembered across a snapshot and forgotten
// after 24 hours.
func TestRepeatedCreateTenant(t *testing.T) {
	e := NewEngine()
	key1, key2, key3 := strings.Repeat("a1", 32), strings.Repeat("b2", 32), strings.Repeat("c3", 32)
	create := func(e *Engine, keyHash, body string, now time.Time) (TenantID, []Event, error) {
		r, ev, err := e.Apply(&CreateTenant{Profile: acmeProfile("Acme"), AdminKeyHash: keyHash, IdempotencyKey: "op-1", RequestHash: body}, now)
		return TenantID(r.ID), ev, err
	}
	first, _, err := create(e, key1, "body", tenantTestNow)
	if err != nil {
		t.Fatal(err)
	}
	again, ev, err := create(e, key2, "body", tenantTestNow.Add(time.Hour))
	if err != nil || again != first || len(e.Tenants) != 1 || e.NextTenant != first {
		t.Fatalf("repeat = tenant %d, %v (%d tenants, next %d), want tenant %d and nothing created", again, err, len(e.Tenants), e.NextTenant, first)
	}
	if !slices.Equal(eventKinds(ev), []EventKind{EvAPIKeyChanged}) {
		t.Fatalf("repeat events %v, want only %v", eventKinds(ev), EvAPIKeyChanged)
	}
	for _, k := range []string{key1, key2} {
		if p, ok := e.Tenant(first).Principal(k); !ok || p != AsUser(TenantAdmin) {
			t.Fatalf("key %.4s… resolves to %v (found %v), want the administrator", k, p, ok)
		}
	}

	refused := func(e *Engine, body string, now time.Time, want error) {
		t.Helper()
		before, _ := e.Hash()
		_, _, err := create(e, key3, body, now)
		var fe *FieldError
		if !errors.Is(err, want) || !errors.As(err, &fe) || fe.Field != "Idempotency-Key" {
			t.Fatalf("err = %v, want %v naming Idempotency-Key", err, want)
		}
		if after, _ := e.Hash(); after != before {
			t.Fatal("a refused repeat changed the state")
		}
	}
	refused(e, "another body", tenantTestNow.Add(time.Hour), ErrInvalid)

	// A snapshot keeps the key.
	restored := restoredCopy(t, e)
	if id, _, err := create(restored, key3, "body", tenantTestNow.Add(2*time.Hour)); err != nil || id != first || len(restored.Tenants) != 1 {
		t.Fatalf("repeat after restore = tenant %d, %v, %d tenants; want tenant %d", id, err, len(restored.Tenants), first)
	}

	// 24 hours on, the key is free: it creates a new tenant, and the old
	// entry is dropped.
	later, _, err := create(e, key3, "another body", tenantTestNow.Add(25*time.Hour))
	if err != nil || later == first {
		t.Fatalf("create after the window = tenant %d, %v; want a new tenant", later, err)
	}
	if len(e.createdOrder) != 1 || e.created["op-1"].Tenant != later {
		t.Fatalf("after the window the key maps to %+v (order %v), want only tenant %d", e.created["op-1"], e.createdOrder, later)
	}

	// The tenant it created is deleted: a repeat is refused, not re-created.
	if _, _, err := e.Apply(&DeleteTenant{Tenant: later}, tenantTestNow.Add(26*time.Hour)); err != nil {
		t.Fatal(err)
	}
	refused(e, "another body", tenantTestNow.Add(26*time.Hour), ErrConflict)
}

// TestDeleteQueueDropsItsMembers: a deleted queue leaves its members'
// memberships and their agents' routing slots, and a restored snapshot
// agrees.
func TestDeleteQueueDropsItsMembers(t *testing.T) {
	e := NewEngine()
	do := func(c Command) uint64 {
		t.Helper()
		r, _, err := e.Apply(c, tenantTestNow)
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	tid := TenantID(do(&CreateTenant{Profile: acmeProfile("Acme")}))
	admin := Target{Tenant: tid, By: AsUser(TenantAdmin)}
	old := QueueID(do(&CreateQueue{Target: admin, Name: "old", Domain: HomeDomain}))
	kept := QueueID(do(&CreateQueue{Target: admin, Name: "kept", Domain: HomeDomain}))
	ann := UserID(do(&CreateUser{Target: admin, Name: "ann", Home: HomeDomain, Grants: []Grant{{Role: RoleAgent, Scope: Scope{All: true}}},
		Positions: []Position{{Name: "desk", Domain: HomeDomain}}, Memberships: []Membership{{Queue: old, Tier: 1}, {Queue: kept, Tier: 2}}}))
	do(&DeleteQueue{Target: admin, Queue: old})

	tn := e.Tenant(tid)
	if got, want := tn.Users[ann].Memberships, []Membership{{Queue: kept, Tier: 2}}; !slices.Equal(got, want) {
		t.Fatalf("ann's memberships = %v, want %v", got, want)
	}
	var slots []QueueID
	for _, s := range tn.routing[HomeDomain].Agents[ann].Slots {
		slots = append(slots, s.Queue)
	}
	if !slices.Equal(slots, []QueueID{kept}) {
		t.Fatalf("ann's routing slots are in queues %v, want only %d", slots, kept)
	}
	if tn.Queues[old] != nil {
		t.Fatal("the queue is still there")
	}
	restored := restoredCopy(t, e)
	if must(e.Hash()) != must(restored.Hash()) {
		t.Fatal("a restored snapshot differs after a queue's deletion")
	}
}

// restoredCopy is e through a snapshot and back.
func restoredCopy(t *testing.T, e *Engine) *Engine {
	t.Helper()
	b, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	restored, err := Restore(b)
	if err != nil {
		t.Fatal(err)
	}
	return restored
}

// TestRecordRetention: finished callbacks are forgotten once older than
// the tenant's record retention, oldest first, freeing their bytes of the
// storage quota. A create that the quota would refuse forgets them first;
// an active callback holds back the ones after it; a refused create
// forgets nothing; a tick forgets too; a restored snapshot agrees.
func TestRecordRetention(t *testing.T) {
	e := NewEngine()
	now := tenantTestNow
	apply := func(c Command) (uint64, error) {
		r, _, err := e.Apply(c, now)
		return r.ID, err
	}
	p := DefaultPolicy()
	p.RecordRetention = 24 * time.Hour
	tid, err := apply(&CreateTenant{Profile: acmeProfile("Acme"), Policy: &p, Limits: Limits{StorageQuotaBytes: 250}})
	if err != nil {
		t.Fatal(err)
	}
	admin := Target{Tenant: TenantID(tid), By: AsUser(TenantAdmin)}
	q, _ := apply(&CreateQueue{Target: admin, Name: "q", Domain: HomeDomain})
	create := func(name, number string) (CallbackID, error) {
		id, err := apply(&CreateCallback{Target: admin, Queue: QueueID(q), CustomerName: name, Numbers: []string{number}})
		return CallbackID(id), err
	}
	cancel := func(id CallbackID) {
		t.Helper()
		if _, err := apply(&CancelCallback{Target: admin, Callback: id}); err != nil {
			t.Fatal(err)
		}
	}
	refused := func(what, name string, want error) {
		t.Helper()
		before, forgotten := must(e.Hash()), e.Tenant(TenantID(tid)).Forgotten
		if _, err := create(name, "+15550199"); !errors.Is(err, want) {
			t.Fatalf("%s: create = %v, want %v", what, err, want)
		}
		if must(e.Hash()) != before || e.Tenant(TenantID(tid)).Forgotten != forgotten {
			t.Fatalf("%s: the refused create forgot callbacks", what)
		}
	}
	tn := e.Tenant(TenantID(tid))
	var ids []CallbackID
	for _, n := range []string{"+15550101", "+15550102", "+15550103"} { // 78 bytes each
		id, err := create("Carol", n)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	refused("a fourth within 250 bytes", "Carol", ErrQuota)
	cancel(ids[0])

	// A day on, the first is past its retention: forgetting it makes room
	// for 78 bytes, not for 173, and a refusal forgets nothing.
	now = now.Add(25 * time.Hour)
	refused("no customer name", "", ErrInvalid)
	refused("173 bytes", strings.Repeat("x", 100), ErrQuota)
	id4, err := create("Carol", "+15550104")
	if err != nil {
		t.Fatalf("create after the retention = %v, want room made", err)
	}
	if tn.Forgotten != ids[0] || tn.StorageUsed != 3*78 {
		t.Fatalf("forgotten through %d, %d bytes used; want through %d and %d", tn.Forgotten, tn.StorageUsed, ids[0], 3*78)
	}
	// The second, still waiting, holds back the third, finished.
	cancel(ids[2])
	refused("the second still waiting", "Carol", ErrQuota)
	// Once it is finished, a tick forgets both.
	cancel(ids[1])
	if _, err := apply(&Tick{}); err != nil {
		t.Fatal(err)
	}
	if tn.Forgotten != ids[2] || tn.StorageUsed != 78 || tn.Usage().StorageBytes != 78 {
		t.Fatalf("after a tick: forgotten through %d, %d bytes used; want through %d and 78", tn.Forgotten, tn.StorageUsed, ids[2])
	}
	if tn.Callbacks.base != ids[2] || tn.Callbacks.Len() != 4 || tn.Callbacks.Kept() != 1 {
		t.Fatalf("three of four forgotten: the table keeps slots from %d, Len %d, Kept %d; want from %d, 4 and 1", tn.Callbacks.base, tn.Callbacks.Len(), tn.Callbacks.Kept(), ids[2])
	}
	if _, err := tn.Callback(AsUser(TenantAdmin), ids[1]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a forgotten callback reads %v, want not found", err)
	}
	if _, err := tn.Callback(AsUser(TenantAdmin), id4); err != nil {
		t.Fatalf("the kept callback: %v", err)
	}
	restored := restoredCopy(t, e)
	if must(restored.Hash()) != must(e.Hash()) || restored.Tenant(TenantID(tid)).Forgotten != ids[2] {
		t.Fatal("a restored snapshot differs after forgetting")
	}
}
