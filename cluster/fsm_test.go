package cluster

import (
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/ringbackhq/ringback/actors"
)

// TestFSMPublishesEachRun applies one entry whose tenant commands are split
// into two runs by an operator command (the second run reuses the first's
// buffers) and checks that OnEvents sees exactly the events the pure
// engine emits for the same commands, in order, that the outcomes carry
// the engine's results and no events, and that the state is the engine's.
func TestFSMPublishesEachRun(t *testing.T) {
	profile := actors.Profile{CompanyName: "Acme", AdminUsername: "ada", AdminEmail: "ada@acme.test", AdminFirstName: "Ada"}
	admin := func(tenant actors.TenantID) actors.Target { return actors.Target{Tenant: tenant, By: actors.AsUser(1)} }
	create := func(tenant actors.TenantID, n string) *actors.CreateCallback {
		return &actors.CreateCallback{Target: admin(tenant), Queue: 1, CustomerName: "C", Numbers: []string{n}}
	}
	cmds := []actors.Command{
		&actors.CreateTenant{Profile: profile, Limits: actors.Limits{MaxAgents: 5, StorageQuotaBytes: 1 << 20}},
		&actors.CreateQueue{Target: admin(1), Name: "q", Domain: actors.HomeDomain},
		create(1, "+15550101"), create(1, "+15550102"),
		&actors.CreateTenant{Profile: profile, Limits: actors.Limits{MaxAgents: 5, StorageQuotaBytes: 1 << 20}},
		&actors.CreateQueue{Target: admin(2), Name: "q", Domain: actors.HomeDomain},
		create(2, "+15550201"), create(1, "+15550103"), create(1, "+15550101"), // the last is a duplicate: refused
	}
	now := time.Unix(1_800_000_000, 0)

	e := actors.NewEngine()
	var want []actors.Event
	var results []actors.Result
	var refused []bool
	for _, c := range cmds {
		r, ev, err := e.Apply(c, now)
		want = append(want, ev...)
		results, refused = append(results, r), append(refused, err != nil)
	}

	f := NewFSM()
	defer f.Close()
	var got []actors.Event
	f.onEvents = func(ev []actors.Event) { got = append(got, ev...) }
	data, err := EncodeEntry(nil, Entry{Time: now.UnixNano(), Commands: cmds})
	if err != nil {
		t.Fatal(err)
	}
	outs := f.ApplyBatch([]*raft.Log{{Index: 1, Term: 1, Type: raft.LogCommand, Data: data}})[0].([]actors.Outcome)

	if !slices.Equal(got, want) {
		t.Fatalf("published %d events, want the engine's %d:\ngot  %v\nwant %v", len(got), len(want), got, want)
	}
	for i, o := range outs {
		if o.Result != results[i] || (o.Err != nil) != refused[i] || o.Events != nil {
			t.Errorf("command %d (%T): outcome %+v, want result %+v, refused %v, no events", i, cmds[i], o, results[i], refused[i])
		}
	}
	wantState, _ := e.Hash()
	_, gotState, err := f.State()
	if err != nil || gotState != wantState {
		t.Fatalf("state hash %x (err %v), want the engine's %x", gotState[:8], err, wantState[:8])
	}
}
