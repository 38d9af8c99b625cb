package cleanup

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
)

// earlyDeletes queues a region's delete tasks while its references are
// still being read, so that the worker deletes (paced by DeleteSecurityGroup)
// while the run reads DescribeSecurityGroupReferences, instead of after.
//
// It only starts when that cannot change what is queued: every other read
// succeeded, no approval is in play, and the plan made without references
// passes the blast radius. References only add users, so that plan's
// deletions are a superset of the final plan's, and the limits (a count and
// a percentage of the groups in scope, which references do not change) pass
// for any subset too. A candidate is queued once its own references are read
// and name no other group: the final plan deletes exactly those. Tasks go
// out in the final plan's order and in its batches of TaskBatchSize.
//
// When a later reference read fails, the tasks already queued stay queued:
// each names a group whose every read succeeded and was clear, within a
// blast radius that holds for any subset, exactly as a complete run would
// have queued it; the groups whose check failed, and the rest, are not
// queued. The Deleter re-checks each group before deleting it either way.
// (A region task retried after such a failure queues them again, under the
// same task IDs; the worker finds a deleted group gone and is done.)
//
// A nil *earlyDeletes does nothing; all its methods are then no-ops.
type earlyDeletes struct {
	tasks  TaskSender
	region string
	runID  string
	now    time.Time
	policy domain.CleanupPolicy

	// set by start, used by the reading goroutine only
	on      bool
	allowed map[string]string // group -> stale mark: the superset plan's deletions
	pending []domain.Task
	sends   chan []domain.Task
	done    chan struct{}
	queued  int // tasks handed to the sender so far (for progress logs)

	// written by the sender goroutine; read after finish
	sent     []string        // groups whose tasks were sent
	tried    map[string]bool // groups whose tasks were sent or failed to send
	failures []sendFailure
}

type sendFailure struct {
	ids []string
	err error
}

func newEarlyDeletes(tasks TaskSender, policy domain.CleanupPolicy, runID string, now time.Time) *earlyDeletes {
	return &earlyDeletes{tasks: tasks, policy: policy, runID: runID, now: now}
}

// start plans in without references and, when its deletions may go
// whatever the references say, starts the sender.
func (e *earlyDeletes) start(ctx context.Context, in domain.RegionInput) {
	if e == nil || e.policy.ApprovedPlanID != "" {
		return // an approval names the exact plan: only the final plan can match it
	}
	plan := domain.PlanCleanup(in, e.policy, e.now)
	if plan.Blocked != "" || plan.Count(domain.ActionDelete) == 0 {
		return
	}
	e.on, e.region = true, in.RegionID
	e.allowed = map[string]string{}
	for _, d := range plan.Decisions {
		if d.Action == domain.ActionDelete {
			e.allowed[d.Group.ID] = d.StaleSince
		}
	}
	e.tried = map[string]bool{}
	e.sends = make(chan []domain.Task, 64)
	e.done = make(chan struct{})
	logging.FromContext(ctx).Info("cleanup: queueing delete tasks while references are read",
		zap.Int("deletable_without_references", len(e.allowed)))
	go e.send(ctx)
}

// send enqueues the batches in order.
func (e *earlyDeletes) send(ctx context.Context) {
	defer close(e.done)
	log := logging.FromContext(ctx)
	for batch := range e.sends {
		ids := make([]string, len(batch))
		for i, t := range batch {
			ids[i] = t.GroupID
			e.tried[t.GroupID] = true
		}
		if err := e.tasks.SendTasks(ctx, batch); err != nil {
			e.failures = append(e.failures, sendFailure{ids: ids, err: err})
			log.Warn("cleanup: early delete tasks not queued", zap.Strings("groups", ids), zap.Error(err))
			continue
		}
		e.sent = append(e.sent, ids...)
	}
}

// checked takes a batch whose references were just read: the superset's
// candidates with no references are the final plan's deletions.
func (e *earlyDeletes) checked(batch []string, usage usageBuilder) {
	if e == nil || !e.on {
		return
	}
	for _, gid := range batch {
		mark, ok := e.allowed[gid]
		if !ok {
			continue
		}
		if u := usage[gid]; u != nil && u.InUse() {
			continue // referenced: kept, or unmarked
		}
		e.pending = append(e.pending, domain.NewDeleteGroupTask(e.region, gid, mark, e.runID, e.now))
	}
	for len(e.pending) >= TaskBatchSize {
		e.flush(TaskBatchSize)
	}
}

func (e *earlyDeletes) flush(n int) {
	batch := append([]domain.Task(nil), e.pending[:n]...)
	e.pending = e.pending[n:]
	e.queued += n
	e.sends <- batch
}

// finish sends the last, short batch when every reference was read (a
// failed read drops it) and waits for the sender.
func (e *earlyDeletes) finish(ok bool) {
	if e == nil || !e.on {
		return
	}
	if ok && len(e.pending) > 0 {
		e.flush(len(e.pending))
	}
	e.pending = nil
	close(e.sends)
	<-e.done
}

// progress adds the early count to a progress log line.
func (e *earlyDeletes) progress() []zap.Field {
	if e == nil || !e.on {
		return nil
	}
	return []zap.Field{zap.Int("delete_tasks_queued", e.queued)}
}

// report adds what was queued early to the region's report and returns
// the groups whose tasks were already sent or tried, which apply must not
// send again. complete says whether discovery succeeded: then every early
// task must be a deletion of the final plan (it is by construction; a
// mismatch is reported, and the Deleter's re-check still guards the group).
// Otherwise the plan withholds everything, and the decisions of the groups
// already queued say so.
func (e *earlyDeletes) report(ctx context.Context, rr *RegionReport, complete bool) map[string]bool {
	if e == nil || !e.on {
		return nil
	}
	log := logging.FromContext(ctx)
	rr.Summary.DeleteTasksEnqueued += len(e.sent)
	for _, f := range e.failures {
		rr.failed(f.ids, fmt.Sprintf("enqueue delete tasks for %s: %v", strings.Join(f.ids, ","), f.err), f.err)
	}
	sent := make(map[string]bool, len(e.sent))
	for _, id := range e.sent {
		sent[id] = true
	}
	if complete {
		var stray []string
		for _, d := range rr.Decisions {
			if e.tried[d.GroupID] && d.Action != domain.ActionDelete {
				stray = append(stray, d.GroupID)
			}
		}
		if len(stray) > 0 {
			rr.addError(fmt.Sprintf("delete tasks queued early for groups the final plan keeps: %s (the worker re-checks each before deleting)", strings.Join(stray, ",")))
			log.Error("cleanup: early delete tasks outside the final plan", zap.Strings("groups", stray))
		}
		return e.tried
	}
	if len(sent) > 0 {
		for i := range rr.Decisions {
			if d := &rr.Decisions[i]; sent[d.GroupID] {
				d.Detail += "; its delete task was queued before the failed read: all of its own reads had succeeded and cleared it"
			}
		}
		log.Warn("cleanup: delete tasks queued before discovery failed stay queued (each group was fully checked; the worker re-checks it)",
			zap.Int("delete_tasks_enqueued", len(sent)))
	}
	return e.tried
}
