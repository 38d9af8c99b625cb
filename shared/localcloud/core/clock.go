package core

import (
	"sync"
	"time"
)

// Clock is the emulated cloud's notion of "now". It runs with wall time plus an
// offset that tests move forward (Advance) or pin (Set), so that grace periods,
// instance start-up and message visibility can be jumped over without
// sleeping, while long polls and latency still use real time.
//
// Changed returns a channel closed at the next Advance/Set, so waiters (MNS
// long polls, instance state machines) can re-evaluate after a jump.
type Clock struct {
	mu      sync.Mutex
	offset  time.Duration
	frozen  bool
	frozenT time.Time
	changed chan struct{}
	wall    func() time.Time
}

// NewClock returns a clock that follows wall time.
func NewClock() *Clock {
	return &Clock{changed: make(chan struct{}), wall: time.Now}
}

// Now returns the emulated time (UTC).
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen {
		return c.frozenT
	}
	return c.wall().Add(c.offset).UTC()
}

// Advance moves emulated time forward by d (negative d is ignored: cloud time
// never runs backwards).
func (c *Clock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	if c.frozen {
		c.frozenT = c.frozenT.Add(d)
	} else {
		c.offset += d
	}
	c.notifyLocked()
	c.mu.Unlock()
}

// Set moves emulated time to t if t is later than now; it then keeps running
// from there with wall time.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	now := c.wall()
	if c.frozen {
		if t.After(c.frozenT) {
			c.frozenT = t.UTC()
		}
	} else if t.After(now.Add(c.offset)) {
		c.offset = t.Sub(now)
	}
	c.notifyLocked()
	c.mu.Unlock()
}

// Freeze stops emulated time at its current value until Unfreeze; Advance and
// Set still move it. Useful for exact assertions on timestamps.
func (c *Clock) Freeze() {
	c.mu.Lock()
	if !c.frozen {
		c.frozenT = c.wall().Add(c.offset).UTC()
		c.frozen = true
	}
	c.mu.Unlock()
}

// Unfreeze lets emulated time run with wall time again from its frozen value.
func (c *Clock) Unfreeze() {
	c.mu.Lock()
	if c.frozen {
		c.offset = c.frozenT.Sub(c.wall())
		c.frozen = false
		c.notifyLocked()
	}
	c.mu.Unlock()
}

// Changed returns a channel that is closed the next time the clock jumps.
func (c *Clock) Changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

func (c *Clock) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}
