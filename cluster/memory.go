package cluster

import (
	"bytes"
	"math"
	"os"
	"runtime/debug"
	"strconv"
)

// MemoryPolicy is how a node's process trades memory for collector work.
// A node's heap is mostly state that lives long (every callback, agent and
// log entry it holds), and Go's default (collect when the heap has grown by
// as much as is live) makes a node whose state grows collect again and
// again over the same state: each collection marks all of it, taking a
// quarter of the CPU while it runs, and commands wait meanwhile (on two
// cores, the difference between a p99 of 2 and of 3-4 ms at 200,000
// commands/s). A node therefore lets its heap grow by GCPercent of the
// live heap before collecting, and sets a soft limit so that the growth
// never costs more memory than the machine has: near the limit the
// collector runs as often as it must.
type MemoryPolicy struct {
	// GCPercent is Go's GOGC: how far, in percent of the live heap, the
	// heap grows before the next collection. Negative: only the limit
	// triggers collections.
	GCPercent int
	// Limit is Go's soft memory limit (GOMEMLIMIT) in bytes; 0 leaves the
	// runtime's limit as it is.
	Limit int64
}

// DefaultGCPercent lets the heap grow by four times the live state before
// a collection: a fifth as many collections as Go's default of 100.
const DefaultGCPercent = 400

// DefaultMemoryPolicy is the policy of `ringback server` unless told
// otherwise: DefaultGCPercent, limited to three quarters of the memory
// the process may use (its cgroup's limit, else the machine's memory).
func DefaultMemoryPolicy() MemoryPolicy {
	return MemoryPolicy{GCPercent: DefaultGCPercent, Limit: availableMemory() / 4 * 3}
}

// RuntimeGCPercent is the runtime's GC percent now (GOGC, or what was set
// since).
func RuntimeGCPercent() int {
	p := debug.SetGCPercent(-1)
	debug.SetGCPercent(p)
	return p
}

// Apply sets the policy for the whole process and returns a function that
// restores the previous settings.
func (p MemoryPolicy) Apply() (restore func()) {
	prevPercent := debug.SetGCPercent(p.GCPercent)
	prevLimit := debug.SetMemoryLimit(-1) // reads without changing
	if p.Limit > 0 {
		debug.SetMemoryLimit(p.Limit)
	}
	return func() {
		debug.SetGCPercent(prevPercent)
		debug.SetMemoryLimit(prevLimit)
	}
}

// availableMemory is the cgroup's memory limit when there is one below
// the machine's memory, else the machine's memory, else 0 when neither can
// be read (not Linux).
func availableMemory() int64 {
	total := int64(0)
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		total = memTotal(b)
	}
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if b, err := os.ReadFile(path); err == nil {
			if n := cgroupLimit(b); n > 0 && (total == 0 || n < total) {
				return n
			}
		}
	}
	return total
}

// cgroupLimit parses a cgroup memory limit file: "max" (v2) or a number
// near MaxInt64 (v1) mean no limit, reported as 0.
func cgroupLimit(b []byte) int64 {
	n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil || n <= 0 || n >= math.MaxInt64/2 {
		return 0
	}
	return n
}

// memTotal reads "MemTotal:  24591352 kB" out of /proc/meminfo; 0 when
// it is not there.
func memTotal(meminfo []byte) int64 {
	for line := range bytes.Lines(meminfo) {
		rest, ok := bytes.CutPrefix(line, []byte("MemTotal:"))
		if !ok {
			continue
		}
		if f := bytes.Fields(rest); len(f) == 2 && string(f[1]) == "kB" {
			if kb, err := strconv.ParseInt(string(f[0]), 10, 64); err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
