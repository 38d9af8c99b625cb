package intake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
)

// sender is an in-memory TaskSender that records every call.
type sender struct {
	mu    sync.Mutex
	calls [][]domain.Task
	// failAt makes call number failAt (from 1) fail with err; 0 = never.
	failAt int
	err    error
}

func (s *sender) SendTasks(_ context.Context, tasks []domain.Task) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, append([]domain.Task(nil), tasks...))
	if s.failAt > 0 && len(s.calls) == s.failAt {
		return s.err
	}
	return nil
}

// sent returns the IDs of the tasks of the successful calls.
func (s *sender) sent() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for i, call := range s.calls {
		if s.failAt == i+1 {
			continue
		}
		for _, t := range call {
			ids = append(ids, t.ID)
		}
	}
	return ids
}

// ecs is an in-memory InstanceLister and GroupLister holding one region.
type ecs struct {
	instances []domain.Instance
	groups    []domain.SecurityGroup
	err       error

	instanceFilter domain.InstanceFilter
	groupFilter    domain.GroupFilter
}

func (e *ecs) ListInstances(_ context.Context, _ string, f domain.InstanceFilter) ([]domain.Instance, error) {
	e.instanceFilter = f
	if e.err != nil {
		return nil, e.err
	}
	var out []domain.Instance
	for _, i := range e.instances {
		if _, ok := i.Tags[f.TagKey]; ok || f.TagKey == "" {
			out = append(out, i)
		}
	}
	return out, nil
}

func (e *ecs) ListGroups(_ context.Context, _ string, f domain.GroupFilter) ([]domain.SecurityGroup, error) {
	e.groupFilter = f
	var out []domain.SecurityGroup
	for _, g := range e.groups {
		if _, ok := g.Tags[f.TagKey]; ok || f.TagKey == "" {
			out = append(out, g)
		}
	}
	return out, nil
}

var testNow = time.Date(2024, 5, 1, 8, 0, 5, 0, time.UTC)

func fixedNow() time.Time { return testNow }

// MustFixture reads a fixture of the events package.
func MustFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "core", "events", "testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// logCapture returns a context whose logger writes JSON lines to the
// returned buffer.
func logCapture(tb testing.TB) (context.Context, *bytes.Buffer) {
	tb.Helper()
	var buf bytes.Buffer
	l, err := logging.New("debug", &buf)
	if err != nil {
		tb.Fatal(err)
	}
	return logging.WithContext(context.Background(), l), &buf
}

// logLines decodes the captured lines whose msg is msg.
func logLines(tb testing.TB, buf *bytes.Buffer, msg string) []map[string]any {
	tb.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			tb.Fatalf("log line is not JSON: %q", line)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}
