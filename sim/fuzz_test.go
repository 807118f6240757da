package sim

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse reads arbitrary scenario files: never a panic; a scenario that
// parses has passed validation.
//
//	go test ./sim -run '^$' -fuzz FuzzParse -fuzztime 60s
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("seed: 1\nduration: 1h\nqueues: [{name: q, agents: -1}]\n"))
	f.Add([]byte("queues: {"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("Parse accepted a scenario that Validate refuses: %v", err)
		}
	})
}
