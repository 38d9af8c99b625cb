package onboard_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
	"github.com/sgpilot/sgpilot/shared/core/task"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
	"github.com/sgpilot/sgpilot/shared/usecase/onboard"
)

func TestHandle_JoinsRoleGroupsAcrossNetworks(t *testing.T) {
	ecs := fake.NewECS()
	defA := ecs.AddGroup(domain.SecurityGroup{RegionID: region, VPCID: vpcA, Name: "default"})
	webA := ecs.AddGroup(roleGroup(vpcA, "web"))
	dbA := ecs.AddGroup(roleGroup(vpcA, "db"))
	webB := ecs.AddGroup(roleGroup(vpcB, "web"))
	ecs.AddGroup(roleGroup(vpcB, "db"))
	webC := ecs.AddGroup(roleGroup("", "web"))
	ecs.AddGroup(domain.SecurityGroup{RegionID: region, VPCID: vpcA, Name: "unrelated", Tags: domain.Tags{"team": "x"}})

	a1 := ecs.AddInstance(vpcInstance(vpcA, "web,db", defA))
	a2 := ecs.AddInstance(vpcInstance(vpcA, "web"))
	b1 := ecs.AddInstance(vpcInstance(vpcB, "web"))
	c1 := ecs.AddInstance(classicInstance("web"))

	ob := mustOnboarder(t, ecs, onboard.Options{})
	outs := task.RunAll(context.Background(), ob.Handle(context.Background(), tasksFor(a1, a2, b1, c1)))

	if len(outs) != 4 {
		t.Fatalf("got %d outcomes, want 4", len(outs))
	}
	for _, o := range outs {
		if o.Result != task.Done || o.Reason != domain.ReasonJoin {
			t.Errorf("outcome %+v, want done/join", o)
		}
	}
	want := map[string][]string{
		a1: sorted(defA, webA, dbA), // the group it had stays
		a2: sorted(webA),
		b1: sorted(webB), // not VPC A's web group, not VPC B's db group
		c1: sorted(webC),
	}
	for id, groups := range want {
		if diff := cmp.Diff(groups, groupsOf(t, ecs, id)); diff != "" {
			t.Errorf("groups of %s (-want +got):\n%s", id, diff)
		}
	}
	// Lookups are shared: one describe for the region, one list per network,
	// and one describe after the writes to check them.
	wantCalls := map[string]int{"DescribeInstances": 2, "ListGroups": 3, "JoinGroup": 5}
	if diff := cmp.Diff(wantCalls, ecs.CallCounts()); diff != "" {
		t.Errorf("ECS calls (-want +got):\n%s", diff)
	}
}

func TestHandle_DescribesAtMost100PerCall(t *testing.T) {
	ecs := fake.NewECS()
	ecs.AddGroup(roleGroup(vpcA, "web"))
	var ids []string
	for i := 0; i < 250; i++ {
		ids = append(ids, ecs.AddInstance(vpcInstance(vpcA, "web")))
	}
	var mu sync.Mutex
	var sizes []int
	ecs.SetInterceptor(func(_ context.Context, method string, args []any) error {
		if method == "DescribeInstances" {
			mu.Lock()
			sizes = append(sizes, len(args[1].([]string)))
			mu.Unlock()
		}
		return nil
	})

	outs := task.RunAll(context.Background(), mustOnboarder(t, ecs, onboard.Options{}).Handle(context.Background(), tasksFor(ids...)))

	// The batch's reads, then the check of the 250 written instances.
	if diff := cmp.Diff([]int{100, 100, 50, 100, 100, 50}, sizes); diff != "" {
		t.Errorf("DescribeInstances sizes (-want +got):\n%s", diff)
	}
	if n := ecs.Calls("ListGroups"); n != 1 {
		t.Errorf("ListGroups called %d times for one VPC, want 1", n)
	}
	for _, o := range outs {
		if o.Result != task.Done {
			t.Fatalf("outcome %+v", o)
		}
	}
}

