package api

import (
	"maps"
	"strconv"
	"sync/atomic"
	"time"
)

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }

// mapPtr converts an optional field of a PATCH body into an optional field
// of a command: nil stays nil (unchanged).
func mapPtr[T, U any](p *T, conv func(T) U) *U {
	if p == nil {
		return nil
	}
	u := conv(*p)
	return &u
}

// readMostly is a map read on every request and rarely added to: reads
// take no lock, an addition copies the map. Its keys may come from
// clients, so it holds at most max entries; beyond, additions are dropped.
type readMostly[K comparable, V any] struct {
	m   atomic.Pointer[map[K]V]
	max int
}

func (c *readMostly[K, V]) get(k K) (V, bool) {
	var v V
	p := c.m.Load()
	if p == nil {
		return v, false
	}
	v, ok := (*p)[k]
	return v, ok
}

// add keeps v for k, unless the map is full or another addition is under
// way (k is then added another time).
func (c *readMostly[K, V]) add(k K, v V) {
	p := c.m.Load()
	var m map[K]V
	if p != nil {
		if len(*p) >= c.max {
			return
		}
		m = maps.Clone(*p)
	} else {
		m = map[K]V{}
	}
	m[k] = v
	c.m.CompareAndSwap(p, &m)
}
