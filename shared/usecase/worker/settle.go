package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/core/batching"
	"github.com/sgpilot/sgpilot/shared/core/deadletter"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
	"github.com/sgpilot/sgpilot/shared/core/task"
)

// acker carries out the queue actions that differ between the modes.
type acker interface {
	// postpone makes retried items come back after their verdict's delay.
	// It returns how many could not be postponed and, when they are lost
	// unless the invocation fails, an error.
	postpone(ctx context.Context, items []settling) (failed int, err error)
	// remove acknowledges items whose outcome is durable (done, or
	// dead-lettered). It returns how many remove calls failed.
	remove(ctx context.Context, items []settling) (failed int)
}

// settling is an item and the queue action decided for it.
type settling struct {
	*item
	v verdict
	// recordID is the dead-letter record's ID, once one was built.
	recordID string
}

// settle is the one path from outcomes to queue actions, for both modes:
// decide each item; postpone the retries; send the dead-letter records, 16
// per call; then remove what is done or durably dead-lettered. A message
// is removed only after its outcome is durable. The error is non-nil when
// a dead-letter record (or, in push mode, a re-enqueue) could not be sent.
func (w *Worker) settle(ctx context.Context, items []*item, a acker) (Summary, error) {
	sum := Summary{Received: len(items), DeadLettered: map[string]int{}}
	if len(items) > 0 {
		sum.Batches = 1
	}
	var done, retries, deads []settling
	for _, it := range items {
		if !it.valid() {
			sum.Invalid++
		}
		sum.Panicked = sum.Panicked || it.panicked
		s := settling{item: it, v: w.decide(it)}
		switch s.v.action {
		case task.Done:
			sum.Done++
			done = append(done, s)
		case task.Retry:
			retries = append(retries, s)
		case task.DeadLetter:
			deads = append(deads, s)
		}
	}

	var errs []error
	sum.Retried = len(retries)
	log := logging.FromContext(ctx)
	for _, r := range retries {
		// Why a task comes back: the run report only counts retries.
		logItem(log, r.item).Info("task will be retried", zap.String(logging.FieldReason, string(r.v.reason)),
			zap.String("detail", r.v.detail), zap.Duration("after", r.v.delay), zap.Int("deliveries", r.item.deliveries))
	}
	if len(retries) > 0 {
		failed, err := a.postpone(ctx, retries)
		sum.RetryErrors += failed
		if err != nil {
			errs = append(errs, err)
		}
	}

	sent, failed, minimal, err := w.sendDeadLetters(ctx, deads)
	sum.DeadLetterMinimal += minimal
	sum.DeadLetterFailed += len(failed)
	if err != nil {
		errs = append(errs, err)
	}
	for _, d := range failed {
		logItem(log, d.item).Error("dead-letter send failed; the task comes back",
			zap.String(logging.FieldReason, string(d.v.reason)))
	}
	for _, d := range sent {
		sum.addDeadLettered(d.v.reason)
		done = append(done, d)
		logItem(log, d.item).Warn("task dead-lettered", zap.String(logging.FieldReason, string(d.v.reason)),
			zap.Int("deliveries", d.deliveries), zap.String("record_id", d.recordID))
	}

	sum.DeleteErrors += a.remove(ctx, done)
	if sum.Panicked {
		log.Error("a task handler panicked: this process must not be reused")
	}
	return sum, errors.Join(errs...)
}

// drainAcker settles messages the worker received itself: they are still
// on the queue, hidden until their visibility ends.
type drainAcker struct{ w *Worker }

// postpone hides each message for its retry delay; it comes back with
// DequeueCount+1. A failure only makes it come back sooner (when its
// current visibility ends), so it is logged, not returned.
func (a drainAcker) postpone(ctx context.Context, items []settling) (int, error) {
	failed := 0
	for _, s := range items {
		if _, err := a.w.queue.ChangeVisibility(ctx, s.handle, s.v.delay); err != nil {
			failed++
			logItem(logging.FromContext(ctx), s.item).Warn("could not postpone a retried message; it returns when its visibility ends",
				zap.Duration("delay", s.v.delay), zap.Error(err))
		}
	}
	return failed, nil
}

// remove deletes the messages, 16 per call.
func (a drainAcker) remove(ctx context.Context, items []settling) int {
	handles := make([]string, len(items))
	for i, s := range items {
		handles[i] = s.handle
	}
	failed := 0
	for _, c := range chunks(handles, MaxReceive) {
		if err := a.w.queue.Delete(ctx, c); err != nil {
			// Usually a stale handle: the message became visible and was
			// received again meanwhile. Tasks are idempotent, so the
			// second run finds nothing left to do.
			failed++
			logging.FromContext(ctx).Warn("delete failed; the messages may be delivered again (harmless, tasks are idempotent)",
				zap.Int("messages", len(c)), zap.Error(err))
		}
	}
	return failed
}

// pushAcker settles messages the MNS trigger delivered: they are gone from
// the queue already.
type pushAcker struct{ w *Worker }