func TestHandle_AlreadyMember(t *testing.T) {
	t.Run("plan sees it", func(t *testing.T) {
		ecs := fake.NewECS()
		web := ecs.AddGroup(roleGroup(vpcA, "web"))
		id := ecs.AddInstance(vpcInstance(vpcA, "web", web))
		o := only(t, task.RunAll(context.Background(), mustOnboarder(t, ecs, onboard.Options{}).Handle(context.Background(), tasksFor(id))))
		if o.Result != task.Done || o.Reason != domain.ReasonComplete || ecs.Calls("JoinGroup") != 0 {
			t.Errorf("outcome %+v, joins %d", o, ecs.Calls("JoinGroup"))
		}
	})
	t.Run("ECS says it", func(t *testing.T) {
		ecs := fake.NewECS()
		ecs.AddGroup(roleGroup(vpcA, "web"))
		id := ecs.AddInstance(vpcInstance(vpcA, "web"))
		ecs.FailNext("JoinGroup", &domain.Error{Kind: domain.KindConflict, Op: "join", Code: "InvalidInstanceId.AlreadyExists",
			Err: domain.ErrAlreadyMember})
		o := only(t, task.RunAll(context.Background(), mustOnboarder(t, ecs, onboard.Options{}).Handle(context.Background(), tasksFor(id))))
		if o.Result != task.Done || ecs.Calls("JoinGroup") != 1 {
			t.Errorf("outcome %+v, joins %d; already-member must count as success, not be retried", o, ecs.Calls("JoinGroup"))
		}
	})
}

func TestHandle_RedeliveryIsHarmless(t *testing.T) {
	ecs := fake.NewECS()
	web := ecs.AddGroup(roleGroup(vpcA, "web"))
	id := ecs.AddInstance(vpcInstance(vpcA, "web"))
	ob := mustOnboarder(t, ecs, onboard.Options{})

	// Two tasks for the same instance in one batch (an event and a reconcile).
	first := task.RunAll(context.Background(), ob.Handle(context.Background(), []domain.Task{onboardTask(id, "event-1"), onboardTask(id, "reconcile")}))
	// The same task delivered again after a lost acknowledgement.
	again := task.RunAll(context.Background(), ob.Handle(context.Background(), []domain.Task{onboardTask(id, "event-1")}))

	for _, o := range append(first, again...) {
		if o.Result != task.Done {
			t.Errorf("outcome %+v", o)
		}
	}
	if len(byTask(t, first)) != 2 {
		t.Errorf("want one outcome per task, got %+v", first)
	}
	if only(t, again).Reason != domain.ReasonComplete {
		t.Errorf("redelivery reason %q, want complete", again[0].Reason)
	}
	if n := ecs.Calls("JoinGroup"); n != 1 {
		t.Errorf("JoinGroup called %d times, want 1", n)
	}
	if diff := cmp.Diff([]string{web}, groupsOf(t, ecs, id)); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
}

func TestHandle_Throttling(t *testing.T) {
	// The adapter retries throttling; the onboarder does not call again.
	t.Run("once, no retry here", func(t *testing.T) {
		ecs := fake.NewECS()
		ecs.AddGroup(roleGroup(vpcA, "web"))
		id := ecs.AddInstance(vpcInstance(vpcA, "web"))
		ecs.FailNext("JoinGroup", throttled())
		o := only(t, task.RunAll(context.Background(), mustOnboarder(t, ecs, onboard.Options{}).Handle(context.Background(), tasksFor(id))))
		if o.Result != task.Retry || o.Reason != task.ReasonThrottled || ecs.Calls("JoinGroup") != 1 {
			t.Errorf("outcome %+v after %d joins, want one join and a throttled retry", o, ecs.Calls("JoinGroup"))
		}
	})
	t.Run("past the retry budget", func(t *testing.T) {
		ecs := fake.NewECS()
		ecs.AddGroup(roleGroup(vpcA, "web"))
		id := ecs.AddInstance(vpcInstance(vpcA, "web"))
		ecs.SetInterceptor(func(_ context.Context, method string, _ []any) error {
			if method == "JoinGroup" {
				return throttled()
			}
			return nil
		})
		o := only(t, task.RunAll(context.Background(), mustOnboarder(t, ecs, onboard.Options{BackoffDelay: 45 * time.Second}).Handle(context.Background(), tasksFor(id))))
		want := task.Outcome{TaskID: o.TaskID, Result: task.Retry, Reason: task.ReasonThrottled, RetryAfter: 45 * time.Second}
		o.Detail = ""
		if diff := cmp.Diff(want, o); diff != "" {
			t.Errorf("outcome (-want +got):\n%s", diff)
		}
	})
}

