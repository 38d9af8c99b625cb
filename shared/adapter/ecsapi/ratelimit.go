package ecsapi

import (
	"context"
	"sync"
	"time"
)

// bucket is a token bucket of one action: rate tokens per second, at most one
// token banked, so calls are spaced evenly, at 1/rate plus spacingMargin.
// Callers reserve a slot first and sleep after, so concurrent callers queue
// up in order.
type bucket struct {
	mu       sync.Mutex
	interval time.Duration // 1/rate
	next     time.Time     // earliest start of the next call
}

// spacingMargin widens the spacing of calls beyond 1/rate. A provider that
// enforces the same rate with a burst of one refuses a call that arrives
// even a millisecond early, and calls spaced exactly 1/rate apart at the
// client do arrive early whenever the previous one was delayed a little
// more on its way (timer wake-up, scheduling, the network): at 20/s with 8
// joins in flight about a quarter of them drew Throttling, each costing a
// retried call and a back-off. 5% (2.5 ms at 20/s) absorbs that jitter.
const spacingMargin = 0.05

func newBucket(rate float64) *bucket {
	return &bucket{interval: time.Duration(float64(time.Second) * (1 + spacingMargin) / rate)}
}

// wait blocks until the caller may make its call or ctx ends. A caller that
// gives up returns its slot only if nobody has queued behind it.
func (b *bucket) wait(ctx context.Context, now func() time.Time, sleep func(context.Context, time.Duration) error) error {
	b.mu.Lock()
	t := now()
	start := b.next
	if start.Before(t) {
		start = t
	}
	b.next = start.Add(b.interval)
	b.mu.Unlock()

	d := start.Sub(t)
	if d <= 0 {
		return ctx.Err()
	}
	if err := sleep(ctx, d); err != nil {
		b.mu.Lock()
		if b.next.Equal(start.Add(b.interval)) {
			b.next = start
		}
		b.mu.Unlock()
		return err
	}
	return nil
}

// limiter holds one bucket per action with a non-zero rate.
type limiter struct {
	buckets map[string]*bucket // read-only after construction
	deflt   float64
	mu      sync.Mutex
	dyn     map[string]*bucket // actions without an explicit rate, created on first use
}

func newLimiter(deflt float64, perAction map[string]float64) *limiter {
	l := &limiter{buckets: map[string]*bucket{}, deflt: deflt, dyn: map[string]*bucket{}}
	for action, r := range perAction {
		if r > 0 {
			l.buckets[action] = newBucket(r)
		} else {
			l.buckets[action] = nil // explicitly unlimited
		}
	}
	return l
}

func (l *limiter) bucketFor(action string) *bucket {
	if b, ok := l.buckets[action]; ok {
		return b
	}
	if l.deflt <= 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.dyn[action]
	if b == nil {
		b = newBucket(l.deflt)
		l.dyn[action] = b
	}
	return b
}

// RateLimiter is a client-side limit that outlives clients: a function that
// rebuilds its client when its credentials rotate keeps pacing its calls
// instead of starting every invocation with a fresh allowance.
type RateLimiter struct{ l *limiter }

// NewRateLimiter limits every action to rate calls per second (0 = none),
// with perAction overrides by ECS action name.
func NewRateLimiter(rate float64, perAction map[string]float64) *RateLimiter {
	return &RateLimiter{l: newLimiter(rate, perAction)}
}
