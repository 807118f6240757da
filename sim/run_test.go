package sim

import (
	"slices"

	"bytes"
	"github.com/ringbackhq/ringback/actors"
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
	for _, path := range []string{"testdata/shorthand.yaml", "testdata/multidomain.yaml"} {
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

// TestDepthMatchesCore: the queue depth the simulator follows from the
// core's events equals the waiting count the core itself reports.
func TestDepthMatchesCore(t *testing.T) {
	for _, path := range []string{"testdata/multidomain.yaml", "testdata/shorthand.yaml"} {
		s, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		s.Duration = Duration(20 * time.Hour) // ends at 20:00, mid-queue
		r := &runner{s: s, eng: actors.NewEngine()}
		r.start = s.Start.UnixNano()
		r.warm, r.end, r.now = r.start+int64(s.Warmup), r.start+int64(s.Duration), r.start
		if err := r.setup(); err != nil {
			t.Fatal(err)
		}
		if err := r.loop(); err != nil {
			t.Fatal(err)
		}
		waiting := 0
		for _, tr := range r.tenants {
			reports, err := r.eng.Tenant(tr.id).Reports(actors.AsUser(1), time.Unix(0, r.end))
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range tr.queues {
				core := 0
				for _, rep := range reports {
					if rep.Queue == q.id {
						core += rep.Waiting
					}
				}
				waiting += core
				if q.row.depth != core {
					t.Errorf("%s %s/%s: depth = %d, the core reports %d waiting", path, tr.name, q.name, q.row.depth, core)
				}
			}
		}
		if path == "testdata/multidomain.yaml" && waiting == 0 {
			t.Errorf("%s: nothing waiting at 20:00; the check proves little", path)
		}
	}
}

// TestMultiDomain runs the rich example and checks that each behaviour it
// describes shows in the report.
func TestMultiDomain(t *testing.T) {
	rep := shortRun(t, "testdata/multidomain.yaml", 30*time.Hour)
	rows := map[string]Row{}
	for _, r := range append(rep.Queues, rep.Domains...) {
		rows[r.Tenant+"/"+r.Name] = r
	}
	tests := []struct {
		what string
		ok   bool
	}{
		{"customers abandon (patience)", rows["acme/acme/support"].Abandoned > 0},
		{"no-answers are retried", rows["acme/acme/sales"].FailedAttempts > 0},
		{"duplicate requests are refused (policy reject)", rows["acme/acme/sales"].DuplicatesRefused > 0},
		{"Premium callbacks are answered (agents switch position)", rows["acme/Premium"].Answered > 0},
		{"globex is plain: nobody abandons", rows["globex/globex/callbacks"].Abandoned == 0 && rows["globex/globex/callbacks"].Answered > 0},
		{"occupancy is a fraction", rows["acme/Support"].Occupancy > 0 && rows["acme/Support"].Occupancy < 1},
		{"queues wait at times", rows["acme/acme/support"].MaxQueueDepth > 0},
		{"accept delays make everyone wait", rows["acme/acme/sales"].ProbWait > 0.9},
	}
	for _, tt := range tests {
		if !tt.ok {
			t.Errorf("%s: not seen in the report %+v", tt.what, rows)
		}
	}
	for name, r := range rows {
		if r.Answered+r.Pending > r.Offered {
			t.Errorf("%s: answered %d + pending %d > offered %d", name, r.Answered, r.Pending, r.Offered)
		}
	}
}

// TestShifts: agents on an 08:00-16:00 shift are offline at night and
// callbacks asked for at night wait for the morning.
func TestShifts(t *testing.T) {
	s, err := Parse([]byte(`
seed: 3
duration: 24h
sampleEvery: 1h
queues:
  - name: q
    arrivals: {perHour: 6}
    handleTime: 2m
agents:
  - {name: day, count: 2, queues: [q], shifts: [{start: "08:00", end: "16:00"}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := func(h int, state string) float64 {
		i := slices.Index(AgentStates, state)
		return rep.Series.Agents[i][h]
	}
	if got := at(4, "offline"); got != 2 {
		t.Errorf("offline agents at 04:00 = %v, want 2", got)
	}
	if got := at(12, "offline"); got != 0 {
		t.Errorf("offline agents at 12:00 = %v, want 0", got)
	}
	if got := rep.Series.Depth[0][7]; got < 10 {
		t.Errorf("callbacks waiting at 07:00 = %v, want the night's (about 42)", got)
	}
	if got := rep.Series.Depth[0][12]; got != 0 {
		t.Errorf("callbacks waiting at 12:00 = %v, want 0", got)
	}
	if q := rep.Queues[0]; q.WaitP99Seconds < 3600 {
		t.Errorf("p99 wait = %vs, want hours (night callbacks wait for 08:00)", q.WaitP99Seconds)
	}
}
