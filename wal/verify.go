package wal

import (
	"errors"
	"fmt"
)

// SegmentReport describes one segment file as Verify found it.
type SegmentReport struct {
	File    string
	First   uint64 // first committed index, 0 if none
	Last    uint64 // last committed index, 0 if none
	Records int    // committed entries
	Bytes   int64  // committed bytes, header included
	Unused  bool   // a preallocated segment not yet written
}

// Report is the result of Verify.
type Report struct {
	Segments []SegmentReport
	Floor    uint64 // entries below it are deleted
	First    uint64 // FirstIndex the WAL would report on open
	Last     uint64 // LastIndex the WAL would report on open
	Records  int    // entries in [First, Last]

	// Torn is the torn tail that Open would roll back, if any. It is not
	// committed data, so it is not a problem.
	Torn *CorruptError
	// Problem is the first damage to committed data; Open would refuse.
	Problem *CorruptError
}

// Verify checks every segment in dir without changing anything and reports
// the index range, record counts and the first problem. Its error is for
// failures to read; damaged data is reported in Report.Problem.
func Verify(dir string, opts ...Option) (*Report, error) {
	cfg := DefaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rep := &Report{}
	floor, _, err := readMeta(cfg.FS, dir)
	var ce *CorruptError
	if errors.As(err, &ce) {
		rep.Problem = ce
		return rep, nil
	}
	if err != nil {
		return nil, err
	}
	rep.Floor = floor
	scans, files, err := scanDir(cfg.FS, dir, cfg.MaxRecordSize)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		_ = f.Close()
	}
	for _, s := range scans {
		sr := SegmentReport{File: s.name, Records: len(s.offsets), Bytes: s.end, Unused: s.hdrZero}
		if len(s.offsets) > 0 {
			sr.First, sr.Last = s.first(), s.last()
		}
		rep.Segments = append(rep.Segments, sr)
	}
	plan, err := analyze(scans, floor)
	if errors.As(err, &ce) {
		rep.Problem = ce
		return rep, nil
	}
	if err != nil {
		return nil, err
	}
	if s := plan.rollback; s != nil {
		reason := "incomplete last batch"
		if s.reason != "" {
			reason = s.reason
		}
		rep.Torn = &CorruptError{File: s.name, Offset: s.end, Reason: fmt.Sprintf("torn tail (%s at offset %d)", reason, s.stop)}
	}
	for _, s := range plan.remove {
		if rep.Torn == nil {
			rep.Torn = &CorruptError{File: s.name, Offset: 0, Reason: "torn first write of a segment"}
		}
	}
	if n := len(plan.keep); n > 0 {
		rep.First = max(floor, plan.keep[0].first())
		rep.Last = plan.keep[n-1].last()
		rep.Records = int(rep.Last - rep.First + 1)
	}
	return rep, nil
}
