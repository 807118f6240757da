package cluster

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/ringbackhq/ringback/actors"
)

// freedCount drains and counts the places freed so far.
func freedCount(pl *places) int {
	n := 0
	for {
		select {
		case <-pl.freed:
			n++
		default:
			return n
		}
	}
}

func newTestEntry(data string, proposers int) *entry {
	e := &entry{data: []byte(data)}
	for range proposers {
		e.batch = append(e.batch, &proposal{done: make(chan proposalResult, 1)})
	}
	return e
}

// An entry's place is freed once, by whichever comes first of the FSM
// starting to apply it and its outcome; the FSM recognises an entry by its
// memory, not by equal bytes.
func TestPlacesFreeEachEntryOnce(t *testing.T) {
	pl := newPlaces()
	e1, e2 := newTestEntry("entry", 1), newTestEntry("entry", 1)
	pl.add(e1)
	pl.add(e2)

	pl.applying(bytes.Clone(e1.data)) // equal bytes, other memory: a follower's copy
	if n := freedCount(pl); n != 0 {
		t.Fatalf("a copy of the entry freed %d places, want 0", n)
	}
	pl.applying(e2.data) // not the oldest: entries apply in order
	if n := freedCount(pl); n != 0 {
		t.Fatalf("the second entry, applying first, freed %d places, want 0", n)
	}
	pl.applying(e1.data)
	if n := freedCount(pl); n != 1 {
		t.Fatalf("applying the first entry freed %d places, want 1", n)
	}
	pl.done(e1)
	if n := freedCount(pl); n != 0 {
		t.Fatalf("the outcome of an entry already applying freed %d more places, want 0", n)
	}
	pl.done(e2) // failed before the FSM saw it
	if n := freedCount(pl); n != 1 {
		t.Fatalf("the second entry's outcome freed %d places, want 1", n)
	}
	if len(pl.queue) != 0 {
		t.Fatalf("%d entries left in the queue, want 0", len(pl.queue))
	}
}

// The FSM answers the proposers of the entry it is applying, once; after
// that resultLoop may not (claim), and the FSM never answers an entry it
// did not recognise.
func TestPlacesAnswerFromFSMOnce(t *testing.T) {
	pl := newPlaces()
	e := newTestEntry("entry", 2)
	pl.add(e)
	pl.applying(e.data)
	outs := []actors.Outcome{{Result: actors.Result{ID: 7}}, {Result: actors.Result{ID: 8}}}
	pl.applied(e.data, outs)
	for i, pr := range e.batch {
		select {
		case r := <-pr.done:
			if r.err != nil || r.out.Result.ID != outs[i].Result.ID {
				t.Fatalf("proposer %d got %+v, want outcome %d", i, r, outs[i].Result.ID)
			}
		default:
			t.Fatalf("proposer %d got no answer from the FSM", i)
		}
	}
	if e.claim() {
		t.Fatal("resultLoop could claim an entry the FSM answered")
	}

	other := newTestEntry("other", 1)
	pl.add(other)
	pl.applying(bytes.Clone(other.data))
	pl.applied(other.data, []actors.Outcome{{}})
	if len(other.batch[0].done) != 0 {
		t.Fatal("the FSM answered an entry it had not recognised when it started")
	}
	if !other.claim() {
		t.Fatal("resultLoop could not claim an entry the FSM left")
	}
	if got := pl.fromFSM.Load(); got != 1 {
		t.Fatalf("fromFSM = %d, want 1", got)
	}
}

// On a leader, the FSM answers proposals itself: every acknowledged
// command's outcome arrives, and hashicorp/raft still hands the FSM the
// very entry it was given (if an upgrade stops doing so, the fast path is
// gone and this fails).
func TestLeaderAnswersFromFSM(t *testing.T) {
	c := newTestCluster(t, 1, nil)
	l := c.nodes[c.leader()]
	tid, q := seedTenant(t, l, "acme")
	before := l.prop.places.fromFSM.Load()
	const n = 200
	ids := make([]uint64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := l.Propose(context.Background(), createCallback(tid, q, i))
			if err != nil || out.Err != nil {
				t.Errorf("create %d: %v, %v", i, err, out.Err)
				return
			}
			ids[i] = out.Result.ID
		}()
	}
	wg.Wait()
	seen := map[uint64]bool{}
	for i, id := range ids {
		if id == 0 || seen[id] {
			t.Fatalf("create %d answered id %d: missing or given twice", i, id)
		}
		seen[id] = true
	}
	if got := l.prop.places.fromFSM.Load() - before; got == 0 {
		t.Fatal("no entry was answered by the FSM: raft no longer hands the leader's FSM the entry it was given")
	}
	var waiting int
	if err := l.Read(context.Background(), true, tid, func(tn *actors.Tenant) error {
		tn.EachCallback(actors.AsUser(1), func(c actors.Callback) {
			if c.Status == actors.Queued {
				waiting++
			}
		})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if waiting != n {
		t.Fatalf("%d callbacks waiting, want %d", waiting, n)
	}
}
