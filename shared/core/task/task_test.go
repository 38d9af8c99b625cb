package task_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/retry"
	"github.com/sgpilot/sgpilot/shared/core/task"
)

func TestFromError(t *testing.T) {
	opts := task.Options{Backoff: 30 * time.Second, Soon: 10 * time.Second, Refused: "join-refused"}
	destructive := task.Options{Backoff: time.Minute, Refused: task.ReasonDeleteFailed, Destructive: true}
	classified := func(k domain.Kind) error { return domain.Errorf(k, "ecs JoinSecurityGroup sg-1 for i-1", "Code", "x") }
	tests := []struct {
		name   string
		err    error
		opts   task.Options
		result task.Result
		reason task.Reason
		after  time.Duration
	}{
		{"nil is done", nil, opts, task.Done, "", 0},
		{"canceled", fmt.Errorf("describe: %w", context.Canceled), opts, task.Retry, task.ReasonCanceled, 10 * time.Second},
		{"deadline from ctx", classified(domain.KindDeadline), opts, task.Retry, task.ReasonDeadline, 10 * time.Second},
		{"retry loop stopped near the deadline", errors.Join(classified(domain.KindThrottled), retry.ErrDeadlineNear), opts, task.Retry, task.ReasonDeadline, 10 * time.Second},
		{"throttled", classified(domain.KindThrottled), opts, task.Retry, task.ReasonThrottled, 30 * time.Second},
		{"transient", classified(domain.KindRetryable), opts, task.Retry, task.ReasonTransient, 30 * time.Second},
		{"conflict", classified(domain.KindConflict), opts, task.Retry, task.ReasonChanged, 10 * time.Second},
		{"not found", classified(domain.KindNotFound), opts, task.Retry, task.ReasonChanged, 10 * time.Second},
		{"invalid", classified(domain.KindInvalid), opts, task.DeadLetter, "join-refused", 0},
		{"permanent", classified(domain.KindPermanent), opts, task.DeadLetter, "join-refused", 0},
		{"permanent, default reason", classified(domain.KindPermanent), task.Options{}, task.DeadLetter, task.ReasonRefused, 0},
		{"internal is retried", errors.New("surprise"), opts, task.Retry, task.ReasonInternal, 30 * time.Second},
		{"internal in destructive work is dead-lettered", errors.New("surprise"), destructive, task.DeadLetter, task.ReasonDeleteFailed, 0},
		{"throttled in destructive work is still retried", classified(domain.KindThrottled), destructive, task.Retry, task.ReasonThrottled, time.Minute},
		{"soon falls back to backoff", context.DeadlineExceeded, destructive, task.Retry, task.ReasonDeadline, time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := task.FromError("t-1", tc.err, tc.opts)
			if o.TaskID != "t-1" || o.Result != tc.result || o.Reason != tc.reason || o.RetryAfter != tc.after {
				t.Errorf("FromError = %+v, want %s %s after %s", o, tc.result, tc.reason, tc.after)
			}
			if tc.err != nil && !strings.Contains(o.Detail, tc.err.Error()) {
				t.Errorf("detail %q does not carry the error %q", o.Detail, tc.err)
			}
		})
	}
}

func TestOutcomeConstructors(t *testing.T) {
	tests := []struct {
		name string
		o    task.Outcome
		want task.Result
	}{
		{"succeeded", task.Succeeded("a", task.ReasonDeleted, ""), task.Done},
		{"retry later", task.RetryLater("a", time.Second, task.ReasonThrottled, ""), task.Retry},
		{"terminal", task.Terminal("a", task.ReasonInvalidTask, ""), task.DeadLetter},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.o.Result != tc.want || !tc.o.Result.Valid() || tc.o.For("b").TaskID != "b" {
				t.Errorf("outcome %+v", tc.o)
			}
		})
	}
	if task.Result(0).Valid() {
		t.Error("the zero Result is a decision")
	}
}

func TestRunAll(t *testing.T) {
	jobs := []task.Job{
		task.Known(task.Terminal("x", task.ReasonInvalidTask, "bad")),
		{TaskIDs: []string{"y"}, Run: func(context.Context) []task.Outcome { return []task.Outcome{task.Succeeded("y", "", "")} }},
	}
	out := task.RunAll(context.Background(), jobs)
	if len(out) != 2 || out[0].TaskID != "x" || out[1].TaskID != "y" {
		t.Errorf("RunAll = %+v", out)
	}
}

func TestRunAll_AfterRoundRunsLastAndReplaces(t *testing.T) {
	var order []string
	job := func(name string, after bool, outs ...task.Outcome) task.Job {
		return task.Job{TaskIDs: []string{"x", "y"}, After: after, Run: func(context.Context) []task.Outcome {
			order = append(order, name)
			return outs
		}}
	}
	jobs := []task.Job{
		job("check", true, task.RetryLater("x", 0, task.ReasonChanged, "re-plan")),
		job("write-x", false, task.Succeeded("x", "", "")),
		job("write-y", false, task.Succeeded("y", "", "")),
	}
	out := task.RunAll(context.Background(), jobs)
	if strings.Join(order, ",") != "write-x,write-y,check" {
		t.Errorf("ran %v, want the After job last", order)
	}
	if len(out) != 2 || out[0].TaskID != "x" || out[0].Result != task.Retry || out[1].TaskID != "y" || out[1].Result != task.Done {
		t.Errorf("RunAll = %+v, want x replaced by the After job's retry and y kept", out)
	}
}
