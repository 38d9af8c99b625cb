package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/core/deadletter"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/task"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
	"github.com/sgpilot/sgpilot/shared/usecase/worker"
)

func decodeDeadLetters(t *testing.T, q *testQueue) []deadletter.Record {
	t.Helper()
	var out []deadletter.Record
	for _, b := range q.sentBodies() {
		var d deadletter.Record
		if err := json.Unmarshal([]byte(b), &d); err != nil {
			t.Fatalf("DLQ body %q: %v", b, err)
		}
		out = append(out, d)
	}
	return out
}

func TestDrain_DoneDeletesAndBatchesAcrossMessages(t *testing.T) {
	r := newRig(t, always(task.Done, "complete"), worker.Options{})
	enqueue(t, r.queue, 40)

	sum := mustDrain(t, r, worker.DrainOptions{})

	if got := len(r.h.calls); got != 1 {
		t.Fatalf("handler calls = %d, want 1 batch across 40 messages", got)
	}
	if got := len(r.h.calls[0]); got != 40 {
		t.Errorf("batch size = %d, want 40", got)
	}
	if r.queue.len() != 0 {
		t.Errorf("%d messages left on the queue", r.queue.len())
	}
	want := worker.Summary{Received: 40, Done: 40, Batches: 1, DeadLettered: map[string]int{}, Stopped: worker.StoppedIdle}
	sum.Duration = 0
	if diff := cmp.Diff(want, sum); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	for _, d := range r.queue.callsOf(fake.QueueOpDelete) {
		if d := d.Items; len(d) > 16 {
			t.Errorf("delete call with %d handles, MNS allows 16", len(d))
		}
	}
}

func TestDrain_MaxBatchSplits(t *testing.T) {
	r := newRig(t, always(task.Done, "complete"), worker.Options{})
	enqueue(t, r.queue, 40)
	sum := mustDrain(t, r, worker.DrainOptions{MaxBatch: 16})
	if sum.Batches != 3 || sum.Done != 40 {
		t.Errorf("batches = %d, done = %d; want 3 batches, 40 done", sum.Batches, sum.Done)
	}
}

func TestDrain_RetryComesBackThenDone(t *testing.T) {
	r := newRig(t, func(call int, tk domain.Task) task.Outcome {
		if call == 0 {
			return task.RetryLater(tk.ID, 12*time.Second, domain.ReasonNotReady, "Pending")
		}
		return task.Succeeded(tk.ID, domain.ReasonJoin, "joined")
	}, worker.Options{})
	enqueue(t, r.queue, 1)

	sum := mustDrain(t, r, worker.DrainOptions{})

	if diff := cmp.Diff([]time.Duration{12 * time.Second}, r.queue.visChanges()); diff != "" {
		t.Errorf("visibility changes (-want +got):\n%s", diff)
	}
	if len(r.h.calls) != 2 {
		t.Fatalf("handler calls = %d, want 2 (first try, redelivery)", len(r.h.calls))
	}
	if sum.Retried != 1 || sum.Done != 1 || sum.Received != 2 || r.queue.len() != 0 {
		t.Errorf("summary %+v, queue %d; want 1 retried, 1 done, queue empty", sum, r.queue.len())
	}
}

func TestDrain_RetryDefaultsAndClamps(t *testing.T) {
	r := newRig(t, func(call int, tk domain.Task) task.Outcome {
		if call == 0 {
			return task.RetryLater(tk.ID, 0, "throttled", "")
		}
		return task.Succeeded(tk.ID, "", "")
	}, worker.Options{RetryDelay: 7 * time.Second})
	enqueue(t, r.queue, 1)
	mustDrain(t, r, worker.DrainOptions{})
	if diff := cmp.Diff([]time.Duration{7 * time.Second}, r.queue.visChanges()); diff != "" {
		t.Errorf("visibility changes (-want +got):\n%s", diff)
	}
}

