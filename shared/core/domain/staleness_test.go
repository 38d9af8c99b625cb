package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

var now = time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)

func managed(id string, extra domain.Tags) domain.SecurityGroup {
	g := domain.SecurityGroup{ID: id, Name: "sgpilot-" + id, RegionID: "cn-hangzhou", VPCID: vpcA,
		CreationTime: now.Add(-30 * 24 * time.Hour), Tags: domain.Tags{domain.DefaultManagedTagKey: "true"}}
	for k, v := range extra {
		g.Tags[k] = v
	}
	return g
}

func TestPlanCleanup_Decisions(t *testing.T) {
	stale := domain.Tags{domain.DefaultStaleTagKey: "2026-11-10"}  // 15 days ago: past grace
	recent := domain.Tags{domain.DefaultStaleTagKey: "2026-11-22"} // 3 days ago: in grace
	young := managed("sg-young", nil)
	young.CreationTime = now.Add(-time.Hour)
	sm := managed("sg-svcmanaged", stale)
	sm.ServiceManaged = true
	outside := managed("sg-outside", stale)
	delete(outside.Tags, domain.DefaultManagedTagKey)

	tests := []struct {
		name   string
		group  domain.SecurityGroup
		usage  domain.GroupUsage
		action domain.CleanupAction
		reason domain.Reason
	}{
		{"unused unmarked is marked", managed("sg-a", nil), domain.GroupUsage{}, domain.ActionMark, domain.ReasonNewlyStale},
		{"marked in grace kept", managed("sg-b", recent), domain.GroupUsage{}, domain.ActionKeep, domain.ReasonInGrace},
		{"marked past grace deleted", managed("sg-c", stale), domain.GroupUsage{}, domain.ActionDelete, domain.ReasonGraceOver},
		{"instances keep it", managed("sg-d", nil), domain.GroupUsage{Instances: []string{"i-1"}}, domain.ActionKeep, domain.ReasonInUse},
		{"only an ENI keeps it", managed("sg-e", stale), domain.GroupUsage{ENIs: []string{"eni-1"}}, domain.ActionUnmark, domain.ReasonUsedAgain},
		{"referenced keeps it", managed("sg-f", stale), domain.GroupUsage{ReferencedBy: []string{"sg-x"}}, domain.ActionUnmark, domain.ReasonUsedAgain},
		{"any launch template version keeps it", managed("sg-g", nil), domain.GroupUsage{TemplateVersions: []domain.TemplateVersionUse{{TemplateID: "lt-1", Version: 1}}}, domain.ActionKeep, domain.ReasonInUse},
		{"protect tag skips", managed("sg-h", domain.Tags{domain.DefaultProtectTagKey: "", domain.DefaultStaleTagKey: "2026-11-10"}), domain.GroupUsage{}, domain.ActionSkip, domain.ReasonProtected},
		{"service managed skips", sm, domain.GroupUsage{}, domain.ActionSkip, domain.ReasonServiceManaged},
		{"out of scope skips", outside, domain.GroupUsage{}, domain.ActionSkip, domain.ReasonOutOfScope},
		{"too young kept", young, domain.GroupUsage{}, domain.ActionKeep, domain.ReasonTooYoung},
		{"unreadable mark re-marked", managed("sg-i", domain.Tags{domain.DefaultStaleTagKey: "yesterday"}), domain.GroupUsage{}, domain.ActionMark, domain.ReasonBadMark},
		{"a date mark counts from the end of its day", managed("sg-j", domain.Tags{domain.DefaultStaleTagKey: "2026-11-18"}), domain.GroupUsage{}, domain.ActionKeep, domain.ReasonInGrace},
		{"full grace after the mark's day deletes", managed("sg-k", domain.Tags{domain.DefaultStaleTagKey: "2026-11-17"}), domain.GroupUsage{}, domain.ActionDelete, domain.ReasonGraceOver},
		{"RFC 3339 mark counts exactly", managed("sg-l", domain.Tags{domain.DefaultStaleTagKey: "2026-11-18T02:00:00Z"}), domain.GroupUsage{}, domain.ActionDelete, domain.ReasonGraceOver},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			policy := domain.DefaultCleanupPolicy()
			policy.MaxDeletePercent = 100
			plan := domain.PlanCleanup(domain.RegionInput{RegionID: "cn-hangzhou", Groups: []domain.SecurityGroup{tc.group},
				Usage: map[string]domain.GroupUsage{tc.group.ID: tc.usage}}, policy, now)
			d := plan.Decisions[0]
			if d.Action != tc.action || d.Reason != tc.reason {
				t.Fatalf("got %s/%s (%s), want %s/%s", d.Action, d.Reason, d.Detail, tc.action, tc.reason)
			}
			if d.Action == domain.ActionDelete && tc.usage.InUse() {
				t.Fatal("SAFETY: planned to delete a group in use")
			}
		})
	}
}

