package cleanup_test

import (
	"context"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/task"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
	"github.com/sgpilot/sgpilot/shared/usecase/cleanup"
)

// TestWithSharedFakes runs the whole cycle against shared/testkit/fake (the ECS and
// queue fakes the other use cases use): mark on day 0, a delete task on day
// 7 through the queue's wire encoding, the handler's re-check and delete,
// and a DependencyViolation explained for a group an instance joined after
// the plan.
func TestWithSharedFakes(t *testing.T) {
	ctx := context.Background()
	ecs := fake.NewECS()
	managed := func(id string) domain.SecurityGroup {
		return domain.SecurityGroup{ID: id, Name: "app-" + id[3:], RegionID: hz, VPCID: vpc,
			CreationTime: t0.AddDate(0, -2, 0), Tags: domain.Tags{domain.DefaultManagedTagKey: "true"}}
	}
	for _, id := range []string{"sg-gone000001", "sg-late000001", "sg-used000001", "sg-peer000001", "sg-lt00000001"} {
		ecs.AddGroup(managed(id))
	}
	ecs.AddInstance(domain.Instance{ID: "i-used00000001", RegionID: hz, VPCID: vpc, GroupIDs: []string{"sg-used000001"}})
	ecs.AddRule("sg-used000001", "sg-peer000001") // sg-peer000001 is referenced by another group
	ecs.AddRule("sg-gone000001", "sg-gone000001") // a self-reference does not keep it
	ecs.AddLaunchTemplate(fake.LaunchTemplate{ID: "lt-web0000001", RegionID: hz, Versions: [][]string{{"sg-lt00000001"}}})

	q := fake.NewQueue(fake.QueueOptions{})
	c := cleanup.NewCleaner(ecs, q)
	policy := domain.DefaultCleanupPolicy()
	policy.MaxDeletePercent = 100
	d := cleanup.NewDeleter(ecs, policy)
	d.Interfaces = ecs

	day := func(n int) time.Time { return t0.AddDate(0, 0, n) }
	run := func(n int) cleanup.Report {
		t.Helper()
		rep, err := c.Run(ctx, cleanup.Options{Regions: []string{hz}, Policy: policy, Mode: cleanup.ModeApply, Now: day(n), RunID: "nightly"})
		if err != nil || rep.Err() != nil {
			t.Fatalf("day %d: %v %v", n, err, rep.Err())
		}
		return rep
	}
	drain := func(n int) []task.Outcome {
		t.Helper()
		var tasks []domain.Task
		for {
			ds, err := q.Receive(ctx, 16, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) == 0 {
				break
			}
			for _, dl := range ds {
				task, err := domain.DecodeTask(dl.Body)
				if err != nil {
					t.Fatal(err)
				}
				tasks = append(tasks, task)
				if err := q.Delete(ctx, []string{dl.ReceiptHandle}); err != nil {
					t.Fatal(err)
				}
			}
		}
		at := day(n).Add(time.Minute)
		d.Now = func() time.Time { return at }
		return task.RunAll(ctx, d.Handle(ctx, tasks))
	}

	rep := run(0)
	if rep.Summary.Marked != 2 || rep.Summary.KeptByReason[domain.ReasonInUse] != 3 {
		t.Fatalf("day 0 summary %+v", rep.Summary)
	}
	if out := drain(0); len(out) != 0 {
		t.Fatalf("day 0 outcomes %v", out)
	}
	// A date mark counts from the end of its day, so a 7-day grace period
	// ends on the eighth nightly run.
	if rep := run(7); rep.Summary.ToDelete != 0 {
		t.Fatalf("day 7 deletes %d before the grace period ends", rep.Summary.ToDelete)
	}
	if rep := run(8); rep.Summary.DeleteTasksEnqueued != 2 {
		t.Fatalf("day 8 summary %+v", rep.Summary)
	}
	// Between the plan and the worker, an instance joins sg-late000001.
	ecs.AddInstance(domain.Instance{ID: "i-late00000001", RegionID: hz, VPCID: vpc, GroupIDs: []string{"sg-late000001"}})
	got := map[string]string{}
	for _, o := range drain(8) {
		got[o.TaskID] = o.Result.String() + "/" + string(o.Reason)
		if o.Reason == domain.ReasonInUse {
			t.Logf("explained: %s", o.Detail)
		}
	}
	want := map[string]string{
		"delete-group:sg-gone000001:nightly": "done/deleted",
		"delete-group:sg-late000001:nightly": "done/in-use",
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %s, want %s", id, got[id], w)
		}
	}
	if _, ok := ecs.Group("sg-gone000001"); ok {
		t.Error("sg-gone000001 still exists")
	}
	if _, ok := ecs.Group("sg-late000001"); !ok {
		t.Error("sg-late000001 was deleted while in use")
	}
	// The next night unmarks the group the instance joined.
	if rep := run(8); rep.Summary.Unmarked != 1 {
		t.Errorf("day 8 summary %+v", rep.Summary)
	}
}
