package sim

import (
	"bytes"
	"testing"
	"time"
)

func shortRun(t *testing.T, path string, d time.Duration) *Report {
	t.Helper()
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Duration, s.Warmup = Duration(d), Duration(d/10)
	rep, err := Run(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestDeterministic: the same seed gives the same report, byte for byte;
// another seed gives another.
func TestDeterministic(t *testing.T) {
	for _, path := range []string{"testdata/shorthand.yaml"} {
		var out [3]bytes.Buffer
		for i := range out {
			s, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			s.Duration = Duration(10 * time.Hour)
			if i == 2 {
				s.Seed++
			}
			rep, err := Run(s, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := rep.WriteJSON(&out[i]); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(out[0].Bytes(), out[1].Bytes()) {
			t.Errorf("%s: two runs with the same seed differ", path)
		}
		if bytes.Equal(out[0].Bytes(), out[2].Bytes()) {
			t.Errorf("%s: runs with different seeds are identical", path)
		}
	}
}
