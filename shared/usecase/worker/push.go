package worker

import (
	"context"
)

// PushedMessage is one message delivered by the MNS queue trigger, which
// has already removed it from the queue.
type PushedMessage struct {
	MessageID string
	Body      string
}

// HandlePushed handles messages the MNS queue trigger delivered. The trigger
// deleted them already, so: Done → nothing; Retry → the task is sent to the
// work queue again with Attempt+1 and the retry delay, or dead-lettered as
// "retries-exhausted" once Attempt has reached MaxDeliveries; DeadLetter →
// the record goes to the DLQ.
//
// The error is non-nil only when a re-enqueue or a dead-letter send failed;
// the function should then fail the invocation so that the whole delivery
// comes again (safe: tasks are idempotent, and re-enqueued duplicates are
// harmless).
func (w *Worker) HandlePushed(ctx context.Context, msgs []PushedMessage) (Summary, error) {
	start := w.opts.Now()
	items := make([]*item, len(msgs))
	for i, m := range msgs {
		it := &item{messageID: m.MessageID, body: m.Body}
		it.decode()
		if it.valid() {
			it.deliveries = max(it.task.Attempt, 1)
		}
		w.precheck(it)
		items[i] = it
	}
	hctx, cancel := w.handlerContext(ctx)
	w.dispatch(hctx, items)
	cancel()
	sum, err := w.settle(ctx, items, pushAcker{w})
	sum.Duration = w.opts.Now().Sub(start)
	return sum, err
}
