package wal

import (
	"fmt"
	"time"
)

// Config holds the WAL's tunables. Start from DefaultConfig.
type Config struct {
	// SegmentSize is the size at which the WAL starts a new segment file.
	// A batch never spans two segments, so a segment can exceed it by at
	// most one batch.
	SegmentSize int64

	// MaxRecordSize bounds one entry's Data plus Extensions. Decoding never
	// allocates more than this for one record, whatever is on disk.
	MaxRecordSize int

	// MaxGroupBytes bounds how many bytes of concurrent batches are joined
	// into one write and one sync.
	MaxGroupBytes int

	// Preallocate zero-fills the next segment in the background, so that
	// a sync only has to flush data, not file size and extent changes.
	Preallocate bool

	// FS is the file system; nil means OSFS.
	FS FS

	// OnSync, if set, is told how long each sync of written entries took:
	// every write waits for one, so their latency bounds the log's. It
	// runs on the writing goroutine and must return quickly.
	OnSync func(time.Duration)
}

// DefaultConfig returns the configuration Open uses before options apply.
func DefaultConfig() Config {
	return Config{
		SegmentSize:   64 << 20,
		MaxRecordSize: 64 << 20,
		MaxGroupBytes: 4 << 20,
		Preallocate:   true,
		FS:            OSFS{},
	}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.SegmentSize < 4096 || c.SegmentSize > 1<<30:
		return fmt.Errorf("SegmentSize %d not in [4 KiB, 1 GiB]: %w", c.SegmentSize, ErrInvalidConfig)
	case c.MaxRecordSize < 1 || c.MaxRecordSize > 1<<30:
		return fmt.Errorf("MaxRecordSize %d not in [1, 1 GiB]: %w", c.MaxRecordSize, ErrInvalidConfig)
	case c.MaxGroupBytes < 1:
		return fmt.Errorf("MaxGroupBytes %d must be positive: %w", c.MaxGroupBytes, ErrInvalidConfig)
	case c.FS == nil:
		return fmt.Errorf("FS is nil: %w", ErrInvalidConfig)
	}
	return nil
}

// Option changes the Config that Open uses.
type Option func(*Config)

// WithConfig replaces the whole configuration.
func WithConfig(c Config) Option { return func(dst *Config) { *dst = c } }

// WithSegmentSize sets Config.SegmentSize.
func WithSegmentSize(n int64) Option { return func(c *Config) { c.SegmentSize = n } }

// WithMaxRecordSize sets Config.MaxRecordSize.
func WithMaxRecordSize(n int) Option { return func(c *Config) { c.MaxRecordSize = n } }

// WithPreallocate sets Config.Preallocate.
func WithPreallocate(on bool) Option { return func(c *Config) { c.Preallocate = on } }

// WithFS sets Config.FS.
func WithFS(fs FS) Option { return func(c *Config) { c.FS = fs } }

// WithOnSync sets Config.OnSync.
func WithOnSync(f func(time.Duration)) Option { return func(c *Config) { c.OnSync = f } }
