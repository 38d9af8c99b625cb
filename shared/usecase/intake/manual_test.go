package intake_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/usecase/intake"
)

func TestEnqueuer_ManualPayloads(t *testing.T) {
	cases := []struct {
		name    string
		raw     string
		noRecon bool
		want    intake.Summary
		sent    []string
		err     string // substring; "" = no error
	}{
		{name: "instance IDs", raw: `{"instanceIds":["i-bp1aaaaaaaaaaaaaaaa1","i-bp1aaaaaaaaaaaaaaaa2"],"region":"cn-hangzhou"}`,
			want: intake.Summary{Mode: "enqueue", Received: 1, Accepted: 1, Enqueued: 2,
				TaskIDs: []string{"onboard:i-bp1aaaaaaaaaaaaaaaa1:manual", "onboard:i-bp1aaaaaaaaaaaaaaaa2:manual"}},
			sent: []string{"onboard:i-bp1aaaaaaaaaaaaaaaa1:manual", "onboard:i-bp1aaaaaaaaaaaaaaaa2:manual"}},
		{name: "duplicates and the default region", raw: `{"mode":"enqueue","instanceIds":["i-bp1aaaaaaaaaaaaaaaa1","i-bp1aaaaaaaaaaaaaaaa1"]}`,
			want: intake.Summary{Mode: "enqueue", Received: 1, Accepted: 1, Enqueued: 1, Duplicates: 1,
				TaskIDs: []string{"onboard:i-bp1aaaaaaaaaaaaaaaa1:manual"}},
			sent: []string{"onboard:i-bp1aaaaaaaaaaaaaaaa1:manual"}},
		{name: "dry run", raw: `{"instanceIds":["i-bp1aaaaaaaaaaaaaaaa1"],"dryRun":true}`,
			want: intake.Summary{Mode: "enqueue", DryRun: true, Received: 1, Accepted: 1,
				TaskIDs: []string{"onboard:i-bp1aaaaaaaaaaaaaaaa1:manual"},
				Tasks:   []domain.Task{domain.NewOnboardTask("cn-hangzhou", "i-bp1aaaaaaaaaaaaaaaa1", "manual", testNow)}}},
		{name: "reconcile", raw: `{"mode":"reconcile","region":"cn-hangzhou"}`,
			want: intake.Summary{Mode: "reconcile", Received: 1, Accepted: 1, Enqueued: 3, TaskIDs: wantReconcileTasks},
			sent: wantReconcileTasks},
		{name: "reconcile dry run", raw: `{"mode":"reconcile","dryRun":true}`,
			want: intake.Summary{Mode: "reconcile", DryRun: true, Received: 1, Accepted: 1, TaskIDs: wantReconcileTasks}},
		{name: "timer with a reconcile payload", raw: string(MustFixture(t, "timer.json")),
			want: intake.Summary{Mode: "reconcile", Received: 1, Accepted: 1, Enqueued: 3, TaskIDs: wantReconcileTasks},
			sent: wantReconcileTasks},
		{name: "timer with no payload reconciles", raw: `{"triggerTime":"2024-05-01T08:00:00Z","triggerName":"hourly","payload":""}`,
			want: intake.Summary{Mode: "reconcile", Received: 1, Accepted: 1, Enqueued: 3, TaskIDs: wantReconcileTasks},
			sent: wantReconcileTasks},
		{name: "typo in a member", raw: `{"instanceIDs":["i-bp1aaaaaaaaaaaaaaaa1"],"regoin":"cn-hangzhou"}`, err: `unknown field "regoin"`},
		{name: "nothing to do", raw: `{"region":"cn-hangzhou"}`, err: "nothing to do"},
		{name: "unknown mode", raw: `{"mode":"apply"}`, err: `mode "apply": want "enqueue" or "reconcile"`},
		{name: "reconcile with IDs", raw: `{"mode":"reconcile","instanceIds":["i-bp1aaaaaaaaaaaaaaaa1"]}`, err: "covers the whole region"},
		{name: "bad instance ID", raw: `{"instanceIds":["i-bp1aaaaaaaaaaaaaaaa1","web-1"]}`, err: `malformed instance ID "web-1"`},
		{name: "region not managed", raw: `{"instanceIds":["i-bp1aaaaaaaaaaaaaaaa1"],"region":"eu-central-1"}`, err: "not managed here"},
		{name: "reconcile not configured", raw: `{"mode":"reconcile"}`, noRecon: true, err: "reconcile is not configured"},
		{name: "timer with a bad payload", raw: `{"triggerName":"t","payload":"{\"mode\":\"recon\"}"}`, err: `mode "recon"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cloud, q := fleet(), newQueue()
			e := &intake.Enqueuer{Sender: q, Validator: validator(), DefaultRegion: "cn-hangzhou", Now: fixedNow,
				Reconciler: &intake.Reconciler{Instances: cloud, Groups: cloud, Sender: q, Now: fixedNow}}
			if tc.noRecon {
				e.Reconciler = nil
			}
			got, err := e.HandleEvent(context.Background(), []byte(tc.raw))
			if tc.err != "" {
				k := domain.KindOf(err)
				if err == nil || (k != domain.KindInvalid && k != domain.KindPermanent) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v (kind %v), want an invalid or permanent error mentioning %q", err, k, tc.err)
				}
				if len(got.Rejected) != 1 || sendCalls(q) != 0 {
					t.Errorf("rejected = %v, sends = %d", got.Rejected, sendCalls(q))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Mode == intake.ModeReconcile {
				if got.Reconcile == nil || got.Reconcile.Instances != 8 || got.Reconcile.DryRun != got.DryRun {
					t.Errorf("reconcile summary = %+v", got.Reconcile)
				}
				got.Reconcile = nil
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.sent, queuedIDs(t, q), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("sent (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEnqueuer_ManualNeedsARegion(t *testing.T) {
	e := &intake.Enqueuer{Sender: newQueue()}
	_, err := e.HandleManual(context.Background(), intake.ManualPayload{InstanceIDs: []string{"i-bp1aaaaaaaaaaaaaaaa1"}})
	if err == nil || !strings.Contains(err.Error(), `add "region"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestEnqueuer_ManualTooManyIDs(t *testing.T) {
	e := &intake.Enqueuer{Sender: newQueue(), DefaultRegion: "cn-hangzhou", Validator: intake.Validator{MaxInstancesPerEvent: 2}}
	_, err := e.HandleManual(context.Background(), intake.ManualPayload{InstanceIDs: []string{"i-aaaaaaaa1", "i-aaaaaaaa2", "i-aaaaaaaa3"}})
	if err == nil || !strings.Contains(err.Error(), "3 instance IDs, at most 2") {
		t.Fatalf("err = %v", err)
	}
}

func TestDecodeManualPayload(t *testing.T) {
	p, err := intake.DecodeManualPayload([]byte(`{"instanceIds":["i-bp1aaaaaaaaaaaaaaaa1"],"region":"cn-shanghai","dryRun":true}`))
	if err != nil {
		t.Fatal(err)
	}
	want := intake.ManualPayload{Mode: "enqueue", InstanceIDs: []string{"i-bp1aaaaaaaaaaaaaaaa1"}, Region: "cn-shanghai", DryRun: true}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
