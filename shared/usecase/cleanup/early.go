package cleanup

import (
	"context"
	"fmt"
	"sort"
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
// It only starts when that cannot change what is queued: the listing is
// complete, every other read succeeded, no approval is in play, and the
// plan made without references passes the blast radius. References only
// add users, so that plan's deletions are a superset of the final plan's,
// and the limits (a count and a percentage of the groups in scope, which
// references do not change) pass for any subset too. A candidate is queued
// once its own references are read (those read before the start, at the
// start) and name no other group: the final plan deletes exactly those.
// Tasks go out in the order the references were read (the listing's, each
// page's candidates by ID: the final plan's order when the listing is) and
// in batches of TaskBatchSize.
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

// earlyTags writes a region's marks and unmarks while its references are
// still being read, instead of after the plan, so that the run ends about
// when its last reference read does.
//
// A group's mark or unmark depends only on the group, its own reads and
// the policy: the blast radius withholds deletions only. So once every
// group is listed, the bulk reads have succeeded and no approval is in play
// (a refused one withholds every change), the plan of a few groups decides
// their marks and unmarks exactly as the region's plan will: the groups
// nothing else keeps once their references are read, the others at once.
// Unmarks go before marks within what is decided together; writes go out
// 50 groups per call, in order.
//
// When a later reference read fails, the tags already written stay, as the
// tasks of earlyDeletes do: each names a group whose own reads all
// succeeded, and a mark only starts the grace period, which the next run
// checks again. The groups not yet decided keep their tags.
//
// A nil *earlyTags does nothing; all its methods are then no-ops.
type earlyTags struct {
	tagger Tagger
	policy domain.CleanupPolicy
	now    time.Time

	// set by start, used by the reading goroutine only
	on      bool
	region  string
	unmarks []string
	marks   map[string][]string // mark value -> groups
	sends   chan tagBatch
	done    chan struct{}

	// written by the sender goroutine; read after finish
	tried            map[string]tagBatch // per group written or tried, its batch's change
	marked, unmarked int
	failures         []tagFailure
}

type tagFailure struct {
	ids []string
	msg string
	err error
}

// tagBatch is one TagResources (mark) or UntagResources (unmark, mark "").
type tagBatch struct {
	ids  []string
	mark string
}

func newEarlyTags(tagger Tagger, policy domain.CleanupPolicy, now time.Time) *earlyTags {
	return &earlyTags{tagger: tagger, policy: policy, now: now}
}

// start starts the writer once discovery has everything but the
// references of the groups not yet read.
func (e *earlyTags) start(ctx context.Context, region string) {
	if e == nil || e.policy.ApprovedPlanID != "" {
		return // a refused approval withholds every change: only the final plan knows
	}
	e.on, e.region = true, region
	e.marks = map[string][]string{}
	e.tried = map[string]tagBatch{}
	e.sends = make(chan tagBatch, 64)
	e.done = make(chan struct{})
	logging.FromContext(ctx).Info("cleanup: writing stale marks while references are read")
	go e.send(ctx)
}

// send writes the batches in order.
func (e *earlyTags) send(ctx context.Context) {
	defer close(e.done)
	for b := range e.sends {
		for _, id := range b.ids {
			e.tried[id] = tagBatch{mark: b.mark}
		}
		var err error
		if b.mark == "" {
			err = e.tagger.UntagGroups(ctx, e.region, b.ids, []string{e.policy.StaleTagKey})
		} else {
			err = e.tagger.TagGroups(ctx, e.region, b.ids, domain.Tags{e.policy.StaleTagKey: b.mark})
		}
		switch {
		case err != nil:
			e.failures = append(e.failures, tagFailure{ids: b.ids, msg: fmt.Sprintf("%s: %v", b.describe(e.policy.StaleTagKey), err), err: err})
		case b.mark == "":
			e.unmarked += len(b.ids)
		default:
			e.marked += len(b.ids)
		}
	}
}

// action is the plan's verdict the batch carries out.
func (b tagBatch) action() domain.CleanupAction {
	if b.mark == "" {
		return domain.ActionUnmark
	}
	return domain.ActionMark
}

// describe names a batch's change as the report words it.
func (b tagBatch) describe(key string) string {
	if b.mark == "" {
		return "unmark " + strings.Join(b.ids, ",")
	}
	return fmt.Sprintf("mark %s=%s on %s", key, b.mark, strings.Join(b.ids, ","))
}

// decided takes groups whose reads are all in: their plan's marks and
// unmarks are the region plan's.
func (e *earlyTags) decided(groups []domain.SecurityGroup, usage usageBuilder) {
	if e == nil || !e.on || len(groups) == 0 {
		return
	}
	in := domain.RegionInput{RegionID: e.region, Groups: groups, Usage: make(map[string]domain.GroupUsage, len(groups))}
	for _, g := range groups {
		if u := usage[g.ID]; u != nil {
			in.Usage[g.ID] = *u
		}
	}
	for _, d := range domain.PlanCleanup(in, e.policy, e.now).Decisions {
		switch d.Action {
		case domain.ActionUnmark:
			e.unmarks = append(e.unmarks, d.Group.ID)
		case domain.ActionMark:
			e.marks[d.StaleSince] = append(e.marks[d.StaleSince], d.Group.ID)
		}
	}
	e.flush(false)
}

// flush sends the full batches, and the short ones too when all is set,
// unmarks first, then marks by mark value.
func (e *earlyTags) flush(all bool) {
	take := func(ids []string, mark string) []string {
		for len(ids) >= TagBatchSize || (all && len(ids) > 0) {
			n := min(TagBatchSize, len(ids))
			e.sends <- tagBatch{ids: append([]string(nil), ids[:n]...), mark: mark}
			ids = ids[n:]
		}
		return ids
	}
	e.unmarks = take(e.unmarks, "")
	values := make([]string, 0, len(e.marks))
	for v := range e.marks {
		values = append(values, v)
	}
	sort.Strings(values)
	for _, v := range values {
		e.marks[v] = take(e.marks[v], v)
	}
}

// finish writes the last, short batches when every read succeeded (a
// failed read drops them: their groups are left as they are) and waits for
// the writer.
func (e *earlyTags) finish(ok bool) {
	if e == nil || !e.on {
		return
	}
	if ok {
		e.flush(true)
	}
	e.unmarks, e.marks = nil, nil
	close(e.sends)
	<-e.done
}

// report adds what was written early to the region's report and returns
// the groups written or tried, which apply must not write again. complete
// says whether discovery succeeded: then each of those groups must have
// the same verdict in the final plan (it has by construction; a mismatch
// is reported). Otherwise the plan withholds every change, and the
// decisions of the groups already tagged say so.
func (e *earlyTags) report(ctx context.Context, rr *RegionReport, complete bool) map[string]bool {
	if e == nil || !e.on {
		return nil
	}
	rr.Summary.Marked += e.marked
	rr.Summary.Unmarked += e.unmarked
	failed := map[string]bool{}
	for _, f := range e.failures {
		rr.failed(f.ids, f.msg, f.err)
		for _, id := range f.ids {
			failed[id] = true
		}
	}
	done := make(map[string]bool, len(e.tried))
	for id := range e.tried {
		done[id] = true
	}
	log := logging.FromContext(ctx)
	if complete {
		var stray []string
		for _, d := range rr.Decisions {
			if b, ok := e.tried[d.GroupID]; ok && (d.Action != b.action() || d.StaleSince != b.mark) {
				stray = append(stray, d.GroupID)
			}
		}
		if len(stray) > 0 {
			rr.addError(fmt.Sprintf("stale marks changed early against the final plan's verdict: %s", strings.Join(stray, ",")))
			log.Error("cleanup: early tags outside the final plan", zap.Strings("groups", stray))
		}
		return done
	}
	n := 0
	for i := range rr.Decisions {
		d := &rr.Decisions[i]
		if b, ok := e.tried[d.GroupID]; ok && !failed[d.GroupID] {
			d.StaleSince = b.mark // the group's mark after the run
			d.Detail += "; its stale mark was changed before the failed read: all of its own reads had succeeded"
			n++
		}
	}
	if n > 0 {
		log.Warn("cleanup: stale marks changed before discovery failed stay (each group was fully read)", zap.Int("groups", n))
	}
	return done
}
