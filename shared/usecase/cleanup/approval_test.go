package cleanup_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/usecase/cleanup"
)

// TestRun_ApprovalLiftsTheLimitForThatPlanOnly: a withheld plan names its
// ID and the payload that approves it; the approved run enqueues exactly
// those deletions; once a group changes, the same approval is refused and
// nothing changes in the region.
func TestRun_ApprovalLiftsTheLimitForThatPlanOnly(t *testing.T) {
	f := newFakeECS()
	for i := range 5 {
		f.addGroups(mg(fmt.Sprintf("sg-stale%04d", i), stale, "2026-11-01"))
	}
	f.addGroups(mg("sg-fresh0001"))
	p := domain.DefaultCleanupPolicy()
	p.MaxDeletions = 3

	plan := regionReport(t, MustRunPolicy(t, newCleaner(f, newFakeQueue()), cleanup.ModePlan, t0, p), hz)
	if plan.PlanID == "" || plan.Approve != cleanup.ApprovePayload(plan.PlanID) || plan.Approval != nil {
		t.Fatalf("withheld plan: id %q approve %q approval %+v", plan.PlanID, plan.Approve, plan.Approval)
	}
	if !strings.Contains(plan.Approve, `"approve":"`+plan.PlanID+`"`) {
		t.Fatalf("approve payload %s", plan.Approve)
	}

	t.Run("a changed group refuses the approval", func(t *testing.T) {
		f.setTag(hz, "sg-stale0004", stale, "2026-11-02")
		defer f.setTag(hz, "sg-stale0004", stale, "2026-11-01")
		q := newFakeQueue()
		ap := p
		ap.ApprovedPlanID = plan.PlanID
		rr := regionReport(t, MustRunPolicy(t, newCleaner(f, q), cleanup.ModeApply, t0, ap), hz)
		if rr.Approval == nil || rr.Approval.Status != domain.ApprovalRefused || rr.Approve != "" {
			t.Fatalf("approval %+v approve %q", rr.Approval, rr.Approve)
		}
		if len(q.tasks()) != 0 || rr.Summary.Marked != 0 {
			t.Fatalf("refused approval changed the region: %d tasks, %d marked", len(q.tasks()), rr.Summary.Marked)
		}
	})

	q := newFakeQueue()
	ap := p
	ap.ApprovedPlanID = plan.PlanID
	rr := regionReport(t, MustRunPolicy(t, newCleaner(f, q), cleanup.ModeApply, t0, ap), hz)
	if rr.Approval == nil || rr.Approval.Status != domain.ApprovalUsed || rr.Blocked != "" {
		t.Fatalf("approval %+v blocked %q", rr.Approval, rr.Blocked)
	}
	if got := len(q.tasks()); got != 5 {
		t.Fatalf("approved plan enqueued %d delete tasks, want 5", got)
	}
}
