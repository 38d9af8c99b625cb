package retry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/retry"
)

var errTransient = errors.New("transient")
var errFatal = errors.New("fatal")

func isTransient(err error) bool { return errors.Is(err, errTransient) }

func fastPolicy(slept *[]time.Duration) retry.Policy {
	p := retry.Default()
	p.Jitter = func() float64 { return 1 }
	p.Sleep = func(_ context.Context, d time.Duration) error { *slept = append(*slept, d); return nil }
	return p
}

func TestDo(t *testing.T) {
	tests := []struct {
		name      string
		failures  []error // errors returned before success; nil entry = success
		wantCalls int
		wantErr   error
	}{
		{"succeeds first time", nil, 1, nil},
		{"retries transient then succeeds", []error{errTransient, errTransient}, 3, nil},
		{"stops on fatal", []error{errFatal}, 1, errFatal},
		{"gives up after max attempts", []error{errTransient, errTransient, errTransient, errTransient, errTransient, errTransient, errTransient}, 6, errTransient},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var slept []time.Duration
			calls := 0
			err := retry.Do(context.Background(), fastPolicy(&slept), isTransient, func(context.Context) error {
				calls++
				if calls <= len(tc.failures) {
					return tc.failures[calls-1]
				}
				return nil
			})
			if calls != tc.wantCalls {
				t.Errorf("calls = %d, want %d", calls, tc.wantCalls)
			}
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if len(slept) != calls-1 && tc.wantErr != errFatal {
				t.Errorf("slept %d times for %d calls", len(slept), calls)
			}
		})
	}
}

func TestDo_StopsBeforeDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var slept []time.Duration
	p := fastPolicy(&slept)
	p.BaseDelay = 2 * time.Second // first back-off (2s) + margin (2s) does not fit in 3s
	calls := 0
	err := retry.Do(ctx, p, isTransient, func(context.Context) error { calls++; return errTransient })
	if calls != 1 {
		t.Fatalf("calls = %d, want 1", calls)
	}
	if !errors.Is(err, retry.ErrDeadlineNear) || !errors.Is(err, errTransient) {
		t.Fatalf("err = %v, want both the deadline and the last error", err)
	}
}

func TestDo_CancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := retry.Do(ctx, retry.Default(), isTransient, func(context.Context) error { t.Fatal("called"); return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestBackoff_GrowsAndCaps(t *testing.T) {
	p := retry.Policy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, Jitter: func() float64 { return 1 }}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}
	for i, w := range want {
		if got := p.Backoff(i + 1); got != w {
			t.Errorf("Backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	p.Jitter = func() float64 { return 0 }
	if got := p.Backoff(1); got != 50*time.Millisecond {
		t.Errorf("Backoff with zero jitter = %v, want half the base", got)
	}
}

func TestErrDeadlineNear_IsADeadline(t *testing.T) {
	if !errors.Is(retry.ErrDeadlineNear, context.DeadlineExceeded) {
		t.Fatal("ErrDeadlineNear does not wrap context.DeadlineExceeded")
	}
}
