package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// Result is what should become of a task's message.
type Result int

// The zero Result is not a decision: an Outcome carrying it is treated as a
// retry with reason "no-outcome", so a forgotten field can never ack a task.
const (
	// Done: the task succeeded (or has nothing left to do); ack it.
	Done Result = iota + 1
	// Retry: the task may succeed later; leave it on the queue for RetryAfter.
	Retry
	// DeadLetter: the task cannot succeed; record it on the DLQ with Reason.
	DeadLetter
)

var resultNames = map[Result]string{Done: "done", Retry: "retry", DeadLetter: "dead-letter"}

func (r Result) String() string {
	if s, ok := resultNames[r]; ok {
		return s
	}
	return fmt.Sprintf("result(%d)", int(r))
}

// MarshalText writes the result's name, so outcomes log and serialise readably.
func (r Result) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// Outcome is a handler's verdict for one task, matched to it by TaskID.
type Outcome struct {
	TaskID string `json:"taskId"`
	Result Result `json:"result"`
	// Reason is a stable, machine-readable code (domain.Reason values and
	// the worker's own Reason* constants).
	Reason string `json:"reason,omitempty"`
	// Detail is a sentence for operators; it ends up in the DLQ record.
	Detail string `json:"detail,omitempty"`
	// RetryAfter is how long a Retry should wait; 0 means Options.RetryDelay.
	RetryAfter time.Duration `json:"retryAfter,omitempty"`
}

// Succeeded builds a Done outcome.
func Succeeded(taskID, reason, detail string) Outcome {
	return Outcome{TaskID: taskID, Result: Done, Reason: reason, Detail: detail}
}

// RetryLater builds a Retry outcome.
func RetryLater(taskID string, after time.Duration, reason, detail string) Outcome {
	return Outcome{TaskID: taskID, Result: Retry, Reason: reason, Detail: detail, RetryAfter: after}
}

// Terminal builds a DeadLetter outcome.
func Terminal(taskID, reason, detail string) Outcome {
	return Outcome{TaskID: taskID, Result: DeadLetter, Reason: reason, Detail: detail}
}

// Handler runs a batch of tasks of one kind.
//
// Handle must return one Outcome per distinct TaskID in tasks; a task left
// without an Outcome is retried (reason "no-outcome"), never acknowledged.
// The tasks of one call have distinct IDs. Handle must respect ctx's
// deadline, which the worker sets early enough to settle the outcomes
// afterwards, and must be idempotent: the same task can arrive again after a
// crash or a lost acknowledgement. It is called from one goroutine at a time.
type Handler interface {
	Handle(ctx context.Context, tasks []domain.Task) []Outcome
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, tasks []domain.Task) []Outcome

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, tasks []domain.Task) []Outcome { return f(ctx, tasks) }

// Reasons the worker itself gives.
const (
	ReasonInvalidTask      = "invalid-task"      // the body is not a valid task
	ReasonRetriesExhausted = "retries-exhausted" // delivered MaxDeliveries times and still not done
	ReasonUnsupportedKind  = "unsupported-kind"  // no handler is configured for the task's kind
	ReasonNoOutcome        = "no-outcome"        // the handler returned nothing for the task
	ReasonHandlerPanic     = "handler-panic"     // the handler panicked (a bug); retried
)

// Summary counts what one Drain or HandlePushed call did. It is meant for the
// function's response and for a log line.
//
// Received = Done + Retried + the sum of DeadLettered + DeadLetterFailed.
// Invalid tasks are also counted in DeadLettered["invalid-task"] (or in
// DeadLetterFailed).
type Summary struct {
	Received     int            `json:"received"`
	Done         int            `json:"done"`
	Retried      int            `json:"retried"`
	DeadLettered map[string]int `json:"deadLettered"`
	Invalid      int            `json:"invalid"`
	// DeadLetterFailed counts tasks whose DLQ record could not be sent;
	// their messages were left on the queue (drain) or the error returned
	// (push), so they come back.
	DeadLetterFailed int `json:"deadLetterFailed,omitempty"`
	// DeleteErrors counts failed delete calls (usually a stale receipt
	// handle: the message was redelivered meanwhile and will be handled again).
	DeleteErrors int `json:"deleteErrors,omitempty"`
	// RetryErrors counts retries whose visibility change or re-enqueue failed.
	RetryErrors int           `json:"retryErrors,omitempty"`
	Batches     int           `json:"batches"`
	Duration    time.Duration `json:"-"`
	// Stopped says why Drain returned: "idle", "deadline", "canceled" or
	// "error"; empty for push mode.
	Stopped string `json:"stopped,omitempty"`
}

// MarshalJSON adds the duration as milliseconds and as text.
func (s Summary) MarshalJSON() ([]byte, error) {
	type plain Summary
	return json.Marshal(struct {
		plain
		DurationMS int64  `json:"durationMs"`
		DurationS  string `json:"duration"`
	}{plain(s), s.Duration.Milliseconds(), s.Duration.String()})
}

// DeadLetteredTotal is the sum of DeadLettered.
func (s Summary) DeadLetteredTotal() int {
	n := 0
	for _, c := range s.DeadLettered {
		n += c
	}
	return n
}

func (s *Summary) addDeadLettered(reason string) {
	if s.DeadLettered == nil {
		s.DeadLettered = map[string]int{}
	}
	s.DeadLettered[reason]++
}

func (s *Summary) add(o Summary) {
	s.Received += o.Received
	s.Done += o.Done
	s.Retried += o.Retried
	s.Invalid += o.Invalid
	s.DeadLetterFailed += o.DeadLetterFailed
	s.DeleteErrors += o.DeleteErrors
	s.RetryErrors += o.RetryErrors
	s.Batches += o.Batches
	for r, n := range o.DeadLettered {
		if s.DeadLettered == nil {
			s.DeadLettered = map[string]int{}
		}
		s.DeadLettered[r] += n
	}
}
