package intake

import (
	"context"
	"fmt"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
)

// CauseReconcile is the task cause of instances found by the backfill.
const CauseReconcile = "reconcile"

// Reconcile defaults.
const (
	// DefaultProgressEvery: a progress line per this many instances.
	DefaultProgressEvery = 500
	// DefaultSendChunk: tasks are sent in chunks of this many (ten MNS
	// batches), so a run cut short by the function deadline keeps what it
	// already enqueued and memory stays bounded on large fleets.
	DefaultSendChunk = 160
	// DefaultMaxIssues bounds the instances listed in
	// ReconcileSummary.Attention (ByReason still counts them all).
	DefaultMaxIssues = 100
)

// Reconciler is the backfill: it finds the instances of a region whose
// membership does not follow their role tag (role groups missing, after an
// instance created before sgpilot was deployed or a lost event; or groups of
// a role the instance no longer carries, after a retag whose event was
// lost) and enqueues an onboard task for each of them only. Instances
// whose role tag was removed altogether are not listed (the listing filters
// on the tag key); their tag event, or a manual task, moves them.
// It reads through the same planner the worker uses, so "incomplete" means
// exactly what the worker would act on; it changes nothing itself.
type Reconciler struct {
	Instances InstanceLister
	Groups    GroupLister
	Sender    TaskSender
	// RoleTagKey is the role tag (domain.DefaultRoleTagKey when empty).
	RoleTagKey string
	// GroupLimit is the per-instance group quota (0 = domain default).
	GroupLimit int
	// Scope and AllowedGroupIDs select the groups that play roles, as in
	// the worker (zero Scope = domain.DefaultScope()).
	Scope           domain.Scope
	AllowedGroupIDs []string
	// ProgressEvery, SendChunk, MaxIssues: 0 = the defaults above.
	ProgressEvery int
	SendChunk     int
	MaxIssues     int
	// DryRun lists the tasks without sending them.
	DryRun bool
	// Pages, SplitOver, PageSize and Margin split a large backfill
	// (reconcile_pages.go): with Pages set and SplitOver > 0, a run reads
	// the region page by page and, past SplitOver instances or near its
	// deadline, hands the listing's token over to a TaskReconcilePage.
	Pages     InstancePager
	SplitOver int
	PageSize  int           // DefaultPageSize when ≤ 0
	Margin    time.Duration // DefaultPageMargin when ≤ 0
	// Now stamps tasks (time.Now when nil).
	Now func() time.Time
}

// Issue is an instance the backfill cannot fix by enqueueing a task: the
// plan refuses it (no group for a role, over the group limit, an unreadable
// role tag). It needs a human; the worker would dead-letter it.
type Issue struct {
	InstanceID string        `json:"instanceId"`
	Reason     domain.Reason `json:"reason"`
	Detail     string        `json:"detail"`
}

// ReconcileSummary reports one region's backfill.
type ReconcileSummary struct {
	RegionID string `json:"region"`
	DryRun   bool   `json:"dryRun,omitempty"`
	// Instances carry the role tag key; RoleGroups carry it too.
	Instances  int `json:"instances"`
	RoleGroups int `json:"roleGroups"`
	// Complete instances are already in every role group.
	Complete int `json:"complete"`
	// Enqueued counts tasks sent (0 on a dry run); TaskIDs lists the tasks
	// built, sent or (dry run) not.
	Enqueued int      `json:"enqueued"`
	TaskIDs  []string `json:"taskIds,omitempty"`
	// NeedsAttention counts instances listed (up to MaxIssues) in Attention.
	NeedsAttention int     `json:"needsAttention"`
	Attention      []Issue `json:"attention,omitempty"`
	// ByReason counts instances per plan reason (complete, join,
	// no-role-group, over-group-limit, instance-not-ready, ...).
	ByReason map[domain.Reason]int `json:"byReason"`
	// ContinuedAs is the reconcile-page task that goes on with the rest
	// of the region (a split backfill); the counts are this part's.
	ContinuedAs string `json:"continuedAs,omitempty"`
	// Part counts the parts before this one (0 for the first).
	Part int `json:"part,omitempty"`
}

