package wal

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
)

// WAL is a segmented write-ahead log holding Raft's log and stable store.
// All methods are safe for concurrent use.
type WAL struct {
	dir string
	cfg Config
	fs  FS

	mu     sync.RWMutex
	segs   []*segment // guarded by mu; oldest first
	floor  uint64     // guarded by mu; entries below it are deleted
	closed bool       // guarded by mu

	// Writes and deletions queue here; the caller at the head of the queue
	// leads: it takes every queued batch it can, writes them with one write
	// and one sync, and hands leadership to the next waiter.
	qmu     sync.Mutex
	idle    *sync.Cond // signalled on qmu when leading turns false
	queue   []*request // guarded by qmu
	leading bool       // guarded by qmu
	vFirst  uint64     // guarded by qmu; FirstIndex once the queue is done
	vLast   uint64     // guarded by qmu; LastIndex once the queue is done
	qclosed bool       // guarded by qmu

	groupBuf     []byte     // used only by the leader
	groupScratch []*request // used only by the leader

	failed atomic.Pointer[error] // first write failure; sticky until reopen

	metaMu    sync.Mutex
	kv        map[string][]byte // guarded by metaMu; never mutated, replaced
	metaFloor uint64            // guarded by metaMu; floor as persisted

	spareMu   sync.Mutex
	spare     *segment      // guarded by spareMu; zero-filled segment ready for rotation
	preparing chan struct{} // guarded by spareMu; non-nil while a spare is filled, closed when done
	nextSeq   uint64        // guarded by spareMu

	prepCh     chan struct{} // wakes the preallocation goroutine
	spareAsked uint64        // the segment whose successor was last asked for; the writer's own
	stopCh     chan struct{} // closed by Close to stop it
	wg         sync.WaitGroup
}

// segment is one open segment file.
type segment struct {
	seq     uint64
	name    string
	f       File
	base    uint64   // index of offsets[0]; guarded by WAL.mu
	offsets []uint32 // guarded by WAL.mu; file offset of each committed entry
	end     int64    // guarded by WAL.mu; end of committed data, 0 before the header is written
}

func (s *segment) last() uint64 { return s.base + uint64(len(s.offsets)) - 1 }

var (
	_ raft.LogStore          = (*WAL)(nil)
	_ raft.StableStore       = (*WAL)(nil)
	_ raft.MonotonicLogStore = (*WAL)(nil)
)

// Open opens (creating if needed) the WAL in dir and recovers it: a torn
// last write is rolled back to the last complete commit; damaged committed
// data fails with a *CorruptError naming the file and offset.
func Open(dir string, opts ...Option) (*WAL, error) {
	cfg := DefaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	fsys := cfg.FS
	if err := fsys.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("wal: create dir %s: %w", dir, err)
	}
	_ = fsys.Remove(filepath.Join(dir, metaTmp))
	floor, kv, err := readMeta(fsys, dir)
	if err != nil {
		return nil, err
	}
	scans, files, err := scanDir(fsys, dir, cfg.MaxRecordSize)
	if err != nil {
		return nil, err
	}
	fileOf := make(map[*segScan]File, len(scans))
	for i, s := range scans {
		fileOf[s] = files[i]
	}
	closeAll := func() {
		for _, f := range files {
			_ = f.Close()
		}
	}
	plan, err := analyze(scans, floor)
	if err != nil {
		closeAll()
		return nil, err
	}
	w := &WAL{
		dir: dir, cfg: cfg, fs: fsys,
		floor: floor, kv: kv, metaFloor: floor,
		nextSeq: plan.maxSeq + 1,
		prepCh:  make(chan struct{}, 1),
		stopCh:  make(chan struct{}),
	}
	w.idle = sync.NewCond(&w.qmu)
	if err := w.applyPlan(plan, fileOf); err != nil {
		closeAll()
		return nil, err
	}
	w.vFirst, w.vLast = w.bounds()
	if cfg.Preallocate {
		w.wg.Add(1)
		go w.prepareLoop()
		if w.spare == nil {
			w.spareMu.Lock()
			w.startPreparingLocked() // rotation waits (briefly) for the first spare
			w.spareMu.Unlock()
			w.prepCh <- struct{}{}
		}
	}
	return w, nil
}

