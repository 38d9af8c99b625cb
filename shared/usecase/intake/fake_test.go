package intake_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
	"github.com/sgpilot/sgpilot/shared/usecase/intake"
)

// The shared fakes satisfy the ports declared here.
var (
	_ intake.TaskSender     = (*fake.Queue)(nil)
	_ intake.InstanceLister = (*fake.ECS)(nil)
	_ intake.GroupLister    = (*fake.ECS)(nil)
)

// receiveAll drains q and decodes every body as a task.
func receiveAll(t *testing.T, q *fake.Queue) []string {
	t.Helper()
	var ids []string
	for {
		ds, err := q.Receive(context.Background(), 16, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			return ids
		}
		for _, d := range ds {
			task, err := domain.DecodeTask(d.Body)
			if err != nil {
				t.Fatalf("queued body is not a task: %v", err)
			}
			ids = append(ids, task.ID)
		}
	}
}

func TestWithSharedFakes_EventToQueue(t *testing.T) {
	q := fake.NewQueue(fake.QueueOptions{Now: fixedNow})
	e := &intake.Enqueuer{Sender: q, Validator: validator(), Now: fixedNow}
	if _, err := e.HandleEvent(context.Background(), MustFixture(t, "actiontrail-runinstances.json")); err != nil {
		t.Fatal(err)
	}
	want := []string{"onboard:" + inst1 + ":" + runID, "onboard:" + inst2 + ":" + runID}
	if diff := cmp.Diff(want, receiveAll(t, q)); diff != "" {
		t.Errorf("queued (-want +got):\n%s", diff)
	}
}

func TestWithSharedFakes_Reconcile(t *testing.T) {
	cloud := fake.NewECS().SetNow(fixedNow)
	web := cloud.AddGroup(domain.SecurityGroup{ID: "sg-web00001", RegionID: region, VPCID: vpc1, Tags: domain.Tags{key: "web"}})
	cloud.AddGroup(domain.SecurityGroup{ID: "sg-default1", RegionID: region, VPCID: vpc1})
	cloud.AddInstance(domain.Instance{ID: "i-complete01", RegionID: region, VPCID: vpc1, Tags: domain.Tags{key: "web"}, GroupIDs: []string{web}})
	cloud.AddInstance(domain.Instance{ID: "i-needjoin01", RegionID: region, VPCID: vpc1, Tags: domain.Tags{key: "web"}, GroupIDs: []string{"sg-default1"}})
	cloud.AddInstance(domain.Instance{ID: "i-untagged01", RegionID: region, VPCID: vpc1, GroupIDs: []string{"sg-default1"}})
	q := fake.NewQueue(fake.QueueOptions{Now: func() time.Time { return testNow }})
	r := &intake.Reconciler{Instances: cloud, Groups: cloud, Sender: q, Now: fixedNow}
	got, err := r.Run(context.Background(), region)
	if err != nil {
		t.Fatal(err)
	}
	if got.Instances != 2 || got.Complete != 1 || got.Enqueued != 1 {
		t.Errorf("summary = %+v", got)
	}
	if diff := cmp.Diff([]string{"onboard:i-needjoin01:reconcile"}, receiveAll(t, q)); diff != "" {
		t.Errorf("queued (-want +got):\n%s", diff)
	}
}
