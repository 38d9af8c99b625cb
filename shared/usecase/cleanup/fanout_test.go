package cleanup_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/task"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
	"github.com/sgpilot/sgpilot/shared/usecase/cleanup"
)

// splitWorld is one region of three VPCs and the classic network. In each
// network: a group an instance uses, one a launch template names, one that
// another group references, fresh unused ones, and ones marked long ago
// (deletable from day 0 on).
func splitWorld(perVPC int) *fake.ECS {
	e := fake.NewECS()
	old := t0.AddDate(0, -2, 0)
	managed := domain.Tags{domain.DefaultManagedTagKey: domain.DefaultManagedTagValue}
	add := func(id, vpc string, tags ...string) {
		tg := domain.Tags{}
		for k, v := range managed {
			tg[k] = v
		}
		for i := 0; i+1 < len(tags); i += 2 {
			tg[tags[i]] = tags[i+1]
		}
		e.AddGroup(domain.SecurityGroup{ID: id, Name: "app-" + id[3:], RegionID: hz, VPCID: vpc, CreationTime: old, Tags: tg})
	}
	for n, vpc := range []string{"", "vpc-split0000001", "vpc-split0000002", "vpc-split0000003"} {
		p := fmt.Sprintf("sg-n%d", n)
		add(p+"used0001", vpc)
		e.AddInstance(domain.Instance{ID: fmt.Sprintf("i-n%dinst00001", n), RegionID: hz, VPCID: vpc, GroupIDs: []string{p + "used0001"}})
		add(p+"tmpl0001", vpc)
		e.AddLaunchTemplate(fake.LaunchTemplate{ID: fmt.Sprintf("lt-n%d0000001", n), RegionID: hz, Versions: [][]string{{p + "tmpl0001"}}})
		add(p+"refd0001", vpc)
		e.AddRule(p+"used0001", p+"refd0001")
		add(p+"mark0001", vpc, domain.DefaultStaleTagKey, "2026-10-01") // deletable
		for i := range perVPC {
			add(fmt.Sprintf("%sfree%04d", p, i), vpc)
		}
	}
	return e
}

func openPolicy() domain.CleanupPolicy {
	p := domain.DefaultCleanupPolicy()
	p.MaxDeletePercent, p.MaxDeletions = 100, 1000
	return p
}

// tagsOf returns every group's stale mark ("" when unmarked).
func tagsOf(e *fake.ECS, ids []string) map[string]string {
	out := map[string]string{}
	for _, id := range ids {
		g, ok := e.Group(id)
		if !ok {
			out[id] = "(gone)"
			continue
		}
		out[id] = g.Tags[domain.DefaultStaleTagKey]
	}
	return out
}

func allGroupIDs(tb testing.TB, e *fake.ECS) []string {
	tb.Helper()
	gs, err := e.ListGroups(context.Background(), hz, domain.GroupFilter{})
	if err != nil {
		tb.Fatal(err)
	}
	ids := make([]string, len(gs))
	for i, g := range gs {
		ids[i] = g.ID
	}
	sort.Strings(ids)
	return ids
}

// drained is what processing the queue with a splitter produced.
type drained struct {
	outcomes []task.Outcome
	parts    int      // cleanup-part tasks run
	deletes  []string // group IDs of the delete tasks left on the queue
}

// runQueue runs every cleanup-region and cleanup-part task on q (and those
// they queue) with s, each under ctxFor's context, and collects the delete
// tasks.
func runQueue(tb testing.TB, q *fake.Queue, s *cleanup.Splitter, ctxFor func(domain.Task) (context.Context, context.CancelFunc)) drained {
	tb.Helper()
	var out drained
	for range 100 {
		ds, err := q.Receive(context.Background(), 16, 0)
		if err != nil {
			tb.Fatal(err)
		}
		if len(ds) == 0 {
			sort.Strings(out.deletes)
			return out
		}
		for _, dl := range ds {
			tk, err := domain.DecodeTask(dl.Body)
			if err != nil {
				tb.Fatalf("decode %s: %v", dl.Body, err)
			}
			if err := q.Delete(context.Background(), []string{dl.ReceiptHandle}); err != nil {
				tb.Fatal(err)
			}
			if tk.Kind == domain.TaskDeleteGroup {
				out.deletes = append(out.deletes, tk.GroupID)
				continue
			}
			if tk.Kind == domain.TaskCleanupPart {
				out.parts++
			}
			ctx, cancel := ctxFor(tk)
			out.outcomes = append(out.outcomes, task.RunAll(ctx, s.Handle(ctx, []domain.Task{tk}))...)
			cancel()
		}
	}
	tb.Fatal("the queue never drained")
	return out
}