func TestPlanCleanup_BlastRadius(t *testing.T) {
	var groups []domain.SecurityGroup
	for i := 0; i < 10; i++ {
		groups = append(groups, managed("sg-"+string(rune('a'+i)), domain.Tags{domain.DefaultStaleTagKey: "2026-11-01"}))
	}
	policy := domain.DefaultCleanupPolicy()
	policy.MaxDeletions = 5
	policy.MaxDeletePercent = 100
	plan := domain.PlanCleanup(domain.RegionInput{RegionID: "cn-hangzhou", Groups: groups}, policy, now)
	if plan.Count(domain.ActionDelete) != 0 || !strings.Contains(plan.Blocked, "maximum of 5") {
		t.Fatalf("blast radius not enforced: deletes=%d blocked=%q", plan.Count(domain.ActionDelete), plan.Blocked)
	}
	for _, d := range plan.Decisions {
		if d.Reason != domain.ReasonBlastRadius || d.StaleSince != "2026-11-01" {
			t.Fatalf("decision %+v", d)
		}
	}

	policy.MaxDeletions = 100
	policy.MaxDeletePercent = 50 // 10 in scope, 10 deletions = 100% > 50%
	plan = domain.PlanCleanup(domain.RegionInput{RegionID: "cn-hangzhou", Groups: groups}, policy, now)
	if plan.Count(domain.ActionDelete) != 0 || !strings.Contains(plan.Blocked, "50%") {
		t.Fatalf("percentage not enforced: %q", plan.Blocked)
	}
}

func TestPlanCleanup_SmallAccountMayDeleteOne(t *testing.T) {
	groups := []domain.SecurityGroup{managed("sg-a", domain.Tags{domain.DefaultStaleTagKey: "2026-11-01"}), managed("sg-b", nil)}
	plan := domain.PlanCleanup(domain.RegionInput{RegionID: "cn-hangzhou", Groups: groups}, domain.DefaultCleanupPolicy(), now)
	if plan.Count(domain.ActionDelete) != 1 || plan.Blocked != "" {
		t.Fatalf("2 groups in scope at 25%%: want the one stale group deleted, got %d (%s)", plan.Count(domain.ActionDelete), plan.Blocked)
	}
	groups = append(groups, managed("sg-c", domain.Tags{domain.DefaultStaleTagKey: "2026-11-01"}))
	plan = domain.PlanCleanup(domain.RegionInput{RegionID: "cn-hangzhou", Groups: groups}, domain.DefaultCleanupPolicy(), now)
	if plan.Count(domain.ActionDelete) != 0 || plan.Blocked == "" {
		t.Fatal("2 of 3 groups at 25% must be withheld")
	}
}

func TestPlanCleanup_DiscoveryIncompleteChangesNothing(t *testing.T) {
	groups := []domain.SecurityGroup{managed("sg-a", nil), managed("sg-b", domain.Tags{domain.DefaultStaleTagKey: "2026-11-01"}),
		managed("sg-c", domain.Tags{domain.DefaultStaleTagKey: "2026-11-01"})}
	usage := map[string]domain.GroupUsage{"sg-c": {Instances: []string{"i-1"}}}
	plan := domain.PlanCleanup(domain.RegionInput{RegionID: "cn-hangzhou", Groups: groups, Usage: usage, DiscoveryError: "DescribeNetworkInterfaces page 3: throttled"},
		domain.DefaultCleanupPolicy(), now)
	for _, d := range plan.Decisions {
		if d.Action != domain.ActionKeep && d.Action != domain.ActionSkip {
			t.Fatalf("%s: %s despite incomplete discovery", d.Group.ID, d.Action)
		}
	}
	if !strings.Contains(plan.Blocked, "discovery incomplete") {
		t.Fatalf("blocked = %q", plan.Blocked)
	}
}

