package domain_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

const vpcA, vpcB = "vpc-bp1aaaaaaaaaaaaaaaa", "vpc-bp1bbbbbbbbbbbbbbbb"

func group(id, vpc, role string) domain.SecurityGroup {
	g := domain.SecurityGroup{ID: id, RegionID: "cn-hangzhou", VPCID: vpc, Tags: domain.Tags{}}
	if role != "" {
		g.Tags[domain.DefaultRoleTagKey] = role
		g.Tags[domain.DefaultManagedTagKey] = domain.DefaultManagedTagValue
	}
	return g
}

func vpcInstance(vpc, roles string, status domain.InstanceStatus, groups ...string) domain.Instance {
	return domain.Instance{ID: "i-bp1instance000000001", RegionID: "cn-hangzhou", NetworkType: domain.NetworkVPC, VPCID: vpc,
		Status: status, Tags: domain.Tags{domain.DefaultRoleTagKey: roles}, GroupIDs: groups}
}

func TestPlanMembership(t *testing.T) {
	groupsA := []domain.SecurityGroup{group("sg-web0000001", vpcA, "web"), group("sg-db00000001", vpcA, "db"), group("sg-other00001", vpcA, "")}
	tests := []struct {
		name       string
		inst       domain.Instance
		groups     []domain.SecurityGroup
		limit      int
		wantJoin   []string
		wantReason domain.Reason
		wantKind   domain.Kind
		wantErr    bool
	}{
		{name: "joins both role groups", inst: vpcInstance(vpcA, "web,db", domain.StatusRunning, "sg-default0001"),
			groups: groupsA, wantJoin: []string{"sg-db00000001", "sg-web0000001"}, wantReason: domain.ReasonJoin},
		{name: "roles are trimmed and case-folded", inst: vpcInstance(vpcA, " Web , web ", domain.StatusRunning, "sg-default0001"),
			groups: groupsA, wantJoin: []string{"sg-web0000001"}, wantReason: domain.ReasonJoin},
		{name: "already complete", inst: vpcInstance(vpcA, "web", domain.StatusRunning, "sg-web0000001"),
			groups: groupsA, wantReason: domain.ReasonComplete},
		{name: "no role tag", inst: vpcInstance(vpcA, "", domain.StatusRunning, "sg-default0001"),
			groups: groupsA, wantReason: domain.ReasonNoRoles},
		{name: "group of another VPC never joined", inst: vpcInstance(vpcA, "web", domain.StatusRunning, "sg-default0001"),
			groups: []domain.SecurityGroup{group("sg-web000000b", vpcB, "web")}, wantReason: domain.ReasonNoRoleGroup, wantErr: true, wantKind: domain.KindPermanent},
		{name: "classic instance ignores VPC groups", inst: domain.Instance{ID: "i-bp1classic0000000001", RegionID: "cn-hangzhou",
			NetworkType: domain.NetworkClassic, Status: domain.StatusRunning, Tags: domain.Tags{domain.DefaultRoleTagKey: "web"}, GroupIDs: []string{"sg-classic0001"}},
			groups: []domain.SecurityGroup{group("sg-web0000001", vpcA, "web"), group("sg-webclassic1", "", "web")}, wantJoin: []string{"sg-webclassic1"}, wantReason: domain.ReasonJoin},
		{name: "over the default limit refused whole", inst: vpcInstance(vpcA, "web,db", domain.StatusRunning, "sg-a00000001", "sg-b00000001", "sg-c00000001", "sg-d00000001"),
			groups: groupsA, wantJoin: []string{"sg-db00000001", "sg-web0000001"}, wantReason: domain.ReasonOverLimit, wantErr: true, wantKind: domain.KindPermanent},
		{name: "raised quota allows it", inst: vpcInstance(vpcA, "web,db", domain.StatusRunning, "sg-a00000001", "sg-b00000001", "sg-c00000001", "sg-d00000001"),
			groups: groupsA, limit: 6, wantJoin: []string{"sg-db00000001", "sg-web0000001"}, wantReason: domain.ReasonJoin},
		{name: "exactly at the limit is fine", inst: vpcInstance(vpcA, "web,db", domain.StatusRunning, "sg-a00000001", "sg-b00000001", "sg-c00000001"),
			groups: groupsA, wantJoin: []string{"sg-db00000001", "sg-web0000001"}, wantReason: domain.ReasonJoin},
		{name: "pending instance retried", inst: vpcInstance(vpcA, "web", domain.StatusPending, "sg-default0001"),
			groups: groupsA, wantJoin: []string{"sg-web0000001"}, wantReason: domain.ReasonNotReady, wantErr: true, wantKind: domain.KindRetryable},
		{name: "stopping instance retried", inst: vpcInstance(vpcA, "web", domain.StatusStopping, "sg-default0001"),
			groups: groupsA, wantJoin: []string{"sg-web0000001"}, wantReason: domain.ReasonBadStatus, wantErr: true, wantKind: domain.KindRetryable},
		{name: "stopped instance can join", inst: vpcInstance(vpcA, "web", domain.StatusStopped, "sg-default0001"),
			groups: groupsA, wantJoin: []string{"sg-web0000001"}, wantReason: domain.ReasonJoin},
		{name: "missing one role fails whole plan", inst: vpcInstance(vpcA, "web,cache", domain.StatusRunning, "sg-default0001"),
			groups: groupsA, wantReason: domain.ReasonNoRoleGroup, wantErr: true, wantKind: domain.KindPermanent},
		{name: "bad role tag", inst: vpcInstance(vpcA, "web,b@d", domain.StatusRunning, "sg-default0001"),
			groups: groupsA, wantReason: domain.ReasonBadRoleTag, wantErr: true, wantKind: domain.KindPermanent},
		{name: "several groups for one role joins all", inst: vpcInstance(vpcA, "web", domain.StatusRunning, "sg-default0001"),
			groups: append(groupsA, group("sg-web0000002", vpcA, "web")), wantJoin: []string{"sg-web0000001", "sg-web0000002"}, wantReason: domain.ReasonJoin},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := domain.PlanMembership(domain.MembershipInput{Instance: tc.inst, NetworkGroups: tc.groups, GroupLimit: tc.limit})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil {
				if k := domain.KindOf(err); k != tc.wantKind {
					t.Errorf("kind = %v, want %v", k, tc.wantKind)
				}
				var pe *domain.PlanError
				if !errors.As(err, &pe) || pe.Reason != tc.wantReason {
					t.Errorf("error %v does not carry reason %s", err, tc.wantReason)
				}
			}
			if plan.Reason != tc.wantReason {
				t.Errorf("reason = %s (%s), want %s", plan.Reason, plan.Detail, tc.wantReason)
			}
			if diff := cmp.Diff(tc.wantJoin, plan.ToJoin); diff != "" {
				t.Errorf("ToJoin (-want +got):\n%s", diff)
			}
			// Invariants: never drops a current group; never plans over the limit unless refused.
			for _, cur := range tc.inst.GroupIDs {
				found := false
				for _, d := range plan.Desired {
					found = found || d == cur
				}
				if !found && plan.Desired != nil {
					t.Errorf("current group %s missing from desired %v", cur, plan.Desired)
				}
			}
			limit := tc.limit
			if limit == 0 {
				limit = domain.DefaultGroupsPerInstance
			}
			if err == nil && len(plan.Desired) > limit {
				t.Errorf("accepted plan with %d groups over limit %d", len(plan.Desired), limit)
			}
		})
	}
}