func noDeadline(domain.Task) (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

// unsplit runs the in-invocation cleanup on day n and returns the groups
// it queued for deletion.
func unsplit(tb testing.TB, e *fake.ECS, policy domain.CleanupPolicy, now time.Time) []string {
	tb.Helper()
	q := fake.NewQueue(fake.QueueOptions{})
	rep, err := cleanup.NewCleaner(e, q).Run(context.Background(), cleanup.Options{Regions: []string{hz}, Policy: policy,
		Mode: cleanup.ModeApply, Now: now, RunID: "nightly"})
	if err != nil || rep.Err() != nil {
		tb.Fatalf("unsplit run: %v %v", err, rep.Err())
	}
	return runQueue(tb, q, &cleanup.Splitter{}, noDeadline).deletes
}

func split(tb testing.TB, e *fake.ECS, policy domain.CleanupPolicy, over int, now time.Time, ctxFor func(domain.Task) (context.Context, context.CancelFunc), margin time.Duration) drained {
	tb.Helper()
	q := fake.NewQueue(fake.QueueOptions{})
	s := &cleanup.Splitter{Cleaner: cleanup.NewCleaner(e, q), Policy: policy, SplitOver: over, Margin: margin}
	if err := q.SendTasks(context.Background(), []domain.Task{domain.NewCleanupRegionTask(hz, "nightly", nil, now)}); err != nil {
		tb.Fatal(err)
	}
	return runQueue(tb, q, s, ctxFor)
}

func TestSplitter_SameResultAsUnsplit(t *testing.T) {
	for _, tc := range []struct {
		name      string
		over      int
		wantSplit bool
	}{
		{"small region, one task", 1000, false},
		{"a part per network", 7, true},
		{"networks cut into ranges", 3, true},
		{"several networks per part", 20, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := splitWorld(3), splitWorld(3)
			ids := allGroupIDs(t, a)
			if len(ids) != 28 {
				t.Fatalf("world has %d groups", len(ids))
			}
			wantDeletes := unsplit(t, a, openPolicy(), t0)
			got := split(t, b, openPolicy(), tc.over, t0, noDeadline, 0)
			if diff := cmp.Diff(tagsOf(a, ids), tagsOf(b, ids)); diff != "" {
				t.Errorf("marks after day 0 differ (-unsplit +split):\n%s", diff)
			}
			if diff := cmp.Diff(wantDeletes, got.deletes); diff != "" {
				t.Errorf("delete tasks differ (-unsplit +split):\n%s", diff)
			}
			if len(wantDeletes) != 4 {
				t.Errorf("unsplit queued %v, want the four marked groups", wantDeletes)
			}
			if (got.parts > 0) != tc.wantSplit {
				t.Errorf("%d parts, want split %v", got.parts, tc.wantSplit)
			}
			for _, o := range got.outcomes {
				if o.Result != task.Done {
					t.Errorf("outcome %+v", o)
				}
			}
			// Day 8: the marks of day 0 are over their grace period.
			wantDeletes = unsplit(t, a, openPolicy(), t0.AddDate(0, 0, 8))
			got = split(t, b, openPolicy(), tc.over, t0.AddDate(0, 0, 8), noDeadline, 0)
			if diff := cmp.Diff(wantDeletes, got.deletes); diff != "" {
				t.Errorf("day 8 delete tasks differ (-unsplit +split):\n%s", diff)
			}
			if len(wantDeletes) != 16 {
				t.Errorf("day 8 unsplit queued %d deletions, want 16", len(wantDeletes))
			}
			t.Logf("over %d: %d parts, calls %v", tc.over, got.parts, b.CallCounts())
		})
	}
}