func TestHandle_PendingInstanceRetriedThenJoined(t *testing.T) {
	ecs := fake.NewECS()
	web := ecs.AddGroup(roleGroup(vpcA, "web"))
	in := vpcInstance(vpcA, "web")
	in.Status = domain.StatusPending
	id := ecs.AddInstance(in)
	ob := mustOnboarder(t, ecs, onboard.Options{NotReadyDelay: 12 * time.Second, StartingDelay: 45 * time.Second})

	o := only(t, task.RunAll(context.Background(), ob.Handle(context.Background(), tasksFor(id))))
	if o.Result != task.Retry || o.Reason != domain.ReasonNotReady || o.RetryAfter != 45*time.Second {
		t.Errorf("pending: outcome %+v, want retry in StartingDelay 45s as instance-not-ready", o)
	}
	if ecs.Calls("JoinGroup") != 0 {
		t.Errorf("joined a Pending instance")
	}

	ecs.SetStatus(id, domain.StatusRunning)
	o = only(t, task.RunAll(context.Background(), ob.Handle(context.Background(), tasksFor(id))))
	if o.Result != task.Done {
		t.Errorf("running: outcome %+v", o)
	}
	if diff := cmp.Diff([]string{web}, groupsOf(t, ecs, id)); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
}

func TestHandle_NotReadyFromECS(t *testing.T) {
	// DescribeInstances said Running, but ECS refuses the join as not ready
	// (the status changed in between): retry later, without burning the
	// in-place retry budget.
	ecs := fake.NewECS()
	ecs.AddGroup(roleGroup(vpcA, "web"))
	id := ecs.AddInstance(vpcInstance(vpcA, "web"))
	ecs.FailNext("JoinGroup", &domain.Error{Kind: domain.KindRetryable, Op: "join", Code: "IncorrectInstanceStatus",
		Err: domain.ErrInstanceNotReady})
	o := only(t, task.RunAll(context.Background(), mustOnboarder(t, ecs, onboard.Options{}).Handle(context.Background(), tasksFor(id))))
	if o.Result != task.Retry || o.Reason != domain.ReasonNotReady || ecs.Calls("JoinGroup") != 1 {
		t.Errorf("outcome %+v after %d joins", o, ecs.Calls("JoinGroup"))
	}
}

func TestHandle_OverLimitChangesNothing(t *testing.T) {
	ecs := fake.NewECS()
	var own []string
	for i := 0; i < 4; i++ {
		own = append(own, ecs.AddGroup(domain.SecurityGroup{RegionID: region, VPCID: vpcA, Name: fmt.Sprintf("own-%d", i)}))
	}
	ecs.AddGroup(roleGroup(vpcA, "web"))
	ecs.AddGroup(roleGroup(vpcA, "db"))
	id := ecs.AddInstance(vpcInstance(vpcA, "web,db", own...))

	o := only(t, task.RunAll(context.Background(), mustOnboarder(t, ecs, onboard.Options{}).Handle(context.Background(), tasksFor(id))))

	if o.Result != task.DeadLetter || o.Reason != domain.ReasonOverLimit {
		t.Errorf("outcome %+v, want dead-letter over-group-limit", o)
	}
	if !strings.Contains(o.Detail, "limit of 5") || !strings.Contains(o.Detail, "nothing was changed") {
		t.Errorf("detail %q", o.Detail)
	}
	if ecs.Calls("JoinGroup") != 0 {
		t.Errorf("joined %d groups of a refused plan", ecs.Calls("JoinGroup"))
	}
	if diff := cmp.Diff(sorted(own...), groupsOf(t, ecs, id)); diff != "" {
		t.Errorf("groups changed (-want +got):\n%s", diff)
	}
}

