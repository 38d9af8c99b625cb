package cleanup_test

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
	"github.com/sgpilot/sgpilot/shared/usecase/cleanup"
)

const markSeen = "2026-11-10" // the mark the plan saw: past grace at t0

func deleteTask(group string) domain.Task {
	return domain.NewDeleteGroupTask(hz, group, markSeen, "run-1", t0)
}

// staleGroups adds n groups marked past their grace period, named prefix
// and a number of digits digits, and returns a delete task for each.
func staleGroups(f *fakeECS, prefix string, digits, n int) []domain.Task {
	var tasks []domain.Task
	for i := range n {
		id := fmt.Sprintf("%s%0*d", prefix, digits, i)
		f.addGroups(mg(id, stale, markSeen))
		tasks = append(tasks, deleteTask(id))
	}
	return tasks
}

func TestDeleter_Handle(t *testing.T) {
	tests := []struct {
		name        string
		change      func(f *fakeECS) // what happened between the plan and the task
		task        domain.Task
		wantResult  task.Result
		wantReason  task.Reason
		wantDeleted bool
		wantDetail  []string // substrings of the detail
	}{
		{name: "still stale: deleted", wantResult: task.Done, wantReason: task.ReasonDeleted, wantDeleted: true},
		{name: "became protected", change: func(f *fakeECS) { f.setTag(hz, "sg-target001", domain.DefaultProtectTagKey, "") },
			wantResult: task.Done, wantReason: domain.ReasonProtected},
		{name: "mark cleared by onboarding: used again", change: func(f *fakeECS) { f.untag(hz, "sg-target001", stale) },
			wantResult: task.Done, wantReason: domain.ReasonUsedAgain},
		{name: "re-marked later", change: func(f *fakeECS) { f.setTag(hz, "sg-target001", stale, "2026-11-24") },
			wantResult: task.Done, wantReason: domain.ReasonUsedAgain},
		{name: "left the scope", change: func(f *fakeECS) { f.untag(hz, "sg-target001", domain.DefaultManagedTagKey) },
			wantResult: task.Done, wantReason: domain.ReasonOutOfScope},
		{name: "now in a launch template", change: func(f *fakeECS) { f.addToTemplate(hz, "sg-target001", "lt-new0000001") },
			wantResult: task.Done, wantReason: domain.ReasonUsedAgain, wantDetail: []string{"lt-new0000001"}},
		{name: "instance joined: DependencyViolation explained, kept",
			change:     func(f *fakeECS) { f.addInstance(hz, "i-joined000001", "sg-target001") },
			wantResult: task.Done, wantReason: domain.ReasonInUse,
			wantDetail: []string{"DependencyViolation", "There is still instance(s)", "1 instances (i-joined000001)"}},
		{name: "ENI joined: explained, kept",
			change:     func(f *fakeECS) { f.addENI(hz, "eni-joined000001", "sg-target001") },
			wantResult: task.Done, wantReason: domain.ReasonInUse, wantDetail: []string{"1 ENIs (eni-joined000001)"}},
		{name: "referenced since: explained, kept",
			change:     func(f *fakeECS) { f.addReference(hz, "sg-target001", "sg-target001", "sg-friend001") },
			wantResult: task.Done, wantReason: domain.ReasonInUse,
			wantDetail: []string{"authorized in another one", "1 referencing groups (sg-friend001)"}},
		{name: "already gone", change: func(f *fakeECS) { f.removeGroup(hz, "sg-target001") },
			wantResult: task.Done, wantReason: task.ReasonAlreadyGone},
		{name: "gone between re-check and delete", change: func(f *fakeECS) {
			f.fault = func(method, _ string) error {
				if method == "DeleteGroup" {
					return domain.Errorf(domain.KindNotFound, "ecs DeleteSecurityGroup", "InvalidSecurityGroup.NotFound", "gone")
				}
				return nil
			}
		}, wantResult: task.Done, wantReason: task.ReasonAlreadyGone},
		{name: "ECS deletion protection", change: func(f *fakeECS) { f.SetDeletionProtection("sg-target001", true) },
			wantResult: task.Done, wantReason: domain.ReasonProtected, wantDetail: []string{"InvalidOperation.DeletionProtection"}},
		{name: "throttled after retries", change: faultOn("DeleteGroup", domain.KindThrottled, "Throttling.User"),
			wantResult: task.Retry, wantReason: task.ReasonThrottled},
		{name: "server error after retries", change: faultOn("DeleteGroup", domain.KindRetryable, "InternalError"),
			wantResult: task.Retry, wantReason: task.ReasonTransient},
		{name: "permission denied", change: faultOn("DeleteGroup", domain.KindPermanent, "Forbidden.RAM"),
			wantResult: task.DeadLetter, wantReason: task.ReasonDeleteFailed, wantDetail: []string{"Forbidden.RAM", "permanent"}},
		{name: "re-check throttled", change: faultOn("DescribeGroups", domain.KindThrottled, "Throttling.User"),
			wantResult: task.Retry, wantReason: task.ReasonThrottled},
		{name: "templates unreadable", change: faultOn("TemplateGroups", domain.KindPermanent, "Forbidden.RAM"),
			wantResult: task.DeadLetter, wantReason: task.ReasonRecheckFailed},
		{name: "invalid task", task: domain.Task{Version: 1, Kind: domain.TaskDeleteGroup, ID: "x", RegionID: hz, GroupID: "not-a-group"},
			wantResult: task.DeadLetter, wantReason: task.ReasonInvalidTask},
		{name: "onboard task", task: domain.NewOnboardTask(hz, "i-abcdefgh0001", "ev", t0),
			wantResult: task.DeadLetter, wantReason: task.ReasonUnsupportedKind},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeECS()
			f.addGroups(mg("sg-target001", stale, markSeen))
			if tc.change != nil {
				tc.change(f)
			}
			tk := tc.task
			if tk.ID == "" {
				tk = deleteTask("sg-target001")
			}
			out := task.RunAll(context.Background(), newDeleter(f).Handle(context.Background(), []domain.Task{tk}))
			if len(out) != 1 {
				t.Fatalf("%d outcomes", len(out))
			}
			o := out[0]
			if o.TaskID != tk.ID || o.Result != tc.wantResult || o.Reason != tc.wantReason {
				t.Errorf("outcome %s %s/%s (%s), want %s/%s", o.TaskID, o.Result, o.Reason, o.Detail, tc.wantResult, tc.wantReason)
			}
			for _, s := range tc.wantDetail {
				if !strings.Contains(o.Detail, s) {
					t.Errorf("detail %q lacks %q", o.Detail, s)
				}
			}
			if o.Result == task.Retry && o.RetryAfter <= 0 {
				t.Errorf("retry without a wait")
			}
			if deleted := len(f.deleted) == 1; deleted != tc.wantDeleted {
				t.Errorf("deleted = %v, want %v", deleted, tc.wantDeleted)
			}
		})
	}
}