// A part whose deadline comes near hands its checkpoint to a continuation,
// which goes on where it stopped: the result is the same as without a
// deadline.
func TestSplitter_DeadlineContinues(t *testing.T) {
	a, b := splitWorld(3), splitWorld(3)
	ids := allGroupIDs(t, a)
	wantDeletes := unsplit(t, a, openPolicy(), t0)
	// Every part has an hour left and wants two (the margin): each does
	// one share and continues.
	hour := func(domain.Task) (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), time.Hour)
	}
	got := split(t, b, openPolicy(), 5, t0, hour, 2*time.Hour)
	if diff := cmp.Diff(tagsOf(a, ids), tagsOf(b, ids)); diff != "" {
		t.Errorf("marks differ (-unsplit +split):\n%s", diff)
	}
	if diff := cmp.Diff(wantDeletes, got.deletes); diff != "" {
		t.Errorf("delete tasks differ (-unsplit +split):\n%s", diff)
	}
	continued := 0
	for _, o := range got.outcomes {
		if o.Reason == "continued" {
			continued++
			if !strings.Contains(o.Detail, "5 groups done") && !strings.Contains(o.Detail, "2 groups done") {
				t.Errorf("a continued part did %s", o.Detail)
			}
		}
	}
	// 28 groups, shares of at most 5 within a network of 7: 2 per network,
	// the first run by the region's task, the other 7 queued.
	if got.parts != 7 || continued != 7 {
		t.Errorf("%d parts queued, %d continued; want 7 and 7", got.parts, continued)
	}
}

// The blast radius holds over the whole region: each part alone is under
// the limit, the region is over it, and nothing is deleted.
func TestSplitter_BlastRadiusAcrossParts(t *testing.T) {
	for _, tc := range []struct {
		name        string
		max         int
		wantDeletes int
	}{
		{"whole region over the limit", 3, 0},
		{"whole region at the limit", 4, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := splitWorld(0) // 4 groups per network, one deletable in each
			p := openPolicy()
			p.MaxDeletions = tc.max
			got := split(t, e, p, 4, t0, noDeadline, 0)
			// One part per network: the first run by the region's task with
			// its listing, the other three queued, each listing its network.
			if got.parts != 3 {
				t.Fatalf("%d parts queued, want 3", got.parts)
			}
			if n := e.Calls("ListGroups"); n != 4 {
				t.Errorf("%d group listings, want 4 (the region, then a network per queued part)", n)
			}
			if len(got.deletes) != tc.wantDeletes {
				t.Errorf("%d delete tasks, want %d: %v", len(got.deletes), tc.wantDeletes, got.deletes)
			}
			last := got.outcomes[len(got.outcomes)-1]
			if tc.wantDeletes == 0 && (last.Reason != domain.ReasonBlastRadius || !strings.Contains(last.Detail, "4 deletions exceed")) {
				t.Errorf("last outcome %+v", last)
			}
		})
	}
}

// A part whose reads fail changes nothing of its share and is retried.
func TestSplitter_ReadFailureRetries(t *testing.T) {
	e := splitWorld(0)
	q := fake.NewQueue(fake.QueueOptions{})
	s := &cleanup.Splitter{Cleaner: cleanup.NewCleaner(e, q), Policy: openPolicy(), SplitOver: 4}
	part := domain.NewCleanupPartTask(hz, "nightly", domain.CleanupPart{Networks: []string{"", "vpc-split0000001"}, Now: t0}, t0)
	e.FailNext("ListNetworkInterfaces", domain.Errorf(domain.KindThrottled, "ecs DescribeNetworkInterfaces", "Throttling", "slow down"))
	out := task.RunAll(context.Background(), s.Handle(context.Background(), []domain.Task{part}))
	if len(out) != 1 || out[0].Result != task.Retry {
		t.Fatalf("outcomes %+v", out)
	}
	if n := e.Calls("TagGroups"); n != 0 {
		t.Errorf("%d TagGroups calls after a failed read", n)
	}
	if snap := q.Snapshot(); len(snap.Messages) != 0 {
		t.Errorf("queued %d messages", len(snap.Messages))
	}
}

