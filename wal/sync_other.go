//go:build !linux

package wal

import (
	"errors"
	"os"
)

// datasync flushes a file; without fdatasync it is a full fsync.
func datasync(f *os.File) error { return f.Sync() }

// allocate is not available here: new segments are filled with zeros.
func allocate(*os.File, int64) error { return errors.ErrUnsupported }
