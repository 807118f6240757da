package actors

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// lineFixture is a waiting line of n callbacks in a callback table, with
// random priorities and due times from a seeded source.
func lineFixture(n int, rng *rand.Rand) (callbackHeap, *callbackTable, []*Callback) {
	tab := &callbackTable{slots: make([]callbackSlot, n+1)}
	cbs := make([]*Callback, n+1)
	var h callbackHeap
	for id := 1; id <= n; id++ {
		c := &Callback{ID: CallbackID(id), Priority: int32(rng.IntN(3)), Due: int64(rng.IntN(1000))}
		cbs[id], tab.slots[id].c = c, c
		h.push(c, tab)
	}
	return h, tab, cbs
}

// checkLine fails unless h is a heap whose places the table records.
func checkLine(t *testing.T, h callbackHeap, tab *callbackTable) {
	t.Helper()
	for i := range h {
		if got := tab.slots[h[i].id].heapIdx; int(got) != i {
			t.Fatalf("callback %d is at %d, the table says %d", h[i].id, i, got)
		}
		for c := lineArity*i + 1; c < min(lineArity*i+1+lineArity, len(h)); c++ {
			if h[c].before(&h[i]) {
				t.Fatalf("child %d comes before its parent %d", c, i)
			}
		}
	}
}

// The line gives callbacks in the order of their keys whatever the order
// of pushes and removals, and the table always knows where each one is.
func TestLineHeapOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 5, 17, 300} {
		h, tab, cbs := lineFixture(n, rng)
		checkLine(t, h, tab)
		// Remove a third from anywhere, then push them back changed.
		var removed []*Callback
		for _, id := range rng.Perm(n)[:n/3] {
			c := cbs[id+1]
			h.remove(c, tab)
			if tab.slots[c.ID].heapIdx != -1 {
				t.Fatalf("removed callback %d still has a place", c.ID)
			}
			checkLine(t, h, tab)
			removed = append(removed, c)
		}
		for _, c := range removed {
			c.Priority, c.Due = int32(rng.IntN(3)), int64(rng.IntN(1000))
			h.push(c, tab)
			checkLine(t, h, tab)
		}
		want := make([]lineKey, 0, n)
		for _, c := range cbs[1:] {
			want = append(want, keyOf(c))
		}
		slices.SortFunc(want, func(a, b lineKey) int {
			if a.before(&b) {
				return -1
			}
			return 1
		})
		for i, k := range want {
			head := h[0]
			if head != k {
				t.Fatalf("n=%d: pop %d gave %+v, want %+v", n, i, head, k)
			}
			h.remove(tab.slots[head.id].c, tab)
			checkLine(t, h, tab)
		}
	}
}

// BenchmarkLineHeap takes the head of a line and puts it back at the end,
// as each offer and failed attempt of the routing benchmark does.
func BenchmarkLineHeap(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprint("waiting=", n), func(b *testing.B) {
			h, tab, cbs := lineFixture(n, rand.New(rand.NewPCG(1, 2)))
			// One priority and dues in creation order, as in a busy
			// centre's line.
			for _, c := range cbs[1:] {
				h.remove(c, tab)
				c.Priority, c.Due = 0, int64(c.ID)
				h.push(c, tab)
			}
			due := int64(n)
			for b.Loop() {
				c := tab.slots[h[0].id].c
				h.remove(c, tab)
				due++
				c.Due = due
				h.push(c, tab)
			}
		})
	}
}
