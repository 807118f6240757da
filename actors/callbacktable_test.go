package actors

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestCallbackTableJSON: the dense table encodes exactly as the map from
// callback to domain it replaced (so snapshots written before read back,
// and hashes agree), leaves forgotten callbacks out, reads the older
// snapshots that named them with domain 0, and refuses a table that is not
// dense.
func TestCallbackTableJSON(t *testing.T) {
	var c callbackTable
	m := map[CallbackID]DomainID{}
	for id := CallbackID(1); id <= 23; id++ {
		d := DomainID(1 + id%4)
		c.grow(id).domain = d
		m[id] = d
	}
	got, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(m)
	if string(got) != string(want) {
		t.Fatalf("callbackTable encodes as\n%s\nthe map as\n%s", got, want)
	}
	var back callbackTable
	if err := json.Unmarshal(want, &back); err != nil || back.base != 0 || !slices.Equal(back.slots, c.slots) {
		t.Fatalf("decoding the map's JSON = %+v, %v; want %+v", back, err, c)
	}
	// Domain 0 is a forgotten callback's slot (Policy.RecordRetention), as
	// older snapshots wrote it.
	if err := json.Unmarshal([]byte(`{"1":0,"2":3}`), &back); err != nil || back.base != 0 || !slices.Equal(back.slots, []callbackSlot{{}, {}, {domain: 3}}) {
		t.Fatalf(`{"1":0,"2":3} decoded as %+v, %v; want callback 1 forgotten and 2 in domain 3`, back, err)
	}
	if back.Len() != 2 || back.Kept() != 1 {
		t.Fatalf("a table of one forgotten and one kept callback: Len %d, Kept %d; want 2 and 1", back.Len(), back.Kept())
	}
	if b, _ := json.Marshal(back); string(b) != `{"2":3}` {
		t.Fatalf("the forgotten callback is encoded: %s, want {\"2\":3}", b)
	}
	// Today's snapshots start at the first kept callback.
	if err := json.Unmarshal([]byte(`{"12":1,"10":2,"11":2}`), &back); err != nil || back.base != 9 || back.Len() != 12 || back.lookup(9) != nil || back.lookup(10).domain != 2 {
		t.Fatalf(`{"12":1,"10":2,"11":2} decoded as %+v, %v; want callbacks 10 to 12 after 9 forgotten`, back, err)
	}
	for _, bad := range []string{`{"0":1}`, `{"1":1,"3":1}`, `{"7":1,"9":1}`, `[1]`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s decoded as a callback index", bad)
		}
	}
	var empty callbackTable
	if b, _ := json.Marshal(empty); string(b) != "{}" {
		t.Errorf("the empty index encodes as %s, want {}", b)
	}
}

// TestCallbackTableLetsForgottenSlotsGo: once the forgotten callbacks are
// half the table their slots are dropped, the kept ones keep their
// identifiers and contents, and the encoding does not change with it.
func TestCallbackTableLetsForgottenSlotsGo(t *testing.T) {
	var c callbackTable
	for id := CallbackID(1); id <= 100; id++ {
		c.grow(id).domain = 1 + DomainID(id%3)
	}
	forget := func(through CallbackID) {
		for id := c.base + 1; id <= through; id++ {
			*c.at(id) = callbackSlot{}
		}
		c.forgotten(through)
	}
	forget(40) // under half: the slots stay
	before, _ := json.Marshal(c)
	if c.base != 0 || len(c.slots) != 101 {
		t.Fatalf("40 of 100 forgotten: base %d, %d slots; want 0 and 101", c.base, len(c.slots))
	}
	forget(60)
	if c.base != 60 || len(c.slots) != 41 || c.lookup(60) != nil || c.lookup(61).domain != 1+61%3 || c.Len() != 100 || c.Kept() != 40 {
		t.Fatalf("60 of 100 forgotten: base %d, %d slots, Len %d, Kept %d", c.base, len(c.slots), c.Len(), c.Kept())
	}
	after, _ := json.Marshal(c)
	var lazy callbackTable // the same state, its slots never dropped
	for id := CallbackID(1); id <= 100; id++ {
		if id > 60 {
			lazy.grow(id).domain = 1 + DomainID(id%3)
		} else {
			lazy.grow(id)
		}
	}
	if lazyJSON, _ := json.Marshal(lazy); string(lazyJSON) != string(after) || string(before) == string(after) {
		t.Fatalf("encodings: dropped %s, kept %s", after, lazyJSON)
	}
	if s := c.grow(101); s.domain != 0 || c.Len() != 101 {
		t.Fatalf("callback 101 after dropping: %+v, Len %d", s, c.Len())
	}
	forget(101) // all of them: one empty slot is left
	if c.base != 101 || len(c.slots) != 1 || c.Kept() != 0 {
		t.Fatalf("all forgotten: base %d, %d slots", c.base, len(c.slots))
	}
}
