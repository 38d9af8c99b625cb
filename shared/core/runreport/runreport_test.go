package runreport_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/sgpilot/sgpilot/shared/core/runreport"
)

func TestMarshalAlwaysHasEveryField(t *testing.T) {
	start := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	r := runreport.New(runreport.KindCleanup, "run-1", "nightly-cleanup", start)
	r.Finish(start.Add(1500 * time.Millisecond))
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema", "kind", "runId", "function", "regions", "startedAt", "durationMs", "counts", "ecsCalls", "needsAttention"} {
		if _, ok := m[k]; !ok {
			t.Errorf("%s missing from %s", k, b)
		}
	}
	counts := m["counts"].(map[string]any)
	for _, k := range []string{"planned", "done", "withheld", "refused", "deadLettered", "errors", "repaired"} {
		if v, ok := counts[k]; !ok || v == nil {
			t.Errorf("counts.%s missing or null in %s", k, b)
		}
	}
	if m["schema"] != runreport.Schema || m["durationMs"] != 1500.0 {
		t.Errorf("schema/duration wrong: %s", b)
	}
}

func TestCallsSince(t *testing.T) {
	tests := []struct {
		name          string
		before, after map[string]int64
		want          map[string]int64
	}{
		{name: "first run", after: map[string]int64{"DescribeInstances": 2}, want: map[string]int64{"DescribeInstances": 2}},
		{name: "delta only", before: map[string]int64{"A": 5, "B": 1}, after: map[string]int64{"A": 7, "B": 1}, want: map[string]int64{"A": 2}},
		{name: "none", before: map[string]int64{"A": 5}, after: map[string]int64{"A": 5}, want: map[string]int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := runreport.CallsSince(tt.before, tt.after); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLogOneLine(t *testing.T) {
	tests := []struct {
		name      string
		attention bool
		level     string
	}{
		{name: "quiet", level: "info"},
		{name: "needs attention", attention: true, level: "warn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
			log := zap.New(zapcore.NewCore(enc, zapcore.AddSync(&buf), zap.DebugLevel))
			r := runreport.New(runreport.KindOnboarding, "run-2", "queue-worker", time.Unix(0, 0))
			r.Counts.DeadLettered = runreport.Add(nil, "max-deliveries", 1)
			if tt.attention {
				r.NeedsAttention = []runreport.Attention{{Reason: runreport.AttentionDeadLetters, Detail: "1"}}
			}
			runreport.Log(log, r)
			lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
			if len(lines) != 1 {
				t.Fatalf("%d lines", len(lines))
			}
			var line struct {
				Level  string         `json:"level"`
				Msg    string         `json:"msg"`
				Report map[string]any `json:"runReport"`
			}
			if err := json.Unmarshal(lines[0], &line); err != nil {
				t.Fatal(err)
			}
			if line.Level != tt.level || line.Msg != runreport.LogMessage || line.Report["runId"] != "run-2" {
				t.Fatalf("line %s", lines[0])
			}
			if dl := line.Report["counts"].(map[string]any)["deadLettered"].(map[string]any); dl["max-deliveries"] != 1.0 {
				t.Fatalf("counts lost: %s", lines[0])
			}
		})
	}
}
