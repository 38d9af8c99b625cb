package intake_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
	"github.com/sgpilot/sgpilot/shared/usecase/intake"
)

const (
	account = "1234567890123456"
	flatID  = "b1f0c6de-8d2a-4a6e-9a5f-2f7c1e0d0a01"
	runID   = "4c7d2e10-5f3a-4b8c-9d1e-0a2b3c4d5e06"
	inst1   = "i-bp1aaaaaaaaaaaaaaaa1"
	inst2   = "i-bp1aaaaaaaaaaaaaaaa2"
)

func validator() intake.Validator {
	return intake.Validator{ExpectedAccountID: account, AllowedRegions: []string{"cn-hangzhou", "cn-shanghai"}}
}

func flatEvent(mutate func(string) string) string {
	ev := `{"id":"` + flatID + `","source":"acs.ecs","specversion":"1.0","type":"ecs:Instance:StateChange",
	"time":"2024-05-01T16:00:03+08:00","aliyunaccountid":"` + account + `","aliyunregionid":"cn-hangzhou",
	"data":{"resourceId":"` + inst1 + `","resourceType":"ALIYUN::ECS::Instance","regionId":"cn-hangzhou","state":"Created"}}`
	if mutate != nil {
		ev = mutate(ev)
	}
	return ev
}

