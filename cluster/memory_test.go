package cluster

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestMemoryPolicyAppliesAndRestores(t *testing.T) {
	before := debug.SetGCPercent(-1)
	debug.SetGCPercent(before)
	limitBefore := debug.SetMemoryLimit(-1)

	restore := MemoryPolicy{GCPercent: 321, Limit: 3 << 30}.Apply()
	if got := debug.SetGCPercent(321); got != 321 {
		t.Errorf("GC percent while applied: %d, want 321", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 3<<30 {
		t.Errorf("memory limit while applied: %d, want %d", got, int64(3<<30))
	}
	restore()
	if got := debug.SetGCPercent(before); got != before {
		t.Errorf("GC percent after restore: %d, want %d", got, before)
	}
	if got := debug.SetMemoryLimit(-1); got != limitBefore {
		t.Errorf("memory limit after restore: %d, want %d", got, limitBefore)
	}
}

func TestRuntimeGCPercent(t *testing.T) {
	prev := debug.SetGCPercent(123)
	defer debug.SetGCPercent(prev)
	if got := RuntimeGCPercent(); got != 123 {
		t.Errorf("RuntimeGCPercent = %d, want 123", got)
	}
	if got := debug.SetGCPercent(123); got != 123 {
		t.Errorf("reading changed the percent to %d", got)
	}
}

func TestMemoryPolicyLimitZeroKeepsRuntimeLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(5 << 30)
	defer debug.SetMemoryLimit(prev)
	restore := MemoryPolicy{GCPercent: 100}.Apply()
	defer restore()
	if got := debug.SetMemoryLimit(-1); got != 5<<30 {
		t.Errorf("limit %d, want the runtime's %d kept", got, int64(5<<30))
	}
}

func TestDefaultMemoryPolicy(t *testing.T) {
	p := DefaultMemoryPolicy()
	if p.GCPercent != DefaultGCPercent {
		t.Errorf("GC percent %d, want %d", p.GCPercent, DefaultGCPercent)
	}
	if runtime.GOOS == "linux" && p.Limit <= 0 {
		t.Errorf("limit %d on Linux, want three quarters of the memory available", p.Limit)
	}
}

func TestCgroupLimit(t *testing.T) {
	for in, want := range map[string]int64{
		"max\n":                 0,
		"9223372036854771712\n": 0, // v1: no limit
		"2147483648\n":          2 << 30,
		"":                      0,
		"-1":                    0,
	} {
		if got := cgroupLimit([]byte(in)); got != want {
			t.Errorf("cgroupLimit(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestMemTotal(t *testing.T) {
	meminfo := "MemFree:  100 kB\nMemTotal:       24591352 kB\nBuffers: 1 kB\n"
	if got, want := memTotal([]byte(meminfo)), int64(24591352)<<10; got != want {
		t.Errorf("memTotal = %d, want %d", got, want)
	}
	if got := memTotal([]byte("MemFree: 1 kB\n")); got != 0 {
		t.Errorf("memTotal without the line = %d, want 0", got)
	}
	if got := memTotal([]byte("MemTotal: 12 MB\n")); got != 0 {
		t.Errorf("memTotal in an unknown unit = %d, want 0", got)
	}
}