func TestHandle_RacedRefusalsFromECS(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(ecs *fake.ECS, id string)
		reason task.Reason
	}{
		{"someone else filled the slots", func(ecs *fake.ECS, id string) { ecs.SetGroupLimit(id, 1) }, domain.ReasonOverLimit},
		{"network mismatch", func(ecs *fake.ECS, _ string) {
			ecs.FailNext("JoinGroup", &domain.Error{Kind: domain.KindPermanent, Op: "join", Code: "InvalidInstanceId.Mismatch",
				Err: domain.ErrNetworkMismatch})
		}, domain.ReasonNetworkMismatch},
		{"mixed group types", func(ecs *fake.ECS, _ string) {
			ecs.FailNext("JoinGroup", &domain.Error{Kind: domain.KindPermanent, Op: "join", Code: "InvalidOperation.MultiGroupType"})
		}, domain.ReasonMixedGroupTypes},
		{"other lasting refusal", func(ecs *fake.ECS, _ string) {
			ecs.FailNext("JoinGroup", &domain.Error{Kind: domain.KindPermanent, Op: "join", Code: "InstanceLockedForSecurity"})
		}, task.ReasonJoinRefused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ecs := fake.NewECS()
			ecs.AddGroup(roleGroup(vpcA, "db"))
			ecs.AddGroup(roleGroup(vpcA, "web"))
			id := ecs.AddInstance(vpcInstance(vpcA, "web,db"))
			tc.setup(ecs, id)
			o := only(t, task.RunAll(context.Background(), mustOnboarder(t, ecs, onboard.Options{}).Handle(context.Background(), tasksFor(id))))
			if o.Result != task.DeadLetter || o.Reason != tc.reason {
				t.Errorf("outcome %+v, want dead-letter %s", o, tc.reason)
			}
		})
	}
}

func TestHandle_GroupGoneDuringJoinIsRetried(t *testing.T) {
	ecs := fake.NewECS()
	ecs.AddGroup(roleGroup(vpcA, "web"))
	id := ecs.AddInstance(vpcInstance(vpcA, "web"))
	ecs.FailNext("JoinGroup", &domain.Error{Kind: domain.KindNotFound, Op: "join", Code: "InvalidSecurityGroupId.NotFound"})
	o := only(t, task.RunAll(context.Background(), mustOnboarder(t, ecs, onboard.Options{}).Handle(context.Background(), tasksFor(id))))
	if o.Result != task.Retry || o.Reason != task.ReasonChanged {
		t.Errorf("outcome %+v", o)
	}
}

