package actors

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestCallbackDomainsJSON: the dense index encodes exactly as the map it
// replaced (so snapshots written before read back, and hashes agree), and
// refuses an index that is not dense.
func TestCallbackDomainsJSON(t *testing.T) {
	c := callbackDomains{0} // no callback 0
	m := map[CallbackID]DomainID{}
	for id := CallbackID(1); id <= 23; id++ {
		d := DomainID(1 + id%4)
		c = append(c, d)
		m[id] = d
	}
	got, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(m)
	if string(got) != string(want) {
		t.Fatalf("callbackDomains encodes as\n%s\nthe map as\n%s", got, want)
	}
	var back callbackDomains
	if err := json.Unmarshal(want, &back); err != nil || !slices.Equal(back, c) {
		t.Fatalf("decoding the map's JSON = %v, %v; want %v", back, err, c)
	}
	for _, bad := range []string{`{"0":1}`, `{"1":1,"3":1}`, `{"1":0}`, `[1]`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s decoded as a callback index", bad)
		}
	}
	var empty callbackDomains
	if b, _ := json.Marshal(empty); string(b) != "{}" {
		t.Errorf("the empty index encodes as %s, want {}", b)
	}
}
