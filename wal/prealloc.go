package wal

import (
	"path/filepath"
	"time"
)

// zeros is the source of zero-fill writes.
var zeros [1 << 20]byte

// zeroFill writes zeros to f from off up to size, syncing every few
// megabytes and once at the end. With paced set it pauses between chunks so
// that its flushes never queue long in front of the foreground's syncs. It
// stops early, without error, when stop is closed.
func zeroFill(f File, off, size int64, stop <-chan struct{}, paced bool) error {
	if off >= size {
		return nil
	}
	const (
		syncEvery = 4 << 20
		pause     = time.Millisecond
	)
	unsynced := int64(0)
	for off < size {
		select {
		case <-stop:
			return nil
		default:
		}
		n := min(int64(len(zeros)), size-off)
		if _, err := f.WriteAt(zeros[:n], off); err != nil {
			return err
		}
		off += n
		unsynced += n
		if unsynced >= syncEvery {
			if err := f.Sync(); err != nil {
				return err
			}
			unsynced = 0
		}
		if paced {
			select {
			case <-stop:
				return nil
			case <-time.After(pause):
			}
		}
	}
	return f.Sync()
}

// prepareLoop owns the preallocation goroutine: on each signal it makes a
// zero-filled spare segment if none is ready. Open starts it; Close stops it
// through stopCh and waits for it.
func (w *WAL) prepareLoop() {
	defer w.wg.Done()
	for {
		select {
		case <-w.stopCh:
			w.spareMu.Lock()
			w.endPreparingLocked()
			w.spareMu.Unlock()
			return
		case <-w.prepCh:
		}
		w.prepareSpare()
	}
}

// prepareSpare creates the next segment file, zero-filled and durable in
// the directory, so rotation costs neither a file creation nor a directory
// sync. Failures only cost speed: rotation then creates the file itself.
func (w *WAL) prepareSpare() {
	w.spareMu.Lock()
	if w.spare != nil {
		w.endPreparingLocked()
		w.spareMu.Unlock()
		return
	}
	w.startPreparingLocked()
	seq := w.nextSeq
	w.nextSeq++
	w.spareMu.Unlock()
	var spare *segment
	defer func() {
		w.spareMu.Lock()
		if spare != nil {
			w.spare = spare
		}
		w.endPreparingLocked()
		w.spareMu.Unlock()
	}()

	name := segName(seq)
	path := filepath.Join(w.dir, name)
	f, err := w.fs.Open(path, true)
	if err != nil {
		return
	}
	// Pace the fill only when the log is being written; a new or empty
	// log's first rotation waits for this spare, so fill it at full speed.
	w.mu.RLock()
	paced := len(w.segs) > 0
	w.mu.RUnlock()
	err = zeroFill(f, 0, w.cfg.SegmentSize, w.stopCh, paced)
	if err == nil {
		err = w.fs.SyncDir(w.dir)
	}
	if err != nil {
		_ = f.Close()
		_ = w.fs.Remove(path)
		return
	}
	select {
	case <-w.stopCh:
		_ = f.Close() // a partly filled spare is adopted or removed on open
		return
	default:
	}
	spare = &segment{seq: seq, name: name, f: f}
}

// startPreparingLocked marks a spare as being filled. Called with spareMu held.
func (w *WAL) startPreparingLocked() {
	if w.preparing == nil {
		w.preparing = make(chan struct{})
	}
}

// endPreparingLocked wakes rotations waiting for the spare. Called with
// spareMu held.
func (w *WAL) endPreparingLocked() {
	if w.preparing != nil {
		close(w.preparing)
		w.preparing = nil
	}
}
