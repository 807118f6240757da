package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/ringbackhq/ringback/sim"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

// simFlags are the flags of `ringback sim`.
type simFlags struct {
	json, csv bool
	out       string
	seed      int64 // -1: the scenario's
	progress  bool

	// live mode
	target      string
	token       string
	speed       float64
	maxRequests int64
	maxDuration time.Duration
}

func init() { rootCmd.AddCommand(newSimCmd()) }

// newSimCmd builds `ringback sim` with its own flag values.
func newSimCmd() *cobra.Command {
	var f simFlags
	cmd := &cobra.Command{
		Use:   "sim SCENARIO.yaml",
		Short: "Simulate a scenario through the routing core in virtual time and report waits, service level and occupancy",
		Long: `Simulate a scenario file (see sim/testdata/*.yaml) through the real routing
core on a simulated clock. The run is deterministic: the same scenario and
seed give the same report, byte for byte.

The report goes to standard output as a table, or as JSON (--json) or CSV
(--csv). With --out DIR the report (report.txt, report.json, report.csv) and
charts of queue depth, wait percentiles and agents by state are written to
DIR. A progress bar is drawn on standard error when it is a terminal.

With --target URL the scenario is played live against a running server
instead: the tenants, domains, queues, agents (with API keys), wrap-up
codes and channel applications are created through the API with the
operator token (--token or RINGBACK_TOKEN), then customers ask for
callbacks and agents hold offer streams, accept, handle and complete them
in real time, --speed times faster. The run reports request latencies
(create, create to offer on the stream, accept) and refused requests by
status. Only loopback targets (127.0.0.1, localhost, ::1) are accepted,
and the run stops at the end of the scenario, after --max-duration of wall
time or after --max-requests requests, whichever comes first.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSim(cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], f)
		},
	}
	cmd.Flags().BoolVar(&f.json, "json", false, "print the report as JSON")
	cmd.Flags().BoolVar(&f.csv, "csv", false, "print the report as CSV")
	cmd.Flags().StringVar(&f.out, "out", "", "write the report and charts (PNG) to this directory")
	cmd.Flags().Int64Var(&f.seed, "seed", -1, "override the scenario's seed")
	cmd.Flags().BoolVar(&f.progress, "progress", true, "draw a progress bar on standard error when it is a terminal")
	cmd.Flags().StringVar(&f.target, "target", "", "play the scenario live against this API (loopback only), e.g. http://127.0.0.1:8080")
	cmd.Flags().StringVar(&f.token, "token", "", "live: the operator token (RINGBACK_TOKEN)")
	cmd.Flags().Float64Var(&f.speed, "speed", 1, "live: scenario seconds per wall second")
	cmd.Flags().Int64Var(&f.maxRequests, "max-requests", sim.DefaultLiveMaxRequests, "live: stop after this many requests")
	cmd.Flags().DurationVar(&f.maxDuration, "max-duration", sim.DefaultLiveMaxDuration, "live: stop after this much wall time")
	return cmd
}

func runSim(stdout, stderr io.Writer, path string, f simFlags) error {
	if f.json && f.csv {
		return errors.New("sim: --json and --csv: choose one")
	}
	s, err := sim.Load(path)
	if err != nil {
		return err
	}
	if f.seed >= 0 {
		s.Seed = uint64(f.seed)
	}
	if f.target != "" {
		return runLive(stdout, stderr, s, f)
	}
	var opt sim.Options
	if file, ok := stderr.(*os.File); ok && f.progress && isatty.IsTerminal(file.Fd()) {
		total := s.Duration.D()
		bar := progressbar.NewOptions64(int64(total/time.Minute),
			progressbar.OptionSetWriter(file), progressbar.OptionSetDescription("simulating"),
			progressbar.OptionShowCount(), progressbar.OptionSetItsString("sim min"),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
		opt.Progress = func(done, _ time.Duration) { bar.Set64(int64(done / time.Minute)) }
		defer bar.Close()
	}
	start := time.Now()
	rep, err := sim.Run(s, opt)
	if err != nil {
		return err
	}
	if opt.Progress != nil {
		fmt.Fprintf(stderr, "simulated %s in %s\n", s.Duration, time.Since(start).Round(time.Millisecond))
	}
	switch {
	case f.json:
		err = rep.WriteJSON(stdout)
	case f.csv:
		err = rep.WriteCSV(stdout)
	default:
		err = rep.WriteTable(stdout)
	}
	if err != nil || f.out == "" {
		return err
	}
	return writeSimOut(rep, f.out)
}

// writeSimOut writes the report in every format and the charts to dir.
func writeSimOut(rep *sim.Report, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, write := range map[string]func(io.Writer) error{
		"report.txt": rep.WriteTable, "report.json": rep.WriteJSON, "report.csv": rep.WriteCSV,
	} {
		fh, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		err = write(fh)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return rep.WriteCharts(dir)
}

// runLive plays a scenario against a server (see sim.RunLive).
func runLive(stdout, stderr io.Writer, s *sim.Scenario, f simFlags) error {
	if f.csv || f.out != "" {
		return errors.New("sim: --csv and --out are for simulated runs; a live run prints a table or --json")
	}
	if f.maxRequests <= 0 || f.maxDuration <= 0 {
		return errors.New("sim: --max-requests and --max-duration must be positive: a live run is always bounded")
	}
	if _, err := sim.CheckTarget(f.target); err != nil {
		return err
	}
	token := f.token
	if token == "" {
		token = os.Getenv("RINGBACK_TOKEN")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fmt.Fprintf(stderr, "setting up %s, then playing %s at speed %g (at most %s, %d requests)\n",
		f.target, s.Duration, f.speed, f.maxDuration, f.maxRequests)
	rep, err := sim.RunLive(ctx, s, sim.LiveOptions{Target: f.target, Token: token, Speed: f.speed,
		MaxRequests: f.maxRequests, MaxDuration: f.maxDuration})
	if err != nil {
		return err
	}
	if f.json {
		return rep.WriteJSON(stdout)
	}
	return rep.WriteTable(stdout)
}
