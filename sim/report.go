package sim

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/ringbackhq/ringback/actors"
)

// Report is what a run produced. Only callbacks created after the warm-up
// are counted; occupancy and maximum depth cover the same window.
type Report struct {
	Seed        uint64    `json:"seed"`
	Start       time.Time `json:"start"`
	Duration    string    `json:"duration"`
	Warmup      string    `json:"warmup"`
	Callbacks   int64     `json:"callbacks"`    // created in the whole run, warm-up included
	Commands    int64     `json:"commands"`     // commands applied to the routing core
	StaleAction int64     `json:"staleActions"` // accepts, rejects or cancels overtaken by events
	Queues      []Row     `json:"queues"`
	Domains     []Row     `json:"domains"`
	Series      Series    `json:"-"`
}

// Row is the figures of one queue or one domain. Wait is the time from a
// callback's due time (its creation, or the time it was scheduled for) to
// the first accepted offer.
type Row struct {
	Tenant              string  `json:"tenant"`
	Name                string  `json:"name"`
	Offered             int64   `json:"offered"`           // callbacks requested
	Answered            int64   `json:"answered"`          // accepted by an agent
	Abandoned           int64   `json:"abandoned"`         // canceled by the customer or expired while waiting
	Pending             int64   `json:"pending"`           // still waiting at the end of the run
	Completed           int64   `json:"completed"`         // closed as reached
	FailedAttempts      int64   `json:"failedAttempts"`    // attempts the customer did not answer
	Failed              int64   `json:"failed"`            // out of attempts
	DuplicatesRefused   int64   `json:"duplicatesRefused"` // second requests the duplicate policy refused
	MeanWaitSeconds     float64 `json:"meanWaitSeconds"`
	WaitP50Seconds      float64 `json:"waitP50Seconds"`
	WaitP90Seconds      float64 `json:"waitP90Seconds"`
	WaitP99Seconds      float64 `json:"waitP99Seconds"`
	ProbWait            float64 `json:"probWait"`     // share of answered callbacks that waited more than 0 s
	ServiceLevel        float64 `json:"serviceLevel"` // share of answered callbacks that waited at most the threshold
	ServiceLevelSeconds float64 `json:"serviceLevelSeconds,omitempty"`
	Occupancy           float64 `json:"occupancy"` // occupied (reserved, busy, wrap-up) / staffed agent time
	MaxQueueDepth       int     `json:"maxQueueDepth"`
}

// Series is the time line behind the charts, one point per SampleEvery.
type Series struct {
	Every  time.Duration
	Hours  []float64    // since the start of the run
	Queues []string     // names, in Depth order
	Depth  [][]float64  // per queue: callbacks waiting in line
	Wait   [3][]float64 // p50, p90, p99 of waits answered in the interval; NaN when none
	Agents [6][]float64 // offline, available, reserved, busy, wrap-up, away
}

// AgentStates names Series.Agents in order.
var AgentStates = []string{"offline", "available", "reserved", "busy", "wrap-up", "away"}

func round(v float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(v*p) / p
}

func (r *runner) row(t *tenantRun, name string, rw *row, sl int64) Row {
	out := Row{Tenant: t.name, Name: name, Offered: rw.offered, Answered: rw.answered, Abandoned: rw.abandoned,
		Pending: rw.pending, Completed: rw.completed, FailedAttempts: rw.failedAttempts, Failed: rw.failed,
		DuplicatesRefused: rw.dupRefused, MaxQueueDepth: rw.maxDepth, ServiceLevel: 1}
	if sl > 0 {
		out.ServiceLevelSeconds = round(float64(sl)/1e9, 3)
	}
	if rw.answered > 0 {
		slices.Sort(rw.waits)
		n := float64(rw.answered)
		out.MeanWaitSeconds = round(float64(rw.waitSum)/1e9/n, 3)
		out.WaitP50Seconds = round(quantile(rw.waits, 0.5), 3)
		out.WaitP90Seconds = round(quantile(rw.waits, 0.9), 3)
		out.WaitP99Seconds = round(quantile(rw.waits, 0.99), 3)
		out.ProbWait = round(float64(rw.waited)/n, 4)
		out.ServiceLevel = round(float64(rw.inSL)/n, 4)
	}
	if rw.staffed > 0 {
		out.Occupancy = round(float64(rw.busy)/float64(rw.staffed), 4)
	}
	return out
}