func TestDrain_RetriesExhausted(t *testing.T) {
	r := newRig(t, always(task.Retry, "throttled"), worker.Options{MaxDeliveries: 3, RetryDelay: time.Second})
	enqueue(t, r.queue, 1)

	sum := mustDrain(t, r, worker.DrainOptions{IdleWindow: 5 * time.Minute})

	if got := r.h.taskCount(); got != 3 {
		t.Errorf("handled %d times, want 3", got)
	}
	dls := decodeDeadLetters(t, r.dlq)
	if len(dls) != 1 {
		t.Fatalf("dead letters = %d, want 1", len(dls))
	}
	d := dls[0]
	if d.Reason != string(task.ReasonRetriesExhausted) || d.DequeueCount != 3 || d.OriginalBody != mustTask(t, 0) ||
		d.TaskID == "" || d.Subject != instanceID(0) || !strings.Contains(d.Detail, "throttled") {
		t.Errorf("dead letter = %+v", d)
	}
	if r.queue.len() != 0 || sum.DeadLettered[string(task.ReasonRetriesExhausted)] != 1 || sum.Retried != 2 {
		t.Errorf("queue %d, summary %+v", r.queue.len(), sum)
	}
}

func TestDrain_PoisonMessageSkipsHandler(t *testing.T) {
	r := newRig(t, always(task.Done, ""), worker.Options{MaxDeliveries: 10})
	enqueue(t, r.queue, 1)
	r.receiveAndLose(t, 10) // received 10 times already, by workers that crashed

	sum := mustDrain(t, r, worker.DrainOptions{})

	if len(r.h.calls) != 0 {
		t.Errorf("handler ran on a message delivered 11 times")
	}
	if sum.DeadLettered[string(task.ReasonRetriesExhausted)] != 1 || r.queue.len() != 0 {
		t.Errorf("summary %+v, queue %d", sum, r.queue.len())
	}
}

func TestDrain_InvalidBodiesDeadLettered(t *testing.T) {
	bodies := []string{
		"not json",
		`{"v":1,"kind":"onboard","id":"x","region":"cn-hangzhou","instanceId":"i-bp1aaaaaaaaaaaaaaaa1","enqueuedAt":"2024-05-01T00:00:00Z","extra":1}`,
		`{"v":2,"kind":"onboard","id":"x","region":"cn-hangzhou","instanceId":"i-bp1aaaaaaaaaaaaaaaa1","enqueuedAt":"2024-05-01T00:00:00Z"}`,
	}
	r := newRig(t, always(task.Done, ""), worker.Options{})
	for _, b := range bodies {
		r.queue.seed(t, b)
	}
	enqueue(t, r.queue, 1) // one good task in the same batch

	sum := mustDrain(t, r, worker.DrainOptions{})

	if sum.Invalid != 3 || sum.DeadLettered[string(task.ReasonInvalidTask)] != 3 || sum.Done != 1 {
		t.Errorf("summary %+v", sum)
	}
	var originals []string
	for _, d := range decodeDeadLetters(t, r.dlq) {
		if d.Reason != string(task.ReasonInvalidTask) || d.Detail == "" {
			t.Errorf("dead letter %+v", d)
		}
		originals = append(originals, d.OriginalBody)
	}
	if diff := cmp.Diff(bodies, originals); diff != "" {
		t.Errorf("original bodies (-want +got):\n%s", diff)
	}
	if r.queue.len() != 0 {
		t.Errorf("%d messages left", r.queue.len())
	}
}

func TestDrain_DeadLetterFromHandler(t *testing.T) {
	r := newRig(t, always(task.DeadLetter, domain.ReasonOverLimit), worker.Options{})
	enqueue(t, r.queue, 2)
	sum := mustDrain(t, r, worker.DrainOptions{})
	if sum.DeadLettered[string(domain.ReasonOverLimit)] != 2 || r.queue.len() != 0 {
		t.Errorf("summary %+v, queue %d", sum, r.queue.len())
	}
	for _, d := range decodeDeadLetters(t, r.dlq) {
		if d.Detail != "scripted over-group-limit" || d.DequeueCount != 1 {
			t.Errorf("dead letter %+v", d)
		}
	}
}