func TestCleanupPartTask_Validate(t *testing.T) {
	ok := domain.CleanupPart{Networks: []string{"", "vpc-split0000001"}, Now: t0, CandidateCount: 1, Candidates: []string{"sg-n0mark0001@2026-10-01"}}
	for _, tc := range []struct {
		name string
		edit func(*domain.CleanupPart)
		ok   bool
	}{
		{"valid", func(*domain.CleanupPart) {}, true},
		{"index past the end", func(p *domain.CleanupPart) { p.Next = 3 }, false},
		{"no time", func(p *domain.CleanupPart) { p.Now = time.Time{} }, false},
		{"bad network", func(p *domain.CleanupPart) { p.Networks = []string{"x"} }, false},
		{"bad candidate", func(p *domain.CleanupPart) { p.Candidates = []string{"sg-n0mark0001"} }, false},
		{"count below the list", func(p *domain.CleanupPart) { p.CandidateCount = 0 }, false},
		{"bad resume point", func(p *domain.CleanupPart) { p.After = "nope" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ok
			tc.edit(&p)
			body, err := domain.EncodeTask(domain.NewCleanupPartTask(hz, "nightly", p, t0))
			if (err == nil) != tc.ok {
				t.Fatalf("encode: %v", err)
			}
			if err == nil {
				if _, err := domain.DecodeTask(body); err != nil {
					t.Fatalf("decode: %v", err)
				}
			}
		})
	}
}

// A part at its largest (64 carried candidates, 60 networks) fits in a task.
func TestCleanupPartTask_FitsTheLimit(t *testing.T) {
	p := domain.CleanupPart{Now: t0, CandidateCount: 5000}
	for i := range 60 {
		p.Networks = append(p.Networks, fmt.Sprintf("vpc-bp1%019d", i))
	}
	for i := range domain.MaxCarriedCandidates {
		p.Candidates = append(p.Candidates, fmt.Sprintf("sg-bp1%017d@2026-10-01", i))
	}
	p.After = "sg-bp1aaaaaaaaaaaaaaaaaaaa"
	body, err := domain.EncodeTask(domain.NewCleanupPartTask(hz, "cleanup-20261125T020000Z", p, t0))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("largest part task: %d bytes of %d", len(body), domain.MaxTaskBytes)
}

// The declared roles travel with the tasks: a part keeps the groups of a
// role the coordinator's policy declared, whatever the worker's own policy.
func TestSplitter_CarriesDeclaredRoles(t *testing.T) {
	e := splitWorld(0)
	e.AddGroup(domain.SecurityGroup{ID: "sg-n1role0001", Name: "web", RegionID: hz, VPCID: "vpc-split0000001",
		CreationTime: t0.AddDate(0, -2, 0), Tags: domain.Tags{domain.DefaultManagedTagKey: domain.DefaultManagedTagValue,
			domain.DefaultRoleTagKey: "web", domain.DefaultStaleTagKey: "2026-10-01"}})
	q := fake.NewQueue(fake.QueueOptions{})
	s := &cleanup.Splitter{Cleaner: cleanup.NewCleaner(e, q), Policy: openPolicy(), SplitOver: 4}
	if err := q.SendTasks(context.Background(), []domain.Task{domain.NewCleanupRegionTask(hz, "nightly", []string{"web"}, t0)}); err != nil {
		t.Fatal(err)
	}
	got := runQueue(t, q, s, noDeadline)
	if got.parts == 0 {
		t.Fatal("not split")
	}
	for _, id := range got.deletes {
		if id == "sg-n1role0001" {
			t.Fatal("the group of a declared role was queued for deletion")
		}
	}
	if g, _ := e.Group("sg-n1role0001"); g.Tags[domain.DefaultStaleTagKey] != "" {
		t.Errorf("declared role group still marked: %v", g.Tags)
	}
	if len(got.deletes) != 4 {
		t.Errorf("deletes %v, want the four marked groups", got.deletes)
	}
}

