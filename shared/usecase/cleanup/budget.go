package cleanup

import (
	"context"
	"sync"
)

// BytesPerHeldGroup is the memory a cleanup job needs for each group it
// holds while it plans: the group, its share of the region's instances,
// ENIs and templates, the usage and the plan. The scale benchmark measured
// about 1.5 KiB of live heap per group (three regions of 33,000 groups and
// 16,700 instances each, planned at once: 145 MB); this rounds it up.
const BytesPerHeldGroup = 2 << 10

// GroupBudget bounds the groups the cleanup jobs of one process hold at
// once, so that regions planned side by side (one batch of the worker may
// carry every region of a night) stay within the function's memory: FC
// kills an instance that goes over its memory size. Jobs wait for room in
// the order they asked. A nil *GroupBudget bounds nothing.
type GroupBudget struct {
	mu       sync.Mutex
	capacity int
	free     int
	waiting  []*budgetWaiter
}

type budgetWaiter struct {
	n     int
	ready chan struct{} // closed once the n groups are granted
}

// NewGroupBudget returns a budget of capacity groups (at least 1).
func NewGroupBudget(capacity int) *GroupBudget {
	capacity = max(capacity, 1)
	return &GroupBudget{capacity: capacity, free: capacity}
}

// Capacity is the budget's size in groups (0 for a nil budget: unbounded).
func (b *GroupBudget) Capacity() int {
	if b == nil {
		return 0
	}
	return b.capacity
}

// budgetHold is what one job holds of a budget.
type budgetHold struct {
	b *GroupBudget
	n int
}

// hold waits until n groups (at most the capacity) are free and takes
// them, or returns ctx's error. The caller must release the hold.
func (b *GroupBudget) hold(ctx context.Context, n int) (*budgetHold, error) {
	if b == nil {
		return &budgetHold{}, nil
	}
	n = min(max(n, 1), b.capacity)
	b.mu.Lock()
	if len(b.waiting) == 0 && b.free >= n {
		b.free -= n
		b.mu.Unlock()
		return &budgetHold{b: b, n: n}, nil
	}
	w := &budgetWaiter{n: n, ready: make(chan struct{})}
	b.waiting = append(b.waiting, w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return &budgetHold{b: b, n: n}, nil
	case <-ctx.Done():
		b.mu.Lock()
		defer b.mu.Unlock()
		select {
		case <-w.ready: // granted meanwhile: give it back
			b.free += n
			b.grantLocked()
		default:
			for i, x := range b.waiting {
				if x == w {
					b.waiting = append(b.waiting[:i], b.waiting[i+1:]...)
					break
				}
			}
			b.grantLocked() // the head may have changed
		}
		return nil, ctx.Err()
	}
}

// grantLocked wakes the waiters at the head of the line that now fit.
func (b *GroupBudget) grantLocked() {
	for len(b.waiting) > 0 && b.free >= b.waiting[0].n {
		w := b.waiting[0]
		b.waiting = b.waiting[1:]
		b.free -= w.n
		close(w.ready)
	}
}

// shrinkTo gives back what the job holds beyond n groups (a region found
// smaller than the share it reserved).
func (h *budgetHold) shrinkTo(n int) {
	if h.b == nil || n >= h.n {
		return
	}
	n = max(n, 1)
	h.b.mu.Lock()
	h.b.free += h.n - n
	h.n = n
	h.b.grantLocked()
	h.b.mu.Unlock()
}

// release gives everything back; it may be called more than once.
func (h *budgetHold) release() {
	if h.b == nil || h.n == 0 {
		return
	}
	h.b.mu.Lock()
	h.b.free += h.n
	h.n = 0
	h.b.grantLocked()
	h.b.mu.Unlock()
}
