package cleanup_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
	"github.com/sgpilot/sgpilot/shared/usecase/cleanup"
)

const earlyTagsLine = "cleanup: writing stale marks while references are read"

// tagWorld is one region of n managed groups sg-tags%05d, all unused and
// unmarked (to mark), except: each markedEvery-th is marked recently (in
// grace), each usedEvery-th of those has an instance (to unmark at once),
// and each refEvery-th is referenced by an out-of-scope peer (kept, or
// unmarked once its references are read).
func tagWorld(n, markedEvery, usedEvery, refEvery int) *fakeECS {
	f := newFakeECS()
	id := func(i int) string { return fmt.Sprintf("sg-tags%05d", i) }
	for i := range n {
		g := mg(id(i))
		if markedEvery > 0 && i%markedEvery == 0 {
			g.Tags[stale] = "2026-11-22"
		}
		f.addGroups(g)
	}
	for i := range n {
		switch {
		case usedEvery > 0 && i%usedEvery == 0:
			f.addInstance(hz, fmt.Sprintf("i-tags%08d", i), id(i))
		case refEvery > 0 && i%refEvery == 1:
			f.addReference(hz, id(i), fmt.Sprintf("sg-peer%05d", i))
		}
	}
	return f
}

// staleMarks is every group's stale mark ("" when unmarked).
func staleMarks(f *fakeECS) map[string]string {
	out := map[string]string{}
	for _, id := range f.groupIDs(hz) {
		out[id] = f.tags(hz, id)[stale]
	}
	return out
}

// wantMarks is what a plan's marks and unmarks leave: before, changed.
func wantMarks(before map[string]string, rr cleanup.RegionReport) map[string]string {
	out := map[string]string{}
	for id, v := range before {
		out[id] = v
	}
	for _, d := range rr.Decisions {
		switch d.Action {
		case domain.ActionMark:
			out[d.GroupID] = d.StaleSince
		case domain.ActionUnmark:
			out[d.GroupID] = ""
		}
	}
	return out
}

