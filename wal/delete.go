package wal

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
)

// doDelete carries out a queued DeleteRange. Only the leader calls it.
func (w *WAL) doDelete(r *request) error {
	if err := w.writable(); err != nil {
		return err
	}
	w.mu.RLock()
	first, last := w.bounds()
	w.mu.RUnlock()
	op, _, _, err := classify(r.first, r.last, first, last)
	if err != nil {
		return err
	}
	switch op {
	case opPrefix:
		return w.deletePrefix(r.last + 1)
	case opAll:
		return w.deleteAll(r.last + 1)
	case opSuffix:
		return w.deleteSuffix(r.first)
	}
	return nil
}

// deletePrefix hides entries below floor and removes the segments that
// hold only such entries. Live data is never rewritten.
func (w *WAL) deletePrefix(floor uint64) error {
	w.mu.RLock()
	k := 0
	for k < len(w.segs) && len(w.segs[k].offsets) > 0 && w.segs[k].last() < floor {
		k++
	}
	onBoundary := k < len(w.segs) && w.segs[k].base == floor
	w.mu.RUnlock()
	// The floor must be durable before segments go, so that a crash between
	// the two never brings back some deleted entries but not others.
	if !onBoundary {
		if err := w.saveFloor(floor); err != nil {
			return w.fail(err)
		}
	}
	w.mu.Lock()
	dead := append([]*segment(nil), w.segs[:k]...)
	w.segs = append(w.segs[:0:0], w.segs[k:]...)
	w.floor = floor
	w.mu.Unlock()
	return w.removeSegments(dead)
}

// deleteAll empties the log. The floor is persisted first so that a crash
// half-way leaves nothing visible that should be gone.
func (w *WAL) deleteAll(floor uint64) error {
	if err := w.saveFloor(floor); err != nil {
		return w.fail(err)
	}
	w.mu.Lock()
	dead := w.segs
	w.segs = nil
	w.floor = floor
	w.mu.Unlock()
	return w.removeSegments(dead)
}

// removeSegments closes and deletes segment files, oldest first, then
// syncs the directory.
func (w *WAL) removeSegments(dead []*segment) error {
	if len(dead) == 0 {
		return nil
	}
	for _, s := range dead {
		_ = s.f.Close()
		if err := w.fs.Remove(filepath.Join(w.dir, s.name)); err != nil {
			return w.fail(fmt.Errorf("wal: remove %s: %w", s.name, err))
		}
	}
	if err := w.fs.SyncDir(w.dir); err != nil {
		return w.fail(fmt.Errorf("wal: sync dir: %w", err))
	}
	return nil
}

// deleteSuffix removes entries from min on. Later segments are deleted
// newest first; then the segment holding min is cut: at min when min starts
// a batch, otherwise after min's batch followed by a truncate record, so the
// entries before min keep a valid commit record. Every crash point leaves a
// prefix of the old log.
func (w *WAL) deleteSuffix(min uint64) error {
	w.mu.Lock()
	i := len(w.segs) - 1
	for i > 0 && w.segs[i].base > min {
		i--
	}
	later := append([]*segment(nil), w.segs[i+1:]...)
	w.segs = w.segs[:i+1]
	s := w.segs[i]
	k := min - s.base
	off := int64(s.offsets[k])
	oldEnd := s.end
	whole := k == 0
	if whole {
		w.segs = w.segs[:i]
	}
	w.mu.Unlock()

	for j := len(later) - 1; j >= 0; j-- {
		_ = later[j].f.Close()
		if err := w.fs.Remove(filepath.Join(w.dir, later[j].name)); err != nil {
			return w.fail(fmt.Errorf("wal: remove %s: %w", later[j].name, err))
		}
	}
	if len(later) > 0 {
		if err := w.fs.SyncDir(w.dir); err != nil {
			return w.fail(fmt.Errorf("wal: sync dir: %w", err))
		}
	}
	if whole {
		return w.removeSegments([]*segment{s})
	}

	var head [entryHead]byte
	if _, err := s.f.ReadAt(head[:], off); err != nil {
		return w.fail(fmt.Errorf("wal: read %s at offset %d: %w", s.name, off, err))
	}
	newEnd := off
	var tr []byte
	if head[6]&flagBatchStart == 0 {
		// Find the end of min's batch: skip entries up to its commit record.
		pos := off
		for {
			var h [entryHead]byte
			if _, err := s.f.ReadAt(h[:8], pos); err != nil {
				return w.fail(fmt.Errorf("wal: read %s at offset %d: %w", s.name, pos, err))
			}
			if h[4] != kindEntry {
				pos += markerSize
				break
			}
			if _, err := s.f.ReadAt(h[:], pos); err != nil {
				return w.fail(fmt.Errorf("wal: read %s at offset %d: %w", s.name, pos, err))
			}
			pos += entryHead + int64(binary.LittleEndian.Uint32(h[8:12])) + int64(binary.LittleEndian.Uint32(h[12:16]))
			if pos >= oldEnd {
				return w.fail(&CorruptError{File: s.name, Offset: off, Reason: "batch without a commit record"})
			}
		}
		newEnd = pos
		tr = make([]byte, markerSize)
		putMarker(tr, marker{kind: kindTruncate, first: min, groupStart: uint64(pos)})
	}

	w.mu.Lock()
	s.offsets = s.offsets[:k]
	s.end = newEnd + int64(len(tr))
	w.mu.Unlock()

	if newEnd < oldEnd {
		if err := s.f.Truncate(newEnd); err != nil {
			return w.fail(fmt.Errorf("wal: truncate %s at offset %d: %w", s.name, newEnd, err))
		}
		if err := s.f.Sync(); err != nil {
			return w.fail(fmt.Errorf("wal: sync %s: %w", s.name, err))
		}
	}
	if tr != nil {
		if _, err := s.f.WriteAt(tr, newEnd); err != nil {
			return w.fail(fmt.Errorf("wal: write %s at offset %d: %w", s.name, newEnd, err))
		}
		if err := s.f.Sync(); err != nil {
			return w.fail(fmt.Errorf("wal: sync %s: %w", s.name, err))
		}
	}
	if w.cfg.Preallocate && newEnd < oldEnd {
		if err := zeroFill(s.f, s.end, w.cfg.SegmentSize, nil, false); err != nil {
			return w.fail(fmt.Errorf("wal: zero-fill %s: %w", s.name, err))
		}
	}
	return nil
}
