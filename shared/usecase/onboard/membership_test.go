package onboard_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/task"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
	"github.com/sgpilot/sgpilot/shared/usecase/onboard"
)

func runOne(t *testing.T, ob *onboard.Onboarder, id string) task.Outcome {
	t.Helper()
	return only(t, task.RunAll(context.Background(), ob.Handle(context.Background(), tasksFor(id))))
}

func TestHandle_FollowsTheRoleTag(t *testing.T) {
	tests := []struct {
		name       string
		roles      string
		start      []string // role names the instance starts in ("default" = the non-role group)
		wantGroups []string
		wantReason domain.Reason
		wantLeaves int
	}{
		{name: "retag web to db moves it", roles: "db", start: []string{"default", "web"}, wantGroups: []string{"db", "default"}, wantReason: domain.ReasonJoin, wantLeaves: 1},
		{name: "retag moves even from the only group", roles: "db", start: []string{"web"}, wantGroups: []string{"db"}, wantReason: domain.ReasonJoin, wantLeaves: 1},
		{name: "tag removed leaves the role group", roles: "", start: []string{"default", "web"}, wantGroups: []string{"default"}, wantReason: domain.ReasonLeave, wantLeaves: 1},
		{name: "tag removed keeps the last group", roles: "", start: []string{"web"}, wantGroups: []string{"web"}, wantReason: domain.ReasonLastGroup},
		{name: "stray group of a lost role is not left", roles: "db", start: []string{"default", "stray"}, wantGroups: []string{"db", "default", "stray"}, wantReason: domain.ReasonJoin},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ecs := fake.NewECS()
			ids := map[string]string{
				"default": ecs.AddGroup(domain.SecurityGroup{RegionID: region, VPCID: vpcA, Name: "default"}),
				"web":     ecs.AddGroup(roleGroup(vpcA, "web")),
				"db":      ecs.AddGroup(roleGroup(vpcA, "db")),
				"stray":   ecs.AddGroup(domain.SecurityGroup{RegionID: region, VPCID: vpcA, Name: "stray", Tags: domain.Tags{roleKey: "web"}}),
			}
			var start []string
			for _, n := range tc.start {
				start = append(start, ids[n])
			}
			id := ecs.AddInstance(vpcInstance(vpcA, tc.roles, start...))
			o := runOne(t, mustOnboarder(t, ecs, onboard.Options{Locks: onboard.NewLocks()}), id)
			if o.Result != task.Done || o.Reason != tc.wantReason {
				t.Fatalf("outcome %+v, want done as %s", o, tc.wantReason)
			}
			var want []string
			for _, n := range tc.wantGroups {
				want = append(want, ids[n])
			}
			if diff := cmp.Diff(sorted(want...), groupsOf(t, ecs, id)); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
			if got := ecs.Calls("LeaveGroup"); got != tc.wantLeaves {
				t.Errorf("%d leaves, want %d", got, tc.wantLeaves)
			}
		})
	}
}

