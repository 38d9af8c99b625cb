package cleanup_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
	"github.com/sgpilot/sgpilot/shared/core/task"
	"github.com/sgpilot/sgpilot/shared/usecase/cleanup"
)

func TestRun_Decisions(t *testing.T) {
	f := decisionWorld()
	q := newFakeQueue()
	rep := MustRun(t, newCleaner(f, q), cleanup.ModeApply, t0)
	got := decisions(t, rep, hz)

	tests := []struct {
		name     string
		group    string
		action   domain.CleanupAction
		reason   domain.Reason
		markWant string // the group's stale mark after the run ("" = none)
	}{
		{"instance keeps it", "sg-inst00001", domain.ActionKeep, domain.ReasonInUse, ""},
		{"used during grace: unmarked", "sg-regrace01", domain.ActionUnmark, domain.ReasonUsedAgain, ""},
		{"referenced by another group", "sg-refd00001", domain.ActionKeep, domain.ReasonInUse, ""},
		{"self-reference does not count", "sg-selfref01", domain.ActionMark, domain.ReasonNewlyStale, "2026-11-25"},
		{"only an ENI", "sg-eni000001", domain.ActionKeep, domain.ReasonInUse, ""},
		{"in a launch template", "sg-tmpl00001", domain.ActionKeep, domain.ReasonInUse, ""},
		{"protect tag: never touched", "sg-protect01", domain.ActionSkip, domain.ReasonProtected, "2026-11-01"},
		{"service-managed", "sg-svcmgd001", domain.ActionSkip, domain.ReasonServiceManaged, ""},
		{"out of scope", "sg-other0001", domain.ActionSkip, domain.ReasonOutOfScope, ""},
		{"too young", "sg-young0001", domain.ActionKeep, domain.ReasonTooYoung, ""},
		{"newly stale: marked today", "sg-fresh0001", domain.ActionMark, domain.ReasonNewlyStale, "2026-11-25"},
		{"in grace", "sg-grace0001", domain.ActionKeep, domain.ReasonInGrace, "2026-11-22"},
		{"past grace: delete task", "sg-stale0001", domain.ActionDelete, domain.ReasonGraceOver, "2026-11-10"},
		{"unreadable mark: marked again", "sg-badmark01", domain.ActionMark, domain.ReasonBadMark, "2026-11-25"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := got[tc.group]
			if !ok {
				t.Fatalf("no decision for %s", tc.group)
			}
			if d.Action != tc.action || d.Reason != tc.reason {
				t.Errorf("%s: %s/%s (%s), want %s/%s", tc.group, d.Action, d.Reason, d.Detail, tc.action, tc.reason)
			}
			if d.ApplyError != "" {
				t.Errorf("apply error: %s", d.ApplyError)
			}
			if mark := f.tags(hz, tc.group)[stale]; mark != tc.markWant {
				t.Errorf("mark after the run = %q, want %q", mark, tc.markWant)
			}
		})
	}

	want := []domain.Task{domain.NewDeleteGroupTask(hz, "sg-stale0001", "2026-11-10", "run-1", t0)}
	if diff := cmp.Diff(want, q.tasks()); diff != "" {
		t.Errorf("delete tasks (-want +got):\n%s", diff)
	}
	if len(f.deleted) != 0 {
		t.Errorf("the run deleted %v itself; deletes go through the queue", f.deleted)
	}
	// References are read only for the six groups nothing else decides.
	if diff := cmp.Diff([]int{6}, f.batches["GroupReferences"]); diff != "" {
		t.Errorf("reference batches (-want +got):\n%s", diff)
	}
	s := rep.Summary
	wantSummary := cleanup.Summary{Regions: 1, Scanned: 14, InScope: 11, ToMark: 3, ToUnmark: 1, ToDelete: 1,
		Marked: 3, Unmarked: 1, DeleteTasksEnqueued: 1,
		KeptByReason:    map[domain.Reason]int{domain.ReasonInUse: 4, domain.ReasonTooYoung: 1, domain.ReasonInGrace: 1},
		SkippedByReason: map[domain.Reason]int{domain.ReasonProtected: 1, domain.ReasonServiceManaged: 1, domain.ReasonOutOfScope: 1}}
	if diff := cmp.Diff(wantSummary, s); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if err := rep.Err(); err != nil {
		t.Errorf("Err() = %v", err)
	}
}

