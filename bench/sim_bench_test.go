package bench

import (
	"testing"
	"time"

	"github.com/ringbackhq/ringback/sim"
)

// BenchmarkSim measures the simulator's speed: simulated callbacks per
// second of wall time, running the real routing core in virtual time.
// "center" is a day of a 1,000-agent contact center with about 100,000
// callbacks (sim/testdata/center.yaml); "mmc" is the shorthand M/M/12
// queue of sim/testdata/shorthand.yaml, 200 simulated hours.
func BenchmarkSim(b *testing.B) {
	for _, bc := range []struct{ name, path string }{
		{"center/agents=1000/callbacks=100k/day=1", "../sim/testdata/center.yaml"},
		{"mmc/agents=12/hours=200", "../sim/testdata/shorthand.yaml"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var callbacks, commands int64
			var simulated time.Duration
			for b.Loop() {
				s, err := sim.Load(bc.path)
				if err != nil {
					b.Fatal(err)
				}
				rep, err := sim.Run(s, sim.Options{})
				if err != nil {
					b.Fatal(err)
				}
				callbacks += rep.Callbacks
				commands += rep.Commands
				simulated += s.Duration.D()
			}
			secs := b.Elapsed().Seconds()
			b.ReportMetric(float64(callbacks)/secs, "callbacks/s")
			b.ReportMetric(float64(commands)/secs, "commands/s")
			b.ReportMetric(simulated.Hours()/secs, "sim-hours/s")
		})
	}
}
