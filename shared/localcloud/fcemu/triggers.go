package fcemu

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
)

// trigger is a TriggerSpec with its schedule or pattern parsed.
type trigger struct {
	f        *function
	spec     TriggerSpec
	schedule Schedule
	pattern  *Pattern
}

func newTrigger(f *function, spec TriggerSpec) (*trigger, error) {
	t := &trigger{f: f, spec: spec}
	var err error
	switch spec.Type {
	case TriggerTimer:
		t.schedule, err = ParseCron(spec.Timer.CronExpression)
	case TriggerEventBridge:
		t.pattern, err = ParsePattern(spec.EventBridge.FilterPattern)
	}
	return t, err
}

func (t *trigger) source() string { return t.spec.Type + "/" + t.spec.Name }

// startTriggersLocked starts the timer and MNS loops of f (e.mu held).
// Default-bus EventBridge triggers are served by the one bus subscription.
func (e *Emulator) startTriggersLocked(f *function) {
	for _, t := range f.triggers {
		if !t.spec.Enabled {
			continue
		}
		switch {
		case t.spec.Type == TriggerTimer:
			// The first fire time is fixed now, so a clock jump right after
			// Start is seen as passing it.
			next := t.schedule.Next(e.env.Clock.Now())
			e.bg.Add(1)
			go func() {
				defer e.bg.Done()
				e.runTimer(t, next)
			}()
		case t.spec.EventBridge.SourceType == SourceMNS:
			e.bg.Add(1)
			go func() {
				defer e.bg.Done()
				e.runMNS(t)
			}()
		}
	}
}

// runTimer fires t on the emulated clock. When the clock jumps over several
// fire times the trigger fires once, for the first missed time, and then
// schedules from the new "now": skipped fire times are dropped (a jump of a
// day over a per-minute timer yields one invocation, not 1440).
func (e *Emulator) runTimer(t *trigger, next time.Time) {
	clock := e.env.Clock
	for !next.IsZero() {
		changed := clock.Changed()
		now := clock.Now()
		if !now.Before(next) {
			e.fireTimer(t, next)
			next = t.schedule.Next(now)
			continue
		}
		wait := time.NewTimer(next.Sub(now))
		select {
		case <-e.ctx.Done():
			wait.Stop()
			return
		case <-changed:
		case <-wait.C:
		}
		wait.Stop()
	}
}

// TimerEvent is the payload of a timer-trigger invocation.
type TimerEvent struct {
	TriggerTime string `json:"triggerTime"`
	TriggerName string `json:"triggerName"`
	Payload     string `json:"payload"`
}

func (e *Emulator) fireTimer(t *trigger, at time.Time) {
	body, _ := json.Marshal(TimerEvent{
		TriggerTime: at.UTC().Format("2006-01-02T15:04:05Z"),
		TriggerName: t.spec.Name,
		Payload:     t.spec.Timer.Payload,
	})
	id := newRequestID()
	t.f.note("timer %s fired for %s, request %s", t.spec.Name, at.UTC().Format(time.RFC3339), id)
	if err := e.invokeAsync(t.f, id, body, &request{source: t.source()}); err != nil && !errors.Is(err, ErrClosed) {
		t.f.note("timer %s: %v", t.spec.Name, err)
	}
}

// onEvent is the env.Events subscription: it matches the event against
// every Default-source EventBridge trigger and hands matches off.
func (e *Emulator) onEvent(ev core.CloudEvent) {
	if ev.AliyunEventBusName != "" && ev.AliyunEventBusName != "default" {
		return // only the default bus is modelled
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return
	}
	var generic map[string]any
	if err := json.Unmarshal(body, &generic); err != nil {
		return
	}
	e.mu.Lock()
	var matched []*trigger
	for _, f := range e.funcs {
		for _, t := range f.triggers {
			if t.spec.Type == TriggerEventBridge && t.spec.Enabled &&
				t.spec.EventBridge.SourceType == SourceDefault && t.pattern.Match(generic) {
				matched = append(matched, t)
			}
		}
	}
	e.mu.Unlock()
	for _, t := range matched {
		t.f.note("event %s (%s) matched trigger %s", ev.ID, ev.Type, t.spec.Name)
		if t.spec.EventBridge.AsyncInvocation {
			if err := e.invokeAsync(t.f, newRequestID(), body, &request{source: t.source()}); err != nil && !errors.Is(err, ErrClosed) {
				t.f.note("trigger %s: %v", t.spec.Name, err)
			}
			continue
		}
		e.goBackground(func() { e.deliverSync(t, body) })
	}
}

