package cleanup

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
	"github.com/sgpilot/sgpilot/shared/core/task"
)

// Split defaults.
const (
	// DefaultSplitOver is the number of groups above which a region is
	// cleaned in parts (SGPILOT_FANOUT_GROUPS).
	DefaultSplitOver = 5000
	// DefaultPartMargin is the least time a part keeps before its deadline
	// to start another share of groups; below it the part hands over to a
	// continuation.
	DefaultPartMargin = 30 * time.Second
)

// split queues the first part of a region too large for one invocation and
// returns the region's report, which says so. groups is the region's
// listing: its networks, sorted with the classic network first, are the
// parts' route.
func (c *Cleaner) split(ctx context.Context, region string, groups []domain.SecurityGroup, policy domain.CleanupPolicy, now time.Time, runID string, splitOver int) RegionReport {
	rr := newRegionReport(domain.RegionPlan{RegionID: region})
	rr.Summary.Scanned = len(groups)
	t, nets := firstPart(ctx, region, runID, groups, policy, now, splitOver)
	rr.Split = &SplitInfo{Groups: len(groups), Threshold: splitOver, Networks: nets, TaskID: t.ID,
		Note: fmt.Sprintf("over the split threshold: queued as parts of at most %d groups (one network, or a range of a larger one, per share); deletions are decided once, over the whole region, by the last part", splitOver)}
	if err := c.Tasks.SendTasks(ctx, []domain.Task{t}); err != nil {
		rr.addError(fmt.Sprintf("queue the first part: %v", err))
		rr.Split.TaskID = ""
	}
	return rr
}

// firstPart is the first part task of a region over splitOver groups (its
// networks, sorted with the classic network first, are the parts' route),
// and the number of those networks; it logs the split.
func firstPart(ctx context.Context, region, runID string, groups []domain.SecurityGroup, policy domain.CleanupPolicy, now time.Time, splitOver int) (domain.Task, int) {
	nets := networksOf(groups)
	t := domain.NewCleanupPartTask(region, runID, domain.CleanupPart{Networks: nets, Now: now.UTC(), Roles: declaredRoles(policy)}, now)
	logging.FromContext(ctx).Info("cleanup region split into parts", zap.Int("groups", len(groups)),
		zap.Int("networks", len(nets)), zap.Int("split_over", splitOver), zap.String("first_part", t.ID))
	return t, len(nets)
}

