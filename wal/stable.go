package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
)

// The meta file holds the stable store (Raft's current term, vote and any
// other key) and the floor: the first index not deleted by a prefix
// deletion that ended inside a segment. It is small and rewritten whole:
// written to meta.tmp, synced, renamed over meta, and the directory synced.
//
//	0      1      2      3      4      5      6      7      8
//	+------+------+------+------+------+------+------+------+
//	| Magic "RBWM"              | Vsn  | Reserved (0)       |
//	+------+------+------+------+------+------+------+------+
//	| Floor index                                           |
//	+------+------+------+------+------+------+------+------+
//	| Key count                 | Key length, key bytes,    |
//	+------+------+------+------+ value length, value bytes |
//	| ... for each key, sorted                              |
//	+------+------+------+------+------+------+------+------+
//	| CRC32C of everything before                           |
//	+------+------+------+------+
const (
	metaName  = "meta"
	metaTmp   = "meta.tmp"
	metaMagic = "RBWM"
)

func encodeMeta(floor uint64, kv map[string][]byte) []byte {
	keys := make([]string, 0, len(kv))
	size := 20 + 4
	for k, v := range kv {
		keys = append(keys, k)
		size += 8 + len(k) + len(v)
	}
	sort.Strings(keys)
	b := make([]byte, 0, size)
	b = append(b, metaMagic...)
	b = append(b, formatVersion, 0, 0, 0)
	b = binary.LittleEndian.AppendUint64(b, floor)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(keys)))
	for _, k := range keys {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(k)))
		b = append(b, k...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(kv[k])))
		b = append(b, kv[k]...)
	}
	return binary.LittleEndian.AppendUint32(b, crc(b))
}

func decodeMeta(b []byte) (floor uint64, kv map[string][]byte, reason string) {
	if len(b) < 24 || string(b[0:4]) != metaMagic {
		return 0, nil, "bad meta magic"
	}
	body := b[:len(b)-4]
	if binary.LittleEndian.Uint32(b[len(b)-4:]) != crc(body) {
		return 0, nil, "bad meta checksum"
	}
	if b[4] != formatVersion {
		return 0, nil, "unknown meta format version"
	}
	floor = binary.LittleEndian.Uint64(body[8:16])
	n := binary.LittleEndian.Uint32(body[16:20])
	rest := body[20:]
	kv = make(map[string][]byte, min(int(n), 64))
	take := func() ([]byte, bool) {
		if len(rest) < 4 {
			return nil, false
		}
		l := binary.LittleEndian.Uint32(rest)
		if uint64(l) > uint64(len(rest)-4) {
			return nil, false
		}
		v := rest[4 : 4+l]
		rest = rest[4+l:]
		return v, true
	}
	for i := uint32(0); i < n; i++ {
		k, ok1 := take()
		v, ok2 := take()
		if !ok1 || !ok2 {
			return 0, nil, "truncated meta entry"
		}
		kv[string(k)] = append([]byte(nil), v...)
	}
	if len(rest) != 0 {
		return 0, nil, "trailing bytes in meta"
	}
	return floor, kv, ""
}

// readMeta loads the meta file; a missing file is an empty store.
func readMeta(fsys FS, dir string) (uint64, map[string][]byte, error) {
	f, err := fsys.Open(filepath.Join(dir, metaName), false)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, map[string][]byte{}, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("wal: open meta: %w", err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return 0, nil, fmt.Errorf("wal: stat meta: %w", err)
	}
	if size > 1<<30 {
		return 0, nil, &CorruptError{File: metaName, Offset: 0, Reason: "meta file too large"}
	}
	b := make([]byte, size)
	if n, err := f.ReadAt(b, 0); n < len(b) {
		return 0, nil, fmt.Errorf("wal: read meta: %w", err)
	}
	floor, kv, reason := decodeMeta(b)
	if reason != "" {
		return 0, nil, &CorruptError{File: metaName, Offset: 0, Reason: reason}
	}
	return floor, kv, nil
}

// writeMeta replaces the meta file durably: on return the new contents
// survive a crash.
func writeMeta(fsys FS, dir string, floor uint64, kv map[string][]byte) error {
	tmp := filepath.Join(dir, metaTmp)
	f, err := fsys.Open(tmp, true)
	if err != nil {
		return err
	}
	b := encodeMeta(floor, kv)
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt(b, 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fsys.Rename(tmp, filepath.Join(dir, metaName))
	}
	if err == nil {
		err = fsys.SyncDir(dir)
	}
	return err
}

// Set implements raft.StableStore. The value is durable when Set returns.
func (w *WAL) Set(key, val []byte) error {
	if err := w.writable(); err != nil {
		return err
	}
	w.metaMu.Lock()
	defer w.metaMu.Unlock()
	kv := make(map[string][]byte, len(w.kv)+1)
	for k, v := range w.kv {
		kv[k] = v
	}
	kv[string(key)] = append([]byte(nil), val...)
	if err := writeMeta(w.fs, w.dir, w.metaFloor, kv); err != nil {
		return w.fail(fmt.Errorf("wal: write meta: %w", err))
	}
	w.kv = kv
	return nil
}

// Get implements raft.StableStore. A missing key returns ErrKeyNotFound.
func (w *WAL) Get(key []byte) ([]byte, error) {
	if w.isClosed() {
		return nil, ErrClosed
	}
	w.metaMu.Lock()
	defer w.metaMu.Unlock()
	v, ok := w.kv[string(key)]
	if !ok {
		return nil, ErrKeyNotFound
	}
	return append([]byte(nil), v...), nil
}

// SetUint64 implements raft.StableStore.
func (w *WAL) SetUint64(key []byte, val uint64) error {
	return w.Set(key, binary.BigEndian.AppendUint64(nil, val))
}

// GetUint64 implements raft.StableStore. A missing key returns 0 and
// ErrKeyNotFound, as raft-boltdb does.
func (w *WAL) GetUint64(key []byte) (uint64, error) {
	v, err := w.Get(key)
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("wal: stable key %q holds %d bytes, not a uint64: %w", key, len(v), ErrCorrupt)
	}
	return binary.BigEndian.Uint64(v), nil
}

// saveFloor durably records a new floor (first index kept).
func (w *WAL) saveFloor(floor uint64) error {
	w.metaMu.Lock()
	defer w.metaMu.Unlock()
	if err := writeMeta(w.fs, w.dir, floor, w.kv); err != nil {
		return fmt.Errorf("wal: write meta: %w", err)
	}
	w.metaFloor = floor
	return nil
}
