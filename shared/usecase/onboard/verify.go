package onboard

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
	"github.com/sgpilot/sgpilot/shared/core/retry"
	"github.com/sgpilot/sgpilot/shared/core/task"
)

// The check after a batch's writes.
//
// Locks serialise the writers of one process; nothing serialises writers
// in two processes (ECS has no conditional join), and two queue-worker
// instances can overlap: a redeployment, a drain invocation beside the
// queue trigger, an operator's `s invoke`. Two of them planning the same
// instance from the same read can each add a different group and leave it
// above the limit, though neither plan was. So once every job of the batch
// has returned (a task.Job After round), the instances written are read
// again, one DescribeInstances per region per 100, and each is checked:
//
//   - within the limit, its plan in effect: the decision stands;
//   - within the limit, but another writer undid part of the plan (or
//     redid what it left): re-plan soon (a retry), nothing is written;
//   - above the limit: repair, writing only leaves of groups this task
//     added, never another's, never the last one (ECS refuses that too).
//
// # The repair and why racing tasks converge
//
// A task T read the instance's groups B before its plan; it now sees G,
// |G| > limit. New = G − B holds what T and the others added since. Every
// racing task ranks New the same way, by group ID, highest first, and the
// top |G| − limit of them are the ones that go. T leaves those it added,
// at once. If that closes the excess, T re-plans (a retry). If not, the
// rest is another writer's to leave: T gives it RecheckDelay, reads the
// instance again, and if it is still above the limit leaves everything it
// added and re-plans.
//
// Two tasks that read the same B and verify together agree on the ranking:
// the one whose group ranks higher leaves it, the other waits, sees the
// instance back at the limit and keeps its decision. One round, no
// oscillation. If the other writer is slower than RecheckDelay (or gone),
// T leaves all it added; the last task to check always sees every add, so
// once all have ended, every add left is one that was checked within the
// limit. A task that gave way retries after a jittered delay, and its
// retry reads what the winner left, so it plans within the limit (or is
// refused as over the limit) instead of racing again.
//
// The cost: one DescribeInstances per region per 100 written instances,
// nothing for an instance that needed no write, and a second read plus the
// wait only when a race actually happened.

// written is what an instance's job wrote, for the check.
type written struct {
	base   []string // the instance's groups when the applied plan was read
	plan   domain.MembershipPlan
	joined []string // groups this task added
	whole  bool     // every write of the plan took effect
	gaveUp []string // groups the check left to make way for another writer
}

// verifyJobs returns the After round: per region, one job per 100
// instances of the batch. Which instances were written is known only once
// the first round has returned, so job k checks the k-th hundred of those
// and names every task of its region (a panic retries them all).
func (r *run) verifyJobs(order []*subject) []task.Job {
	byRegion := map[string][]*subject{}
	var regions []string
	for _, s := range order {
		if _, ok := byRegion[s.region]; !ok {
			regions = append(regions, s.region)
		}
		byRegion[s.region] = append(byRegion[s.region], s)
	}
	var jobs []task.Job
	for _, region := range regions {
		all := byRegion[region]
		var ids []string
		for _, s := range all {
			ids = append(ids, s.taskIDs()...)
		}
		for k := 0; k*MaxDescribeBatch < len(all); k++ {
			jobs = append(jobs, task.Job{TaskIDs: ids, After: true, Run: func(ctx context.Context) []task.Outcome {
				var wrote []*subject
				for _, s := range all {
					// A job that panicked decided nothing: the worker
					// retries its tasks.
					if s.wrote != nil && s.d.outcome.Result.Valid() {
						wrote = append(wrote, s)
					}
				}
				if k*MaxDescribeBatch >= len(wrote) {
					return nil
				}
				chunk := wrote[k*MaxDescribeBatch : min((k+1)*MaxDescribeBatch, len(wrote))]
				r.verify(ctx, region, chunk)
				var out []task.Outcome
				for _, s := range chunk {
					r.logDecision(ctx, s, s.d)
					out = append(out, s.outcomes()...)
				}
				return out
			}})
		}
	}
	return jobs
}

