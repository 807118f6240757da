package main

import (
	"runtime/debug"
	"strings"
	"testing"

	"github.com/ringbackhq/ringback/cluster"
)

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"1024": 1024, "512MiB": 512 << 20, "8GiB": 8 << 30, "1TiB": 1 << 40, "3KiB": 3 << 10} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-5", "8GB", "lots", "9999999999TiB"} {
		if _, err := parseBytes(in); err == nil {
			t.Errorf("parseBytes(%q) accepted", in)
		}
	}
}

func TestServerMemoryPolicy(t *testing.T) {
	auto := cluster.DefaultMemoryPolicy().Limit
	for _, c := range []struct {
		flags   serverFlags
		percent int
		limit   int64
	}{
		{serverFlags{GCPercent: 400, MemoryLimit: "auto"}, 400, auto},
		{serverFlags{GCPercent: 150, MemoryLimit: "2GiB"}, 150, 2 << 30},
		{serverFlags{GCPercent: -1, MemoryLimit: "4GiB"}, -1, 4 << 30},
		{serverFlags{GCPercent: 400, MemoryLimit: "none"}, 400, 0},
		// GOMEMLIMIT set and no --memory-limit: the runtime's stays.
		{serverFlags{GCPercent: 400, MemoryLimit: "auto", keepLimit: true}, 400, 0},
	} {
		p, err := c.flags.memoryPolicy()
		if err != nil || p.GCPercent != c.percent || p.Limit != c.limit {
			t.Errorf("%+v: %+v, %v; want percent %d, limit %d", c.flags, p, err, c.percent, c.limit)
		}
	}
	// GOGC set and no --gc-percent: the runtime's percent stays.
	prev := debug.SetGCPercent(77)
	defer debug.SetGCPercent(prev)
	if p, _ := (&serverFlags{GCPercent: 400, MemoryLimit: "auto", keepGC: true}).memoryPolicy(); p.GCPercent != 77 {
		t.Errorf("with GOGC kept: percent %d, want the runtime's 77", p.GCPercent)
	}
	for _, bad := range []struct {
		flags serverFlags
		names string
	}{
		{serverFlags{GCPercent: 400, MemoryLimit: "8 gigs"}, "--memory-limit"},
		{serverFlags{GCPercent: 0, MemoryLimit: "auto"}, "--gc-percent"},
		{serverFlags{GCPercent: -5, MemoryLimit: "auto"}, "--gc-percent"},
		// never collected at all
		{serverFlags{GCPercent: -1, MemoryLimit: "none"}, "--gc-percent -1 needs a memory limit"},
	} {
		bad.flags.LogLevel = "info"
		if err := bad.flags.validate(); err == nil || !strings.Contains(err.Error(), bad.names) {
			t.Errorf("validate %+v: %v, want an error naming %s", bad.flags, err, bad.names)
		}
	}
}
