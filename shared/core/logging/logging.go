// Package logging builds sgpilot's zap logger (structured JSON on stdout, which
// FC ships to SLS) and carries it in a context, so that every line written
// below a handler names the request it belongs to.
package logging

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Field names shared by every package, so logs can be queried uniformly.
const (
	FieldRequestID  = "request_id"
	FieldFunction   = "function"
	FieldEventID    = "event_id"
	FieldTaskID     = "task_id"
	FieldInstanceID = "instance_id"
	FieldGroupID    = "group_id"
	FieldRegion     = "region"
	FieldDecision   = "decision"
	FieldReason     = "reason"
)

// New returns a JSON logger at level ("debug", "info", "warn", "error")
// writing to w (nil = stdout).
func New(level string, w io.Writer) (*zap.Logger, error) {
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(strings.ToLower(strings.TrimSpace(level)))); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	if w == nil {
		w = os.Stdout
	}
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey = "time"
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	enc.MessageKey = "msg"
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.Lock(zapcore.AddSync(w)), lvl)
	return zap.New(core), nil
}

type ctxKey struct{}

// WithContext returns ctx carrying logger.
func WithContext(ctx context.Context, logger *zap.Logger) context.Context {
	return context.WithValue(ctx, ctxKey{}, logger)
}

// FromContext returns the logger in ctx, or a no-op logger (never nil), so
// library code can always log.
func FromContext(ctx context.Context) *zap.Logger {
	if l, ok := ctx.Value(ctxKey{}).(*zap.Logger); ok && l != nil {
		return l
	}
	return zap.NewNop()
}

// With returns ctx whose logger has the extra fields.
func With(ctx context.Context, fields ...zap.Field) context.Context {
	return WithContext(ctx, FromContext(ctx).With(fields...))
}