func TestRun_PlanModeChangesNothing(t *testing.T) {
	f := decisionWorld()
	before := map[string]domain.Tags{}
	for _, id := range f.groupIDs(hz) {
		before[id] = f.tags(hz, id)
	}
	q := newFakeQueue()
	rep := MustRun(t, newCleaner(f, q), cleanup.ModePlan, t0)

	for _, m := range []string{"TagGroups", "UntagGroups", "DeleteGroup"} {
		if n := f.apiCalls[m]; n != 0 {
			t.Errorf("plan mode made %d %s calls", n, m)
		}
	}
	if len(q.batches()) != 0 {
		t.Errorf("plan mode sent %d task batches", len(q.batches()))
	}
	for id, tags := range before {
		if diff := cmp.Diff(tags, f.tags(hz, id)); diff != "" {
			t.Errorf("%s tags changed (-before +after):\n%s", id, diff)
		}
	}
	s := rep.Summary
	if s.ToMark != 3 || s.ToUnmark != 1 || s.ToDelete != 1 || s.Marked+s.Unmarked+s.DeleteTasksEnqueued != 0 {
		t.Errorf("plan summary = %+v", s)
	}
	if rep.Mode != cleanup.ModePlan {
		t.Errorf("mode = %q", rep.Mode)
	}
}

// twoRegions has the same stale groups in hz and bj: one to mark, one to
// delete, one in use. IDs are unique across regions, as in ECS (see
// inRegion).
func twoRegions() *fakeECS {
	f := newFakeECS()
	for _, r := range []string{hz, bj} {
		id := func(s string) string { return inRegion(r, s) }
		f.addGroups(groupIn(r, id("sg-fresh0001")), groupIn(r, id("sg-stale0001"), stale, "2026-11-01"), groupIn(r, id("sg-used00001")),
			groupIn(r, id("sg-used00002")), groupIn(r, id("sg-used00003")))
		f.addInstance(r, id("i-used00000001"), id("sg-used00001"), id("sg-used00002"), id("sg-used00003"))
	}
	return f
}

// inRegion is twoRegions' name of a resource in region: id itself in hz,
// id with the first character after its prefix replaced by "b" in bj.
func inRegion(region, id string) string {
	if region == hz {
		return id
	}
	i := strings.Index(id, "-") + 1
	return id[:i] + "b" + id[i+1:]
}