// TestRun_EarlyTagsSameAsSequential: whether the marks and unmarks are
// written while the references are read or after the plan, an apply run
// changes exactly the tags its plan says, and reports them the same way.
func TestRun_EarlyTagsSameAsSequential(t *testing.T) {
	tests := []struct {
		name                     string
		n, marked, used, ref     int
		approve                  string // "": none; "plan": the plan's ID; "other": an older plan's
		maxDeletions             int
		wantEarly                bool
		wantMarked, wantUnmarked int
	}{
		{name: "marks only", n: 230, maxDeletions: 10, wantEarly: true, wantMarked: 230},
		{name: "marks and unmarks", n: 230, marked: 3, used: 6, ref: 7, maxDeletions: 10, wantEarly: true, wantMarked: 131, wantUnmarked: 45},
		{name: "one short batch of each", n: 12, marked: 3, used: 6, ref: 5, maxDeletions: 10, wantEarly: true, wantMarked: 6, wantUnmarked: 2},
		// The blast radius withholds deletions only: marks still go early.
		{name: "over the blast radius", n: 230, marked: 3, used: 6, ref: 7, maxDeletions: 1, wantEarly: true, wantMarked: 131, wantUnmarked: 45},
		// An approval names an exact plan: only the final plan knows
		// whether it matches, and a refused one withholds every change.
		{name: "approval of this plan", n: 230, marked: 3, used: 6, ref: 7, maxDeletions: 1, approve: "plan", wantMarked: 131, wantUnmarked: 45},
		{name: "approval of another plan", n: 230, marked: 3, used: 6, ref: 7, maxDeletions: 1, approve: "other"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := tagWorld(tc.n, tc.marked, tc.used, tc.ref)
			f.addGroups(mg("sg-old000001", stale, "2026-10-01"), mg("sg-old000002", stale, "2026-10-01"))
			p := domain.DefaultCleanupPolicy()
			p.MaxDeletions, p.MaxDeletePercent = tc.maxDeletions, 100
			if tc.approve != "" {
				p.ApprovedPlanID = regionReport(t, MustRunPolicy(t, newCleaner(f, newFakeQueue()), cleanup.ModePlan, t0, p), hz).PlanID
				if tc.approve == "other" {
					f.setTag(hz, "sg-tags00002", stale, "2026-10-01") // one deletion more: a new plan
				}
			}
			before := staleMarks(f)
			planned := regionReport(t, MustRunPolicy(t, newCleaner(f, newFakeQueue()), cleanup.ModePlan, t0, p), hz)
			if planned.Summary.ToMark != tc.wantMarked || planned.Summary.ToUnmark != tc.wantUnmarked {
				t.Fatalf("plan marks %d, unmarks %d; want %d, %d", planned.Summary.ToMark, planned.Summary.ToUnmark, tc.wantMarked, tc.wantUnmarked)
			}

			rep, logs := runLogged(t, newCleaner(f, newFakeQueue()), cleanup.ModeApply, p)
			rr := regionReport(t, rep, hz)
			if early := logs.FilterMessage(earlyTagsLine).Len() == 1; early != tc.wantEarly {
				t.Errorf("early tags %v, want %v", early, tc.wantEarly)
			}
			if diff := cmp.Diff(wantMarks(before, planned), staleMarks(f)); diff != "" {
				t.Errorf("stale marks after the run (-plan +got):\n%s", diff)
			}
			if rr.Summary.Marked != tc.wantMarked || rr.Summary.Unmarked != tc.wantUnmarked || rr.Summary.Errors != 0 {
				t.Errorf("summary %+v; want %d marked, %d unmarked, no error", rr.Summary, tc.wantMarked, tc.wantUnmarked)
			}
			if diff := cmp.Diff(planned.Decisions, rr.Decisions); diff != "" {
				t.Errorf("decisions differ from the plan's (-plan +apply):\n%s", diff)
			}
			// Every write is a full batch but the last of its kind.
			for _, m := range []string{"TagGroups", "UntagGroups"} {
				sizes := f.batches[m]
				for i, n := range sizes {
					if n > cleanup.TagBatchSize || (n < cleanup.TagBatchSize && i != len(sizes)-1) {
						t.Errorf("%s batches %v: want full batches of %d and one short last", m, sizes, cleanup.TagBatchSize)
						break
					}
				}
			}
		})
	}
}

// TestRun_EarlyTagsBeforeTheLastReferenceRead proves the pipelining: the
// last reference read waits until a mark has been written.
func TestRun_EarlyTagsBeforeTheLastReferenceRead(t *testing.T) {
	const n = 200 // 20 reference reads, 4 mark writes
	f := tagWorld(n, 0, 0, 0)
	wrote := make(chan struct{})
	refs, waited := 0, false
	f.fault = func(method, _ string) error {
		if method == "GroupReferences" {
			if refs++; refs == n/cleanup.ReferenceBatchSize {
				select {
				case <-wrote:
				case <-time.After(5 * time.Second):
					waited = true
				}
			}
		}
		return nil
	}
	c := newCleaner(f, newFakeQueue())
	// Told before the fake's own bookkeeping, which the waiting read holds.
	c.Tagger = &tellingTagger{Tagger: f, wrote: wrote}
	rep, _ := runLogged(t, c, cleanup.ModeApply, domain.DefaultCleanupPolicy())
	if waited {
		t.Fatal("no mark was written before the last reference read")
	}
	if rr := regionReport(t, rep, hz); rr.Summary.Marked != n || rr.Summary.Errors != 0 {
		t.Errorf("summary %+v, want %d marked", rr.Summary, n)
	}
}

