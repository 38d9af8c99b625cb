package cleanup_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
	"github.com/sgpilot/sgpilot/shared/usecase/cleanup"
)

const earlyLine = "cleanup: queueing delete tasks while references are read"

// pipeWorld is one region of n managed groups sg-pipe%05d. Every one is
// marked past its grace period, except: each usedEvery-th has an instance,
// each freshEvery-th is unmarked, and each refEvery-th is referenced by
// the rules of the group before it (in scope: the referencing group may
// itself be deleted) or, every other time, of an out-of-scope peer.
func pipeWorld(n, usedEvery, freshEvery, refEvery int) (f *fakeECS, candidates []string) {
	f = newFakeECS()
	id := func(i int) string { return fmt.Sprintf("sg-pipe%05d", i) }
	for i := range n {
		g := mg(id(i))
		if freshEvery == 0 || i%freshEvery != 1 {
			g.Tags[stale] = "2026-11-01"
		}
		f.addGroups(g)
	}
	for i := range n {
		switch {
		case usedEvery > 0 && i%usedEvery == 2:
			f.addInstance(hz, fmt.Sprintf("i-pipe%08d", i), id(i))
			continue
		case refEvery > 0 && i%refEvery == 3 && (i/refEvery)%2 == 0:
			f.AddRule(id(i-1), id(i))
		case refEvery > 0 && i%refEvery == 3:
			f.addReference(hz, id(i), fmt.Sprintf("sg-peer%05d", i))
		}
		candidates = append(candidates, id(i))
	}
	sort.Strings(candidates)
	return f, candidates
}

// runLogged runs the cleaner with an observed logger.
func runLogged(t *testing.T, c *cleanup.Cleaner, mode cleanup.Mode, p domain.CleanupPolicy) (cleanup.Report, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.InfoLevel)
	ctx := logging.WithContext(context.Background(), zap.New(core))
	rep, err := c.Run(ctx, cleanup.Options{Regions: []string{hz}, Policy: p, Mode: mode, Now: t0, RunID: "run-1"})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rep, logs
}

// wantTasks are the delete tasks the sequential path queues for a plan:
// one per delete decision, in decision order, 16 per send.
func wantTasks(rr cleanup.RegionReport) (tasks []domain.Task, sends []int) {
	for _, d := range rr.Decisions {
		if d.Action == domain.ActionDelete {
			tasks = append(tasks, domain.NewDeleteGroupTask(hz, d.GroupID, d.StaleSince, "run-1", t0))
		}
	}
	for n := len(tasks); n > 0; n -= cleanup.TaskBatchSize {
		sends = append(sends, min(n, cleanup.TaskBatchSize))
	}
	return tasks, sends
}