func TestRun_DiscoveryFailureChangesNothingInThatRegion(t *testing.T) {
	tests := []struct {
		name   string
		method string
		err    error
	}{
		{"group listing", "ListGroups", domain.Errorf(domain.KindInternal, "ecs DescribeSecurityGroups", "InValidParameter.NextToken", "page token rejected mid-listing")},
		{"instances throttled after retries", "ListInstances", domain.Errorf(domain.KindThrottled, "ecs DescribeInstances", "Throttling.User", "slow down")},
		{"network interfaces", "ListNetworkInterfaces", domain.Errorf(domain.KindRetryable, "ecs DescribeNetworkInterfaces", "InternalError", "5xx")},
		{"launch templates", "TemplateGroups", domain.Errorf(domain.KindPermanent, "ecs DescribeLaunchTemplates", "Forbidden.RAM", "denied")},
		{"references", "GroupReferences", domain.Errorf(domain.KindInvalid, "ecs DescribeSecurityGroupReferences", "InvalidSecurityGroupId.Malformed", "bad")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := twoRegions()
			f.fault = func(method, region string) error {
				if region == hz && method == tc.method {
					return tc.err
				}
				return nil
			}
			q := newFakeQueue()
			rep := MustRun(t, newCleaner(f, q), cleanup.ModeApply, t0, hz, bj)

			h := regionReport(t, rep, hz)
			if h.Summary.Errors != 1 || len(h.Errors) != 1 || !strings.Contains(h.Errors[0], tc.err.Error()) {
				t.Errorf("hz errors = %d %q, want the %s failure", h.Summary.Errors, h.Errors, tc.method)
			}
			if !strings.Contains(h.Blocked, "discovery incomplete") {
				t.Errorf("hz blocked = %q", h.Blocked)
			}
			for _, d := range h.Decisions {
				if d.Action == domain.ActionMark || d.Action == domain.ActionUnmark || d.Action == domain.ActionDelete {
					t.Errorf("hz %s planned %s despite incomplete discovery", d.GroupID, d.Action)
				}
			}
			if _, ok := f.tags(hz, "sg-fresh0001")[stale]; ok {
				t.Error("hz group marked despite incomplete discovery")
			}
			for _, task := range q.tasks() {
				if task.RegionID == hz {
					t.Errorf("hz delete task %s enqueued despite incomplete discovery", task.ID)
				}
			}

			b := regionReport(t, rep, bj)
			if b.Summary.Errors != 0 || b.Blocked != "" || b.Summary.Marked != 1 || b.Summary.DeleteTasksEnqueued != 1 {
				t.Errorf("bj did not proceed: %+v blocked %q", b.Summary, b.Blocked)
			}
			if f.tags(bj, inRegion(bj, "sg-fresh0001"))[stale] != "2026-11-25" {
				t.Error("bj group not marked")
			}
			if rep.Summary.Errors != 1 || rep.Err() == nil {
				t.Errorf("run summary errors = %d, Err = %v", rep.Summary.Errors, rep.Err())
			}
		})
	}
}

// The adapters retry throttling; a throttled read that reaches the run is
// not retried again, and the region is left unchanged.
func TestRun_ThrottledReadIsNotRetriedHere(t *testing.T) {
	f := twoRegions()
	calls := map[string]int{}
	f.fault = func(method, _ string) error {
		calls[method]++
		if method == "ListGroups" && calls[method] == 1 {
			return domain.Errorf(domain.KindThrottled, "ecs "+method, "Throttling.User", "slow down")
		}
		return nil
	}
	rep := MustRun(t, newCleaner(f, newFakeQueue()), cleanup.ModeApply, t0)
	if calls["ListGroups"] != 1 || rep.Summary.Errors != 1 || rep.Summary.Marked != 0 {
		t.Fatalf("ListGroups calls %d, summary %+v; want one call and the region unchanged", calls["ListGroups"], rep.Summary)
	}
}

func TestRun_BlastRadius(t *testing.T) {
	tests := []struct {
		name        string
		maxDeletes  int
		maxPercent  float64
		wantBlocked string
	}{
		{"over the count", 3, 100, "exceed the per-run maximum of 3"},
		{"over the percentage", 20, 25, "over 25% of the 10 groups in scope"},
		{"zero allowed", 0, 100, "exceed the per-run maximum of 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeECS()
			for i := range 5 {
				f.addGroups(mg(fmt.Sprintf("sg-stale%04d", i), stale, "2026-11-01"))
			}
			for i := range 4 {
				f.addGroups(mg(fmt.Sprintf("sg-used0%04d", i)))
				f.addInstance(hz, fmt.Sprintf("i-used0000000%d", i), fmt.Sprintf("sg-used0%04d", i))
			}
			f.addGroups(mg("sg-fresh0001"))
			p := domain.DefaultCleanupPolicy()
			p.MaxDeletions, p.MaxDeletePercent = tc.maxDeletes, tc.maxPercent
			q := newFakeQueue()
			rep := MustRunPolicy(t, newCleaner(f, q), cleanup.ModeApply, t0, p)

			rr := regionReport(t, rep, hz)
			if !strings.Contains(rr.Blocked, tc.wantBlocked) || !strings.Contains(rr.Blocked, "nothing deleted") {
				t.Errorf("blocked = %q, want it to say %q and that nothing is deleted", rr.Blocked, tc.wantBlocked)
			}
			if len(q.tasks()) != 0 {
				t.Errorf("%d delete tasks enqueued over the blast radius", len(q.tasks()))
			}
			if n := rr.Summary.KeptByReason[domain.ReasonBlastRadius]; n != 5 {
				t.Errorf("kept for blast radius = %d, want 5", n)
			}
			if len(rep.Summary.Blocked) != 1 || !strings.HasPrefix(rep.Summary.Blocked[0], hz+": ") {
				t.Errorf("summary blocked = %q", rep.Summary.Blocked)
			}
			// Marking is not a deletion: it goes on.
			if f.tags(hz, "sg-fresh0001")[stale] != "2026-11-25" {
				t.Error("newly stale group not marked under a blast-radius block")
			}
		})
	}
}

