package task

import (
	"fmt"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// Options shape FromError for one kind of work.
type Options struct {
	// Backoff is the wait of a retry after throttling, transient or
	// unclassified failures: the cloud needs time. 0 means the worker's
	// default.
	Backoff time.Duration
	// Soon is the wait of a retry when nothing is wrong with the cloud: the
	// time ran out, or a resource changed during the work. 0 means Backoff.
	Soon time.Duration
	// Refused is the reason of a dead letter for a lasting refusal
	// (KindInvalid, KindPermanent); "" means ReasonRefused.
	Refused Reason
	// Destructive work (a delete) is dead-lettered, not retried, on an
	// internal error: repeating a destructive call whose failure nobody
	// understands is not safe.
	Destructive bool
}

// rule is one row of the table: what a kind of error becomes.
type rule struct {
	result Result
	reason Reason
	soon   bool // wait Options.Soon rather than Options.Backoff
}

// table is the one place where an error kind becomes an outcome.
var table = map[domain.Kind]rule{
	domain.KindCanceled:  {Retry, ReasonCanceled, true},
	domain.KindDeadline:  {Retry, ReasonDeadline, true},
	domain.KindThrottled: {Retry, ReasonThrottled, false},
	domain.KindRetryable: {Retry, ReasonTransient, false},
	// A concurrent change or a resource that went away during the work:
	// the next delivery re-reads the cloud and decides afresh.
	domain.KindConflict:  {Retry, ReasonChanged, true},
	domain.KindNotFound:  {Retry, ReasonChanged, true},
	domain.KindInvalid:   {DeadLetter, ReasonRefused, false},
	domain.KindPermanent: {DeadLetter, ReasonRefused, false},
	domain.KindInternal:  {Retry, ReasonInternal, false},
}

// FromError turns an error that survived the adapter's retries into the
// outcome of taskID, by err's kind (see the package doc). The detail is
// err's text; a dead letter also names the kind. A nil err is Done.
func FromError(taskID string, err error, o Options) Outcome {
	if err == nil {
		return Succeeded(taskID, "", "")
	}
	k := domain.KindOf(err)
	r, ok := table[k]
	if !ok {
		r = table[domain.KindInternal]
	}
	if k == domain.KindInternal && o.Destructive {
		r = rule{result: DeadLetter, reason: ReasonRefused}
	}
	switch r.result {
	case DeadLetter:
		reason := r.reason
		if reason == ReasonRefused && o.Refused != "" {
			reason = o.Refused
		}
		return Terminal(taskID, reason, fmt.Sprintf("%v (%s)", err, k))
	default:
		after := o.Backoff
		if r.soon && o.Soon > 0 {
			after = o.Soon
		}
		return RetryLater(taskID, after, r.reason, err.Error())
	}
}
