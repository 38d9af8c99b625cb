package worker

import (
	"context"
)

// PushedMessage is one message delivered by the MNS queue trigger, which
// has already removed it from the queue.
type PushedMessage struct {
	MessageID string
	Body      string
	// Err, when set, says the trigger's envelope for this message could not
	// be read (events.DecodeQueueItems); Body is then the envelope as it
	// came. The message is dead-lettered "invalid-task" on its own.
	Err error
}

// HandlePushed handles messages the MNS queue trigger delivered. The trigger
// deleted them already, so: Done → nothing; Retry → the task is sent to the
// work queue again with Attempt+1 and the retry delay, or dead-lettered as
// "retries-exhausted" once Attempt has reached MaxDeliveries; DeadLetter →
// the record goes to the DLQ.
//
// Each message is settled on its own: one that is malformed (Err set, or a
// body that is not a task) is dead-lettered alone and the others go on.
//
// The error is non-nil only when something could not be settled: a
// re-enqueue or a dead-letter send failed even one by one and as a minimal
// record. The function should then fail the invocation so that the event
// stream delivers the whole batch again. Settling again is harmless: tasks
// are idempotent, a re-enqueued task that arrives twice is handled twice
// to the same effect, and a dead-letter record written again carries the
// same record ID (derived from the message's ID and body), so the
// dead-letter tooling counts it once.
func (w *Worker) HandlePushed(ctx context.Context, msgs []PushedMessage) (Summary, error) {
	start := w.opts.Now()
	items := make([]*item, len(msgs))
	for i, m := range msgs {
		it := &item{messageID: m.MessageID, body: m.Body}
		if m.Err != nil {
			it.decodeErr = m.Err
		} else {
			it.decode()
		}
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