// deliverSync is EventBridge's push of one event to a synchronous trigger:
// retried per retryStrategy, then dead-lettered or dropped.
func (e *Emulator) deliverSync(t *trigger, body []byte) {
	eb := t.spec.EventBridge
	max := DefaultEventBridgeRetries
	if eb.MaxRetryAttempts != nil {
		max = *eb.MaxRetryAttempts
	}
	for attempt := 0; ; attempt++ {
		res, err := e.attempt(e.ctx, t.f, newRequestID(), body, 0, &request{source: t.source()})
		if e.ctx.Err() != nil {
			return
		}
		if err == nil && res.Error == nil {
			return
		}
		if attempt >= max {
			break
		}
		t.f.count(func(s *FunctionStats) { s.TriggerRetries++ })
		if !e.sleep(e.backoff(e.opts.RetryBackoff, attempt+1)) {
			return
		}
	}
	if eb.DeadLetterQueue != "" {
		e.sendToQueue(t.f, eb.DeadLetterQueue, string(body), "dead-lettered event of trigger "+t.spec.Name)
		return
	}
	t.f.count(func(s *FunctionStats) { s.DroppedEvents++ })
	t.f.note("trigger %s: event dropped after %d attempts", t.spec.Name, max+1)
}

// runMNS polls the trigger's queue and delivers its messages until Close.
func (e *Emulator) runMNS(t *trigger) {
	eb := t.spec.EventBridge
	queue := eb.MNS.QueueName
	if e.opts.Queues == nil {
		t.f.note("trigger %s: no QueueSource configured; queue %s is not polled", t.spec.Name, queue)
		return
	}
	tasks := eb.MaximumTasks
	if tasks <= 0 {
		tasks = 1
	}
	sem := make(chan struct{}, tasks)
	lastErr := ""
	for e.ctx.Err() == nil {
		msgs, err := e.receiveBatch(t, queue)
		if err != nil {
			if e.ctx.Err() != nil {
				return
			}
			if err.Error() != lastErr {
				t.f.note("trigger %s: receive from %s: %v", t.spec.Name, queue, err)
				lastErr = err.Error()
			}
			e.sleep(time.Second)
			continue
		}
		lastErr = ""
		var groups [][]QueueMessage
		if eb.Batch != nil {
			groups = [][]QueueMessage{msgs}
		} else {
			for _, m := range msgs {
				groups = append(groups, []QueueMessage{m})
			}
		}
		for _, g := range groups {
			if len(g) == 0 {
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-e.ctx.Done():
				return
			}
			if !e.goBackground(func() {
				defer func() { <-sem }()
				e.deliverMNS(t, queue, g)
			}) {
				return
			}
		}
	}
}

// receiveBatch receives one delivery's worth of messages: a single receive
// without a batch window, or up to Count messages within Time with one.
func (e *Emulator) receiveBatch(t *trigger, queue string) ([]QueueMessage, error) {
	eb := t.spec.EventBridge
	src := e.opts.Queues
	if eb.Batch == nil {
		n := eb.MaximumTasks
		if n <= 0 {
			n = 1
		}
		return src.Receive(e.ctx, queue, min(n, 16), e.opts.MNSPollWait)
	}
	count := eb.Batch.Count
	if count <= 0 {
		count = DefaultBatchCount
	}
	msgs, err := src.Receive(e.ctx, queue, min(count, 16), e.opts.MNSPollWait)
	if err != nil || len(msgs) == 0 {
		return msgs, err
	}
	deadline := time.Now().Add(eb.Batch.Time)
	for len(msgs) < count {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		more, err := src.Receive(e.ctx, queue, min(count-len(msgs), 16), left)
		if err != nil {
			break // deliver what we have; the error shows up on the next poll
		}
		msgs = append(msgs, more...)
	}
	return msgs, nil
}

