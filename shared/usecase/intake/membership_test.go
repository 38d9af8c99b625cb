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

// Tag changes and Running state changes bring the same onboard ("sync
// membership") tasks as creations; changes of other tags, and tag calls on
// other resources, are ignored.
func TestEnqueuer_MembershipEvents(t *testing.T) {
	const inst = "i-bp1aaaaaaaaaaaaaaaa1"
	cases := []struct {
		name    string
		raw     string
		tasks   []string
		ignored string // substring of the one ignore reason
		reject  string
	}{
		{name: "Running state change", raw: string(MustFixture(t, "statechange-running.json")),
			tasks: []string{"onboard:" + inst + ":e38e6097-2b1c-4d6e-9f90-8c0d1e2f3a14"}},
		{name: "TagResources of the role tag on two instances", raw: string(MustFixture(t, "actiontrail-tagresources.json")),
			tasks: []string{"onboard:" + inst + ":8d2e0a31-6b5c-4d0e-9f3a-2c4d5e6f7a08", "onboard:i-bp1aaaaaaaaaaaaaaaa2:8d2e0a31-6b5c-4d0e-9f3a-2c4d5e6f7a08"}},
		{name: "UntagResources of the role tag", raw: string(MustFixture(t, "actiontrail-untagresources.json")),
			tasks: []string{"onboard:" + inst + ":9e3f1b42-7c6d-4e1f-8a4b-3d5e6f7a8b09"}},
		{name: "older AddTags", raw: string(MustFixture(t, "actiontrail-addtags.json")),
			tasks: []string{"onboard:" + inst + ":af4a2c53-8d7e-4f2a-9b5c-4e6f7a8b9c10"}},
		{name: "older RemoveTags", raw: string(MustFixture(t, "actiontrail-removetags.json")),
			tasks: []string{"onboard:" + inst + ":b05b3d64-9e8f-4a3b-8c6d-5f7a8b9c0d11"}},
		{name: "another tag only", raw: strings.ReplaceAll(string(MustFixture(t, "actiontrail-untagresources.json")), `"TagKey.1": "sgpilot:role"`, `"TagKey.1": "env"`),
			ignored: "not the role tag sgpilot:role"},
		{name: "tags on a security group", raw: string(MustFixture(t, "actiontrail-tagresources-group.json")), ignored: "not on instances"},
		{name: "failed tag call", raw: string(MustFixture(t, "actiontrail-tagresources-failed.json")), ignored: "failed with NoPermission.Tag"},
		{name: "another account's tag change", raw: strings.ReplaceAll(string(MustFixture(t, "actiontrail-addtags.json")), "1234567890123456", "9999999999999999"),
			ignored: "not the expected account"},
		{name: "malformed instance ID in a tag call", raw: strings.Replace(string(MustFixture(t, "actiontrail-addtags.json")), `"ResourceId": "i-bp1aaaaaaaaaaaaaaaa1"`, `"ResourceId": "i-NOPE"`, 1),
			reject: "malformed instance ID"},
		{name: "tag call in a region not managed here", raw: strings.ReplaceAll(string(MustFixture(t, "actiontrail-addtags.json")), "cn-hangzhou", "us-west-1"),
			reject: "not managed here"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := newQueue()
			e := &intake.Enqueuer{Sender: q, Validator: validator(), Now: fixedNow}
			got, err := e.HandleEvent(context.Background(), []byte(tc.raw))
			if (err != nil) != (tc.reject != "") {
				t.Fatalf("err = %v, want rejection %q", err, tc.reject)
			}
			if tc.reject != "" && (len(got.Rejected) != 1 || !strings.Contains(got.Rejected[0].Reason, tc.reject)) {
				t.Errorf("rejected %+v, want %q", got.Rejected, tc.reject)
			}
			if tc.ignored != "" && (len(got.Ignored) != 1 || !strings.Contains(got.Ignored[0].Reason, tc.ignored)) {
				t.Errorf("ignored %+v, want %q", got.Ignored, tc.ignored)
			}
			if diff := cmp.Diff(tc.tasks, queuedIDs(t, q), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("sent tasks (-want +got):\n%s", diff)
			}
			for _, task := range queued(t, q) {
				if task.Kind != domain.TaskOnboard || task.Validate() != nil {
					t.Errorf("task %+v", task)
				}
			}
		})
	}
}

// The backfill finds instances in groups of a role they no longer carry,
// and ignores role-tagged groups outside sgpilot's scope.
func TestReconciler_RetaggedInstancesAndStrayGroups(t *testing.T) {
	cloud := fake.NewECS().SetNow(fixedNow)
	cloud.AddGroup(group("sg-web00001", vpc1, "web"))
	cloud.AddGroup(group("sg-db000001", vpc1, "db"))
	cloud.AddGroup(domain.SecurityGroup{ID: "sg-default1", RegionID: region, VPCID: vpc1})
	stray := group("sg-stray001", vpc1, "cache")
	delete(stray.Tags, domain.DefaultManagedTagKey)
	cloud.AddGroup(stray)
	cloud.AddInstance(instance("i-retagged01", vpc1, "db", domain.StatusRunning, "sg-default1", "sg-web00001", "sg-db000001"))
	cloud.AddInstance(instance("i-complete01", vpc1, "web", domain.StatusRunning, "sg-web00001"))
	cloud.AddInstance(instance("i-wantstray1", vpc1, "cache", domain.StatusRunning, "sg-default1"))
	q := fake.NewQueue(fake.QueueOptions{Now: fixedNow})
	r := &intake.Reconciler{Instances: cloud, Groups: cloud, Sender: q, Now: fixedNow}
	got, err := r.Run(context.Background(), region)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"onboard:i-retagged01:reconcile"}, queuedIDs(t, q)); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	if got.ByReason[domain.ReasonLeave] != 1 || got.ByReason[domain.ReasonNoRoleGroup] != 1 || got.Complete != 1 {
		t.Errorf("by reason %v, complete %d", got.ByReason, got.Complete)
	}
	if len(got.Attention) != 1 || got.Attention[0].InstanceID != "i-wantstray1" || !strings.Contains(got.Attention[0].Detail, "in scope") {
		t.Errorf("attention %+v, want the instance whose only cache group is out of scope", got.Attention)
	}
}
