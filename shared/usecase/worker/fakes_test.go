package worker_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/task"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
	"github.com/sgpilot/sgpilot/shared/usecase/worker"
)

// The worker's tests run on the shared fakes (testkit/fake), whose
// semantics the conformance suite (testkit/queuetest) holds against mnsqueue
// on localcloud. The queues run on a fake.Clock: a long poll on an empty
// queue moves the clock instead of waiting. testQueue below only records
// the calls (through the fake's interceptor) and injects faults; it adds no
// queue behaviour of its own.

// testTimeout bounds every drain, so that a regression fails instead of
// hanging.
const testTimeout = 20 * time.Second

// sentBatch is one send call as the queue saw it.
type sentBatch struct {
	bodies []string
	delay  time.Duration
}

// testQueue is a fake.Queue with a call log and a fault hook.
type testQueue struct {
	*fake.Queue

	mu    sync.Mutex
	calls []fake.QueueCall
	// fail, when set, decides a fault for a call (nil error: none).
	fail func(fake.QueueCall) error
	// fault, when set and fail is not, decides a whole fault (per-item
	// errors included).
	fault func(fake.QueueCall) fake.QueueFault
	quiet bool // seeding: not logged, no faults
}

func newTestQueue(name string, c *fake.Clock) *testQueue {
	q := &testQueue{Queue: fake.NewQueue(fake.QueueOptions{Name: name, Clock: c})}
	q.SetInterceptor(q.intercept)
	return q
}

func (q *testQueue) intercept(c fake.QueueCall) fake.QueueFault {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.quiet {
		return fake.QueueFault{}
	}
	q.calls = append(q.calls, c)
	if q.fail != nil {
		return fake.QueueFault{Err: q.fail(c)}
	}
	if q.fault != nil {
		return q.fault(c)
	}
	return fake.QueueFault{}
}

// setFail installs a fault for calls of op (nil removes every fault).
func (q *testQueue) setFail(op fake.QueueOp, f func() error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if f == nil {
		q.fail = nil
		return
	}
	q.fail = func(c fake.QueueCall) error {
		if c.Op == op {
			return f()
		}
		return nil
	}
}

// seed sends bodies without logging the call.
func (q *testQueue) seed(tb testing.TB, bodies ...string) {
	tb.Helper()
	q.mu.Lock()
	q.quiet = true
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		q.quiet = false
		q.mu.Unlock()
	}()
	if err := q.SendBodies(context.Background(), bodies, 0); err != nil {
		tb.Fatal(err)
	}
}

func (q *testQueue) callsOf(op fake.QueueOp) []fake.QueueCall {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []fake.QueueCall
	for _, c := range q.calls {
		if c.Op == op {
			out = append(out, c)
		}
	}
	return out
}

func (q *testQueue) resetCalls() {
	q.mu.Lock()
	q.calls = nil
	q.mu.Unlock()
}

// len is the number of live messages.
func (q *testQueue) len() int { return len(q.Snapshot().Messages) }

// sent lists the send calls that went through.
func (q *testQueue) sent() []sentBatch {
	var out []sentBatch
	for _, c := range q.callsOf(fake.QueueOpSend) {
		out = append(out, sentBatch{bodies: c.Items, delay: c.Delay})
	}
	return out
}

func (q *testQueue) sentBodies() []string {
	var out []string
	for _, b := range q.sent() {
		out = append(out, b.bodies...)
	}
	return out
}

// visChanges lists the visibility asked for by each ChangeVisibility call.
func (q *testQueue) visChanges() []time.Duration {
	var out []time.Duration
	for _, c := range q.callsOf(fake.QueueOpChangeVisibility) {
		out = append(out, c.Delay)
	}
	return out
}

func (q *testQueue) receives() int { return len(q.callsOf(fake.QueueOpReceive)) }