// verify reads the written instances of one region (at most 100) and
// updates their decisions: see the comment at the top of this file.
func (r *run) verify(ctx context.Context, region string, chunk []*subject) {
	now, err := r.readGroups(ctx, region, chunk)
	if err != nil {
		for _, s := range chunk {
			if s.d.outcome.Result == task.Done {
				s.d = r.unchecked(s, err)
			}
		}
		return
	}
	limit := r.o.opts.GroupLimit
	var waiting []*subject
	for _, s := range chunk {
		g, found := now[s.instanceID]
		switch {
		case !found:
			// Deleted since: nothing left to keep within the limit.
		case len(g) > limit:
			if r.giveWay(ctx, s, g) {
				waiting = append(waiting, s)
			}
		case s.wrote.whole && !inEffect(s.wrote.plan, g):
			s.d = r.replan(s, fmt.Sprintf("another writer changed the groups since: now in [%s]", strings.Join(g, ",")))
		}
	}
	if len(waiting) == 0 {
		return
	}
	// The rest of the excess is other writers' to leave: give them time.
	if !r.sleepBeforeRecheck(ctx) {
		now = nil
	} else if now, err = r.readGroups(ctx, region, waiting); err != nil {
		now = nil
	}
	for _, s := range waiting {
		g, found := now[s.instanceID]
		switch {
		case now != nil && !found:
		case now != nil && len(g) <= limit:
			// The others gave way; this task's decision stands, unless
			// it gave up part of its own plan or another undid some.
			switch {
			case len(s.wrote.gaveUp) > 0:
				s.d = r.replan(s, fmt.Sprintf("left %s to make way for another writer's joins", strings.Join(s.wrote.gaveUp, ",")))
				s.d.left = append(s.d.left, s.wrote.gaveUp...)
			case s.wrote.whole && !inEffect(s.wrote.plan, g):
				s.d = r.replan(s, fmt.Sprintf("another writer changed the groups since: now in [%s]", strings.Join(g, ",")))
			}
		default:
			if now == nil {
				g = nil // unknown: leave every group this task added
			}
			r.leaveMine(ctx, s, g, fmt.Sprintf("still above the limit of %d after %s", limit, r.o.opts.RecheckDelay))
		}
	}
}

// giveWay handles an instance found above the limit: it leaves the groups
// of this task that rank among the excess (see the file comment) and
// reports whether the rest is another writer's to leave.
func (r *run) giveWay(ctx context.Context, s *subject, g []string) (wait bool) {
	base := setOf(s.wrote.base)
	var fresh []string
	for _, id := range g {
		if !base[id] {
			fresh = append(fresh, id)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(fresh)))
	excess := len(g) - r.o.opts.GroupLimit
	mine := setOf(s.wrote.joined)
	var leave []string
	for _, id := range fresh[:min(excess, len(fresh))] {
		if mine[id] {
			leave = append(leave, id)
		}
	}
	if len(leave) < excess {
		// Part of the excess ranks as another writer's; leave this task's
		// share now, the rest after the recheck if need be.
		left, _ := r.leave(ctx, s, leave)
		s.wrote.gaveUp = left
		logging.FromContext(ctx).Info("instance above the group limit after a concurrent writer; waiting for it to give way",
			zap.String(logging.FieldInstanceID, s.instanceID), zap.Int("groups", len(g)), zap.Strings("left", leave))
		return true
	}
	left, failed := r.leave(ctx, s, leave)
	r.settleRepair(s, left, failed, fmt.Sprintf("in %d groups, over the limit of %d, after a concurrent writer's joins; left %s, the added groups that rank highest",
		len(g), r.o.opts.GroupLimit, strings.Join(left, ",")))
	return false
}