// declaredRoles lists the policy's declared roles, sorted.
func declaredRoles(p domain.CleanupPolicy) []string {
	var out []string
	for r, ok := range p.DeclaredRoles {
		if ok {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

// withRoles is the policy with the roles a task carries declared.
func withRoles(p domain.CleanupPolicy, part *domain.CleanupPart) domain.CleanupPolicy {
	if part == nil || len(part.Roles) == 0 {
		return p
	}
	p.DeclaredRoles = map[string]bool{}
	for _, r := range part.Roles {
		p.DeclaredRoles[r] = true
	}
	return p
}

// networksOf returns the distinct networks of groups, sorted ("" first).
func networksOf(groups []domain.SecurityGroup) []string {
	seen := map[string]bool{}
	var nets []string
	for _, g := range groups {
		if !seen[g.VPCID] {
			seen[g.VPCID] = true
			nets = append(nets, g.VPCID)
		}
	}
	sort.Strings(nets)
	return nets
}

// Splitter is the worker's handler for the tasks of a cleanup run queued by
// the nightly coordinator: a region (TaskCleanupRegion), cleaned in place
// when it is small and split otherwise, and the parts of a split region
// (TaskCleanupPart). See the package doc, "Fan-out".
type Splitter struct {
	Cleaner *Cleaner
	// Policy is the run's policy (declared roles included).
	Policy domain.CleanupPolicy
	// SplitOver: groups per part (DefaultSplitOver when ≤ 0).
	SplitOver int
	// Margin: DefaultPartMargin when ≤ 0.
	Margin time.Duration
	// RetryAfter is the wait of a part whose reads failed; 0 means
	// DefaultRetryAfter.
	RetryAfter time.Duration
	// Budget bounds the groups this process's regions and parts hold at
	// once (nil: unbounded). Shared by every Splitter of the process.
	Budget *GroupBudget
}

var _ task.Handler = (*Splitter)(nil)

func (s *Splitter) splitOver() int {
	if s.SplitOver > 0 {
		return s.SplitOver
	}
	return DefaultSplitOver
}

// Handle runs each task as a job of its own: the regions and parts of a
// batch are independent and run at the worker's concurrency, each ECS call
// paced by the adapter's limiter of its action.
//
// Outcomes: done when the region or part is finished or handed over to a
// continuation; retry when a read failed (nothing of the failed share was
// changed, and the rerun is level-based) or the hand-over could not be
// queued; dead letter for an invalid task.
func (s *Splitter) Handle(ctx context.Context, tasks []domain.Task) []task.Job {
	var jobs []task.Job
	for _, t := range tasks {
		if err := t.Validate(); err != nil {
			jobs = append(jobs, task.Known(task.Terminal(t.ID, task.ReasonInvalidTask, err.Error())))
			continue
		}
		run := s.runPart
		switch t.Kind {
		case domain.TaskCleanupRegion:
			run = s.runRegion
		case domain.TaskCleanupPart:
		default:
			jobs = append(jobs, task.Known(task.Terminal(t.ID, task.ReasonUnsupportedKind,
				fmt.Sprintf("the cleanup splitter got a %q task", t.Kind))))
			continue
		}
		jobs = append(jobs, task.Job{TaskIDs: []string{t.ID}, Run: func(ctx context.Context) []task.Outcome {
			ctx = logging.With(ctx, zap.String(logging.FieldRegion, t.RegionID), zap.String("run_id", t.Cause),
				zap.String(logging.FieldTaskID, t.ID))
			return []task.Outcome{run(ctx, t).For(t.ID)}
		}})
	}
	return jobs
}

func (s *Splitter) retry(op string, err error) task.Outcome {
	after := s.RetryAfter
	if after <= 0 {
		after = DefaultRetryAfter
	}
	return task.FromError("", fmt.Errorf("%s: %w", op, err), task.Options{Backoff: after, Soon: after})
}

// runRegion cleans one region in apply mode: in this task when it is at
// most SplitOver groups, else by queueing its first part.
func (s *Splitter) runRegion(ctx context.Context, t domain.Task) task.Outcome {
	runID := t.Cause
	if runID == "" {
		runID = "cleanup-" + t.EnqueuedAt.UTC().Format("20060102T150405Z")
	}
	now := t.EnqueuedAt.UTC()
	if t.Part != nil {
		now = t.Part.Now
	}
	policy := withRoles(s.Policy, t.Part)
	// Room for a part's worth of groups first: the region's size is only
	// known once it is listed.
	h, out, ok := s.reserve(ctx, "clean up "+t.RegionID)
	if !ok {
		return out
	}
	defer h.release()
	// Listed first, to know the region's size before reading the rest.
	var p part
	groups, err := s.Cleaner.Groups.ListGroups(ctx, t.RegionID, domain.GroupFilter{})
	if err == nil {
		h.shrinkTo(len(groups))
	}
	switch {
	case err != nil:
		// cleanRegion lists again and reports the failure in the plan.
	case len(groups) > s.splitOver():
		// Too large for one go: this task goes on as the region's first
		// part, with the listing in hand (later parts list their network).
		first, _ := firstPart(ctx, t.RegionID, runID, groups, policy, now, s.splitOver())
		return s.runPartListed(ctx, first, groups)
	default:
		p = part{groups: groups, listed: true}
	}
	rr := s.Cleaner.cleanRegion(ctx, t.RegionID, policy, ModeApply, now, runID, s.splitOver(), p)
	switch {
	case discoveryFailed(rr):
		// Nothing changed; the queue retries the region later.
		return s.retry("clean up "+t.RegionID, domain.Errorf(domain.KindRetryable, "discover", "", "%s", rr.Plan.Blocked))
	}
	return task.Succeeded("", "cleaned", summaryLine(rr.Summary))
}

// discoveryFailed reports whether the region's reads failed (runRegion
// then changed nothing).
func discoveryFailed(rr RegionReport) bool {
	for _, e := range rr.Errors {
		if strings.HasPrefix(e, discoveryErrorPrefix) {
			return true
		}
	}
	return false
}

func summaryLine(s Summary) string {
	line := fmt.Sprintf("%d groups, %d in scope; marked %d, unmarked %d, delete tasks %d of %d; errors %d",
		s.Scanned, s.InScope, s.Marked, s.Unmarked, s.DeleteTasksEnqueued, s.ToDelete, s.Errors)
	if len(s.Blocked) > 0 {
		line += "; withheld: " + strings.Join(s.Blocked, "; ")
	}
	return line
}

// share is what one share of a part did.
type share struct {
	groups     int
	last       string // the last group ID planned, when the network has more
	inScope    int
	marked     int
	unmarked   int
	errors     int
	candidates []domain.GroupDecision
}

// runPart processes shares (a network, or the next range of a network
// larger than SplitOver) until SplitOver groups are done or the deadline
// comes near, then hands the checkpoint over to a continuation; the last
// part decides the region's deletions.
func (s *Splitter) runPart(ctx context.Context, t domain.Task) task.Outcome {
	h, out, ok := s.reserve(ctx, "clean up a part of "+t.RegionID)
	if !ok {
		return out
	}
	defer h.release()
	return s.runPartListed(ctx, t, nil)
}

// reserve waits for room in the budget for a part's worth of groups. When
// the invocation's time runs out first, or too little of it is left to
// plan, the task is retried later (by another invocation) and ok is false.
func (s *Splitter) reserve(ctx context.Context, op string) (h *budgetHold, out task.Outcome, ok bool) {
	h, err := s.Budget.hold(ctx, s.splitOver())
	if err != nil {
		return nil, s.retry(op, domain.Wrap(domain.KindRetryable, "wait for memory", "",
			fmt.Errorf("other regions held this worker's %d-group budget until the invocation's time ran out: %w", s.Budget.Capacity(), err))), false
	}
	if s.Budget != nil && s.nearDeadline(ctx, 0) {
		h.release()
		return nil, s.retry(op, domain.Errorf(domain.KindRetryable, "wait for memory", "",
			"too little of the invocation's time was left once the budget had room")), false
	}
	return h, task.Outcome{}, true
}

// runPartListed is runPart with the region's listing when the task has it
// (the first part, run by the region's task): its shares then list nothing.
func (s *Splitter) runPartListed(ctx context.Context, t domain.Task, listed []domain.SecurityGroup) task.Outcome {
	p := *t.Part
	policy := withRoles(s.Policy, t.Part)
	p.Networks = append([]string(nil), p.Networks...)
	p.Candidates = append([]string(nil), p.Candidates...)
	log := logging.FromContext(ctx)
	budget := s.splitOver()
	if p.Release {
		// The second pass lists groups and reads nothing else: a network
		// at a time, whole.
		budget = math.MaxInt
	}
	done := 0
	var longest time.Duration
	reads := &regionReads{}
	for p.Next < len(p.Networks) {
		// At least one share per part, so that every part makes progress.
		if done > 0 && (done >= budget || s.nearDeadline(ctx, longest)) {
			next := p
			next.Parts++
			cont := domain.NewCleanupPartTask(t.RegionID, t.Cause, next, time.Now())
			if err := s.Cleaner.Tasks.SendTasks(ctx, []domain.Task{cont}); err != nil {
				// Retried from this task's own checkpoint: the shares done
				// here are redone, level-based.
				return s.retry("queue the continuation "+cont.ID, err)
			}
			log.Info("cleanup part handed over", zap.Int("groups", done), zap.String("next", cont.ID),
				zap.Int("candidates", p.CandidateCount))
			return task.Succeeded("", "continued", fmt.Sprintf("%d groups done, continued as %s", done, cont.ID))
		}
		start := time.Now()
		sh, err := s.share(ctx, policy, t.RegionID, p.Networks[p.Next], p.After, budget-done, p.Now, reads, !p.Release, listed)
		if err != nil {
			return s.retry(fmt.Sprintf("clean up network %q of %s", p.Networks[p.Next], t.RegionID), err)
		}
		longest = max(longest, time.Since(start))
		done += sh.groups
		if p.Release {
			n, err := s.release(ctx, t.RegionID, t.Cause, sh.candidates, p.Allowed-p.Enqueued)
			if err != nil {
				return s.retry("queue delete tasks of "+t.RegionID, err)
			}
			p.Enqueued += n
			if sh.last != "" {
				p.After = sh.last
			} else {
				p.Next, p.After = p.Next+1, ""
			}
			continue
		}
		p.Scanned += sh.groups
		p.InScope += sh.inScope
		p.Marked += sh.marked
		p.Unmarked += sh.unmarked
		p.Errors += sh.errors
		for _, d := range sh.candidates {
			p.CandidateCount++
			if p.CandidateCount <= min(domain.MaxCarriedCandidates, s.Policy.MaxDeletions) {
				p.Candidates = append(p.Candidates, d.Group.ID+"@"+d.StaleSince)
			}
		}
		if p.CandidateCount > s.Policy.MaxDeletions {
			p.Candidates = nil // withheld anyway: only the count matters
		}
		if sh.last != "" {
			p.After = sh.last
		} else {
			p.Next, p.After = p.Next+1, ""
		}
	}
	if p.Release {
		log.Info("cleanup region released", zap.Int("delete_tasks", p.Enqueued), zap.Int("allowed", p.Allowed), zap.Int("parts", p.Parts+1))
		return task.Succeeded("", "cleaned", fmt.Sprintf("second pass: %d delete tasks of %d approved", p.Enqueued, p.Allowed))
	}
	return s.decide(ctx, t.RegionID, t.Cause, p)
}

// release queues delete tasks for the deletable groups of a share of the
// second pass, at most allowed.
func (s *Splitter) release(ctx context.Context, region, runID string, candidates []domain.GroupDecision, allowed int) (int, error) {
	var deletes []domain.Task
	for _, d := range candidates {
		if len(deletes) >= allowed {
			break
		}
		deletes = append(deletes, domain.NewDeleteGroupTask(region, d.Group.ID, d.StaleSince, runID, time.Now()))
	}
	rr := newRegionReport(domain.RegionPlan{RegionID: region})
	s.Cleaner.enqueueDeletes(ctx, &rr, deletes)
	if rr.Summary.Errors > 0 {
		// Resent with the share on the retry: the worker re-checks each group.
		return 0, domain.Errorf(domain.KindRetryable, "enqueue", "", "%s", strings.Join(rr.Errors, "; "))
	}
	return len(deletes), nil
}

// nearDeadline reports whether another share would likely not finish
// before ctx's deadline: less than the margin, or than twice the longest
// share so far, is left.
func (s *Splitter) nearDeadline(ctx context.Context, longest time.Duration) bool {
	deadline, ok := ctx.Deadline()
	if !ok {
		return false
	}
	margin := s.Margin
	if margin <= 0 {
		margin = DefaultPartMargin
	}
	return time.Until(deadline) < max(margin, 2*longest)
}

// share plans up to limit groups of one network (those after the group
// after, in ID order) and applies their marks and unmarks. Deletable
// groups are returned, not deleted. A failed read is an error and nothing
// of the share changes.
func (s *Splitter) share(ctx context.Context, policy domain.CleanupPolicy, region, network, after string, limit int, now time.Time, reads *regionReads, tags bool, regionListing []domain.SecurityGroup) (share, error) {
	f := domain.GroupFilter{VPCID: network, NetworkType: domain.NetworkVPC}
	inst := domain.InstanceFilter{VPCID: network}
	if network == "" {
		// Classic instances cannot be filtered by network: all of them
		// are read, a superset that only adds users.
		f, inst = domain.GroupFilter{NetworkType: domain.NetworkClassic}, domain.InstanceFilter{}
	}
	listed := regionListing
	if listed == nil {
		var err error
		if listed, err = s.Cleaner.Groups.ListGroups(ctx, region, f); err != nil {
			return share{}, fmt.Errorf("list security groups: %w", err)
		}
	}
	var groups []domain.SecurityGroup
	for _, g := range listed {
		if g.VPCID == network && g.ID > after {
			groups = append(groups, g)
		}
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].ID < groups[j].ID })
	var sh share
	if len(groups) > limit {
		groups = groups[:limit]
		sh.last = groups[limit-1].ID
	}
	var in domain.RegionInput
	if tags {
		in, _ = s.Cleaner.discover(ctx, region, policy, now, part{groups: groups, listed: true, instances: inst, cache: reads})
		if in.DiscoveryError != "" {
			return share{}, domain.Errorf(domain.KindRetryable, "discover", "", "%s", in.DiscoveryError)
		}
	} else {
		// The second pass reads no users: the first pass of this run found
		// these groups unused and unmarked every group it found in use, so
		// a mark past the grace period names the candidates again. The
		// Deleter re-checks each one, and ECS refuses a group with
		// instances, ENIs or references.
		in = domain.RegionInput{RegionID: region, Groups: groups, Usage: map[string]domain.GroupUsage{}}
	}
	// No limit per share: the blast radius is decided over the region.
	open := policy
	open.MaxDeletions, open.MaxDeletePercent = math.MaxInt, 100
	plan := domain.PlanCleanup(in, open, now)
	rr := newRegionReport(plan)
	if tags { // the second pass only finds the deletable groups again
		s.Cleaner.applyTags(ctx, &rr, policy, nil)
		if len(rr.Errors) > 0 {
			// The part's outcome only carries the count: say what failed.
			logging.FromContext(ctx).Warn("cleanup share: tag changes failed", zap.String("network", network),
				zap.Int("errors", len(rr.Errors)), zap.String("first", rr.Errors[0]))
		}
	}
	sh.groups, sh.inScope = len(groups), plan.InScope
	sh.marked, sh.unmarked, sh.errors = rr.Summary.Marked, rr.Summary.Unmarked, rr.Summary.Errors
	for _, d := range plan.Decisions {
		if d.Action == domain.ActionDelete {
			sh.candidates = append(sh.candidates, d)
		}
	}
	logging.FromContext(ctx).Info("cleanup share done", zap.String("network", network), zap.String("after", after),
		zap.Int("groups", sh.groups), zap.Int("in_scope", sh.inScope), zap.Int("marked", sh.marked),
		zap.Int("unmarked", sh.unmarked), zap.Int("candidates", len(sh.candidates)), zap.Int("errors", sh.errors))
	return sh, nil
}

// decide is the blast-radius decision of a split region, made once by its
// last part over the whole region's counts: all its deletions go, or none.
// The carried candidates become delete tasks (each re-checked by the
// Deleter); when more were approved than a part carries, a second pass
// (CleanupPart.Release) plans the networks again and queues the deletable
// groups it finds, never more than the approved count.
func (s *Splitter) decide(ctx context.Context, region, runID string, p domain.CleanupPart) task.Outcome {
	log := logging.FromContext(ctx)
	blocked := domain.BlastRadius(p.CandidateCount, p.InScope, s.Policy)
	totals := fmt.Sprintf("%d parts, %d groups, %d in scope; marked %d, unmarked %d; %d deletable; errors %d",
		p.Parts+1, p.Scanned, p.InScope, p.Marked, p.Unmarked, p.CandidateCount, p.Errors)
	if blocked != "" {
		log.Warn("cleanup region finished: deletions withheld", zap.String("blocked", blocked), zap.String("totals", totals))
		return task.Succeeded("", domain.ReasonBlastRadius, totals+"; withheld: "+blocked)
	}
	if p.CandidateCount > len(p.Candidates) {
		// Approved, but more than a task carries: a second pass over the
		// networks finds them again and queues at most the approved count.
		rel := domain.CleanupPart{Networks: p.Networks, Now: p.Now, Roles: p.Roles, Parts: p.Parts + 1,
			Release: true, Allowed: p.CandidateCount}
		t := domain.NewCleanupPartTask(region, runID, rel, time.Now())
		if err := s.Cleaner.Tasks.SendTasks(ctx, []domain.Task{t}); err != nil {
			return s.retry("queue the second pass "+t.ID, err)
		}
		log.Info("cleanup region approved: second pass queued", zap.String("totals", totals), zap.String("next", t.ID))
		return task.Succeeded("", "continued", totals+"; approved, queued by a second pass "+t.ID)
	}
	var deletes []domain.Task
	for _, c := range p.Candidates {
		id, mark, _ := strings.Cut(c, "@")
		deletes = append(deletes, domain.NewDeleteGroupTask(region, id, mark, runID, time.Now()))
	}
	rr := newRegionReport(domain.RegionPlan{RegionID: region})
	s.Cleaner.enqueueDeletes(ctx, &rr, deletes)
	if rr.Summary.Errors > 0 {
		return s.retry("queue delete tasks of "+region, domain.Errorf(domain.KindRetryable, "enqueue", "", "%s", strings.Join(rr.Errors, "; ")))
	}
	detail := fmt.Sprintf("%s; delete tasks %d", totals, len(deletes))
	lvl := zap.InfoLevel
	if p.Errors > 0 {
		lvl = zap.WarnLevel
	}
	log.Check(lvl, "cleanup region finished").Write(zap.String("totals", totals), zap.Int("delete_tasks", len(deletes)),
		zap.Int("parts", p.Parts+1), zap.Int("errors", p.Errors))
	return task.Succeeded("", "cleaned", detail)
}

// QueueRegions is the nightly coordinator of a run over several regions:
// it validates opts like [Cleaner.Run], queues one TaskCleanupRegion per
// region for the worker, and reports what it queued. Each region is then
// cleaned (or split) in an invocation of its own.
func QueueRegions(ctx context.Context, tasks TaskSender, opts Options) (Report, error) {
	if err := ValidatePolicy(opts.Policy); err != nil {
		return Report{}, err
	}
	regions, err := checkRegions(opts.Regions)
	if err != nil {
		return Report{}, err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC()
	runID := opts.RunID
	if runID == "" {
		runID = "cleanup-" + now.Format("20060102T150405Z")
	}
	rep := Report{RunID: runID, Mode: ModeApply, Now: now, Scope: opts.Policy.Scope.String(), Regions: []RegionReport{}}
	roles := declaredRoles(opts.Policy)
	var queued []domain.Task
	for _, region := range regions {
		queued = append(queued, domain.NewCleanupRegionTask(region, runID, roles, now))
	}
	err = tasks.SendTasks(ctx, queued)
	// A partial failure names the failed tasks (TaskSender); the others went.
	named := false
	for _, t := range queued {
		named = named || (err != nil && strings.Contains(err.Error(), t.ID))
	}
	for _, t := range queued {
		rr := newRegionReport(domain.RegionPlan{RegionID: t.RegionID})
		rr.Split = &SplitInfo{Threshold: opts.SplitOver, TaskID: t.ID,
			Note: "queued to the worker: each region is cleaned in an invocation of its own, and split into parts when larger than the threshold"}
		if err != nil && (!named || strings.Contains(err.Error(), t.ID)) {
			rr.addError(fmt.Sprintf("queue %s: %v", t.ID, err))
			rr.Split.TaskID = ""
		}
		rep.Regions = append(rep.Regions, rr)
	}
	rep.Summary = newSummary()
	for _, rr := range rep.Regions {
		rep.Summary.add(rr.Summary)
	}
	logging.FromContext(ctx).Info("cleanup regions queued", zap.String("run_id", runID), zap.Int("regions", len(queued)),
		zap.Int("errors", rep.Summary.Errors))
	return rep, nil
}