func TestDrain_DLQSendFailureKeepsMessage(t *testing.T) {
	r := newRig(t, always(task.DeadLetter, domain.ReasonNoRoleGroup), worker.Options{})
	enqueue(t, r.queue, 1)
	r.dlq.setFail(fake.QueueOpSend, func() error {
		return domain.Errorf(domain.KindPermanent, "send", "QueueNotExist", "no such queue")
	})

	sum, err := r.drain(worker.DrainOptions{})

	if err == nil {
		t.Fatal("Drain succeeded although the DLQ refused the record")
	}
	if sum.DeadLetterFailed != 1 || sum.DeadLetteredTotal() != 0 || sum.Stopped != worker.StoppedError {
		t.Errorf("summary %+v", sum)
	}
	if r.queue.len() != 1 || len(r.queue.Snapshot().Deleted) != 0 {
		t.Fatalf("message deleted before its dead letter was durable (queue %d)", r.queue.len())
	}

	// Once the DLQ works again, the message comes back and is dead-lettered.
	r.dlq.setFail("", nil)
	r.clock.Advance(31 * time.Second)
	sum = mustDrain(t, r, worker.DrainOptions{})
	if sum.DeadLettered[string(domain.ReasonNoRoleGroup)] != 1 || r.queue.len() != 0 {
		t.Errorf("after recovery: summary %+v, queue %d", sum, r.queue.len())
	}
}

func TestDrain_UnsupportedKind(t *testing.T) {
	r := newRig(t, always(task.Done, ""), worker.Options{})
	body, err := domain.EncodeTask(domain.NewDeleteGroupTask("cn-hangzhou", "sg-bp1aaaaaaaaaaaa", "2024-05-01", "run-1", time.Unix(0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	r.queue.seed(t, body)
	sum := mustDrain(t, r, worker.DrainOptions{})
	if sum.DeadLettered[string(task.ReasonUnsupportedKind)] != 1 || len(r.h.calls) != 0 {
		t.Errorf("summary %+v, handler calls %d", sum, len(r.h.calls))
	}
}

func TestDrain_HandlerFaultsAreRetried(t *testing.T) {
	tests := []struct {
		name   string
		decide func(int, domain.Task) task.Outcome
		reason task.Reason
	}{
		{"panic", func(int, domain.Task) task.Outcome { panic("boom") }, task.ReasonHandlerPanic},
		{"no outcome", func(int, domain.Task) task.Outcome { return task.Outcome{TaskID: "someone-else"} }, task.ReasonNoOutcome},
		{"zero result", func(_ int, t domain.Task) task.Outcome { return task.Outcome{TaskID: t.ID} }, task.ReasonNoOutcome},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, tc.decide, worker.Options{MaxDeliveries: 2})
			enqueue(t, r.queue, 1)
			sum := mustDrain(t, r, worker.DrainOptions{IdleWindow: 2 * time.Minute})
			if sum.Done != 0 || sum.Retried != 1 || sum.DeadLettered[string(task.ReasonRetriesExhausted)] != 1 {
				t.Errorf("summary %+v", sum)
			}
			if want := tc.reason == task.ReasonHandlerPanic; sum.Panicked != want {
				t.Errorf("Summary.Panicked = %v, want %v", sum.Panicked, want)
			}
			dls := decodeDeadLetters(t, r.dlq)
			if len(dls) != 1 || !strings.Contains(dls[0].Detail, string(tc.reason)) {
				t.Errorf("dead letters %+v, want detail naming %s", dls, tc.reason)
			}
		})
	}
}

func TestDrain_DuplicateDeliveriesShareOneOutcome(t *testing.T) {
	r := newRig(t, always(task.Done, ""), worker.Options{})
	enqueue(t, r.queue, 1)
	enqueue(t, r.queue, 1) // the same task sent twice (e.g. two events)
	sum := mustDrain(t, r, worker.DrainOptions{})
	if len(r.h.calls) != 1 || len(r.h.calls[0]) != 1 {
		t.Errorf("handler calls %v, want one call with one task", r.h.calls)
	}
	if sum.Done != 2 || r.queue.len() != 0 {
		t.Errorf("summary %+v", sum)
	}
}

