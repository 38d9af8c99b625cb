package domain_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

func TestKindOf(t *testing.T) {
	throttled := domain.Errorf(domain.KindThrottled, "ecs DescribeInstances", "Throttling.User", "slow down")
	tests := []struct {
		name string
		err  error
		want domain.Kind
	}{
		{"nil", nil, domain.KindInternal},
		{"unclassified", errors.New("boom"), domain.KindInternal},
		{"classified", throttled, domain.KindThrottled},
		{"classified and wrapped", fmt.Errorf("join sg-1 for i-1: %w", throttled), domain.KindThrottled},
		{"bare canceled", context.Canceled, domain.KindCanceled},
		{"bare deadline", context.DeadlineExceeded, domain.KindDeadline},
		{"deadline wrapped by an adapter as retryable", domain.Wrap(domain.KindRetryable, "mns Receive", "", context.DeadlineExceeded), domain.KindDeadline},
		{"last error joined with the deadline", errors.Join(throttled, context.DeadlineExceeded), domain.KindDeadline},
		{"canceled deep in the chain", fmt.Errorf("describe: %w", errors.Join(throttled, fmt.Errorf("wait: %w", context.Canceled))), domain.KindCanceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := domain.KindOf(tc.err); got != tc.want {
				t.Errorf("KindOf(%v) = %s, want %s", tc.err, got, tc.want)
			}
		})
	}
}

func TestIsRetryable_NotWhenTimeIsUp(t *testing.T) {
	for _, err := range []error{context.Canceled, context.DeadlineExceeded,
		domain.Wrap(domain.KindRetryable, "op", "", context.DeadlineExceeded)} {
		if domain.IsRetryable(err) {
			t.Errorf("IsRetryable(%v) = true, want false", err)
		}
	}
	if !domain.IsRetryable(domain.Errorf(domain.KindRetryable, "op", "InternalError", "x")) {
		t.Error("IsRetryable(KindRetryable) = false")
	}
}

func TestKindSentinels(t *testing.T) {
	for _, k := range []domain.Kind{domain.KindCanceled, domain.KindDeadline} {
		err := domain.Wrap(k, "op", "", errors.New("x"))
		want := map[domain.Kind]error{domain.KindCanceled: domain.ErrCanceled, domain.KindDeadline: domain.ErrDeadline}[k]
		if !errors.Is(err, want) {
			t.Errorf("errors.Is(%s error, sentinel) = false", k)
		}
		if k.String() == "" || k.String()[0] == 'k' {
			t.Errorf("kind %d has no name: %q", int(k), k.String())
		}
	}
}
