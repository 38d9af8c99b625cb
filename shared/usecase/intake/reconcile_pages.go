package intake

import (
	"context"
	"fmt"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
	"github.com/sgpilot/sgpilot/shared/core/task"
)

// Paged backfill defaults.
const (
	// DefaultPageSize is DescribeInstances' largest page.
	DefaultPageSize = 100
	// DefaultPageMargin is the least time a part keeps before its
	// deadline to read another page; below it, it hands over its token.
	DefaultPageMargin = 30 * time.Second
)

func (r *Reconciler) paged() bool { return r.Pages != nil && r.SplitOver > 0 }

// runPages backfills a region page by page from token, part parts: the
// tasks of each page are queued before the next page is read, so a part
// that stops keeps what it queued. Past SplitOver instances, or when the
// deadline comes near, the next page's token goes to a TaskReconcilePage
// and this part ends. A region of at most SplitOver instances is one part.
// runID names the backfill run ("" = one from the clock).
func (r *Reconciler) runPages(ctx context.Context, regionID, token string, parts int, runID string) (ReconcileSummary, error) {
	run, err := r.newRun(ctx, regionID, false)
	if err != nil {
		return run.s, err
	}
	run.s.Part = parts
	if runID == "" {
		runID = "reconcile-" + run.stamp.UTC().Format("20060102T150405Z")
	}
	groups, err := r.Groups.ListGroups(ctx, regionID, domain.GroupFilter{TagKey: run.key})
	if err != nil {
		return run.s, fmt.Errorf("%s: list groups tagged %s: %w", run.op, run.key, err)
	}
	run.index(groups)
	size := orDefault(r.PageSize, DefaultPageSize)
	if r.SplitOver > 0 {
		size = min(size, r.SplitOver) // a part reads about SplitOver instances
	}
	chunk := orDefault(r.SendChunk, DefaultSendChunk)
	var longest time.Duration
	for pages := 0; ; pages++ {
		// At least one page per part, so that every part makes progress.
		if pages > 0 && ((r.SplitOver > 0 && run.s.Instances >= r.SplitOver) || r.nearDeadline(ctx, longest)) {
			next := domain.NewReconcilePageTask(regionID, token, runID, parts+1, time.Now())
			if err := r.Sender.SendTasks(ctx, []domain.Task{next}); err != nil {
				return run.s, fmt.Errorf("%s: queue the next page %s: %w", run.op, next.ID, err)
			}
			run.s.ContinuedAs = next.ID
			run.log.Info("reconcile part handed over", zap.Int("instances", run.s.Instances), zap.String("next", next.ID))
			break
		}
		start := time.Now()
		page, next, err := r.Pages.ListInstancesPage(ctx, regionID, domain.InstanceFilter{TagKey: run.key}, token, size)
		if err != nil {
			return run.s, fmt.Errorf("%s: list instances tagged %s (page %d of part %d): %w", run.op, run.key, pages+1, parts+1, err)
		}
		sort.Slice(page, func(i, j int) bool { return page[i].ID < page[j].ID })
		run.s.Instances += len(page)
		for _, inst := range page {
			run.visit(inst)
			if len(run.pending) >= chunk {
				if err := run.flush(ctx); err != nil {
					return run.s, err
				}
			}
		}
		if err := run.flush(ctx); err != nil {
			return run.s, err
		}
		longest = max(longest, time.Since(start))
		if next == "" {
			break
		}
		token = next
	}
	run.finished()
	return run.s, nil
}

// nearDeadline reports whether another page would likely not finish before
// ctx's deadline: less than the margin, or twice the longest page, is left.
func (r *Reconciler) nearDeadline(ctx context.Context, longest time.Duration) bool {
	deadline, ok := ctx.Deadline()
	if !ok {
		return false
	}
	margin := r.Margin
	if margin <= 0 {
		margin = DefaultPageMargin
	}
	return time.Until(deadline) < max(margin, 2*longest)
}

// PageRunner is the worker's handler of TaskReconcilePage: it goes on with
// a split backfill from the task's token.
type PageRunner struct {
	Reconciler *Reconciler
	// RetryAfter is the wait of a part whose reads or sends failed.
	RetryAfter time.Duration
}

var _ task.Handler = (*PageRunner)(nil)

// Handle runs each part as a job of its own. Outcomes: done when the part
// finished or handed over; retry on a failed read or send (rerun from the
// task's own token: the tasks it queues again are the same tasks, and
// onboarding is level-based); dead letter for an invalid task.
func (p *PageRunner) Handle(ctx context.Context, tasks []domain.Task) []task.Job {
	var jobs []task.Job
	for _, t := range tasks {
		if err := t.Validate(); err != nil {
			jobs = append(jobs, task.Known(task.Terminal(t.ID, task.ReasonInvalidTask, err.Error())))
			continue
		}
		if t.Kind != domain.TaskReconcilePage {
			jobs = append(jobs, task.Known(task.Terminal(t.ID, task.ReasonUnsupportedKind,
				fmt.Sprintf("the reconcile page runner got a %q task", t.Kind))))
			continue
		}
		jobs = append(jobs, task.Job{TaskIDs: []string{t.ID}, Run: func(ctx context.Context) []task.Outcome {
			ctx = logging.With(ctx, zap.String(logging.FieldRegion, t.RegionID), zap.String("run_id", t.Cause),
				zap.String(logging.FieldTaskID, t.ID))
			return []task.Outcome{p.run(ctx, t).For(t.ID)}
		}})
	}
	return jobs
}

func (p *PageRunner) run(ctx context.Context, t domain.Task) task.Outcome {
	s, err := p.Reconciler.runPages(ctx, t.RegionID, t.Reconcile.Token, t.Reconcile.Parts, t.Cause)
	if err != nil {
		return task.FromError("", err, task.Options{Backoff: p.RetryAfter, Soon: p.RetryAfter})
	}
	detail := fmt.Sprintf("part %d: %d instances, %d onboard tasks, %d need attention", s.Part+1, s.Instances, s.Enqueued, s.NeedsAttention)
	if s.ContinuedAs != "" {
		detail += ", continued as " + s.ContinuedAs
	}
	return task.Succeeded("", "reconciled", detail)
}
