package worker_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/retry"
	"github.com/sgpilot/sgpilot/shared/core/workqueue"
	"github.com/sgpilot/sgpilot/shared/usecase/worker"
)

// fakeClock only moves when Advance is called; Sleep blocks until the clock
// has passed the wake-up time or ctx ends.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*waiter
}

type waiter struct {
	at time.Time
	ch chan struct{}
}

func newClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			close(w.ch)
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	c.mu.Lock()
	w := &waiter{at: c.now.Add(d), ch: make(chan struct{})}
	c.waiters = append(c.waiters, w)
	c.mu.Unlock()
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitSleepers blocks (for real, briefly) until n goroutines sleep on the clock.
func (c *fakeClock) waitSleepers(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < 2000; i++ {
		c.mu.Lock()
		got := len(c.waiters)
		c.mu.Unlock()
		if got >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("no goroutine went to sleep on the fake clock")
}

// fakeQueue models the parts of MNS the worker relies on: a message is
// hidden for the visibility timeout on receive, every receive and visibility
// change issues a new receipt handle and only the newest one works, a long
// poll on an empty queue lets the wait pass, and delivery order is not FIFO
// (messages come back sorted by when they became visible).
type fakeQueue struct {
	mu         sync.Mutex
	clock      *fakeClock
	visibility time.Duration
	msgs       map[string]*fakeMsg
	seq        int

	// Fault hooks, consulted before the call takes effect.
	failSend    func(bodies []string) error
	failReceive func() error

	sent         []sentBatch
	receives     int
	deletes      [][]string
	visChanges   []time.Duration
	deletedIDs   []string
	staleDeletes int
}

type fakeMsg struct {
	id, body, handle string
	visibleAt        time.Time
	dequeue          int
	order            int
}

type sentBatch struct {
	bodies []string
	delay  time.Duration
}

func newQueue(c *fakeClock) *fakeQueue {
	return &fakeQueue{clock: c, visibility: 30 * time.Second, msgs: map[string]*fakeMsg{}}
}

var _ worker.Queue = (*fakeQueue)(nil)

func (q *fakeQueue) SendBodies(_ context.Context, bodies []string, delay time.Duration) error {
	if len(bodies) > 16 {
		return fmt.Errorf("fake queue: batch of %d bodies, MNS allows 16", len(bodies))
	}
	q.mu.Lock()
	hook := q.failSend
	q.mu.Unlock()
	if hook != nil {
		if err := hook(bodies); err != nil {
			return err
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sent = append(q.sent, sentBatch{bodies: append([]string(nil), bodies...), delay: delay})
	for _, b := range bodies {
		q.put(b, delay, 0)
	}
	return nil
}

func (q *fakeQueue) put(body string, delay time.Duration, dequeue int) string {
	q.seq++
	id := fmt.Sprintf("m%04d", q.seq)
	q.msgs[id] = &fakeMsg{id: id, body: body, visibleAt: q.clock.Now().Add(delay), dequeue: dequeue, order: q.seq}
	return id
}

func (q *fakeQueue) Receive(ctx context.Context, max int, wait time.Duration) ([]workqueue.Delivery, error) {
	if max < 1 || max > 16 || wait < 0 || wait > 30*time.Second {
		return nil, domain.Errorf(domain.KindInvalid, "fake receive", "InvalidArgument", "max %d wait %s", max, wait)
	}
	q.mu.Lock()
	q.receives++
	hook := q.failReceive
	q.mu.Unlock()
	if hook != nil {
		if err := hook(); err != nil {
			return nil, err
		}
	}
	if ds := q.take(max); len(ds) > 0 {
		return ds, nil
	}
	q.clock.Advance(wait) // the long poll passes
	return q.take(max), nil
}

func (q *fakeQueue) take(max int) []workqueue.Delivery {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	var visible []*fakeMsg
	for _, m := range q.msgs {
		if !m.visibleAt.After(now) {
			visible = append(visible, m)
		}
	}
	sort.Slice(visible, func(i, j int) bool {
		if !visible[i].visibleAt.Equal(visible[j].visibleAt) {
			return visible[i].visibleAt.Before(visible[j].visibleAt)
		}
		return visible[i].order < visible[j].order
	})
	var out []workqueue.Delivery
	for _, m := range visible {
		if len(out) == max {
			break
		}
		q.seq++
		m.handle = fmt.Sprintf("%s-h%d", m.id, q.seq)
		m.dequeue++
		m.visibleAt = now.Add(q.visibility)
		out = append(out, workqueue.Delivery{MessageID: m.id, Body: m.body, ReceiptHandle: m.handle, DequeueCount: m.dequeue})
	}
	return out
}

// byHandle finds the message whose newest, still valid handle is h.
func (q *fakeQueue) byHandle(h string) *fakeMsg {
	now := q.clock.Now()
	for _, m := range q.msgs {
		if m.handle == h && m.visibleAt.After(now) {
			return m
		}
	}
	return nil
}

func (q *fakeQueue) Delete(_ context.Context, handles []string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(handles) > 16 {
		return fmt.Errorf("fake queue: delete of %d handles", len(handles))
	}
	q.deletes = append(q.deletes, append([]string(nil), handles...))
	var stale []string
	for _, h := range handles {
		m := q.byHandle(h)
		if m == nil {
			stale = append(stale, h)
			continue
		}
		delete(q.msgs, m.id)
		q.deletedIDs = append(q.deletedIDs, m.id)
	}
	if len(stale) > 0 {
		q.staleDeletes += len(stale)
		return domain.Errorf(domain.KindInvalid, "fake delete", "ReceiptHandleError", "stale handles %v", stale)
	}
	return nil
}

func (q *fakeQueue) ChangeVisibility(_ context.Context, h string, d time.Duration) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	m := q.byHandle(h)
	if m == nil {
		return "", domain.Errorf(domain.KindInvalid, "fake change visibility", "MessageNotExist", "stale handle %s", h)
	}
	q.seq++
	m.handle = fmt.Sprintf("%s-h%d", m.id, q.seq)
	m.visibleAt = q.clock.Now().Add(d)
	q.visChanges = append(q.visChanges, d)
	return m.handle, nil
}

func (q *fakeQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs)
}

func (q *fakeQueue) sentBodies() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []string
	for _, b := range q.sent {
		out = append(out, b.bodies...)
	}
	return out
}

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
func enqueue(tb testing.TB, q *fakeQueue, n int) {
	tb.Helper()
	for i := 0; i < n; i++ {
		q.mu.Lock()
		q.put(mustTask(tb, i), 0, 0)
		q.mu.Unlock()
	}
}