// Run backfills one region (a dry run when r.DryRun is set).
func (r *Reconciler) Run(ctx context.Context, regionID string) (ReconcileSummary, error) {
	return r.run(ctx, regionID, r.DryRun)
}

// Plan is a dry run of one region: what Run would enqueue, sending nothing.
func (r *Reconciler) Plan(ctx context.Context, regionID string) (ReconcileSummary, error) {
	return r.run(ctx, regionID, true)
}

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// run backfills one region, one step per method of reconcileRun: check the
// reconciler, discover the region, visit each instance, send in chunks,
// report.
func (r *Reconciler) run(ctx context.Context, regionID string, dry bool) (ReconcileSummary, error) {
	if r.paged() && !dry {
		// A dry run reads the whole region: it queues nothing to go on with.
		return r.runPages(ctx, regionID, "", 0, "")
	}
	run, err := r.newRun(ctx, regionID, dry)
	if err != nil {
		return run.s, err
	}
	instances, err := run.discover(ctx)
	if err != nil {
		return run.s, err
	}
	every := orDefault(r.ProgressEvery, DefaultProgressEvery)
	chunk := orDefault(r.SendChunk, DefaultSendChunk)
	for i, inst := range instances {
		if err := ctx.Err(); err != nil {
			return run.s, fmt.Errorf("%s: stopped after %d of %d instances, %d tasks enqueued: %w", run.op, i, len(instances), run.s.Enqueued, err)
		}
		run.visit(inst)
		if len(run.pending) >= chunk {
			if err := run.flush(ctx); err != nil {
				return run.s, err
			}
		}
		if (i+1)%every == 0 {
			run.progress(i+1, len(instances))
		}
	}
	if err := run.flush(ctx); err != nil {
		return run.s, err
	}
	run.finished()
	return run.s, nil
}

// reconcileRun is the state of one backfill.
type reconcileRun struct {
	r         *Reconciler
	op        string
	regionID  string
	key       string // the role tag key
	dry       bool
	stamp     time.Time
	maxIssues int
	log       *zap.Logger
	byNetwork map[domain.NetworkKey][]domain.SecurityGroup
	pending   []domain.Task // built, not yet sent
	s         ReconcileSummary
}

// newRun checks the region and the reconciler's ports.
func (r *Reconciler) newRun(ctx context.Context, regionID string, dry bool) (*reconcileRun, error) {
	run := &reconcileRun{r: r, op: "reconcile " + regionID, regionID: regionID, key: r.RoleTagKey, dry: dry,
		maxIssues: orDefault(r.MaxIssues, DefaultMaxIssues),
		log:       logging.FromContext(ctx).With(zap.String(logging.FieldRegion, regionID)),
		s:         ReconcileSummary{RegionID: regionID, DryRun: dry, ByReason: map[domain.Reason]int{}}}
	if run.key == "" {
		run.key = domain.DefaultRoleTagKey
	}
	run.stamp = time.Now()
	if r.Now != nil {
		run.stamp = r.Now()
	}
	if !domain.ValidRegionID(regionID) {
		return run, domain.Errorf(domain.KindInvalid, run.op, "", "region %q is not a region ID", regionID)
	}
	if (r.Instances == nil && !r.paged()) || r.Groups == nil || (r.Sender == nil && !dry) {
		return run, domain.Errorf(domain.KindInternal, run.op, "", "reconciler is missing a lister or a sender")
	}
	return run, nil
}

// discover lists the role-tagged instances (sorted by ID) and role groups
// (by network) of the region.
func (run *reconcileRun) discover(ctx context.Context) ([]domain.Instance, error) {
	instances, err := run.r.Instances.ListInstances(ctx, run.regionID, domain.InstanceFilter{TagKey: run.key})
	if err != nil {
		return nil, fmt.Errorf("%s: list instances tagged %s: %w", run.op, run.key, err)
	}
	groups, err := run.r.Groups.ListGroups(ctx, run.regionID, domain.GroupFilter{TagKey: run.key})
	if err != nil {
		return nil, fmt.Errorf("%s: list groups tagged %s: %w", run.op, run.key, err)
	}
	run.index(groups)
	sort.Slice(instances, func(i, j int) bool { return instances[i].ID < instances[j].ID })
	run.s.Instances, run.s.RoleGroups = len(instances), len(groups)
	run.log.Info("reconcile started", zap.Int("instances", len(instances)), zap.Int("role_groups", len(groups)), zap.Bool("dry_run", run.dry))
	return instances, nil
}

