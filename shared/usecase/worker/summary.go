package worker

import (
	"encoding/json"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/task"
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
	// DeadLetterMinimal counts dead letters whose full record was refused
	// and whose minimal record (ID, reason, task ID, body hash) was sent;
	// they are counted in DeadLettered too.
	DeadLetterMinimal int `json:"deadLetterMinimal,omitempty"`
	// DeleteErrors counts failed delete calls (usually a stale receipt
	// handle: the message was redelivered meanwhile and will be handled again).
	DeleteErrors int `json:"deleteErrors,omitempty"`
	// RetryErrors counts retries whose visibility change or re-enqueue failed.
	RetryErrors int `json:"retryErrors,omitempty"`
	Batches     int `json:"batches"`
	// Panicked says a handler panicked (a bug). Its tasks were settled as
	// ReasonHandlerPanic retries like any other outcome, but the process
	// may be in a bad state: the function must not be reused and should
	// exit once it has responded (see the app's queue-worker).
	Panicked bool          `json:"panicked,omitempty"`
	Duration time.Duration `json:"-"`
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

func (s *Summary) addDeadLettered(reason task.Reason) {
	if s.DeadLettered == nil {
		s.DeadLettered = map[string]int{}
	}
	s.DeadLettered[string(reason)]++
}

func (s *Summary) add(o Summary) {
	s.Received += o.Received
	s.Done += o.Done
	s.Retried += o.Retried
	s.Invalid += o.Invalid
	s.DeadLetterFailed += o.DeadLetterFailed
	s.DeadLetterMinimal += o.DeadLetterMinimal
	s.DeleteErrors += o.DeleteErrors
	s.RetryErrors += o.RetryErrors
	s.Batches += o.Batches
	s.Panicked = s.Panicked || o.Panicked
	for r, n := range o.DeadLettered {
		if s.DeadLettered == nil {
			s.DeadLettered = map[string]int{}
		}
		s.DeadLettered[r] += n
	}
}
