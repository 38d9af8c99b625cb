package batching_test

import (
	"errors"
	"testing"

	"github.com/sgpilot/sgpilot/shared/core/batching"
	"github.com/sgpilot/sgpilot/shared/core/domain"
)

func TestJoin_WorstKindAndGroupedText(t *testing.T) {
	throttled := domain.Errorf(domain.KindThrottled, "mns BatchSendMessage", "QpsLimitExceeded", "slow down")
	invalid := domain.Errorf(domain.KindInvalid, "mns BatchSendMessage", "InvalidArgument", "body too large")
	errs := []error{
		batching.ItemError("task a", throttled, ""),
		batching.ItemError("task b", throttled, ""),
		batching.ItemError("task c", invalid, "not attempted"),
	}
	err := batching.Join("mns send to q", "tasks", 3, 10, errs)
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

func TestDo_StopsAfterAWholeBatchFailure(t *testing.T) {
	down := domain.Errorf(domain.KindRetryable, "mns BatchDeleteMessage", "InternalError", "down")
	var batches [][]string
	failed := batching.Do([]string{"a", "b", "c", "d", "e"}, 2, func(s string) string { return "handle " + s },
		func(b []string) ([]error, error) {
			batches = append(batches, b)
			if b[0] == "c" {
				return []error{batching.ItemError("handle c", down, ""), batching.ItemError("handle d", down, "")}, down
			}
			return nil, nil
		})
	if len(batches) != 2 || len(failed) != 3 {
		t.Fatalf("batches %v, failed %v: want 2 batches and c, d, e failed", batches, failed)
	}
	if got := batching.ItemErrors(failed).Error(); got != "handle c, handle d [InternalError]: down; handle e [InternalError]: not attempted after an earlier batch failed: down" {
		t.Fatalf("text %q", got)
	}
}

func TestUniqueNonEmpty(t *testing.T) {
	got, err := batching.UniqueNonEmpty("op", "handle", []string{"a", "b", "a"})
	if err != nil || len(got) != 2 {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := batching.UniqueNonEmpty("op", "handle", []string{"a", ""}); domain.KindOf(err) != domain.KindInvalid {
		t.Fatalf("empty id: %v", err)
	}
}
