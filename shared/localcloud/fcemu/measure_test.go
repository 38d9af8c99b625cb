package fcemu_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/fcemu"
)

// Recycle stops idle instances, so each invocation after it is a cold start
// with its start latency recorded; the peak RSS of the processes is kept.
func TestRecycle_ColdStartsAndMeasurements(t *testing.T) {
	e := MustEmulator(t, newEnv(), fastOptions(), testSpec("echo"))
	ctx := context.Background()
	const rounds = 3
	for i := 0; i < rounds; i++ {
		MustInvoke(t, e, "echo", `{}`)
		n, err := e.Recycle(ctx, "echo")
		if err != nil || n != 1 {
			t.Fatalf("round %d: Recycle = %d, %v; want 1 idle instance stopped", i, n, err)
		}
	}
	st, _ := e.Stats("echo")
	if st.ColdStarts != rounds || len(st.StartLatencies) != rounds || st.Instances != 0 {
		t.Fatalf("cold starts %d, latencies %v, live instances %d; want %d, %d, 0", st.ColdStarts, st.StartLatencies, st.Instances, rounds, rounds)
	}
	for _, d := range st.StartLatencies {
		if d <= 0 || d > 10*time.Second {
			t.Errorf("start latency %s is not a plausible process start", d)
		}
	}
	if _, err := os.Stat("/proc/self/status"); err == nil && st.PeakRSSKiB <= 0 {
		t.Errorf("PeakRSSKiB = %d, want the processes' VmHWM", st.PeakRSSKiB)
	}
	if _, err := e.Recycle(ctx, "nope"); err == nil {
		t.Error("Recycle of an unknown function: no error")
	}
}

// DropEvent hides events from EventBridge triggers as a non-matching rule would.
func TestEventBridge_DropEvent(t *testing.T) {
	env := newEnv()
	spec := testSpec("onevent")
	spec.Triggers = []fcemu.TriggerSpec{{
		Name: "ecs-state", Type: fcemu.TriggerEventBridge, Enabled: true,
		EventBridge: &fcemu.EventBridgeTrigger{AsyncInvocation: true, SourceType: fcemu.SourceDefault,
			FilterPattern: `{"source":["acs.ecs"],"type":["ecs:Instance:StateChange"]}`},
	}}
	opts := fastOptions()
	opts.DropEvent = func(ev core.CloudEvent) bool { return ev.ID == "ev-hidden" }
	e := MustEmulator(t, env, opts, spec)
	for _, id := range []string{"ev-hidden", "ev-seen"} {
		env.Events.Publish(core.CloudEvent{ID: id, Source: "acs.ecs", SpecVersion: "1.0", Type: "ecs:Instance:StateChange",
			AliyunAccountID: testAccount, AliyunRegionID: "cn-hangzhou", AliyunEventBusName: "default",
			Data: json.RawMessage(`{"state":"Running"}`)})
	}
	MustWaitIdle(t, e)
	hist := e.History("onevent")
	if len(hist) != 1 {
		t.Fatalf("invocations = %d, want 1", len(hist))
	}
	var ev core.CloudEvent
	mustJSON(t, string(hist[0].Payload), &ev)
	if ev.ID != "ev-seen" {
		t.Errorf("delivered %s, want ev-seen only", ev.ID)
	}
}