// leaveMine leaves every group this task added that is still in g (all
// of them when g is nil), and re-plans.
func (r *run) leaveMine(ctx context.Context, s *subject, g []string, why string) {
	var mine []string
	in := setOf(g)
	for _, id := range s.wrote.joined {
		if g == nil || in[id] {
			mine = append(mine, id)
		}
	}
	left, failed := r.leave(ctx, s, mine)
	what := "this task added none of its groups"
	if len(left) > 0 {
		what = "left the groups this task added: " + strings.Join(left, ",")
	}
	r.settleRepair(s, left, failed, why+"; "+what)
}

// settleRepair sets the decision after a repair: a retry, or a dead letter
// when a leave failed (the next delivery would not know what to leave).
func (r *run) settleRepair(s *subject, left, failed []string, detail string) {
	if len(failed) > 0 {
		s.d = deadLetter(domain.ReasonOverLimit, detail+"; could not leave "+strings.Join(failed, "; "))
		s.d.joined = s.wrote.joined
		return
	}
	s.d = r.replan(s, detail)
	s.d.left = append(s.d.left, append(s.wrote.gaveUp, left...)...)
}

// replan is the retry of a task whose plan did not hold: soon, jittered, so
// that two tasks that raced do not meet again.
func (r *run) replan(s *subject, detail string) decision {
	d := r.o.opts.NotReadyDelay
	after := retry.Policy{BaseDelay: 2 * d, MaxDelay: 2 * d, Jitter: r.o.opts.Jitter}.Backoff(1)
	out := retryIn(after, task.ReasonChanged, detail+"; re-planning")
	out.joined, out.left = s.d.joined, s.d.left
	return out
}

// unchecked is the decision of a task whose writes could not be checked:
// try again (the next delivery reads the instance and, if it is complete,
// writes nothing).
func (r *run) unchecked(s *subject, err error) decision {
	d := lookupDecision(r.o.opts, fmt.Errorf("check %s after writing: %w", s.instanceID, err))
	d.joined, d.left = s.d.joined, s.d.left
	return d
}

// leave leaves groups of s under its lock, newest first. A group already
// left counts as left; the last group is kept (ECS refuses it).
func (r *run) leave(ctx context.Context, s *subject, ids []string) (left, failed []string) {
	if len(ids) == 0 {
		return nil, nil
	}
	h := r.o.opts.Locks.lock(s.key())
	defer h.release()
	for _, id := range ids {
		err := r.o.ports.Leaver.LeaveGroup(ctx, s.region, s.instanceID, id)
		switch {
		case err == nil:
			h.wrote()
			left = append(left, id)
		case errors.Is(err, domain.ErrNotMember), errors.Is(err, domain.ErrLastGroup):
		default:
			failed = append(failed, fmt.Sprintf("%s (%v)", id, err))
		}
	}
	return left, failed
}

// readGroups reads the groups of the subjects' instances (one call).
func (r *run) readGroups(ctx context.Context, region string, subjects []*subject) (map[string][]string, error) {
	ids := make([]string, len(subjects))
	for i, s := range subjects {
		ids[i] = s.instanceID
	}
	insts, err := r.o.ports.Instances.DescribeInstances(ctx, region, ids)
	if err != nil {
		return nil, fmt.Errorf("describe %d instances in %s after writing: %w", len(ids), region, err)
	}
	out := make(map[string][]string, len(insts))
	for _, in := range insts {
		out[in.ID] = domain.SortedUnique(in.GroupIDs)
	}
	return out, nil
}

// sleepBeforeRecheck waits RecheckDelay, unless the invocation's deadline
// leaves no room for the wait and the leaves after it.
func (r *run) sleepBeforeRecheck(ctx context.Context) bool {
	d := r.o.opts.RecheckDelay
	if dl, ok := ctx.Deadline(); ok && r.o.opts.Now().Add(2*d).After(dl) {
		return false
	}
	return r.o.opts.Sleep(ctx, d) == nil
}

// inEffect reports whether g holds the plan: its joins in, its leaves out.
func inEffect(p domain.MembershipPlan, g []string) bool {
	in := setOf(g)
	for _, id := range p.ToJoin {
		if !in[id] {
			return false
		}
	}
	for _, id := range p.ToLeave {
		if in[id] {
			return false
		}
	}
	return true
}

func setOf(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}
