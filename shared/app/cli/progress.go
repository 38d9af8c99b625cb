package cli

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap/zapcore"
)

// IsTerminal reports whether f is a character device (a terminal), by its
// mode: no dependency, and on a pipe or a file it is false.
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress shows what a long run is doing, from the use cases' own log
// lines: on a terminal one status line rewritten in place (\r), otherwise
// one plain line per step. Lines about single groups or instances are
// left out of the plain lines (a run has thousands); warnings and errors
// always show.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	term  bool
	start time.Time
	// shown: the terminal's status line holds text to clear.
	shown bool
	// quiet shows warnings and errors only.
	quiet bool
}

func newProgress(w io.Writer, term bool) *progress {
	return &progress{w: w, term: term, start: time.Now()}
}

// step shows one step of the command's own.
func (p *progress) step(format string, args ...any) {
	p.show(zapcore.InfoLevel, fmt.Sprintf(format, args...))
}

func (p *progress) show(lvl zapcore.Level, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	line := fmt.Sprintf("[%4.0fs] %s", time.Since(p.start).Seconds(), msg)
	if p.quiet && lvl < zapcore.WarnLevel {
		return
	}
	if lvl >= zapcore.WarnLevel {
		p.clearLocked()
		fmt.Fprintf(p.w, "%s: %s\n", lvl.String(), line)
		return
	}
	if !p.term {
		fmt.Fprintln(p.w, line)
		return
	}
	const width = 118 // keep to one line of a usual terminal
	if r := []rune(line); len(r) > width {
		line = string(r[:width-1]) + "…"
	}
	fmt.Fprintf(p.w, "\r\033[K%s", line)
	p.shown = true
}

// clear removes the status line before the answer is printed.
func (p *progress) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
}

func (p *progress) clearLocked() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

// core is a zapcore.Core that feeds the progress display.
type core struct {
	p      *progress
	fields []zapcore.Field
}

// perItem fields mark a line about one group, instance or task.
var perItem = map[string]bool{"group_id": true, "instance_id": true, "task_id": true}

func (c *core) Enabled(l zapcore.Level) bool { return l >= zapcore.InfoLevel }

func (c *core) With(fields []zapcore.Field) zapcore.Core {
	return &core{p: c.p, fields: append(append([]zapcore.Field(nil), c.fields...), fields...)}
}

func (c *core) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *core) Write(e zapcore.Entry, fields []zapcore.Field) error {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range append(append([]zapcore.Field(nil), c.fields...), fields...) {
		f.AddTo(enc)
	}
	item := false
	for k := range enc.Fields {
		item = item || perItem[k]
	}
	if item && e.Level < zapcore.WarnLevel && !c.p.term {
		return nil
	}
	c.p.show(e.Level, e.Message+scalars(enc.Fields))
	return nil
}

func (c *core) Sync() error { return nil }

// scalars renders a log line's short fields as " (k=v, ...)"; maps, lists
// and long values are left to --verbose.
func scalars(m map[string]any) string {
	var parts []string
	for k, v := range m {
		switch v.(type) {
		case string, int, int64, int32, uint64, float64, bool:
			s := fmt.Sprint(v)
			if s != "" && len(s) <= 80 && k != "run_id" && k != "mode" {
				parts = append(parts, k+"="+s)
			}
		}
	}
	if len(parts) == 0 {
		return ""
	}
	sort.Strings(parts)
	return " (" + strings.Join(parts, ", ") + ")"
}
