package cleanup

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
	"github.com/sgpilot/sgpilot/shared/core/retry"
)

// Mode says whether a run may change anything.
type Mode string

const (
	// ModePlan computes and returns the plan and changes nothing.
	ModePlan Mode = "plan"
	// ModeApply marks, unmarks and enqueues delete tasks as planned.
	ModeApply Mode = "apply"
)

// ParseMode reads "plan" or "apply"; "" is plan, the mode that cannot hurt.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case "", ModePlan:
		return ModePlan, nil
	case ModeApply:
		return ModeApply, nil
	default:
		return "", domain.Errorf(domain.KindInvalid, "parse cleanup mode", "", "mode %q: want plan or apply", s)
	}
}

// DefaultProgressEvery is how many groups pass between two progress log
// lines of a long run.
const DefaultProgressEvery = 1000

// Options configure one run.
type Options struct {
	Regions []string
	Policy  domain.CleanupPolicy
	// Mode: ModePlan (also for "") or ModeApply.
	Mode Mode
	// Now is the run's clock reading; zero means time.Now().
	Now time.Time
	// RunID names the run in logs and becomes the Cause of its delete
	// tasks; "" means "cleanup-" + Now as 20060102T150405Z.
	RunID string
}

// Cleaner is the nightly stale-group cleanup. Its fields are the ports it
// uses; [NewCleaner] fills them from one ECS adapter and one queue.
// A Cleaner holds no state between runs and may run concurrently.
type Cleaner struct {
	Groups     GroupLister
	Instances  InstanceLister
	Interfaces InterfaceLister
	References ReferenceReader
	Templates  TemplateReader
	Tagger     Tagger
	Tasks      TaskSender
	// Retry is the policy for every call; a zero MaxAttempts means
	// retry.Default(). Only throttled and retryable errors are retried.
	Retry retry.Policy
	// ProgressEvery: log progress after this many groups; 0 means
	// DefaultProgressEvery.
	ProgressEvery int
}

// NewCleaner wires a Cleaner to an ECS adapter and a task queue.
func NewCleaner(ecs ECS, tasks TaskSender) *Cleaner {
	return &Cleaner{Groups: ecs, Instances: ecs, Interfaces: ecs, References: ecs, Templates: ecs, Tagger: ecs, Tasks: tasks}
}

// ValidatePolicy rejects a policy a run must not act on. An empty scope is
// refused rather than silently matching nothing.
func ValidatePolicy(p domain.CleanupPolicy) error {
	bad := func(format string, args ...any) error {
		return domain.Errorf(domain.KindInvalid, "validate cleanup policy", "", format, args...)
	}
	switch {
	case p.Scope.Empty():
		return bad("scope is empty: set a tag key or a name prefix")
	case p.StaleTagKey == "":
		return bad("stale tag key is empty")
	case p.ProtectTagKey == "":
		return bad("protect tag key is empty")
	case p.StaleTagKey == p.ProtectTagKey:
		return bad("stale and protect tag keys are both %q", p.StaleTagKey)
	case p.Scope.TagKey == p.StaleTagKey:
		return bad("scope tag key %q is the stale tag key", p.Scope.TagKey)
	case p.GracePeriod < 0:
		return bad("grace period %s is negative", p.GracePeriod)
	case p.MinGroupAge < 0:
		return bad("minimum group age %s is negative", p.MinGroupAge)
	case p.MaxDeletions < 0:
		return bad("maximum deletions %d is negative", p.MaxDeletions)
	case p.MaxDeletePercent < 0 || p.MaxDeletePercent > 100:
		return bad("maximum delete percentage %g is outside 0..100", p.MaxDeletePercent)
	}
	return nil
}

