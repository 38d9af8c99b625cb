package stack_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/stack"
)

func start(t *testing.T, seed ecsemu.Seed) *stack.Stack {
	t.Helper()
	s, err := stack.Start(context.Background(), stack.Options{Seed: &seed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestECS_RunInstancesSignedAndTagged(t *testing.T) {
	s := start(t, stack.DemoSeed())
	ids, err := s.ECSClient().RunInstances(stack.VSwitchA, stack.BaseA, "web", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 3 {
		t.Fatalf("ids = %v, want 3", ids)
	}
	for _, in := range s.ECS.Snapshot().Instances {
		if in.ID != ids[0] {
			continue
		}
		if len(in.Tags) != 1 || in.Tags[0] != (ecsemu.SeedTag{Key: stack.RoleTagKey, Value: "web"}) || in.SecurityGroupIDs[0] != stack.BaseA {
			t.Errorf("instance = %+v", in)
		}
	}
	if got := s.QueueDepth(stack.WorkQueue); got != 0 {
		t.Errorf("work queue depth = %d, want 0 (no functions running)", got)
	}
}

func TestECS_APIErrorsNameTheCode(t *testing.T) {
	s := start(t, stack.DemoSeed())
	_, err := s.ECSClient().RunInstances(stack.VSwitchA, "sg-bp1nosuchgroup0000001", "", 1)
	if err == nil || !strings.Contains(err.Error(), "RunInstances") || !strings.Contains(err.Error(), "HTTP 4") {
		t.Fatalf("err = %v, want the action and an HTTP 4xx with ECS's code", err)
	}
}

// BackdateTag moves date tags back and leaves other values and other keys alone.
func TestBackdateTag(t *testing.T) {
	const key = "sgpilot:stale-since"
	seed := stack.DemoSeed()
	tag := func(id string, tags ...ecsemu.SeedTag) {
		for i := range seed.SecurityGroups {
			if seed.SecurityGroups[i].ID == id {
				seed.SecurityGroups[i].Tags = append(seed.SecurityGroups[i].Tags, tags...)
			}
		}
	}
	tag(stack.WebA, ecsemu.SeedTag{Key: key, Value: "2026-03-01"})
	tag(stack.DBA, ecsemu.SeedTag{Key: key, Value: "2026-03-01"})
	tag(stack.WebB, ecsemu.SeedTag{Key: key, Value: "not a date"})
	tag(stack.DBB, ecsemu.SeedTag{Key: "other", Value: "2026-03-01"})
	s := start(t, seed)
	s.Env.Controls.ResetCounters()

	changed, err := s.BackdateTag(key, 8)
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 2 || changed[stack.WebA] != "2026-02-21" {
		t.Fatalf("changed = %v", changed)
	}
	tags := s.GroupTags()
	for id, want := range map[string]map[string]string{
		stack.WebA: {key: "2026-02-21"}, stack.DBA: {key: "2026-02-21"},
		stack.WebB: {key: "not a date"}, stack.DBB: {"other": "2026-03-01"},
	} {
		for k, v := range want {
			if tags[id][k] != v {
				t.Errorf("%s %s = %q, want %q", id, k, tags[id][k], v)
			}
		}
	}
	// One TagResources call for the two groups sharing the new date: it went
	// through the API, signed, like any caller's.
	calls := int64(0)
	for _, row := range s.Env.Controls.Counts() {
		if row.Service == "ecs" && row.Action == "TagResources" {
			calls += row.Calls
		}
	}
	if calls != 1 {
		t.Errorf("TagResources calls = %d, want 1", calls)
	}
}

func TestWaitFor_GivesTheLastReason(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := stack.WaitFor(ctx, 5*time.Millisecond, func() (bool, string) { return false, "still 3 left" })
	if err == nil || !strings.Contains(err.Error(), "still 3 left") {
		t.Fatalf("err = %v", err)
	}
}