func TestPlanCleanup_EmptyScopeMatchesNothing(t *testing.T) {
	policy := domain.DefaultCleanupPolicy()
	policy.Scope = domain.Scope{}
	plan := domain.PlanCleanup(domain.RegionInput{Groups: []domain.SecurityGroup{managed("sg-a", nil)}}, policy, now)
	if plan.Decisions[0].Action != domain.ActionSkip {
		t.Fatal("an empty scope must select nothing")
	}
}

func TestStillDeletable(t *testing.T) {
	policy := domain.DefaultCleanupPolicy()
	g := managed("sg-a", domain.Tags{domain.DefaultStaleTagKey: "2026-11-01"})
	if ok, reason, detail := domain.StillDeletable(g, domain.GroupUsage{}, policy, "2026-11-01", now); !ok {
		t.Fatalf("want deletable, got %s %s", reason, detail)
	}
	if ok, _, _ := domain.StillDeletable(g, domain.GroupUsage{}, policy, "2026-11-05", now); ok {
		t.Fatal("a changed mark must stop the delete")
	}
	cleared := managed("sg-a", nil)
	if ok, reason, _ := domain.StillDeletable(cleared, domain.GroupUsage{}, policy, "2026-11-01", now); ok || reason != domain.ReasonUsedAgain {
		t.Fatalf("a cleared mark: ok=%v reason %s, want used-again", ok, reason)
	}
	g.Tags[domain.DefaultProtectTagKey] = "yes"
	if ok, reason, _ := domain.StillDeletable(g, domain.GroupUsage{}, policy, "2026-11-01", now); ok || reason != domain.ReasonProtected {
		t.Fatalf("protected group deletable (%s)", reason)
	}
}

// A group whose role the role policy declares is kept however unused (and
// its mark removed); once the role leaves the policy it is stale again.
func TestPlanCleanup_DeclaredRoles(t *testing.T) {
	role := func(id, r string, extra domain.Tags) domain.SecurityGroup {
		tags := domain.Tags{domain.DefaultRoleTagKey: r}
		for k, v := range extra {
			tags[k] = v
		}
		return managed(id, tags)
	}
	marked := domain.Tags{domain.DefaultStaleTagKey: "2026-11-01"}
	tests := []struct {
		name     string
		group    domain.SecurityGroup
		declared map[string]bool
		action   domain.CleanupAction
		reason   domain.Reason
	}{
		{"declared role kept", role("sg-a", "web", nil), map[string]bool{"web": true}, domain.ActionKeep, domain.ReasonDeclaredRole},
		{"declared role unmarked", role("sg-b", "web", marked), map[string]bool{"web": true}, domain.ActionUnmark, domain.ReasonDeclaredRole},
		{"role removed from the policy: stale", role("sg-c", "web", nil), map[string]bool{"redis": true}, domain.ActionMark, domain.ReasonNewlyStale},
		{"role removed, marked long ago: deleted", role("sg-d", "web", marked), map[string]bool{"redis": true}, domain.ActionDelete, domain.ReasonGraceOver},
		{"no policy in force", role("sg-e", "web", nil), nil, domain.ActionMark, domain.ReasonNewlyStale},
		{"no role tag", managed("sg-f", nil), map[string]bool{"web": true}, domain.ActionMark, domain.ReasonNewlyStale},
		{"protect still wins", role("sg-g", "web", domain.Tags{domain.DefaultProtectTagKey: "x"}), map[string]bool{"web": true}, domain.ActionSkip, domain.ReasonProtected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			policy := domain.DefaultCleanupPolicy()
			policy.MaxDeletePercent = 100
			policy.DeclaredRoles = tc.declared
			plan := domain.PlanCleanup(domain.RegionInput{RegionID: "cn-hangzhou", Groups: []domain.SecurityGroup{tc.group}}, policy, now)
			d := plan.Decisions[0]
			if d.Action != tc.action || d.Reason != tc.reason {
				t.Fatalf("got %s/%s (%s), want %s/%s", d.Action, d.Reason, d.Detail, tc.action, tc.reason)
			}
			ok, reason, _ := domain.StillDeletable(tc.group, domain.GroupUsage{}, policy, tc.group.Tags[domain.DefaultStaleTagKey], now)
			if ok != (tc.action == domain.ActionDelete) {
				t.Fatalf("StillDeletable = %v (%s), plan says %s", ok, reason, tc.action)
			}
		})
	}
}
