//go:build !linux

package wal

import "os"

// datasync flushes a file; without fdatasync it is a full fsync.
func datasync(f *os.File) error { return f.Sync() }
