// Package task is the vocabulary of task outcomes shared by the queue
// worker and the handlers it runs: what became of a task (Outcome, Result),
// why (one typed set of Reasons), the Handler contract, and the one policy
// that turns a classified error into an outcome (FromError).
//
// # Handlers and jobs
//
// A Handler gets a batch of tasks of one kind, does the lookups the batch
// can share, and returns Jobs: independent pieces of work, each naming the
// tasks it decides. The worker runs the jobs, several at once, and recovers
// a panic in any of them: the tasks of a job that panicked get a
// ReasonHandlerPanic outcome, the others keep theirs. Handlers therefore
// start no goroutines of their own.
//
// # From errors to outcomes
//
// FromError reads domain.KindOf(err) through one table: the time ran out
// (canceled, deadline), throttled, transient, conflict or not found → retry
// later; invalid or permanent → dead-letter; internal (unknown) → retry,
// unless the work is destructive (Options.Destructive), where an error
// nobody understands must not be repeated blindly → dead-letter. Handlers
// check their domain sentinels (ErrAlreadyMember, ErrInUse, ...) first and
// hand the rest to FromError.
//
// The package imports only the standard library and core/domain.
package task
