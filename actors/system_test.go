package actors

import (
	"errors"
	"testing"
	"time"
)

// TestQueryDeletedTenant: a query answers "not found" for a tenant that
// does not exist, and for one deleted while the query was on its way to
// the tenant's (now stopped) actor; it never waits for an answer that
// cannot come.
func TestQueryDeletedTenant(t *testing.T) {
	s := NewSystem(NewEngine())
	defer s.Stop()
	now := time.Unix(1_800_000_000, 0)
	res, _, err := s.Apply(&CreateTenant{Profile: Profile{CompanyName: "Acme", AdminUsername: "ada", AdminEmail: "ada@acme.test", AdminFirstName: "Ada"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	tid := TenantID(res.ID)
	read := func(*Tenant) error { return nil }
	if err := s.Query(tid, read); err != nil {
		t.Fatalf("query of a live tenant: %v", err)
	}
	if err := s.Query(tid+1, read); !errors.Is(err, ErrNotFound) {
		t.Fatalf("query of a tenant that never was = %v, want not found", err)
	}
	// A query that looked the actor up just before the deletion reaches it
	// stopping or stopped.
	stale := s.tenantRef(tid)
	if _, _, err := s.Apply(&DeleteTenant{Tenant: tid}, now); err != nil {
		t.Fatal(err)
	}
	if err := s.queryAt(stale, read); !errors.Is(err, ErrNotFound) {
		t.Fatalf("query through the deleted tenant's actor = %v, want not found", err)
	}
	res, _, err = s.Apply(&CreateTenant{Profile: Profile{CompanyName: "Acme", AdminUsername: "ada", AdminEmail: "ada@acme.test", AdminFirstName: "Ada"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	tid = TenantID(res.ID)
	// A query on its way to the tenant's actor when the tenant is deleted:
	// the actor may stop with it unread, and it must still be answered.
	for range 20 {
		stop := make(chan struct{})
		answered := make(chan error, 1)
		go func() {
			<-stop
			answered <- s.Query(tid, read)
		}()
		close(stop)
		if _, _, err := s.Apply(&DeleteTenant{Tenant: tid}, now); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-answered:
			if err != nil && !errors.Is(err, ErrNotFound) {
				t.Fatalf("query racing the deletion = %v, want nil or not found", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a query racing its tenant's deletion was never answered")
		}
		if err := s.Query(tid, read); !errors.Is(err, ErrNotFound) {
			t.Fatalf("query of a deleted tenant = %v, want not found", err)
		}
		res, _, err := s.Apply(&CreateTenant{Profile: Profile{CompanyName: "Acme", AdminUsername: "ada", AdminEmail: "ada@acme.test", AdminFirstName: "Ada"}}, now)
		if err != nil {
			t.Fatal(err)
		}
		tid = TenantID(res.ID)
	}
}