func TestHandle_MissingRoleGroup(t *testing.T) {
	t.Run("dead-lettered by default", func(t *testing.T) {
		ecs := fake.NewECS()
		ecs.AddGroup(roleGroup(vpcA, "web"))
		ecs.AddGroup(roleGroup(vpcB, "cache")) // another VPC's does not count
		id := ecs.AddInstance(vpcInstance(vpcA, "web,cache"))
		o := only(t, task.RunAll(context.Background(), mustOnboarder(t, ecs, onboard.Options{}).Handle(context.Background(), tasksFor(id))))
		if o.Result != task.DeadLetter || o.Reason != domain.ReasonNoRoleGroup {
			t.Errorf("outcome %+v", o)
		}
		for _, want := range []string{"sgpilot:role=cache", vpcA, region} {
			if !strings.Contains(o.Detail, want) {
				t.Errorf("detail %q does not name %q", o.Detail, want)
			}
		}
		if ecs.Calls("JoinGroup") != 0 || ecs.Calls("CreateGroup") != 0 {
			t.Errorf("changed something: %v", ecs.CallCounts())
		}
	})
	t.Run("created when enabled", func(t *testing.T) {
		ecs := fake.NewECS()
		web := ecs.AddGroup(roleGroup(vpcA, "web"))
		a1 := ecs.AddInstance(vpcInstance(vpcA, "web,cache"))
		a2 := ecs.AddInstance(vpcInstance(vpcA, "cache"))
		c1 := ecs.AddInstance(classicInstance("cache"))
		ob := mustOnboarder(t, ecs, onboard.Options{CreateMissingGroups: true})

		outs := task.RunAll(context.Background(), ob.Handle(context.Background(), tasksFor(a1, a2, c1)))

		for _, o := range outs {
			if o.Result != task.Done {
				t.Errorf("outcome %+v", o)
			}
		}
		if n := ecs.Calls("CreateGroup"); n != 2 {
			t.Fatalf("CreateGroup called %d times, want once per network", n)
		}
		g1 := groupsOf(t, ecs, a1)
		var cacheA string
		for _, g := range g1 {
			if g != web {
				cacheA = g
			}
		}
		if diff := cmp.Diff(sorted(web, cacheA), g1); diff != "" {
			t.Errorf("groups of %s (-want +got):\n%s", a1, diff)
		}
		if diff := cmp.Diff([]string{cacheA}, groupsOf(t, ecs, a2)); diff != "" {
			t.Errorf("second instance did not share the created group (-want +got):\n%s", diff)
		}
		g, _ := ecs.Group(cacheA)
		want := domain.SecurityGroup{ID: cacheA, Name: "sgpilot-cache-" + vpcA, Description: "sgpilot role group for cache in " + vpcA,
			RegionID: region, VPCID: vpcA, Type: "normal", Tags: domain.Tags{roleKey: "cache", domain.DefaultManagedTagKey: "true"}}
		g.CreationTime = time.Time{}
		if diff := cmp.Diff(want, g); diff != "" {
			t.Errorf("created group (-want +got):\n%s", diff)
		}
		classic, _ := ecs.Group(groupsOf(t, ecs, c1)[0])
		if classic.Name != "sgpilot-cache-classic" || classic.VPCID != "" {
			t.Errorf("classic role group %+v", classic)
		}

		// The next delivery finds the groups instead of creating more.
		again := task.RunAll(context.Background(), ob.Handle(context.Background(), tasksFor(a1, a2, c1)))
		for _, o := range again {
			if o.Result != task.Done || o.Reason != domain.ReasonComplete {
				t.Errorf("redelivery outcome %+v", o)
			}
		}
		if n := ecs.Calls("CreateGroup"); n != 2 {
			t.Errorf("CreateGroup called %d times in all, want 2", n)
		}
	})
	t.Run("create refused", func(t *testing.T) {
		ecs := fake.NewECS()
		id := ecs.AddInstance(vpcInstance(vpcA, "cache"))
		ecs.FailNext("CreateGroup", &domain.Error{Kind: domain.KindPermanent, Op: "create", Code: "Forbidden.RAM"})
		o := only(t, task.RunAll(context.Background(), mustOnboarder(t, ecs, onboard.Options{CreateMissingGroups: true}).Handle(context.Background(), tasksFor(id))))
		if o.Result != task.DeadLetter || o.Reason != task.ReasonCreateFailed {
			t.Errorf("outcome %+v", o)
		}
	})
	t.Run("create not retried in place", func(t *testing.T) {
		ecs := fake.NewECS()
		id := ecs.AddInstance(vpcInstance(vpcA, "cache"))
		ecs.FailNext("CreateGroup", domain.Errorf(domain.KindRetryable, "create", "InternalError", "5xx"))
		o := only(t, task.RunAll(context.Background(), mustOnboarder(t, ecs, onboard.Options{CreateMissingGroups: true}).Handle(context.Background(), tasksFor(id))))
		if o.Result != task.Retry || ecs.Calls("CreateGroup") != 1 {
			t.Errorf("outcome %+v after %d creates", o, ecs.Calls("CreateGroup"))
		}
	})
}

