package actors

import (
	"testing"
	"time"
)

// FuzzRestore decodes arbitrary snapshot bytes: never a panic, and what
// decodes encodes back to the same state.
//
//	go test ./actors -run '^$' -fuzz FuzzRestore -fuzztime 60s
func FuzzRestore(f *testing.F) {
	e := NewEngine()
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	_, _, _ = e.Apply(&CreateTenant{Profile: Profile{CompanyName: "Acme", AdminUsername: "ada", AdminEmail: "ada@acme.test", AdminFirstName: "Ada"}, IdempotencyKey: "op-1", RequestHash: "body"}, now)
	q, _, _ := e.Apply(&CreateQueue{Target: Target{Tenant: 1, By: AsUser(1)}, Name: "q", Domain: HomeDomain}, now)
	_, _, _ = e.Apply(&CreateCallback{Target: Target{Tenant: 1, By: AsUser(1)}, Queue: QueueID(q.ID), CustomerName: "C", Numbers: []string{"+15550100"}}, now)
	snap, err := e.Snapshot()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(snap)
	f.Add([]byte(`{"version":1,"tenants":[]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Restore(b)
		if err != nil {
			return
		}
		out, err := r.Snapshot()
		if err != nil {
			t.Fatalf("a restored engine does not encode: %v", err)
		}
		again, err := Restore(out)
		if err != nil {
			t.Fatalf("re-encoded snapshot does not decode: %v", err)
		}
		if h1, _ := r.Hash(); h1 != must(again.Hash()) {
			t.Fatal("snapshot round trip changed the state")
		}
	})
}

func must(h [32]byte, err error) [32]byte {
	if err != nil {
		panic(err)
	}
	return h
}