func TestRun_MarkThenDeleteAfterGrace(t *testing.T) {
	f := newFakeECS()
	f.addGroups(mg("sg-lonely001"), mg("sg-flaky0001"))
	q := newFakeQueue()
	c := newCleaner(f, q)
	d := newDeleter(f)
	day := func(n int) time.Time { return t0.Add(time.Duration(n) * 24 * time.Hour) }
	p := domain.DefaultCleanupPolicy()
	p.MaxDeletePercent = 100 // two deletions of two groups in scope: over 25%

	var clock time.Time
	d.Now = func() time.Time { return clock }
	for n := 0; n <= 12; n++ { // a date mark counts from the end of its day: deletion on the 8th night
		clock = day(n).Add(10 * time.Minute) // the worker runs a little after the timer
		switch n {
		case 3: // sg-flaky0001 is used for a day
			f.addInstance(hz, "i-flaky0000001", "sg-flaky0001")
		case 4:
			f.RemoveInstance("i-flaky0000001")
		}
		rep := MustRunPolicy(t, c, cleanup.ModeApply, day(n), p)
		got := decisions(t, rep, hz)
		tasks := q.take()
		for _, o := range task.RunAll(context.Background(), d.Handle(context.Background(), tasks)) {
			if o.Reason != task.ReasonDeleted {
				t.Errorf("day %d: task %s: %s %s", n, o.TaskID, o.Reason, o.Detail)
			}
		}
		lonely, flaky := got["sg-lonely001"], got["sg-flaky0001"]
		switch {
		case n == 0:
			if lonely.Action != domain.ActionMark || flaky.Action != domain.ActionMark {
				t.Errorf("day 0: %s, %s; want both marked", lonely.Action, flaky.Action)
			}
		case n < 8:
			if lonely.Action != domain.ActionKeep || len(tasks) != 0 && tasks[0].GroupID == "sg-lonely001" {
				t.Errorf("day %d: sg-lonely001 %s with %d tasks; nothing before the grace period ends", n, lonely.Action, len(tasks))
			}
		case n == 8:
			if lonely.Action != domain.ActionDelete || len(tasks) != 1 || tasks[0].GroupID != "sg-lonely001" {
				t.Errorf("day 8: sg-lonely001 %s, tasks %v; want one delete", lonely.Action, tasks)
			}
		}
		wantFlaky := map[int]domain.CleanupAction{3: domain.ActionUnmark, 4: domain.ActionMark, 11: domain.ActionKeep, 12: domain.ActionDelete}
		if a, ok := wantFlaky[n]; ok && flaky.Action != a {
			t.Errorf("day %d: sg-flaky0001 %s (%s), want %s", n, flaky.Action, flaky.Detail, a)
		}
		if n == 11 && len(tasks) != 0 {
			t.Errorf("day 11: tasks %v; sg-flaky0001 was re-marked on day 4", tasks)
		}
	}
	if diff := cmp.Diff([]string{"sg-lonely001", "sg-flaky0001"}, f.deleted); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
}