// scripted is a Handler whose verdict per task comes from a function; it
// records each call's tasks.
type scripted struct {
	mu     sync.Mutex
	decide func(call int, t domain.Task) worker.Outcome
	calls  [][]domain.Task
}

func (h *scripted) Handle(_ context.Context, tasks []domain.Task) []worker.Outcome {
	h.mu.Lock()
	call := len(h.calls)
	h.calls = append(h.calls, tasks)
	h.mu.Unlock()
	out := make([]worker.Outcome, 0, len(tasks))
	for _, t := range tasks {
		out = append(out, h.decide(call, t))
	}
	return out
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

func always(r worker.Result, reason string) func(int, domain.Task) worker.Outcome {
	return func(_ int, t domain.Task) worker.Outcome {
		return worker.Outcome{TaskID: t.ID, Result: r, Reason: reason, Detail: "scripted " + reason}
	}
}

type rig struct {
	clock *fakeClock
	queue *fakeQueue
	dlq   *fakeQueue
	h     *scripted
	w     *worker.Worker
}

func newRig(t *testing.T, decide func(int, domain.Task) worker.Outcome, opts worker.Options) *rig {
	t.Helper()
	c := newClock()
	r := &rig{clock: c, queue: newQueue(c), dlq: newQueue(c), h: &scripted{decide: decide}}
	opts.Now = c.Now
	opts.Sleep = c.Sleep
	if opts.Retry.MaxAttempts == 0 {
		opts.Retry = retry.Policy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond,
			Sleep: func(context.Context, time.Duration) error { return nil }}
	}
	w, err := worker.New(r.queue, r.dlq, map[domain.TaskKind]worker.Handler{domain.TaskOnboard: r.h}, opts)
	if err != nil {
		t.Fatal(err)
	}
	r.w = w
	return r
}

func mustDrain(t *testing.T, r *rig, o worker.DrainOptions) worker.Summary {
	t.Helper()
	sum, err := r.w.Drain(context.Background(), o)
	if err != nil {
		t.Fatalf("Drain: %v", err)
	}
	return sum
}
