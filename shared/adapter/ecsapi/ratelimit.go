package ecsapi

import (
	"context"
	"sync"
	"time"
)

// bucket is a token bucket of one action: rate tokens per second, at most one
// token banked, so calls are spaced evenly, at 1/rate plus spacingMargin.
// Callers reserve a slot first and sleep after, so concurrent callers queue
// up in order; at its slot a caller may still have to wait for the call
// before it (see release).
type bucket struct {
	mu       sync.Mutex
	interval time.Duration // (1/rate) × (1 + spacingMargin)
	period   time.Duration // 1/rate: the provider's spacing
	next     time.Time     // earliest slot of the next caller
	last     time.Time     // when the latest call was let go
	seq      uint64        // calls let go so far
	inflight bool          // the latest call has no answer yet
	answered time.Time     // when the latest call's answer came
	fastest  time.Duration // the shortest round trip seen (0: none yet)
	lead     time.Duration // the shortest time from release to sending seen
	leadSeen bool
}

// spacingMargin widens the spacing of calls beyond 1/rate. A provider that
// enforces the rate with a burst of one refuses a call that arrives even a
// millisecond early, and spacing calls 1/rate apart when they leave does
// not space their arrivals: a call held up on its way (a late timer
// wake-up, a starved process on either side, the network) arrives late,
// and the next one, on time, too soon after it. release therefore also
// spaces each call from the previous one's answer: it takes all of that
// call's round trip beyond the fastest seen as time lost on its way there,
// and lets the next call go so that it still arrives a full 1/rate after
// it. Delays within the margin cost nothing; a longer one delays the next
// call by what the margin does not cover. The margin costs 2% of the
// throughput. With the margin alone (5%), 7% of a burst's joins drew
// Throttling on a loaded 2-core machine; with a tolerance of interval/20
// before a delay counted, and that tolerance taken off the wait, a call
// after a delayed one still went 1.5 ms early, and 2.5% of a cleanup's
// deletions drew Throttling.
const spacingMargin = 0.02

// pollStep is how often a caller checks whether the call before it has
// been answered.
const pollStep = time.Millisecond

func newBucket(rate float64) *bucket {
	return &bucket{interval: time.Duration(float64(time.Second) * (1 + spacingMargin) / rate),
		period: time.Duration(float64(time.Second) / rate)}
}

// wait blocks until the caller may make its call or ctx ends; the caller
// must call done when the call's answer (or failure) came back, with when
// the request went to the network and its answer came back if it knows
// (zero times: done's own call is the answer, and the release the send).
// A caller that gives up returns its slot only if nobody has queued behind
// it.
func (b *bucket) wait(ctx context.Context, now func() time.Time, sleep func(context.Context, time.Duration) error) (done func(sent, at time.Time), err error) {
	if err := b.reserve(ctx, now, sleep); err != nil {
		return nil, err
	}
	return b.release(ctx, now, sleep)
}

// reserve takes the next slot and sleeps until it.
func (b *bucket) reserve(ctx context.Context, now func() time.Time, sleep func(context.Context, time.Duration) error) error {
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

// release lets the caller go once (1) an interval has passed since the
// call before went out (its caller may have woken up late) and (2) 1/rate
// has passed since that call's answer, less the fastest round trip: its
// arrival at the provider lies before its answer by at least about that
// much. A call unanswered two intervals after it went out no longer
// holds the next one back (a slow provider must not stop the pacing).
func (b *bucket) release(ctx context.Context, now func() time.Time, sleep func(context.Context, time.Duration) error) (func(sent, at time.Time), error) {
	for {
		b.mu.Lock()
		t := now()
		var d time.Duration
		switch {
		case b.last.IsZero():
		case b.inflight && t.Before(b.last.Add(2*b.interval)):
			d = min(pollStep, b.last.Add(2*b.interval).Sub(t))
		default:
			at := b.last.Add(b.interval)
			if !b.inflight && !b.answered.IsZero() {
				// Less the release-to-send time too: this call reaches the
				// network at least that much after its release.
				if a := b.answered.Add(b.period - b.fastest - b.lead); a.After(at) {
					at = a
				}
			}
			d = at.Sub(t)
		}
		if d > 0 {
			b.mu.Unlock()
			if err := sleep(ctx, d); err != nil {
				return nil, err
			}
			continue
		}
		b.last, b.inflight = t, true
		b.seq++
		if b.next.Before(t.Add(b.interval)) {
			b.next = t.Add(b.interval)
		}
		seq := b.seq
		b.mu.Unlock()
		return func(sent, at time.Time) {
			if sent.IsZero() || at.IsZero() || sent.Before(t) {
				sent, at = t, now()
			}
			b.answer(seq, t, sent, at)
		}, nil
	}
}

// answer records the answer of call seq, let go at released, sent at sent.
func (b *bucket) answer(seq uint64, released, sent, at time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if l := sent.Sub(released); !b.leadSeen || l < b.lead {
		b.lead, b.leadSeen = l, true
	}
	if rt := at.Sub(sent); rt > 0 && (b.fastest == 0 || rt < b.fastest) {
		b.fastest = rt
	}
	if seq == b.seq {
		b.inflight, b.answered = false, at
	}
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