func TestRun_ApplyFailureDoesNotStopTheRest(t *testing.T) {
	f := newFakeECS()
	for i := range 60 {
		f.addGroups(mg(fmt.Sprintf("sg-fresh%04d", i)))
	}
	f.addGroups(mg("sg-regrace01", stale, "2026-11-20"), mg("sg-stale0001", stale, "2026-11-01"))
	f.addInstance(hz, "i-regrace00001", "sg-regrace01")
	tagCalls := 0
	f.fault = func(method, _ string) error {
		if method == "TagGroups" {
			tagCalls++
			if tagCalls == 1 {
				return domain.Errorf(domain.KindPermanent, "ecs TagResources", "QuotaExceed.Tags", "too many tags")
			}
		}
		return nil
	}
	q := newFakeQueue()
	rep := MustRun(t, newCleaner(f, q), cleanup.ModeApply, t0)
	rr := regionReport(t, rep, hz)
	if rr.Summary.Errors != 1 || rr.Summary.Marked != 10 || rr.Summary.Unmarked != 1 || rr.Summary.DeleteTasksEnqueued != 1 {
		t.Errorf("summary %+v errors %q", rr.Summary, rr.Errors)
	}
	failed := 0
	for _, d := range rr.Decisions {
		if d.ApplyError != "" {
			failed++
		}
	}
	if failed != 50 {
		t.Errorf("%d decisions carry an apply error, want the 50 of the failed batch", failed)
	}
}

func TestRun_CallCounts(t *testing.T) {
	const (
		groups    = 1234
		used      = 300 // in use by an instance
		inTmpl    = 20
		withENI   = 15
		outScope  = 100
		past      = 10 // marked, past grace
		instances = 450
	)
	f := newFakeECS()
	var ids []string
	for i := range groups {
		id := fmt.Sprintf("sg-cnt%06d", i)
		ids = append(ids, id)
		g := mg(id)
		switch {
		case i < used+inTmpl+withENI: // used: instances, templates and ENIs are added below
		case i < used+inTmpl+withENI+outScope:
			delete(g.Tags, domain.DefaultManagedTagKey)
		case i < used+inTmpl+withENI+outScope+past:
			g.Tags[stale] = "2026-11-01"
		}
		f.addGroups(g)
	}
	for i, id := range ids[:used+inTmpl+withENI] {
		switch {
		case i < used:
			f.addInstance(hz, fmt.Sprintf("i-cnt%08d", i), id)
		case i < used+inTmpl:
			f.addToTemplate(hz, id, "lt-x0000001")
		default:
			f.addENI(hz, fmt.Sprintf("eni-cnt%08d", i), id)
		}
	}
	for i := used; i < instances; i++ { // instances in unmanaged groups only
		f.addInstance(hz, fmt.Sprintf("i-cnt%08d", i), ids[used+inTmpl+withENI])
	}
	candidates := groups - used - inTmpl - withENI - outScope
	marks := candidates - past
	p := domain.DefaultCleanupPolicy()
	p.MaxDeletions = 100

	q := newFakeQueue()
	rep := MustRunPolicy(t, newCleaner(f, q), cleanup.ModeApply, t0, p)
	if rep.Summary.Marked != marks || rep.Summary.DeleteTasksEnqueued != past {
		t.Fatalf("summary %+v", rep.Summary)
	}
	ceil := func(n, d int) int { return (n + d - 1) / d }
	enis := instances + withENI
	want := map[string]int{
		"ListGroups":            ceil(groups, 100),
		"ListInstances":         ceil(instances, 100),
		"ListNetworkInterfaces": ceil(enis, 500),
		"TemplateGroups":        1,
		"GroupReferences":       ceil(candidates, 10),
		"TagGroups":             ceil(marks, 50),
	}
	if diff := cmp.Diff(want, f.apiCalls); diff != "" {
		t.Errorf("API calls (-want +got):\n%s", diff)
	}
	for method, limit := range map[string]int{"GroupReferences": 10, "TagGroups": 50} {
		for _, n := range f.batches[method] {
			if n > limit {
				t.Errorf("%s call with %d IDs, limit %d", method, n, limit)
			}
		}
	}
	for _, n := range q.batches() {
		if n > 16 {
			t.Errorf("SendTasks with %d tasks", n)
		}
	}

	// The worker's re-check and delete: one DescribeGroups per 100, the
	// templates once, one delete per group.
	runCalls := f.totalCalls()
	f.resetCounts()
	for _, o := range task.RunAll(context.Background(), newDeleter(f).Handle(context.Background(), q.take())) {
		if o.Reason != task.ReasonDeleted {
			t.Errorf("%s: %s %s", o.TaskID, o.Reason, o.Detail)
		}
	}
	if diff := cmp.Diff(map[string]int{"DescribeGroups": 1, "TemplateGroups": 1, "DeleteGroup": past}, f.apiCalls); diff != "" {
		t.Errorf("delete calls (-want +got):\n%s", diff)
	}
	// The benchmark's lower bound: pages, references at their limit, tags
	// at theirs, one delete per group.
	lower := ceil(groups, 100) + ceil(instances, 100) + ceil(enis, 500) + ceil(candidates, 10) + ceil(marks, 50) + past
	total := runCalls + f.totalCalls()
	if float64(total) > 1.1*float64(lower) {
		t.Errorf("%d calls, lower bound %d: ratio %.3f over 1.1", total, lower, float64(total)/float64(lower))
	}
	t.Logf("%d calls against a lower bound of %d (%.3f)", total, lower, float64(total)/float64(lower))
}

