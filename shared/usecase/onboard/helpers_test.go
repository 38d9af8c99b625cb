package onboard_test

import (
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/task"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
	"github.com/sgpilot/sgpilot/shared/usecase/onboard"
)

const (
	region  = "cn-hangzhou"
	roleKey = domain.DefaultRoleTagKey
	vpcA    = "vpc-aaaaaaaaaaaa0001"
	vpcB    = "vpc-bbbbbbbbbbbb0002"
)

func mustOnboarder(tb testing.TB, ecs onboard.ECS, o onboard.Options) *onboard.Onboarder {
	tb.Helper()
	ob, err := onboard.New(onboard.PortsFrom(ecs), o)
	if err != nil {
		tb.Fatal(err)
	}
	return ob
}

func roleGroup(vpc, role string, extra ...string) domain.SecurityGroup {
	tags := domain.Tags{roleKey: role, domain.DefaultManagedTagKey: domain.DefaultManagedTagValue}
	for i := 0; i+1 < len(extra); i += 2 {
		tags[extra[i]] = extra[i+1]
	}
	return domain.SecurityGroup{RegionID: region, VPCID: vpc, Name: "role-" + role, Tags: tags}
}

func vpcInstance(vpc, roles string, groups ...string) domain.Instance {
	return domain.Instance{RegionID: region, VPCID: vpc, NetworkType: domain.NetworkVPC,
		Tags: domain.Tags{roleKey: roles}, GroupIDs: groups}
}

func classicInstance(roles string, groups ...string) domain.Instance {
	return domain.Instance{RegionID: region, NetworkType: domain.NetworkClassic,
		Tags: domain.Tags{roleKey: roles}, GroupIDs: groups}
}

func onboardTask(instanceID, cause string) domain.Task {
	return domain.NewOnboardTask(region, instanceID, cause, time.Unix(0, 0))
}

func tasksFor(ids ...string) []domain.Task {
	out := make([]domain.Task, len(ids))
	for i, id := range ids {
		out[i] = onboardTask(id, "test")
	}
	return out
}

// groupsOf returns an instance's groups, sorted.
func groupsOf(tb testing.TB, ecs *fake.ECS, id string) []string {
	tb.Helper()
	in, ok := ecs.Instance(id)
	if !ok {
		tb.Fatalf("no instance %s", id)
	}
	return domain.SortedUnique(in.GroupIDs)
}

func sorted(ids ...string) []string { return domain.SortedUnique(ids) }

// byTask indexes outcomes by task ID, failing on duplicates.
func byTask(tb testing.TB, outs []task.Outcome) map[string]task.Outcome {
	tb.Helper()
	m := map[string]task.Outcome{}
	for _, o := range outs {
		if _, dup := m[o.TaskID]; dup {
			tb.Fatalf("two outcomes for task %s", o.TaskID)
		}
		m[o.TaskID] = o
	}
	return m
}

// only returns the single outcome, failing otherwise.
func only(tb testing.TB, outs []task.Outcome) task.Outcome {
	tb.Helper()
	if len(outs) != 1 {
		tb.Fatalf("got %d outcomes, want 1: %+v", len(outs), outs)
	}
	return outs[0]
}

func throttled() error {
	return domain.Errorf(domain.KindThrottled, "ecs JoinSecurityGroup", "Throttling.User", "Request was denied due to user flow control.")
}
