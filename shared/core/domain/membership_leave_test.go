package domain_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// stray is a group tagged with a role but outside sgpilot's scope.
func stray(id, vpc, role string) domain.SecurityGroup {
	g := group(id, vpc, role)
	delete(g.Tags, domain.DefaultManagedTagKey)
	return g
}

func typed(g domain.SecurityGroup, typ string) domain.SecurityGroup {
	g.Type = typ
	return g
}

func TestPlanMembership_FollowsTags(t *testing.T) {
	web, db, cache := group("sg-web0000001", vpcA, "web"), group("sg-db00000001", vpcA, "db"), group("sg-cache000001", vpcA, "cache")
	def := group("sg-default0001", vpcA, "")
	base := []domain.SecurityGroup{web, db, cache, def}
	tests := []struct {
		name       string
		inst       domain.Instance
		groups     []domain.SecurityGroup
		limit      int
		allowed    []string
		wantJoin   []string
		wantLeave  []string
		leaveFirst bool
		wantReason domain.Reason
		wantErr    bool
		wantNotes  []domain.Reason
	}{
		{name: "retagged web to db joins db and leaves web",
			inst:   vpcInstance(vpcA, "db", domain.StatusRunning, "sg-default0001", "sg-web0000001"),
			groups: base, wantJoin: []string{"sg-db00000001"}, wantLeave: []string{"sg-web0000001"}, wantReason: domain.ReasonJoin},
		{name: "lost one of two roles only leaves",
			inst:   vpcInstance(vpcA, "web", domain.StatusRunning, "sg-default0001", "sg-web0000001", "sg-db00000001"),
			groups: base, wantLeave: []string{"sg-db00000001"}, wantReason: domain.ReasonLeave},
		{name: "role tag removed leaves every role group but the default",
			inst:   vpcInstance(vpcA, "", domain.StatusRunning, "sg-default0001", "sg-web0000001"),
			groups: base, wantLeave: []string{"sg-web0000001"}, wantReason: domain.ReasonLeave},
		{name: "last group is kept and the plan says so",
			inst:   vpcInstance(vpcA, "", domain.StatusRunning, "sg-web0000001"),
			groups: base, wantReason: domain.ReasonLastGroup, wantNotes: []domain.Reason{domain.ReasonLastGroup}},
		{name: "two lost groups that are all it has are both kept",
			inst:   vpcInstance(vpcA, "", domain.StatusRunning, "sg-web0000001", "sg-db00000001"),
			groups: base, wantReason: domain.ReasonLastGroup, wantNotes: []domain.Reason{domain.ReasonLastGroup, domain.ReasonLastGroup}},
		{name: "moving from its only group is fine: it joins first",
			inst:   vpcInstance(vpcA, "db", domain.StatusRunning, "sg-web0000001"),
			groups: base, wantJoin: []string{"sg-db00000001"}, wantLeave: []string{"sg-web0000001"}, wantReason: domain.ReasonJoin},
		{name: "unmanaged group of a lost role is never left",
			inst:   vpcInstance(vpcA, "db", domain.StatusRunning, "sg-default0001", "sg-stray000001"),
			groups: append(base, stray("sg-stray000001", vpcA, "web")), wantJoin: []string{"sg-db00000001"}, wantReason: domain.ReasonJoin,
			wantNotes: []domain.Reason{domain.ReasonGroupOutOfScope}},
		{name: "stray role group outside the scope is never joined",
			inst:   vpcInstance(vpcA, "web", domain.StatusRunning, "sg-default0001"),
			groups: []domain.SecurityGroup{web, stray("sg-stray000001", vpcA, "web")}, wantJoin: []string{"sg-web0000001"}, wantReason: domain.ReasonJoin,
			wantNotes: []domain.Reason{domain.ReasonGroupOutOfScope}},
		{name: "only a stray group for the role: no role group",
			inst:   vpcInstance(vpcA, "web", domain.StatusRunning, "sg-default0001"),
			groups: []domain.SecurityGroup{stray("sg-stray000001", vpcA, "web")}, wantReason: domain.ReasonNoRoleGroup, wantErr: true,
			wantNotes: []domain.Reason{domain.ReasonGroupOutOfScope}},
		{name: "allow-list narrows the role groups",
			inst:   vpcInstance(vpcA, "web", domain.StatusRunning, "sg-default0001"),
			groups: append(base, group("sg-web0000002", vpcA, "web")), allowed: []string{"sg-web0000002", "sg-db00000001"},
			wantJoin: []string{"sg-web0000002"}, wantReason: domain.ReasonJoin,
			wantNotes: []domain.Reason{domain.ReasonGroupNotAllowed, domain.ReasonGroupNotAllowed}},
		{name: "mixed basic and advanced refused whole",
			inst:   vpcInstance(vpcA, "web", domain.StatusRunning, "sg-default0001"),
			groups: []domain.SecurityGroup{typed(web, "enterprise"), typed(def, "normal")}, wantJoin: []string{"sg-web0000001"},
			wantReason: domain.ReasonMixedGroupTypes, wantErr: true},
		{name: "moving between types through a join is refused",
			inst:   vpcInstance(vpcA, "db", domain.StatusRunning, "sg-web0000001"),
			groups: []domain.SecurityGroup{typed(web, "normal"), typed(db, "enterprise")}, wantJoin: []string{"sg-db00000001"},
			wantLeave: []string{"sg-web0000001"}, wantReason: domain.ReasonMixedGroupTypes, wantErr: true},
		{name: "same advanced type is fine",
			inst:   vpcInstance(vpcA, "db", domain.StatusRunning, "sg-web0000001"),
			groups: []domain.SecurityGroup{typed(web, "enterprise"), typed(db, "enterprise")}, wantJoin: []string{"sg-db00000001"},
			wantLeave: []string{"sg-web0000001"}, wantReason: domain.ReasonJoin},
		{name: "at the limit a move leaves first",
			inst:   vpcInstance(vpcA, "db", domain.StatusRunning, "sg-a00000001", "sg-b00000001", "sg-c00000001", "sg-d00000001", "sg-web0000001"),
			groups: base, wantJoin: []string{"sg-db00000001"}, wantLeave: []string{"sg-web0000001"}, leaveFirst: true, wantReason: domain.ReasonJoin},
		{name: "result over the limit refused, nothing left either",
			inst:   vpcInstance(vpcA, "db,cache", domain.StatusRunning, "sg-a00000001", "sg-b00000001", "sg-c00000001", "sg-d00000001", "sg-web0000001"),
			groups: base, wantJoin: []string{"sg-cache000001", "sg-db00000001"}, wantLeave: []string{"sg-web0000001"},
			wantReason: domain.ReasonOverLimit, wantErr: true},
		{name: "leaving needs a running instance too",
			inst:   vpcInstance(vpcA, "", domain.StatusStarting, "sg-default0001", "sg-web0000001"),
			groups: base, wantLeave: []string{"sg-web0000001"}, wantReason: domain.ReasonNotReady, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := domain.PlanMembership(domain.MembershipInput{Instance: tc.inst, NetworkGroups: tc.groups,
				GroupLimit: tc.limit, AllowedGroupIDs: tc.allowed})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v (plan %+v)", err, tc.wantErr, plan)
			}
			var pe *domain.PlanError
			if err != nil && !errors.As(err, &pe) {
				t.Fatalf("error %v carries no plan", err)
			}
			if plan.Reason != tc.wantReason {
				t.Errorf("reason = %s (%s), want %s", plan.Reason, plan.Detail, tc.wantReason)
			}
			if diff := cmp.Diff(tc.wantJoin, plan.ToJoin); diff != "" {
				t.Errorf("ToJoin (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantLeave, plan.ToLeave); diff != "" {
				t.Errorf("ToLeave (-want +got):\n%s", diff)
			}
			if plan.LeaveFirst != tc.leaveFirst {
				t.Errorf("LeaveFirst = %v, want %v", plan.LeaveFirst, tc.leaveFirst)
			}
			var notes []domain.Reason
			for _, n := range plan.Notes {
				notes = append(notes, n.Reason)
				if n.Detail == "" || n.GroupID == "" {
					t.Errorf("note without group or detail: %+v", n)
				}
			}
			if diff := cmp.Diff(tc.wantNotes, notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
			// Invariants of an accepted plan: never empty, never over the
			// limit, never leaves an out-of-scope group.
			if err == nil {
				if len(plan.Desired) == 0 && len(plan.Current) > 0 {
					t.Errorf("plan leaves the instance in no group")
				}
				limit := tc.limit
				if limit == 0 {
					limit = domain.DefaultGroupsPerInstance
				}
				if len(plan.Desired) > limit {
					t.Errorf("accepted plan with %d groups over limit %d", len(plan.Desired), limit)
				}
				for _, id := range plan.ToLeave {
					if id == "sg-stray000001" || id == "sg-default0001" {
						t.Errorf("plan leaves %s, which sgpilot does not manage as a role group", id)
					}
				}
			}
		})
	}
}
