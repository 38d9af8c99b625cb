package fcemu

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// logSink keeps a function's recent log lines and copies them to the
// shared log writer with a "[function/instance] " prefix.
type logSink struct {
	name  string
	max   int
	out   io.Writer
	outMu *sync.Mutex

	mu   sync.Mutex
	ring []string
	next int
	full bool
}

func newLogSink(name string, max int, out io.Writer, outMu *sync.Mutex) *logSink {
	return &logSink{name: name, max: max, out: out, outMu: outMu, ring: make([]string, max)}
}

func (s *logSink) add(tag, line string) {
	s.mu.Lock()
	s.ring[s.next] = line
	s.next = (s.next + 1) % s.max
	if s.next == 0 {
		s.full = true
	}
	s.mu.Unlock()
	if s.out == nil {
		return
	}
	prefix := "[" + s.name + "] "
	if tag != "" {
		prefix = "[" + s.name + "/" + tag + "] "
	}
	s.outMu.Lock()
	_, _ = io.WriteString(s.out, prefix+line+"\n")
	s.outMu.Unlock()
}

func (s *logSink) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.full {
		return append([]string(nil), s.ring[:s.next]...)
	}
	out := make([]string, 0, s.max)
	out = append(out, s.ring[s.next:]...)
	return append(out, s.ring[:s.next]...)
}

// lineWriter splits a process stream into lines for a logSink.
type lineWriter struct {
	sink *logSink
	tag  string
	mu   sync.Mutex
	buf  []byte
}

const maxLogLine = 64 << 10

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			if len(w.buf) > maxLogLine {
				w.sink.add(w.tag, string(w.buf))
				w.buf = w.buf[:0]
			}
			return len(p), nil
		}
		w.sink.add(w.tag, strings.TrimRight(string(w.buf[:i]), "\r"))
		w.buf = w.buf[i+1:]
	}
}

func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.sink.add(w.tag, string(w.buf))
		w.buf = nil
	}
}