// deliverMNS wraps messages as mns:Queue:SendMessage CloudEvents, invokes
// the function and deletes the messages after success. On failure they stay
// in the queue and reappear after their visibility timeout.
func (e *Emulator) deliverMNS(t *trigger, queue string, msgs []QueueMessage) {
	eb := t.spec.EventBridge
	f := t.f
	region := e.region(f)
	busName := "MNS-" + f.spec.Name + "-" + t.spec.Name
	var events []json.RawMessage
	var keep []QueueMessage
	for _, m := range msgs {
		body := m.Body
		if eb.MNS.IsBase64Decode {
			if dec, err := base64.StdEncoding.DecodeString(body); err == nil {
				body = string(dec)
			} else {
				f.note("trigger %s: message %s is not valid base64; delivered as is", t.spec.Name, m.ID)
			}
		}
		data, _ := json.Marshal(map[string]string{
			"requestId":   core.NewHexID(12),
			"messageId":   m.ID,
			"messageBody": body,
		})
		enq := m.EnqueueTime
		if enq.IsZero() {
			enq = e.env.Clock.Now()
		}
		ev := core.CloudEvent{
			ID:                      newRequestID(),
			Source:                  busName,
			SpecVersion:             "1.0",
			Type:                    "mns:Queue:SendMessage",
			DataContentType:         "application/json; charset=utf-8",
			Subject:                 "acs:mns:" + region + ":" + e.env.AccountID + ":queues/" + queue,
			Time:                    enq.UTC().Format("2006-01-02T15:04:05.000Z"),
			AliyunAccountID:         e.env.AccountID,
			AliyunOriginalAccountID: e.env.AccountID,
			AliyunRegionID:          region,
			AliyunPublishTime:       e.env.Clock.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
			AliyunEventBusName:      busName,
			AliyunPublishAddr:       "127.0.0.1",
			Data:                    data,
		}
		raw, _ := json.Marshal(ev)
		if !t.pattern.MatchJSON(raw) {
			// Filtered out by the rule: EventBridge consumes it without delivery.
			f.note("trigger %s: message %s does not match the filter pattern; consumed", t.spec.Name, m.ID)
			e.deleteMessages(t, queue, []QueueMessage{m})
			continue
		}
		events = append(events, raw)
		keep = append(keep, m)
	}
	if len(events) == 0 {
		return
	}
	var body []byte
	if eb.Batch != nil {
		body, _ = json.Marshal(events)
	} else {
		body = events[0]
	}
	id := newRequestID()
	if eb.AsyncInvocation {
		if err := e.invokeAsync(f, id, body, &request{source: t.source()}); err != nil {
			f.note("trigger %s: %v; messages left in the queue", t.spec.Name, err)
			return
		}
		e.deleteMessages(t, queue, keep)
		return
	}
	res, err := e.attempt(e.ctx, f, id, body, 0, &request{source: t.source()})
	if err != nil || res.Error != nil {
		if e.ctx.Err() == nil {
			f.note("trigger %s: delivery of %d message(s) failed; left in the queue for redelivery", t.spec.Name, len(keep))
		}
		return
	}
	e.deleteMessages(t, queue, keep)
}

func (e *Emulator) deleteMessages(t *trigger, queue string, msgs []QueueMessage) {
	for _, m := range msgs {
		if err := e.opts.Queues.Delete(queue, m.ReceiptHandle); err != nil {
			t.f.note("trigger %s: delete message %s: %v", t.spec.Name, m.ID, err)
		}
	}
}
