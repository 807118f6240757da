package wal

import (
	"errors"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
)

// MemFS is an in-memory FS for tests. It keeps, for every file, the bytes
// written and the bytes last synced, and for the directory tree the names
// that exist and the names as of the last SyncDir. Crash returns the state a
// machine would find after losing power: synced bytes under durable names.
// Inject arms a fault for the next matching write or sync.
//
// The zero value is not usable; call NewMemFS.
type MemFS struct {
	mu      sync.Mutex
	live    map[string]*memInode // guarded by mu; path -> inode
	durable map[string]*memInode // guarded by mu; as of the last SyncDir of each dir
	dirs    map[string]bool      // guarded by mu
	faults  []Fault              // guarded by mu
}

// FaultOp is the operation a Fault applies to.
type FaultOp int

// Operations a Fault can target.
const (
	OpWrite   FaultOp = iota + 1 // File.WriteAt
	OpSync                       // File.Sync
	OpSyncDir                    // FS.SyncDir
)

// Fault is one armed failure. After Skip matching operations succeed, the
// next operation of kind Op on a file whose name contains Match (any file
// when empty) fails with Err. For OpWrite with Short > 0, the first Short
// bytes are written before the failure.
type Fault struct {
	Op    FaultOp
	Match string
	Skip  int
	Short int
	Err   error
}

// errInjected is the default error of a Fault without Err.
var errInjected = errors.New("memfs: injected fault")

type memInode struct {
	data   []byte // guarded by MemFS.mu
	synced []byte // guarded by MemFS.mu
}

// NewMemFS returns an empty in-memory file system.
func NewMemFS() *MemFS {
	return &MemFS{live: map[string]*memInode{}, durable: map[string]*memInode{}, dirs: map[string]bool{"/": true, ".": true}}
}

// Inject arms a fault; faults fire in the order they were armed.
func (m *MemFS) Inject(f Fault) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if f.Err == nil {
		f.Err = errInjected
	}
	m.faults = append(m.faults, f)
}

// Pending returns how many armed faults have not fired.
func (m *MemFS) Pending() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.faults)
}

// Crash returns a new MemFS holding what survives a power loss now: durable
// names with their synced contents. The receiver is left as it was; files
// still open on it keep writing to it, not to the copy.
func (m *MemFS) Crash() *MemFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := NewMemFS()
	for d := range m.dirs {
		c.dirs[d] = true
	}
	for p, ino := range m.durable {
		n := &memInode{data: append([]byte(nil), ino.synced...)}
		n.synced = append([]byte(nil), n.data...)
		c.live[p] = n
		c.durable[p] = n
	}
	return c
}

// Clone returns a copy of the current state (everything written so far,
// synced or not), as if the process exited cleanly.
func (m *MemFS) Clone() *MemFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := NewMemFS()
	for d := range m.dirs {
		c.dirs[d] = true
	}
	for p, ino := range m.live {
		n := &memInode{data: append([]byte(nil), ino.data...)}
		n.synced = append([]byte(nil), n.data...)
		c.live[p] = n
		c.durable[p] = n
	}
	return c
}

// ReadFile returns a copy of a file's current contents.
func (m *MemFS) ReadFile(p string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ino, ok := m.live[path.Clean(p)]
	if !ok {
		return nil, &fs.PathError{Op: "read", Path: p, Err: fs.ErrNotExist}
	}
	return append([]byte(nil), ino.data...), nil
}

// WriteFile replaces a file's contents, durably (a test's way to damage it).
func (m *MemFS) WriteFile(p string, b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p = path.Clean(p)
	ino := &memInode{data: append([]byte(nil), b...)}
	ino.synced = append([]byte(nil), b...)
	m.live[p] = ino
	m.durable[p] = ino
}

// takeFault returns the first armed fault for op on name, removing it.
// Called with mu held.
func (m *MemFS) takeFault(op FaultOp, name string) (Fault, bool) {
	for i, f := range m.faults {
		if f.Op == op && strings.Contains(name, f.Match) {
			if f.Skip > 0 {
				m.faults[i].Skip--
				return Fault{}, false
			}
			m.faults = append(m.faults[:i], m.faults[i+1:]...)
			return f, true
		}
	}
	return Fault{}, false
}

