package e2e_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// TestCleanup_SeveralRegions: with SGPILOT_REGIONS naming three regions,
// the nightly run queues a region task each; the worker (under its own RAM
// policy, as in every e2e test) marks the unused groups of every region,
// splits a region over SGPILOT_FANOUT_GROUPS, and the next night deletes
// exactly the unused groups of all three. Auto Scaling and ECI are read in
// each region, as in the cloud.
func TestCleanup_SeveralRegions(t *testing.T) {
	// One of the long scenarios that mostly wait on queue windows and rate
	// limits: run beside the others (make test sets -parallel).
	t.Parallel()
	if testing.Short() {
		t.Skip("end-to-end")
	}
	awayFromMidnight(t, 5*time.Minute)
	seed, regs := scaleSeed(300, 150)
	c := startCloud(t, true, &seed, "SGPILOT_REGIONS", strings.Join(scaleRegions, ","),
		"SGPILOT_FANOUT_GROUPS", "60", "SGPILOT_MAX_DELETE_PERCENT", "100", "SGPILOT_MAX_DELETIONS", "1000")
	if res := runCleanup(t, c, "apply"); res.Summary.Errors != 0 {
		t.Fatalf("night 1: %+v\n%s", res.Summary, res.Table)
	}
	waitSettled(t, c)
	tags := c.GroupTags()
	for _, r := range regs {
		marked := 0
		for _, id := range r.unusedIDs {
			if tags[id][domain.DefaultStaleTagKey] != "" {
				marked++
			}
		}
		if marked != len(r.unusedIDs) || marked == 0 {
			t.Errorf("%s: %d of %d unused groups marked", r.region, marked, len(r.unusedIDs))
		}
		for _, id := range r.inUseIDs {
			if tags[id][domain.DefaultStaleTagKey] != "" {
				t.Errorf("%s: group in use %s marked", r.region, id)
			}
		}
	}
	if t.Failed() {
		return
	}
	if err := backdateScale(c, regs, 9); err != nil {
		t.Fatal(err)
	}
	if res := runCleanup(t, c, "apply"); res.Summary.Errors != 0 {
		t.Fatalf("night 2: %+v\n%s", res.Summary, res.Table)
	}
	waitSettled(t, c)
	left := c.GroupTags()
	for _, r := range regs {
		for _, id := range r.unusedIDs {
			if _, ok := left[id]; ok {
				t.Errorf("%s: unused group %s not deleted", r.region, id)
			}
		}
		for _, id := range r.inUseIDs {
			if _, ok := left[id]; !ok {
				t.Errorf("SAFETY: %s: group in use %s deleted", r.region, id)
			}
		}
	}
	if dl := deadLetterReasons(t, c); len(dl) > 0 {
		t.Errorf("dead letters: %v", dl)
	}
}
