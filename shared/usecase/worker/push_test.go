package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/task"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
	"github.com/sgpilot/sgpilot/shared/usecase/worker"
)

func pushed(bodies ...string) []worker.PushedMessage {
	out := make([]worker.PushedMessage, len(bodies))
	for i, b := range bodies {
		out[i] = worker.PushedMessage{MessageID: "m" + string(rune('a'+i)), Body: b}
	}
	return out
}

func taskWithAttempt(t *testing.T, n, attempt int) string {
	t.Helper()
	tk := domain.NewOnboardTask("cn-hangzhou", instanceID(n), "test", time.Unix(0, 0))
	tk.Attempt = attempt
	body, err := domain.EncodeTask(tk)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func TestHandlePushed_Outcomes(t *testing.T) {
	r := newRig(t, func(_ int, tk domain.Task) task.Outcome {
		switch tk.InstanceID {
		case instanceID(0):
			return task.Succeeded(tk.ID, "complete", "")
		case instanceID(1):
			return task.RetryLater(tk.ID, 10*time.Second, domain.ReasonNotReady, "Pending")
		default:
			return task.Terminal(tk.ID, domain.ReasonInstanceGone, "no such instance")
		}
	}, worker.Options{})

	sum, err := r.w.HandlePushed(context.Background(), pushed(mustTask(t, 0), mustTask(t, 1), mustTask(t, 2), "garbage"))
	if err != nil {
		t.Fatal(err)
	}

	if len(r.h.calls) != 1 || len(r.h.calls[0]) != 3 {
		t.Errorf("handler calls %v, want one batch of 3", r.h.calls)
	}
	// The retried task goes back with Attempt+1 and the delay.
	if len(r.queue.sent()) != 1 || r.queue.sent()[0].delay != 10*time.Second || len(r.queue.sent()[0].bodies) != 1 {
		t.Fatalf("re-enqueued %+v", r.queue.sent())
	}
	again, err := domain.DecodeTask(r.queue.sent()[0].bodies[0])
	if err != nil || again.Attempt != 2 || again.InstanceID != instanceID(1) {
		t.Errorf("re-enqueued task %+v, %v; want attempt 2 of instance 1", again, err)
	}
	var reasons []string
	for _, d := range decodeDeadLetters(t, r.dlq) {
		reasons = append(reasons, d.Reason)
	}
	if diff := cmp.Diff([]string{string(domain.ReasonInstanceGone), string(task.ReasonInvalidTask)}, reasons); diff != "" {
		t.Errorf("dead-letter reasons (-want +got):\n%s", diff)
	}
	want := worker.Summary{Received: 4, Done: 1, Retried: 1, Invalid: 1, Batches: 1,
		DeadLettered: map[string]int{string(domain.ReasonInstanceGone): 1, string(task.ReasonInvalidTask): 1}}
	sum.Duration = 0
	if diff := cmp.Diff(want, sum); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}

func TestHandlePushed_AttemptsExhausted(t *testing.T) {
	r := newRig(t, always(task.Retry, "throttled"), worker.Options{MaxDeliveries: 3})
	sum, err := r.w.HandlePushed(context.Background(), pushed(taskWithAttempt(t, 0, 3), taskWithAttempt(t, 1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if sum.DeadLettered[string(task.ReasonRetriesExhausted)] != 1 || sum.Retried != 1 {
		t.Errorf("summary %+v", sum)
	}
	dls := decodeDeadLetters(t, r.dlq)
	if len(dls) != 1 || dls[0].DequeueCount != 3 || dls[0].Subject != instanceID(0) {
		t.Errorf("dead letters %+v", dls)
	}
	again, _ := domain.DecodeTask(r.queue.sentBodies()[0])
	if again.Attempt != 3 {
		t.Errorf("re-enqueued attempt %d, want 3", again.Attempt)
	}
}

func TestHandlePushed_SendFailuresAreErrors(t *testing.T) {
	tests := []struct {
		name    string
		result  task.Result
		breakIt func(r *rig)
	}{
		{"re-enqueue fails", task.Retry, func(r *rig) {
			r.queue.setFail(fake.QueueOpSend, func() error { return domain.Errorf(domain.KindRetryable, "send", "InternalError", "5xx") })
		}},
		{"dead-letter fails", task.DeadLetter, func(r *rig) {
			r.dlq.setFail(fake.QueueOpSend, func() error { return domain.Errorf(domain.KindPermanent, "send", "QueueNotExist", "gone") })
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, always(tc.result, "x"), worker.Options{})
			tc.breakIt(r)
			if _, err := r.w.HandlePushed(context.Background(), pushed(mustTask(t, 0))); err == nil {
				t.Error("HandlePushed succeeded, so the trigger would not deliver the task again")
			}
		})
	}
}

func TestHandlePushed_DoneSendsNothing(t *testing.T) {
	r := newRig(t, always(task.Done, "complete"), worker.Options{})
	sum, err := r.w.HandlePushed(context.Background(), pushed(mustTask(t, 0), mustTask(t, 1)))
	if err != nil || sum.Done != 2 || len(r.queue.sent()) != 0 || len(r.dlq.sent()) != 0 {
		t.Errorf("summary %+v, err %v, sent %d/%d", sum, err, len(r.queue.sent()), len(r.dlq.sent()))
	}
}

func TestNew_Validates(t *testing.T) {
	q := newTestQueue("work", fake.NewClock(time.Now()))
	if _, err := worker.New(nil, q, nil, worker.Options{}); err == nil {
		t.Error("nil queue accepted")
	}
	if _, err := worker.New(q, q, map[domain.TaskKind]task.Handler{domain.TaskOnboard: nil}, worker.Options{}); err == nil {
		t.Error("nil handler accepted")
	}
	w, _ := worker.New(q, q, nil, worker.Options{})
	if _, err := w.Drain(context.Background(), worker.DrainOptions{PollWait: time.Minute}); err == nil {
		t.Error("PollWait over 30s accepted")
	}
}

func TestHandlePushed_RetryDelayGrowsPerDelivery(t *testing.T) {
	r := newRig(t, func(_ int, tk domain.Task) task.Outcome {
		return task.RetryLater(tk.ID, 5*time.Second, domain.ReasonNotReady, "Pending")
	}, worker.Options{MaxDeliveries: 20, RetryCeiling: time.Minute})
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{{1, 5 * time.Second}, {2, 10 * time.Second}, {3, 20 * time.Second}, {4, 40 * time.Second}, {5, time.Minute}, {9, time.Minute}} {
		r.queue.resetCalls()
		if _, err := r.w.HandlePushed(context.Background(), pushed(taskWithAttempt(t, 1, tc.attempt))); err != nil {
			t.Fatal(err)
		}
		if len(r.queue.sent()) != 1 || r.queue.sent()[0].delay != tc.want {
			t.Errorf("attempt %d: re-enqueued %+v, want delay %s", tc.attempt, r.queue.sent(), tc.want)
		}
	}
}