// TestRun_EarlyTagsReferenceReadFails: a reference read that fails midway
// leaves the groups of its batch and after it as they were. The tags
// already written stay (each group's reads had all succeeded), as the
// delete tasks queued early do; the report counts them and says so on their
// rows, and the plan withholds everything else.
func TestRun_EarlyTagsReferenceReadFails(t *testing.T) {
	tests := []struct {
		name       string
		failAt     int // the failing reference read, from 1
		wantMarked int
	}{
		{"first read: nothing written", 1, 0},
		{"fifth read: the first 40 marks wait for a full batch, and are dropped", 5, 0},
		{"seventh read: one full batch of 50 stays", 7, 50},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := tagWorld(200, 0, 0, 0)
			before := staleMarks(f)
			readErr := domain.Errorf(domain.KindRetryable, "ecs DescribeSecurityGroupReferences", "InternalError", "5xx")
			calls := 0
			f.fault = func(method, _ string) error {
				if method == "GroupReferences" {
					if calls++; calls == tc.failAt {
						return readErr
					}
				}
				return nil
			}
			rep, _ := runLogged(t, newCleaner(f, newFakeQueue()), cleanup.ModeApply, domain.DefaultCleanupPolicy())
			rr := regionReport(t, rep, hz)
			if !strings.Contains(rr.Blocked, "discovery incomplete") || rr.Summary.Errors != 1 {
				t.Errorf("blocked %q errors %q", rr.Blocked, rr.Errors)
			}
			if rr.Summary.Marked != tc.wantMarked {
				t.Errorf("%d marked, want %d", rr.Summary.Marked, tc.wantMarked)
			}
			firstUnread := fmt.Sprintf("sg-tags%05d", (tc.failAt-1)*cleanup.ReferenceBatchSize)
			rows := decisions(t, rep, hz)
			changed := 0
			for id, v := range staleMarks(f) {
				if v == before[id] {
					continue
				}
				changed++
				if id >= firstUnread {
					t.Errorf("%s marked, but its references were not read (first unread %s)", id, firstUnread)
				}
				if d := rows[id]; d.Action == domain.ActionMark || d.StaleSince != v || !strings.Contains(d.Detail, "changed before the failed read") {
					t.Errorf("%s row %s since %q %q does not say it was marked %s", id, d.Action, d.StaleSince, d.Detail, v)
				}
			}
			if changed != tc.wantMarked {
				t.Errorf("%d groups marked, want %d", changed, tc.wantMarked)
			}
		})
	}
}

// TestRun_EarlyTagWriteFailureIsNotRetried: a failed early write is
// reported on its groups like a failed write after the plan, and not made
// again.
func TestRun_EarlyTagWriteFailureIsNotRetried(t *testing.T) {
	f := tagWorld(120, 0, 0, 0)
	writes := 0
	f.fault = func(method, _ string) error {
		if method == "TagGroups" {
			if writes++; writes == 1 {
				return errors.New("ecs: 503")
			}
		}
		return nil
	}
	rep, _ := runLogged(t, newCleaner(f, newFakeQueue()), cleanup.ModeApply, domain.DefaultCleanupPolicy())
	rr := regionReport(t, rep, hz)
	if rr.Summary.Marked != 70 || rr.Summary.Errors != 1 || writes != 3 {
		t.Errorf("summary %+v after %d writes; want 70 marked, one error, 3 writes", rr.Summary, writes)
	}
	failed := 0
	for _, d := range rr.Decisions {
		if d.ApplyError != "" {
			failed++
		}
	}
	if failed != 50 || !strings.HasPrefix(rr.Errors[0], "mark "+stale+"=2026-11-25 on sg-tags00000,") {
		t.Errorf("%d rows with an apply error, errors %q; want the 50 of the failed write", failed, rr.Errors)
	}
}

