package deadletters_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/deadletter"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
	"github.com/sgpilot/sgpilot/shared/usecase/deadletters"
)

const (
	dlqName    = "sgpilot-dead-letter"
	failedName = "sgpilot-failed-events"
)

type rig struct {
	clock          *fake.Clock
	dlq, failed, w *fake.Queue
	tool           *deadletters.Tool
	now            time.Time
}

func mustRead(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func taskBody(tb testing.TB, inst string, attempt int) string {
	tb.Helper()
	tk := domain.NewOnboardTask("cn-hangzhou", inst, "ev-1", time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC))
	tk.Attempt = attempt
	b, err := domain.EncodeTask(tk)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func record(tb testing.TB, msgID, body, reason string, at time.Time) string {
	tb.Helper()
	in := deadletter.Input{MessageID: msgID, Body: body, Reason: reason, Detail: "scripted", FailedAt: at}
	if tk, err := domain.DecodeTask(body); err == nil {
		in.TaskID, in.TaskKind, in.Subject, in.Region = tk.ID, string(tk.Kind), tk.Subject(), tk.RegionID
	}
	return deadletter.New(in).Encode()
}

const (
	inst1 = "i-bp1aaaaaaaaaaaaaaaa1" // in the stream event
	inst2 = "i-bp1aaaaaaaaaaaaaaaa2" // in the async failure
	inst5 = "i-bp1aaaaaaaaaaaaaaaa5"
	inst6 = "i-bp1aaaaaaaaaaaaaaaa6"
)

// newRig seeds the worker's DLQ with three records of two tasks (one of
// them written twice) and an invalid body, and failed-events with a stream
// event and an async failure.
func newRig(t *testing.T) *rig {
	t.Helper()
	now := time.Date(2024, 5, 10, 12, 0, 0, 0, time.UTC)
	c := fake.NewClock(now)
	r := &rig{clock: c, now: now,
		dlq:    fake.NewQueue(fake.QueueOptions{Name: dlqName, Clock: c}),
		failed: fake.NewQueue(fake.QueueOptions{Name: failedName, Clock: c}),
		w:      fake.NewQueue(fake.QueueOptions{Name: "sgpilot-work", Clock: c}),
	}
	r.tool = &deadletters.Tool{Sources: []deadletters.Source{{Name: dlqName, Queue: r.dlq}, {Name: failedName, Queue: r.failed}},
		Work: r.w, Now: c.Now}
	rec5 := record(t, "M5", taskBody(t, inst5, 10), "retries-exhausted", now.Add(-30*time.Minute))
	send(t, r.dlq,
		rec5, rec5, // the same record twice
		record(t, "M6", taskBody(t, inst6, 1), "no-role-group", now.Add(-3*24*time.Hour)),
		record(t, "M7", strings.Repeat("\u0001", 64*1024), "invalid-task", now.Add(-10*24*time.Hour)),
	)
	send(t, r.failed, mustRead(t, "stream-event.json"), mustRead(t, "async-failure.json"))
	return r
}

func send(tb testing.TB, q *fake.Queue, bodies ...string) {
	tb.Helper()
	for _, b := range bodies { // one by one: records are large
		if err := q.SendBodies(context.Background(), []string{b}, 0); err != nil {
			tb.Fatal(err)
		}
	}
}

func (r *rig) run(t *testing.T, req deadletters.Request) deadletters.Result {
	t.Helper()
	res, err := r.tool.Run(context.Background(), req)
	if err != nil {
		t.Fatalf("Run(%+v): %v", req, err)
	}
	return res
}

// visible is how many messages of q a listing could see once the release
// visibility has passed.
func visible(q *fake.Queue) int { return len(q.Snapshot().Messages) }

func TestList_CountsAndGivesBack(t *testing.T) {
	r := newRig(t)
	for round := 0; round < 2; round++ {
		res := r.run(t, deadletters.Request{Action: deadletters.ActionList})
		if res.Read != 6 || res.Letters != 5 || res.Copies != 1 {
			t.Fatalf("round %d: read %d, letters %d, duplicates %d", round, res.Read, res.Letters, res.Copies)
		}
		want := map[string]map[string]int{
			"queue":  {dlqName: 3, failedName: 2},
			"kind":   {"worker": 3, "stream-event": 1, "async-failure": 1},
			"reason": {"retries-exhausted": 1, "no-role-group": 1, "invalid-task": 1, deadletter.ReasonStreamGaveUp: 1, "UnhandledInvocationError": 1},
		}
		got := map[string]map[string]int{"queue": res.ByQueue, "kind": res.ByKind, "reason": res.ByReason}
		for k, w := range want {
			for key, n := range w {
				if got[k][key] != n {
					t.Errorf("by %s %s = %d, want %d (%v)", k, key, got[k][key], n, got[k])
				}
			}
		}
		if res.ByAge["<1h"] != 1 || res.ByAge["1d-7d"] != 1 || res.ByAge[">7d"] < 1 {
			t.Errorf("by age %v", res.ByAge)
		}
		for _, e := range res.Entries {
			if e.Record != nil || e.Raw != "" {
				t.Errorf("list entry %s carries its record or body", e.ID)
			}
		}
		// Nothing was deleted, and everything is visible again a second
		// later: a second listing sees the same.
		if visible(r.dlq) != 4 || visible(r.failed) != 2 || len(r.dlq.Snapshot().Deleted) != 0 {
			t.Fatalf("list changed the queues")
		}
		r.clock.Advance(deadletters.ReleaseVisibility)
		if n := r.dlq.Snapshot().Count(fake.QueueActive) + r.failed.Snapshot().Count(fake.QueueActive); n != 6 {
			t.Fatalf("%d of 6 messages visible after the release", n)
		}
	}
}

func TestRequest_Validate(t *testing.T) {
	tests := []struct {
		name string
		req  deadletters.Request
		ok   bool
	}{
		{"list", deadletters.Request{Action: "list"}, true},
		{"list one queue", deadletters.Request{Action: "list", Queue: failedName}, true},
		{"unknown queue", deadletters.Request{Action: "list", Queue: "sgpilot-work"}, false},
		{"unknown action", deadletters.Request{Action: "drop"}, false},
		{"show without ids", deadletters.Request{Action: "show"}, false},
		{"purge without selection", deadletters.Request{Action: "purge"}, false},
		{"replay without selection", deadletters.Request{Action: "replay", Queue: dlqName}, false},
		{"purge all", deadletters.Request{Action: "purge", All: true}, true},
		{"all and a selection", deadletters.Request{Action: "purge", All: true, Reasons: []string{"x"}}, false},
		{"replay by reason", deadletters.Request{Action: "replay", Reasons: []string{"x"}}, true},
		{"limit too high", deadletters.Request{Action: "list", Limit: deadletters.MaxLimit + 1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.req.Validate([]string{dlqName, failedName})
			if (err == nil) != tc.ok {
				t.Errorf("Validate = %v, want ok %v", err, tc.ok)
			}
			if err != nil && domain.KindOf(err) != domain.KindInvalid {
				t.Errorf("kind %v", domain.KindOf(err))
			}
		})
	}
}

// replayed decodes what went to the work queue.
func replayed(t *testing.T, q *fake.Queue) map[string]domain.Task {
	t.Helper()
	out := map[string]domain.Task{}
	for _, m := range q.Snapshot().Messages {
		tk, err := domain.DecodeTask(m.Body)
		if err != nil {
			t.Fatalf("replayed body is not a task: %v", err)
		}
		out[tk.InstanceID] = tk
	}
	return out
}

func TestReplay_Selections(t *testing.T) {
	tests := []struct {
		name        string
		req         deadletters.Request
		wantTasks   []string // instances sent to the work queue
		wantSkipped int
		leftDLQ     int // messages left on the worker's DLQ
		leftFailed  int
	}{
		{"by reason, duplicates once", deadletters.Request{Reasons: []string{"retries-exhausted"}}, []string{inst5}, 0, 2, 2},
		{"by task ID", deadletters.Request{TaskIDs: []string{"onboard:" + inst6 + ":ev-1"}}, []string{inst6}, 0, 3, 2},
		{"stream event by instance", deadletters.Request{InstanceIDs: []string{inst1}}, []string{inst1}, 0, 4, 1},
		{"async failure is skipped", deadletters.Request{InstanceIDs: []string{inst2}}, nil, 1, 4, 2},
		{"invalid body is skipped", deadletters.Request{Reasons: []string{"invalid-task"}}, nil, 1, 4, 2},
		{"all", deadletters.Request{All: true}, []string{inst1, inst5, inst6}, 2, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			tc.req.Action = deadletters.ActionReplay
			res := r.run(t, tc.req)

			got := replayed(t, r.w)
			if len(got) != len(tc.wantTasks) || res.Replayed != len(tc.wantTasks) || len(res.Skipped) != tc.wantSkipped {
				t.Errorf("replayed %v (%d), skipped %+v; want %v", got, res.Replayed, res.Skipped, tc.wantTasks)
			}
			for _, inst := range tc.wantTasks {
				tk, ok := got[inst]
				// The long polls that found the queues empty moved the clock.
				if !ok || tk.Attempt != 1 || tk.EnqueuedAt.Before(r.now) || tk.EnqueuedAt.After(r.clock.Now()) {
					t.Errorf("task for %s: %+v (sent %v); want attempt 1, enqueued now", inst, tk, ok)
				}
			}
			if len(r.w.Snapshot().Messages) != len(tc.wantTasks) {
				t.Errorf("%d messages on the work queue, want %d", len(r.w.Snapshot().Messages), len(tc.wantTasks))
			}
			if visible(r.dlq) != tc.leftDLQ || visible(r.failed) != tc.leftFailed {
				t.Errorf("left %d + %d, want %d + %d", visible(r.dlq), visible(r.failed), tc.leftDLQ, tc.leftFailed)
			}
			if len(res.Errors) != 0 {
				t.Errorf("errors %v", res.Errors)
			}
		})
	}
}

