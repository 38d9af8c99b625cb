package intake_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
	"github.com/sgpilot/sgpilot/shared/usecase/intake"
)

const (
	region = "cn-hangzhou"
	vpc1   = "vpc-aaaaaaaa1"
	vpc2   = "vpc-bbbbbbbb2"
	key    = domain.DefaultRoleTagKey
)

func group(id, vpc, role string) domain.SecurityGroup {
	return domain.SecurityGroup{ID: id, RegionID: region, VPCID: vpc, Type: "normal",
		Tags: domain.Tags{key: role, domain.DefaultManagedTagKey: domain.DefaultManagedTagValue}}
}

func instance(id, vpc, roles string, status domain.InstanceStatus, groups ...string) domain.Instance {
	return domain.Instance{ID: id, RegionID: region, NetworkType: domain.NetworkVPC, VPCID: vpc, Status: status,
		Tags: domain.Tags{key: roles}, GroupIDs: groups}
}

// fleet is one region with every case the backfill distinguishes.
func fleet() *fake.ECS {
	cloud := fake.NewECS().SetNow(fixedNow)
	for _, g := range []domain.SecurityGroup{
		group("sg-web00001", vpc1, "web"),
		group("sg-db000001", vpc1, "db"),
		group("sg-web00002", vpc2, "web"),
		// Not role groups: filtered out.
		{ID: "sg-untagged1", RegionID: region, VPCID: vpc1},
		{ID: "sg-default1", RegionID: region, VPCID: vpc1},
		{ID: "sg-default2", RegionID: region, VPCID: vpc2},
		{ID: "sg-a0000001", RegionID: region, VPCID: vpc1}, {ID: "sg-a0000002", RegionID: region, VPCID: vpc1},
		{ID: "sg-a0000003", RegionID: region, VPCID: vpc1}, {ID: "sg-a0000004", RegionID: region, VPCID: vpc1},
		{ID: "sg-a0000005", RegionID: region, VPCID: vpc1},
	} {
		cloud.AddGroup(g)
	}
	for _, in := range []domain.Instance{
		instance("i-complete01", vpc1, "web", domain.StatusRunning, "sg-web00001"),
		instance("i-needjoin01", vpc1, "web,db", domain.StatusRunning, "sg-default1"),
		instance("i-missing001", vpc1, "cache", domain.StatusRunning, "sg-default1"),
		instance("i-overlimit1", vpc1, "db", domain.StatusRunning, "sg-a0000001", "sg-a0000002", "sg-a0000003", "sg-a0000004", "sg-a0000005"),
		instance("i-starting01", vpc1, "db", domain.StatusStarting),
		instance("i-vpc2web001", vpc2, "web", domain.StatusStopped, "sg-default2"),
		instance("i-notag00001", vpc1, "", domain.StatusRunning, "sg-default1"),
		instance("i-badtag0001", vpc1, "Web!", domain.StatusRunning),
		{ID: "i-untagged01", RegionID: region, VPCID: vpc1, NetworkType: domain.NetworkVPC, Status: domain.StatusRunning}, // no role tag key
	} {
		cloud.AddInstance(in)
	}
	return cloud
}

var wantReconcileTasks = []string{
	"onboard:i-needjoin01:reconcile",
	"onboard:i-starting01:reconcile",
	"onboard:i-vpc2web001:reconcile",
}

func TestReconciler_EnqueuesOnlyIncompleteInstances(t *testing.T) {
	cloud, q := fleet(), fake.NewQueue(fake.QueueOptions{Now: fixedNow})
	listed := recordFilters(cloud)
	r := &intake.Reconciler{Instances: cloud, Groups: cloud, Sender: q, Now: fixedNow}
	got, err := r.Run(context.Background(), region)
	if err != nil {
		t.Fatal(err)
	}
	want := intake.ReconcileSummary{
		RegionID: region, Instances: 8, RoleGroups: 3, Complete: 1, Enqueued: 3, TaskIDs: wantReconcileTasks,
		NeedsAttention: 3,
		Attention: []intake.Issue{
			{InstanceID: "i-badtag0001", Reason: domain.ReasonBadRoleTag},
			{InstanceID: "i-missing001", Reason: domain.ReasonNoRoleGroup},
			{InstanceID: "i-overlimit1", Reason: domain.ReasonOverLimit},
		},
		ByReason: map[domain.Reason]int{
			domain.ReasonBadRoleTag: 1, domain.ReasonComplete: 1, domain.ReasonJoin: 2, domain.ReasonNoRoleGroup: 1,
			domain.ReasonNotReady: 1, domain.ReasonNoRoles: 1, domain.ReasonOverLimit: 1,
		},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(intake.Issue{}, "Detail")); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	for _, is := range got.Attention {
		if is.Detail == "" {
			t.Errorf("issue without detail: %+v", is)
		}
	}
	if diff := cmp.Diff(wantReconcileTasks, queuedIDs(t, q)); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	wantFilters := &filters{instances: []domain.InstanceFilter{{TagKey: key}}, groups: []domain.GroupFilter{{TagKey: key}}}
	if diff := cmp.Diff(wantFilters, listed, cmp.AllowUnexported(filters{}), cmpopts.IgnoreFields(filters{}, "mu")); diff != "" {
		t.Errorf("list filters (-want +got):\n%s", diff)
	}
	for _, task := range queued(t, q) {
		if task.Cause != intake.CauseReconcile || task.RegionID != region || task.Validate() != nil {
			t.Errorf("task %+v", task)
		}
	}
}

