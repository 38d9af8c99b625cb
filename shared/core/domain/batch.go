package domain

import (
	"fmt"
	"strings"
)

// batchKindRank orders kinds for a batch with mixed failures: the batch
// error takes the kind that needs the most caution, so that one item that
// cannot succeed is never hidden behind retryable siblings.
var batchKindRank = map[Kind]int{
	KindInternal: 7, KindPermanent: 6, KindInvalid: 5, KindNotFound: 4,
	KindConflict: 3, KindThrottled: 2, KindRetryable: 1,
}

// BatchError reports that n of total items of a batch operation failed.
// Its kind is the worst of the items' kinds (see batchKindRank), its code
// that of the first item of that kind, and it wraps every item's error
// (each an *Error whose Op names the item, e.g. "task <ID>"), so errors.Is
// and errors.As see all of them.
func BatchError(op, what string, n, total int, errs []error) error {
	kind, code, best := KindInternal, "", 0
	for _, e := range errs {
		k := KindOf(e)
		if batchKindRank[k] > best {
			kind, code, best = k, CodeOf(e), batchKindRank[k]
		}
	}
	return &Error{Kind: kind, Op: op, Code: code, Err: fmt.Errorf("%d of %d %s: %w", n, total, what, ItemErrors(errs))}
}

// ItemError is the failure of item id because its whole call failed with
// cause: same kind and code, with the cause's own error underneath (not its
// Op again), so errors.Is still finds context errors. note, when set, says
// more (e.g. "not attempted after an earlier batch failed").
func ItemError(id string, cause error, note string) error {
	inner := cause
	if de, ok := cause.(*Error); ok && de.Err != nil {
		inner = de.Err
	}
	if note != "" {
		inner = fmt.Errorf("%s: %w", note, inner)
	}
	return &Error{Kind: KindOf(cause), Op: id, Code: CodeOf(cause), Err: inner}
}

// ItemErrors joins per-item errors on one line, grouping the items that
// failed for the same reason: "task a, task b [Code]: why; task c [Code]: why".
type ItemErrors []error

func (e ItemErrors) Error() string {
	var order []string
	ids := map[string][]string{}
	for _, err := range e {
		id, cause := "", err.Error()
		if de, ok := err.(*Error); ok && de.Op != "" {
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
			return nil, Errorf(KindInvalid, op, "", "empty %s", what)
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

// InBatches runs do over items in batches of at most size and collects the
// per-item errors do reports. When a batch fails as a whole (do returns
// stop), the items after it are not attempted and are reported, each under
// name(item), as failing with stop.
func InBatches[T any](items []T, size int, name func(T) string, do func(batch []T) (failed []error, stop error)) []error {
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
