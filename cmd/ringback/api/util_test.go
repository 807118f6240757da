package api

import "testing"

// readMostly keeps what it is given, up to its bound.
func TestReadMostlyBounded(t *testing.T) {
	c := readMostly[int, string]{max: 2}
	for k := range 3 {
		c.add(k, itoa(uint64(k)))
	}
	for k, want := range []bool{true, true, false} {
		if v, ok := c.get(k); ok != want || ok && v != itoa(uint64(k)) {
			t.Errorf("get(%d) = %q, %v; want kept: %v", k, v, ok, want)
		}
	}
}
