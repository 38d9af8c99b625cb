package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sgpilot/sgpilot/shared/app"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
	"github.com/sgpilot/sgpilot/shared/testkit/harness"
)

// Groups of the cleanup scenario, each standing for one keep or delete case.
const (
	sgUnused      = "sg-bp1unused00000000001" // unused: marked, deleted after the grace period
	sgSelfRef     = "sg-bp1selfref0000000001" // only references itself: deleted too
	sgUsedInGrace = "sg-bp1usedgrace00000001" // unused, marked, then an instance joins: unmarked, kept
	sgReferenced  = "sg-bp1referenced0000001" // another group's rule names it: kept
	sgENIOnly     = "sg-bp1enionly0000000001" // only a secondary ENI uses it: kept
	sgTemplate    = "sg-bp1template000000001" // a launch template's default version names it: kept
	sgProtected   = "sg-bp1protected00000001" // protect tag: never touched
	sgManaged     = "sg-bp1svcmanaged0000001" // service-managed: never touched
	sgDelProtect  = "sg-bp1delprotect0000001" // deletion protection (invisible to the scan): ECS refuses, the worker keeps it
	sgOutside     = "sg-bp1outside0000000001" // not in scope: never touched
	sgYoung       = "sg-bp1young000000000001" // created just now: too young
	sgReferrer    = "sg-bp1referrer000000001" // out of scope, holds the rule naming sgReferenced
	graceUser     = "i-bp1graceuser000000001"
)

func cleanupSeed(now time.Time) ecsemu.Seed {
	seed := harness.DemoSeed()
	old := now.Add(-60 * 24 * time.Hour)
	managed := []ecsemu.SeedTag{{Key: harness.ManagedTagKey, Value: "true"}}
	group := func(id string, tags []ecsemu.SeedTag, created time.Time, rules ...ecsemu.SeedRule) ecsemu.SeedSecurityGroup {
		return ecsemu.SeedSecurityGroup{ID: id, VpcID: harness.VPCA, Name: "app-" + id[6:14], Description: "scenario group",
			CreationTime: created, Tags: tags, Rules: rules}
	}
	with := func(extra ...ecsemu.SeedTag) []ecsemu.SeedTag {
		return append(append([]ecsemu.SeedTag{}, managed...), extra...)
	}
	// Demo role groups are in scope too; keep them out of this scenario's way.
	for i := range seed.SecurityGroups {
		seed.SecurityGroups[i].Tags = append(seed.SecurityGroups[i].Tags, ecsemu.SeedTag{Key: "sgpilot:protect", Value: "demo"})
	}
	svc := group(sgManaged, managed, old)
	svc.ServiceManaged = true
	locked := group(sgDelProtect, managed, old)
	locked.DeletionProtection = true
	seed.SecurityGroups = append(seed.SecurityGroups,
		group(sgUnused, managed, old),
		group(sgSelfRef, managed, old, ecsemu.SeedRule{IPProtocol: "tcp", PortRange: "22/22", SourceGroupID: sgSelfRef}),
		group(sgUsedInGrace, managed, old),
		group(sgReferenced, managed, old),
		group(sgENIOnly, managed, old),
		group(sgTemplate, managed, old),
		group(sgProtected, with(ecsemu.SeedTag{Key: "sgpilot:protect", Value: "true"}), old),
		svc, locked,
		group(sgOutside, nil, old),
		group(sgYoung, managed, now),
		group(sgReferrer, nil, old, ecsemu.SeedRule{IPProtocol: "tcp", PortRange: "443/443", SourceGroupID: sgReferenced}),
	)
	seed.Instances = append(seed.Instances, ecsemu.SeedInstance{ID: graceUser, VSwitchID: harness.VSwitchA, SecurityGroupIDs: []string{harness.BaseA}})
	seed.NetworkInterfaces = append(seed.NetworkInterfaces, ecsemu.SeedNetworkInterface{ID: "eni-bp1enionly0000000001", VSwitchID: harness.VSwitchA, SecurityGroupIDs: []string{sgENIOnly}})
	seed.LaunchTemplates = append(seed.LaunchTemplates, ecsemu.SeedLaunchTemplate{ID: "lt-bp1web0000000000001", Name: "web",
		Versions: []ecsemu.SeedTemplateVersion{{VersionNumber: 1, VpcID: harness.VPCA, SecurityGroupID: sgTemplate}}})
	return seed
}

