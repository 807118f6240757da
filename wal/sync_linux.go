package wal

import (
	"os"
	"syscall"
)

// datasync flushes a file's data and the metadata needed to read it.
func datasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			if err != nil {
				return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}

// allocate reserves size bytes for a new, empty file: fallocate, which
// reads back as zeros without writing them. Filling a 64 MiB segment with
// zeros instead costs as much disk bandwidth as the log itself.
func allocate(f *os.File, size int64) error {
	for {
		err := syscall.Fallocate(int(f.Fd()), 0, 0, size)
		if err != syscall.EINTR {
			if err != nil {
				return &os.PathError{Op: "fallocate", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}
