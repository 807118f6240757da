package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestSimLiveRefuses: a live run is refused, before any request, for a
// target that is not loopback and without bounds.
func TestSimLiveRefuses(t *testing.T) {
	path := writeScenario(t, smallScenario)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--target", "http://10.1.2.3:8080", "--token", "x"}, "loopback"},
		{[]string{"--target", "http://example.com", "--token", "x"}, "example.com"},
		{[]string{"--target", "http://127.0.0.1:1", "--token", "x", "--max-requests", "0"}, "bounded"},
		{[]string{"--target", "http://127.0.0.1:1", "--token", "x", "--max-duration", "0s"}, "bounded"},
		{[]string{"--target", "http://127.0.0.1:1", "--token", "x", "--csv"}, "--csv"},
		{[]string{"--target", "http://127.0.0.1:1", "--token", "x", "--speed", "-2"}, "speed"},
	} {
		cmd := newSimCmd()
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		cmd.SetArgs(append([]string{path}, tt.args...))
		if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ringback sim %v: %v, want an error mentioning %q", tt.args, err, tt.want)
		}
	}
}