// TestRun_EarlyDeletesSameAsSequential: whether the deletions are queued
// while the references are read or after, an apply run queues exactly the
// tasks of its plan (which a plan-mode run of the same world computes
// without queueing anything), in the same batches, with the same report.
func TestRun_EarlyDeletesSameAsSequential(t *testing.T) {
	tests := []struct {
		name                string
		n, used, fresh, ref int
		maxDeletes          int
		maxPercent          float64
		approve             bool // approve the withheld plan's ID
		wantEarly           bool
		wantDeletes         int
	}{
		{name: "no references", n: 75, used: 4, fresh: 9, maxDeletes: 100, maxPercent: 100, wantEarly: true, wantDeletes: 49},
		{name: "referenced candidates are kept", n: 75, used: 4, fresh: 9, ref: 5, maxDeletes: 100, maxPercent: 100, wantEarly: true, wantDeletes: 39},
		{name: "one short batch", n: 12, ref: 5, maxDeletes: 100, maxPercent: 100, wantEarly: true, wantDeletes: 10},
		// Without references 49 groups look deletable, with them 39.
		{name: "count blocks the superset, not the plan", n: 75, used: 4, fresh: 9, ref: 5, maxDeletes: 40, maxPercent: 100, wantDeletes: 39},
		{name: "percentage blocks the superset, not the plan", n: 75, used: 4, fresh: 9, ref: 5, maxDeletes: 100, maxPercent: 60, wantDeletes: 39},
		{name: "blocked either way", n: 75, used: 4, fresh: 9, ref: 5, maxDeletes: 20, maxPercent: 100},
		{name: "approval in play", n: 75, used: 4, fresh: 9, ref: 5, maxDeletes: 20, maxPercent: 100, approve: true, wantDeletes: 39},
		// An approval names an exact plan: only the final plan may match it,
		// so the run reads first, even when references change nothing.
		{name: "approval, no references", n: 75, used: 4, fresh: 9, maxDeletes: 20, maxPercent: 100, approve: true, wantDeletes: 49},
		{name: "approval that needs no lifting", n: 75, used: 4, fresh: 9, ref: 5, maxDeletes: 100, maxPercent: 100, approve: true, wantDeletes: 39},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := pipeWorld(tc.n, tc.used, tc.fresh, tc.ref)
			p := domain.DefaultCleanupPolicy()
			p.MaxDeletions, p.MaxDeletePercent = tc.maxDeletes, tc.maxPercent
			if tc.approve {
				p.ApprovedPlanID = regionReport(t, MustRunPolicy(t, newCleaner(f, newFakeQueue()), cleanup.ModePlan, t0, p), hz).PlanID
			}
			planned := regionReport(t, MustRunPolicy(t, newCleaner(f, newFakeQueue()), cleanup.ModePlan, t0, p), hz)
			tasks, sends := wantTasks(planned)
			if len(tasks) != tc.wantDeletes {
				t.Fatalf("world: %d deletions, summary %+v; want %d", len(tasks), planned.Summary, tc.wantDeletes)
			}

			q := newFakeQueue()
			rep, logs := runLogged(t, newCleaner(f, q), cleanup.ModeApply, p)
			applied := regionReport(t, rep, hz)
			if early := logs.FilterMessage(earlyLine).Len() > 0; early != tc.wantEarly {
				t.Errorf("early deletes %v, want %v", early, tc.wantEarly)
			}
			if diff := cmp.Diff(tasks, q.tasks()); diff != "" {
				t.Errorf("delete tasks (-sequential +got):\n%s", diff)
			}
			if diff := cmp.Diff(sends, q.batches()); diff != "" {
				t.Errorf("send batches (-sequential +got):\n%s", diff)
			}
			if diff := cmp.Diff(planned.Decisions, applied.Decisions); diff != "" {
				t.Errorf("decisions (-plan +apply):\n%s", diff)
			}
			want := planned.Summary
			want.Marked, want.Unmarked, want.DeleteTasksEnqueued = want.ToMark, want.ToUnmark, want.ToDelete
			if diff := cmp.Diff(want, applied.Summary); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
			if applied.Blocked != planned.Blocked || applied.PlanID != planned.PlanID {
				t.Errorf("blocked %q plan %q, want %q %q", applied.Blocked, applied.PlanID, planned.Blocked, planned.PlanID)
			}
		})
	}
}

// TestRun_EarlyDeletesStartBeforeTheLastReferenceRead proves the
// pipelining: the last reference read waits until the queue has received
// delete tasks, which only a run that queues them while it reads can do.
func TestRun_EarlyDeletesStartBeforeTheLastReferenceRead(t *testing.T) {
	const n = 200 // 20 reference reads
	f, candidates := pipeWorld(n, 0, 0, 0)
	last := (len(candidates) + cleanup.ReferenceBatchSize - 1) / cleanup.ReferenceBatchSize
	var refCalls atomic.Int64
	sent := make(chan struct{})
	var once sync.Once
	q := newFakeQueue()
	q.SetInterceptor(func(c fake.QueueCall) fake.QueueFault {
		if c.Op == fake.QueueOpSend {
			once.Do(func() { close(sent) })
		}
		return fake.QueueFault{}
	})
	waited := false
	f.fault = func(method, _ string) error {
		if method != "GroupReferences" {
			return nil
		}
		if refCalls.Add(1) == int64(last) {
			select {
			case <-sent:
			case <-time.After(5 * time.Second):
				waited = true
			}
		}
		return nil
	}
	p := domain.DefaultCleanupPolicy()
	p.MaxDeletions, p.MaxDeletePercent = n, 100
	c := newCleaner(f, q)
	c.ProgressEvery = 50
	rep, logs := runLogged(t, c, cleanup.ModeApply, p)

	if waited {
		t.Fatalf("no delete task was queued before the last of %d reference reads", last)
	}
	if rep.Summary.DeleteTasksEnqueued != n || len(q.tasks()) != n || rep.Summary.Errors != 0 {
		t.Errorf("summary %+v, %d tasks; want %d", rep.Summary, len(q.tasks()), n)
	}
	// Progress lines say how many tasks are queued so far.
	var queued []int64
	for _, e := range logs.FilterMessage("cleanup discovery: references progress").All() {
		v, ok := e.ContextMap()["delete_tasks_queued"].(int64)
		if !ok {
			t.Fatalf("progress line without delete_tasks_queued: %v", e.ContextMap())
		}
		queued = append(queued, v)
	}
	if diff := cmp.Diff([]int64{48, 96, 144, 192}, queued); diff != "" {
		t.Errorf("queued at each progress line (-want +got):\n%s", diff)
	}
}

