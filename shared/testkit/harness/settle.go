package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/deadletter"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/localcloud/stack"
)

// WaitSettled waits until the work is done: no message on the work queue
// (visible, in flight or delayed) and no trigger push or async invocation
// pending in FC, both holding for quiet. An empty work queue alone says
// nothing: the event stream consumes messages on delivery, so a batch being
// handled, or waiting to be retried, is on no queue.
func (c *Cloud) WaitSettled(ctx context.Context, quiet time.Duration) error {
	var since time.Time
	return WaitFor(ctx, 50*time.Millisecond, func() (bool, string) {
		idleCtx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
		busy := c.FC.WaitIdle(idleCtx) != nil
		cancel()
		depth := c.QueueDepth(stack.WorkQueue)
		if busy || depth > 0 {
			since = time.Time{}
			return false, fmt.Sprintf("%d messages on the work queue, functions busy: %t", depth, busy)
		}
		if since.IsZero() {
			since = time.Now()
		}
		return time.Since(since) >= quiet, "settled only since " + since.Format(time.TimeOnly)
	})
}

// CheckNoDiscards fails t when the event stream or FC's async invocations
// lost an event for good (fcemu's discarded count). Every scenario ends with
// it: with errorsTolerance ALL and a dead-letter queue, nothing may be lost.
func (c *Cloud) CheckNoDiscards(t testing.TB) {
	t.Helper()
	if n := c.FC.Discarded(); n != 0 {
		t.Errorf("the event stream discarded %d event(s); every failed push must reach %s", n, FailedEventsQueue)
		for _, s := range c.FC.Snapshot() {
			if s.DiscardedEvents > 0 {
				t.Logf("%s: %+v", s.Function, s)
			}
		}
	}
}

// QueueBodies returns the bodies of every message on queue, oldest first.
func (c *Cloud) QueueBodies(queue string) []string {
	var out []string
	for _, q := range c.MNS.Snapshot().Queues {
		if q.Name == queue {
			for _, m := range q.Messages {
				out = append(out, m.Body)
			}
		}
	}
	return out
}

// FailedTasks decodes the events the work-queue stream dead-lettered
// (sgpilot-failed-events: one MNS CloudEvent per message, its
// data.messageBody the task) and returns the tasks, plus how many records
// held no decodable task.
func (c *Cloud) FailedTasks() (tasks []domain.Task, undecodable int) {
	for _, body := range c.QueueBodies(FailedEventsQueue) {
		var ev struct {
			Data struct {
				MessageBody string `json:"messageBody"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(body), &ev); err != nil {
			undecodable++
			continue
		}
		t, err := domain.DecodeTask(ev.Data.MessageBody)
		if err != nil {
			undecodable++
			continue
		}
		tasks = append(tasks, t)
	}
	return tasks, undecodable
}

// DeadLetters decodes the worker's dead-letter records (sgpilot-dead-letter),
// plus how many bodies were no record.
func (c *Cloud) DeadLetters() (records []deadletter.Record, undecodable int) {
	for _, body := range c.QueueBodies(stack.DeadLetterQueue) {
		var dl deadletter.Record
		if err := json.Unmarshal([]byte(body), &dl); err != nil {
			undecodable++
			continue
		}
		records = append(records, dl)
	}
	return records, undecodable
}
