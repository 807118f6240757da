package actors

import (
	"testing"
	"time"
)

func TestSmoke(t *testing.T) {
	e := NewEngine()
	now := time.Unix(1_800_000_000, 0)
	must := func(cmd Command) Result {
		t.Helper()
		r, ev, err := e.Apply(cmd, now)
		if err != nil {
			t.Fatalf("%T: %v", cmd, err)
		}
		for _, x := range ev {
			t.Log(x)
		}
		return r
	}
	tid := TenantID(must(&CreateTenant{Profile: Profile{CompanyName: "Acme", AdminUsername: "ada", AdminEmail: "ada@acme.test", AdminFirstName: "Ada"}}).ID)
	admin := Target{Tenant: tid, By: AsUser(1)}
	q := QueueID(must(&CreateQueue{Target: admin, Name: "support", Domain: HomeDomain}).ID)
	ag := UserID(must(&CreateUser{Target: admin, Name: "bob", Home: HomeDomain, Grants: []Grant{{Role: RoleAgent, Scope: Scope{Domains: []DomainID{HomeDomain}}}}, Memberships: []Membership{{Queue: q, Tier: 1}}}).ID)
	code := CodeID(must(&CreateCode{Target: admin, CodeKind: WrapUpCode, Name: "resolved"}).ID)
	must(&SetPresence{Target: Target{Tenant: tid, By: AsUser(ag)}, Agent: ag, Presence: Available})
	cb := CallbackID(must(&CreateCallback{Target: admin, Queue: q, CustomerName: "Carol", Numbers: []string{"+15550100"}}).ID)
	c := e.Tenant(tid).routing[HomeDomain].callback(cb)
	if c.Status != Offered || c.Agent != ag {
		t.Fatalf("callback %v agent %v", c.Status, c.Agent)
	}
	now = now.Add(time.Second)
	must(&AcceptOffer{Target: Target{Tenant: tid, By: AsUser(ag)}, Callback: cb, Offer: c.Offer})
	must(&CompleteCallback{Target: Target{Tenant: tid, By: AsUser(ag)}, Callback: cb, Disposition: code})
	if c.Status != Completed {
		t.Fatalf("status %v", c.Status)
	}
	h1, _ := e.Hash()
	b, _ := e.Snapshot()
	e2, err := Restore(b)
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := e2.Hash()
	if h1 != h2 {
		t.Fatal("hash differs after restore")
	}
}