func TestEnqueuer_HandleEvent(t *testing.T) {
	cases := []struct {
		name     string
		raw      string
		want     intake.Summary
		wantKind *domain.Kind // nil: no error
		rejected []string     // substrings of the rejection reasons, in order
	}{
		{name: "state change, flat data", raw: string(MustFixture(t, "statechange-flat.json")),
			want: intake.Summary{Mode: "event", Received: 1, Accepted: 1, Enqueued: 1,
				TaskIDs: []string{"onboard:" + inst1 + ":" + flatID}}},
		{name: "state change, CloudMonitor body with ARN", raw: string(MustFixture(t, "statechange-nested.json")),
			want: intake.Summary{Mode: "event", Received: 1, Accepted: 1, Enqueued: 1,
				TaskIDs: []string{"onboard:i-uf6bbbbbbbbbbbbbbbb2:c2a1d7ef-9e3b-4b7f-8a60-3a8d2f1e1b02"}}},
		{name: "ActionTrail RunInstances with two instances", raw: string(MustFixture(t, "actiontrail-runinstances.json")),
			want: intake.Summary{Mode: "event", Received: 1, Accepted: 1, Enqueued: 2,
				TaskIDs: []string{"onboard:" + inst1 + ":" + runID, "onboard:" + inst2 + ":" + runID}}},
		{name: "ActionTrail CreateInstance", raw: string(MustFixture(t, "actiontrail-createinstance.json")),
			want: intake.Summary{Mode: "event", Received: 1, Accepted: 1, Enqueued: 1,
				TaskIDs: []string{"onboard:i-bp1cccccccccccccccc3:5d8e3f21-6a4b-4c9d-8e2f-1b3c4d5e6f07"}}},
		{name: "batch: dedupe across events, ignore a stop", raw: string(MustFixture(t, "batch.json")),
			want: intake.Summary{Mode: "event", Received: 3, Accepted: 2, Enqueued: 2, Duplicates: 1,
				Ignored: []intake.Skip{{EventID: "d3b2e8f0-0f4c-4c80-9b71-4b9e3a2f2c03", Reason: `state "Stopped" does not announce a new instance`}},
				TaskIDs: []string{"onboard:" + inst1 + ":" + flatID, "onboard:" + inst2 + ":" + runID}}},
		{name: "unrelated source ignored", raw: string(MustFixture(t, "wrong-source.json")),
			want: intake.Summary{Mode: "event", Received: 1,
				Ignored: []intake.Skip{{EventID: "80b16254-9d7e-4fc0-b152-4e6f7a8b9c0a", Reason: `source "acs.oss" is not acs.ecs`}}}},
		{name: "unrelated API call ignored", raw: string(MustFixture(t, "actiontrail-other-api.json")),
			want: intake.Summary{Mode: "event", Received: 1,
				Ignored: []intake.Skip{{EventID: "7fa05143-8c6d-4ebf-a041-3d5e6f7a8b09", Reason: `API call "StopInstance" creates no instance and changes no tag`}}}},
		{name: "another account ignored, not an error", raw: flatEvent(func(s string) string { return strings.Replace(s, account, "9999999999999999", 1) }),
			want: intake.Summary{Mode: "event", Received: 1,
				Ignored: []intake.Skip{{EventID: flatID, Reason: "account 9999999999999999 is not the expected account " + account}}}},
		{name: "batch: another account's event ignored beside a good one",
			raw: "[" + flatEvent(nil) + ", " + flatEvent(func(s string) string {
				return strings.Replace(strings.Replace(s, account, "9999999999999999", 1), flatID, "other-1", 1)
			}) + "]",
			want: intake.Summary{Mode: "event", Received: 2, Accepted: 1, Enqueued: 1,
				Ignored: []intake.Skip{{EventID: "other-1", Reason: "account 9999999999999999 is not the expected account " + account}},
				TaskIDs: []string{"onboard:" + inst1 + ":" + flatID}}},
		{name: "no account rejected", raw: flatEvent(func(s string) string { return strings.Replace(s, `"aliyunaccountid":"`+account+`",`, "", 1) }),
			want:     intake.Summary{Mode: "event", Received: 1},
			wantKind: kind(domain.KindInvalid), rejected: []string{"names no account"}},
		{name: "task over the maximum size rejected, nothing sent", raw: flatEvent(func(s string) string { return strings.Replace(s, flatID, strings.Repeat("x", domain.MaxTaskBytes), 1) }),
			want:     intake.Summary{Mode: "event", Received: 1},
			wantKind: kind(domain.KindInvalid), rejected: []string{"onboard task for " + inst1 + ": encode task onboard:" + inst1 + ":xxx"}},
		{name: "wrong region rejected", raw: flatEvent(func(s string) string { return strings.ReplaceAll(s, "cn-hangzhou", "us-west-1") }),
			want:     intake.Summary{Mode: "event", Received: 1},
			wantKind: kind(domain.KindInvalid), rejected: []string{"region us-west-1 is not managed here"}},
		{name: "malformed instance ID rejected", raw: flatEvent(func(s string) string { return strings.Replace(s, inst1, "i-BAD", 1) }),
			want:     intake.Summary{Mode: "event", Received: 1},
			wantKind: kind(domain.KindInvalid), rejected: []string{`malformed instance ID "i-BAD"`}},
		{name: "requestParameters only rejected", raw: string(MustFixture(t, "actiontrail-request-only.json")),
			want:     intake.Summary{Mode: "event", Received: 1},
			wantKind: kind(domain.KindInvalid), rejected: []string{"no instance IDs"}},
		{name: "malformed JSON rejected", raw: string(MustFixture(t, "malformed.json")),
			want:     intake.Summary{Mode: "event", Received: 1},
			wantKind: kind(domain.KindInvalid), rejected: []string{"malformed JSON object"}},
		{name: "mixed batch: good enqueued, bad reported, no error",
			raw: "[" + flatEvent(nil) + `, {"id":"x"}, ` + flatEvent(func(s string) string {
				return strings.Replace(strings.Replace(s, flatID, "bad-1", 1), inst1, "i-BAD", 1)
			}) + "]",
			want: intake.Summary{Mode: "event", Received: 3, Accepted: 1, Enqueued: 1,
				TaskIDs: []string{"onboard:" + inst1 + ":" + flatID}},
			rejected: []string{"event 2 of 3: decode event: event \"x\" is not a CloudEvent", "malformed instance ID"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := newQueue()
			e := &intake.Enqueuer{Sender: q, Validator: validator(), Now: fixedNow}
			got, err := e.HandleEvent(context.Background(), []byte(tc.raw))
			switch {
			case tc.wantKind == nil && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantKind != nil && err == nil:
				t.Fatalf("want a %v error", *tc.wantKind)
			case tc.wantKind != nil && domain.KindOf(err) != *tc.wantKind:
				t.Fatalf("kind %v, want %v: %v", domain.KindOf(err), *tc.wantKind, err)
			}
			if len(got.Rejected) != len(tc.rejected) {
				t.Fatalf("rejected = %+v, want %d", got.Rejected, len(tc.rejected))
			}
			for i, want := range tc.rejected {
				if !strings.Contains(got.Rejected[i].Reason, want) {
					t.Errorf("rejection %d = %q, want it to contain %q", i, got.Rejected[i].Reason, want)
				}
			}
			got.Rejected = nil
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want.TaskIDs, queuedIDs(t, q), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("sent tasks (-want +got):\n%s", diff)
			}
			if n := sendCalls(q); len(tc.want.TaskIDs) == 0 && n != 0 {
				t.Errorf("%d send calls with nothing to send", n)
			}
		})
	}
}

