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
	snap, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	e2, err := Restore(snap)
	if err != nil {
		t.Fatal(err)
	}
	if at := got(e2); !slices.Equal(at, tail) {
		t.Fatalf("restored audit holds %d entries, want %d oldest first", len(at), auditKeep)
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
