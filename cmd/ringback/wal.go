package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/ringbackhq/ringback/wal"
)

// errWALProblem makes `wal verify` exit non-zero after it printed a problem.
var errWALProblem = errors.New("wal verify: problem found")

func init() {
	walCmd := &cobra.Command{
		Use:   "wal",
		Short: "Inspect the write-ahead log",
	}
	walCmd.AddCommand(&cobra.Command{
		Use:   "verify DIR",
		Short: "Check every segment of a WAL directory without changing it",
		Long: "Checks every segment file of the write-ahead log in DIR and prints, per segment,\n" +
			"its index range and record count, then the log's range and the first problem\n" +
			"found with its file and offset. A torn tail (an incomplete last write, rolled\n" +
			"back on open) is reported but is not a problem. Exits non-zero on a problem.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWALVerify(cmd.OutOrStdout(), args[0])
		},
	})
	rootCmd.AddCommand(walCmd)
}

func runWALVerify(out io.Writer, dir string) error {
	rep, err := wal.Verify(dir)
	if err != nil {
		return err
	}
	for _, s := range rep.Segments {
		switch {
		case s.Unused:
			fmt.Fprintf(out, "%s  unused (preallocated)\n", s.File)
		case s.Records == 0:
			fmt.Fprintf(out, "%s  no committed records\n", s.File)
		default:
			fmt.Fprintf(out, "%s  index %d-%d  records %d  bytes %d\n", s.File, s.First, s.Last, s.Records, s.Bytes)
		}
	}
	if rep.Problem != nil {
		fmt.Fprintf(out, "problem: %s at offset %d: %s\n", rep.Problem.File, rep.Problem.Offset, rep.Problem.Reason)
		return fmt.Errorf("%w: %s", errWALProblem, rep.Problem)
	}
	if rep.Last == 0 {
		fmt.Fprintf(out, "log: empty (floor %d)\n", rep.Floor)
	} else {
		fmt.Fprintf(out, "log: index %d-%d  records %d\n", rep.First, rep.Last, rep.Records)
	}
	if rep.Torn != nil {
		fmt.Fprintf(out, "torn tail: %s at offset %d: %s (rolled back on open)\n", rep.Torn.File, rep.Torn.Offset, rep.Torn.Reason)
	}
	fmt.Fprintln(out, "ok")
	return nil
}
