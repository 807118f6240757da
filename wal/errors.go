// Package wal owns Ringback's write-ahead log: segmented, append-only files
// that hold Raft's log entries and its small stable store (current term,
// vote), written with one fsync per batch and repaired on open when the last
// write was torn by a crash. A *WAL implements raft.LogStore,
// raft.StableStore and raft.MonotonicLogStore so it can stand in for
// raft-boltdb.
//
// The package must never decide what an entry means: it stores bytes for
// Raft, never interprets commands, and never silently drops an entry that was
// acknowledged as durable.
package wal

import (
	"errors"
	"strconv"
)

// Sentinel errors. Callers check them with errors.Is; the package wraps them
// with detail using %w.
var (
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("wal: closed")

	// ErrFailed is returned by every write after a write or sync has failed.
	// The on-disk state is unknown until the WAL is reopened and recovered.
	ErrFailed = errors.New("wal: failed by an earlier i/o error; reopen to recover")

	// ErrCorrupt means committed data on disk is damaged (a bad checksum or
	// a malformed record before the tail). The WAL refuses to open; the
	// wrapping *CorruptError names the file and offset.
	ErrCorrupt = errors.New("wal: corrupt")

	// ErrNonContiguous is returned when a batch does not follow the last
	// stored index (or is not consecutive inside itself). The WAL is a
	// MonotonicLogStore: gaps are refused, and nothing is written.
	ErrNonContiguous = errors.New("wal: non-contiguous log index")

	// ErrInvalidRange is returned by DeleteRange for a range that is neither
	// a prefix nor a suffix of the log, or has min > max.
	ErrInvalidRange = errors.New("wal: delete range is neither a prefix nor a suffix")

	// ErrTooLarge is returned when one entry exceeds Config.MaxRecordSize.
	ErrTooLarge = errors.New("wal: record too large")

	// ErrInvalidConfig is returned by Config.Validate and Open for a bad
	// option; the wrapping error names the field.
	ErrInvalidConfig = errors.New("wal: invalid config")

	// ErrKeyNotFound is returned by Get and GetUint64 for a missing stable
	// store key. Its text is exactly "not found", without the "wal:" prefix,
	// because hashicorp/raft compares err.Error() with that string (as
	// raft-boltdb's error reads) when it loads the current term on start.
	ErrKeyNotFound = errors.New("not found")
)

// CorruptError reports damaged committed data: which file, at which byte
// offset, and why. It unwraps to ErrCorrupt.
type CorruptError struct {
	File   string // file name inside the WAL directory
	Offset int64  // byte offset of the first bad record or header
	Reason string // what was wrong, e.g. "bad record checksum"
}

func (e *CorruptError) Error() string {
	return "wal: corrupt " + e.File + " at offset " + strconv.FormatInt(e.Offset, 10) + ": " + e.Reason
}

// Unwrap makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }
