package fcemu_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/fcemu"
)

func mustJSON(tb testing.TB, s string, v any) {
	tb.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		tb.Fatalf("decode %q: %v", s, err)
	}
}

func TestTimerTrigger_ClockJumpFiresOnce(t *testing.T) {
	env := newEnv()
	env.Clock.Freeze()
	spec := testSpec("sweeper")
	spec.Triggers = []fcemu.TriggerSpec{{
		Name: "every-15m", Type: fcemu.TriggerTimer, Enabled: true,
		Timer: &fcemu.TimerTrigger{CronExpression: "0 */15 * * * *", Payload: `{"mode":"sweep"}`},
	}, {
		Name: "disabled", Type: fcemu.TriggerTimer, Enabled: false,
		Timer: &fcemu.TimerTrigger{CronExpression: "@every 1m"},
	}}
	e := MustEmulator(t, env, fastOptions(), spec)
	now := env.Clock.Now()
	firstDue := now.Truncate(15 * time.Minute).Add(15 * time.Minute)

	env.Clock.Advance(15 * time.Minute)
	waitFor(t, 10*time.Second, "first timer invocation", func() bool { return len(e.History("sweeper")) == 1 })
	MustWaitIdle(t, e)
	h := e.History("sweeper")[0]
	if h.Source != "timer/every-15m" || !h.Async {
		t.Errorf("record = %+v", h)
	}
	var ev fcemu.TimerEvent
	mustJSON(t, string(h.Payload), &ev)
	want := fcemu.TimerEvent{TriggerTime: firstDue.UTC().Format("2006-01-02T15:04:05Z"), TriggerName: "every-15m", Payload: `{"mode":"sweep"}`}
	if ev != want {
		t.Errorf("timer event = %+v, want %+v", ev, want)
	}

	// A jump over eight fire times fires once.
	env.Clock.Advance(2 * time.Hour)
	waitFor(t, 10*time.Second, "second timer invocation", func() bool { return len(e.History("sweeper")) == 2 })
	time.Sleep(200 * time.Millisecond)
	MustWaitIdle(t, e)
	if n := len(e.History("sweeper")); n != 2 {
		t.Errorf("invocations after the 2 h jump = %d, want 2 in total", n)
	}
}

func TestEventBridge_DefaultBusPattern(t *testing.T) {
	env := newEnv()
	spec := testSpec("onevent")
	spec.Triggers = []fcemu.TriggerSpec{{
		Name: "ecs-running", Type: fcemu.TriggerEventBridge, Enabled: true,
		EventBridge: &fcemu.EventBridgeTrigger{
			AsyncInvocation: true,
			SourceType:      fcemu.SourceDefault,
			FilterPattern:   `{"source":["acs.ecs"],"type":["ecs:Instance:StateChange"],"data":{"state":["Running"]}}`,
		},
	}}
	e := MustEmulator(t, env, fastOptions(), spec)
	publish := func(id, typ, state string) {
		env.Events.Publish(core.CloudEvent{
			ID: id, Source: "acs.ecs", SpecVersion: "1.0", Type: typ, Time: "2024-05-01T08:00:00Z",
			AliyunAccountID: testAccount, AliyunRegionID: "cn-hangzhou", AliyunEventBusName: "default",
			Data: json.RawMessage(`{"resourceId":"i-bp1aaaaaaaaaaaaaaaa1","state":"` + state + `"}`),
		})
	}
	publish("ev-match", "ecs:Instance:StateChange", "Running")
	publish("ev-state", "ecs:Instance:StateChange", "Stopped")
	publish("ev-type", "ecs:ActionTrail:ApiCall", "Running")
	MustWaitIdle(t, e)
	hist := e.History("onevent")
	if len(hist) != 1 {
		t.Fatalf("invocations = %d, want 1 (only the matching event)", len(hist))
	}
	var ev core.CloudEvent
	mustJSON(t, string(hist[0].Payload), &ev)
	if ev.ID != "ev-match" || !strings.HasPrefix(string(hist[0].Payload), "{") {
		t.Errorf("delivered %s, want the matching event as one object", hist[0].Payload)
	}
}

func TestEventBridge_SyncTriggerRetriesThenDeadLetters(t *testing.T) {
	env := newEnv()
	q := newMemQueue(time.Second)
	opts := fastOptions()
	opts.Sender = q
	spec := testSpec("syncevent")
	spec.Triggers = []fcemu.TriggerSpec{{
		Name: "all", Type: fcemu.TriggerEventBridge, Enabled: true,
		EventBridge: &fcemu.EventBridgeTrigger{
			SourceType:      fcemu.SourceDefault,
			FilterPattern:   `{"source":[{"prefix":"acs."}]}`,
			Retry:           fcemu.RetryStrategy{MaximumRetryAttempts: fcemu.IntPtr(1)},
			DeadLetterQueue: "acs:mns:cn-hangzhou:" + testAccount + ":/queues/eb-dlq",
		},
	}}
	e := MustEmulator(t, env, opts, spec)
	env.Events.Publish(core.CloudEvent{ID: "bad", Source: "acs.ecs", Type: "x", Data: json.RawMessage(`{"action":"error","message":"nope"}`)})
	MustWaitIdle(t, e)
	if n := len(e.History("syncevent")); n != 2 {
		t.Errorf("attempts = %d, want 2", n)
	}
	if d := q.bodies("eb-dlq"); len(d) != 1 || !strings.Contains(d[0], `"id":"bad"`) {
		t.Errorf("dead letters = %q", d)
	}
}

func TestMNSTrigger_EventDrivenConsumesAndDiscardsAfterDefaultRetries(t *testing.T) {
	env := newEnv()
	q := newMemQueue(300 * time.Millisecond)
	opts := fastOptions()
	opts.Queues = q
	spec := testSpec("worker")
	spec.Triggers = []fcemu.TriggerSpec{{
		Name: "mns-queue", Type: fcemu.TriggerEventBridge, Enabled: true,
		EventBridge: &fcemu.EventBridgeTrigger{
			SourceType:    fcemu.SourceMNS,
			FilterPattern: `{"source":["MNS-worker-mns-queue"]}`,
			MNS:           &fcemu.MNSSource{QueueName: "tasks"},
		},
	}}
	_ = q.Send("tasks", `{"task":1}`)
	_ = q.Send("tasks", `{"action":"error","message":"poison"}`)
	_ = q.Send("tasks", `{"task":2}`)
	e := MustEmulator(t, env, opts, spec)

	waitFor(t, 10*time.Second, "every message consumed", func() bool { return len(q.bodies("tasks")) == 0 })
	waitFor(t, 10*time.Second, "poison message discarded", func() bool { return e.Discarded() == 1 })
	MustWaitIdle(t, e)
	var ok, failed int
	for _, h := range e.History("worker") {
		if h.Error != nil {
			failed++
			continue
		}
		ok++
		var ev struct {
			Source, Type, Subject string
			Data                  struct{ MessageID, MessageBody string }
		}
		mustJSON(t, string(h.Payload), &ev)
		if ev.Type != "mns:Queue:SendMessage" || ev.Source != "MNS-worker-mns-queue" ||
			ev.Subject != "acs:mns:cn-hangzhou:"+testAccount+":queues/tasks" || !strings.HasPrefix(ev.Data.MessageBody, `{"task":`) {
			t.Errorf("event = %s", h.Payload)
		}
	}
	// BACKOFF_RETRY, the default: the first attempt and 3 retries, no more.
	if ok != 2 || failed != 4 {
		t.Errorf("successful pushes = %d, failed attempts = %d; want 2 and 4", ok, failed)
	}
	st, _ := e.Stats("worker")
	if st.DiscardedEvents != 1 || st.TriggerRetries != 3 || st.DeadLetteredEvents != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestMNSTrigger_BatchWindowDeliversArray(t *testing.T) {
	env := newEnv()
	q := newMemQueue(5 * time.Second)
	opts := fastOptions()
	opts.Queues = q
	spec := testSpec("batcher")
	spec.Triggers = []fcemu.TriggerSpec{{
		Name: "batch", Type: fcemu.TriggerEventBridge, Enabled: true,
		EventBridge: &fcemu.EventBridgeTrigger{
			SourceType: fcemu.SourceMNS,
			Mode:       fcemu.ModeEventStreaming,
			MNS:        &fcemu.MNSSource{QueueName: "b64", IsBase64Decode: true},
			Batch:      &fcemu.BatchWindow{Count: 3, Time: 2 * time.Second},
		},
	}}
	for _, s := range []string{"one", "two", "three"} {
		_ = q.Send("b64", base64.StdEncoding.EncodeToString([]byte(s)))
	}
	e := MustEmulator(t, env, opts, spec)
	waitFor(t, 10*time.Second, "batch consumed", func() bool { return len(q.bodies("b64")) == 0 })
	MustWaitIdle(t, e)
	hist := e.History("batcher")
	if len(hist) != 1 {
		t.Fatalf("invocations = %d, want one batch", len(hist))
	}
	var res struct {
		Batch  int
		Bodies []string
	}
	mustJSON(t, string(hist[0].Result), &res)
	if res.Batch != 3 || strings.Join(res.Bodies, ",") != "one,two,three" {
		t.Errorf("batch result = %+v", res)
	}
	if !strings.HasPrefix(string(hist[0].Payload), "[") {
		t.Errorf("payload is not an array: %s", hist[0].Payload)
	}
}
