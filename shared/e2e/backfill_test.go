package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/app"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
	"github.com/sgpilot/sgpilot/shared/testkit/harness"
	"github.com/sgpilot/sgpilot/shared/usecase/intake"
)

// TestOnboarding_BackfillUnderThrottling: a fleet that predates sgpilot is
// planned (dry run), then backfilled by the reconcile mode while ECS throttles
// joins hard and the same task is delivered twice; every instance ends in
// its role groups, nothing is dead-lettered, nothing is lost.
func TestOnboarding_BackfillUnderThrottling(t *testing.T) {
	// One of the long scenarios that mostly wait on queue windows and rate
	// limits: run beside the others (make test sets -parallel).
	t.Parallel()
	seed := harness.DemoSeed()
	var fleet []string
	for i := range 20 {
		id := fmt.Sprintf("i-bp1fleet%014d", i)
		fleet = append(fleet, id)
		seed.Instances = append(seed.Instances, ecsemu.SeedInstance{ID: id, VSwitchID: harness.VSwitchA,
			SecurityGroupIDs: []string{harness.BaseA}, Tags: []ecsemu.SeedTag{{Key: harness.RoleTagKey, Value: "web,db"}}})
	}
	done := "i-bp1fleetdone00000001"
	seed.Instances = append(seed.Instances, ecsemu.SeedInstance{ID: done, VSwitchID: harness.VSwitchA,
		SecurityGroupIDs: []string{harness.BaseA, harness.WebA}, Tags: []ecsemu.SeedTag{{Key: harness.RoleTagKey, Value: "web"}}})
	// sgpilot's own pacing off, so ECS's throttling is what it meets.
	c := startCloud(t, true, &seed, "SGPILOT_ECS_RATE_LIMIT", "0")

	// The plan of one instance changes nothing.
	var plan app.PlanResult
	if err := json.Unmarshal(invoke(t, c, "queue-worker", `{"mode":"plan","instanceIds":["`+fleet[0]+`"]}`), &plan); err != nil {
		t.Fatal(err)
	}
	if len(plan.Plans) != 1 || plan.Plans[0].Reason != domain.ReasonJoin || len(plan.Plans[0].ToJoin) != 2 {
		t.Fatalf("plan = %+v", plan)
	}
	// The backfill's dry run lists the incomplete instances and queues nothing.
	var dry intake.Summary
	if err := json.Unmarshal(invoke(t, c, "instance-created", `{"mode":"reconcile","dryRun":true}`), &dry); err != nil {
		t.Fatal(err)
	}
	if dry.Reconcile == nil || len(dry.Reconcile.TaskIDs) != len(fleet) || dry.Reconcile.Enqueued != 0 || dry.Reconcile.Complete != 1 {
		t.Fatalf("dry-run reconcile = %+v", dry.Reconcile)
	}
	if got := c.InstanceGroups()[fleet[0]]; len(got) != 1 {
		t.Fatalf("dry runs changed membership: %v", got)
	}

	c.Env.Controls.SetRateLimit("ecs", "JoinSecurityGroup", core.RateLimit{PerSecond: 4, Burst: 1})
	var rec intake.Summary
	if err := json.Unmarshal(invoke(t, c, "instance-created", `{"mode":"reconcile"}`), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Reconcile == nil || rec.Reconcile.Enqueued != len(fleet) {
		t.Fatalf("reconcile = %+v", rec.Reconcile)
	}
	// Redelivery: the same task twice, for an instance that is already complete.
	body, err := domain.EncodeTask(domain.NewOnboardTask("cn-hangzhou", done, "redelivered", time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := c.MNS.Send("sgpilot-work", body, 0, 0); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	want := sorted([]string{harness.BaseA, harness.WebA, harness.DBA})
	err = harness.WaitFor(ctx, 200*time.Millisecond, func() (bool, string) {
		got := c.InstanceGroups()
		for _, id := range fleet {
			if !slices.Equal(got[id], want) {
				return false, fmt.Sprintf("%s in %v", id, got[id])
			}
		}
		return true, ""
	})
	if err != nil {
		t.Fatal(err)
	}
	waitQueuesSettled(t, c, 0)
	if got := c.InstanceGroups()[done]; !slices.Equal(got, sorted([]string{harness.BaseA, harness.WebA})) {
		t.Errorf("redelivered task changed a complete instance: %v", got)
	}
	throttled := int64(0)
	for _, row := range c.Env.Controls.Counts() {
		if row.Service == "ecs" && row.Action == "JoinSecurityGroup" {
			throttled = row.Outcomes["throttle"]
		}
	}
	if throttled == 0 {
		t.Error("the scenario never met throttling; it proves nothing about back-off")
	}
	t.Logf("joins throttled by ECS and retried: %d", throttled)
}