// Several regions: the coordinator queues one task per region and plans nothing itself.
func TestQueueRegions(t *testing.T) {
	q := fake.NewQueue(fake.QueueOptions{})
	p := openPolicy()
	p.DeclaredRoles = map[string]bool{"web": true, "db": true}
	rep, err := cleanup.QueueRegions(context.Background(), q, cleanup.Options{Regions: []string{hz, bj, hz}, Policy: p, Now: t0, SplitOver: 10})
	if err != nil {
		t.Fatal(err)
	}
	snap := q.Snapshot()
	if len(snap.Messages) != 2 || len(rep.Regions) != 2 || rep.Summary.Errors != 0 {
		t.Fatalf("%d messages, report %+v", len(snap.Messages), rep)
	}
	tk, err := domain.DecodeTask(snap.Messages[0].Body)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Kind != domain.TaskCleanupRegion || tk.RegionID != hz || !cmp.Equal(tk.Part.Roles, []string{"db", "web"}) || !tk.Part.Now.Equal(t0) {
		t.Errorf("task %+v part %+v", tk, tk.Part)
	}
	if rep.Regions[1].Split == nil || rep.Regions[1].Split.TaskID != "cleanup-region:cn-beijing:"+rep.RunID {
		t.Errorf("region report %+v", rep.Regions[1])
	}
	// A queue that refuses: every region says so.
	q.FailNext(fake.QueueOpSend, domain.Errorf(domain.KindRetryable, "mns send", "", "down"))
	rep, _ = cleanup.QueueRegions(context.Background(), q, cleanup.Options{Regions: []string{hz, bj}, Policy: p, Now: t0})
	if rep.Summary.Errors != 2 {
		t.Errorf("after a failed send: %+v", rep.Summary)
	}
}

// A plan (never split) says when a region is over the threshold.
func TestRun_PlanSaysRegionIsLarge(t *testing.T) {
	e := splitWorld(0)
	q := fake.NewQueue(fake.QueueOptions{})
	rep, err := cleanup.NewCleaner(e, q).Run(context.Background(), cleanup.Options{Regions: []string{hz}, Policy: openPolicy(),
		Mode: cleanup.ModePlan, Now: t0, SplitOver: 10})
	if err != nil {
		t.Fatal(err)
	}
	rr := rep.Regions[0]
	if rr.Split == nil || rr.Split.Groups != 16 || len(rr.Decisions) != 16 || len(q.Snapshot().Messages) != 0 {
		t.Fatalf("plan region %+v", rr.Split)
	}
	var b strings.Builder
	if err := cleanup.RenderTable(&b, rep); err != nil || !strings.Contains(b.String(), "Split: 16 groups (threshold 10)") {
		t.Errorf("table:\n%s", b.String())
	}
}

// More approved deletions than a task carries: a second pass queues them
// all, as the unsplit run does.
func TestSplitter_SecondPassQueuesWhatDidNotFit(t *testing.T) {
	a, b := splitWorld(20), splitWorld(20)
	unsplit(t, a, openPolicy(), t0)
	split(t, b, openPolicy(), 30, t0, noDeadline, 0)
	day8 := t0.AddDate(0, 0, 8)
	want := unsplit(t, a, openPolicy(), day8)
	got := split(t, b, openPolicy(), 30, day8, noDeadline, 0)
	if len(want) != 84 {
		t.Fatalf("unsplit queued %d deletions, want 84", len(want))
	}
	if diff := cmp.Diff(want, got.deletes); diff != "" {
		t.Errorf("delete tasks differ (-unsplit +split):\n%s", diff)
	}
	last := got.outcomes[len(got.outcomes)-1]
	if !strings.Contains(last.Detail, "second pass: 84 delete tasks of 84 approved") {
		t.Errorf("last outcome %+v", last)
	}
}