// A complete instance (a restart, a repeated event) costs one batched read
// and no write; no re-read either.
func TestHandle_CompleteInstanceOneReadNoWrite(t *testing.T) {
	ecs := fake.NewECS()
	web := ecs.AddGroup(roleGroup(vpcA, "web"))
	id := ecs.AddInstance(vpcInstance(vpcA, "web", web))
	o := runOne(t, mustOnboarder(t, ecs, onboard.Options{}), id)
	if o.Result != task.Done || o.Reason != domain.ReasonComplete {
		t.Fatalf("outcome %+v", o)
	}
	want := map[string]int{"DescribeInstances": 1, "ListGroups": 1}
	if diff := cmp.Diff(want, ecs.CallCounts()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

// A plan read long ago is read again right before the first write, and the
// fresh read decides.
func TestHandle_StaleReadIsRefreshedBeforeWriting(t *testing.T) {
	ecs := fake.NewECS()
	web := ecs.AddGroup(roleGroup(vpcA, "web"))
	db := ecs.AddGroup(roleGroup(vpcA, "db"))
	def := ecs.AddGroup(domain.SecurityGroup{RegionID: region, VPCID: vpcA})
	id := ecs.AddInstance(vpcInstance(vpcA, "web", def))
	now := time.Unix(1000, 0)
	ob := mustOnboarder(t, ecs, onboard.Options{Locks: onboard.NewLocks(), MaxPlanAge: time.Second, Now: func() time.Time { return now }})
	jobs := ob.Handle(context.Background(), tasksFor(id))
	// Between the batched read and the job, someone retags the instance.
	ecs.SetInstanceTag(id, roleKey, "db")
	now = now.Add(5 * time.Second)
	o := only(t, task.RunAll(context.Background(), jobs))
	if o.Result != task.Done {
		t.Fatalf("outcome %+v", o)
	}
	if diff := cmp.Diff(sorted(db, def), groupsOf(t, ecs, id)); diff != "" {
		t.Errorf("groups (-want +got):\n%s (web is %s)", diff, web)
	}
	if n := ecs.Calls("DescribeInstances"); n != 3 {
		t.Errorf("%d DescribeInstances, want the batched read, one re-read and the check after writing", n)
	}
}

// A join ECS refuses for the quota (someone else added groups) is undone
// and re-planned: the plan is never left half-applied.
func TestHandle_QuotaRefusalUndoneAndReplanned(t *testing.T) {
	ecs := fake.NewECS().SetDefaultGroupLimit(4)
	a := ecs.AddGroup(roleGroup(vpcA, "a"))
	b := ecs.AddGroup(roleGroup(vpcA, "b"))
	def := ecs.AddGroup(domain.SecurityGroup{RegionID: region, VPCID: vpcA})
	other1 := ecs.AddGroup(domain.SecurityGroup{RegionID: region, VPCID: vpcA})
	other2 := ecs.AddGroup(domain.SecurityGroup{RegionID: region, VPCID: vpcA})
	id := ecs.AddInstance(vpcInstance(vpcA, "a,b", def))
	// The operator's groups arrive between the plan and the second join.
	joined := 0
	ecs.SetInterceptor(func(ctx context.Context, method string, args []any) error {
		if method == "JoinGroup" {
			joined++
			if joined == 2 {
				for _, g := range []string{other1, other2} {
					if err := ecs.JoinGroup(context.Background(), region, id, g); err != nil {
						t.Errorf("operator join: %v", err)
					}
				}
			}
		}
		return nil
	})
	o := runOne(t, mustOnboarder(t, ecs, onboard.Options{GroupLimit: 4, Locks: onboard.NewLocks()}), id)
	if o.Result != task.DeadLetter || o.Reason != domain.ReasonOverLimit {
		t.Fatalf("outcome %+v, want dead-letter over-group-limit", o)
	}
	got := groupsOf(t, ecs, id)
	if diff := cmp.Diff(sorted(def, other1, other2), got); diff != "" {
		t.Errorf("groups (-want +got):\n%s; a=%s b=%s: the join of a must be undone", diff, a, b)
	}
}

// Two workers handle the same instance at once with different role sets
// (its tag changed between their reads), on an account whose quota (10) is
// above sgpilot's limit (5): the instance is never above 5 groups, and it
// ends in exactly the groups of one role set, never half of one.
func TestHandle_ConcurrentWorkersKeepTheLimit(t *testing.T) {
	for _, interleave := range []string{"a-first", "b-first", "lockstep"} {
		t.Run(interleave, func(t *testing.T) {
			ecs := fake.NewECS().SetDefaultGroupLimit(10)
			g := map[string]string{}
			for _, r := range []string{"r1", "r2", "r3", "r4", "r5", "r6"} {
				g[r] = ecs.AddGroup(roleGroup(vpcA, r))
			}
			def := ecs.AddGroup(domain.SecurityGroup{RegionID: region, VPCID: vpcA, Name: "default"})
			id := ecs.AddInstance(vpcInstance(vpcA, "r1,r2,r3", def))

			var mu sync.Mutex
			maxSeen := 0
			reads := 0
			bothRead := make(chan struct{})
			// After the first worker has read r1,r2,r3, the tag changes, and
			// the second worker reads r4,r5,r6.
			afterRead := func() {
				mu.Lock()
				reads++
				n := reads
				mu.Unlock()
				switch n {
				case 1:
					ecs.SetInstanceTag(id, roleKey, "r4,r5,r6")
				case 2:
					close(bothRead)
				}
			}
			ecs.SetInterceptor(func(ctx context.Context, method string, args []any) error {
				if (method == "JoinGroup" || method == "LeaveGroup") && interleave == "lockstep" {
					<-bothRead
				}
				return nil
			})
			// Watch every membership after each write.
			watch := func() {
				in, _ := ecs.Instance(id)
				mu.Lock()
				if len(in.GroupIDs) > maxSeen {
					maxSeen = len(in.GroupIDs)
				}
				mu.Unlock()
			}
			obA := mustOnboarder(t, &watching{ECS: ecs, after: watch, afterRead: afterRead}, onboard.Options{GroupLimit: 5})
			obB := mustOnboarder(t, &watching{ECS: ecs, after: watch, afterRead: afterRead}, onboard.Options{GroupLimit: 5})
			jobsA := obA.Handle(context.Background(), tasksFor(id))
			jobsB := obB.Handle(context.Background(), tasksFor(id))
			var outs [2]task.Outcome
			var wg sync.WaitGroup
			run := func(i int, jobs []task.Job) {
				defer wg.Done()
				outs[i] = task.RunAll(context.Background(), jobs)[0]
			}
			wg.Add(2)
			switch interleave {
			case "a-first":
				run(0, jobsA)
				run(1, jobsB)
			case "b-first":
				run(1, jobsB)
				run(0, jobsA)
			default:
				go run(0, jobsA)
				go run(1, jobsB)
				wg.Wait()
			}
			if maxSeen > 5 {
				t.Errorf("the instance was in %d groups at some point, over the limit of 5", maxSeen)
			}
			got := groupsOf(t, ecs, id)
			want := sorted(def, g["r4"], g["r5"], g["r6"])
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("final groups (-want +got):\n%s\noutcomes %+v", diff, outs)
			}
			for _, o := range outs {
				if o.Result != task.Done {
					t.Errorf("outcome %+v, want done", o)
				}
			}
		})
	}
}

// watching calls after once each write returned, and afterRead once
// each DescribeInstances returned.
type watching struct {
	*fake.ECS
	after, afterRead func()
}

func (w *watching) DescribeInstances(ctx context.Context, regionID string, ids []string) ([]domain.Instance, error) {
	defer w.afterRead()
	return w.ECS.DescribeInstances(ctx, regionID, ids)
}

func (w *watching) JoinGroup(ctx context.Context, regionID, instanceID, groupID string) error {
	defer w.after()
	return w.ECS.JoinGroup(ctx, regionID, instanceID, groupID)
}

func (w *watching) LeaveGroup(ctx context.Context, regionID, instanceID, groupID string) error {
	defer w.after()
	return w.ECS.LeaveGroup(ctx, regionID, instanceID, groupID)
}

// A stray group tagged with a role but outside the scope is never joined,
// and the dry-run plan says why.
func TestPlan_StrayRoleGroupNoted(t *testing.T) {
	ecs := fake.NewECS()
	web := ecs.AddGroup(roleGroup(vpcA, "web"))
	stray := ecs.AddGroup(domain.SecurityGroup{RegionID: region, VPCID: vpcA, Name: "stray", Tags: domain.Tags{roleKey: "web"}})
	def := ecs.AddGroup(domain.SecurityGroup{RegionID: region, VPCID: vpcA})
	id := ecs.AddInstance(vpcInstance(vpcA, "web", def))
	ob := mustOnboarder(t, ecs, onboard.Options{Locks: onboard.NewLocks()})
	plans, err := ob.Plan(context.Background(), region, []string{id})
	if err != nil {
		t.Fatal(err)
	}
	p := plans[0]
	if diff := cmp.Diff([]string{web}, p.ToJoin); diff != "" {
		t.Errorf("ToJoin (-want +got):\n%s", diff)
	}
	if len(p.Notes) != 1 || p.Notes[0].GroupID != stray || p.Notes[0].Reason != domain.ReasonGroupOutOfScope {
		t.Errorf("notes %+v, want one out-of-scope note on %s", p.Notes, stray)
	}
	if o := runOne(t, ob, id); o.Result != task.Done {
		t.Fatalf("outcome %+v", o)
	}
	if got := groupsOf(t, ecs, id); strings.Contains(fmt.Sprint(got), stray) {
		t.Errorf("joined the stray group: %v", got)
	}
	// With an allow-list that names another group, web is not a role group.
	ob2 := mustOnboarder(t, ecs, onboard.Options{AllowedGroupIDs: []string{"sg-other0000001"}, Locks: onboard.NewLocks()})
	plans, _ = ob2.Plan(context.Background(), region, []string{id})
	if plans[0].Reason != domain.ReasonNoRoleGroup {
		t.Errorf("with the allow-list: %s (%s)", plans[0].Reason, plans[0].Detail)
	}
}
