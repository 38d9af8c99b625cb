package domain_test

import (
	"errors"
	"testing"

	"github.com/sgpilot/sgpilot/shared/domain"
)

func TestBatchError_WorstKindAndGroupedText(t *testing.T) {
	throttled := domain.Errorf(domain.KindThrottled, "mns BatchSendMessage", "QpsLimitExceeded", "slow down")
	invalid := domain.Errorf(domain.KindInvalid, "mns BatchSendMessage", "InvalidArgument", "body too large")
	errs := []error{
		domain.ItemError("task a", throttled, ""),
		domain.ItemError("task b", throttled, ""),
		domain.ItemError("task c", invalid, "not attempted"),
	}
	err := domain.BatchError("mns send to q", "tasks", 3, 10, errs)
	if domain.KindOf(err) != domain.KindInvalid || domain.CodeOf(err) != "InvalidArgument" {
		t.Fatalf("kind %v code %q: the batch must take its least retryable item's kind", domain.KindOf(err), domain.CodeOf(err))
	}
	want := "mns send to q [InvalidArgument]: 3 of 10 tasks: task a, task b [QpsLimitExceeded]: slow down; task c [InvalidArgument]: not attempted: body too large"
	if err.Error() != want {
		t.Fatalf("text:\n got %s\nwant %s", err, want)
	}
	if !errors.Is(err, domain.ErrThrottled) || !errors.Is(err, domain.ErrInvalid) {
		t.Fatal("every item must stay reachable with errors.Is")
	}
}
