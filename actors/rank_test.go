package actors

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// The rank index agrees with a sorted list under random inserts and
// removals, with keys that tie on priority and due time.
func TestRankIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	var idx rankIndex
	var want []lineKey
	id := uint32(0)
	for step := 0; step < 20000; step++ {
		if len(want) > 0 && r.IntN(5) < 2 {
			k := want[r.IntN(len(want))]
			idx.remove(k)
			want = slices.DeleteFunc(want, func(o lineKey) bool { return o == k })
		} else {
			id++
			k := lineKey{id: id, due: int64(r.IntN(50)), prio: int32(r.IntN(3))}
			idx.insert(k)
			want = append(want, k)
		}
		if step%97 == 0 || len(want) < 4 {
			slices.SortFunc(want, func(a, b lineKey) int {
				if a.before(&b) {
					return -1
				}
				return 1
			})
			if idx.len() != len(want) {
				t.Fatalf("step %d: %d indexed, want %d", step, idx.len(), len(want))
			}
			for i, k := range want {
				if got := idx.ahead(k); got != i {
					t.Fatalf("step %d: ahead(%v) = %d, want %d", step, k, got, i)
				}
			}
		}
	}
}

// Over a generated log, every waiting callback's place in line agrees with
// a scan of the line, the index being kept in step from the first step.
func TestRankPositions(t *testing.T) {
	for _, seed := range detSeeds {
		g := detGenerate(t, seed, detSteps)
		e := NewEngine()
		checked := 0
		for i, s := range g.log {
			_, _, _ = e.Apply(s.cmd, s.now)
			for _, tid := range sortedKeys(e.Tenants) {
				for _, did := range sortedKeys(e.Tenants[tid].routing) {
					for _, l := range e.Tenants[tid].routing[did].lines {
						for _, w := range l.waiting {
							scan := 0
							for _, o := range l.waiting {
								if o.before(&w) {
									scan++
								}
							}
							if got := l.ahead(l.table.at(CallbackID(w.id)).c); got != scan {
								t.Fatalf("seed %d step %d: callback %d: %d ahead, the line says %d", seed, i, w.id, got, scan)
							}
							checked++
						}
						if l.rank != nil && l.rank.len() != len(l.waiting) {
							t.Fatalf("seed %d step %d: %d indexed, %d waiting", seed, i, l.rank.len(), len(l.waiting))
						}
					}
				}
			}
		}
		if checked < 1000 {
			t.Fatalf("seed %d: only %d positions checked", seed, checked)
		}
		t.Logf("seed %d: %d positions checked", seed, checked)
	}
}
