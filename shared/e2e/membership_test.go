package e2e_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
	"github.com/sgpilot/sgpilot/shared/testkit/harness"
)

// memberWatch is what watchGroups saw: per instance, the fewest and most groups
// it was ever in, when it was first seen Running, and when first seen in
// more groups than it was created with (its join).
type memberWatch struct {
	lo, hi          map[string]int
	running, joined map[string]time.Time
}

// watchGroups polls the emulator's state every few milliseconds until stop
// is closed.
func watchGroups(c *harness.Cloud, stop <-chan struct{}) func() memberWatch {
	var mu sync.Mutex
	w := memberWatch{lo: map[string]int{}, hi: map[string]int{}, running: map[string]time.Time{}, joined: map[string]time.Time{}}
	first := map[string]int{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			now := time.Now()
			for _, in := range c.ECS.Snapshot().Instances {
				id, n := in.ID, len(in.SecurityGroupIDs)
				mu.Lock()
				if m, ok := w.lo[id]; !ok || n < m {
					w.lo[id] = n
				}
				if n > w.hi[id] {
					w.hi[id] = n
				}
				if _, ok := first[id]; !ok {
					first[id] = n
				}
				if _, ok := w.running[id]; !ok && in.Status == "Running" {
					w.running[id] = now
				}
				if _, ok := w.joined[id]; !ok && n > first[id] {
					w.joined[id] = now
				}
				mu.Unlock()
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() memberWatch {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return w
	}
}

func waitGroups(t *testing.T, c *harness.Cloud, want map[string][]string, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	err := harness.WaitFor(ctx, 50*time.Millisecond, func() (bool, string) {
		got := c.InstanceGroups()
		for id, w := range want {
			if !slices.Equal(got[id], w) {
				return false, fmt.Sprintf("%s in %v, want %v", id, got[id], w)
			}
		}
		return true, ""
	})
	if err != nil {
		t.Fatal(err)
	}
}

func tagRole(t *testing.T, c *harness.Cloud, value string, ids ...string) {
	t.Helper()
	if value == "" {
		req := ecs.CreateUntagResourcesRequest()
		req.RegionId, req.ResourceType, req.ResourceId, req.TagKey = c.Region, "instance", &ids, &[]string{harness.RoleTagKey}
		if _, err := c.SDK.UntagResources(req); err != nil {
			t.Fatal(err)
		}
		return
	}
	req := ecs.CreateTagResourcesRequest()
	req.RegionId, req.ResourceType, req.ResourceId = c.Region, "instance", &ids
	req.Tag = &[]ecs.TagResourcesTag{{Key: harness.RoleTagKey, Value: value}}
	if _, err := c.SDK.TagResources(req); err != nil {
		t.Fatal(err)
	}
}

func ids(s ...string) []string { sort.Strings(s); return s }

// TestMembership_FollowsTheTag drives the real binaries: instances join at
// Running through the Running event (the safety-net retry is set to 10
// minutes, so only the event can do it), a retagged instance moves from one
// role group to the other through the ActionTrail record of TagResources,
// an instance whose role tag is removed leaves its role group, and no
// instance is ever without a group or above the limit. A stray group tagged
// with a role but outside sgpilot's scope is never joined.
func TestMembership_FollowsTheTag(t *testing.T) {
	// One of the long scenarios that mostly wait on queue windows and rate
	// limits: run beside the others (make test sets -parallel).
	t.Parallel()
	seed := harness.DemoSeed()
	const stray = "sg-bp1strayweb000000001"
	seed.SecurityGroups = append(seed.SecurityGroups, ecsemu.SeedSecurityGroup{ID: stray, VpcID: harness.VPCA, Name: "stray-web",
		Tags: []ecsemu.SeedTag{{Key: harness.RoleTagKey, Value: "web"}}})
	c := startCloud(t, true, &seed, "SGPILOT_NOT_READY_DELAY", "10m")

	stop := make(chan struct{})
	extremes := watchGroups(c, stop)

	// Created → Pending (the Created task retries in 10 min) → Running: the
	// Running event's task joins.
	withBase, err := c.RunInstances(harness.VSwitchA, harness.BaseA, "web", 2)
	if err != nil {
		t.Fatal(err)
	}
	onlyRole, err := c.RunInstances(harness.VSwitchA, harness.WebA, "web", 1)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	want := map[string][]string{
		withBase[0]: ids(harness.BaseA, harness.WebA), withBase[1]: ids(harness.BaseA, harness.WebA),
		onlyRole[0]: {harness.WebA},
	}
	waitGroups(t, c, want, 30*time.Second)
	t.Logf("joined at Running in %s after RunInstances (Pending %s + Starting %s in the emulator)",
		time.Since(start).Round(time.Millisecond), ecsemu.DefaultPendingDuration, ecsemu.DefaultStartingDuration)

	// Retag web → db: each moves to db and leaves web, including the one
	// whose only group was web (it joins db first).
	tagRole(t, c, "db", withBase[0], onlyRole[0])
	want[withBase[0]] = ids(harness.BaseA, harness.DBA)
	want[onlyRole[0]] = ids(harness.DBA)
	waitGroups(t, c, want, 30*time.Second)

	// Role tag removed: the role group is left, except when it is the last.
	tagRole(t, c, "", withBase[1], onlyRole[0])
	want[withBase[1]] = ids(harness.BaseA)
	waitGroups(t, c, want, 30*time.Second)
	// onlyRole stays in db, its last group; give the worker time to decide.
	time.Sleep(2 * time.Second)
	waitGroups(t, c, want, time.Second)

	// A restart of a complete instance: its Running event costs reads, no write.
	writes := func() int64 {
		return c.Env.Controls.Count("ecs", "JoinSecurityGroup") + c.Env.Controls.Count("ecs", "LeaveSecurityGroup")
	}
	before, reads := writes(), c.Env.Controls.Count("ecs", "DescribeInstances")
	restart(t, c, withBase[0])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := harness.WaitFor(ctx, 50*time.Millisecond, func() (bool, string) {
		return c.Env.Controls.Count("ecs", "DescribeInstances") > reads, "no DescribeInstances after the restart"
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if n := writes() - before; n != 0 {
		t.Errorf("the restart of a complete instance made %d membership writes, want 0", n)
	}
	waitGroups(t, c, want, time.Second)

	close(stop)
	w := extremes()
	for _, id := range append(withBase, onlyRole...) {
		if w.lo[id] < 1 || w.hi[id] > 5 {
			t.Errorf("%s was in between %d and %d groups; want always 1 to 5", id, w.lo[id], w.hi[id])
		}
	}
	for _, id := range withBase {
		// The Running event, not the 10-minute retry, made the join.
		if lag := w.joined[id].Sub(w.running[id]); w.running[id].IsZero() || lag < 0 || lag > time.Minute {
			t.Errorf("%s: joined %s after Running", id, lag)
		} else {
			t.Logf("%s joined %s after it was seen Running", id, lag.Round(time.Millisecond))
		}
	}
	for id, gs := range c.InstanceGroups() {
		if slices.Contains(gs, stray) {
			t.Errorf("%s joined the out-of-scope group %s", id, stray)
		}
	}
}

// restart stops and starts an instance through the SDK and waits until it is
// Running again.
func restart(t *testing.T, c *harness.Cloud, id string) {
	t.Helper()
	status := func() string {
		for _, in := range c.ECS.Snapshot().Instances {
			if in.ID == id {
				return in.Status
			}
		}
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stopReq := ecs.CreateStopInstanceRequest()
	stopReq.InstanceId = id
	if _, err := c.SDK.StopInstance(stopReq); err != nil {
		t.Fatal(err)
	}
	if err := harness.WaitFor(ctx, 50*time.Millisecond, func() (bool, string) { return status() == "Stopped", status() }); err != nil {
		t.Fatal(err)
	}
	startReq := ecs.CreateStartInstanceRequest()
	startReq.InstanceId = id
	if _, err := c.SDK.StartInstance(startReq); err != nil {
		t.Fatal(err)
	}
	if err := harness.WaitFor(ctx, 50*time.Millisecond, func() (bool, string) { return status() == "Running", status() }); err != nil {
		t.Fatal(err)
	}
}
