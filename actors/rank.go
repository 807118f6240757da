package actors

import "sort"

// A line's waiting callbacks are a heap, which answers "who is next" but
// not "how many are ahead of this one" without a scan of the whole line.
// rankIndex answers the second in O(log n + n/rankBlock): the line's
// routing keys in routing order, in blocks of at most 2*rankBlock keys.
// It is derived state (never encoded), built from the heap the first time
// a position in the line is asked for and kept in step by line.enter and
// line.leave from then on, so lines whose positions nobody reads cost
// nothing more. It depends only on the keys, which are totally ordered,
// so it is as deterministic as the heap.

const rankBlock = 128

type rankIndex struct {
	blocks [][]lineKey // each sorted and non-empty; in order
}

// newRankIndex indexes the callbacks of a heap.
func newRankIndex(h callbackHeap) *rankIndex {
	keys := make([]lineKey, len(h))
	for i, c := range h {
		keys[i] = c
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].before(&keys[j]) })
	r := &rankIndex{}
	for len(keys) > 0 {
		n := min(len(keys), rankBlock)
		r.blocks = append(r.blocks, append(make([]lineKey, 0, 2*rankBlock+1), keys[:n]...))
		keys = keys[n:]
	}
	return r
}

// find returns the block k belongs in and the number of keys of that
// block before k.
func (r *rankIndex) find(k lineKey) (int, int) {
	b := sort.Search(len(r.blocks), func(i int) bool {
		blk := r.blocks[i]
		return !blk[len(blk)-1].before(&k)
	})
	if b == len(r.blocks) {
		b-- // after every key: the end of the last block
	}
	blk := r.blocks[b]
	return b, sort.Search(len(blk), func(i int) bool { return !blk[i].before(&k) })
}

func (r *rankIndex) insert(k lineKey) {
	if len(r.blocks) == 0 {
		r.blocks = append(r.blocks, append(make([]lineKey, 0, 2*rankBlock+1), k))
		return
	}
	b, i := r.find(k)
	blk := append(r.blocks[b], lineKey{})
	copy(blk[i+1:], blk[i:])
	blk[i] = k
	r.blocks[b] = blk
	if len(blk) > 2*rankBlock {
		hi := append(make([]lineKey, 0, 2*rankBlock+1), blk[rankBlock:]...)
		r.blocks[b] = blk[:rankBlock]
		r.blocks = append(r.blocks, nil)
		copy(r.blocks[b+2:], r.blocks[b+1:])
		r.blocks[b+1] = hi
	}
}

func (r *rankIndex) remove(k lineKey) {
	if len(r.blocks) == 0 {
		return
	}
	b, i := r.find(k)
	blk := r.blocks[b]
	if i == len(blk) || blk[i] != k {
		return // not indexed: cannot happen while enter and leave pair up
	}
	blk = append(blk[:i], blk[i+1:]...)
	r.blocks[b] = blk
	switch {
	case len(blk) == 0:
		r.blocks = append(r.blocks[:b], r.blocks[b+1:]...)
	case len(blk) < rankBlock/2 && b+1 < len(r.blocks) && len(blk)+len(r.blocks[b+1]) <= rankBlock:
		r.blocks[b] = append(blk, r.blocks[b+1]...)
		r.blocks = append(r.blocks[:b+1], r.blocks[b+2:]...)
	}
}

// ahead counts the keys before k.
func (r *rankIndex) ahead(k lineKey) int {
	if len(r.blocks) == 0 {
		return 0
	}
	b, i := r.find(k)
	for _, blk := range r.blocks[:b] {
		i += len(blk)
	}
	return i
}

func (r *rankIndex) len() int {
	n := 0
	for _, blk := range r.blocks {
		n += len(blk)
	}
	return n
}

// enter puts a callback in the line's heap (and its index, once it has
// one).
func (l *line) enter(c *Callback) {
	l.waiting.push(c, l.table)
	if l.rank != nil {
		l.rank.insert(keyOf(c))
	}
}

// leave takes a callback out of the line's heap (and its index).
func (l *line) leave(c *Callback) {
	l.waiting.remove(c, l.table)
	if l.rank != nil {
		l.rank.remove(keyOf(c))
	}
}

// first is the line's next callback; the line must not be empty.
func (l *line) first() *Callback { return l.table.at(CallbackID(l.waiting[0].id)).c }

// ahead is how many of the line's waiting callbacks come before c.
func (l *line) ahead(c *Callback) int {
	if l.rank == nil {
		l.rank = newRankIndex(l.waiting)
	}
	return l.rank.ahead(keyOf(c))
}
