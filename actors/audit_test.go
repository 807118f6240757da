package actors

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAuditKeepsNewest records more commands than the trail keeps and
// checks that it holds exactly the newest auditKeep, oldest first, and that
// a snapshot carries them in that order.
func TestAuditKeepsNewest(t *testing.T) {
	e, tid, admin, now := newAcme(t)
	var want []int64 // times of every command audited after the tenant's creation
	for i := range auditKeep + 357 {
		now = now.Add(time.Second)
		if _, _, err := e.Apply(&RenameDomain{Target: admin, Domain: HomeDomain, Name: "Home " + strconv.Itoa(i)}, now); err != nil {
			t.Fatal(err)
		}
		want = append(want, now.UnixNano())
	}
	got := func(e *Engine) []int64 {
		var at []int64
		for a := range e.Tenant(tid).Audit.All() {
			at = append(at, a.At)
		}
		return at
	}
	tail := want[len(want)-auditKeep:]
	if at := got(e); !slices.Equal(at, tail) {
		t.Fatalf("audit holds %d entries from %d to %d, want the newest %d (%d to %d)", len(at), at[0], at[len(at)-1], auditKeep, tail[0], tail[len(tail)-1])
	}
	b, err := json.Marshal(e.Tenant(tid).Audit)
	if err != nil {
		t.Fatal(err)
	}
	var list []AuditEntry
	if err := json.Unmarshal(b, &list); err != nil || len(list) != auditKeep || list[0].At != tail[0] {
		t.Fatalf("encoded audit: %d entries, first at %d, err %v; want %d from %d", len(list), list[0].At, err, auditKeep, tail[0])
	}
	if at := got(restoredCopy(t, e)); !slices.Equal(at, tail) {
		t.Fatalf("restored audit holds %d entries, want %d oldest first", len(at), auditKeep)
	}
}

// TestAuditKeepsConfigurationApartFromWork: a busy stretch of callbacks
// never pushes out who changed the configuration. Each part keeps its
// newest auditKeep entries, both read merged oldest first, and a restored
// snapshot (or one written before the split, a single list) reads the same.
func TestAuditKeepsConfigurationApartFromWork(t *testing.T) {
	e, tid, admin, now := newAcme(t)
	r, _, err := e.Apply(&CreateQueue{Target: admin, Name: "q", Domain: HomeDomain}, now)
	if err != nil {
		t.Fatal(err)
	}
	queueAt := now.UnixNano()
	for i := range auditKeep + 200 {
		now = now.Add(time.Second)
		c, _, err := e.Apply(&CreateCallback{Target: admin, Queue: QueueID(r.ID), CustomerName: "Carol", Numbers: []string{"+1555" + strconv.Itoa(1_000_000+i)}}, now)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.Apply(&CancelCallback{Target: admin, Callback: CallbackID(c.ID)}, now); err != nil {
			t.Fatal(err)
		}
	}
	entries := func(e *Engine) []AuditEntry { return slices.Collect(e.Tenant(tid).Audit.All()) }
	got := entries(e)
	config := slices.IndexFunc(got, func(a AuditEntry) bool { return a.Kind == KindCreateQueue })
	if config < 0 || got[config].At != queueAt || got[config].Object != r.ID {
		t.Fatalf("the queue's creation is gone from the audit after %d callbacks", auditKeep+200)
	}
	activity := 0
	for i, a := range got {
		if a.Kind.IsActivity() {
			activity++
		}
		if i > 0 && a.At < got[i-1].At {
			t.Fatalf("entry %d at %d comes after one at %d: not oldest first", i, a.At, got[i-1].At)
		}
	}
	if activity != auditKeep || got[len(got)-1].Kind != KindCancelCallback {
		t.Fatalf("%d entries of activity, the last %s; want the newest %d, ending with a cancel", activity, got[len(got)-1].Kind, auditKeep)
	}
	if back := entries(restoredCopy(t, e)); !slices.Equal(back, got) {
		t.Fatalf("a restored snapshot's audit differs: %d entries against %d", len(back), len(got))
	}
	// Written before the split: one list, both parts mixed, oldest first.
	old, _ := json.Marshal([]AuditEntry{{At: 1, Kind: KindCreateCallback}, {At: 2, Kind: KindCreateQueue, Object: 4}, {At: 3, Kind: KindCancelCallback}})
	var a auditTrail
	if err := json.Unmarshal(old, &a); err != nil || len(a.config.ring) != 1 || len(a.activity.ring) != 2 {
		t.Fatalf("the single list decoded as %d configuration and %d activity entries, %v", len(a.config.ring), len(a.activity.ring), err)
	}
	if again, _ := json.Marshal(a); string(again) != string(old) {
		t.Fatalf("re-encoded as %s, want %s", again, old)
	}
}

