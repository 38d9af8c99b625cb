package e2e_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/essemu"
	"github.com/sgpilot/sgpilot/shared/testkit/harness"
)

// Groups that only something outside ECS's own dependency check uses: ECS
// would delete each of them, and the next launch would fail.
const (
	sgScalingOnly = "sg-bp1scalingonly000001" // named only by a scaling configuration of a scaling group at zero instances
	sgOldVersion  = "sg-bp1oldversion0000001" // named only by version 1 of a launch template whose default is 2 and latest 3
	sgECIOnly     = "sg-bp1ecionly0000000001" // bound only to a pending ECI container group (no ENI yet)
	ltUsers       = "lt-bp1users00000000001"
)

func usersSeed(now time.Time) ecsemu.Seed {
	seed := harness.DemoSeed()
	old := now.Add(-60 * 24 * time.Hour)
	for i := range seed.SecurityGroups {
		seed.SecurityGroups[i].Tags = append(seed.SecurityGroups[i].Tags, ecsemu.SeedTag{Key: "sgpilot:protect", Value: "demo"})
	}
	for _, id := range []string{sgScalingOnly, sgOldVersion, sgECIOnly} {
		seed.SecurityGroups = append(seed.SecurityGroups, ecsemu.SeedSecurityGroup{ID: id, VpcID: harness.VPCA, Name: "app-" + id[6:14],
			Description: "used outside ECS", CreationTime: old, Tags: []ecsemu.SeedTag{{Key: harness.ManagedTagKey, Value: "true"}}})
	}
	// Created long ago, so deleting a version moves the template's
	// ModifiedTime (minute resolution) and the adapter re-reads it.
	seed.LaunchTemplates = append(seed.LaunchTemplates, ecsemu.SeedLaunchTemplate{ID: ltUsers, Name: "users", DefaultVersion: 2, CreateTime: old,
		Versions: []ecsemu.SeedTemplateVersion{
			{VersionNumber: 1, CreateTime: old, VpcID: harness.VPCA, SecurityGroupID: sgOldVersion},
			{VersionNumber: 2, CreateTime: old, VpcID: harness.VPCA, SecurityGroupID: harness.BaseA},
			{VersionNumber: 3, CreateTime: old, VpcID: harness.VPCA, SecurityGroupID: harness.BaseA},
		}})
	return seed
}

// TestCleanupUsers_OutsideECS: on localcloud with the real binaries, three
// groups that only Auto Scaling, an old launch template version and ECI use
// survive every night; once those uses go away they are marked, and deleted
// after the grace period.
func TestCleanupUsers_OutsideECS(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	awayFromMidnight(t, 5*time.Minute)
	seed := usersSeed(time.Now())
	c := startCloud(t, true, &seed, "SGPILOT_MAX_DELETE_PERCENT", "100")
	asg, err := c.ESS.AddScalingGroup(essemu.SeedScalingGroup{Name: "web-asg", InstanceCount: 0, MinSize: 0, MaxSize: 4, VpcID: harness.VPCA})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ESS.AddScalingConfiguration(essemu.SeedScalingConfiguration{Name: "web-v1", ScalingGroupID: asg, Active: true,
		SecurityGroupIDs: []string{sgScalingOnly}}); err != nil {
		t.Fatal(err)
	}
	// An ECI-type scaling group's configuration names the ECI group too (read
	// with DescribeEciScalingConfigurations).
	jobs, err := c.ESS.AddScalingGroup(essemu.SeedScalingGroup{Name: "jobs-asg", GroupType: "ECI", VpcID: harness.VPCA})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ESS.AddScalingConfiguration(essemu.SeedScalingConfiguration{Name: "jobs-v1", ScalingGroupID: jobs, Active: true,
		SecurityGroupID: sgECIOnly}); err != nil {
		t.Fatal(err)
	}
	eci, err := c.ESS.AddContainerGroup(essemu.SeedContainerGroup{Name: "job", Status: "Pending", SecurityGroupID: sgECIOnly, VpcID: harness.VPCA})
	if err != nil {
		t.Fatal(err)
	}
	night := func() {
		t.Helper()
		if _, err := c.BackdateTag(domain.DefaultStaleTagKey, 1); err != nil {
			t.Fatalf("a night passes: %v", err)
		}
	}
	users := []string{sgScalingOnly, sgOldVersion, sgECIOnly}

	// The plan names each user and its kind, and what it cannot see.
	res := runCleanup(t, c, "plan")
	for _, want := range []string{"scaling-configurations 1", "template-versions 1", "eci-container-groups 1",
		"Not checked: Function Compute", "version 1", "ECI container group " + eci} {
		if !strings.Contains(res.Table, want) {
			t.Errorf("plan table lacks %q:\n%s", want, res.Table)
		}
	}

	// Every night (nine: past the grace period), the three stay unmarked.
	for n := 1; n <= 9; n++ {
		res = runCleanup(t, c, "apply")
		if res.Summary.Marked != 0 || res.Summary.DeleteTasksEnqueued != 0 || res.Summary.Errors != 0 {
			t.Fatalf("night %d: %+v\n%s", n, res.Summary, res.Table)
		}
		night()
	}
	tags := groupExists(c)
	for _, id := range users {
		if _, ok := tags[id]; !ok || tags[id][domain.DefaultStaleTagKey] != "" {
			t.Fatalf("%s: exists %v, tags %v", id, ok, tags[id])
		}
	}

	// The uses go away: the configuration is deleted (the ESS state without
	// it), version 1 is deleted, the container group ends.
	snap := c.ESS.Snapshot()
	snap.ScalingConfigurations = nil
	if err := c.ESS.Seed(snap); err != nil {
		t.Fatal(err)
	}
	if err := c.ECS.DeleteTemplateVersion(ltUsers, 1); err != nil {
		t.Fatal(err)
	}
	if err := c.ESS.SetContainerGroupStatus(eci, "Succeeded"); err != nil {
		t.Fatal(err)
	}
	res = runCleanup(t, c, "apply")
	if res.Summary.Marked != 3 {
		t.Fatalf("after the uses went away: %+v\n%s", res.Summary, res.Table)
	}
	// Past the grace period (a date mark counts from the end of its day).
	if _, err := c.BackdateTag(domain.DefaultStaleTagKey, 9); err != nil {
		t.Fatal(err)
	}
	res = runCleanup(t, c, "apply")
	if res.Summary.DeleteTasksEnqueued != 3 {
		t.Fatalf("past grace: %+v\n%s", res.Summary, res.Table)
	}
	waitWorkerDone(t, c)
	if dl := deadLetterReasons(t, c); len(dl) > 0 {
		t.Errorf("dead letters: %v", dl)
	}
	tags = groupExists(c)
	for _, id := range users {
		if _, ok := tags[id]; ok {
			t.Errorf("%s still exists", id)
		}
	}
	if _, ok := tags[harness.BaseA]; !ok {
		t.Error("SAFETY: a demo group was deleted")
	}
}

