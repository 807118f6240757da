package actors

import (
	"errors"
	"slices"
	"strings"
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

// recordingInvoker handles a mailbox's messages by recording them; onUser
// runs inside the handling of each user message.
type recordingInvoker struct {
	handled []any
	onUser  func(msg any)
}

func (r *recordingInvoker) InvokeSystemMessage(msg any) { r.handled = append(r.handled, msg) }
func (r *recordingInvoker) InvokeUserMessage(msg any) {
	r.handled = append(r.handled, msg)
	if r.onUser != nil {
		r.onUser(msg)
	}
}
func (r *recordingInvoker) EscalateFailure(reason any, _ any) { panic(reason) }

// recordedMailbox is a tenant mailbox whose messages are recorded; the
// channel receives it when it is handed to the workers.
func recordedMailbox() (*poolMailbox, *recordingInvoker, chan *poolMailbox) {
	work := make(chan *poolMailbox, 1)
	m := &poolMailbox{work: work}
	inv := &recordingInvoker{}
	m.RegisterHandlers(inv, nil)
	return m, inv, work
}

// workerDrains plays the worker the mailbox was handed to; what names
// the message expected to have been handed on, for the failure message.
func workerDrains(t *testing.T, work chan *poolMailbox, what string) {
	t.Helper()
	select {
	case m := <-work:
		m.mu.Lock()
		m.drain()
	default:
		t.Fatalf("%s was not handed to the workers", what)
	}
}

// wantHandled fails unless the invoker handled exactly want, in order.
func wantHandled(t *testing.T, inv *recordingInvoker, why string, want ...any) {
	t.Helper()
	if !slices.Equal(inv.handled, want) {
		t.Fatalf("%s: handled %v, want %v", why, inv.handled, want)
	}
}

// TestSenderRunsOnlyItsBatch: ApplyBatches' last batch runs on the sender's
// goroutine when the tenant actor is idle, and only that batch: a message
// that arrives meanwhile (a query, say) is handed to the workers, so it
// never holds up the log's apply path.
func TestSenderRunsOnlyItsBatch(t *testing.T) {
	m, inv, work := recordedMailbox()
	batch, query := &Batch{here: true}, "query"
	inv.onUser = func(msg any) {
		if msg == any(batch) {
			m.PostUserMessage(query) // arrives while the batch runs
		}
	}

	m.PostUserMessage(batch)
	wantHandled(t, inv, "the sender runs its batch only", batch)
	workerDrains(t, work, "the query")
	wantHandled(t, inv, "the batch, then the query", batch, query)

	// Idle again: a batch not marked here goes to the workers.
	other := &Batch{}
	m.PostUserMessage(other)
	wantHandled(t, inv, "a batch not marked here waits for a worker", batch, query)
	workerDrains(t, work, "the other batch")
	wantHandled(t, inv, "the other batch last", batch, query, other)
}

// TestAskerRunsQueryWhenIdle: a query to an idle tenant actor runs on the
// asker's goroutine (which would only wait); one that arrives while the
// actor is busy goes to the workers like any other message.
func TestAskerRunsQueryWhenIdle(t *testing.T) {
	m, inv, work := recordedMailbox()
	idleQuery, busyQuery, batch := &queryMsg{}, &queryMsg{}, &Batch{here: true}
	inv.onUser = func(msg any) {
		if msg == any(batch) {
			m.PostUserMessage(busyQuery)
		}
	}

	m.PostUserMessage(idleQuery)
	wantHandled(t, inv, "a query to an idle actor runs on the asker", idleQuery)
	select {
	case <-work:
		t.Fatal("a query the asker ran was also handed to the workers")
	default:
	}

	m.PostUserMessage(batch)
	wantHandled(t, inv, "a query that arrives while the actor is busy waits for a worker", idleQuery, batch)
	workerDrains(t, work, "the busy query")
	wantHandled(t, inv, "the busy query last, by a worker", idleQuery, batch, busyQuery)
}

// TestRepeatedCreateTenantKeepsItsActor: through the actor system, a
// repeated tenant create runs in the tenant's own actor (it adds a key to
// the tenant's state) and never spawns a second actor for the tenant.
func TestRepeatedCreateTenantKeepsItsActor(t *testing.T) {
	s := NewSystem(NewEngine())
	defer s.Stop()
	now := time.Unix(1_800_000_000, 0)
	create := &CreateTenant{Profile: Profile{CompanyName: "Acme", AdminUsername: "ada", AdminEmail: "ada@acme.test", AdminFirstName: "Ada"},
		IdempotencyKey: "op-1", RequestHash: "body"}
	res, _, err := s.Apply(create, now)
	if err != nil {
		t.Fatal(err)
	}
	tid := TenantID(res.ID)
	ref := s.tenantRef(tid)
	again := *create
	again.AdminKeyHash = strings.Repeat("ab", 32)
	res, ev, err := s.Apply(&again, now)
	if err != nil || TenantID(res.ID) != tid {
		t.Fatalf("repeat = tenant %d, %v; want tenant %d", res.ID, err, tid)
	}
	if len(ev) != 1 || ev[0].Kind != EvAPIKeyChanged || ev[0].Tenant != tid {
		t.Fatalf("repeat events %+v, want one key change of tenant %d", ev, tid)
	}
	if s.tenantRef(tid) != ref {
		t.Fatal("the repeat spawned a second actor for the tenant")
	}
	err = s.Query(tid, func(tn *Tenant) error {
		if p, ok := tn.Principal(again.AdminKeyHash); !ok || p != AsUser(TenantAdmin) {
			t.Errorf("the repeat's key resolves to %v (found %v), want the administrator", p, ok)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
