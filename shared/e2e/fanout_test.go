package e2e_test

import (
	"context"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/testkit/harness"
)

// fanoutRun is what two nights of cleanup did on one cloud.
type fanoutRun struct {
	marks   map[string]string // after night 1: group → stale mark ("" unmarked)
	gone    []string          // after the night past the grace period
	workers int               // queue-worker invocations
	longest time.Duration     // longest queue-worker invocation
	nightly time.Duration     // longest nightly-cleanup invocation
	parts   int               // cleanup-part tasks seen by the worker
	calls   int64             // ECS calls of the whole scenario
}

// waitSettled waits until the worker is done and stays done past the event
// stream's batch window (2 s): a part consumed from the queue but not yet
// pushed leaves the queue empty and the function idle for that long. Done
// means: queue empty, function idle, and no invocation started or ended for
// 5 s (a push starting meanwhile makes WaitIdle wait for its end).
func waitSettled(t *testing.T, c *harness.Cloud) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for ctx.Err() == nil {
		if err := harness.WaitFor(ctx, 200*time.Millisecond, func() (bool, string) {
			return c.QueueDepth("sgpilot-work") == 0, "messages on the work queue"
		}); err != nil {
			t.Fatal(err)
		}
		if err := c.FC.WaitIdle(ctx); err != nil {
			t.Fatal(err)
		}
		seen := len(c.FC.History("queue-worker"))
		time.Sleep(5 * time.Second)
		if err := c.FC.WaitIdle(ctx); err != nil {
			t.Fatal(err)
		}
		if c.QueueDepth("sgpilot-work") == 0 && len(c.FC.History("queue-worker")) == seen {
			return
		}
	}
	t.Fatal("the worker never settled")
}

// runFanoutNights runs night 1 (marks), moves the marks past the grace
// period and runs the next night (deletes), waiting for the worker each
// time.
func runFanoutNights(t *testing.T, groups int, splitOver string) fanoutRun {
	t.Helper()
	scale := harness.CleanupScaleSeed(groups)
	c := startCloud(t, true, &scale.Seed, "SGPILOT_FANOUT_GROUPS", splitOver,
		"SGPILOT_MAX_DELETIONS", "10000", "SGPILOT_MAX_DELETE_PERCENT", "50", "SGPILOT_LOG_LEVEL", "info")
	res := runCleanup(t, c, "apply")
	if res.Summary.Errors != 0 {
		t.Fatalf("night 1: %+v\n%s", res.Summary, res.Table)
	}
	waitSettled(t, c)
	out := fanoutRun{marks: map[string]string{}}
	before := c.GroupTags()
	for id, tags := range before {
		out.marks[id] = tags[domain.DefaultStaleTagKey]
	}
	if _, err := c.BackdateTag(domain.DefaultStaleTagKey, 9); err != nil {
		t.Fatal(err)
	}
	res = runCleanup(t, c, "apply")
	if res.Summary.Errors != 0 {
		t.Fatalf("night 2: %+v\n%s", res.Summary, res.Table)
	}
	waitSettled(t, c)
	after := c.GroupTags()
	for id := range before {
		if _, ok := after[id]; !ok {
			out.gone = append(out.gone, id)
		}
	}
	sort.Strings(out.gone)
	if dl := deadLetterReasons(t, c); len(dl) > 0 {
		t.Errorf("dead letters: %v", dl)
	}
	for _, r := range c.FC.History("queue-worker") {
		out.workers++
		out.longest = max(out.longest, r.End.Sub(r.Start))
		out.parts += strings.Count(string(r.Payload), `\"kind\":\"cleanup-part\"`)
	}
	for _, r := range c.FC.History("nightly-cleanup") {
		out.nightly = max(out.nightly, r.End.Sub(r.Start))
	}
	for _, row := range c.Env.Controls.Counts() {
		if row.Service == "ecs" {
			out.calls += row.Calls
		}
	}
	return out
}

// TestFanout_SameAsOneInvocation: on localcloud with the real binaries, a
// region split into parts on the work queue (a threshold of 70 groups on a
// region of 202: each VPC's groups in ranges) marks and deletes exactly
// what the same region cleaned in one invocation does.
func TestFanout_SameAsOneInvocation(t *testing.T) {
	// One of the long scenarios that mostly wait on queue windows and rate
	// limits: run beside the others (make test sets -parallel).
	t.Parallel()
	if testing.Short() {
		t.Skip("end-to-end")
	}
	awayFromMidnight(t, 5*time.Minute)
	// The worker's parts tag groups: its role's policy must allow it (the
	// suite runs every function under its RAM policy; TestMain checks).
	var whole, split fanoutRun
	// Two clouds side by side: the scenario mostly waits on queue windows.
	t.Run("both", func(t *testing.T) {
		t.Run("one invocation", func(t *testing.T) { t.Parallel(); whole = runFanoutNights(t, 200, "0") })
		t.Run("split", func(t *testing.T) { t.Parallel(); split = runFanoutNights(t, 200, "70") })
	})
	if t.Failed() {
		return
	}
	if diff := cmp.Diff(whole.marks, split.marks); diff != "" {
		t.Errorf("marks differ (-one invocation +split):\n%s", diff)
	}
	if diff := cmp.Diff(whole.gone, split.gone); diff != "" {
		t.Errorf("deleted groups differ (-one invocation +split):\n%s", diff)
	}
	if len(whole.gone) != 60 {
		t.Errorf("%d groups deleted, want the 60 unused", len(whole.gone))
	}
	if split.parts < 4 {
		t.Errorf("%d parts: the region was not split", split.parts)
	}
	t.Logf("one invocation: %d worker invocations (longest %s), %d ECS calls", whole.workers, whole.longest.Round(time.Millisecond), whole.calls)
	t.Logf("split over 70: %d worker invocations (longest %s), %d parts, %d ECS calls", split.workers, split.longest.Round(time.Millisecond), split.parts, split.calls)
}

// TestFanout_Scale measures a larger region, cleaned at once and in parts:
// SGPILOT_FANOUT_SCALE=3000 (groups in scope; the threshold is a fifth).
func TestFanout_Scale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SGPILOT_FANOUT_SCALE"))
	if n <= 0 || testing.Short() {
		t.Skip("set SGPILOT_FANOUT_SCALE to the number of groups")
	}
	awayFromMidnight(t, 15*time.Minute)
	var whole, split fanoutRun
	t.Run("both", func(t *testing.T) {
		t.Run("one invocation", func(t *testing.T) { t.Parallel(); whole = runFanoutNights(t, n, "0") })
		t.Run("split", func(t *testing.T) { t.Parallel(); split = runFanoutNights(t, n, strconv.Itoa(n/5)) })
	})
	if t.Failed() {
		return
	}
	if !cmp.Equal(whole.gone, split.gone) || !cmp.Equal(whole.marks, split.marks) {
		t.Errorf("results differ: %d vs %d deleted", len(whole.gone), len(split.gone))
	}
	for _, r := range []struct {
		name string
		f    fanoutRun
	}{{"one invocation", whole}, {"split", split}} {
		t.Logf("%s: %d deleted; longest nightly %s; %d worker invocations, longest %s; %d parts; %d ECS calls",
			r.name, len(r.f.gone), r.f.nightly.Round(time.Millisecond), r.f.workers, r.f.longest.Round(time.Millisecond), r.f.parts, r.f.calls)
	}
}