// TestRun_EarlyDeletesReferenceReadFails: a reference read that fails
// midway leaves the region's tags as they were and queues nothing for the
// groups of the failed batch or after it. Tasks already queued stay: each
// names a group whose every read had succeeded and cleared it (the plan of
// a complete run deletes it too), within a blast radius that holds for any
// subset; the report counts them and says so on their rows.
func TestRun_EarlyDeletesReferenceReadFails(t *testing.T) {
	tests := []struct {
		name      string
		failAt    int // the failing reference read, from 1
		wantTasks int
	}{
		{"first read: nothing queued", 1, 0},
		{"second read: the first batches' short tail is dropped", 2, 0},
		{"fourth read: full batches of the first three stay", 4, 16},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, candidates := pipeWorld(90, 0, 0, 5) // 18 referenced
			p := domain.DefaultCleanupPolicy()
			p.MaxDeletions, p.MaxDeletePercent = 100, 100
			complete := regionReport(t, MustRunPolicy(t, newCleaner(f, newFakeQueue()), cleanup.ModePlan, t0, p), hz)
			deletable := map[string]domain.Task{}
			full, _ := wantTasks(complete)
			for _, tk := range full {
				deletable[tk.GroupID] = tk
			}

			calls := 0
			readErr := domain.Errorf(domain.KindRetryable, "ecs DescribeSecurityGroupReferences", "InternalError", "5xx")
			f.fault = func(method, _ string) error {
				if method == "GroupReferences" {
					if calls++; calls == tc.failAt {
						return readErr
					}
				}
				return nil
			}
			q := newFakeQueue()
			rep, logs := runLogged(t, newCleaner(f, q), cleanup.ModeApply, p)
			rr := regionReport(t, rep, hz)
			// A first read may fail before the listing is complete: then
			// nothing starts early, and nothing is queued either way.
			if tc.wantTasks > 0 && logs.FilterMessage(earlyLine).Len() != 1 {
				t.Fatal("the run did not queue early")
			}
			if !strings.Contains(rr.Blocked, "discovery incomplete") || rr.Summary.Errors != 1 || !strings.Contains(rr.Errors[0], readErr.Error()) {
				t.Errorf("blocked %q errors %q", rr.Blocked, rr.Errors)
			}
			if rr.Summary.Marked+rr.Summary.Unmarked != 0 {
				t.Errorf("tags changed despite the failed read: %+v", rr.Summary)
			}
			firstUnchecked := candidates[(tc.failAt-1)*cleanup.ReferenceBatchSize]
			got := q.tasks()
			if len(got) != tc.wantTasks || rr.Summary.DeleteTasksEnqueued != len(got) {
				t.Errorf("%d tasks queued, %d reported; want %d", len(got), rr.Summary.DeleteTasksEnqueued, tc.wantTasks)
			}
			rows := decisions(t, rep, hz)
			for _, tk := range got {
				if tk.GroupID >= firstUnchecked {
					t.Errorf("%s queued, but its references were not read (first unchecked %s)", tk.GroupID, firstUnchecked)
				}
				if want, ok := deletable[tk.GroupID]; !ok || !cmp.Equal(want, tk) {
					t.Errorf("%s queued as %+v; a complete run queues %+v", tk.GroupID, tk, want)
				}
				if d := rows[tk.GroupID]; d.Action == domain.ActionDelete || !strings.Contains(d.Detail, "queued before the failed read") {
					t.Errorf("%s row %s %q does not say it was queued", tk.GroupID, d.Action, d.Detail)
				}
			}
		})
	}
}

// TestRun_EarlySendFailureIsNotResent: a failed early send is reported on
// its groups like a failed send of the sequential path, and not sent again.
func TestRun_EarlySendFailureIsNotResent(t *testing.T) {
	f, _ := pipeWorld(40, 0, 0, 0)
	q := newFakeQueue()
	sendErr := errors.New("mns: 503")
	q.SetInterceptor(func(c fake.QueueCall) fake.QueueFault {
		if c.Op == fake.QueueOpSend && c.N == 1 {
			return fake.QueueFault{Err: sendErr}
		}
		return fake.QueueFault{}
	})
	p := domain.DefaultCleanupPolicy()
	p.MaxDeletions, p.MaxDeletePercent = 100, 100
	rep, logs := runLogged(t, newCleaner(f, q), cleanup.ModeApply, p)
	rr := regionReport(t, rep, hz)
	if logs.FilterMessage(earlyLine).Len() != 1 {
		t.Fatal("the run did not queue early")
	}
	if rr.Summary.DeleteTasksEnqueued != 24 || len(q.tasks()) != 24 || rr.Summary.Errors != 1 {
		t.Errorf("summary %+v, %d tasks; want 24 queued and one error", rr.Summary, len(q.tasks()))
	}
	failed := 0
	for _, d := range rr.Decisions {
		if d.ApplyError != "" {
			failed++
		}
	}
	if failed != 16 || !strings.Contains(rr.Errors[0], "enqueue delete tasks") {
		t.Errorf("%d rows with an apply error, errors %q; want the 16 of the failed send", failed, rr.Errors)
	}
}