func TestDrain_ReusedIDForDifferentTaskGetsOwnRound(t *testing.T) {
	r := newRig(t, func(_ int, t domain.Task) task.Outcome {
		return task.Succeeded(t.ID, "", t.InstanceID)
	}, worker.Options{})
	for _, inst := range []string{"i-bp1aaaaaaaaaaaaaaa1", "i-bp1aaaaaaaaaaaaaaa2"} {
		tk := domain.NewOnboardTask("cn-hangzhou", inst, "", time.Unix(0, 0))
		tk.ID = "same-id"
		body, _ := domain.EncodeTask(tk)
		r.queue.seed(t, body)
	}
	sum := mustDrain(t, r, worker.DrainOptions{})
	if len(r.h.calls) != 2 || sum.Done != 2 {
		t.Errorf("handler calls %d, summary %+v; want two rounds", len(r.h.calls), sum)
	}
}

func TestDrain_StaleHandleOnDeleteIsHarmless(t *testing.T) {
	var r *rig
	r = newRig(t, func(_ int, tk domain.Task) task.Outcome {
		// The handler overruns the visibility timeout with no heartbeat
		// tick in between: the message is visible again, its handle stale.
		r.clock.Advance(31 * time.Second)
		return task.Succeeded(tk.ID, "", "")
	}, worker.Options{})
	enqueue(t, r.queue, 1)
	sum := mustDrain(t, r, worker.DrainOptions{HeartbeatInterval: time.Hour, IdleWindow: time.Second})
	if deleted := len(r.queue.Snapshot().Deleted); sum.DeleteErrors != 1 || sum.Done != 1 || deleted != 0 {
		t.Errorf("summary %+v, %d deleted; want the stale delete to fail and keep the message", sum, deleted)
	}
}

func TestDrain_HeartbeatKeepsSlowBatchInvisible(t *testing.T) {
	var r *rig
	r = newRig(t, func(_ int, tk domain.Task) task.Outcome {
		// A slow handler: 70 s pass in 10 s steps; after each step wait
		// until the heartbeat has looked and gone back to sleep.
		for i := 0; i < 7; i++ {
			r.waitSleepers(t, 1)
			r.clock.Advance(10 * time.Second)
		}
		r.waitSleepers(t, 1)
		return task.Succeeded(tk.ID, "", "")
	}, worker.Options{})
	enqueue(t, r.queue, 1)

	sum := mustDrain(t, r, worker.DrainOptions{VisibilityTimeout: 30 * time.Second, HeartbeatInterval: 10 * time.Second})

	if len(r.queue.visChanges()) < 2 {
		t.Errorf("visibility extended %d times, want at least 2", len(r.queue.visChanges()))
	}
	if len(r.h.calls) != 1 || sum.Done != 1 || sum.DeleteErrors != 0 || r.queue.len() != 0 {
		t.Errorf("handler calls %d, summary %+v: the message was redelivered or not deleted", len(r.h.calls), sum)
	}
}

