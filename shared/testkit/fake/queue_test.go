package fake_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
	"github.com/sgpilot/sgpilot/shared/testkit/queuetest"
)

// newQueue runs the queue on a fake.Clock read through Now only: long
// polls still wait in real time, as the conformance suite expects.
func newQueue(t *testing.T, opts fake.QueueOptions) (*fake.Queue, *fake.Clock) {
	t.Helper()
	clock := fake.NewClock(time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC))
	opts.Now = clock.Now
	if opts.VisibilityTimeout == 0 {
		opts.VisibilityTimeout = queuetest.Visibility
	}
	return fake.NewQueue(opts), clock
}

func TestQueue_Conformance(t *testing.T) {
	for _, unordered := range []bool{false, true} {
		name := "ordered"
		if unordered {
			name = "unordered"
		}
		t.Run(name, func(t *testing.T) {
			queuetest.Run(t, func(t *testing.T) queuetest.Env {
				q, clock := newQueue(t, fake.QueueOptions{Unordered: unordered, Seed: 7})
				return queuetest.Env{Queue: q, Advance: clock.Advance, Now: clock.Now}
			})
		})
	}
}

func TestQueue_SnapshotStates(t *testing.T) {
	q, clock := newQueue(t, fake.QueueOptions{})
	ctx := context.Background()
	if err := q.SendBodies(ctx, []string{"a", "b"}, 0); err != nil {
		t.Fatal(err)
	}
	if err := q.SendBodies(ctx, []string{"later"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	ds, err := q.Receive(ctx, 1, 0)
	if err != nil || len(ds) != 1 {
		t.Fatalf("Receive = %v, %v", ds, err)
	}
	s := q.Snapshot()
	if s.Count(fake.QueueInactive) != 1 || s.Count(fake.QueueActive) != 1 || s.Count(fake.QueueDelayed) != 1 {
		t.Fatalf("states = %+v", s.Messages)
	}
	if s.Sent != 3 || s.Received != 1 || s.Calls[fake.QueueOpSend] != 2 || s.Calls[fake.QueueOpReceive] != 1 {
		t.Errorf("counters: sent %d received %d calls %v", s.Sent, s.Received, s.Calls)
	}
	if err := q.Delete(ctx, []string{ds[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	s = q.Snapshot()
	if len(s.Deleted) != 1 || s.Deleted[0].Body != ds[0].Body || s.Count(fake.QueueActive) != 2 {
		t.Errorf("after delete and delay: deleted %+v, messages %+v", s.Deleted, s.Messages)
	}
}

func TestQueue_FailNext(t *testing.T) {
	q, _ := newQueue(t, fake.QueueOptions{})
	ctx := context.Background()
	q.FailNext(fake.QueueOpSend, fake.QueueThrottled())
	err := q.SendTasks(ctx, queuetest.Tasks(2, time.Now()))
	if domain.KindOf(err) != domain.KindThrottled || domain.CodeOf(err) != "QpsLimitExceeded" {
		t.Fatalf("SendTasks = %v, want throttled", err)
	}
	if items := queuetest.ItemErrors(err); len(items) != 2 {
		t.Errorf("item errors = %v, want both tasks", items)
	}
	if s := q.Snapshot(); s.Sent != 0 {
		t.Fatalf("a failed call sent %d messages", s.Sent)
	}
	// Only once.
	if err := q.SendTasks(ctx, queuetest.Tasks(2, time.Now())); err != nil {
		t.Fatalf("second SendTasks: %v", err)
	}
}

func TestQueue_PartialSend(t *testing.T) {
	q, _ := newQueue(t, fake.QueueOptions{})
	ctx := context.Background()
	tasks := queuetest.Tasks(20, time.Now()) // two batches: 16 + 4
	q.SetInterceptor(func(c fake.QueueCall) fake.QueueFault {
		if c.Op == fake.QueueOpSend && c.N == 1 {
			return fake.QueueFault{ItemErrs: map[int]error{3: fake.QueueThrottled()}}
		}
		return fake.QueueFault{}
	})
	err := q.SendTasks(ctx, tasks)
	if domain.KindOf(err) != domain.KindThrottled {
		t.Fatalf("SendTasks = %v, want throttled", err)
	}
	items := queuetest.ItemErrors(err)
	if len(items) != 1 || items[0].Op != "task "+tasks[3].ID {
		t.Fatalf("item errors = %v, want only task %s", items, tasks[3].ID)
	}
	if s := q.Snapshot(); s.Sent != 19 || s.Calls[fake.QueueOpSend] != 2 {
		t.Errorf("sent %d in %d calls, want 19 in 2", s.Sent, s.Calls[fake.QueueOpSend])
	}
}

func TestQueue_WholeBatchFailureStopsTheRun(t *testing.T) {
	q, _ := newQueue(t, fake.QueueOptions{})
	gone := domain.Errorf(domain.KindNotFound, "fake mns", "QueueNotExist", "injected")
	q.FailNext(fake.QueueOpSend, gone)
	err := q.SendTasks(context.Background(), queuetest.Tasks(40, time.Now()))
	if domain.KindOf(err) != domain.KindNotFound {
		t.Fatalf("SendTasks = %v", err)
	}
	if items := queuetest.ItemErrors(err); len(items) != 40 {
		t.Errorf("%d item errors, want all 40 tasks named", len(items))
	}
	if s := q.Snapshot(); s.Calls[fake.QueueOpSend] != 1 || s.Sent != 0 {
		t.Errorf("calls %d, sent %d; want the run stopped after the first batch", s.Calls[fake.QueueOpSend], s.Sent)
	}
}

func TestQueue_LostReply(t *testing.T) {
	q, clock := newQueue(t, fake.QueueOptions{})
	ctx := context.Background()
	lost := domain.Errorf(domain.KindRetryable, "fake mns", "Transport", "connection reset")
	// A send whose answer is lost: the caller sees an error, the message
	// is there (a retry would duplicate it, which at-least-once allows).
	q.SetInterceptor(func(c fake.QueueCall) fake.QueueFault {
		if c.N == 1 {
			return fake.QueueFault{LostReply: lost}
		}
		return fake.QueueFault{}
	})
	if err := q.SendBodies(ctx, []string{"x"}, 0); !errors.Is(err, domain.ErrRetryable) {
		t.Fatalf("SendBodies = %v, want the lost reply", err)
	}
	// A receive whose answer is lost: the message is invisible until its
	// timeout, then comes back with DequeueCount 2.
	if _, err := q.Receive(ctx, 16, 0); !errors.Is(err, domain.ErrRetryable) {
		t.Fatalf("Receive = %v, want the lost reply", err)
	}
	if ds, _ := q.Receive(ctx, 16, 0); ds != nil {
		t.Fatalf("message visible right after a lost receive")
	}
	clock.Advance(queuetest.Visibility)
	ds, err := q.Receive(ctx, 16, 0)
	if err != nil || len(ds) != 1 || ds[0].DequeueCount != 2 {
		t.Fatalf("after the timeout: %+v, %v", ds, err)
	}
}

func TestQueue_UnorderedDeliversAll(t *testing.T) {
	q, _ := newQueue(t, fake.QueueOptions{Unordered: true, Seed: 1})
	ctx := context.Background()
	tasks := queuetest.Tasks(16, time.Now())
	if err := q.SendTasks(ctx, tasks); err != nil {
		t.Fatal(err)
	}
	ds := queuetest.MustReceive(t, q, 16)
	inOrder := true
	for i, d := range ds {
		task, err := domain.DecodeTask(d.Body)
		if err != nil {
			t.Fatal(err)
		}
		if task.ID != tasks[i].ID {
			inOrder = false
		}
	}
	if inOrder {
		t.Errorf("Unordered queue delivered 16 messages in enqueue order")
	}
}

func TestQueue_InterceptorDelayHonoursContext(t *testing.T) {
	q, _ := newQueue(t, fake.QueueOptions{})
	q.SetInterceptor(func(fake.QueueCall) fake.QueueFault { return fake.QueueFault{Delay: time.Minute} })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := q.SendBodies(ctx, []string{"slow"}, 0)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SendBodies = %v, want the deadline", err)
	}
}
