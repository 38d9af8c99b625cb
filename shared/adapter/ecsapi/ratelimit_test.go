package ecsapi

import (
	"context"
	"testing"
	"time"
)

// fakeClock is a clock whose sleeps advance it.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func (c *fakeClock) sleep(_ context.Context, d time.Duration) error {
	c.t = c.t.Add(d)
	return nil
}

func TestBucket_Release(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	margin := spacingMargin
	iv := time.Duration(float64(time.Second) * (1 + margin) / 20)
	period := time.Second / 20 // the provider's spacing
	tol := iv - period         // a round trip longer than the fastest (1 ms) by this holds nothing back
	// Call A goes out at t0 and is answered after aRTT (0: not answered);
	// the fastest round trip seen before is 1 ms. Call B's caller reaches
	// release at bAt; it must go out at want.
	tests := []struct {
		name string
		aRTT time.Duration
		bAt  time.Duration
		want time.Duration
	}{
		{"normal answer: B goes at its slot", 1 * ms, iv, iv},
		{"B's caller woke late: it goes at once", 1 * ms, iv + 7*ms, iv + 7*ms},
		// B must reach the provider 1/rate after A, even if all of A's 20 ms
		// went on its way there.
		{"A held up on its way: B waits as long, less the margin", 21 * ms, iv, period + 20*ms},
		{"A held up just past the margin", 1*ms + tol + ms/2, iv, iv + ms/2},
		{"A a little slow: within the tolerance", 1*ms + tol, iv, iv},
		{"A answered fast: no wait beyond the slot", 1 * ms / 2, iv, iv},
		{"A answered after B's slot: B waits for it", iv + 10*ms, iv, period + iv + 9*ms},
		{"A never answered: B goes two intervals after it", 0, iv, 2 * iv},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBucket(20)
			if b.interval != iv {
				t.Fatalf("interval %s, want %s", b.interval, iv)
			}
			c := &fakeClock{t: t0.Add(-time.Second)}
			// An earlier call with a 1 ms round trip.
			done, err := b.wait(ctx, c.now, c.sleep)
			if err != nil {
				t.Fatal(err)
			}
			c.t = c.t.Add(ms)
			done(time.Time{}, time.Time{})
			// A, one second later.
			c.t = t0
			doneA, err := b.wait(ctx, c.now, c.sleep)
			if err != nil || c.t != t0 {
				t.Fatalf("A went out at %s (%v), want at once", c.t.Sub(t0), err)
			}
			// B takes its slot (A's answer arrives while B sleeps or waits).
			answerA := func() {
				if tt.aRTT > 0 && !c.t.Before(t0.Add(tt.aRTT)) && doneA != nil {
					b.answer(b.seq, t0, t0, t0.Add(tt.aRTT))
					doneA = nil
				}
			}
			sleep := func(ctx context.Context, d time.Duration) error {
				// Deliver A's answer at its time if it falls in this sleep.
				if tt.aRTT > 0 && doneA != nil && c.t.Add(d).After(t0.Add(tt.aRTT)) {
					c.t = t0.Add(tt.aRTT)
					answerA()
					return nil
				}
				c.t = c.t.Add(d)
				answerA()
				return nil
			}
			if err := b.reserve(ctx, c.now, sleep); err != nil {
				t.Fatal(err)
			}
			if c.t.Before(t0.Add(tt.bAt)) {
				c.t = t0.Add(tt.bAt)
			}
			answerA()
			if _, err := b.release(ctx, c.now, sleep); err != nil {
				t.Fatal(err)
			}
			if got := c.t.Sub(t0); got != tt.want {
				t.Errorf("B went out %s after A, want %s", got, tt.want)
			}
			if got := b.next.Sub(c.t); got < iv {
				t.Errorf("the next slot is %s after B, want at least %s", got, iv)
			}
		})
	}
}