// mustTask returns an onboarding task body for instance number n.
func mustTask(tb testing.TB, n int) string {
	tb.Helper()
	body, err := domain.EncodeTask(domain.NewOnboardTask("cn-hangzhou", instanceID(n), "test", time.Unix(0, 0)))
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

func instanceID(n int) string { return fmt.Sprintf("i-bp1test%08d", n) }

// enqueue puts n onboarding tasks on q.
func enqueue(tb testing.TB, q *testQueue, n int) {
	tb.Helper()
	bodies := make([]string, n)
	for i := range bodies {
		bodies[i] = mustTask(tb, i)
	}
	for len(bodies) > 0 {
		k := min(len(bodies), fake.QueueMaxBatch)
		q.seed(tb, bodies[:k]...)
		bodies = bodies[k:]
	}
}

// scripted is a Handler whose verdict per task comes from a function; it
// records each call's tasks and returns them as one job.
type scripted struct {
	mu     sync.Mutex
	decide func(call int, t domain.Task) task.Outcome
	calls  [][]domain.Task
}

func (h *scripted) Handle(_ context.Context, tasks []domain.Task) []task.Job {
	h.mu.Lock()
	call := len(h.calls)
	h.calls = append(h.calls, tasks)
	h.mu.Unlock()
	ids := make([]string, 0, len(tasks))
	for _, t := range tasks {
		ids = append(ids, t.ID)
	}
	return []task.Job{{TaskIDs: ids, Run: func(context.Context) []task.Outcome {
		out := make([]task.Outcome, 0, len(tasks))
		for _, t := range tasks {
			out = append(out, h.decide(call, t))
		}
		return out
	}}}
}

func (h *scripted) taskCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.calls {
		n += len(c)
	}
	return n
}

func always(r task.Result, reason task.Reason) func(int, domain.Task) task.Outcome {
	return func(_ int, t domain.Task) task.Outcome {
		return task.Outcome{TaskID: t.ID, Result: r, Reason: reason, Detail: "scripted " + string(reason)}
	}
}

type rig struct {
	clock *fake.Clock
	queue *testQueue
	dlq   *testQueue
	h     *scripted
	w     *worker.Worker
}

func newRig(t *testing.T, decide func(int, domain.Task) task.Outcome, opts worker.Options) *rig {
	t.Helper()
	// The clock starts at the real now, so real ctx deadlines line up.
	c := fake.NewClock(time.Now())
	r := &rig{clock: c, queue: newTestQueue("work", c), dlq: newTestQueue("dlq", c), h: &scripted{decide: decide}}
	opts.Now = c.Now
	opts.Sleep = c.Sleep
	w, err := worker.New(r.queue, r.dlq, map[domain.TaskKind]task.Handler{domain.TaskOnboard: r.h}, opts)
	if err != nil {
		t.Fatal(err)
	}
	r.w = w
	return r
}

// drain runs Drain, cancelled after testTimeout of real time. It is a
// cancellation, not a ctx deadline: the worker plans its batches against
// ctx.Deadline() on its (fake) clock, and a real deadline would end every
// drain as soon as the fake clock ran past it.
func (r *rig) drain(o worker.DrainOptions) (worker.Summary, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := time.AfterFunc(testTimeout, cancel)
	defer stop.Stop()
	return r.w.Drain(ctx, o)
}

func mustDrain(t *testing.T, r *rig, o worker.DrainOptions) worker.Summary {
	t.Helper()
	sum, err := r.drain(o)
	if err != nil {
		t.Fatalf("Drain: %v", err)
	}
	return sum
}

// waitSleepers waits (for real, briefly) until n goroutines sleep on the clock.
func (r *rig) waitSleepers(t *testing.T, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if !r.clock.WaitSleepers(ctx, n) {
		t.Fatalf("no goroutine went to sleep on the fake clock")
	}
}

// receiveAndLose receives the queue's messages n times and lets their
// visibility run out each time, as workers that crashed would.
func (r *rig) receiveAndLose(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := r.queue.Receive(context.Background(), fake.QueueMaxBatch, 0); err != nil {
			t.Fatal(err)
		}
		r.clock.Advance(fake.QueueDefaultVisibility)
	}
	r.queue.resetCalls()
}
