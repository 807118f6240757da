package wal

import (
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// maxSpareWait bounds how long a rotation waits for the spare segment.
const maxSpareWait = 20 * time.Millisecond

type reqKind uint8

const (
	reqWrite reqKind = iota + 1
	reqDelete
)

// request is one StoreLogs batch or DeleteRange waiting in the queue.
type request struct {
	kind        reqKind
	buf         []byte   // encoded entries and commit record
	rel         []uint32 // offset of each entry inside buf
	words       []byte   // entry CRCs, for the batch checksum
	first, last uint64   // indexes written, or the range to delete
	err         error
	lead        bool          // set when leadership is handed to this request
	done        chan struct{} // receives once: completed or leading
}

var reqPool = sync.Pool{New: func() any { return &request{done: make(chan struct{}, 1)} }}

func getRequest(kind reqKind) *request {
	r := reqPool.Get().(*request)
	r.kind, r.err, r.lead = kind, nil, false
	r.buf, r.rel, r.words = r.buf[:0], r.rel[:0], r.words[:0]
	return r
}

func putRequest(r *request) {
	if cap(r.buf) > 1<<20 {
		r.buf = nil
	}
	if cap(r.rel) > 1<<14 {
		r.rel = nil
	}
	reqPool.Put(r)
}

// encode writes logs (already indexed and consecutive) into r.
func (w *WAL) encode(r *request, logs []*raft.Log) error {
	var c uint32
	for i, l := range logs {
		if len(l.Data)+len(l.Extensions) > w.cfg.MaxRecordSize {
			return fmt.Errorf("entry %d holds %d bytes, limit %d: %w", l.Index, len(l.Data)+len(l.Extensions), w.cfg.MaxRecordSize, ErrTooLarge)
		}
		if l.Index != logs[0].Index+uint64(i) {
			return fmt.Errorf("entry %d follows %d inside a batch: %w", l.Index, logs[i-1].Index, ErrNonContiguous)
		}
		var flags byte
		if i == 0 {
			flags = flagBatchStart
		}
		if len(r.buf) > maxSegmentEnd {
			return fmt.Errorf("batch of %d entries is over 4 GiB: %w", len(logs), ErrTooLarge)
		}
		r.rel = append(r.rel, uint32(len(r.buf)))
		r.buf, c = appendEntry(r.buf, l, flags)
		r.words = appendCRCWord(r.words, c)
	}
	n := len(r.buf)
	r.buf = grow(r.buf, markerSize)
	putMarker(r.buf[n:], marker{kind: kindCommit, count: uint32(len(logs)), batchCRC: crc(r.words), first: logs[0].Index})
	r.first, r.last = logs[0].Index, logs[len(logs)-1].Index
	return nil
}

// StoreLog implements raft.LogStore.
func (w *WAL) StoreLog(l *raft.Log) error { return w.StoreLogs([]*raft.Log{l}) }

// StoreLogs implements raft.LogStore. The batch must follow LastIndex (any
// first index is accepted on an empty log). It is atomic and durable when
// StoreLogs returns: one write and one sync, shared with any batches other
// goroutines store at the same time.
func (w *WAL) StoreLogs(logs []*raft.Log) error {
	if len(logs) == 0 {
		return nil
	}
	if logs[0].Index == 0 {
		return fmt.Errorf("entry index 0: %w", ErrNonContiguous)
	}
	r := getRequest(reqWrite)
	defer putRequest(r)
	if err := w.encode(r, logs); err != nil {
		return err
	}
	w.qmu.Lock()
	if err := w.admitLocked(r); err != nil {
		w.qmu.Unlock()
		return err
	}
	return w.run(r)
}

// AppendLogs stores logs after the last stored or queued entry, setting
// each log's Index, as one atomic durable batch like StoreLogs. Unlike a
// caller that reads LastIndex and then calls StoreLogs, any number of
// goroutines may call it at once; their batches share writes and syncs.
func (w *WAL) AppendLogs(logs []*raft.Log) error {
	if len(logs) == 0 {
		return nil
	}
	r := getRequest(reqWrite)
	defer putRequest(r)
	w.qmu.Lock()
	next := w.vLast + 1
	if w.vLast == 0 {
		w.mu.RLock()
		next = max(w.floor, 1)
		w.mu.RUnlock()
	}
	for i, l := range logs {
		l.Index = next + uint64(i)
	}
	if err := w.encode(r, logs); err != nil {
		w.qmu.Unlock()
		return err
	}
	if err := w.admitLocked(r); err != nil {
		w.qmu.Unlock()
		return err
	}
	return w.run(r)
}

// DeleteRange implements raft.LogStore. It deletes [min, max] when that is
// a prefix of the log (whole segments are removed, the rest is hidden by a
// durable floor) or a suffix (the tail is cut back). Deleting what is not
// there is a no-op; a range in the middle is ErrInvalidRange.
func (w *WAL) DeleteRange(min, max uint64) error {
	r := getRequest(reqDelete)
	defer putRequest(r)
	r.first, r.last = min, max
	w.qmu.Lock()
	op, _, _, err := classify(min, max, w.vFirst, w.vLast)
	if err != nil || op == opNone {
		w.qmu.Unlock()
		return err
	}
	if err := w.admitLocked(r); err != nil {
		w.qmu.Unlock()
		return err
	}
	return w.run(r)
}

type deleteOp uint8

const (
	opNone deleteOp = iota
	opPrefix
	opSuffix
	opAll
)

// classify decides what DeleteRange(min, max) does to a log [first, last]
// and the bounds after it.
func classify(min, max, first, last uint64) (op deleteOp, nfirst, nlast uint64, err error) {
	switch {
	case min > max:
		return opNone, first, last, fmt.Errorf("min %d > max %d: %w", min, max, ErrInvalidRange)
	case last == 0 || max < first || min > last:
		return opNone, first, last, nil
	case min <= first && max >= last:
		return opAll, 0, 0, nil
	case min <= first:
		return opPrefix, max + 1, last, nil
	case max >= last:
		return opSuffix, first, min - 1, nil
	}
	return opNone, first, last, fmt.Errorf("[%d, %d] inside [%d, %d]: %w", min, max, first, last, ErrInvalidRange)
}

// admitLocked checks r against the log as it will be after everything
// queued, and queues it. Called with qmu held.
func (w *WAL) admitLocked(r *request) error {
	if w.qclosed {
		return ErrClosed
	}
	if p := w.failed.Load(); p != nil {
		return fmt.Errorf("%w: %w", ErrFailed, *p)
	}
	switch r.kind {
	case reqWrite:
		if w.vLast != 0 && r.first != w.vLast+1 {
			return fmt.Errorf("batch starts at %d, log ends at %d: %w", r.first, w.vLast, ErrNonContiguous)
		}
		if w.vLast == 0 {
			w.vFirst = r.first
		}
		w.vLast = r.last
	case reqDelete:
		_, w.vFirst, w.vLast, _ = classify(r.first, r.last, w.vFirst, w.vLast)
	}
	w.queue = append(w.queue, r)
	return nil
}

// run waits for r to be done, leading the queue when it is r's turn.
// Called with qmu held; returns with it released.
func (w *WAL) run(r *request) error {
	if w.leading {
		w.qmu.Unlock()
		<-r.done
		if !r.lead {
			return r.err
		}
		w.qmu.Lock()
	}
	w.leading = true
	// r is at the head of the queue: take it and what may join it.
	group := w.takeGroupLocked()
	w.qmu.Unlock()

	if group[0].kind == reqDelete {
		group[0].err = w.doDelete(group[0])
	} else {
		w.writeGroup(group)
	}
	for _, g := range group[1:] {
		g.done <- struct{}{}
	}

	w.qmu.Lock()
	if len(w.queue) > 0 {
		next := w.queue[0]
		next.lead = true
		next.done <- struct{}{}
	} else {
		w.leading = false
		w.idle.Broadcast()
	}
	w.qmu.Unlock()
	return r.err
}

// takeGroupLocked removes from the queue a delete alone, or consecutive
// writes up to MaxGroupBytes. Called with qmu held.
func (w *WAL) takeGroupLocked() []*request {
	n, size := 1, len(w.queue[0].buf)
	if w.queue[0].kind == reqWrite {
		for n < len(w.queue) && w.queue[n].kind == reqWrite && size+len(w.queue[n].buf) <= w.cfg.MaxGroupBytes {
			size += len(w.queue[n].buf)
			n++
		}
	}
	group := append(w.groupScratch[:0], w.queue[:n]...)
	w.groupScratch = group
	rest := copy(w.queue, w.queue[n:])
	clear(w.queue[rest:])
	w.queue = w.queue[:rest]
	return group
}

// writeGroup writes a group of batches: per segment, one write and one
// sync. Only the leader calls it.
func (w *WAL) writeGroup(group []*request) {
	setErr := func(rs []*request, err error) {
		for _, r := range rs {
			r.err = err
		}
	}
	if err := w.writable(); err != nil {
		setErr(group, err)
		return
	}
	for i := 0; i < len(group); {
		w.mu.RLock()
		_, last := w.bounds()
		tail := w.tailLocked()
		floor := w.floor
		w.mu.RUnlock()
		r := group[i]
		if last != 0 && r.first != last+1 {
			setErr(group[i:i+1], fmt.Errorf("batch starts at %d, log ends at %d: %w", r.first, last, ErrNonContiguous))
			i++
			continue
		}
		if last == 0 && r.first < floor {
			if err := w.saveFloor(0); err != nil {
				setErr(group[i:], w.fail(err))
				return
			}
			w.mu.Lock()
			w.floor = 0
			w.mu.Unlock()
		}
		if tail == nil || (len(tail.offsets) > 0 && tail.end+int64(len(r.buf)) > w.cfg.SegmentSize) {
			var err error
			if tail, err = w.rotate(r.first); err != nil {
				setErr(group[i:], w.fail(err))
				return
			}
		}
		if tail.end == 0 {
			w.mu.Lock()
			tail.base = r.first
			w.mu.Unlock()
		}
		// Take the batches that fit in this segment.
		j, size := i+1, tail.end+int64(len(r.buf))
		for j < len(group) && size+int64(len(group[j].buf)) <= w.cfg.SegmentSize {
			size += int64(len(group[j].buf))
			j++
		}
		if err := w.flush(tail, group[i:j]); err != nil {
			setErr(group[i:], err)
			return
		}
		w.askSpare(tail)
		i = j
	}
}

// tailLocked returns the segment being written, or nil. Called with mu held.
func (w *WAL) tailLocked() *segment {
	if n := len(w.segs); n > 0 {
		return w.segs[n-1]
	}
	return nil
}

// flush writes batches to the end of seg with one write and one sync and
// publishes their entries to readers.
func (w *WAL) flush(seg *segment, batch []*request) error {
	start := seg.end
	var buf []byte
	if start == 0 || len(batch) > 1 {
		buf = w.groupBuf[:0]
		if start == 0 {
			buf = grow(buf, headerSize)
			putHeader(buf, segHeader{seq: seg.seq, base: seg.base})
		}
		for _, r := range batch {
			buf = append(buf, r.buf...)
			setGroupStart(buf[len(buf)-markerSize:], uint64(start))
		}
		w.groupBuf = buf
	} else {
		buf = batch[0].buf
		setGroupStart(buf[len(buf)-markerSize:], uint64(start))
	}
	if start+int64(len(buf)) > maxSegmentEnd {
		return fmt.Errorf("segment %s would pass 4 GiB: %w", seg.name, ErrTooLarge)
	}
	if _, err := seg.f.WriteAt(buf, start); err != nil {
		return w.fail(fmt.Errorf("wal: write %s at offset %d: %w", seg.name, start, err))
	}
	syncStart := time.Now()
	if err := seg.f.Sync(); err != nil {
		return w.fail(fmt.Errorf("wal: sync %s: %w", seg.name, err))
	}
	if w.cfg.OnSync != nil {
		w.cfg.OnSync(time.Since(syncStart))
	}
	w.mu.Lock()
	pos := start
	if start == 0 {
		pos = headerSize
	}
	for _, r := range batch {
		for _, rel := range r.rel {
			seg.offsets = append(seg.offsets, uint32(pos)+rel)
		}
		pos += int64(len(r.buf))
	}
	seg.end = pos
	w.mu.Unlock()
	if cap(w.groupBuf) > 8<<20 {
		w.groupBuf = nil
	}
	return nil
}

// rotate starts a new segment whose first entry will be base: the
// preallocated spare when there is one, else a new file.
func (w *WAL) rotate(base uint64) (*segment, error) {
	w.mu.RLock()
	var tailSeq uint64
	if t := w.tailLocked(); t != nil {
		tailSeq = t.seq
	}
	w.mu.RUnlock()

	w.spareMu.Lock()
	if ch := w.preparing; ch != nil {
		// A spare is being filled: a short wait costs less than a whole
		// segment of slower syncs, but a slow disk must not stall a busy
		// log. The first segment of an empty log waits for it.
		w.spareMu.Unlock()
		var timeout <-chan time.Time
		if tailSeq != 0 {
			timeout = time.After(maxSpareWait)
		}
		select {
		case <-ch:
		case <-timeout:
		}
		w.spareMu.Lock()
	}
	seg := w.spare
	w.spare = nil
	if seg != nil && seg.seq < tailSeq {
		// Prepared before a newer segment was created: not usable.
		_ = seg.f.Close()
		_ = w.fs.Remove(filepath.Join(w.dir, seg.name))
		seg = nil
	}
	var seq uint64
	if seg == nil {
		seq = w.nextSeq
		w.nextSeq++
	}
	w.spareMu.Unlock()

	if seg == nil {
		name := segName(seq)
		f, err := w.fs.Open(filepath.Join(w.dir, name), true)
		if err != nil {
			return nil, fmt.Errorf("wal: create %s: %w", name, err)
		}
		if err := w.fs.SyncDir(w.dir); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("wal: sync dir: %w", err)
		}
		seg = &segment{seq: seq, name: name, f: f}
	}
	seg.base, seg.end, seg.offsets = base, 0, nil
	w.mu.Lock()
	w.segs = append(w.segs, seg)
	w.mu.Unlock()
	return seg, nil
}

// askSpare has the segment after tail prepared once tail is half full:
// early enough for the spare to be ready when tail fills, and late enough
// that a log which never fills a segment (a node just started, say) never
// zero-fills one. Called by the writer after each flush.
func (w *WAL) askSpare(tail *segment) {
	if !w.cfg.Preallocate || tail.end < w.cfg.SegmentSize/2 || w.spareAsked == tail.seq {
		return
	}
	w.spareAsked = tail.seq
	select {
	case w.prepCh <- struct{}{}:
	default:
	}
}
