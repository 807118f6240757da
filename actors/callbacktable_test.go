package actors

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestCallbackTableJSON: the dense table encodes exactly as the map from
// callback to domain it replaced (so snapshots written before read back,
// and hashes agree), keeps the slots of forgotten callbacks, and refuses a
// table that is not dense.
func TestCallbackTableJSON(t *testing.T) {
	c := callbackTable{{}} // no callback 0
	m := map[CallbackID]DomainID{}
	for id := CallbackID(1); id <= 23; id++ {
		d := DomainID(1 + id%4)
		c = append(c, callbackSlot{domain: d})
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
	if err := json.Unmarshal(want, &back); err != nil || !slices.Equal(back, c) {
		t.Fatalf("decoding the map's JSON = %v, %v; want %v", back, err, c)
	}
	// Domain 0 is a forgotten callback's slot (Policy.RecordRetention).
	if err := json.Unmarshal([]byte(`{"1":0,"2":3}`), &back); err != nil || !slices.Equal(back, callbackTable{{}, {}, {domain: 3}}) {
		t.Fatalf(`{"1":0,"2":3} decoded as %v, %v; want callback 1 forgotten and 2 in domain 3`, back, err)
	}
	if back.Len() != 2 || back.Kept() != 1 {
		t.Fatalf("a table of one forgotten and one kept callback: Len %d, Kept %d; want 2 and 1", back.Len(), back.Kept())
	}
	for _, bad := range []string{`{"0":1}`, `{"1":1,"3":1}`, `[1]`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s decoded as a callback index", bad)
		}
	}
	var empty callbackTable
	if b, _ := json.Marshal(empty); string(b) != "{}" {
		t.Errorf("the empty index encodes as %s, want {}", b)
	}
}