// TestRun_ReferencesReadWhileListing: the references of the first pages
// are read before the listing ends, and nothing is written before it ends
// (the plan's limits need the whole region).
func TestRun_ReferencesReadWhileListing(t *testing.T) {
	f, _ := pipeWorld(350, 4, 9, 5) // 4 pages
	p := domain.DefaultCleanupPolicy()
	p.MaxDeletions, p.MaxDeletePercent = 1000, 100
	planned := regionReport(t, MustRunPolicy(t, newCleaner(f, newFakeQueue()), cleanup.ModePlan, t0, p), hz)
	wantTasks, _ := wantTasks(planned)
	planRefs := f.apiCalls["GroupReferences"]
	f.resetCounts()

	q := newFakeQueue()
	var (
		mu                 sync.Mutex
		refs, writesBefore int
		listing            = true
		refRead            = make(chan struct{})
		once               sync.Once
		waited             bool
	)
	q.SetInterceptor(func(c fake.QueueCall) fake.QueueFault {
		mu.Lock()
		defer mu.Unlock()
		if c.Op == fake.QueueOpSend && listing {
			writesBefore++
		}
		return fake.QueueFault{}
	})
	f.fault = func(method, _ string) error {
		mu.Lock()
		defer mu.Unlock()
		switch method {
		case "GroupReferences":
			refs++
			once.Do(func() { close(refRead) })
		case "TagGroups", "UntagGroups":
			if listing {
				writesBefore++
			}
		}
		return nil
	}
	f.pageHook = func(page int) error {
		if page == 4 {
			select { // hold the last page until a reference was read
			case <-refRead:
			case <-time.After(5 * time.Second):
				waited = true
			}
			mu.Lock()
			listing = false // nothing may be written before this page is handed over
			mu.Unlock()
		}
		return nil
	}
	c := cleanup.NewCleaner(f, q) // not inOrder: the references must go before the listing ends
	rep, err := c.Run(context.Background(), cleanup.Options{Regions: []string{hz}, Policy: p, Mode: cleanup.ModeApply, Now: t0, RunID: "run-1"})
	if err != nil {
		t.Fatal(err)
	}
	if waited {
		t.Fatal("no reference was read before the listing ended")
	}
	if writesBefore != 0 {
		t.Errorf("%d writes before the listing ended", writesBefore)
	}
	rr := regionReport(t, rep, hz)
	if diff := cmp.Diff(planned.Decisions, rr.Decisions); diff != "" {
		t.Errorf("decisions differ from the plan's (-plan +apply):\n%s", diff)
	}
	if diff := cmp.Diff(wantTasks, q.tasks()); diff != "" {
		t.Errorf("delete tasks (-plan +apply):\n%s", diff)
	}
	if got := f.apiCalls["GroupReferences"]; got != planRefs {
		t.Errorf("%d reference calls, the plan-mode run made %d", got, planRefs)
	}
}

// tellingTagger closes wrote at its first mark.
type tellingTagger struct {
	cleanup.Tagger
	wrote chan struct{}
	once  sync.Once
}

func (t *tellingTagger) TagGroups(ctx context.Context, region string, ids []string, tags domain.Tags) error {
	t.once.Do(func() { close(t.wrote) })
	return t.Tagger.TagGroups(ctx, region, ids, tags)
}