func TestReplay_WorkQueueFailureKeepsLetters(t *testing.T) {
	r := newRig(t)
	r.w.FailNext(fake.QueueOpSend, fake.QueueUnavailable())
	res := r.run(t, deadletters.Request{Action: deadletters.ActionReplay, All: true})
	if res.Replayed != 0 || len(res.Errors) != 1 || visible(r.dlq) != 4 || visible(r.failed) != 2 {
		t.Errorf("replayed %d, errors %v, left %d + %d", res.Replayed, res.Errors, visible(r.dlq), visible(r.failed))
	}
}

func TestPurge(t *testing.T) {
	r := newRig(t)
	list := r.run(t, deadletters.Request{Action: deadletters.ActionList})
	var dupID string
	for _, e := range list.Entries {
		if e.Copies == 2 {
			dupID = e.ID
		}
	}
	r.clock.Advance(deadletters.ReleaseVisibility)

	res := r.run(t, deadletters.Request{Action: deadletters.ActionPurge, IDs: []string{dupID, "ev-2f3c6a58-7c1e-4b57-9d3e-000000000001"}})
	if res.Purged != 2 || visible(r.dlq) != 2 || visible(r.failed) != 1 {
		t.Errorf("purged %d, left %d + %d", res.Purged, visible(r.dlq), visible(r.failed))
	}
	r.clock.Advance(deadletters.ReleaseVisibility)
	res = r.run(t, deadletters.Request{Action: deadletters.ActionPurge, All: true, Queue: failedName})
	if res.Purged != 1 || visible(r.failed) != 0 || visible(r.dlq) != 2 {
		t.Errorf("purge all of %s: purged %d, left %d + %d", failedName, res.Purged, visible(r.dlq), visible(r.failed))
	}
}

func TestShowAndRenderText(t *testing.T) {
	r := newRig(t)
	res := r.run(t, deadletters.Request{Action: deadletters.ActionShow, IDs: []string{"fc-1-6632f0a1-0000000000000001"}})
	if res.Letters != 1 || res.Entries[0].Raw == "" || res.Entries[0].Function != "instance-created" {
		t.Fatalf("show %+v", res.Entries)
	}
	var b bytes.Buffer
	if err := deadletters.RenderText(&b, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1 letter(s)", "function:  instance-created", "instances: " + inst2, "replay:    no:", "raw:"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("show text lacks %q:\n%s", want, b.String())
		}
	}

	r.clock.Advance(deadletters.ReleaseVisibility)
	b.Reset()
	if err := deadletters.RenderText(&b, r.run(t, deadletters.Request{Action: deadletters.ActionList})); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"5 letter(s) in 6 message(s)", "1 duplicate", "by reason:", "ID ", inst5, "stream-event"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("list text lacks %q:\n%s", want, b.String())
		}
	}
}
