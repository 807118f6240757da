package wal

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

const segSuffix = ".wal"

func segName(seq uint64) string { return fmt.Sprintf("%020d%s", seq, segSuffix) }

// parseSegName returns the sequence number of a segment file name.
func parseSegName(name string) (uint64, bool) {
	if len(name) != 20+len(segSuffix) || !strings.HasSuffix(name, segSuffix) {
		return 0, false
	}
	seq, err := strconv.ParseUint(name[:20], 10, 64)
	return seq, err == nil
}

// recoveryPlan is what Open must do to the directory, decided by analyze
// from the scans alone so that Verify can report it without doing it.
type recoveryPlan struct {
	keep     []*segScan // data segments, oldest first, after the floor
	below    []*segScan // whole segments under the floor: delete
	remove   []*segScan // torn or empty tail segments: delete
	spare    *segScan   // an unused zero-filled segment to write into next
	zeros    []*segScan // other unused segments: delete
	rollback *segScan   // the last data segment has a torn tail to cut at end
	maxSeq   uint64
}

// analyze decides, from every segment's scan in sequence order, which data
// is committed, which tail is torn, and whether anything committed is
// damaged (a *CorruptError).
func analyze(scans []*segScan, floor uint64) (recoveryPlan, error) {
	var p recoveryPlan
	for _, s := range scans {
		seq, _ := parseSegName(s.name)
		p.maxSeq = max(p.maxSeq, seq)
	}
	// Unused segments: zero header and no commit record anywhere. The last
	// file may be the spare; others are leftovers of a discarded spare.
	var data []*segScan
	for i, s := range scans {
		if !s.hdrZero {
			data = append(data, s)
			continue
		}
		if s.later >= 0 {
			return p, &CorruptError{File: s.name, Offset: 0, Reason: "zero segment header over committed records"}
		}
		if i == len(scans)-1 {
			p.spare = s
		} else {
			p.zeros = append(p.zeros, s)
		}
	}
	for i, s := range data {
		last := i == len(data)-1
		if s.hdrReason != "" {
			if last && s.later < 0 {
				p.remove = append(p.remove, s) // torn first write of a new segment
				continue
			}
			return p, &CorruptError{File: s.name, Offset: 0, Reason: s.hdrReason}
		}
		if seq, _ := parseSegName(s.name); seq != s.hdr.seq {
			return p, &CorruptError{File: s.name, Offset: 8, Reason: fmt.Sprintf("header sequence %d does not match the file name", s.hdr.seq)}
		}
		if s.later >= 0 || (!last && s.dirty()) {
			return p, corruptAt(s)
		}
		if last && s.dirty() {
			p.rollback = s
		}
		if len(s.offsets) == 0 {
			if !last {
				return p, &CorruptError{File: s.name, Offset: headerSize, Reason: "segment holds no committed entries"}
			}
			p.remove = append(p.remove, s)
			p.rollback = nil
			continue
		}
		if k := len(p.keep); k > 0 {
			prev := p.keep[k-1]
			if s.hdr.base != prev.last()+1 {
				return p, &CorruptError{File: s.name, Offset: 16, Reason: fmt.Sprintf("base index %d does not follow index %d of %s", s.hdr.base, prev.last(), prev.name)}
			}
		}
		p.keep = append(p.keep, s)
	}
	for len(p.keep) > 0 && p.keep[0].last() < floor {
		if p.keep[0] == p.rollback {
			p.rollback = nil
		}
		p.below = append(p.below, p.keep[0])
		p.keep = p.keep[1:]
	}
	return p, nil
}

// corruptAt describes the first problem of a segment whose data is
// committed but damaged.
func corruptAt(s *segScan) *CorruptError {
	switch {
	case s.reason != "":
		return &CorruptError{File: s.name, Offset: s.stop, Reason: s.reason}
	case s.pending > 0:
		return &CorruptError{File: s.name, Offset: s.end, Reason: "batch without a commit record"}
	default:
		return &CorruptError{File: s.name, Offset: s.stop, Reason: fmt.Sprintf("records missing before a commit record at offset %d", s.later)}
	}
}

// scanDir scans every segment file of dir, in sequence order.
func scanDir(fsys FS, dir string, maxRecord int) ([]*segScan, []File, error) {
	names, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("wal: read dir %s: %w", dir, err)
	}
	var (
		scans []*segScan
		files []File
	)
	fail := func(err error) ([]*segScan, []File, error) {
		for _, f := range files {
			_ = f.Close()
		}
		return nil, nil, err
	}
	for _, name := range names {
		if _, ok := parseSegName(name); !ok {
			continue
		}
		f, err := fsys.Open(filepath.Join(dir, name), false)
		if err != nil {
			return fail(fmt.Errorf("wal: open %s: %w", name, err))
		}
		files = append(files, f)
		size, err := f.Size()
		if err != nil {
			return fail(fmt.Errorf("wal: stat %s: %w", name, err))
		}
		s, err := scanSegment(name, f, size, maxRecord)
		if err != nil {
			return fail(fmt.Errorf("wal: read %s: %w", name, err))
		}
		scans = append(scans, s)
	}
	return scans, files, nil
}
