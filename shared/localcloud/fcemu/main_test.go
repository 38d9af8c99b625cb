package fcemu_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/fcemu"
)

const testAccount = "1234567890123456"

// binDir holds the test function built once for the whole test binary.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "fcemu-testfn-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	goBin, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintln(os.Stderr, "go tool not found:", err)
		return 1
	}
	cmd := exec.Command(goBin, "build", "-o", filepath.Join(dir, "main"), "./testdata/testfn")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build test function: %v\n%s", err, out)
		return 1
	}
	binDir = dir
	return m.Run()
}

// testSpec returns a spec running the test function.
func testSpec(name string) fcemu.FunctionSpec {
	return fcemu.FunctionSpec{
		Name:           name,
		Runtime:        fcemu.RuntimeGo,
		Handler:        "main",
		CodeDir:        binDir,
		MemorySize:     256,
		TimeoutSeconds: 5,
		Environment:    map[string]string{"CUSTOM": "custom-value", "OVERRIDE": "from-spec"},
	}
}

// fastOptions keeps back-offs short so retries finish within a test.
func fastOptions() fcemu.Options {
	return fcemu.Options{
		RetryBackoff: 20 * time.Millisecond,
		// BACKOFF_RETRY then waits 10-20 ms instead of 10-20 s.
		RetryTimeScale: 0.001,
		SystemBackoff:  10 * time.Millisecond,
		MNSPollWait:    100 * time.Millisecond,
		StopGrace:      time.Second,
	}
}

// MustEmulator builds and starts an emulator with specs; Close runs at cleanup.
func MustEmulator(tb testing.TB, env *core.Env, opts fcemu.Options, specs ...fcemu.FunctionSpec) *fcemu.Emulator {
	tb.Helper()
	e := fcemu.New(env, opts)
	for _, s := range specs {
		if err := e.AddFunction(s); err != nil {
			tb.Fatalf("AddFunction(%s): %v", s.Name, err)
		}
	}
	if err := e.Start(context.Background()); err != nil {
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() {
		if err := e.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return e
}

func newEnv() *core.Env { return core.NewEnv(testAccount, 1) }

// MustInvoke invokes synchronously and fails the test on a platform error.
func MustInvoke(tb testing.TB, e *fcemu.Emulator, fn string, payload string) fcemu.Result {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := e.Invoke(ctx, fn, []byte(payload), fcemu.InvokeOptions{})
	if err != nil {
		tb.Fatalf("Invoke(%s, %s): %v", fn, payload, err)
	}
	return res
}

// MustDecode decodes a function result object.
func MustDecode(tb testing.TB, res fcemu.Result) map[string]any {
	tb.Helper()
	if res.Error != nil {
		tb.Fatalf("function error: %v", res.Error)
	}
	var m map[string]any
	if err := json.Unmarshal(res.Payload, &m); err != nil {
		tb.Fatalf("result %q is not a JSON object: %v", res.Payload, err)
	}
	return m
}

func MustWaitIdle(tb testing.TB, e *fcemu.Emulator) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.WaitIdle(ctx); err != nil {
		tb.Fatalf("WaitIdle: %v", err)
	}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// memQueue is an in-memory MNS queue set: visibility timeouts, receipt
// handles that change per receive, long polls and dequeue counts.
type memQueue struct {
	visibility time.Duration

	mu      sync.Mutex
	queues  map[string][]*memMsg
	changed chan struct{}
	seq     int
}

type memMsg struct {
	fcemu.QueueMessage
	visibleAt time.Time
}

func newMemQueue(visibility time.Duration) *memQueue {
	return &memQueue{visibility: visibility, queues: map[string][]*memMsg{}, changed: make(chan struct{})}
}

func (q *memQueue) Send(queue, body string) error {
	q.mu.Lock()
	q.seq++
	q.queues[queue] = append(q.queues[queue], &memMsg{QueueMessage: fcemu.QueueMessage{
		ID: fmt.Sprintf("MSG%06d", q.seq), Body: body, EnqueueTime: time.Now(),
	}})
	close(q.changed)
	q.changed = make(chan struct{})
	q.mu.Unlock()
	return nil
}

func (q *memQueue) Receive(ctx context.Context, queue string, max int, wait time.Duration) ([]fcemu.QueueMessage, error) {
	deadline := time.Now().Add(wait)
	for {
		q.mu.Lock()
		now := time.Now()
		var out []fcemu.QueueMessage
		next := deadline
		for _, m := range q.queues[queue] {
			if len(out) >= max {
				break
			}
			if m.visibleAt.After(now) {
				if m.visibleAt.Before(next) {
					next = m.visibleAt
				}
				continue
			}
			q.seq++
			m.ReceiptHandle = "RH" + strconv.Itoa(q.seq)
			m.DequeueCount++
			m.visibleAt = now.Add(q.visibility)
			out = append(out, m.QueueMessage)
		}
		ch := q.changed
		q.mu.Unlock()
		if len(out) > 0 || !now.Before(deadline) {
			return out, nil
		}
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-ch:
		case <-t.C:
		}
		t.Stop()
	}
}

func (q *memQueue) Delete(queue, handle string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	msgs := q.queues[queue]
	for i, m := range msgs {
		if m.ReceiptHandle == handle {
			q.queues[queue] = append(msgs[:i], msgs[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("receipt handle %s not found", handle)
}

// bodies returns the bodies in queue, in order.
func (q *memQueue) bodies(queue string) []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []string
	for _, m := range q.queues[queue] {
		out = append(out, m.Body)
	}
	sort.Strings(out)
	return out
}

var (
	_ fcemu.QueueSource = (*memQueue)(nil)
	_ fcemu.QueueSender = (*memQueue)(nil)
)
