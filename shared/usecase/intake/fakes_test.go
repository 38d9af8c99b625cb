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
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
	"github.com/sgpilot/sgpilot/shared/usecase/intake"
)

// The shared fakes (shared/testkit/fake) stand in for the queue and ECS:
// the same ones the other use cases' tests use, held to the adapters'
// behaviour by the conformance suites.
var (
	_ intake.TaskSender     = (*fake.Queue)(nil)
	_ intake.InstanceLister = (*fake.ECS)(nil)
	_ intake.GroupLister    = (*fake.ECS)(nil)
)

func newQueue() *fake.Queue { return fake.NewQueue(fake.QueueOptions{Now: fixedNow}) }

// sendCalls counts the send calls made to q (one per SendTasks of at most
// 16 tasks).
func sendCalls(q *fake.Queue) int { return q.Snapshot().Calls[fake.QueueOpSend] }

// queued decodes every message on q as a task (the wire round trip) and
// returns the tasks in enqueue order.
func queued(tb testing.TB, q *fake.Queue) []domain.Task {
	tb.Helper()
	var out []domain.Task
	for _, m := range q.Snapshot().Messages {
		task, err := domain.DecodeTask(m.Body)
		if err != nil {
			tb.Fatalf("queued body is not a task: %v", err)
		}
		out = append(out, task)
	}
	return out
}

// queuedIDs is queued, by task ID.
func queuedIDs(tb testing.TB, q *fake.Queue) []string {
	tb.Helper()
	var ids []string
	for _, t := range queued(tb, q) {
		ids = append(ids, t.ID)
	}
	return ids
}

// filters records the filters the listers were called with.
type filters struct {
	mu        sync.Mutex
	instances []domain.InstanceFilter
	groups    []domain.GroupFilter
}

// recordFilters makes cloud record its list filters.
func recordFilters(cloud *fake.ECS) *filters {
	f := &filters{}
	cloud.SetInterceptor(func(_ context.Context, method string, args []any) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, a := range args {
			switch v := a.(type) {
			case domain.InstanceFilter:
				f.instances = append(f.instances, v)
			case domain.GroupFilter:
				f.groups = append(f.groups, v)
			}
		}
		return nil
	})
	return f
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