func ExamplePlanMembership() {
	inst := domain.Instance{ID: "i-bp1example00000001", RegionID: "cn-hangzhou", NetworkType: domain.NetworkVPC, VPCID: vpcA,
		Status: domain.StatusRunning, Tags: domain.Tags{"sgpilot:role": "web,db"}, GroupIDs: []string{"sg-bp1default0001"}}
	plan, err := domain.PlanMembership(domain.MembershipInput{Instance: inst, NetworkGroups: []domain.SecurityGroup{
		group("sg-bp1web00000001", vpcA, "web"), group("sg-bp1db000000001", vpcA, "db")}})
	fmt.Println(plan.Reason, err)
	fmt.Println(plan.Detail)
	fmt.Println(plan.Desired)
	// Output:
	// join <nil>
	// join sg-bp1db000000001,sg-bp1web00000001 for roles db,web
	// [sg-bp1db000000001 sg-bp1default0001 sg-bp1web00000001]
}

func TestParseRoles(t *testing.T) {
	tests := []struct {
		in      string
		want    []domain.Role
		wantErr bool
	}{
		{"", nil, false},
		{"web", []domain.Role{"web"}, false},
		{"web,db", []domain.Role{"db", "web"}, false},
		{" DB ,, web,db", []domain.Role{"db", "web"}, false},
		{"we b", nil, true},
		{"-web", nil, true},
		{"a234567890123456789012345678901234", nil, true},
	}
	for _, tc := range tests {
		got, err := domain.ParseRoles(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseRoles(%q) err = %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseRoles(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestErrorKinds(t *testing.T) {
	err := fmt.Errorf("outer: %w", domain.Errorf(domain.KindThrottled, "ecs JoinSecurityGroup", "Throttling.User", "slow down"))
	if domain.KindOf(err) != domain.KindThrottled || !errors.Is(err, domain.ErrThrottled) || !domain.IsRetryable(err) {
		t.Fatalf("classification lost through wrapping: %v", err)
	}
	if domain.CodeOf(err) != "Throttling.User" {
		t.Fatalf("code = %q", domain.CodeOf(err))
	}
	if domain.KindOf(errors.New("plain")) != domain.KindInternal {
		t.Fatal("unclassified errors must be internal")
	}
	inUse := domain.Wrap(domain.KindConflict, "ecs DeleteSecurityGroup sg-1", "DependencyViolation", fmt.Errorf("%w: has instances", domain.ErrInUse))
	if !errors.Is(inUse, domain.ErrInUse) || !errors.Is(inUse, domain.ErrConflict) {
		t.Fatal("sentinels not reachable")
	}
}