func TestRun_ProgressLogs(t *testing.T) {
	f := newFakeECS()
	for i := range 95 {
		f.addGroups(mg(fmt.Sprintf("sg-prog%05d", i)))
	}
	core, logs := observer.New(zap.InfoLevel)
	c := newCleaner(f, newFakeQueue())
	c.ProgressEvery = 30
	ctx := logging.WithContext(context.Background(), zap.New(core))
	if _, err := c.Run(ctx, cleanup.Options{Regions: []string{hz}, Policy: domain.DefaultCleanupPolicy(), Mode: cleanup.ModePlan, Now: t0}); err != nil {
		t.Fatal(err)
	}
	var checked []int64
	for _, e := range logs.FilterMessage("cleanup discovery: references progress").All() {
		checked = append(checked, e.ContextMap()["checked"].(int64))
	}
	if diff := cmp.Diff([]int64{30, 60, 90}, checked); diff != "" {
		t.Errorf("progress lines (-want +got):\n%s", diff)
	}
	fin := logs.FilterMessage("cleanup run finished").All()
	if len(fin) != 1 || fin[0].ContextMap()["to_mark"] != int64(95) || fin[0].ContextMap()["run_id"] == "" {
		t.Errorf("summary log line = %+v", fin)
	}
}

func TestRun_InvalidOptions(t *testing.T) {
	good := domain.DefaultCleanupPolicy()
	tests := []struct {
		name   string
		mutate func(*cleanup.Options)
	}{
		{"empty scope", func(o *cleanup.Options) { o.Policy.Scope = domain.Scope{} }},
		{"no regions", func(o *cleanup.Options) { o.Regions = nil }},
		{"bad region", func(o *cleanup.Options) { o.Regions = []string{"Hangzhou!"} }},
		{"bad mode", func(o *cleanup.Options) { o.Mode = "delete-everything" }},
		{"negative grace", func(o *cleanup.Options) { o.Policy.GracePeriod = -time.Hour }},
		{"percent over 100", func(o *cleanup.Options) { o.Policy.MaxDeletePercent = 150 }},
		{"same stale and protect key", func(o *cleanup.Options) { o.Policy.ProtectTagKey = o.Policy.StaleTagKey }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeECS()
			o := cleanup.Options{Regions: []string{hz}, Policy: good, Mode: cleanup.ModeApply, Now: t0}
			tc.mutate(&o)
			_, err := newCleaner(f, newFakeQueue()).Run(context.Background(), o)
			if !errors.Is(err, domain.ErrInvalid) {
				t.Errorf("err = %v, want invalid", err)
			}
			if f.totalCalls() != 0 {
				t.Errorf("made %d calls with invalid options", f.totalCalls())
			}
		})
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]cleanup.Mode{"": cleanup.ModePlan, "plan": cleanup.ModePlan, " Apply ": cleanup.ModeApply} {
		if got, err := cleanup.ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := cleanup.ParseMode("yes"); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("ParseMode(yes) err = %v", err)
	}
}