// TestRun_ReferencesReadWhileTemplatesAreRead: the references do not wait
// for the launch template read. What they read of the groups a template
// names is dropped when the templates come in (the run reports those
// groups exactly as a run that read the templates first), and costs at
// most the calls of those groups.
func TestRun_ReferencesReadWhileTemplatesAreRead(t *testing.T) {
	world := func() *fakeECS {
		f := tagWorld(200, 5, 10, 7)
		for i := range 20 { // the first two batches' worth, three of them referenced
			f.addToTemplate(hz, fmt.Sprintf("sg-tags%05d", i), "lt-tags0000001")
		}
		return f
	}
	p := domain.DefaultCleanupPolicy()
	a, b := world(), world()
	planned := regionReport(t, MustRunPolicy(t, newCleaner(a, newFakeQueue()), cleanup.ModeApply, t0, p), hz)
	wantRefs := a.apiCalls["GroupReferences"]

	release := make(chan struct{})
	c := cleanup.NewCleaner(b, newFakeQueue())
	c.Templates = &heldTemplates{TemplateReader: b, release: release}
	c.References = &countedReferences{ReferenceReader: b, at: 3, reached: release}
	rep, _ := runLogged(t, c, cleanup.ModeApply, p)
	rr := regionReport(t, rep, hz)
	if diff := cmp.Diff(planned.Decisions, rr.Decisions); diff != "" {
		t.Errorf("decisions (-templates first +references meanwhile):\n%s", diff)
	}
	if diff := cmp.Diff(staleMarks(a), staleMarks(b)); diff != "" {
		t.Errorf("stale marks (-templates first +references meanwhile):\n%s", diff)
	}
	if got := b.apiCalls["GroupReferences"]; got < wantRefs || got > wantRefs+2 {
		t.Errorf("%d reference calls; templates first made %d, and the 20 template users cost at most 2 more", got, wantRefs)
	}
	if rr.Summary.Errors != 0 || rr.Summary.Marked != planned.Summary.Marked || rr.Summary.Unmarked != planned.Summary.Unmarked {
		t.Errorf("summary %+v, want %+v", rr.Summary, planned.Summary)
	}
}

// heldTemplates reads the templates once release is closed.
type heldTemplates struct {
	cleanup.TemplateReader
	release chan struct{}
}

func (h *heldTemplates) TemplateGroups(ctx context.Context, region string) (map[string][]domain.TemplateVersionUse, error) {
	<-h.release
	return h.TemplateReader.TemplateGroups(ctx, region)
}

// countedReferences closes reached after its at-th read.
type countedReferences struct {
	cleanup.ReferenceReader
	at, n   int
	reached chan struct{}
}

func (c *countedReferences) GroupReferences(ctx context.Context, region string, ids []string) (map[string][]string, error) {
	out, err := c.ReferenceReader.GroupReferences(ctx, region, ids)
	if c.n++; c.n == c.at {
		close(c.reached)
	}
	return out, err
}

// TestRun_SplitFoundWhileListing: a nightly apply run that lists more
// groups than SplitOver stops its other reads, changes nothing, and queues
// the region's first part with the whole listing's networks, as when it
// listed the region before reading anything else.
func TestRun_SplitFoundWhileListing(t *testing.T) {
	f, _ := pipeWorld(350, 4, 9, 5) // 368 groups, 4 pages: fresh ones to mark, old ones to delete
	q := newFakeQueue()
	p := domain.DefaultCleanupPolicy()
	p.MaxDeletions, p.MaxDeletePercent = 1000, 100
	rep, err := newCleaner(f, q).Run(context.Background(), cleanup.Options{Regions: []string{hz}, Policy: p,
		Mode: cleanup.ModeApply, Now: t0, RunID: "run-1", SplitOver: 150})
	if err != nil {
		t.Fatal(err)
	}
	rr := regionReport(t, rep, hz)
	all := len(f.groupIDs(hz)) // with the out-of-scope peers
	if rr.Split == nil || rr.Split.Groups != all || rr.Split.Networks != 1 || rr.Split.TaskID == "" || rr.Summary.Errors != 0 {
		t.Fatalf("split %+v, errors %q; want the %d groups of one network split", rr.Split, rr.Errors, all)
	}
	tasks := q.tasks()
	if len(tasks) != 1 || tasks[0].Kind != domain.TaskCleanupPart || tasks[0].ID != rr.Split.TaskID {
		t.Errorf("queued %+v, want the first part only", tasks)
	}
	if n := f.apiCalls["TagGroups"] + f.apiCalls["UntagGroups"]; n != 0 || rr.Summary.Marked != 0 {
		t.Errorf("%d tag writes, %d marked; a split region is tagged by its parts", n, rr.Summary.Marked)
	}
	if n := f.apiCalls["ListGroups"]; n != 4 {
		t.Errorf("%d group pages, want the 4 of one listing", n)
	}
}