func (r *runner) report() *Report {
	rep := &Report{Seed: r.s.Seed, Start: r.s.Start, Duration: r.s.Duration.String(), Warmup: r.s.Warmup.String(),
		Callbacks: r.created, Commands: r.commands, StaleAction: r.stale, Series: r.series}
	for _, t := range r.tenants {
		for id := 1; id < len(t.cbs); id++ {
			if c := &t.cbs[id]; c.counted && !c.accepted && c.state != cbDone {
				st := r.streams[c.stream]
				st.q.row.pending++
				t.domainRows[st.domain].pending++
			}
		}
		for _, q := range t.queues {
			rep.Queues = append(rep.Queues, r.row(t, r.queueName(t, q.name), &q.row, q.sl))
		}
		for id := actors.DomainID(1); int(id) < len(t.domainNames); id++ {
			rep.Domains = append(rep.Domains, r.row(t, t.domainNames[id], &t.domainRows[id], 0))
		}
	}
	return rep
}

func pct(v float64) string { return strconv.FormatFloat(100*v, 'f', 1, 64) + "%" }
func sec(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// WriteTable writes the report as aligned text tables.
func (rep *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "seed %d, %s simulated from %s, first %s not counted; %d callbacks, %d core commands\n\n",
		rep.Seed, rep.Duration, rep.Start.Format(time.RFC3339), rep.Warmup, rep.Callbacks, rep.Commands)
	multi := false
	for _, q := range rep.Queues {
		multi = multi || q.Tenant != rep.Queues[0].Tenant
	}
	for _, part := range []struct {
		title string
		rows  []Row
	}{{"queue", rep.Queues}, {"domain", rep.Domains}} {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "%s\toffered\tanswered\tabandoned\tpending\tretries\tfailed\tdup refused\tmean wait s\tp50 s\tp90 s\tp99 s\tP(wait)\tSL\toccupancy\tmax depth\t\n", part.title)
		for _, x := range part.rows {
			name := x.Name
			if multi && part.title == "domain" {
				name = x.Tenant + "/" + x.Name
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", name,
				x.Offered, x.Answered, x.Abandoned, x.Pending, x.FailedAttempts, x.Failed, x.DuplicatesRefused,
				sec(x.MeanWaitSeconds), sec(x.WaitP50Seconds), sec(x.WaitP90Seconds), sec(x.WaitP99Seconds),
				pct(x.ProbWait), pct(x.ServiceLevel), pct(x.Occupancy), x.MaxQueueDepth)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	return nil
}

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteCSV writes one line per queue and per domain, with a kind column.
func (rep *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"kind", "tenant", "name", "offered", "answered", "abandoned", "pending", "completed", "failedAttempts",
		"failed", "duplicatesRefused", "meanWaitSeconds", "waitP50Seconds", "waitP90Seconds", "waitP99Seconds",
		"probWait", "serviceLevel", "serviceLevelSeconds", "occupancy", "maxQueueDepth"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, part := range []struct {
		kind string
		rows []Row
	}{{"queue", rep.Queues}, {"domain", rep.Domains}} {
		for _, x := range part.rows {
			cw.Write([]string{part.kind, x.Tenant, x.Name, i(x.Offered), i(x.Answered), i(x.Abandoned), i(x.Pending), i(x.Completed),
				i(x.FailedAttempts), i(x.Failed), i(x.DuplicatesRefused), f(x.MeanWaitSeconds), f(x.WaitP50Seconds), f(x.WaitP90Seconds),
				f(x.WaitP99Seconds), f(x.ProbWait), f(x.ServiceLevel), f(x.ServiceLevelSeconds), f(x.Occupancy), i(int64(x.MaxQueueDepth))})
		}
	}
	cw.Flush()
	return cw.Error()
}