func kind(k domain.Kind) *domain.Kind { return &k }

func TestEnqueuer_TasksAreValid(t *testing.T) {
	q := newQueue()
	e := &intake.Enqueuer{Sender: q, Validator: validator(), Now: fixedNow}
	if _, err := e.HandleEvent(context.Background(), MustFixture(t, "batch.json")); err != nil {
		t.Fatal(err)
	}
	tasks := queued(t, q) // decoded from the message bodies
	if len(tasks) != 2 {
		t.Fatalf("%d tasks queued, want 2", len(tasks))
	}
	for _, back := range tasks {
		if back.InstanceID == "" || !back.EnqueuedAt.Equal(testNow) || back.Kind != domain.TaskOnboard || back.Cause == "" {
			t.Errorf("round trip: %+v", back)
		}
	}
}

func TestEnqueuer_SendFailureIsReturned(t *testing.T) {
	boom := domain.Errorf(domain.KindRetryable, "mns BatchSendMessage", "InternalError", "try later")
	q := newQueue()
	q.FailNext(fake.QueueOpSend, boom)
	e := &intake.Enqueuer{Sender: q, Validator: validator(), Now: fixedNow}
	got, err := e.HandleEvent(context.Background(), MustFixture(t, "actiontrail-runinstances.json"))
	// The queue reports the failure per task, keeping the kind and the cause.
	if !domain.IsRetryable(err) || !strings.Contains(err.Error(), "try later") {
		t.Fatalf("err = %v, want the sender's retryable error", err)
	}
	if !strings.Contains(err.Error(), "enqueue 2 onboard tasks") {
		t.Errorf("error %q does not say what failed", err)
	}
	if got.Enqueued != 0 || got.Accepted != 1 || len(got.TaskIDs) != 2 {
		t.Errorf("summary = %+v", got)
	}
}

func TestEnqueuer_DryRunSendsNothing(t *testing.T) {
	q := newQueue()
	e := &intake.Enqueuer{Sender: q, Validator: validator(), Now: fixedNow, DryRun: true}
	got, err := e.HandleEvent(context.Background(), MustFixture(t, "actiontrail-runinstances.json"))
	if err != nil {
		t.Fatal(err)
	}
	if n := sendCalls(q); n != 0 {
		t.Fatalf("dry run sent %d batches", n)
	}
	if !got.DryRun || got.Enqueued != 0 || len(got.Tasks) != 2 || got.Tasks[1].InstanceID != inst2 {
		t.Errorf("summary = %+v", got)
	}
}

func TestEnqueuer_LogsDecisions(t *testing.T) {
	ctx, buf := logCapture(t)
	e := &intake.Enqueuer{Sender: newQueue(), Validator: validator(), Now: fixedNow}
	if _, err := e.HandleEvent(ctx, MustFixture(t, "batch.json")); err != nil {
		t.Fatal(err)
	}
	enq := logLines(t, buf, "task enqueued")
	if len(enq) != 2 {
		t.Fatalf("%d enqueue lines, want 2:\n%s", len(enq), buf)
	}
	want := map[string]any{"event_id": flatID, "instance_id": inst1, "task_id": "onboard:" + inst1 + ":" + flatID,
		"decision": "enqueue", "region": "cn-hangzhou"}
	for k, v := range want {
		if enq[0][k] != v {
			t.Errorf("enqueue line %s = %v, want %v", k, enq[0][k], v)
		}
	}
	ign := logLines(t, buf, "event ignored")
	if len(ign) != 1 || ign[0]["decision"] != "ignore" || ign[0]["reason"] == nil || ign[0]["event_id"] == nil {
		t.Errorf("ignore lines = %v", ign)
	}
	if dup := logLines(t, buf, "instance already has a task in this delivery"); len(dup) != 1 || dup[0]["instance_id"] != inst1 {
		t.Errorf("duplicate lines = %v", dup)
	}
}
