package cli

import (
	"strings"
	"testing"

	"go.uber.org/zap"
)

func TestProgress(t *testing.T) {
	tests := []struct {
		name          string
		term          bool
		want, notWant []string
	}{
		{name: "terminal: one line redrawn in place", term: true,
			want: []string{"\r\033[K[", "groups listed (groups=12, region=cn-hangzhou)", "cleanup decision", "warn: ", "\r\033[K"}},
		{name: "pipe: plain lines, no line per group", term: false,
			want: []string{"groups listed (groups=12, region=cn-hangzhou)\n", "warn: ", "something odd"}, notWant: []string{"\r", "cleanup decision"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			p := newProgress(&b, tc.term)
			log := zap.New(&core{p: p}).With(zap.String("region", "cn-hangzhou"))
			log.Info("cleanup discovery: groups listed", zap.Int("groups", 12), zap.Any("byReason", map[string]int{"x": 1}))
			log.Info("cleanup decision", zap.String("group_id", "sg-1"))
			log.Debug("never shown")
			log.Warn("something odd", zap.String("group_id", "sg-2"))
			p.clear()
			out := b.String()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%q", w, out)
				}
			}
			for _, w := range append(tc.notWant, "never shown", "byReason") {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%q", w, out)
				}
			}
		})
	}
}

func TestProgress_QuietKeepsWarnings(t *testing.T) {
	var b strings.Builder
	p := newProgress(&b, true)
	p.quiet = true
	log := zap.New(&core{p: p})
	p.step("a step")
	log.Info("groups listed")
	log.Error("read failed")
	p.clear()
	if out := b.String(); strings.Contains(out, "step") || strings.Contains(out, "listed") || !strings.Contains(out, "error: ") {
		t.Fatalf("quiet output %q", out)
	}
}
