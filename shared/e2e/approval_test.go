package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/app"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/fcemu"
	"github.com/sgpilot/sgpilot/shared/testkit/harness"
)

// TestApproval_NightlyCleanup: two deletions over a limit of one are
// withheld with a plan ID and the payload that approves them; a wrong ID is
// refused and changes nothing; the right one queues both deletions, which
// the queue-worker carries out (re-checking each group) through the real
// functions.
func TestApproval_NightlyCleanup(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	seed := cleanupSeed(time.Now())
	for i := range seed.SecurityGroups {
		if id := seed.SecurityGroups[i].ID; id == sgUnused || id == sgSelfRef {
			seed.SecurityGroups[i].Tags = append(seed.SecurityGroups[i].Tags, ecsemu.SeedTag{Key: domain.DefaultStaleTagKey, Value: "2020-01-01"})
		}
	}
	c := startCloud(t, true, &seed, "SGPILOT_MAX_DELETIONS", "1", "SGPILOT_MAX_DELETE_PERCENT", "100")

	plan := runCleanup(t, c, "plan")
	rr := plan.Regions[0]
	if !strings.HasPrefix(rr.PlanID, rr.RegionID+":2:") || rr.Approve != `{"mode":"apply","approve":"`+rr.PlanID+`"}` {
		t.Fatalf("withheld plan: id %q approve %q", rr.PlanID, rr.Approve)
	}
	if !strings.Contains(plan.Table, "Plan ID: "+rr.PlanID) || !strings.Contains(plan.Table, rr.Approve) {
		t.Errorf("the text plan does not show the ID and the payload:\n%s", plan.Table)
	}

	before := fmt.Sprint(groupExists(c))
	wrong := rr.PlanID[:strings.LastIndex(rr.PlanID, ":")+1] + "0123456789abcdef"
	res, err := fcemu.InvokeOverHTTP(c.Info().InvokeEndpoint, "nightly-cleanup", []byte(`{"mode":"apply","approve":"`+wrong+`"}`), false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Error == nil || !strings.Contains(res.Error.ErrorMessage, "approval refused") || !strings.Contains(res.Error.ErrorMessage, wrong) {
		t.Fatalf("a wrong approval: %+v, want it refused naming the ID", res.Error)
	}
	if after := fmt.Sprint(groupExists(c)); after != before {
		t.Fatal("a refused approval changed groups")
	}

	var applied app.CleanupResult
	if err := json.Unmarshal(invoke(t, c, "nightly-cleanup", rr.Approve), &applied); err != nil {
		t.Fatal(err)
	}
	ar := applied.Regions[0]
	if ar.Approval == nil || ar.Approval.Status != domain.ApprovalUsed || ar.Summary.DeleteTasksEnqueued != 2 {
		t.Fatalf("approved apply: approval %+v, %d delete tasks", ar.Approval, ar.Summary.DeleteTasksEnqueued)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = harness.WaitFor(ctx, 100*time.Millisecond, func() (bool, string) {
		g := groupExists(c)
		_, a := g[sgUnused]
		_, b := g[sgSelfRef]
		return !a && !b, fmt.Sprintf("%s present %v, %s present %v", sgUnused, a, sgSelfRef, b)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := groupExists(c)[sgReferenced]; !ok {
		t.Fatal("SAFETY: an approval deleted a group outside its plan")
	}
}
