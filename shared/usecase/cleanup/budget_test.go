package cleanup

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// holdAsync asks for a hold in another goroutine.
func holdAsync(b *GroupBudget, ctx context.Context, n int) <-chan *budgetHold {
	ch := make(chan *budgetHold, 1)
	go func() {
		h, err := b.hold(ctx, n)
		if err != nil {
			h = nil
		}
		ch <- h
	}()
	return ch
}

// waitHold waits briefly for the hold and fails unless it came (want) or
// did not.
func waitHold(t *testing.T, ch <-chan *budgetHold, want bool) *budgetHold {
	t.Helper()
	select {
	case h := <-ch:
		if !want {
			t.Fatal("granted, want still waiting")
		}
		return h
	case <-time.After(50 * time.Millisecond):
		if want {
			t.Fatal("still waiting, want granted")
		}
		return nil
	}
}

func TestGroupBudget_FirstComeFirstServed(t *testing.T) {
	b := NewGroupBudget(10)
	ctx := context.Background()
	h1, err := b.hold(ctx, 6)
	if err != nil {
		t.Fatal(err)
	}
	second := holdAsync(b, ctx, 6)
	waitHold(t, second, false)
	// One group would fit, but the earlier waiter goes first.
	third := holdAsync(b, ctx, 1)
	waitHold(t, third, false)
	h1.release()
	h2 := waitHold(t, second, true)
	h3 := waitHold(t, third, true)
	if b.free != 3 {
		t.Errorf("free %d, want 3", b.free)
	}
	h2.release()
	h3.release()
	h3.release() // twice is harmless
	if b.free != 10 {
		t.Errorf("free %d after releasing all, want 10", b.free)
	}
}

func TestGroupBudget_ShrinkLetsOthersIn(t *testing.T) {
	b := NewGroupBudget(10)
	ctx := context.Background()
	h1, _ := b.hold(ctx, 100) // more than the capacity: clamped
	if h1.n != 10 {
		t.Fatalf("held %d, want the capacity 10", h1.n)
	}
	next := holdAsync(b, ctx, 4)
	waitHold(t, next, false)
	h1.shrinkTo(5) // the region turned out to have 5 groups
	h2 := waitHold(t, next, true)
	h1.shrinkTo(8) // growing is not shrinking: nothing changes
	if h1.n != 5 || b.free != 1 {
		t.Errorf("held %d, free %d; want 5 and 1", h1.n, b.free)
	}
	h1.release()
	h2.release()
	if b.free != 10 {
		t.Errorf("free %d, want 10", b.free)
	}
}

func TestGroupBudget_GivesUpWithTheContext(t *testing.T) {
	b := NewGroupBudget(10)
	h1, _ := b.hold(context.Background(), 8)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := b.hold(ctx, 5); err == nil {
		t.Fatal("hold past the deadline succeeded")
	}
	if len(b.waiting) != 0 {
		t.Fatalf("%d waiters left behind", len(b.waiting))
	}
	// A waiter behind the one that gave up is served as before.
	h2, err := b.hold(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	h1.release()
	h2.release()
	if b.free != 10 {
		t.Errorf("free %d, want 10", b.free)
	}
}

func TestGroupBudget_Nil(t *testing.T) {
	var b *GroupBudget
	h, err := b.hold(context.Background(), 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	h.shrinkTo(1)
	h.release()
	if b.Capacity() != 0 {
		t.Error("a nil budget has a capacity")
	}
}

// Many jobs at once never hold more than the capacity, and all finish.
func TestGroupBudget_NeverOverCapacity(t *testing.T) {
	const capacity = 50
	b := NewGroupBudget(capacity)
	var held, peak atomic.Int64
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), 7))
			ctx := context.Background()
			if i%10 == 0 { // some give up
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, time.Duration(r.IntN(3))*time.Millisecond)
				defer cancel()
			}
			h, err := b.hold(ctx, 1+r.IntN(60))
			if err != nil {
				return
			}
			now := held.Add(int64(h.n))
			for {
				p := peak.Load()
				if now <= p || peak.CompareAndSwap(p, now) {
					break
				}
			}
			if r.IntN(2) == 0 {
				held.Add(-int64(h.n))
				h.shrinkTo(1 + r.IntN(h.n))
				held.Add(int64(h.n))
			}
			time.Sleep(time.Duration(r.IntN(200)) * time.Microsecond)
			held.Add(-int64(h.n))
			h.release()
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > capacity {
		t.Errorf("held %d groups at once, capacity %d", p, capacity)
	}
	if b.free != capacity || len(b.waiting) != 0 {
		t.Errorf("free %d, waiting %d after all jobs; want %d and 0", b.free, len(b.waiting), capacity)
	}
}
