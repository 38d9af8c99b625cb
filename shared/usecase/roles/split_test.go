package roles_test

import (
	"context"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/rolepolicy"
	"github.com/sgpilot/sgpilot/shared/core/task"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
	"github.com/sgpilot/sgpilot/shared/usecase/roles"
)

// captureSender keeps the tasks sent.
type captureSender struct{ tasks []domain.Task }

func (c *captureSender) SendTasks(_ context.Context, ts []domain.Task) error {
	c.tasks = append(c.tasks, ts...)
	return nil
}

const vpcC = "vpc-cccccccc01"

// splitAccount is three VPCs with role groups, drift to revoke, a missing
// role group to create, and an unmanaged group.
func splitAccount() *fake.ECS {
	ecs := fake.NewECS()
	ecs.AddVPC(hz, vpcA).AddVPC(hz, vpcB).AddVPC(hz, vpcC)
	ssh := rolepolicy.Rule{Direction: rolepolicy.Ingress, Protocol: rolepolicy.TCP, PortRange: "22/22", NicType: "intranet",
		Policy: rolepolicy.Accept, Priority: 1, PeerCIDR: "10.0.0.0/8"}
	ecs.AddRules(ecs.AddGroup(roleGroup("sg-webaaaaaa01", vpcA, "web", true)), ssh)
	ecs.AddRules(ecs.AddGroup(roleGroup("sg-webbbbbbb01", vpcB, "web", false)), ssh)
	ecs.AddGroup(roleGroup("sg-rdsbbbbbb01", vpcB, "redis", true))
	ecs.AddRules(ecs.AddGroup(roleGroup("sg-webcccccc01", vpcC, "web", true)), ssh)
	ecs.AddInstance(domain.Instance{ID: "i-aaaaaaaaaa01", RegionID: hz, VPCID: vpcA, GroupIDs: []string{"sg-webaaaaaa01"}})
	return ecs
}

// state is each VPC's role groups with their rules, by role; created
// groups' IDs differ between fakes, so peers are compared by role name.
func state(t *testing.T, ecs *fake.ECS) map[string]map[string][]string {
	t.Helper()
	names := map[string]string{}
	all, _ := ecs.ListGroups(context.Background(), hz, domain.GroupFilter{})
	for _, g := range all {
		names[g.ID] = g.Name
	}
	out := map[string]map[string][]string{}
	for _, vpc := range []string{vpcA, vpcB, vpcC} {
		out[vpc] = map[string][]string{}
		for role, gs := range groupsByRole(t, ecs, vpc) {
			for _, g := range gs {
				rules, err := ecs.GroupRules(context.Background(), hz, g.ID)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rules {
					r.PeerGroupID = names[r.PeerGroupID]
					out[vpc][role] = append(out[vpc][role], g.Name+" "+r.Key())
				}
				out[vpc][role] = append(out[vpc][role], g.Name)
			}
			sort.Strings(out[vpc][role])
		}
	}
	return out
}

// A split apply (one task per network, run by the worker's handler) leaves
// the account exactly as the unsplit apply does; a region under the
// threshold is not split; plan mode never splits.
func TestSplit_EqualsUnsplit(t *testing.T) {
	ctx := context.Background()
	opts := roles.Options{Regions: []string{hz}, Policy: rolepolicy.Default(), Mode: roles.ModeApply}

	whole := splitAccount()
	rep, err := roles.NewConverger(whole).Run(ctx, opts)
	if err != nil || rep.Failed() || rep.Summary.Queued != 0 {
		t.Fatalf("unsplit: %v\n%s", err, rep.Text())
	}

	for _, tc := range []struct {
		name      string
		mode      roles.Mode
		splitOver int
		queued    int
	}{
		{"over the threshold", roles.ModeApply, 2, 3},
		{"under the threshold", roles.ModeApply, 10, 0},
		{"plan never splits", roles.ModePlan, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ecs := splitAccount()
			q := &captureSender{}
			o := opts
			o.Mode, o.SplitOver, o.Tasks, o.RunID = tc.mode, tc.splitOver, q, "roles-test"
			c := roles.NewConverger(ecs)
			got, err := c.Run(ctx, o)
			if err != nil || got.Failed() {
				t.Fatalf("run: %v\n%s", err, got.Text())
			}
			if got.Summary.Queued != tc.queued || len(q.tasks) != tc.queued {
				t.Fatalf("queued %d networks, %d tasks; want %d\n%s", got.Summary.Queued, len(q.tasks), tc.queued, got.Text())
			}
			if tc.queued > 0 && ecs.Calls("CreateRoleGroup")+ecs.Calls("AuthorizeRules")+ecs.Calls("RevokeRules") != 0 {
				t.Fatal("the coordinator of a split region wrote rules itself")
			}
			runner := &roles.NetworkRunner{Converger: c, Options: opts}
			for _, o := range task.RunAll(ctx, runner.Handle(ctx, q.tasks)) {
				if o.Result != task.Done {
					t.Fatalf("task %s: %+v", o.TaskID, o)
				}
			}
			if tc.mode == roles.ModePlan {
				return
			}
			if w, g := state(t, whole), state(t, ecs); !reflect.DeepEqual(w, g) {
				t.Fatalf("split result differs:\nunsplit %v\nsplit   %v", w, g)
			}
		})
	}
}

// The worker refuses a task planned with another policy, and retries a
// network whose reads failed.
func TestNetworkRunner_Outcomes(t *testing.T) {
	ctx := context.Background()
	ecs := splitAccount()
	c := roles.NewConverger(ecs)
	runner := &roles.NetworkRunner{Converger: c, Options: roles.Options{Policy: rolepolicy.Default()}}
	good := domain.NewRolesNetworkTask(hz, vpcA, roles.PolicyHash(rolepolicy.Default()), "run", timeZero)
	other := domain.NewRolesNetworkTask(hz, vpcB, "0123abcd", "run", timeZero)
	bad := good
	bad.RolesNet = &domain.RolesNetwork{VPCID: "not-a-vpc", PolicyHash: "x"}
	bad.ID = "bad"

	ecs.FailNext("ListGroups", domain.Errorf(domain.KindThrottled, "list", "", "throttled"))
	got := map[string]task.Outcome{}
	for _, o := range task.RunAll(ctx, runner.Handle(ctx, []domain.Task{good, other, bad})) {
		got[o.TaskID] = o
	}
	for _, tc := range []struct {
		id     string
		result task.Result
		reason task.Reason
	}{
		{good.ID, task.Retry, task.ReasonThrottled},
		{other.ID, task.DeadLetter, roles.ReasonPolicyMismatch},
		{bad.ID, task.DeadLetter, task.ReasonInvalidTask},
	} {
		t.Run(tc.id, func(t *testing.T) {
			if o := got[tc.id]; o.Result != tc.result || o.Reason != tc.reason {
				t.Fatalf("outcome %+v, want %v %s", o, tc.result, tc.reason)
			}
		})
	}
	if n := ecs.Calls("CreateRoleGroup") + ecs.Calls("AuthorizeRules"); n != 0 {
		t.Fatalf("%d writes after failed reads or refused tasks", n)
	}
}

var timeZero = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