// The second pass never queues more than the blast radius approved, even
// when it finds more deletable groups than the first pass counted.
func TestSplitter_SecondPassKeepsTheApprovedCount(t *testing.T) {
	e := splitWorld(0) // four marked groups, one per network
	q := fake.NewQueue(fake.QueueOptions{})
	s := &cleanup.Splitter{Cleaner: cleanup.NewCleaner(e, q), Policy: openPolicy(), SplitOver: 100}
	rel := domain.NewCleanupPartTask(hz, "nightly", domain.CleanupPart{Networks: []string{"", "vpc-split0000001", "vpc-split0000002", "vpc-split0000003"},
		Now: t0, Release: true, Allowed: 3}, t0)
	out := task.RunAll(context.Background(), s.Handle(context.Background(), []domain.Task{rel}))
	if len(out) != 1 || out[0].Result != task.Done {
		t.Fatalf("outcomes %+v", out)
	}
	if n := len(q.Snapshot().Messages); n != 3 {
		t.Errorf("%d delete tasks, want the 3 approved", n)
	}
	if n := e.Calls("TagGroups") + e.Calls("UntagGroups"); n != 0 {
		t.Errorf("the second pass changed tags (%d calls)", n)
	}
	// It lists groups only: the first pass read the users, and the Deleter
	// re-checks each group.
	for method, n := range e.CallCounts() {
		if n > 0 && method != "ListGroups" {
			t.Errorf("the second pass called %s %d times", method, n)
		}
	}
}

// The worker runs tasks with the same kind, region and subject once: two
// parts of a region must differ, a part sent twice must not.
func TestCleanupPartTask_Subject(t *testing.T) {
	at := func(next int, after string, release bool) string {
		p := domain.CleanupPart{Networks: []string{"", "vpc-split0000001"}, Next: next, After: after, Now: t0, Release: release}
		if release {
			p.Allowed = 1
		}
		return domain.NewCleanupPartTask(hz, "nightly", p, t0).Subject()
	}
	subjects := []string{at(0, "", false), at(1, "", false), at(1, "sg-n1free0001", false), at(1, "", true)}
	seen := map[string]bool{}
	for _, s := range subjects {
		if seen[s] {
			t.Errorf("two parts share the subject %q", s)
		}
		seen[s] = true
	}
	if first, again := at(1, "", false), at(1, "", false); first != again {
		t.Error("the same part has two subjects")
	}
}

// A region waits for room in the worker's group budget: while other jobs
// hold it all, the region task reads nothing and is retried once the
// invocation's time runs out; with room, it cleans the region as before.
func TestSplitter_WaitsForTheGroupBudget(t *testing.T) {
	e := splitWorld(3)
	q := fake.NewQueue(fake.QueueOptions{})
	budget := cleanup.NewGroupBudget(10)
	s := &cleanup.Splitter{Cleaner: cleanup.NewCleaner(e, q), Policy: openPolicy(), SplitOver: 10, Budget: budget}
	region := domain.NewCleanupRegionTask(hz, "nightly", nil, t0)

	giveBack := cleanup.HoldBudget(budget, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	out := task.RunAll(ctx, s.Handle(ctx, []domain.Task{region}))
	cancel()
	if len(out) != 1 || out[0].Result != task.Retry || !strings.Contains(out[0].Detail, "budget") {
		t.Fatalf("outcome while the budget is taken: %+v; want a retry that says why", out)
	}
	if n := e.CallCounts()["ListGroups"]; n != 0 {
		t.Errorf("%d group listings while waiting, want none", n)
	}
	giveBack()

	out = task.RunAll(context.Background(), s.Handle(context.Background(), []domain.Task{region}))
	if len(out) != 1 || out[0].Result != task.Done {
		t.Fatalf("outcome with room: %+v", out)
	}
	// Everything is given back: the whole budget can be taken again.
	cleanup.HoldBudget(budget, 10)()
}
