package fake_test

import (
	"context"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/testkit/fake"
)

func TestClock_SleepWakesOnAdvance(t *testing.T) {
	c := fake.NewClock(time.Unix(1000, 0))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Sleep(ctx, 10*time.Second) }()
	if !c.WaitSleepers(ctx, 1) {
		t.Fatal("Sleep did not start")
	}
	c.Advance(9 * time.Second)
	select {
	case err := <-done:
		t.Fatalf("woke early: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	c.Advance(time.Second)
	if err := <-done; err != nil {
		t.Fatalf("Sleep = %v", err)
	}
	if got := c.Now(); !got.Equal(time.Unix(1010, 0)) {
		t.Errorf("Now = %v", got)
	}
}

func TestClock_SleepEndsWithContext(t *testing.T) {
	c := fake.NewClock(time.Unix(0, 0))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Sleep(ctx, time.Hour); err == nil {
		t.Fatal("Sleep on a cancelled context returned nil")
	}
	if n := c.Sleepers(); n != 0 {
		t.Errorf("%d sleepers left behind", n)
	}
}

// On a Clock, a long poll does not wait for real: it moves the clock to the
// first message that becomes visible, or to the end of its wait.
func TestQueue_LongPollOnClock(t *testing.T) {
	c := fake.NewClock(time.Unix(1000, 0))
	q := fake.NewQueue(fake.QueueOptions{Clock: c})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	start := time.Now()
	ds, err := q.Receive(ctx, 1, 20*time.Second)
	if err != nil || len(ds) != 0 {
		t.Fatalf("empty poll = %v, %v", ds, err)
	}
	if got := c.Now().Sub(time.Unix(1000, 0)); got != 20*time.Second {
		t.Errorf("empty poll moved the clock %s, want the whole 20s wait", got)
	}

	if err := q.SendBodies(ctx, []string{"later"}, 7*time.Second); err != nil {
		t.Fatal(err)
	}
	before := c.Now()
	ds, err = q.Receive(ctx, 1, 30*time.Second)
	if err != nil || len(ds) != 1 || ds[0].Body != "later" {
		t.Fatalf("poll = %v, %v; want the delayed message", ds, err)
	}
	if got := c.Now().Sub(before); got != 7*time.Second {
		t.Errorf("poll moved the clock %s, want 7s (the message's delay)", got)
	}
	if real := time.Since(start); real > 2*time.Second {
		t.Errorf("polls took %s of real time", real)
	}
}
