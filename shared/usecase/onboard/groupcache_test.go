package onboard_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/task"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
	"github.com/sgpilot/sgpilot/shared/usecase/onboard"
)

// handle runs one batch of tasks to the end.
func handle(ob *onboard.Onboarder, ids ...string) []task.Outcome {
	return task.RunAll(context.Background(), ob.Handle(context.Background(), tasksFor(ids...)))
}

func TestGroupCache(t *testing.T) {
	type step struct {
		name     string
		change   func(e *fake.ECS, ids map[string]string) // before the batch
		after    time.Duration                            // clock advance before the batch
		instance string                                   // key in ids of the instance to onboard
		result   task.Result
		reason   task.Reason
		lists    int // ListGroups calls of this batch
		groups   []string
	}
	tests := []struct {
		name  string
		ttl   time.Duration
		steps []step
	}{
		{
			name: "a second batch within the TTL lists nothing",
			ttl:  30 * time.Second,
			steps: []step{
				{name: "first", instance: "i1", result: task.Done, reason: domain.ReasonJoin, lists: 1, groups: []string{"web"}},
				{name: "second", after: 10 * time.Second, instance: "i2", result: task.Done, reason: domain.ReasonJoin, lists: 0, groups: []string{"web"}},
			},
		},
		{
			name: "after the TTL the network is listed again",
			ttl:  30 * time.Second,
			steps: []step{
				{name: "first", instance: "i1", result: task.Done, reason: domain.ReasonJoin, lists: 1, groups: []string{"web"}},
				{name: "second", after: 31 * time.Second, instance: "i2", result: task.Done, reason: domain.ReasonJoin, lists: 1, groups: []string{"web"}},
			},
		},
		{
			name: "no cache: every batch lists",
			steps: []step{
				{name: "first", instance: "i1", result: task.Done, reason: domain.ReasonJoin, lists: 1, groups: []string{"web"}},
				{name: "second", instance: "i2", result: task.Done, reason: domain.ReasonJoin, lists: 1, groups: []string{"web"}},
			},
		},
		{
			name: "a role group created since is found: the refusal is re-planned on a fresh listing",
			ttl:  30 * time.Second,
			steps: []step{
				{name: "first", instance: "i1", result: task.Done, reason: domain.ReasonJoin, lists: 1, groups: []string{"web"}},
				{name: "db group appears", instance: "i3", result: task.Done, reason: domain.ReasonJoin, lists: 1, groups: []string{"db"},
					change: func(e *fake.ECS, ids map[string]string) { ids["db"] = e.AddGroup(roleGroup(vpcA, "db")) }},
			},
		},
		{
			name: "an instance in a group the listing lacks is planned on a fresh listing",
			ttl:  30 * time.Second,
			steps: []step{
				{name: "first", instance: "i1", result: task.Done, reason: domain.ReasonJoin, lists: 1, groups: []string{"web"}},
				{name: "new group on the instance", instance: "i4", result: task.Done, reason: domain.ReasonJoin, lists: 1, groups: []string{"other", "web"},
					change: func(e *fake.ECS, ids map[string]string) {
						ids["other"] = e.AddGroup(domain.SecurityGroup{RegionID: region, VPCID: vpcA, Name: "other"})
						ids["i4"] = e.AddInstance(vpcInstance(vpcA, "web", ids["other"]))
					}},
			},
		},
		{
			name: "a join refused with NotFound drops the listing; the retry lists again",
			ttl:  30 * time.Second,
			steps: []step{
				{name: "first", instance: "i1", result: task.Done, reason: domain.ReasonJoin, lists: 1, groups: []string{"web"}},
				{name: "group gone", instance: "i2", result: task.Retry, reason: task.ReasonChanged, lists: 0, groups: nil,
					change: func(e *fake.ECS, ids map[string]string) {
						e.FailNext("JoinGroup", &domain.Error{Kind: domain.KindNotFound, Op: "join", Code: "InvalidSecurityGroupId.NotFound"})
					}},
				{name: "retry", instance: "i2", result: task.Done, reason: domain.ReasonJoin, lists: 1, groups: []string{"web"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
			clock := func() time.Time { return now }
			e := fake.NewECS()
			ids := map[string]string{"web": e.AddGroup(roleGroup(vpcA, "web"))}
			ids["i1"] = e.AddInstance(vpcInstance(vpcA, "web"))
			ids["i2"] = e.AddInstance(vpcInstance(vpcA, "web"))
			ids["i3"] = e.AddInstance(vpcInstance(vpcA, "db"))
			ob := mustOnboarder(t, e, onboard.Options{Groups: onboard.NewGroupCache(tt.ttl, clock), Now: clock})
			for _, st := range tt.steps {
				now = now.Add(st.after)
				if st.change != nil {
					st.change(e, ids)
				}
				before := e.Calls("ListGroups")
				o := only(t, handle(ob, ids[st.instance]))
				if o.Result != st.result || o.Reason != st.reason {
					t.Errorf("%s: outcome %+v, want %s/%s", st.name, o, st.result, st.reason)
				}
				if got := e.Calls("ListGroups") - before; got != st.lists {
					t.Errorf("%s: %d ListGroups calls, want %d", st.name, got, st.lists)
				}
				var want []string
				for _, k := range st.groups {
					want = append(want, ids[k])
				}
				if diff := cmp.Diff(sorted(want...), groupsOf(t, e, ids[st.instance])); diff != "" {
					t.Errorf("%s: groups (-want +got):\n%s", st.name, diff)
				}
			}
		})
	}
}

// A stale mark cleared by one batch is not cleared again by the next,
// which plans from the cached listing.
func TestGroupCache_ClearedMarkIsRemembered(t *testing.T) {
	e := fake.NewECS()
	web := e.AddGroup(roleGroup(vpcA, "web", domain.DefaultStaleTagKey, "2026-11-01"))
	i1 := e.AddInstance(vpcInstance(vpcA, "web"))
	i2 := e.AddInstance(vpcInstance(vpcA, "web"))
	ob := mustOnboarder(t, e, onboard.Options{Groups: onboard.NewGroupCache(time.Minute, nil)})
	for _, id := range []string{i1, i2} {
		if o := only(t, handle(ob, id)); o.Result != task.Done {
			t.Fatalf("%s: outcome %+v", id, o)
		}
	}
	if n := e.Calls("UntagGroups"); n != 1 {
		t.Errorf("UntagGroups called %d times, want 1", n)
	}
	if g, _ := e.Group(web); g.Tags[domain.DefaultStaleTagKey] != "" {
		t.Errorf("stale mark still on %s: %v", web, g.Tags)
	}
}

// An instance still being created is answered from the read alone: no
// group lookup, a retry after StartingDelay (the safety net behind its
// Running event), and the Running delivery joins it.
func TestHandle_StartingInstanceNeedsNoLookup(t *testing.T) {
	for _, status := range []domain.InstanceStatus{domain.StatusPending, domain.StatusStarting} {
		t.Run(string(status), func(t *testing.T) {
			e := fake.NewECS()
			web := e.AddGroup(roleGroup(vpcA, "web"))
			in := vpcInstance(vpcA, "web")
			in.Status = status
			id := e.AddInstance(in)
			ob := mustOnboarder(t, e, onboard.Options{StartingDelay: 45 * time.Second})
			o := only(t, handle(ob, id))
			if o.Result != task.Retry || o.Reason != domain.ReasonNotReady || o.RetryAfter != 45*time.Second {
				t.Errorf("outcome %+v, want retry in 45s as %s", o, domain.ReasonNotReady)
			}
			if diff := cmp.Diff(map[string]int{"DescribeInstances": 1}, e.CallCounts()); diff != "" {
				t.Errorf("ECS calls (-want +got):\n%s", diff)
			}
			e.SetStatus(id, domain.StatusRunning)
			if o := only(t, handle(ob, id)); o.Result != task.Done {
				t.Errorf("running: outcome %+v", o)
			}
			if diff := cmp.Diff([]string{web}, groupsOf(t, e, id)); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
		})
	}
}

// A batch whose writes outlast MaxPlanAge re-reads the instances whose jobs
// have not started in the same call as the first one found too old.
func TestHandle_OldReadsAreRefreshedTogether(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := fake.NewECS()
	web := e.AddGroup(roleGroup(vpcA, "web"))
	var ids []string
	for range 5 {
		ids = append(ids, e.AddInstance(vpcInstance(vpcA, "web")))
	}
	// Each join takes 6 s: with MaxPlanAge 10 s the third instance's read
	// is too old; so would be the fourth's and fifth's, but the third's
	// re-read covers them. The fifth's is too old again (12 s) by its turn.
	e.SetInterceptor(func(_ context.Context, method string, _ []any) error {
		if method == "JoinGroup" {
			mu.Lock()
			now = now.Add(6 * time.Second)
			mu.Unlock()
		}
		return nil
	})
	ob := mustOnboarder(t, e, onboard.Options{MaxPlanAge: 10 * time.Second, Now: clock})
	for _, o := range handle(ob, ids...) {
		if o.Result != task.Done || o.Reason != domain.ReasonJoin {
			t.Errorf("outcome %+v, want done/join", o)
		}
	}
	for _, id := range ids {
		if diff := cmp.Diff([]string{web}, groupsOf(t, e, id)); diff != "" {
			t.Errorf("groups of %s (-want +got):\n%s", id, diff)
		}
	}
	// The batch's read, the third's (with the fourth and fifth), the
	// fifth's, and the check after the writes.
	if n := e.Calls("DescribeInstances"); n != 4 {
		t.Errorf("%d DescribeInstances calls, want 4", n)
	}
}