func runCleanup(t *testing.T, c *harness.Cloud, mode string) app.CleanupResult {
	t.Helper()
	var res app.CleanupResult
	out := invoke(t, c, "nightly-cleanup", fmt.Sprintf(`{"mode":%q}`, mode))
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("cleanup result %s: %v", out, err)
	}
	return res
}

// groupExists returns every group's tags by ID (absent: deleted).
func groupExists(c *harness.Cloud) map[string]map[string]string { return c.GroupTags() }

// awayFromMidnight waits out the last minutes of a UTC day: the scenario
// counts nights by moving marks back a day at a time while the functions
// read the wall clock, so the date must not change under it.
func awayFromMidnight(t *testing.T, margin time.Duration) {
	t.Helper()
	now := time.Now().UTC()
	if left := now.Truncate(24 * time.Hour).Add(24 * time.Hour).Sub(now); left < margin {
		t.Logf("waiting %s for the UTC date to change before the scenario starts", left.Round(time.Second))
		time.Sleep(left + time.Second)
	}
}

// TestCleanup_EndToEnd runs the nightly cleanup (real binaries, real SDKs)
// over ten nights on a region holding every keep and delete case, and checks
// that exactly the stale groups go, only after the grace period, none unsafe.
//
// The functions read the wall clock, as on Function Compute, and nothing
// moves localcloud's clock. A night passes by moving every stale mark one
// day into the past (TagResources through the ECS API): what the cleanup
// sees is then exactly what it would see a day later.
func TestCleanup_EndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	awayFromMidnight(t, 5*time.Minute)
	seed := cleanupSeed(time.Now())
	// Three deletions among eight groups in scope: allow them (the default 25% would withhold them).
	c := startCloud(t, true, &seed, "SGPILOT_MAX_DELETE_PERCENT", "50")
	night := func() {
		t.Helper()
		if _, err := c.BackdateTag(domain.DefaultStaleTagKey, 1); err != nil {
			t.Fatalf("a night passes: %v", err)
		}
	}

	// The plan changes nothing and reads like a table.
	table := invoke(t, c, "nightly-cleanup", `{"mode":"plan","format":"table"}`)
	var text string
	if err := json.Unmarshal(table, &text); err != nil || !strings.Contains(text, sgUnused) || !strings.Contains(text, "mark") {
		t.Fatalf("plan table:\n%s", table)
	}
	if tags := groupExists(c)[sgUnused]; tags[domain.DefaultStaleTagKey] != "" {
		t.Fatal("plan mode marked a group")
	}

	// Night 1: the unused groups are marked.
	res := runCleanup(t, c, "apply")
	for _, id := range []string{sgUnused, sgSelfRef, sgUsedInGrace, sgDelProtect} {
		if groupExists(c)[id][domain.DefaultStaleTagKey] == "" {
			t.Errorf("night 1: %s not marked", id)
		}
	}
	if res.Summary.Marked != 4 {
		t.Errorf("night 1 summary: %+v", res.Summary)
	}

	// During the grace period an instance joins one of them.
	req := ecs.CreateJoinSecurityGroupRequest()
	req.InstanceId, req.SecurityGroupId = graceUser, sgUsedInGrace
	if _, err := c.SDK.JoinSecurityGroup(req); err != nil {
		t.Fatal(err)
	}

	// Nights 2..8: nothing is deleted (a date mark counts from the end of its day).
	markedOn := groupExists(c)[sgUnused][domain.DefaultStaleTagKey]
	for n := 2; n <= 8; n++ {
		night()
		res = runCleanup(t, c, "apply")
		if res.Summary.DeleteTasksEnqueued != 0 {
			t.Fatalf("night %d: %d deletions before the grace period ended", n, res.Summary.DeleteTasksEnqueued)
		}
	}
	// The marks are seven days old now, and the groups still there.
	if got, want := groupExists(c)[sgUnused][domain.DefaultStaleTagKey], mustDate(t, markedOn).AddDate(0, 0, -7).Format(domain.StaleDateLayout); got != want {
		t.Fatalf("after night 8 the mark of %s is %q, want %q", sgUnused, got, want)
	}
	if groupExists(c)[sgUsedInGrace][domain.DefaultStaleTagKey] != "" {
		t.Error("a group used again during the grace period is still marked")
	}

	// A discovery failure on night 9 changes nothing in the region.
	night()
	c.Env.Controls.SetFaults("ecs", "DescribeNetworkInterfaces", core.FaultSpec{ServerErrorRate: 1})
	res = runCleanup(t, c, "apply")
	if res.Summary.DeleteTasksEnqueued != 0 || res.Summary.Errors == 0 || len(res.Summary.Blocked) == 0 {
		t.Fatalf("discovery failure: %+v", res.Summary)
	}
	c.Env.Controls.SetFaults("ecs", "DescribeNetworkInterfaces", core.FaultSpec{})

	// Night 9 again, healthy: the three stale groups are queued for deletion;
	// the worker deletes two, and ECS refuses the deletion-protected one.
	res = runCleanup(t, c, "apply")
	if res.Summary.DeleteTasksEnqueued != 3 {
		t.Fatalf("night 9: %+v\n%s", res.Summary, res.Table)
	}
	waitQueuesSettled(t, c, 0)
	// The queue empties when the event stream takes the tasks, before the
	// worker has run them: wait for the deletions themselves.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_ = harness.WaitFor(ctx, 200*time.Millisecond, func() (bool, string) {
		g := groupExists(c)
		_, a := g[sgUnused]
		_, b := g[sgSelfRef]
		return !a && !b, "stale groups still there"
	})
	groups := groupExists(c)
	for _, gone := range []string{sgUnused, sgSelfRef} {
		if _, ok := groups[gone]; ok {
			t.Errorf("%s still exists", gone)
		}
	}
	for _, kept := range []string{sgUsedInGrace, sgReferenced, sgENIOnly, sgTemplate, sgProtected, sgManaged, sgDelProtect, sgOutside, sgYoung, sgReferrer} {
		if _, ok := groups[kept]; !ok {
			t.Errorf("SAFETY: %s was deleted", kept)
		}
	}
	if tags := groups[sgOutside]; tags[domain.DefaultStaleTagKey] != "" {
		t.Error("a group outside the scope was marked")
	}
	// The worker deleted only after re-checking: every instance still has a group.
	for _, in := range c.ECS.Snapshot().Instances {
		if len(in.SecurityGroupIDs) == 0 {
			t.Errorf("SAFETY: %s has no group", in.ID)
		}
	}
}

