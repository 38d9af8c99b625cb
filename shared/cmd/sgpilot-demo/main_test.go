package main

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRunLeavesNothingBehind runs the demo (small) to the end, and again
// interrupted mid-way, and checks both times that its temporary files are
// gone and no child process outlives it.
func TestRunLeavesNothingBehind(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the three functions")
	}
	for _, tc := range []struct {
		name     string
		cancelAt string // cancel once the output contains this; "" = run to the end
	}{
		{"success", ""},
		{"interrupted during onboarding", "joined "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out := &watchWriter{match: tc.cancelAt, hit: cancel}
			err := run(ctx, "", 2, out)
			switch {
			case tc.cancelAt == "" && err != nil:
				t.Fatalf("run: %v\n%s", err, out.String())
			case tc.cancelAt != "" && err == nil:
				t.Fatalf("an interrupted run returned no error\n%s", out.String())
			}
			if tc.cancelAt == "" {
				for _, want := range []string{"Building the three functions", "── Summary", "onboarded     4 of 4", "2 deleted", "dead letters  1"} {
					if !strings.Contains(out.String(), want) {
						t.Errorf("output lacks %q\n%s", want, out.String())
					}
				}
				if strings.Contains(out.String(), "map[") {
					t.Errorf("output prints a Go map\n%s", out.String())
				}
			}
			left, err := os.ReadDir(tmp)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range left {
				t.Errorf("left in TMPDIR: %s", e.Name())
			}
			// Function processes get a moment to be reaped after Close.
			deadline := time.Now().Add(5 * time.Second)
			for kids := children(t); len(kids) > 0; kids = children(t) {
				if time.Now().After(deadline) {
					t.Fatalf("child processes survive the demo: %v", kids)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}

func TestInWords(t *testing.T) {
	for _, tc := range []struct {
		in   map[string]int
		want string
	}{
		{nil, "no groups"},
		{map[string]int{"in-use": 6, "too-young": 2}, "8 groups: 6 in use, 2 too young"},
		{map[string]int{"protected": 1, "zero": 0}, "1 group: 1 protected"},
		{map[string]int{"b": 1, "a": 1}, "2 groups: 1 a, 1 b"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := inWords(tc.in); got != tc.want {
				t.Fatalf("inWords(%v) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// children lists the live child processes of this test process (Linux).
func children(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc: cannot list child processes")
	}
	me := strconv.Itoa(os.Getpid())
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces, so cut at the last ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) >= 2 && f[1] == me && f[0] != "Z" {
			out = append(out, e.Name()+" "+s[:i+1])
		}
	}
	return out
}

// watchWriter collects output and calls hit once when match first appears.
type watchWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	match string
	hit   func()
	done  bool
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if w.match != "" && !w.done && strings.Contains(w.buf.String(), w.match) {
		w.done = true
		w.hit()
	}
	return n, err
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