func TestHandle_DeadLettersAndNoOps(t *testing.T) {
	ecs := fake.NewECS()
	ecs.AddGroup(roleGroup(vpcA, "web"))
	noRoles := ecs.AddInstance(domain.Instance{RegionID: region, VPCID: vpcA})
	badTag := ecs.AddInstance(vpcInstance(vpcA, "web,Not A Role!"))
	gone := "i-bp1gone000000000001"
	del := domain.NewDeleteGroupTask(region, "sg-bp1aaaaaaaaaaaaaa", "2024-05-01", "run", time.Unix(0, 0))

	outs := byTask(t, task.RunAll(context.Background(), mustOnboarder(t, ecs, onboard.Options{}).Handle(context.Background(),
		append(tasksFor(noRoles, badTag, gone), del))))

	want := map[string][2]string{
		onboardTask(noRoles, "test").ID: {"done", string(domain.ReasonNoRoles)},
		onboardTask(badTag, "test").ID:  {"dead-letter", string(domain.ReasonBadRoleTag)},
		onboardTask(gone, "test").ID:    {"dead-letter", string(domain.ReasonInstanceGone)},
		del.ID:                          {"dead-letter", string(task.ReasonUnsupportedKind)},
	}
	got := map[string][2]string{}
	for id, o := range outs {
		got[id] = [2]string{o.Result.String(), string(o.Reason)}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
}

func TestHandle_LookupFailures(t *testing.T) {
	tests := []struct {
		name   string
		method string
		err    error
		result task.Result
		reason task.Reason
	}{
		{"describe throttled", "DescribeInstances", throttled(), task.Retry, task.ReasonThrottled},
		{"describe denied", "DescribeInstances", &domain.Error{Kind: domain.KindPermanent, Op: "describe", Code: "Forbidden.RAM"},
			task.DeadLetter, task.ReasonECSRefused},
		{"list unavailable", "ListGroups", domain.Errorf(domain.KindRetryable, "list", "ServiceUnavailable", "503"),
			task.Retry, task.ReasonTransient},
		{"list unknown", "ListGroups", errors.New("surprise"), task.Retry, task.ReasonInternal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ecs := fake.NewECS()
			ecs.AddGroup(roleGroup(vpcA, "web"))
			a := ecs.AddInstance(vpcInstance(vpcA, "web"))
			b := ecs.AddInstance(vpcInstance(vpcA, "web"))
			ecs.SetInterceptor(func(_ context.Context, method string, _ []any) error {
				if method == tc.method {
					return tc.err
				}
				return nil
			})
			outs := task.RunAll(context.Background(), mustOnboarder(t, ecs, onboard.Options{}).Handle(context.Background(), tasksFor(a, b)))
			for _, o := range outs {
				if o.Result != tc.result || o.Reason != tc.reason {
					t.Errorf("outcome %+v, want %v %s", o, tc.result, tc.reason)
				}
			}
			if ecs.Calls("JoinGroup") != 0 {
				t.Errorf("joined without knowing the groups")
			}
		})
	}
}

func TestHandle_StaleMarkClearedOnJoin(t *testing.T) {
	ecs := fake.NewECS()
	stale := ecs.AddGroup(roleGroup(vpcA, "web", domain.DefaultStaleTagKey, "2024-05-01"))
	ecs.AddGroup(roleGroup(vpcA, "db"))
	a := ecs.AddInstance(vpcInstance(vpcA, "web,db"))
	b := ecs.AddInstance(vpcInstance(vpcA, "web"))

	outs := task.RunAll(context.Background(), mustOnboarder(t, ecs, onboard.Options{}).Handle(context.Background(), tasksFor(a, b)))

	for _, o := range outs {
		if o.Result != task.Done {
			t.Errorf("outcome %+v", o)
		}
	}
	g, _ := ecs.Group(stale)
	if _, marked := g.Tags[domain.DefaultStaleTagKey]; marked {
		t.Errorf("stale mark still on %s: %v", stale, g.Tags)
	}
	if g.Tags[roleKey] != "web" {
		t.Errorf("role tag lost: %v", g.Tags)
	}
	if n := ecs.Calls("UntagGroups"); n != 1 {
		t.Errorf("UntagGroups called %d times, want once for the one marked group", n)
	}
}

func TestHandle_StaleMarkFailureDoesNotFailTheJoin(t *testing.T) {
	ecs := fake.NewECS()
	ecs.AddGroup(roleGroup(vpcA, "web", domain.DefaultStaleTagKey, "2024-05-01"))
	id := ecs.AddInstance(vpcInstance(vpcA, "web"))
	ecs.FailNext("UntagGroups", &domain.Error{Kind: domain.KindPermanent, Op: "untag", Code: "Forbidden.RAM"})
	o := only(t, task.RunAll(context.Background(), mustOnboarder(t, ecs, onboard.Options{}).Handle(context.Background(), tasksFor(id))))
	if o.Result != task.Done {
		t.Errorf("outcome %+v", o)
	}
}

