// Package batching holds the mechanics of batch provider calls that the queue
// adapter (shared/adapter/mnsqueue) and its fake (shared/testkit/fake)
// share: splitting into batches that stop after a whole-batch failure,
// per-item errors, and one error for a batch with the kind of its worst
// item. They moved out of the domain, which keeps only sgpilot's
// vocabulary and rules. Imports the standard library and the domain's
// error vocabulary.
package batching

import (
	"fmt"
	"strings"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// batchKindRank orders kinds for a batch with mixed failures: the batch
// error takes the kind that needs the most caution, so that one item that
// cannot succeed is never hidden behind retryable siblings.
var batchKindRank = map[domain.Kind]int{
	domain.KindInternal: 7, domain.KindPermanent: 6, domain.KindInvalid: 5, domain.KindNotFound: 4,
	domain.KindConflict: 3, domain.KindThrottled: 2, domain.KindRetryable: 1,
}

// Join reports that n of total items of a batch operation failed.
// Its kind is the worst of the items' kinds (see batchKindRank), its code
// that of the first item of that kind, and it wraps every item's error
// (each an *Error whose Op names the item, e.g. "task <ID>"), so errors.Is
// and errors.As see all of them.
func Join(op, what string, n, total int, errs []error) error {
	kind, code, best := domain.KindInternal, "", 0
	for _, e := range errs {
		k := domain.KindOf(e)
		if batchKindRank[k] > best {
			kind, code, best = k, domain.CodeOf(e), batchKindRank[k]
		}
	}
	return &domain.Error{Kind: kind, Op: op, Code: code, Err: fmt.Errorf("%d of %d %s: %w", n, total, what, ItemErrors(errs))}
}

// ItemError is the failure of item id because its whole call failed with
// cause: same kind and code, with the cause's own error underneath (not its
// Op again), so errors.Is still finds context errors. note, when set, says
// more (e.g. "not attempted after an earlier batch failed").
func ItemError(id string, cause error, note string) error {
	inner := cause
	if de, ok := cause.(*domain.Error); ok && de.Err != nil {
		inner = de.Err
	}
	if note != "" {
		inner = fmt.Errorf("%s: %w", note, inner)
	}
	return &domain.Error{Kind: domain.KindOf(cause), Op: id, Code: domain.CodeOf(cause), Err: inner}
}

// ItemErrors joins per-item errors on one line, grouping the items that
// failed for the same reason: "task a, task b [Code]: why; task c [Code]: why".
type ItemErrors []error

func (e ItemErrors) Error() string {
	var order []string
	ids := map[string][]string{}
	for _, err := range e {
		id, cause := "", err.Error()
		if de, ok := err.(*domain.Error); ok && de.Op != "" {
			rest := *de
			rest.Op = ""
			id, cause = de.Op, strings.TrimSpace(rest.Error())
		}
		if _, seen := ids[cause]; !seen {
			order = append(order, cause)
			ids[cause] = nil
		}
		if id != "" {
			ids[cause] = append(ids[cause], id)
		}
	}
	parts := make([]string, len(order))
	for i, cause := range order {
		sep := ": "
		if strings.HasPrefix(cause, "[") {
			sep = " "
		}
		if len(ids[cause]) == 0 {
			sep = ""
		}
		parts[i] = strings.Join(ids[cause], ", ") + sep + cause
	}
	return strings.Join(parts, "; ")
}

// Unwrap exposes every item's error.
func (e ItemErrors) Unwrap() []error { return e }

// UniqueNonEmpty returns ids without repeats, in order, or an error naming
// op when one is empty (a caller bug, never worth a provider call).
func UniqueNonEmpty(op, what string, ids []string) ([]string, error) {
	out := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if id == "" {
			return nil, domain.Errorf(domain.KindInvalid, op, "", "empty %s", what)
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

// Do runs do over items in batches of at most size and collects the
// per-item errors do reports. When a batch fails as a whole (do returns
// stop), the items after it are not attempted and are reported, each under
// name(item), as failing with stop.
func Do[T any](items []T, size int, name func(T) string, do func(batch []T) (failed []error, stop error)) []error {
	var failed []error
	for start := 0; start < len(items); start += size {
		batch := items[start:min(start+size, len(items))]
		errs, stop := do(batch)
		failed = append(failed, errs...)
		if stop != nil {
			for _, it := range items[start+len(batch):] {
				failed = append(failed, ItemError(name(it), stop, "not attempted after an earlier batch failed"))
			}
			break
		}
	}
	return failed
}
