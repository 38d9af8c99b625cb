// Package worker is the queue-worker's single decision point: it receives
// tasks, hands them to the task.Handler for their kind, runs the jobs the
// handler returns, and turns each task.Outcome into exactly one of three
// queue actions: acknowledge (delete), retry later, or dead-letter with a
// reason. Nothing below this package deletes, re-enqueues or dead-letters a
// message on its own, and nothing in it retries a queue call: the queue
// adapter did that already.
//
// # Modes
//
// Drain mode (Worker.Drain) pulls from the work queue itself: long-poll
// receives gathered into batches across messages, visibility heartbeats for
// slow batches, and a stop before the function's deadline. Push mode
// (Worker.HandlePushed) serves the FC MNS queue trigger, which has already
// consumed and deleted the messages: a retry is a re-enqueue of the task with
// Attempt+1, and a failed re-enqueue or dead-letter send is returned as an
// error so that the trigger delivers the whole batch again. Both modes
// settle a batch through one function (settle), which differs only in its
// acker: drain changes visibility and deletes, push re-enqueues.
//
// # Jobs and panics
//
// A handler returns its batch as task.Jobs; the worker runs them, at most
// Options.Concurrency at once, each under its own panic recovery. A panic
// (in Handle or in a job) gives the affected tasks a ReasonHandlerPanic
// retry, settled like any other outcome, and sets Summary.Panicked: the
// function must then exit after responding instead of serving another
// invocation from a process a bug may have left inconsistent.
//
// # Delivery guarantee
//
// Every received task ends in one of three states: done (deleted after the
// handler succeeded), retried (still on the queue, or re-enqueued, to come
// back later), or dead-lettered with a reason. A message is deleted only after
// its outcome is durable: after success, or after its dead-letter record was
// accepted by the dead-letter queue. Deliveries are at least once, so a task
// may run more than once; handlers must be idempotent (tasks are hints that
// are re-checked against the cloud, see domain.Task).
//
// # Dead letters
//
// A dead-letter record (shared/core/deadletter) holds a bounded prefix of
// the original body with its length and SHA-256, so it always fits in one
// MNS message, and an ID derived from the original message's ID and body,
// so that writing it twice (a push delivered again, a delete that failed
// after the send) yields the same ID. Records go 16 per call; when a call
// fails, the records it did not take are sent one by one, and a record
// that still fails goes in its minimal form. Only a record that cannot be
// sent even so leaves its task unsettled.
//
// In push mode each message is decoded on its own (see PushedMessage.Err):
// a malformed one is dead-lettered alone and the batch goes on.
//
// # Attempts
//
// In drain mode the queue's DequeueCount counts deliveries; in push mode the
// task's Attempt field does. A task whose count has reached
// Options.MaxDeliveries and whose handler still says Retry is dead-lettered
// as "retries-exhausted"; a message delivered more often than that (say,
// because it crashes the worker each time) is dead-lettered without running
// the handler again.
//
// A retry waits the outcome's RetryAfter (or Options.RetryDelay) after the
// first delivery and twice as long after each further one, up to
// Options.RetryCeiling: with sgpilot's defaults (5 s, 10 deliveries, 5 min)
// a task is retried over about twenty minutes before it is given up, rather
// than within its first minute.
package worker