// applyPlan carries out recovery: cuts a torn tail, deletes dead files and
// builds the in-memory index.
func (w *WAL) applyPlan(p recoveryPlan, fileOf map[*segScan]File) error {
	removed := false
	drop := func(s *segScan) error {
		_ = fileOf[s].Close()
		delete(fileOf, s)
		if err := w.fs.Remove(filepath.Join(w.dir, s.name)); err != nil {
			return fmt.Errorf("wal: remove %s: %w", s.name, err)
		}
		removed = true
		return nil
	}
	for _, list := range [][]*segScan{p.below, p.remove, p.zeros} {
		for _, s := range list {
			if err := drop(s); err != nil {
				return err
			}
		}
	}
	if p.spare != nil && !w.cfg.Preallocate {
		if err := drop(p.spare); err != nil {
			return err
		}
		p.spare = nil
	}
	if removed {
		if err := w.fs.SyncDir(w.dir); err != nil {
			return fmt.Errorf("wal: sync dir: %w", err)
		}
	}
	if s := p.rollback; s != nil {
		f := fileOf[s]
		if err := f.Truncate(s.end); err != nil {
			return fmt.Errorf("wal: roll back torn tail of %s at offset %d: %w", s.name, s.end, err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("wal: roll back torn tail of %s at offset %d: %w", s.name, s.end, err)
		}
	}
	for _, s := range p.keep {
		w.segs = append(w.segs, &segment{seq: s.hdr.seq, name: s.name, f: fileOf[s], base: s.hdr.base, offsets: s.offsets, end: s.end})
	}
	if s := p.spare; s != nil {
		seq, _ := parseSegName(s.name)
		w.spare = &segment{seq: seq, name: s.name, f: fileOf[s]}
	}
	if n := len(w.segs); n > 0 && w.cfg.Preallocate && p.rollback != nil {
		// Re-extend the rolled-back tail with zeros; only speed depends on it.
		t := w.segs[n-1]
		if err := zeroFill(t.f, t.end, w.cfg.SegmentSize, nil, false); err != nil {
			return fmt.Errorf("wal: zero-fill %s: %w", t.name, err)
		}
	}
	return nil
}

// Close waits for queued writes, stops background work and closes files.
func (w *WAL) Close() error {
	w.qmu.Lock()
	if w.qclosed {
		w.qmu.Unlock()
		return ErrClosed
	}
	w.qclosed = true
	for w.leading || len(w.queue) > 0 {
		w.idle.Wait()
	}
	w.qmu.Unlock()

	close(w.stopCh)
	w.wg.Wait()

	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	var errs []error
	for _, s := range w.segs {
		errs = append(errs, s.f.Close())
	}
	w.segs = nil
	w.spareMu.Lock()
	if w.spare != nil {
		errs = append(errs, w.spare.f.Close())
		w.spare = nil
	}
	w.spareMu.Unlock()
	return errors.Join(errs...)
}

func (w *WAL) isClosed() bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.closed
}

// fail records the first write failure; every later write reports it.
func (w *WAL) fail(err error) error {
	w.failed.CompareAndSwap(nil, &err)
	return err
}

// writable returns the error a write must fail with, if any.
func (w *WAL) writable() error {
	if p := w.failed.Load(); p != nil {
		return fmt.Errorf("%w: %w", ErrFailed, *p)
	}
	if w.isClosed() {
		return ErrClosed
	}
	return nil
}

// bounds returns FirstIndex and LastIndex; mu must not be held for writing
// by someone else (callers hold it or are the only writer).
func (w *WAL) bounds() (first, last uint64) {
	n := len(w.segs)
	if n == 0 {
		return 0, 0
	}
	first = max(w.floor, w.segs[0].base)
	last = w.segs[n-1].last()
	if len(w.segs[n-1].offsets) == 0 {
		if n == 1 {
			return 0, 0
		}
		last = w.segs[n-2].last()
	}
	if first > last {
		return 0, 0
	}
	return first, last
}

// FirstIndex implements raft.LogStore: 0 for an empty log.
func (w *WAL) FirstIndex() (uint64, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return 0, ErrClosed
	}
	f, _ := w.bounds()
	return f, nil
}

// LastIndex implements raft.LogStore: 0 for an empty log.
func (w *WAL) LastIndex() (uint64, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return 0, ErrClosed
	}
	_, l := w.bounds()
	return l, nil
}

// IsMonotonic implements raft.MonotonicLogStore: the log refuses gaps.
func (w *WAL) IsMonotonic() bool { return true }

// GetLog implements raft.LogStore. A missing index is raft.ErrLogNotFound.
// Data and Extensions of the result share one freshly allocated buffer.
func (w *WAL) GetLog(index uint64, l *raft.Log) error {
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return ErrClosed
	}
	first, last := w.bounds()
	if index < first || index > last || first == 0 {
		w.mu.RUnlock()
		return raft.ErrLogNotFound
	}
	i := sort.Search(len(w.segs), func(i int) bool { return w.segs[i].base > index }) - 1
	s := w.segs[i]
	k := index - s.base
	off := int64(s.offsets[k])
	end := s.end
	if k+1 < uint64(len(s.offsets)) {
		end = int64(s.offsets[k+1])
	}
	buf := make([]byte, end-off)
	n, err := s.f.ReadAt(buf, off)
	name := s.name
	w.mu.RUnlock()
	if n < len(buf) {
		return fmt.Errorf("wal: read %s at offset %d: %w", name, off, err)
	}
	m, why := decodeEntryHead(buf, w.cfg.MaxRecordSize)
	if why == "" && m.index != index {
		why = fmt.Sprintf("entry index %d, want %d", m.index, index)
	}
	if why == "" && m.size() > int64(len(buf)) {
		why = "entry longer than its slot"
	}
	if why == "" {
		why = decodeEntry(buf[:m.size()], m, l)
	}
	if why != "" {
		return &CorruptError{File: name, Offset: off, Reason: why}
	}
	return nil
}
