package intake_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/task"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
	"github.com/sgpilot/sgpilot/shared/usecase/intake"
)

// pageSender keeps the tasks sent, by kind.
type pageSender struct{ onboard, pages []domain.Task }

func (s *pageSender) SendTasks(_ context.Context, ts []domain.Task) error {
	for _, t := range ts {
		if t.Kind == domain.TaskReconcilePage {
			s.pages = append(s.pages, t)
		} else {
			s.onboard = append(s.onboard, t)
		}
	}
	return nil
}

// bigFleet is the fleet plus n instances of web in vpc1, every third one
// already complete.
func bigFleet(n int) *fake.ECS {
	cloud := fleet()
	for i := 0; i < n; i++ {
		in := instance(fmt.Sprintf("i-bulk%06d", i), vpc1, "web", domain.StatusRunning, "sg-default1")
		if i%3 == 0 {
			in.GroupIDs = []string{"sg-web00001"}
		}
		cloud.AddInstance(in)
	}
	return cloud
}

func taskIDs(ts []domain.Task) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.ID)
	}
	sort.Strings(out)
	return out
}

// drainPages runs the queued reconcile-page tasks with the worker's
// handler until none is left, and returns how many parts ran.
func drainPages(t *testing.T, r *intake.Reconciler, q *pageSender) int {
	t.Helper()
	runner := &intake.PageRunner{Reconciler: r}
	parts := 0
	for len(q.pages) > 0 {
		batch := q.pages
		q.pages = nil
		for _, o := range task.RunAll(context.Background(), runner.Handle(context.Background(), batch)) {
			if o.Result != task.Done {
				t.Fatalf("part %s: %+v", o.TaskID, o)
			}
			parts++
		}
		if parts > 100 {
			t.Fatal("the parts never end")
		}
	}
	return parts
}

// A backfill split by pages queues exactly the onboarding tasks of the
// backfill in one invocation, whatever the page size and threshold; a
// region under the threshold is one part.
func TestReconcilePages_EqualsUnsplit(t *testing.T) {
	ctx := context.Background()
	cloud := bigFleet(40)
	whole := &pageSender{}
	base := intake.Reconciler{Instances: cloud, Groups: cloud, Now: fixedNow}
	r := base
	r.Sender = whole
	want, err := r.Run(ctx, region)
	if err != nil {
		t.Fatal(err)
	}
	if len(whole.onboard) < 20 {
		t.Fatalf("the unsplit backfill queued %d tasks; the fleet should need more", len(whole.onboard))
	}
	for _, tc := range []struct {
		name            string
		pageSize, split int
		parts           int // reconcile-page tasks run by the worker
	}{
		{"pages of 4, parts of 8", 4, 8, 5},
		{"pages of 7, parts of 1", 7, 1, 47}, // pages of 1: the threshold caps the page
		{"one page of the whole region", 100, 48, 0},
		{"under the threshold", 10, 1000, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := &pageSender{}
			r := base
			r.Sender, r.Pages, r.PageSize, r.SplitOver = q, cloud, tc.pageSize, tc.split
			first, err := r.Run(ctx, region)
			if err != nil {
				t.Fatal(err)
			}
			if (first.ContinuedAs != "") != (tc.parts > 0) {
				t.Fatalf("first part continued as %q; want %d parts after it", first.ContinuedAs, tc.parts)
			}
			if parts := drainPages(t, &r, q); parts != tc.parts {
				t.Errorf("%d parts after the first, want %d", parts, tc.parts)
			}
			if diff := cmp.Diff(taskIDs(whole.onboard), taskIDs(q.onboard)); diff != "" {
				t.Errorf("onboard tasks differ (-unsplit +split):\n%s", diff)
			}
		})
	}
	if want.Instances != 48 {
		t.Errorf("unsplit backfill saw %d instances, want 48", want.Instances)
	}
}

// A part near its deadline hands its token over after one page, and the
// next part resumes exactly there: no instance twice, none left out.
func TestReconcilePages_DeadlineHandsOver(t *testing.T) {
	cloud := bigFleet(10)
	q := &pageSender{}
	r := intake.Reconciler{Groups: cloud, Pages: cloud, Sender: q, PageSize: 5, SplitOver: 1000,
		Margin: time.Hour, Now: fixedNow}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute) // less than the margin
	defer cancel()
	first, err := r.Run(ctx, region)
	if err != nil {
		t.Fatal(err)
	}
	if first.Instances != 5 || first.ContinuedAs == "" || len(q.pages) != 1 {
		t.Fatalf("first part: %d instances, continued as %q, %d page tasks; want 5 and a hand-over", first.Instances, first.ContinuedAs, len(q.pages))
	}
	if tok := q.pages[0].Reconcile.Token; tok == "" || q.pages[0].Reconcile.Parts != 1 {
		t.Fatalf("hand-over task %+v", q.pages[0].Reconcile)
	}
	seen := map[string]int{}
	for _, tk := range q.onboard {
		seen[tk.InstanceID]++
	}
	// The worker's parts have no deadline here: the rest in one part.
	if parts := drainPages(t, &r, q); parts != 1 {
		t.Errorf("%d parts after the first, want 1", parts)
	}
	for _, tk := range q.onboard {
		seen[tk.InstanceID]++
	}
	all := &pageSender{}
	whole := intake.Reconciler{Instances: cloud, Groups: cloud, Sender: all, Now: fixedNow}
	if _, err := whole.Run(context.Background(), region); err != nil {
		t.Fatal(err)
	}
	for _, tk := range all.onboard {
		if seen[tk.InstanceID] == 0 {
			t.Errorf("%s left out by the split", tk.InstanceID)
		}
	}
}

// A part whose page read fails is retried from its own token; an invalid
// part is dead-lettered.
func TestPageRunner_Outcomes(t *testing.T) {
	cloud := bigFleet(3)
	r := &intake.Reconciler{Groups: cloud, Pages: cloud, Sender: &pageSender{}, PageSize: 2, SplitOver: 2,
		Now: fixedNow}
	good := domain.NewReconcilePageTask(region, "fake-after:i-bulk000000", "run", 1, fixedNow())
	bad := good
	bad.ID, bad.Reconcile = "bad", &domain.ReconcilePage{}
	cloud.FailNext("ListInstancesPage", domain.Errorf(domain.KindThrottled, "list", "", "throttled"))
	got := map[string]task.Outcome{}
	runner := &intake.PageRunner{Reconciler: r, RetryAfter: time.Minute}
	for _, o := range task.RunAll(context.Background(), runner.Handle(context.Background(), []domain.Task{good, bad})) {
		got[o.TaskID] = o
	}
	for _, tc := range []struct {
		id     string
		result task.Result
		reason task.Reason
	}{
		{good.ID, task.Retry, task.ReasonThrottled},
		{"bad", task.DeadLetter, task.ReasonInvalidTask},
	} {
		t.Run(tc.id, func(t *testing.T) {
			if o := got[tc.id]; o.Result != tc.result || o.Reason != tc.reason {
				t.Fatalf("outcome %+v, want %v %s", o, tc.result, tc.reason)
			}
		})
	}
}
