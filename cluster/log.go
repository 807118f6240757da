package cluster

import (
	"bytes"
	"context"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// newHCLogger routes raft's own log lines (warnings and above) into slog.
func newHCLogger(l *slog.Logger) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       "raft",
		Level:      hclog.Warn,
		Output:     slogWriter{l},
		JSONFormat: false,
	})
}

type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Log(context.Background(), slog.LevelWarn, string(bytes.TrimSpace(p)), "component", "raft")
	return len(p), nil
}