func faultOn(method string, kind domain.Kind, code string) func(*fakeECS) {
	return func(f *fakeECS) {
		f.fault = func(m, _ string) error {
			if m == method {
				return domain.Errorf(kind, "ecs "+method, code, "injected")
			}
			return nil
		}
	}
}

func TestDeleter_OneFailureDoesNotStopOthers(t *testing.T) {
	f := newFakeECS()
	tasks := staleGroups(f, "sg-many", 5, 5)
	f.addInstance(hz, "i-inuse0000001", "sg-many00001")
	calls := 0
	f.fault = func(method, _ string) error {
		if method == "DeleteGroup" {
			calls++
			// Calls in order: group 0, group 1 (in use, not retried), group 2, group 3.
			if calls == 4 {
				return domain.Errorf(domain.KindPermanent, "ecs DeleteSecurityGroup", "Forbidden.RAM", "denied")
			}
		}
		return nil
	}
	d := newDeleter(f)
	d.Concurrency = 1 // the fault counts calls in order
	out := task.RunAll(context.Background(), d.Handle(context.Background(), tasks))
	got := map[string]string{}
	for _, o := range out {
		got[o.TaskID] = o.Result.String() + "/" + string(o.Reason)
	}
	want := map[string]string{
		tasks[0].ID: "done/deleted",
		tasks[1].ID: "done/in-use",
		tasks[2].ID: "done/deleted",
		tasks[3].ID: "dead-letter/delete-failed",
		tasks[4].ID: "done/deleted",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
}

func TestDeleter_BatchesReads(t *testing.T) {
	f := newFakeECS()
	tasks := staleGroups(f, "sg-batch", 5, 250)
	for i := range 3 {
		f.addGroups(groupIn(bj, fmt.Sprintf("sg-bjgrp%05d", i), stale, markSeen))
		tasks = append(tasks, domain.NewDeleteGroupTask(bj, fmt.Sprintf("sg-bjgrp%05d", i), markSeen, "run-1", t0))
	}
	// The same group asked twice (two runs): one delete, two outcomes.
	dup := domain.NewDeleteGroupTask(hz, "sg-batch00000", markSeen, "run-0", t0)
	tasks = append(tasks, dup)

	out := task.RunAll(context.Background(), newDeleter(f).Handle(context.Background(), tasks))
	if len(out) != len(tasks) {
		t.Fatalf("%d outcomes for %d tasks", len(out), len(tasks))
	}
	byID := map[string]task.Outcome{}
	for _, o := range out {
		byID[o.TaskID] = o
	}
	for _, tk := range tasks {
		if o := byID[tk.ID]; o.Result != task.Done || o.Reason != task.ReasonDeleted {
			t.Errorf("task %s: %s/%s %s", tk.ID, o.Result, o.Reason, o.Detail)
		}
	}
	if diff := cmp.Diff([]int{100, 100, 50, 3}, f.batches["DescribeGroups"]); diff != "" {
		t.Errorf("DescribeGroups batches (-want +got):\n%s", diff)
	}
	want := map[string]int{"DescribeGroups": 4, "TemplateGroups": 2, "DeleteGroup": 253}
	if diff := cmp.Diff(want, f.apiCalls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestDeleter_InUseExplanationsBatched(t *testing.T) {
	f := newFakeECS()
	var tasks []domain.Task
	for i := range 12 {
		id := fmt.Sprintf("sg-refd%05d", i)
		f.addGroups(mg(id, stale, markSeen))
		f.addReference(hz, id, "sg-friend001")
		tasks = append(tasks, deleteTask(id))
	}
	d := newDeleter(f)
	d.Interfaces = nil
	for _, o := range task.RunAll(context.Background(), d.Handle(context.Background(), tasks)) {
		if o.Reason != domain.ReasonInUse || !strings.Contains(o.Detail, "sg-friend001") {
			t.Errorf("%s: %s %s", o.TaskID, o.Reason, o.Detail)
		}
	}
	if diff := cmp.Diff([]int{10, 2}, f.batches["GroupReferences"]); diff != "" {
		t.Errorf("reference batches (-want +got):\n%s", diff)
	}
	if n := f.apiCalls["ListNetworkInterfaces"]; n != 0 {
		t.Errorf("%d ENI listings without an ENI lister", n)
	}
}

// TestDeleter_RecheckCache: with a RecheckCache the region-wide re-check reads serve
// later calls until they are that old; the group itself is read each time,
// and a template read after the reuse ended is seen.
func TestDeleter_RecheckCache(t *testing.T) {
	f := newFakeECS()
	for i := range 4 {
		f.addGroups(mg(fmt.Sprintf("sg-ttl%07d", i), stale, markSeen))
	}
	now := t0
	d := newDeleter(f)
	d.Now = func() time.Time { return now }
	d.Reuse = &cleanup.RecheckCache{TTL: time.Minute}
	run := func(group string) task.Outcome {
		t.Helper()
		out := task.RunAll(context.Background(), d.Handle(context.Background(), []domain.Task{deleteTask(group)}))
		if len(out) != 1 {
			t.Fatalf("%d outcomes", len(out))
		}
		return out[0]
	}
	if o := run("sg-ttl0000000"); o.Reason != task.ReasonDeleted {
		t.Fatalf("first: %s %s", o.Reason, o.Detail)
	}
	now = now.Add(30 * time.Second)
	if o := run("sg-ttl0000001"); o.Reason != task.ReasonDeleted {
		t.Fatalf("second: %s %s", o.Reason, o.Detail)
	}
	if got := f.apiCalls["TemplateGroups"]; got != 1 {
		t.Errorf("templates read %d times within the TTL, want 1", got)
	}
	if got := f.apiCalls["DescribeGroups"]; got != 2 {
		t.Errorf("groups read %d times, want one per call", got)
	}
	// A template naming a group, seen once the reuse has expired.
	f.addToTemplate(hz, "sg-ttl0000002", "lt-late0000001")
	now = now.Add(31 * time.Second)
	if o := run("sg-ttl0000002"); o.Reason != domain.ReasonUsedAgain {
		t.Errorf("after the TTL: %s %s, want the new template to keep the group", o.Reason, o.Detail)
	}
	if got := f.apiCalls["TemplateGroups"]; got != 2 {
		t.Errorf("templates read %d times, want 2", got)
	}
	// A failed read is not kept: the next call reads again.
	f.fault = func(m, _ string) error {
		if m == "TemplateGroups" {
			return domain.Errorf(domain.KindThrottled, "ecs TemplateGroups", "Throttling.User", "injected")
		}
		return nil
	}
	now = now.Add(2 * time.Minute)
	if o := run("sg-ttl0000003"); o.Result != task.Retry {
		t.Errorf("failed re-check: %s/%s", o.Result, o.Reason)
	}
	f.fault = nil
	if o := run("sg-ttl0000003"); o.Reason != task.ReasonDeleted {
		t.Errorf("after the failure: %s %s", o.Reason, o.Detail)
	}
}

// TestDeleter_DeletesSideBySide: the deletions of a batch overlap, at most
// Concurrency at a time, and each still gets its own outcome.
func TestDeleter_DeletesSideBySide(t *testing.T) {
	f := newFakeECS()
	tasks := staleGroups(f, "sg-side", 6, 40)
	d := newDeleter(f)
	d.Concurrency = 4
	slow := &overlapCounter{next: f}
	d.Deletes = slow
	out := task.RunAll(context.Background(), d.Handle(context.Background(), tasks))
	if len(out) != len(tasks) {
		t.Fatalf("%d outcomes for %d tasks", len(out), len(tasks))
	}
	for _, o := range out {
		if o.Reason != task.ReasonDeleted {
			t.Errorf("%s: %s %s", o.TaskID, o.Reason, o.Detail)
		}
	}
	if slow.most < 2 || slow.most > 4 {
		t.Errorf("at most %d deletions at once, want 2 to 4", slow.most)
	}
}

// overlapCounter is a GroupDeleter that takes a little time per call and
// records how many calls overlapped at most.
type overlapCounter struct {
	next           cleanup.GroupDeleter
	mu             sync.Mutex
	inFlight, most int
}

func (o *overlapCounter) DeleteGroup(ctx context.Context, region, id string) error {
	o.mu.Lock()
	o.inFlight++
	o.most = max(o.most, o.inFlight)
	o.mu.Unlock()
	time.Sleep(5 * time.Millisecond)
	o.mu.Lock()
	o.inFlight--
	o.mu.Unlock()
	return o.next.DeleteGroup(ctx, region, id)
}