// TestCleanupUsers_RecheckSeesANewUse: a delete task for a marked group past
// its grace period reaches the worker after a scaling configuration started
// naming the group (the plan did not see it): the worker's re-check reads
// Auto Scaling too and keeps the group, which ECS itself would delete.
func TestCleanupUsers_RecheckSeesANewUse(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	seed := usersSeed(time.Now())
	const mark = "2020-01-01"
	for i := range seed.SecurityGroups {
		if seed.SecurityGroups[i].ID == sgScalingOnly || seed.SecurityGroups[i].ID == sgECIOnly {
			seed.SecurityGroups[i].Tags = append(seed.SecurityGroups[i].Tags, ecsemu.SeedTag{Key: domain.DefaultStaleTagKey, Value: mark})
		}
	}
	c := startCloud(t, true, &seed, "SGPILOT_MAX_DELETE_PERCENT", "100")
	asg, err := c.ESS.AddScalingGroup(essemu.SeedScalingGroup{Name: "late-asg", LifecycleState: "Inactive"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ESS.AddScalingConfiguration(essemu.SeedScalingConfiguration{Name: "late", ScalingGroupID: asg, SecurityGroupID: sgScalingOnly}); err != nil {
		t.Fatal(err)
	}
	// The tasks a plan made before the configuration existed; sgECIOnly,
	// which nothing uses, is the control.
	for _, g := range []string{sgScalingOnly, sgECIOnly} {
		body, err := domain.EncodeTask(domain.NewDeleteGroupTask(c.Region, g, mark, "cleanup-earlier", time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.MNS.Send("sgpilot-work", body, 0, 8); err != nil {
			t.Fatal(err)
		}
	}
	waitWorkerDone(t, c)
	tags := groupExists(c)
	if _, ok := tags[sgScalingOnly]; !ok {
		t.Fatal("SAFETY: the worker deleted a group a scaling configuration names")
	}
	if _, ok := tags[sgECIOnly]; ok {
		t.Error("the control group, which nothing uses, was not deleted")
	}
}

// waitWorkerDone waits until the work queue is empty and every delivery the
// stream took from it has run: the stream consumes a message on delivery,
// so an empty queue alone does not mean the worker has acted.
func waitWorkerDone(t *testing.T, c *harness.Cloud) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		if err := harness.WaitFor(ctx, 100*time.Millisecond, func() (bool, string) {
			n := c.QueueDepth("sgpilot-work")
			return n == 0, "messages on the work queue"
		}); err != nil {
			t.Fatal(err)
		}
		if err := c.FC.WaitIdle(ctx); err != nil {
			t.Fatal(err)
		}
		if c.QueueDepth("sgpilot-work") == 0 {
			break
		}
	}
}