func TestReconciler_PlanSendsNothing(t *testing.T) {
	cloud := fleet()
	r := &intake.Reconciler{Instances: cloud, Groups: cloud, Now: fixedNow} // no sender needed
	got, err := r.Plan(context.Background(), region)
	if err != nil {
		t.Fatal(err)
	}
	if !got.DryRun || got.Enqueued != 0 || !cmp.Equal(got.TaskIDs, wantReconcileTasks) {
		t.Errorf("plan = %+v", got)
	}
}

func TestReconciler_ChunksAndProgress(t *testing.T) {
	cloud, q := fleet(), fake.NewQueue(fake.QueueOptions{Now: fixedNow})
	var sizes []int
	q.SetInterceptor(func(c fake.QueueCall) fake.QueueFault {
		if c.Op == fake.QueueOpSend {
			sizes = append(sizes, len(c.Items))
		}
		return fake.QueueFault{}
	})
	ctx, buf := logCapture(t)
	r := &intake.Reconciler{Instances: cloud, Groups: cloud, Sender: q, Now: fixedNow, SendChunk: 2, ProgressEvery: 3, MaxIssues: 1}
	got, err := r.Run(ctx, region)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{2, 1}, sizes); diff != "" {
		t.Errorf("tasks per send call (-want +got):\n%s", diff)
	}
	if got.NeedsAttention != 3 || len(got.Attention) != 1 {
		t.Errorf("attention = %d listed of %d, want 1 of 3", len(got.Attention), got.NeedsAttention)
	}
	progress := logLines(t, buf, "reconcile progress")
	if len(progress) != 2 || progress[1]["done"] != float64(6) {
		t.Errorf("progress lines = %v", progress)
	}
	att := logLines(t, buf, "instance needs attention")
	if len(att) != 3 || att[0]["decision"] != "attention" || att[0]["instance_id"] != "i-badtag0001" {
		t.Errorf("attention lines = %v", att)
	}
}

func TestReconciler_Errors(t *testing.T) {
	listErr := domain.Errorf(domain.KindThrottled, "ecs DescribeInstances", "Throttling.User", "slow down")
	sendErr := domain.Errorf(domain.KindRetryable, "mns BatchSendMessage", "", "connection reset")
	cases := []struct {
		name     string
		setup    func(*fake.ECS, *fake.Queue, *intake.Reconciler)
		region   string
		want     error  // errors.Is target, when set
		msg      string // substring of the error, when set
		kind     domain.Kind
		enqueued int
	}{
		{name: "list failure", setup: func(c *fake.ECS, _ *fake.Queue, _ *intake.Reconciler) { c.FailNext("ListInstances", listErr) },
			region: region, want: listErr, kind: domain.KindThrottled},
		{name: "second chunk fails", setup: func(_ *fake.ECS, q *fake.Queue, r *intake.Reconciler) {
			r.SendChunk = 2
			q.SetInterceptor(func(c fake.QueueCall) fake.QueueFault {
				if c.Op == fake.QueueOpSend && c.N == 2 {
					return fake.QueueFault{Err: sendErr}
				}
				return fake.QueueFault{}
			})
		},
			region: region, msg: "connection reset", kind: domain.KindRetryable, enqueued: 2},
		{name: "bad region", setup: func(*fake.ECS, *fake.Queue, *intake.Reconciler) {}, region: "Hangzhou", kind: domain.KindInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cloud, q := fleet(), fake.NewQueue(fake.QueueOptions{Now: fixedNow})
			r := &intake.Reconciler{Instances: cloud, Groups: cloud, Sender: q, Now: fixedNow}
			tc.setup(cloud, q, r)
			got, err := r.Run(context.Background(), tc.region)
			if err == nil || domain.KindOf(err) != tc.kind || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v (kind %v), want %v of kind %v", err, domain.KindOf(err), tc.want, tc.kind)
			}
			if got.Enqueued != tc.enqueued {
				t.Errorf("enqueued = %d, want %d", got.Enqueued, tc.enqueued)
			}
		})
	}

	// Cancelled once the region is listed: the loop stops before the first instance.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cloud := fleet()
	cloud.SetInterceptor(func(_ context.Context, method string, _ []any) error {
		if method == "ListGroups" {
			cancel()
		}
		return nil
	})
	_, err := (&intake.Reconciler{Instances: cloud, Groups: cloud, Sender: fake.NewQueue(fake.QueueOptions{})}).Run(ctx, region)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "stopped after 0 of 8") {
		t.Errorf("cancelled run: %v", err)
	}
}
