package domain

import (
	"context"
	"errors"
	"fmt"
)

// Kind classifies an error by what the caller should do about it.
type Kind int

const (
	// KindInternal: a bug or an unknown failure; not retried blindly.
	KindInternal Kind = iota
	// KindInvalid: the input is malformed; retrying cannot help.
	KindInvalid
	// KindNotFound: the resource does not exist (any more).
	KindNotFound
	// KindConflict: the resource is in a state that forbids the change now
	// (already a member, still in use, concurrent change).
	KindConflict
	// KindThrottled: the provider asked us to slow down; retry after a back-off.
	KindThrottled
	// KindRetryable: a transient failure (5xx, network); retry with back-off.
	KindRetryable
	// KindPermanent: a well-understood refusal that will not change by
	// retrying (limit exceeded, VPC mismatch, permission denied).
	KindPermanent
	// KindCanceled: the caller gave up (context.Canceled); not retried in
	// the same call, the work may be tried again later.
	KindCanceled
	// KindDeadline: the time ran out (context.DeadlineExceeded, or a retry
	// loop that stopped because its next back-off would not fit); not
	// retried in the same call, the work may be tried again later.
	KindDeadline
)

var kindNames = [...]string{"internal", "invalid", "not-found", "conflict", "throttled", "retryable", "permanent", "canceled", "deadline"}

func (k Kind) String() string {
	if int(k) >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Sentinels, one per kind, so that errors.Is(err, domain.ErrThrottled) works
// on any *Error of that kind however deeply it is wrapped.
var (
	ErrInternal  = errors.New("internal")
	ErrInvalid   = errors.New("invalid")
	ErrNotFound  = errors.New("not found")
	ErrConflict  = errors.New("conflict")
	ErrThrottled = errors.New("throttled")
	ErrRetryable = errors.New("retryable")
	ErrPermanent = errors.New("permanent")
	ErrCanceled  = errors.New("canceled")
	ErrDeadline  = errors.New("deadline")
)

var sentinels = [...]error{ErrInternal, ErrInvalid, ErrNotFound, ErrConflict, ErrThrottled, ErrRetryable, ErrPermanent, ErrCanceled, ErrDeadline}

// Error is a classified error: what failed (Op), why in the provider's own
// words (Code, e.g. "Throttling.User" or "QueueNotExist"), and how to treat it.
type Error struct {
	Kind Kind
	Op   string // e.g. "ecs JoinSecurityGroup sg-1 for i-1"
	Code string // provider error code, "" when not from a provider
	Err  error  // underlying error, may be nil
}

func (e *Error) Error() string {
	msg := e.Op
	if e.Code != "" {
		msg += " [" + e.Code + "]"
	}
	if e.Err != nil {
		if msg != "" {
			msg += ": "
		}
		msg += e.Err.Error()
	}
	if msg == "" {
		msg = e.Kind.String()
	}
	return msg
}

// Unwrap exposes both the kind sentinel and the underlying error.
func (e *Error) Unwrap() []error {
	out := []error{sentinelOf(e.Kind)}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

func sentinelOf(k Kind) error {
	if int(k) >= 0 && int(k) < len(sentinels) {
		return sentinels[k]
	}
	return ErrInternal
}

// Errorf builds a classified error with a formatted cause.
func Errorf(kind Kind, op, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Op: op, Code: code, Err: fmt.Errorf(format, args...)}
}

// Wrap classifies err under op. A nil err gives nil.
func Wrap(kind Kind, op, code string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: kind, Op: op, Code: code, Err: err}
}

// KindOf says what kind of failure err is. Like go-cloud's gcerrors.Code,
// it first looks for the end of a context anywhere in err's chain:
// context.Canceled is KindCanceled and context.DeadlineExceeded is
// KindDeadline, whatever an adapter wrapped them in, because the reason the
// call stopped decides what to do next. Otherwise it is the kind of the
// outermost *Error in the chain; errors that were never classified are
// KindInternal.
func KindOf(err error) Kind {
	if err == nil {
		return KindInternal
	}
	switch {
	case errors.Is(err, context.Canceled):
		return KindCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return KindDeadline
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// CodeOf returns the provider code of the outermost *Error in err's chain.
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// IsRetryable reports whether retrying err after a back-off, within the same
// call, may succeed. Canceled and deadline errors are not: the time is up.
func IsRetryable(err error) bool {
	k := KindOf(err)
	return k == KindRetryable || k == KindThrottled
}
