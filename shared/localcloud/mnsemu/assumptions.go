package mnsemu

import (
	"net/http"
	"time"
)

// This file gathers every behaviour the reference material marks as
// unconfirmed (alibaba-reference.md §6, §9). Each choice is the most plausible
// one; changing a line here is all it takes to follow better evidence.

// Statuses of errors whose status the documentation does not settle.
const (
	// statusTimeExpired: a Date header outside the skew window. Unconfirmed;
	// 403 because the service groups it with the other authentication errors.
	statusTimeExpired = http.StatusForbidden
	// statusQPSLimitExceeded: throttling. Unconfirmed; the error-code table
	// lists 403, and the SDK does not look at the status anyway.
	statusQPSLimitExceeded = http.StatusForbidden
	// statusSignatureMismatch: 403 is documented for AccessDenied and
	// InvalidAccessKeyId and assumed for SignatureDoesNotMatch.
	statusSignatureMismatch = http.StatusForbidden
	// statusBatchSendPartial: a BatchSendMessage where at least one entry
	// failed. Unconfirmed (from memory); the SDK decodes the <Messages> body
	// for any non-2xx status, so only "not 2xx" matters to it.
	statusBatchSendPartial = http.StatusInternalServerError
	// statusBatchDeletePartial: a BatchDeleteMessage where at least one
	// handle failed. Unconfirmed; same remark as above.
	statusBatchDeletePartial = http.StatusNotFound
)

// Limits the documentation gives in two versions, or not at all.
const (
	// maxRetentionSeconds: current docs say 7 days, older docs (and the SDK's
	// own pre-check) 15 days. The emulator follows the current docs.
	maxRetentionSeconds = 604800
	// maxQueueNameLength: current docs say 120, older docs and the SDK 256.
	maxQueueNameLength = 120
	// maxBatchSendBytes: total body bytes of one BatchSendMessage. Believed to
	// be 64 KiB; unconfirmed. Exceeding it fails the whole request with
	// InvalidArgument.
	maxBatchSendBytes = 65536
	// defaultDateSkew: how far the Date header may be from the server's wall
	// clock before TimeExpired. MNS documentation says 15 minutes; the exact
	// window is unconfirmed.
	defaultDateSkew = 15 * time.Minute
)

// defaultPriority is what Priority 0 (the SDK's zero value, always sent)
// means. The documented range is 1..16 with default 8; the service's handling
// of an explicit 0 is unconfirmed, so 0 is read as "unset".
const defaultPriority = 8

// effectiveDelay returns the delay of a message. The SDK always sends
// <DelaySeconds>, 0 when the caller set nothing. The documentation says a
// per-message value overrides the queue's; whether an explicit 0 does is
// unconfirmed. The emulator follows the words: a present element (even 0)
// wins, and only an absent element falls back to the queue's DelaySeconds.
func effectiveDelay(msgDelay *int64, queueDelay int) int64 {
	if msgDelay != nil {
		return *msgDelay
	}
	return int64(queueDelay)
}

// errOversizeBody is the answer to a message body longer than the queue's
// MaximumMessageSize. The SDK's code map has no MessageBodyTooLarge, so the
// emulator answers InvalidArgument (unconfirmed). An empty body is refused
// the same way (also unconfirmed: the service documents MessageBody as
// required).
func errOversizeBody(size, limit int) *Error {
	return errInvalidArgument("The length of MessageBody should between 1 and %d bytes, got %d.", limit, size)
}

// errCredentials maps a core.Credentials lookup failure. An unknown key is
// InvalidAccessKeyId (documented); problems with an STS security token
// (missing, wrong, expired) have no documented code of their own in the SDK
// map, so they become AccessDenied (unconfirmed).
func errCredentials(unknownKey bool, reason string) *Error {
	if unknownKey {
		return newError(http.StatusForbidden, CodeInvalidAccessKeyID, "The access Id you provided is not exist.")
	}
	return newError(http.StatusForbidden, CodeAccessDenied, "The security token is not valid for this access Id: %s.", reason)
}

// Other choices, recorded here so that they are easy to find:
//
//   - The Date header is compared with the host's wall clock, not with the
//     emulated clock: the SDK stamps requests with time.Now(), while tests
//     jump the emulated clock by hours to expire visibility and retention.
//   - DeleteQueue, like every other operation, answers 404 QueueNotExist for
//     a missing queue.
//   - Re-creating a just-deleted queue succeeds at once: QueueDeletedRecently
//     is not modelled.
//   - A queue name starts with a letter or a digit (newer docs allow digits).
//   - ListQueue's NextMarker is the name of the first queue not returned, and
//     a marker is inclusive. The real marker is opaque; clients only echo it.
//   - A receipt handle is valid only while its message is inactive, i.e.
//     until NextVisibleTime (documented), and only the newest one is.
//   - Peeked messages carry no ReceiptHandle element.
//   - A ReceiveMessage with no messages returns 404 MessageNotExist after the
//     wait; there is no limit on concurrent long polls, so the "too many long
//     polls, answer at once" behaviour is not modelled.
