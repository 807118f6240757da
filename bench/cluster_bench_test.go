package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/ringbackhq/ringback/actors"
	"github.com/ringbackhq/ringback/cluster"
	"github.com/ringbackhq/ringback/cluster/clustertest"
)

// BenchmarkCluster measures commands committed and applied per second, and
// the latency from proposal to result, for one node and three nodes on
// loopback TCP, with group commit (up to 1,024 commands per entry) and
// without (one per entry), on our WAL and on raft-boltdb, with 256, 512 or
// 1,024 proposers waiting for their result at once. By Little's law the
// number in flight fixes the latency at a given rate (1,024 in flight at
// 200,000/s is 5 ms on average), so a rate and a p99 only count together,
// from the same run: one node's targets, 200,000/s with p99 ≤ 3 ms, can
// only both hold with a few hundred in flight.
// The commands are built before the timer starts, so the figures are the
// node's, not the load generator's. The process collects garbage as
// `ringback server` does (see serverMemory).
//
//	go test ./bench -run '^$' -bench BenchmarkCluster -benchtime 20000x
func BenchmarkCluster(b *testing.B) {
	for _, nodes := range []int{1, 3} {
		for _, store := range []string{cluster.StoreWAL, cluster.StoreBoltDB} {
			for _, batch := range []int{1024, 1} {
				for _, proposers := range []int{256, 512, 768, 1024} {
					b.Run(fmt.Sprintf("nodes=%d/store=%s/batch=%d/proposers=%d", nodes, store, batch, proposers), func(b *testing.B) {
						benchCluster(b, nodes, store, batch, proposers)
					})
				}
			}
		}
	}
}

const (
	benchTenants    = 32
	benchClusterRTO = 2 * time.Second
)

// serverMemory gives the process, for the rest of b, the memory policy
// `ringback server` runs with by default (cluster.DefaultMemoryPolicy); a
// GOGC in the environment stays, as the server leaves it too: GOGC=100
// shows Go's default collector.
func serverMemory(b *testing.B) {
	p := cluster.DefaultMemoryPolicy()
	if os.Getenv("GOGC") != "" {
		p.GCPercent = cluster.RuntimeGCPercent()
	}
	b.Cleanup(p.Apply())
}

func openCluster(b *testing.B, n int, store string, batch int) (*cluster.Node, func()) {
	serverMemory(b)
	var addrs []string
	for i := 0; i < n; i++ {
		addrs = append(addrs, clustertest.FreeAddr(b))
	}
	var nodes []*cluster.Node
	for i := 0; i < n; i++ {
		cfg := cluster.DefaultConfig()
		cfg.DataDir, cfg.BindAddr, cfg.Store, cfg.MaxBatch = filepath.Join(b.TempDir(), "n"), addrs[i], store, batch
		cfg.SnapshotThreshold = 1 << 30 // no snapshot in the middle of a run
		if n > 1 {
			cfg.Peers = addrs
		}
		cfg.Tune = func(rc *raft.Config) {
			rc.HeartbeatTimeout, rc.ElectionTimeout, rc.LeaderLeaseTimeout = 200*time.Millisecond, 200*time.Millisecond, 200*time.Millisecond
		}
		nd, err := cluster.Open(cfg)
		if err != nil {
			b.Fatal(err)
		}
		nodes = append(nodes, nd)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, nd := range nodes {
			if nd.IsLeader() {
				return nd, func() {
					for _, x := range nodes {
						_ = x.Close(false)
					}
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatal("no leader")
	return nil, nil
}

func benchCluster(b *testing.B, n int, store string, batch, proposers int) {
	leader, closeAll := openCluster(b, n, store, batch)
	defer closeAll()
	ctx := context.Background()
	var tenants []actors.TenantID
	var queues []actors.QueueID
	for i := 0; i < benchTenants; i++ {
		out, err := leader.Propose(ctx, &actors.CreateTenant{Profile: actors.Profile{CompanyName: fmt.Sprint("t", i), AdminUsername: "a",
			AdminEmail: "a@t.test", AdminFirstName: "A"}, Limits: actors.Limits{StorageQuotaBytes: 1 << 40, MaxAgents: 10}})
		if err != nil || out.Err != nil {
			b.Fatal(err, out.Err)
		}
		tid := actors.TenantID(out.Result.ID)
		out, err = leader.Propose(ctx, &actors.CreateQueue{Target: actors.Target{Tenant: tid, By: actors.AsUser(1)}, Name: "q", Domain: actors.HomeDomain})
		if err != nil || out.Err != nil {
			b.Fatal(err, out.Err)
		}
		tenants, queues = append(tenants, tid), append(queues, actors.QueueID(out.Result.ID))
	}
	cmds := make([]actors.Command, b.N)
	for i := range cmds {
		t := i % benchTenants
		cmds[i] = &actors.CreateCallback{Target: actors.Target{Tenant: tenants[t], By: actors.AsUser(1)}, Queue: queues[t],
			CustomerName: "C", Numbers: []string{"+1" + strconv.Itoa(100_000_000_000+i)}}
	}
	// One deadline for the whole run: a proposal that never answers fails
	// the run instead of hanging it.
	ctx, cancel := context.WithTimeout(ctx, benchClusterRTO+time.Duration(b.N)*time.Millisecond)
	defer cancel()
	var next atomic.Int64
	lat := make([][]time.Duration, proposers)
	var failed atomic.Int64
	var wg sync.WaitGroup
	startTimer(b)
	cpu0, stolen0 := processCPU(), stolenCPU()
	start := time.Now()
	for w := range proposers {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			lat[w] = make([]time.Duration, 0, b.N/proposers+1)
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				out, err := leader.Propose(ctx, cmds[i])
				if err != nil || out.Err != nil {
					failed.Add(1)
					continue
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := processCPU() - cpu0
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		b.Fatal("nothing committed")
	}
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "cmds/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(all)), "cpu-us/cmd")
	b.ReportMetric(stealPercent(stolenCPU()-stolen0, elapsed), "steal-%")
	if f := failed.Load(); f > 0 {
		b.ReportMetric(float64(f), "failed")
	}
}

// startTimer collects the setup's garbage, then resets the timer: the
// first collection of a run should be one the measured work caused, not
// one the setup left behind.
func startTimer(b *testing.B) {
	runtime.GC()
	b.ResetTimer()
}

// processCPU is the CPU time (user and system) this process has used: per
// command it shows what a change costs even while other work shares the
// machine and skews the wall-clock rate.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// stolenCPU is the CPU time the hypervisor gave to other guests while
// this machine's CPUs had work (steal in /proc/stat, over all CPUs), or 0
// where /proc/stat cannot be read. A run with much of it fell in a noisy
// stretch of the host, whatever its own figures say.
func stolenCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	ticks, err := strconv.ParseUint(f[8], 10, 64)
	if err != nil {
		return 0
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}

// stealPercent is the share of the machine's CPU time that stolen (of
// stolenCPU) was during el, reported as steal-%.
func stealPercent(stolen, el time.Duration) float64 {
	return 100 * float64(stolen) / (float64(el) * float64(runtime.NumCPU()))
}

// gcCycles is how many collections the process has completed.
func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
