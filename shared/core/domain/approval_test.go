package domain_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// tenStale is a region of ten managed groups, all stale past the grace
// period: ten deletions, over a limit of five.
func tenStale() []domain.SecurityGroup {
	var groups []domain.SecurityGroup
	for i := range 10 {
		groups = append(groups, managed(fmt.Sprintf("sg-%c", 'a'+i), domain.Tags{domain.DefaultStaleTagKey: "2026-11-01"}))
	}
	return groups
}

func planWith(groups []domain.SecurityGroup, approve string) domain.RegionPlan {
	policy := domain.DefaultCleanupPolicy()
	policy.MaxDeletions = 5
	policy.MaxDeletePercent = 100
	policy.ApprovedPlanID = approve
	return domain.PlanCleanup(domain.RegionInput{RegionID: "cn-hangzhou", Groups: groups}, policy, now)
}

func TestDeletionPlanID_Format(t *testing.T) {
	id := domain.DeletionPlanID("cn-hangzhou", map[string]string{"sg-b": "2026-11-01", "sg-a": "2026-11-02"})
	p, err := domain.ParsePlanID(id)
	if err != nil {
		t.Fatal(err)
	}
	if p.Region != "cn-hangzhou" || p.Count != 2 || len(p.Hash) != 16 {
		t.Fatalf("parsed %+v from %s", p, id)
	}
	if again := domain.DeletionPlanID("cn-hangzhou", map[string]string{"sg-a": "2026-11-02", "sg-b": "2026-11-01"}); again != id {
		t.Fatalf("same deletions, another ID: %s vs %s", again, id)
	}
	for name, other := range map[string]string{
		"another mark":   domain.DeletionPlanID("cn-hangzhou", map[string]string{"sg-b": "2026-11-01", "sg-a": "2026-11-03"}),
		"another group":  domain.DeletionPlanID("cn-hangzhou", map[string]string{"sg-b": "2026-11-01", "sg-c": "2026-11-02"}),
		"another region": domain.DeletionPlanID("cn-shanghai", map[string]string{"sg-b": "2026-11-01", "sg-a": "2026-11-02"}),
	} {
		if other == id {
			t.Errorf("%s: same ID %s", name, id)
		}
	}
	if domain.DeletionPlanID("cn-hangzhou", nil) != "" {
		t.Error("no deletions must have no ID")
	}
}

func TestParsePlanID_Malformed(t *testing.T) {
	for _, s := range []string{"", "abc", "cn-hangzhou:2", "cn-hangzhou:0:0123456789abcdef", "cn-hangzhou:x:0123456789abcdef",
		"cn-hangzhou:2:0123", "cn-hangzhou:2:0123456789abcdeg", "CN:2:0123456789abcdef"} {
		t.Run(s, func(t *testing.T) {
			if _, err := domain.ParsePlanID(s); domain.KindOf(err) != domain.KindInvalid {
				t.Fatalf("ParsePlanID(%q) = %v, want KindInvalid", s, err)
			}
		})
	}
}

func TestPlanCleanup_Approval(t *testing.T) {
	withheld := planWith(tenStale(), "")
	if withheld.Blocked == "" || withheld.PlanID == "" || withheld.Count(domain.ActionDelete) != 0 {
		t.Fatalf("want ten deletions withheld with a plan ID: blocked=%q id=%q", withheld.Blocked, withheld.PlanID)
	}
	if !strings.HasPrefix(withheld.PlanID, "cn-hangzhou:10:") {
		t.Fatalf("plan ID %q", withheld.PlanID)
	}

	t.Run("the approved plan deletes beyond the limit", func(t *testing.T) {
		p := planWith(tenStale(), withheld.PlanID)
		if p.Count(domain.ActionDelete) != 10 || p.Blocked != "" || p.Approval != domain.ApprovalUsed {
			t.Fatalf("deletes=%d blocked=%q approval=%s", p.Count(domain.ActionDelete), p.Blocked, p.Approval)
		}
	})
	t.Run("a group gone from the plan refuses it and changes nothing", func(t *testing.T) {
		groups := tenStale()
		groups[3].Tags[domain.DefaultProtectTagKey] = ""
		groups = append(groups, managed("sg-new", nil)) // would be marked
		p := planWith(groups, withheld.PlanID)
		if p.Approval != domain.ApprovalRefused || !strings.Contains(p.ApprovalDetail, "deletes 9") {
			t.Fatalf("approval %s: %s", p.Approval, p.ApprovalDetail)
		}
		for _, d := range p.Decisions {
			if d.Action != domain.ActionKeep && d.Action != domain.ActionSkip {
				t.Fatalf("refused approval still %ss %s", d.Action, d.Group.ID)
			}
		}
	})
	t.Run("a changed mark refuses it", func(t *testing.T) {
		groups := tenStale()
		groups[0].Tags[domain.DefaultStaleTagKey] = "2026-10-01"
		p := planWith(groups, withheld.PlanID)
		if p.Approval != domain.ApprovalRefused || !strings.Contains(p.ApprovalDetail, "not the same groups") {
			t.Fatalf("approval %s: %s", p.Approval, p.ApprovalDetail)
		}
		if p.Count(domain.ActionDelete) != 0 {
			t.Fatal("SAFETY: a refused approval deleted")
		}
	})
	t.Run("an approval of another region leaves this one to the limit", func(t *testing.T) {
		other := strings.Replace(withheld.PlanID, "cn-hangzhou", "cn-shanghai", 1)
		p := planWith(tenStale(), other)
		if p.Approval != "" || p.Blocked == "" || p.Count(domain.ActionDelete) != 0 {
			t.Fatalf("approval %q blocked %q", p.Approval, p.Blocked)
		}
	})
	t.Run("within the limit the approval is not needed", func(t *testing.T) {
		groups := tenStale()[:4]
		id := planWith(groups, "").PlanID
		p := planWith(groups, id)
		if p.Approval != domain.ApprovalNotNeeded || p.Count(domain.ActionDelete) != 4 {
			t.Fatalf("approval %s deletes %d", p.Approval, p.Count(domain.ActionDelete))
		}
	})
	t.Run("the worker's re-check ignores approvals", func(t *testing.T) {
		g := tenStale()[0]
		ok, _, _ := domain.StillDeletable(g, domain.GroupUsage{Instances: []string{"i-1"}}, domain.CleanupPolicy{
			Scope: domain.DefaultCleanupPolicy().Scope, ProtectTagKey: domain.DefaultProtectTagKey, StaleTagKey: domain.DefaultStaleTagKey,
			GracePeriod: domain.DefaultGracePeriod, ApprovedPlanID: withheld.PlanID}, "2026-11-01", now)
		if ok {
			t.Fatal("SAFETY: a group in use passed the re-check under an approval")
		}
	})
}
