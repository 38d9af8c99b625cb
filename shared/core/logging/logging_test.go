package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/core/logging"
)

func TestContextLoggerCarriesFields(t *testing.T) {
	var buf bytes.Buffer
	l, err := logging.New("info", &buf)
	if err != nil {
		t.Fatal(err)
	}
	ctx := logging.WithContext(context.Background(), l.With(zap.String(logging.FieldRequestID, "req-1")))
	ctx = logging.With(ctx, zap.String(logging.FieldTaskID, "t-1"))
	logging.FromContext(ctx).Info("hello")
	logging.FromContext(ctx).Debug("hidden")
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &line); err != nil {
		t.Fatalf("not one JSON line: %q", buf.String())
	}
	if line["request_id"] != "req-1" || line["task_id"] != "t-1" || line["msg"] != "hello" {
		t.Fatalf("line = %v", line)
	}
}

func TestNew_BadLevel(t *testing.T) {
	if _, err := logging.New("loud", nil); err == nil {
		t.Fatal("want an error for an unknown level")
	}
}

func TestFromContext_NeverNil(t *testing.T) {
	logging.FromContext(context.Background()).Info("no panic")
}
