package task

import (
	"context"
	"fmt"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// Result is what should become of a task's message.
type Result int

// The zero Result is not a decision: the worker treats an Outcome carrying
// it as a retry with ReasonNoOutcome, so a forgotten field never acks a task.
const (
	// Done: the task succeeded (or has nothing left to do); ack it.
	Done Result = iota + 1
	// Retry: the task may succeed later; deliver it again after RetryAfter.
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

// Valid reports whether r is one of the three decisions.
func (r Result) Valid() bool { return r == Done || r == Retry || r == DeadLetter }

// Reason is a stable, machine-readable code for an outcome. It is the
// domain's Reason type, so the planning reasons of core/domain
// (domain.ReasonJoin, domain.ReasonInUse, ...) and the outcome reasons below
// are one set of values of one type.
type Reason = domain.Reason

// Reasons the worker gives.
const (
	ReasonInvalidTask      Reason = "invalid-task"      // the body is not a valid task
	ReasonRetriesExhausted Reason = "retries-exhausted" // delivered MaxDeliveries times and still not done
	ReasonUnsupportedKind  Reason = "unsupported-kind"  // no handler for the task's kind
	ReasonNoOutcome        Reason = "no-outcome"        // the handler returned nothing for the task
	ReasonHandlerPanic     Reason = "handler-panic"     // the handler panicked (a bug); retried
	ReasonUnspecified      Reason = "unspecified"       // a dead letter without a reason
)

// Reasons FromError gives, one per row of its table.
const (
	ReasonCanceled  Reason = "canceled"          // the invocation was canceled
	ReasonDeadline  Reason = "deadline"          // the invocation ran out of time
	ReasonThrottled Reason = "throttled"         // still throttled after the adapter's retries
	ReasonTransient Reason = "transient"         // still failing transiently after the adapter's retries
	ReasonChanged   Reason = "changed-meanwhile" // a resource changed or went away during the work; re-read next time
	ReasonInternal  Reason = "internal-error"    // an unclassified failure
	ReasonRefused   Reason = "refused"           // a lasting refusal (Options.Refused overrides it)
)

// Reasons of onboarding outcomes, besides the domain's planning reasons.
const (
	ReasonECSRefused   Reason = "ecs-refused"         // a lookup was refused (permissions, invalid request)
	ReasonJoinRefused  Reason = "join-refused"        // ECS refused the join for a lasting reason
	ReasonCreateFailed Reason = "create-group-failed" // creating a missing role group was refused
)

// Reasons of delete-group outcomes, besides domain.ReasonInUse and
// domain.ReasonProtected (ECS refused the delete) and the reasons of the
// re-check that keeps a group.
const (
	ReasonDeleted       Reason = "deleted"        // the group was deleted
	ReasonAlreadyGone   Reason = "already-gone"   // the group no longer exists
	ReasonRecheckFailed Reason = "recheck-failed" // the pre-delete reads failed
	ReasonDeleteFailed  Reason = "delete-failed"  // DeleteSecurityGroup failed for good
)

// Outcome is a handler's verdict for one task, matched to it by TaskID.
type Outcome struct {
	TaskID string `json:"taskId"`
	Result Result `json:"result"`
	Reason Reason `json:"reason,omitempty"`
	// Detail is a sentence for operators; it ends up in the DLQ record.
	Detail string `json:"detail,omitempty"`
	// RetryAfter is how long a Retry should wait; 0 means the worker's default.
	RetryAfter time.Duration `json:"retryAfter,omitempty"`
}

// Succeeded builds a Done outcome.
func Succeeded(taskID string, reason Reason, detail string) Outcome {
	return Outcome{TaskID: taskID, Result: Done, Reason: reason, Detail: detail}
}

// RetryLater builds a Retry outcome.
func RetryLater(taskID string, after time.Duration, reason Reason, detail string) Outcome {
	return Outcome{TaskID: taskID, Result: Retry, Reason: reason, Detail: detail, RetryAfter: after}
}

// Terminal builds a DeadLetter outcome.
func Terminal(taskID string, reason Reason, detail string) Outcome {
	return Outcome{TaskID: taskID, Result: DeadLetter, Reason: reason, Detail: detail}
}

// For returns o for another task (tasks that share one decision).
func (o Outcome) For(taskID string) Outcome {
	o.TaskID = taskID
	return o
}

// Job is one independent piece of a batch: the tasks it decides and the
// work that decides them. Run returns an Outcome per task in TaskIDs
// (matched by TaskID); it may run concurrently with the batch's other jobs.
type Job struct {
	TaskIDs []string
	Run     func(ctx context.Context) []Outcome
	// After puts the job in the batch's second round: it runs once every
	// job without After has returned, so it can check the first round's
	// writes with shared reads (the onboarder verifies the instances it
	// wrote). Its outcomes replace the first round's for the tasks it
	// returns; a task it names but returns nothing for keeps its first
	// outcome, and a panic retries every task it names.
	After bool
}

// Rounds splits jobs into the first round and the After round, each in
// the order given.
func Rounds(jobs []Job) (first, after []Job) {
	for _, j := range jobs {
		if j.After {
			after = append(after, j)
		} else {
			first = append(first, j)
		}
	}
	return first, after
}

// Known is a job whose outcomes are already decided (an invalid task, a
// shared lookup that failed): it does no work.
func Known(outcomes ...Outcome) Job {
	ids := make([]string, len(outcomes))
	for i, o := range outcomes {
		ids[i] = o.TaskID
	}
	return Job{TaskIDs: ids, Run: func(context.Context) []Outcome { return outcomes }}
}

// Handler runs a batch of tasks of one kind.
//
// Handle does the lookups the batch shares and returns jobs that together
// name every distinct TaskID of tasks; a task no job names, or no job
// decides, is retried (ReasonNoOutcome), never acknowledged. The tasks of
// one call have distinct IDs. Handle and the jobs must respect ctx's
// deadline, which the worker sets early enough to settle the outcomes
// afterwards, and must be idempotent: the same task can arrive again after a
// crash or a lost acknowledgement. Handle is called from one goroutine at a
// time; the jobs run concurrently, so the state they share must be safe for
// that. Neither starts goroutines: the worker's recovery covers only its own.
type Handler interface {
	Handle(ctx context.Context, tasks []domain.Task) []Job
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, tasks []domain.Task) []Job

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, tasks []domain.Task) []Job { return f(ctx, tasks) }

// RunAll runs jobs one after the other, the After round last, without the
// worker's panic recovery, and returns one outcome per task in the order
// tasks were first decided (an After job's outcome replaces the earlier
// one): for tests and tools that want a handler's verdicts without a queue.
func RunAll(ctx context.Context, jobs []Job) []Outcome {
	var out []Outcome
	at := map[string]int{}
	first, after := Rounds(jobs)
	for _, j := range append(first, after...) {
		if j.Run == nil {
			continue
		}
		for _, o := range j.Run(ctx) {
			if i, ok := at[o.TaskID]; ok {
				out[i] = o
				continue
			}
			at[o.TaskID] = len(out)
			out = append(out, o)
		}
	}
	return out
}
