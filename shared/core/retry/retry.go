// Package retry is sgpilot's single retry loop: jittered exponential back-off
// that gives up early rather than run past the caller's deadline (the FC
// function deadline, carried by ctx).
package retry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Policy says how often and how patiently to retry.
type Policy struct {
	MaxAttempts int           // total attempts including the first; <1 means 1
	BaseDelay   time.Duration // first back-off before jitter
	MaxDelay    time.Duration // cap of one back-off
	// DeadlineMargin: do not start a back-off that would end later than
	// ctx's deadline minus this margin (time to report and clean up).
	DeadlineMargin time.Duration
	// Sleep waits d or until ctx ends; nil means a real timer. Tests inject
	// a fake to run instantly.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now reads the clock for deadline arithmetic; nil means time.Now.
	Now func() time.Time
	// Jitter returns a number in [0,1); nil means math/rand.
	Jitter func() float64
}

// Default policy values: a handful of tries within a few seconds, which
// covers provider throttling windows of one second without hogging a worker.
const (
	DefaultMaxAttempts    = 6
	DefaultBaseDelay      = 200 * time.Millisecond
	DefaultMaxDelay       = 5 * time.Second
	DefaultDeadlineMargin = 2 * time.Second
)

// Default returns the documented default policy.
func Default() Policy {
	return Policy{MaxAttempts: DefaultMaxAttempts, BaseDelay: DefaultBaseDelay, MaxDelay: DefaultMaxDelay, DeadlineMargin: DefaultDeadlineMargin}
}

// ErrDeadlineNear is joined to the last error when Do stops because the next
// back-off would not fit before ctx's deadline. It wraps
// context.DeadlineExceeded, so domain.KindOf reads it as KindDeadline: the
// call ran out of time, exactly as if ctx had expired.
var ErrDeadlineNear error = deadlineNear{}

// deadlineNear is ErrDeadlineNear's type: a plain value, so that the
// package needs no formatting at init (part of the functions' cold start).
type deadlineNear struct{}

func (deadlineNear) Error() string {
	return "retry: deadline too near for another attempt: " + context.DeadlineExceeded.Error()
}
func (deadlineNear) Unwrap() error { return context.DeadlineExceeded }

// Backoff returns the delay before retry number n (n ≥ 1): "full jitter"
// exponential back-off, uniformly drawn in [base·2^(n-1)/2, base·2^(n-1)]
// and capped at MaxDelay, so simultaneous callers spread out.
func (p Policy) Backoff(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := p.BaseDelay
	if d <= 0 {
		d = DefaultBaseDelay
	}
	for i := 1; i < n && d < p.maxDelay(); i++ {
		d *= 2
	}
	if d > p.maxDelay() {
		d = p.maxDelay()
	}
	j := p.jitter()
	return d/2 + time.Duration(j*float64(d/2))
}

func (p Policy) maxDelay() time.Duration {
	if p.MaxDelay <= 0 {
		return DefaultMaxDelay
	}
	return p.MaxDelay
}

func (p Policy) jitter() float64 {
	if p.Jitter != nil {
		return p.Jitter()
	}
	return rand.Float64()
}

// Do calls f until it succeeds, returns an error isRetryable rejects, the
// attempts run out, or the deadline draws near. The returned error is f's
// last error, joined with ctx's error or ErrDeadlineNear when those stopped
// the loop, so callers see both why it failed and why it stopped.
func Do(ctx context.Context, p Policy, isRetryable func(error) bool, f func(context.Context) error) error {
	attempts := p.MaxAttempts
	if attempts < 1 {
		attempts = 1
	}
	sleep := p.Sleep
	if sleep == nil {
		sleep = Sleep
	}
	now := p.Now
	if now == nil {
		now = time.Now
	}
	var last error
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			if last == nil {
				return err
			}
			return errors.Join(last, err)
		}
		last = f(ctx)
		if last == nil || !isRetryable(last) || attempt >= attempts {
			return last
		}
		wait := p.Backoff(attempt)
		if dl, ok := ctx.Deadline(); ok && now().Add(wait+p.DeadlineMargin).After(dl) {
			return errors.Join(last, fmt.Errorf("%w (after %d attempts)", ErrDeadlineNear, attempt))
		}
		if err := sleep(ctx, wait); err != nil {
			return errors.Join(last, err)
		}
	}
}

// Sleep waits d or until ctx ends, whichever comes first, and returns ctx's
// error in the second case. It is the real-clock sleep every Sleep option in
// sgpilot defaults to.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