// TestAuditNamesTheObject: every audited change names what it acted on,
// not only the creates: the renamed or deleted domain, the updated or
// deleted user, the agent whose presence changed, the queue whose members
// changed, the canceled callback.
func TestAuditNamesTheObject(t *testing.T) {
	e, tid, admin, now := newAcme(t)
	apply := func(c Command) uint64 {
		t.Helper()
		now = now.Add(time.Second)
		r, _, err := e.Apply(c, now)
		if err != nil {
			t.Fatalf("%T: %v", c, err)
		}
		return r.ID
	}
	last := func() AuditEntry {
		var a AuditEntry
		for a = range e.Tenant(tid).Audit.All() {
		}
		return a
	}
	dom := DomainID(apply(&CreateDomain{Target: admin, Name: "Sales", Parent: HomeDomain}))
	agentGrant := []Grant{{Role: RoleAgent, Scope: Scope{All: true}}}
	agent := UserID(apply(&CreateUser{Target: admin, Name: "ann", Home: HomeDomain, Grants: agentGrant, Positions: []Position{{Name: "p", Domain: HomeDomain}}}))
	q := QueueID(apply(&CreateQueue{Target: admin, Name: "q", Domain: HomeDomain}))
	cb := CallbackID(apply(&CreateCallback{Target: admin, Queue: q, CustomerName: "Carol", Numbers: []string{"+15550100"}}))
	name := "Care"
	for _, c := range []struct {
		cmd  Command
		want uint64
	}{
		{&RenameDomain{Target: admin, Domain: dom, Name: name}, uint64(dom)},
		{&UpdateUser{Target: admin, User: agent, Memberships: &[]Membership{{Queue: q, Tier: 1}}}, uint64(agent)},
		{&SetQueueMembers{Target: admin, Queue: q, Members: []Member{{Agent: agent, Tier: 2}}}, uint64(q)},
		{&SetPresence{Target: admin, Agent: agent, Presence: Offline}, uint64(agent)},
		{&CancelCallback{Target: admin, Callback: cb}, uint64(cb)},
		{&DeleteUser{Target: admin, User: agent}, uint64(agent)},
		{&DeleteDomain{Target: admin, Domain: dom}, uint64(dom)},
	} {
		apply(c.cmd)
		if a := last(); a.Kind != c.cmd.Kind() || a.Object != c.want {
			t.Errorf("%s: the audit says %s of object %d, want object %d", c.cmd.Kind(), a.Kind, a.Object, c.want)
		}
	}
}

// TestCallbackIdentifiersFit32Bits: once a tenant has given out the last
// 32-bit callback identifier, a new callback is refused with a limit
// error and nothing changes.
func TestCallbackIdentifiersFit32Bits(t *testing.T) {
	e, tid, admin, now := newAcme(t)
	q, _, err := e.Apply(&CreateQueue{Target: admin, Name: "q", Domain: HomeDomain}, now)
	if err != nil {
		t.Fatal(err)
	}
	create := &CreateCallback{Target: admin, Queue: QueueID(q.ID), CustomerName: "C", Numbers: []string{"+15550100"}}
	if _, _, err := e.Apply(create, now); err != nil {
		t.Fatal(err)
	}
	e.Tenant(tid).Next.Callback = maxCallbacks
	create.Numbers = []string{"+15550101"}
	before, _ := e.Hash()
	if _, _, err := e.Apply(create, now); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "callbacks") {
		t.Fatalf("callback %d: err %v, want ErrLimit naming callbacks", uint64(maxCallbacks)+1, err)
	}
	if after, _ := e.Hash(); after != before {
		t.Fatal("a refused callback changed the state")
	}
}

// newAcme returns an engine with one tenant, its administrator and the
// time it was created at.
func newAcme(t *testing.T) (*Engine, TenantID, Target, time.Time) {
	t.Helper()
	e := NewEngine()
	now := time.Unix(1_800_000_000, 0)
	r, _, err := e.Apply(&CreateTenant{Profile: Profile{CompanyName: "Acme", AdminUsername: "ada", AdminEmail: "ada@acme.test", AdminFirstName: "Ada"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	tid := TenantID(r.ID)
	return e, tid, Target{Tenant: tid, By: AsUser(1)}, now
}