// postpone sends each retried task to the work queue again with Attempt+1,
// grouped by delay, 16 per call. A failure is returned: the invocation must
// fail so that the trigger delivers the batch again.
func (a pushAcker) postpone(ctx context.Context, items []settling) (int, error) {
	byDelay := map[time.Duration][]settling{}
	for _, s := range items {
		byDelay[s.v.delay] = append(byDelay[s.v.delay], s)
	}
	delays := make([]time.Duration, 0, len(byDelay))
	for d := range byDelay {
		delays = append(delays, d)
	}
	slices.Sort(delays)
	log := logging.FromContext(ctx)
	failed := 0
	var errs []error
	for _, delay := range delays {
		for _, c := range chunks(byDelay[delay], MaxReceive) {
			bodies := make([]string, 0, len(c))
			for _, s := range c {
				t := s.task
				t.Attempt = s.deliveries + 1
				body, err := domain.EncodeTask(t)
				if err != nil { // cannot happen for a task that decoded
					failed++
					errs = append(errs, fmt.Errorf("worker: re-encode task %s for retry: %w", t.ID, err))
					continue
				}
				bodies = append(bodies, body)
			}
			if len(bodies) == 0 {
				continue
			}
			if err := a.w.queue.SendBodies(ctx, bodies, delay); err != nil {
				failed += len(bodies)
				errs = append(errs, fmt.Errorf("worker: re-enqueue %d tasks with delay %s: %w", len(bodies), delay, err))
				for _, s := range c {
					logItem(log, s.item).Error("re-enqueue failed", zap.Error(err))
				}
			}
		}
	}
	return failed, errors.Join(errs...)
}

// remove has nothing to do: the trigger deleted the messages on delivery.
func (pushAcker) remove(context.Context, []settling) int { return 0 }

// sendDeadLetters sends the records of deads, 16 per call. When a call
// fails, the records it did not take are sent one by one, and a record
// that still fails is sent as its minimal form (ID, reason, task ID, body
// size and hash). It returns the items whose record (full or minimal) was
// accepted, those whose record was not, how many went minimal, and an
// error when any failed. Once a minimal record fails for another reason
// than its content, the queue itself is taken to be failing and the rest
// is not attempted (it comes back, to be dead-lettered later).
func (w *Worker) sendDeadLetters(ctx context.Context, deads []settling) (sent, failed []settling, minimal int, err error) {
	log := logging.FromContext(ctx)
	var queueErr error
	send := func(body string) error { return w.dlq.SendBodies(ctx, []string{body}, 0) }
	for _, c := range chunks(deads, MaxReceive) {
		if queueErr != nil {
			failed = append(failed, c...)
			continue
		}
		recs := make([]deadletter.Record, len(c))
		bodies := make([]string, len(c))
		for j := range c {
			recs[j] = w.deadLetterRecord(c[j].item, c[j].v.reason, c[j].v.detail)
			bodies[j] = recs[j].Encode()
			c[j].recordID = recs[j].ID
		}
		batchErr := w.dlq.SendBodies(ctx, bodies, 0)
		if batchErr == nil {
			sent = append(sent, c...)
			continue
		}
		bad := failedBodies(batchErr, len(c))
		log.Warn("dead-letter batch send failed; sending its failed records one by one",
			zap.Int("records", len(c)), zap.Int("failed", len(bad)), zap.Error(batchErr))
		for j := range c {
			switch {
			case !bad[j]:
				sent = append(sent, c[j])
				continue
			case queueErr != nil:
				failed = append(failed, c[j])
				continue
			}
			oneErr := send(bodies[j])
			if oneErr == nil {
				sent = append(sent, c[j])
				continue
			}
			minErr := send(recs[j].Shrunk().Encode())
			if minErr == nil {
				minimal++
				sent = append(sent, c[j])
				logItem(log, c[j].item).Warn("dead-letter record refused; sent its minimal form instead",
					zap.String("record_id", recs[j].ID), zap.Error(oneErr))
				continue
			}
			failed = append(failed, c[j])
			if domain.KindOf(minErr) != domain.KindInvalid {
				queueErr = minErr
			}
			err = errors.Join(err, fmt.Errorf("worker: send dead-letter record %s: %w", recs[j].ID, minErr))
		}
	}
	if len(failed) > 0 {
		// err holds the sends that failed; after a queue failure the rest
		// was not attempted.
		err = fmt.Errorf("worker: %d of %d dead-letter records not sent: %w", len(failed), len(deads), err)
	}
	return sent, failed, minimal, err
}

// failedBodies reads which bodies of a SendBodies call failed: the queue
// adapter (and its fake) name each failed body "body #<index>" in the
// call's item errors. When the error says nothing per body, all failed.
func failedBodies(err error, n int) []bool {
	bad := make([]bool, n)
	var items batching.ItemErrors
	if errors.As(err, &items) {
		found := true
		for _, ie := range items {
			var de *domain.Error
			i, perr := -1, error(nil)
			if errors.As(ie, &de) {
				i, perr = strconv.Atoi(strings.TrimPrefix(de.Op, "body #"))
			}
			if de == nil || perr != nil || i < 0 || i >= n {
				found = false
				break
			}
			bad[i] = true
		}
		if found && len(items) > 0 {
			return bad
		}
	}
	for i := range bad {
		bad[i] = true
	}
	return bad
}