// index keeps the role groups by network for the planner.
func (run *reconcileRun) index(groups []domain.SecurityGroup) {
	run.byNetwork = map[domain.NetworkKey][]domain.SecurityGroup{}
	for _, g := range groups {
		if g.RegionID == "" {
			g.RegionID = run.regionID
		}
		run.byNetwork[g.Network()] = append(run.byNetwork[g.Network()], g)
	}
	run.s.RoleGroups = len(groups)
}

// visit plans one instance with the worker's planner and records the
// outcome: a task when it has groups to join (now, or once it is ready),
// nothing when it is complete, an Issue when it needs a human.
func (run *reconcileRun) visit(inst domain.Instance) {
	if inst.RegionID == "" {
		inst.RegionID = run.regionID
	}
	ilog := run.log.With(zap.String(logging.FieldInstanceID, inst.ID))
	plan, err := domain.PlanMembership(domain.MembershipInput{Instance: inst, RoleTagKey: run.key,
		NetworkGroups: run.byNetwork[inst.Network()], GroupLimit: run.r.GroupLimit,
		Scope: run.r.Scope, AllowedGroupIDs: run.r.AllowedGroupIDs})
	run.s.ByReason[plan.Reason]++
	switch {
	case err == nil && plan.Changes(), err != nil && domain.IsRetryable(err):
		// Groups to join: now (join) or once the instance is Running or
		// Stopped (the worker retries not-ready instances).
		t := domain.NewOnboardTask(run.regionID, inst.ID, CauseReconcile, run.stamp)
		run.pending = append(run.pending, t)
		run.s.TaskIDs = append(run.s.TaskIDs, t.ID)
		decision := DecisionEnqueue
		if run.dry {
			decision = DecisionWould
		}
		ilog.Info("instance incomplete", zap.String(logging.FieldTaskID, t.ID), zap.String(logging.FieldDecision, decision),
			zap.String(logging.FieldReason, string(plan.Reason)), zap.Strings("to_join", plan.ToJoin), zap.Strings("to_leave", plan.ToLeave))
	case err == nil:
		if plan.Complete() {
			run.s.Complete++
		}
		ilog.Debug("nothing to do", zap.String(logging.FieldDecision, DecisionSkip), zap.String(logging.FieldReason, string(plan.Reason)))
	default:
		run.s.NeedsAttention++
		if len(run.s.Attention) < run.maxIssues {
			run.s.Attention = append(run.s.Attention, Issue{InstanceID: inst.ID, Reason: plan.Reason, Detail: plan.Detail})
		}
		ilog.Warn("instance needs attention", zap.String(logging.FieldDecision, DecisionAttention),
			zap.String(logging.FieldReason, string(plan.Reason)), zap.String("detail", plan.Detail))
	}
}

// flush sends the pending tasks (drops them on a dry run). A fresh slice
// follows: the sender may keep the one it got.
func (run *reconcileRun) flush(ctx context.Context) error {
	if run.dry || len(run.pending) == 0 {
		run.pending = nil
		return nil
	}
	if err := run.r.Sender.SendTasks(ctx, run.pending); err != nil {
		return fmt.Errorf("%s: enqueue %d onboard tasks (%d sent before): %w", run.op, len(run.pending), run.s.Enqueued, err)
	}
	run.s.Enqueued += len(run.pending)
	run.pending = nil
	return nil
}

func (run *reconcileRun) progress(done, total int) {
	run.log.Info("reconcile progress", zap.Int("done", done), zap.Int("instances", total),
		zap.Int("tasks", len(run.s.TaskIDs)), zap.Int("enqueued", run.s.Enqueued))
}

func (run *reconcileRun) finished() {
	s := run.s
	run.log.Info("reconcile finished", zap.Int("instances", s.Instances), zap.Int("complete", s.Complete),
		zap.Int("tasks", len(s.TaskIDs)), zap.Int("enqueued", s.Enqueued), zap.Int("needs_attention", s.NeedsAttention),
		zap.Any("by_reason", s.ByReason), zap.Bool("dry_run", run.dry))
}