func TestHandle_LogsOneDecisionPerInstance(t *testing.T) {
	ecs := fake.NewECS()
	ecs.AddGroup(roleGroup(vpcA, "web"))
	id := ecs.AddInstance(vpcInstance(vpcA, "web"))
	core, logs := observer.New(zap.DebugLevel)
	ctx := logging.WithContext(context.Background(), zap.New(core))

	task.RunAll(ctx, mustOnboarder(t, ecs, onboard.Options{}).Handle(ctx, []domain.Task{onboardTask(id, "a"), onboardTask(id, "b")}))

	entries := logs.FilterMessage("onboarding decision").All()
	if len(entries) != 1 {
		t.Fatalf("%d decision lines, want 1", len(entries))
	}
	f := entries[0].ContextMap()
	want := map[string]any{
		logging.FieldInstanceID: id,
		logging.FieldTaskID:     onboardTask(id, "a").ID + "," + onboardTask(id, "b").ID,
		logging.FieldRegion:     region,
		logging.FieldDecision:   "done",
		logging.FieldReason:     "join",
	}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("field %s = %v, want %v", k, f[k], v)
		}
	}
	if d, _ := f["detail"].(string); !strings.Contains(d, "join sg-") {
		t.Errorf("detail %q", d)
	}
}

func TestPlan_DryRunChangesNothing(t *testing.T) {
	ecs := fake.NewECS()
	web := ecs.AddGroup(roleGroup(vpcA, "web", domain.DefaultStaleTagKey, "2024-05-01"))
	ready := ecs.AddInstance(vpcInstance(vpcA, "web"))
	needsCache := ecs.AddInstance(vpcInstance(vpcA, "cache"))
	gone := "i-bp1gone000000000001"
	ob := mustOnboarder(t, ecs, onboard.Options{CreateMissingGroups: true})

	plans, err := ob.Plan(context.Background(), region, []string{ready, needsCache, gone, ready})
	if err != nil {
		t.Fatal(err)
	}

	got := make([]string, len(plans))
	for i, p := range plans {
		got[i] = p.InstanceID + " " + string(p.Reason) + " " + strings.Join(p.ToJoin, ",")
	}
	want := []string{ready + " join " + web, needsCache + " no-role-group ", gone + " instance-not-found "}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plans (-want +got):\n%s", diff)
	}
	if !strings.Contains(plans[1].Detail, "would create sgpilot-cache-"+vpcA) {
		t.Errorf("detail %q does not say what would be created", plans[1].Detail)
	}
	for _, m := range []string{"JoinGroup", "CreateGroup", "UntagGroups", "TagGroups"} {
		if n := ecs.Calls(m); n != 0 {
			t.Errorf("dry run called %s %d times", m, n)
		}
	}
	if g := groupsOf(t, ecs, ready); len(g) != 0 {
		t.Errorf("dry run joined %v", g)
	}
	if _, err := ob.Plan(context.Background(), region, []string{"not-an-id"}); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("bad ID: err = %v", err)
	}
	ecs.FailNext("DescribeInstances", &domain.Error{Kind: domain.KindPermanent, Op: "describe", Code: "Forbidden.RAM"})
	if _, err := ob.Plan(context.Background(), region, []string{ready}); err == nil {
		t.Error("a failed lookup gave plans")
	}
}

func TestNew_Validates(t *testing.T) {
	if _, err := onboard.New(onboard.Ports{}, onboard.Options{}); err == nil {
		t.Error("missing ports accepted")
	}
	p := onboard.PortsFrom(fake.NewECS())
	p.Creator = nil
	if _, err := onboard.New(p, onboard.Options{CreateMissingGroups: true}); err == nil {
		t.Error("CreateMissingGroups without a creator accepted")
	}
	ob, err := onboard.New(p, onboard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := ob.Options()
	if o.RoleTagKey != "sgpilot:role" || o.GroupLimit != 5 || o.NotReadyDelay != 10*time.Second ||
		o.StaleTagKey != "sgpilot:stale-since" || o.ManagedTagKey != "sgpilot:managed" || o.ManagedTagValue != "true" {
		t.Errorf("defaults %+v", o)
	}
}