// TestCleanup_BlastRadius: more deletions than allowed delete nothing and say why.
func TestCleanup_BlastRadius(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	seed := cleanupSeed(time.Now())
	for i := range seed.SecurityGroups {
		if seed.SecurityGroups[i].ID == sgUnused || seed.SecurityGroups[i].ID == sgSelfRef {
			seed.SecurityGroups[i].Tags = append(seed.SecurityGroups[i].Tags, ecsemu.SeedTag{Key: domain.DefaultStaleTagKey, Value: "2020-01-01"})
		}
	}
	c := startCloud(t, true, &seed, "SGPILOT_MAX_DELETIONS", "1", "SGPILOT_MAX_DELETE_PERCENT", "100")
	res := runCleanup(t, c, "apply")
	if res.Summary.DeleteTasksEnqueued != 0 || len(res.Summary.Blocked) != 1 || !strings.Contains(res.Summary.Blocked[0], "maximum of 1") {
		t.Fatalf("blast radius not enforced: %+v", res.Summary)
	}
	if !strings.Contains(res.Table, "blast-radius") {
		t.Errorf("table does not say why:\n%s", res.Table)
	}
	if _, ok := groupExists(c)[sgUnused]; !ok {
		t.Fatal("SAFETY: deleted over the blast radius")
	}
}

func mustDate(t *testing.T, v string) time.Time {
	t.Helper()
	d, err := time.Parse(domain.StaleDateLayout, v)
	if err != nil {
		t.Fatalf("mark %q: %v", v, err)
	}
	return d
}
