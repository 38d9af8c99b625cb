package fcemu

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"sync/atomic"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
)

// trigger is a TriggerSpec with its schedule or pattern parsed.
type trigger struct {
	f        *function
	spec     TriggerSpec
	schedule Schedule
	pattern  *Pattern
	// blocked is set when a push failed for good under errorsTolerance
	// NONE: the stream then consumes nothing more.
	blocked atomic.Bool
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
	if e.opts.DropEvent != nil && e.opts.DropEvent(ev) {
		return
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
		e.goBackground(func() { e.push(t, body, []json.RawMessage{body}) })
	}
}

// maxReceive is the most messages one MNS ReceiveMessage call returns.
const maxReceive = 16

// pushPolicy is what EventBridge does with a push whose invocation failed:
// retry it, then dead-letter it, discard it or stop the stream.
type pushPolicy struct {
	retry     RetryStrategy
	tolerance string
	dlq       string
}

// policy resolves t's push policy. runOptions apply to event streams only
// (devsapp/fc3 triggers.md: "runOptions 中参数只有在 mode 为 event-streaming
// 时才有效"), so an MNS source in event-driven mode gets the default retry
// policy, no dead-letter queue and tolerates errors (unconfirmed). A
// Default-bus trigger keeps its retryStrategy and deadLetterQueue
// (unconfirmed too) and never blocks: it has no stream to stop.
func (t *trigger) policy() pushPolicy {
	eb := t.spec.EventBridge
	switch {
	case eb.streaming():
		tol := eb.ErrorsTolerance
		if tol == "" {
			tol = ToleranceNone // FC 3.0 RunOptions: "The default value is NONE"
		}
		return pushPolicy{retry: eb.Retry, tolerance: tol, dlq: eb.DeadLetterQueue}
	case eb.SourceType == SourceMNS:
		return pushPolicy{tolerance: ToleranceAll}
	default:
		return pushPolicy{retry: eb.Retry, tolerance: ToleranceAll, dlq: eb.DeadLetterQueue}
	}
}

// window returns how many messages one push may carry and how long to wait
// for them. An event-driven push carries one message; a stream without a
// batch window pushes one-element arrays (unconfirmed).
func (t *trigger) window() (int, time.Duration) {
	eb := t.spec.EventBridge
	if !eb.streaming() || eb.Batch == nil {
		return 1, 0
	}
	count := eb.Batch.Count
	if count <= 0 {
		count = DefaultBatchCount
	}
	return count, eb.Batch.Time
}

func (t *trigger) tasks() int {
	if n := t.spec.EventBridge.MaximumTasks; n > 0 {
		return n
	}
	return 1
}

// push hands one push (a single event or a batch) to t's function and, when
// the invocation fails, retries it per t's policy, waiting the policy's
// intervals times Options.RetryTimeScale. A push still failing after the
// last retry is settled by settleFailure. Close abandons a push.
func (e *Emulator) push(t *trigger, body []byte, events []json.RawMessage) {
	p := t.policy()
	delays := p.retry.Delays(nil)
	for attempt := 0; ; attempt++ {
		err := e.pushOnce(t, body)
		if e.ctx.Err() != nil {
			return
		}
		if err == nil {
			return
		}
		if attempt >= len(delays) {
			break
		}
		t.f.count(func(s *FunctionStats) { s.TriggerRetries++ })
		if !e.sleep(e.scaleRetry(delays[attempt])) {
			return
		}
	}
	e.settleFailure(t, p, events, len(delays)+1)
}

// pushOnce is one attempt: a synchronous invocation whose function error
// fails the push, or, with asyncInvocationType, FC accepting the event.
func (e *Emulator) pushOnce(t *trigger, body []byte) error {
	req := &request{source: t.source()}
	if t.spec.EventBridge.AsyncInvocation {
		return e.invokeAsync(t.f, newRequestID(), body, req)
	}
	res, err := e.attempt(e.ctx, t.f, newRequestID(), body, 0, req)
	if err != nil {
		return err
	}
	if res.Error != nil {
		return res.Error
	}
	return nil
}

