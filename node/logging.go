package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	cmtlog "github.com/cometbft/cometbft/libs/log"
)

// NewLogger returns a text logger at the named level.
func NewLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	switch strings.ToLower(level) {
	case "debug":
		l = slog.LevelDebug
	case "", "info":
		l = slog.LevelInfo
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		return nil, fmt.Errorf("unknown log level %q (debug, info, warn, error)", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// cometLogger adapts slog to CometBFT's logger. CometBFT's Info is chatty
// (every vote and block part), so it maps to Debug; its Error to Info, because
// it reports routine peer churn as errors.
type cometLogger struct{ l *slog.Logger }

func (c cometLogger) Debug(msg string, kv ...any) { c.l.Debug(msg, kv...) }
func (c cometLogger) Info(msg string, kv ...any)  { c.l.Debug(msg, kv...) }
func (c cometLogger) Error(msg string, kv ...any) { c.l.Info(msg, kv...) }
func (c cometLogger) With(kv ...any) cmtlog.Logger {
	// CometBFT derives loggers on hot paths (per peer, per message). A node
	// logging at warn or error prints nothing CometBFT says (Info at most,
	// above), so the attributes would never be shown: slog's With formats
	// them all the same (3% of the CPU of the 21-node bench network).
	if !c.l.Enabled(context.Background(), slog.LevelInfo) {
		return c
	}
	return cometLogger{c.l.With(kv...)}
}