// Run plans, and in apply mode carries out, the cleanup of every region in
// opts. Regions are independent: a region whose discovery fails is left
// unchanged and reported, and the others proceed. The error is non-nil only
// when opts are invalid; failures inside regions are in the report (see
// [Report.Err]).
//
// # Calls per region
//
// With G groups, I instances, E ENIs, C reference candidates (in scope, not
// protected or service-managed, no instance, ENI or launch template, and not
// both too young and unmarked), M marks per distinct mark value, U unmarks
// and D delete tasks, a run makes ceil(G/100) group pages, ceil(I/100)
// instance pages, ceil(E/500) ENI pages, the launch-template read,
// ceil(C/10) reference calls, ceil(M/50) TagResources, ceil(U/50)
// UntagResources and ceil(D/16) queue sends, plus retries. A plan-mode run
// makes only the reads.
func (c *Cleaner) Run(ctx context.Context, opts Options) (Report, error) {
	if err := ValidatePolicy(opts.Policy); err != nil {
		return Report{}, err
	}
	mode, err := ParseMode(string(opts.Mode))
	if err != nil {
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
	rep := Report{RunID: runID, Mode: mode, Now: now, Scope: opts.Policy.Scope.String(), Regions: []RegionReport{}}
	log := logging.FromContext(ctx).With(zap.String("run_id", runID), zap.String("mode", string(mode)))
	log.Info("cleanup run starting", zap.Strings("regions", regions), zap.String("scope", rep.Scope),
		zap.Duration("grace_period", opts.Policy.GracePeriod), zap.Duration("min_age", opts.Policy.MinGroupAge),
		zap.Int("max_deletions", opts.Policy.MaxDeletions), zap.Float64("max_delete_percent", opts.Policy.MaxDeletePercent))

	for _, region := range regions {
		rctx := logging.WithContext(ctx, log.With(zap.String(logging.FieldRegion, region)))
		rep.Regions = append(rep.Regions, c.runRegion(rctx, region, opts.Policy, mode, now, runID))
	}
	rep.Summary = newSummary()
	for _, rr := range rep.Regions {
		rep.Summary.add(rr.Summary)
	}
	logSummary(log, "cleanup run finished", rep.Summary)
	return rep, nil
}

func checkRegions(regions []string) ([]string, error) {
	if len(regions) == 0 {
		return nil, domain.Errorf(domain.KindInvalid, "validate cleanup options", "", "no regions to clean up")
	}
	for _, r := range regions {
		if !domain.ValidRegionID(r) {
			return nil, domain.Errorf(domain.KindInvalid, "validate cleanup options", "", "region %q is not a region ID", r)
		}
	}
	// Keep the configured order, drop repeats: a region is cleaned once.
	seen := map[string]bool{}
	var out []string
	for _, r := range regions {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out, nil
}

func (c *Cleaner) runRegion(ctx context.Context, region string, policy domain.CleanupPolicy, mode Mode, now time.Time, runID string) RegionReport {
	log := logging.FromContext(ctx)
	start := time.Now()
	in := c.discover(ctx, region, policy, now)
	plan := domain.PlanCleanup(in, policy, now)
	rr := newRegionReport(plan)
	if in.DiscoveryError != "" {
		rr.addError("discovery: " + in.DiscoveryError)
		log.Error("discovery incomplete: nothing changes in this region", zap.String("error", in.DiscoveryError))
	} else if plan.Blocked != "" {
		log.Warn("deletions withheld", zap.String("blocked", plan.Blocked))
	}
	for _, d := range rr.Decisions {
		lvl := zap.DebugLevel
		if d.Action == domain.ActionMark || d.Action == domain.ActionUnmark || d.Action == domain.ActionDelete {
			lvl = zap.InfoLevel
		}
		if ce := log.Check(lvl, "cleanup decision"); ce != nil {
			ce.Write(zap.String(logging.FieldGroupID, d.GroupID), zap.String(logging.FieldDecision, string(d.Action)),
				zap.String(logging.FieldReason, string(d.Reason)), zap.String("detail", d.Detail))
		}
	}
	// A region with a discovery error has nothing to apply (the plan
	// withholds every change); the check makes that explicit.
	if mode == ModeApply && in.DiscoveryError == "" {
		c.apply(ctx, &rr, policy, now, runID)
	}
	logSummary(log.With(zap.Duration("took", time.Since(start))), "cleanup region finished", rr.Summary)
	return rr
}

func (c *Cleaner) call(ctx context.Context, f func(context.Context) error) error {
	p := c.Retry
	if p.MaxAttempts == 0 {
		p = retry.Default()
	}
	return retry.Do(ctx, p, domain.IsRetryable, f)
}

func (c *Cleaner) progressEvery() int {
	if c.ProgressEvery > 0 {
		return c.ProgressEvery
	}
	return DefaultProgressEvery
}

// usageBuilder accumulates usage by group ID.
type usageBuilder map[string]*domain.GroupUsage

func (b usageBuilder) get(id string) *domain.GroupUsage {
	u := b[id]
	if u == nil {
		u = &domain.GroupUsage{}
		b[id] = u
	}
	return u
}

// discover reads everything the plan needs. It stops at the first failed
// read and reports it in DiscoveryError: the plan then changes nothing.
func (c *Cleaner) discover(ctx context.Context, region string, policy domain.CleanupPolicy, now time.Time) domain.RegionInput {
	log := logging.FromContext(ctx)
	in := domain.RegionInput{RegionID: region, Usage: map[string]domain.GroupUsage{}}
	usage := usageBuilder{}
	finish := func(what string, err error) domain.RegionInput {
		if err != nil {
			in.DiscoveryError = fmt.Sprintf("%s in %s: %v", what, region, err)
		}
		for id, u := range usage {
			u.Instances = domain.SortedUnique(u.Instances)
			u.ENIs = domain.SortedUnique(u.ENIs)
			u.ReferencedBy = domain.SortedUnique(u.ReferencedBy)
			u.LaunchTemplates = domain.SortedUnique(u.LaunchTemplates)
			in.Usage[id] = *u
		}
		return in
	}

	// All groups, no tag filter: DescribeSecurityGroups with a tag filter
	// reaches at most 1000 matches, so scope is applied here instead.
	var groups []domain.SecurityGroup
	err := c.call(ctx, func(ctx context.Context) error {
		var err error
		groups, err = c.Groups.ListGroups(ctx, region, domain.GroupFilter{})
		return err
	})
	if err != nil {
		return finish("list security groups", err)
	}
	seen := make(map[string]bool, len(groups))
	for _, g := range groups {
		if seen[g.ID] {
			// Paging that repeats an entry may also have skipped one.
			return finish("list security groups", fmt.Errorf("group %s listed twice: the listing is inconsistent", g.ID))
		}
		seen[g.ID] = true
	}
	in.Groups = groups
	log.Info("cleanup discovery: groups listed", zap.Int("groups", len(groups)))

	var instances []domain.Instance
	err = c.call(ctx, func(ctx context.Context) error {
		var err error
		instances, err = c.Instances.ListInstances(ctx, region, domain.InstanceFilter{})
		return err
	})
	if err != nil {
		return finish("list instances", err)
	}
	type membership struct{ instance, group string }
	member := map[membership]bool{}
	for _, inst := range instances {
		for _, gid := range inst.GroupIDs {
			usage.get(gid).Instances = append(usage.get(gid).Instances, inst.ID)
			member[membership{inst.ID, gid}] = true
		}
	}

	var enis []domain.NetworkInterface
	err = c.call(ctx, func(ctx context.Context) error {
		var err error
		enis, err = c.Interfaces.ListNetworkInterfaces(ctx, region)
		return err
	})
	if err != nil {
		return finish("list network interfaces", err)
	}
	for _, eni := range enis {
		for _, gid := range eni.GroupIDs {
			// An instance's primary ENI is the instance itself, already counted.
			if strings.EqualFold(eni.Type, "Primary") && member[membership{eni.InstanceID, gid}] {
				continue
			}
			usage.get(gid).ENIs = append(usage.get(gid).ENIs, eni.ID)
		}
	}

	var templates map[string][]string
	err = c.call(ctx, func(ctx context.Context) error {
		var err error
		templates, err = c.Templates.LaunchTemplateGroups(ctx, region)
		return err
	})
	if err != nil {
		return finish("read launch templates", err)
	}
	for gid, lts := range templates {
		usage.get(gid).LaunchTemplates = append(usage.get(gid).LaunchTemplates, lts...)
	}
	log.Info("cleanup discovery: usage read", zap.Int("instances", len(instances)), zap.Int("enis", len(enis)),
		zap.Int("groups_in_templates", len(templates)))

	// References last, and only for groups that nothing else already
	// decides: they are the expensive read (10 groups per call).
	var candidates []string
	for _, g := range groups {
		if needsReferences(g, usage[g.ID], policy, now) {
			candidates = append(candidates, g.ID)
		}
	}
	sort.Strings(candidates)
	every, next := c.progressEvery(), c.progressEvery()
	for start := 0; start < len(candidates); start += ReferenceBatchSize {
		batch := candidates[start:min(start+ReferenceBatchSize, len(candidates))]
		var refs map[string][]string
		err := c.call(ctx, func(ctx context.Context) error {
			var err error
			refs, err = c.References.GroupReferences(ctx, region, batch)
			return err
		})
		if err != nil {
			return finish(fmt.Sprintf("read references of %s", strings.Join(batch, ",")), err)
		}
		for _, gid := range batch {
			for _, other := range refs[gid] {
				if other != gid && other != "" { // a group's rules naming itself do not keep it
					usage.get(gid).ReferencedBy = append(usage.get(gid).ReferencedBy, other)
				}
			}
		}
		if done := start + len(batch); done >= next {
			log.Info("cleanup discovery: references progress", zap.Int("checked", done), zap.Int("candidates", len(candidates)))
			next += every
		}
	}
	log.Info("cleanup discovery: references read", zap.Int("candidates", len(candidates)))
	return finish("", nil)
}

// needsReferences reports whether the plan's verdict on g can depend on
// its references: only then are they read.
func needsReferences(g domain.SecurityGroup, u *domain.GroupUsage, policy domain.CleanupPolicy, now time.Time) bool {
	if !policy.Scope.Matches(g) || g.ServiceManaged {
		return false
	}
	if _, protected := g.Tags[policy.ProtectTagKey]; protected {
		return false
	}
	if u != nil && u.InUse() {
		return false // kept or unmarked whatever references say
	}
	tooYoung := !g.CreationTime.IsZero() && now.Sub(g.CreationTime) < policy.MinGroupAge
	_, marked := g.Tags[policy.StaleTagKey]
	// A young unmarked group is kept either way; a young marked one may
	// need unmarking, which references decide.
	return !tooYoung || marked
}

// apply carries out a region's plan: unmarks first (a used group must not
// keep a mark a moment longer than needed), then marks, then delete tasks.
// Each batch stands alone: a failure is recorded on its groups and the
// rest go on.
func (c *Cleaner) apply(ctx context.Context, rr *RegionReport, policy domain.CleanupPolicy, now time.Time, runID string) {
	log := logging.FromContext(ctx)
	region := rr.RegionID
	var unmarks []string
	marks := map[string][]string{} // mark value -> groups
	var deletes []domain.Task
	for _, d := range rr.Decisions {
		switch d.Action {
		case domain.ActionUnmark:
			unmarks = append(unmarks, d.GroupID)
		case domain.ActionMark:
			marks[d.StaleSince] = append(marks[d.StaleSince], d.GroupID)
		case domain.ActionDelete:
			deletes = append(deletes, domain.NewDeleteGroupTask(region, d.GroupID, d.StaleSince, runID, now))
		}
	}

	for start := 0; start < len(unmarks); start += TagBatchSize {
		batch := unmarks[start:min(start+TagBatchSize, len(unmarks))]
		err := c.call(ctx, func(ctx context.Context) error {
			return c.Tagger.UntagGroups(ctx, region, batch, []string{policy.StaleTagKey})
		})
		if err != nil {
			rr.failed(batch, fmt.Sprintf("unmark %s: %v", strings.Join(batch, ","), err), err)
			continue
		}
		rr.Summary.Unmarked += len(batch)
	}

	values := make([]string, 0, len(marks))
	for v := range marks {
		values = append(values, v)
	}
	sort.Strings(values)
	for _, v := range values {
		ids := marks[v]
		for start := 0; start < len(ids); start += TagBatchSize {
			batch := ids[start:min(start+TagBatchSize, len(ids))]
			err := c.call(ctx, func(ctx context.Context) error {
				return c.Tagger.TagGroups(ctx, region, batch, domain.Tags{policy.StaleTagKey: v})
			})
			if err != nil {
				rr.failed(batch, fmt.Sprintf("mark %s=%s on %s: %v", policy.StaleTagKey, v, strings.Join(batch, ","), err), err)
				continue
			}
			rr.Summary.Marked += len(batch)
		}
	}

	for start := 0; start < len(deletes); start += TaskBatchSize {
		batch := deletes[start:min(start+TaskBatchSize, len(deletes))]
		// Resending a batch after a partial failure is harmless: the
		// worker re-checks each group and a gone group is done.
		err := c.call(ctx, func(ctx context.Context) error { return c.Tasks.SendTasks(ctx, batch) })
		ids := make([]string, len(batch))
		for i, t := range batch {
			ids[i] = t.GroupID
		}
		if err != nil {
			rr.failed(ids, fmt.Sprintf("enqueue delete tasks for %s: %v", strings.Join(ids, ","), err), err)
			continue
		}
		rr.Summary.DeleteTasksEnqueued += len(batch)
	}
	if n := rr.Summary.Errors; n > 0 {
		log.Error("cleanup apply had failures", zap.Int("errors", n), zap.Strings("details", rr.Errors))
	}
}

func logSummary(log *zap.Logger, msg string, s Summary) {
	fields := []zap.Field{zap.Int("scanned", s.Scanned), zap.Int("in_scope", s.InScope),
		zap.Int("to_mark", s.ToMark), zap.Int("marked", s.Marked), zap.Int("to_unmark", s.ToUnmark), zap.Int("unmarked", s.Unmarked),
		zap.Int("to_delete", s.ToDelete), zap.Int("delete_tasks_enqueued", s.DeleteTasksEnqueued),
		zap.Any("kept_by_reason", s.KeptByReason), zap.Any("skipped_by_reason", s.SkippedByReason),
		zap.Int("errors", s.Errors)}
	if len(s.Blocked) > 0 {
		fields = append(fields, zap.Strings("blocked", s.Blocked))
	}
	if s.Errors > 0 {
		log.Warn(msg, fields...)
		return
	}
	log.Info(msg, fields...)
}

// isContextErr reports whether err ended because the run ran out of time.
func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, retry.ErrDeadlineNear)
}