func TestDrain_StopsBeforeDeadline(t *testing.T) {
	r := newRig(t, always(task.Done, ""), worker.Options{DeadlineMargin: 5 * time.Second})
	// The fake clock starts at the real now, so ctx's real deadline lines up.
	start := r.clock.Now()
	ctx, cancel := context.WithDeadline(context.Background(), start.Add(40*time.Second))
	defer cancel()

	sum, err := r.w.Drain(ctx, worker.DrainOptions{MinBatchTime: 20 * time.Second, IdleWindow: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Stopped != worker.StoppedDeadline {
		t.Errorf("stopped = %q, want deadline", sum.Stopped)
	}
	// 40 s - 5 s margin - 20 s for a batch leaves 15 s of polling.
	if polled := r.clock.Now().Sub(start); polled != 15*time.Second {
		t.Errorf("polled for %s, want 15s", polled)
	}
}

func TestDrain_NoBatchWhenTooLittleTime(t *testing.T) {
	r := newRig(t, always(task.Done, ""), worker.Options{DeadlineMargin: 5 * time.Second})
	enqueue(t, r.queue, 3)
	ctx, cancel := context.WithDeadline(context.Background(), r.clock.Now().Add(24*time.Second))
	defer cancel()
	sum, err := r.w.Drain(ctx, worker.DrainOptions{MinBatchTime: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Stopped != worker.StoppedDeadline || sum.Received != 0 || r.queue.receives() != 0 {
		t.Errorf("summary %+v, receives %d: a batch started that could not finish", sum, r.queue.receives())
	}
}

// The worker does not retry queue calls: the adapter did (see mnsqueue), so
// a receive error that reaches the worker ends the drain.
func TestDrain_ReceiveErrors(t *testing.T) {
	r := newRig(t, always(task.Done, ""), worker.Options{})
	calls := 0
	r.queue.setFail(fake.QueueOpReceive, func() error {
		calls++
		if calls == 1 {
			return domain.Errorf(domain.KindThrottled, "receive", "Throttling", "slow down")
		}
		return nil
	})
	enqueue(t, r.queue, 1)
	sum, err := r.drain(worker.DrainOptions{})
	if !errors.Is(err, domain.ErrThrottled) || sum.Stopped != worker.StoppedError || calls != 1 {
		t.Errorf("Drain = %+v, %v after %d receives; want one receive and the throttled error", sum, err, calls)
	}
	if sum := mustDrain(t, r, worker.DrainOptions{}); sum.Done != 1 {
		t.Errorf("the next drain did not handle the message: %+v", sum)
	}

	r.queue.setFail(fake.QueueOpReceive, func() error {
		return domain.Errorf(domain.KindNotFound, "receive", "QueueNotExist", "gone")
	})
	if _, err := r.drain(worker.DrainOptions{}); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("err = %v, want the queue's not-found error", err)
	}
}

// TestDrain_NoTaskLost drives random outcomes and random DLQ outages through
// many drains and checks the delivery guarantee: every message is either
// still on the queue, deleted after a Done, or deleted after its dead letter
// was accepted — never deleted otherwise.
func TestDrain_NoTaskLost(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lastResult := map[string]task.Result{} // task ID → last outcome
	r := newRig(t, func(_ int, tk domain.Task) task.Outcome {
		res := []task.Result{task.Done, task.Retry, task.Retry, task.DeadLetter}[rng.IntN(4)]
		lastResult[tk.ID] = res
		return task.Outcome{TaskID: tk.ID, Result: res, Reason: "random", RetryAfter: time.Duration(1+rng.IntN(20)) * time.Second}
	}, worker.Options{MaxDeliveries: 4})
	const n = 60
	enqueue(t, r.queue, n)
	r.dlq.setFail(fake.QueueOpSend, func() error {
		if rng.IntN(3) == 0 {
			return domain.Errorf(domain.KindPermanent, "send", "Boom", "DLQ down")
		}
		return nil
	})

	var total worker.Summary
	for i := 0; i < 50 && r.queue.len() > 0; i++ {
		sum, _ := r.drain(worker.DrainOptions{MaxBatch: 7, IdleWindow: time.Minute})
		total.Received += sum.Received
		if got := sum.Done + sum.Retried + sum.DeadLetteredTotal() + sum.DeadLetterFailed; got != sum.Received {
			t.Fatalf("summary does not add up: %+v", sum)
		}
		r.clock.Advance(time.Minute)
	}
	if r.queue.len() != 0 {
		t.Fatalf("%d messages never settled", r.queue.len())
	}
	dead := map[string]bool{}
	for _, d := range decodeDeadLetters(t, r.dlq) {
		dead[d.TaskID] = true
	}
	for i := 0; i < n; i++ {
		tk, _ := domain.DecodeTask(mustTask(t, i))
		if lastResult[tk.ID] != task.Done && !dead[tk.ID] {
			t.Errorf("task %s deleted without success or dead letter (last %v)", tk.ID, lastResult[tk.ID])
		}
	}
}

func TestSummary_JSON(t *testing.T) {
	s := worker.Summary{Received: 3, Done: 1, Retried: 1, DeadLettered: map[string]int{"invalid-task": 1}, Invalid: 1,
		Batches: 1, Duration: 1500 * time.Millisecond, Stopped: worker.StoppedIdle}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"received":3,"done":1,"retried":1,"deadLettered":{"invalid-task":1},"invalid":1,"batches":1,"stopped":"idle","durationMs":1500,"duration":"1.5s"}`
	if string(b) != want {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
}

// A panic in Handle itself (before any job) retries the whole round and
// still tells the function to exit; a panic in one job spares the others.
func TestHandlePushed_PanicsAreRecoveredPerJob(t *testing.T) {
	tests := []struct {
		name      string
		h         task.HandlerFunc
		wantDone  int
		wantRetry int
	}{
		{"in Handle", func(context.Context, []domain.Task) []task.Job { panic("boom") }, 0, 2},
		{"in one job", func(_ context.Context, tasks []domain.Task) []task.Job {
			return []task.Job{
				task.Known(task.Succeeded(tasks[0].ID, "", "")),
				{TaskIDs: []string{tasks[1].ID}, Run: func(context.Context) []task.Outcome { panic("boom") }},
			}
		}, 1, 1},
		{"in an After job", func(_ context.Context, tasks []domain.Task) []task.Job {
			return []task.Job{
				task.Known(task.Succeeded(tasks[0].ID, "", ""), task.Succeeded(tasks[1].ID, "", "")),
				{TaskIDs: []string{tasks[1].ID}, After: true, Run: func(context.Context) []task.Outcome { panic("boom") }},
			}
		}, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := fake.NewClock(time.Now())
			q, dlq := newTestQueue("work", c), newTestQueue("dlq", c)
			w, err := worker.New(q, dlq, map[domain.TaskKind]task.Handler{domain.TaskOnboard: tc.h}, worker.Options{Now: c.Now, Sleep: c.Sleep})
			if err != nil {
				t.Fatal(err)
			}
			sum, err := w.HandlePushed(context.Background(), pushed(mustTask(t, 0), mustTask(t, 1)))
			if err != nil || !sum.Panicked || sum.Done != tc.wantDone || sum.Retried != tc.wantRetry {
				t.Errorf("HandlePushed = %+v, %v; want panicked, %d done, %d retried", sum, err, tc.wantDone, tc.wantRetry)
			}
			for _, b := range q.sentBodies() {
				if tk, err := domain.DecodeTask(b); err != nil || tk.Attempt != 2 {
					t.Errorf("re-enqueued %+v, %v; want attempt 2", tk, err)
				}
			}
		})
	}
}

// An After job starts once every first-round job has returned, and its
// outcomes replace theirs; tasks it does not return keep their outcome.
func TestHandlePushed_AfterRoundChecksTheFirst(t *testing.T) {
	c := fake.NewClock(time.Now())
	q, dlq := newTestQueue("work", c), newTestQueue("dlq", c)
	var mu sync.Mutex
	finished := 0
	h := task.HandlerFunc(func(_ context.Context, tasks []domain.Task) []task.Job {
		var jobs []task.Job
		ids := make([]string, len(tasks))
		for i, tk := range tasks {
			ids[i] = tk.ID
			jobs = append(jobs, task.Job{TaskIDs: []string{tk.ID}, Run: func(context.Context) []task.Outcome {
				time.Sleep(time.Millisecond)
				mu.Lock()
				finished++
				mu.Unlock()
				return []task.Outcome{task.Succeeded(tk.ID, "", "")}
			}})
		}
		check := task.Job{TaskIDs: ids, After: true, Run: func(context.Context) []task.Outcome {
			mu.Lock()
			defer mu.Unlock()
			if finished != len(tasks) {
				return []task.Outcome{task.Terminal(ids[0], "too-early", fmt.Sprintf("%d of %d jobs finished", finished, len(tasks)))}
			}
			return []task.Outcome{task.RetryLater(ids[0], time.Second, task.ReasonChanged, "re-plan")}
		}}
		return append([]task.Job{check}, jobs...)
	})
	w, err := worker.New(q, dlq, map[domain.TaskKind]task.Handler{domain.TaskOnboard: h}, worker.Options{Now: c.Now, Sleep: c.Sleep, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := w.HandlePushed(context.Background(), pushed(mustTask(t, 0), mustTask(t, 1), mustTask(t, 2), mustTask(t, 3), mustTask(t, 4)))
	if err != nil || sum.Done != 4 || sum.Retried != 1 || sum.DeadLetteredTotal() != 0 {
		t.Errorf("HandlePushed = %+v, %v; want 4 done and the After job's retry", sum, err)
	}
}