// MkdirAll implements FS.
func (m *MemFS) MkdirAll(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for d := path.Clean(dir); ; d = path.Dir(d) {
		m.dirs[d] = true
		if d == "/" || d == "." {
			return nil
		}
	}
}

// ReadDir implements FS.
func (m *MemFS) ReadDir(dir string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	dir = path.Clean(dir)
	if !m.dirs[dir] {
		return nil, &fs.PathError{Op: "readdir", Path: dir, Err: fs.ErrNotExist}
	}
	var names []string
	for p := range m.live {
		if path.Dir(p) == dir {
			names = append(names, path.Base(p))
		}
	}
	sort.Strings(names)
	return names, nil
}

// Open implements FS.
func (m *MemFS) Open(p string, create bool) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p = path.Clean(p)
	if !m.dirs[path.Dir(p)] {
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
	ino, ok := m.live[p]
	if !ok {
		if !create {
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		}
		ino = &memInode{}
		m.live[p] = ino
	}
	return &memFile{fs: m, ino: ino, name: p}, nil
}

// Remove implements FS.
func (m *MemFS) Remove(p string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p = path.Clean(p)
	if _, ok := m.live[p]; !ok {
		return &fs.PathError{Op: "remove", Path: p, Err: fs.ErrNotExist}
	}
	delete(m.live, p)
	return nil
}

// Rename implements FS.
func (m *MemFS) Rename(oldpath, newpath string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	oldpath, newpath = path.Clean(oldpath), path.Clean(newpath)
	ino, ok := m.live[oldpath]
	if !ok {
		return &fs.PathError{Op: "rename", Path: oldpath, Err: fs.ErrNotExist}
	}
	delete(m.live, oldpath)
	m.live[newpath] = ino
	return nil
}

// SyncDir implements FS.
func (m *MemFS) SyncDir(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	dir = path.Clean(dir)
	if f, ok := m.takeFault(OpSyncDir, dir); ok {
		return &fs.PathError{Op: "syncdir", Path: dir, Err: f.Err}
	}
	for p := range m.durable {
		if path.Dir(p) == dir {
			if _, ok := m.live[p]; !ok {
				delete(m.durable, p)
			}
		}
	}
	for p, ino := range m.live {
		if path.Dir(p) == dir {
			m.durable[p] = ino
		}
	}
	return nil
}

type memFile struct {
	fs     *MemFS
	ino    *memInode
	name   string
	closed bool // guarded by fs.mu
}

func (f *memFile) ReadAt(b []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return 0, fs.ErrClosed
	}
	if off < 0 {
		return 0, errors.New("memfs: negative offset")
	}
	if off >= int64(len(f.ino.data)) {
		return 0, io.EOF
	}
	n := copy(b, f.ino.data[off:])
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) WriteAt(b []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return 0, fs.ErrClosed
	}
	var ferr error
	if flt, ok := f.fs.takeFault(OpWrite, f.name); ok {
		ferr = &fs.PathError{Op: "write", Path: f.name, Err: flt.Err}
		b = b[:min(flt.Short, len(b))]
	}
	if end := off + int64(len(b)); end > int64(len(f.ino.data)) {
		if end > int64(cap(f.ino.data)) {
			nd := make([]byte, end, 2*end)
			copy(nd, f.ino.data)
			f.ino.data = nd
		} else {
			old := len(f.ino.data)
			f.ino.data = f.ino.data[:end]
			clear(f.ino.data[old:])
		}
	}
	copy(f.ino.data[off:], b)
	if ferr != nil {
		return len(b), ferr
	}
	return len(b), nil
}

func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return fs.ErrClosed
	}
	if flt, ok := f.fs.takeFault(OpSync, f.name); ok {
		return &fs.PathError{Op: "sync", Path: f.name, Err: flt.Err}
	}
	f.ino.synced = append(f.ino.synced[:0], f.ino.data...)
	return nil
}

func (f *memFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return fs.ErrClosed
	}
	if size <= int64(len(f.ino.data)) {
		f.ino.data = f.ino.data[:size]
		return nil
	}
	f.ino.data = append(f.ino.data, make([]byte, size-int64(len(f.ino.data)))...)
	return nil
}

func (f *memFile) Size() (int64, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	return int64(len(f.ino.data)), nil
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return fs.ErrClosed
	}
	f.closed = true
	return nil
}
