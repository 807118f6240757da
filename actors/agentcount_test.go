package actors

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// The agent limit is checked against a count the tenant keeps as users are
// created, promoted, demoted and deleted, and rebuilds on restore.
func TestAgentLimitFollowsUsers(t *testing.T) {
	e := NewEngine()
	now := time.Unix(1_800_000_000, 0)
	r, _, err := e.Apply(&CreateTenant{Profile: Profile{CompanyName: "Acme", AdminUsername: "ada", AdminEmail: "ada@acme.test", AdminFirstName: "Ada"},
		Limits: Limits{MaxAgents: 2}}, now)
	if err != nil {
		t.Fatal(err)
	}
	admin := Target{Tenant: TenantID(r.ID), By: AsUser(1)}
	agentGrant := []Grant{{Role: RoleAgent, Scope: Scope{All: true}}}
	supervisorGrant := []Grant{{Role: RoleSupervisor, Scope: Scope{All: true}}}
	n := 0
	create := func(grants []Grant) (UserID, error) {
		n++
		r, _, err := e.Apply(&CreateUser{Target: admin, Name: fmt.Sprint("u", n), Home: HomeDomain, Grants: grants}, now)
		return UserID(r.ID), err
	}
	must := func(id UserID, err error) UserID {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	del := func(id UserID) {
		t.Helper()
		if _, _, err := e.Apply(&DeleteUser{Target: admin, User: id}, now); err != nil {
			t.Fatal(err)
		}
	}
	refused := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrLimit) {
			t.Errorf("%s: %v, want the agent limit", what, err)
		}
	}
	a := must(create(agentGrant))
	b := must(create(agentGrant))
	_, err = create(agentGrant)
	refused("third agent", err)
	s := must(create(supervisorGrant)) // not an agent: not counted
	_, _, err = e.Apply(&UpdateUser{Target: admin, User: s, Grants: &agentGrant, Positions: &[]Position{{Name: "p", Domain: HomeDomain}}}, now)
	refused("promoting a supervisor past the limit", err)

	// Demoting an agent frees a place.
	if _, _, err := e.Apply(&UpdateUser{Target: admin, User: b, Grants: &supervisorGrant, Positions: &[]Position{}}, now); err != nil {
		t.Fatal(err)
	}
	c := must(create(agentGrant))
	_, err = create(agentGrant)
	refused("agent after demote and create", err)

	// Deleting an agent frees a place; deleting a non-agent does not.
	del(s)
	_, err = create(agentGrant)
	refused("agent after deleting a supervisor", err)
	del(a)
	must(create(agentGrant))

	// A restored tenant counts the same.
	snap, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if e, err = Restore(snap); err != nil {
		t.Fatal(err)
	}
	_, err = create(agentGrant)
	refused("agent after restore", err)
	del(c)
	must(create(agentGrant))
	if got := e.Tenants[admin.Tenant].agents; got != 2 {
		t.Errorf("agents counted %d, want 2", got)
	}
}