// settleFailure applies the fault tolerance policy to a push that failed
// every attempt: NONE stops the stream; ALL sends each event of the push to
// the dead-letter queue when there is one, else discards them.
func (e *Emulator) settleFailure(t *trigger, p pushPolicy, events []json.RawMessage, attempts int) {
	f, n := t.f, int64(len(events))
	switch {
	case p.tolerance == ToleranceNone:
		t.blocked.Store(true)
		f.count(func(s *FunctionStats) { s.BlockedEvents += n })
		f.note("trigger %s: push of %d event(s) failed %d time(s); errorsTolerance NONE stops the stream", t.spec.Name, n, attempts)
	case p.dlq != "":
		for _, ev := range events {
			if e.sendToQueue(f, p.dlq, string(ev), "dead-lettered event of trigger "+t.spec.Name) {
				f.count(func(s *FunctionStats) { s.DeadLetteredEvents++ })
			} else {
				f.count(func(s *FunctionStats) { s.DiscardedEvents++ })
			}
		}
	default:
		f.count(func(s *FunctionStats) { s.DiscardedEvents += n })
		f.note("trigger %s: %d event(s) discarded after %d failed attempt(s) (no dead-letter queue)", t.spec.Name, n, attempts)
	}
}

// runMNS is the EventBridge MNS source of t: it takes a free task slot,
// receives one push's worth of messages, consumes them and pushes them in
// the background, until Close or until the stream is blocked. Slots are
// taken before receiving, so no message is consumed while every task is
// busy (retries included).
func (e *Emulator) runMNS(t *trigger) {
	queue := t.spec.EventBridge.MNS.QueueName
	if e.opts.Queues == nil {
		t.f.note("trigger %s: no QueueSource configured; queue %s is not polled", t.spec.Name, queue)
		return
	}
	slots := make(chan struct{}, t.tasks())
	lastErr := ""
	for e.ctx.Err() == nil && !t.blocked.Load() {
		select {
		case slots <- struct{}{}:
		case <-e.ctx.Done():
			return
		}
		if t.blocked.Load() {
			return
		}
		msgs, err := e.receiveBatch(t, queue)
		if err != nil {
			<-slots
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
		events := e.consume(t, queue, msgs)
		if len(events) == 0 {
			<-slots
			continue
		}
		body := pushBody(t, events)
		if !e.goBackground(func() {
			defer func() { <-slots }()
			e.push(t, body, events)
		}) {
			return
		}
	}
}

// pushBody is what the function receives: a JSON array of CloudEvents from
// an event stream, one CloudEvent object from an event-driven trigger.
func pushBody(t *trigger, events []json.RawMessage) []byte {
	if !t.spec.EventBridge.streaming() {
		return events[0]
	}
	body, _ := json.Marshal(events)
	return body
}

// receiveBatch receives one push's worth of messages: up to the window's
// count, waiting at most its time once the first message is in.
func (e *Emulator) receiveBatch(t *trigger, queue string) ([]QueueMessage, error) {
	src := e.opts.Queues
	count, window := t.window()
	msgs, err := src.Receive(e.ctx, queue, min(count, maxReceive), e.opts.MNSPollWait)
	if err != nil || len(msgs) == 0 || window <= 0 {
		return msgs, err
	}
	deadline := time.Now().Add(window)
	for len(msgs) < count {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		more, err := src.Receive(e.ctx, queue, min(count-len(msgs), maxReceive), left)
		if err != nil {
			break // push what we have; the error shows up on the next receive
		}
		msgs = append(msgs, more...)
	}
	return msgs, nil
}

// consume deletes the received messages from the queue (EventBridge owns
// them from now on, whatever the push's outcome) and returns the
// CloudEvents the filter pattern lets through; the others are consumed
// undelivered.
func (e *Emulator) consume(t *trigger, queue string, msgs []QueueMessage) []json.RawMessage {
	var events []json.RawMessage
	for _, m := range msgs {
		if err := e.opts.Queues.Delete(queue, m.ReceiptHandle); err != nil {
			// The message comes back after its visibility timeout: at least once.
			t.f.note("trigger %s: delete message %s: %v", t.spec.Name, m.ID, err)
		}
		ev := e.mnsEvent(t, queue, m)
		if !t.pattern.MatchJSON(ev) {
			t.f.count(func(s *FunctionStats) { s.FilteredEvents++ })
			t.f.note("trigger %s: message %s does not match the filter pattern; consumed", t.spec.Name, m.ID)
			continue
		}
		events = append(events, ev)
	}
	return events
}

// mnsEvent wraps one message as the mns:Queue:SendMessage CloudEvent
// EventBridge delivers, from source "MNS-<function>-<trigger>".
func (e *Emulator) mnsEvent(t *trigger, queue string, m QueueMessage) json.RawMessage {
	f := t.f
	region := e.region(f)
	busName := "MNS-" + f.spec.Name + "-" + t.spec.Name
	body := m.Body
	if t.spec.EventBridge.MNS.IsBase64Decode {
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
	return raw
}
