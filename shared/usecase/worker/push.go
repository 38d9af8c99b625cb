package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
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
	sum := Summary{Received: len(msgs), DeadLettered: map[string]int{}}
	if len(msgs) > 0 {
		sum.Batches = 1
	}
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

	log := logging.FromContext(ctx)
	requeue := map[time.Duration][]*item{}
	type dead struct {
		it     *item
		reason string
		record string
	}
	var deads []dead
	for _, it := range items {
		if !it.valid() {
			sum.Invalid++
		}
		v := w.decide(it)
		switch v.action {
		case Done:
			sum.Done++
		case Retry:
			requeue[v.delay] = append(requeue[v.delay], it)
		case DeadLetter:
			deads = append(deads, dead{it: it, reason: v.reason, record: w.deadLetterRecord(it, v.reason, v.detail)})
		}
	}

	var errs []error
	delays := make([]time.Duration, 0, len(requeue))
	for d := range requeue {
		delays = append(delays, d)
	}
	slices.Sort(delays)
	for _, delay := range delays {
		var bodies []string
		var sent []*item
		for _, it := range requeue[delay] {
			t := it.task
			t.Attempt = it.deliveries + 1
			body, err := domain.EncodeTask(t)
			if err != nil { // cannot happen for a task that decoded
				deads = append(deads, dead{it: it, reason: ReasonInvalidTask,
					record: w.deadLetterRecord(it, ReasonInvalidTask, "re-encode for retry: "+err.Error())})
				continue
			}
			bodies = append(bodies, body)
			sent = append(sent, it)
		}
		for j, c := range chunks(bodies, MaxReceive) {
			err := w.call(ctx, func(ctx context.Context) error { return w.queue.SendBodies(ctx, c, delay) })
			sum.Retried += len(c)
			if err != nil {
				sum.RetryErrors += len(c)
				errs = append(errs, fmt.Errorf("worker: re-enqueue %d tasks with delay %s: %w", len(c), delay, err))
				for _, it := range sent[j*MaxReceive : j*MaxReceive+len(c)] {
					logItem(log, it).Error("re-enqueue failed", zap.Error(err))
				}
			}
		}
	}

	for _, c := range chunks(deads, MaxReceive) {
		bodies := make([]string, len(c))
		for j, d := range c {
			bodies[j] = d.record
		}
		err := w.call(ctx, func(ctx context.Context) error { return w.dlq.SendBodies(ctx, bodies, 0) })
		for _, d := range c {
			l := logItem(log, d.it).With(zap.String(logging.FieldReason, d.reason))
			if err != nil {
				sum.DeadLetterFailed++
				l.Error("dead-letter send failed", zap.Error(err))
			} else {
				sum.addDeadLettered(d.reason)
				l.Warn("task dead-lettered", zap.Int("deliveries", d.it.deliveries))
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("worker: send %d dead-letter records: %w", len(c), err))
		}
	}
	sum.Duration = w.opts.Now().Sub(start)
	return sum, errors.Join(errs...)
}
