package cleanup

import "context"

// HoldBudget takes n groups of b as another job would, for the tests of
// package cleanup_test; the returned func gives them back.
func HoldBudget(b *GroupBudget, n int) func() {
	h, err := b.hold(context.Background(), n)
	if err != nil {
		panic(err)
	}
	return h.release
}
