package actors

// The waiting line (a 4-ary heap) and the available-agent pool (binary) of
// each queue are heaps with a total order (ties broken by unique
// identifiers), so the order in which entries pop never depends on the
// order they were pushed: a restored replica routes exactly like the
// original.

// callbackHeap orders queued callbacks: higher priority first, then older
// due time, then creation order. Each entry is its callback's sort key,
// which also names the callback, and each callback's place in the heap is
// kept in the tenant's callback table (callbackSlot), so sifting through a
// long line touches neither the callbacks nor pointers (a cache miss each,
// and work for the collector), and four entries share a cache line; a
// queued callback's priority and due time do not change while it is in
// the heap (both are changed only after removing it).
type callbackHeap []lineKey

// lineKey is what orders a waiting callback: higher priority, then
// earlier due time, then creation order, which is the order of callback
// identifiers (a callback's Seq is its identifier; createCallback keeps
// identifiers within 32 bits).
type lineKey struct {
	due  int64
	id   uint32
	prio int32
}

func keyOf(c *Callback) lineKey { return lineKey{due: c.Due, id: uint32(c.ID), prio: c.Priority} }

func (a *lineKey) before(b *lineKey) bool {
	if a.prio != b.prio {
		return a.prio > b.prio
	}
	if a.due != b.due {
		return a.due < b.due
	}
	return a.id < b.id
}

// callbackSlot is one entry of a tenant's callback table: the callback,
// the domain it waits in and, while it waits in a line, its place in the
// line's heap. (The domain fills what would be padding: 16 bytes a
// callback.)
type callbackSlot struct {
	c       *Callback
	heapIdx int32
	domain  DomainID
}

// The line is a 4-ary heap: half as deep as a binary one, with a node's
// four children (16 bytes each) side by side, in one or two cache lines,
// so taking the head of a long line reads about half the cache lines a
// binary heap would. Entries move into a hole rather than by swapping, so
// each move writes one place into the table, not two.
const lineArity = 4

func (h *callbackHeap) push(c *Callback, tab *callbackTable) {
	*h = append(*h, lineKey{})
	h.up(len(*h)-1, keyOf(c), tab)
}

func (h *callbackHeap) remove(c *Callback, tab *callbackTable) {
	s := tab.at(c.ID)
	i := int(s.heapIdx)
	s.heapIdx = -1
	n := len(*h) - 1
	last := (*h)[n]
	(*h)[n] = lineKey{}
	*h = (*h)[:n]
	if i == n {
		return
	}
	if i > 0 && last.before(&(*h)[(i-1)/lineArity]) {
		h.up(i, last, tab)
	} else {
		h.down(i, last, tab)
	}
}

// place puts k at i and records where it is.
func (h callbackHeap) place(i int, k lineKey, tab *callbackTable) {
	h[i] = k
	tab.at(CallbackID(k.id)).heapIdx = int32(i)
}

// up fills the hole at i with k, moving the parents that k comes before
// down.
func (h callbackHeap) up(i int, k lineKey, tab *callbackTable) {
	for i > 0 {
		p := (i - 1) / lineArity
		if !k.before(&h[p]) {
			break
		}
		h.place(i, h[p], tab)
		i = p
	}
	h.place(i, k, tab)
}

// down fills the hole at i with k, moving the first of the children up
// while it comes before k.
func (h callbackHeap) down(i int, k lineKey, tab *callbackTable) {
	n := len(h)
	for {
		first := lineArity*i + 1
		if first >= n {
			break
		}
		m := first
		for c := first + 1; c < min(first+lineArity, n); c++ {
			if h[c].before(&h[m]) {
				m = c
			}
		}
		if !h[m].before(&k) {
			break
		}
		h.place(i, h[m], tab)
		i = m
	}
	h.place(i, k, tab)
}

// poolEntry is an available agent in one queue's pool. The key is computed
// when the agent becomes available and does not change while it is pooled.
type poolEntry struct {
	tier  int32
	key   int64 // by strategy: idle since, last offer sequence, or handled count
	agent *Agent
	slot  int32 // index into agent.Slots
}

func poolBefore(a, b *poolEntry) bool {
	if a.tier != b.tier {
		return a.tier < b.tier
	}
	if a.key != b.key {
		return a.key < b.key
	}
	return a.agent.ID < b.agent.ID
}

type agentPool []poolEntry

func (h *agentPool) push(e poolEntry) {
	e.agent.Slots[e.slot].idx = int32(len(*h))
	*h = append(*h, e)
	h.up(len(*h) - 1)
}

func (h *agentPool) remove(i int) {
	n := len(*h) - 1
	(*h)[i].agent.Slots[(*h)[i].slot].idx = -1
	if i != n {
		(*h)[i] = (*h)[n]
		(*h)[i].agent.Slots[(*h)[i].slot].idx = int32(i)
	}
	(*h)[n] = poolEntry{}
	*h = (*h)[:n]
	if i != n {
		if !h.down(i) {
			h.up(i)
		}
	}
}

func (h agentPool) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].agent.Slots[h[i].slot].idx = int32(i)
	h[j].agent.Slots[h[j].slot].idx = int32(j)
}

func (h agentPool) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !poolBefore(&h[i], &h[p]) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h agentPool) down(i int) bool {
	start, n := i, len(h)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && poolBefore(&h[r], &h[l]) {
			m = r
		}
		if !poolBefore(&h[m], &h[i]) {
			break
		}
		h.swap(i, m)
		i = m
	}
	return i > start
}

// deadline is a pending timer of a domain. Entries are not removed when
// the thing they time out changes; a popped entry is checked against the
// current state and ignored when stale.
type deadline struct {
	at   int64
	id   uint32 // callback (identifiers fit 32 bits, see maxCallbacks) or agent
	kind deadlineKind
}

type deadlineKind uint8

const (
	dueAt deadlineKind = iota + 1 // a scheduled callback or retry becomes due
	offerExpiresAt
	expiresAt // a waiting callback expires
	wrapUpEndsAt
)

func deadlineBefore(a, b deadline) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	if a.kind != b.kind {
		return a.kind < b.kind
	}
	return a.id < b.id
}

type deadlineHeap []deadline

func (h *deadlineHeap) push(d deadline) {
	*h = append(*h, d)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !deadlineBefore(s[i], s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *deadlineHeap) pop() deadline {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	s.down(0)
	*h = s
	return top
}

// heapify restores the heap order of the whole slice.
func (h deadlineHeap) heapify() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (s deadlineHeap) down(i int) {
	n := len(s)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && deadlineBefore(s[r], s[l]) {
			m = r
		}
		if !deadlineBefore(s[m], s[i]) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
}
