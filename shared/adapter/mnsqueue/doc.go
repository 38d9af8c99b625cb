// Package mnsqueue is sgpilot's adapter to an Alibaba Cloud MNS queue, and
// the only package that imports github.com/aliyun/aliyun-mns-go-sdk.
//
// A *Queue satisfies the Queue contract of docs/CONTRACTS.md (SendTasks,
// SendBodies, Receive, Delete, ChangeVisibility) implicitly; use cases
// declare the small interfaces they need. EnsureQueue creates the queue for
// setup and the demo.
//
// # Delivery guarantees
//
// MNS delivers at least once and in no fixed order. A received message is
// invisible for the queue's visibility timeout and comes back, with a
// higher DequeueCount and a new receipt handle, unless it is deleted first.
// Only the newest receipt handle of a message is valid, and only until the
// message becomes visible again; a stale one fails with KindConflict, which
// means "the message will be delivered again", never "it is lost".
//
// # Errors
//
// Every error is a *domain.Error whose Code is the MNS code
// (QpsLimitExceeded, QueueNotExist, ReceiptHandleError, ...) or, for
// failures that never got an MNS answer, a pseudo-code (Transport,
// BadErrorBody, ...); the end of ctx has no code. One table in errors.go maps codes to kinds:
// throttling → KindThrottled; InternalError, transport failures and
// non-MNS error pages (gateways) → KindRetryable; QueueNotExist →
// KindNotFound; ReceiptHandleError → KindConflict; InvalidArgument,
// MalformedXML and other request errors → KindInvalid; authentication
// errors → KindPermanent; unknown codes → KindInternal.
//
// Throttled and retryable failures are retried inside each method with
// shared/core/retry, and for batches only the failed messages are resent. A
// batch with per-item failures returns one error whose kind is the worst
// item kind and which wraps a *domain.Error per failed item, its Op naming
// the item ("task <ID>", "body #<i>", "receipt handle <h>").
//
// # Contexts
//
// The SDK takes no context. Each call runs in its own goroutine and the
// method returns as soon as ctx ends (KindCanceled or KindDeadline, as
// domain.KindOf reads the context's error, and not retried); the
// abandoned request finishes in the background within the request timeout.
// Long polls are shortened to end before ctx's deadline.
//
// # Reaching localcloud
//
// The SDK panics unless the endpoint host has exactly five labels, so an
// emulator at 127.0.0.1 cannot be named directly. Keep a five-label
// Endpoint and set Config.DialAddress to the emulator's host:port: a
// fasthttp transport then sends every request there. New validates the
// endpoint first and returns an error instead of letting the SDK panic.
package mnsqueue
