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

// Reconciler is the backfill: it finds the instances of a region whose role
// groups are incomplete (instances created before sgpilot was deployed, or
// whose event was lost) and enqueues an onboard task for each of them only.
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
	// ProgressEvery, SendChunk, MaxIssues: 0 = the defaults above.
	ProgressEvery int
	SendChunk     int
	MaxIssues     int
	// DryRun lists the tasks without sending them.
	DryRun bool
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

func (r *Reconciler) run(ctx context.Context, regionID string, dry bool) (ReconcileSummary, error) {
	s := ReconcileSummary{RegionID: regionID, DryRun: dry, ByReason: map[domain.Reason]int{}}
	op := "reconcile " + regionID
	if !domain.ValidRegionID(regionID) {
		return s, domain.Errorf(domain.KindInvalid, op, "", "region %q is not a region ID", regionID)
	}
	if r.Instances == nil || r.Groups == nil || (r.Sender == nil && !dry) {
		return s, domain.Errorf(domain.KindInternal, op, "", "reconciler is missing a lister or a sender")
	}
	key := r.RoleTagKey
	if key == "" {
		key = domain.DefaultRoleTagKey
	}
	log := logging.FromContext(ctx).With(zap.String(logging.FieldRegion, regionID))
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	stamp := now()

	instances, err := r.Instances.ListInstances(ctx, regionID, domain.InstanceFilter{TagKey: key})
	if err != nil {
		return s, fmt.Errorf("%s: list instances tagged %s: %w", op, key, err)
	}
	groups, err := r.Groups.ListGroups(ctx, regionID, domain.GroupFilter{TagKey: key})
	if err != nil {
		return s, fmt.Errorf("%s: list groups tagged %s: %w", op, key, err)
	}
	byNetwork := map[domain.NetworkKey][]domain.SecurityGroup{}
	for _, g := range groups {
		if g.RegionID == "" {
			g.RegionID = regionID
		}
		byNetwork[g.Network()] = append(byNetwork[g.Network()], g)
	}
	sort.Slice(instances, func(i, j int) bool { return instances[i].ID < instances[j].ID })
	s.Instances, s.RoleGroups = len(instances), len(groups)
	log.Info("reconcile started", zap.Int("instances", len(instances)), zap.Int("role_groups", len(groups)), zap.Bool("dry_run", dry))

	every := orDefault(r.ProgressEvery, DefaultProgressEvery)
	chunk := orDefault(r.SendChunk, DefaultSendChunk)
	maxIssues := orDefault(r.MaxIssues, DefaultMaxIssues)
	var pending []domain.Task
	flush := func() error {
		if dry || len(pending) == 0 {
			pending = nil
			return nil
		}
		if err := r.Sender.SendTasks(ctx, pending); err != nil {
			return fmt.Errorf("%s: enqueue %d onboard tasks (%d sent before): %w", op, len(pending), s.Enqueued, err)
		}
		s.Enqueued += len(pending)
		pending = nil // a fresh slice: the sender may keep the one it got
		return nil
	}

	for i, inst := range instances {
		if err := ctx.Err(); err != nil {
			return s, fmt.Errorf("%s: stopped after %d of %d instances, %d tasks enqueued: %w", op, i, len(instances), s.Enqueued, err)
		}
		if inst.RegionID == "" {
			inst.RegionID = regionID
		}
		ilog := log.With(zap.String(logging.FieldInstanceID, inst.ID))
		plan, err := domain.PlanMembership(domain.MembershipInput{Instance: inst, RoleTagKey: key,
			NetworkGroups: byNetwork[inst.Network()], GroupLimit: r.GroupLimit})
		s.ByReason[plan.Reason]++
		switch {
		case err == nil && plan.Reason == domain.ReasonJoin, err != nil && domain.IsRetryable(err):
			// Groups to join: now (join) or once the instance is Running
			// or Stopped (the worker retries not-ready instances).
			t := domain.NewOnboardTask(regionID, inst.ID, CauseReconcile, stamp)
			pending = append(pending, t)
			s.TaskIDs = append(s.TaskIDs, t.ID)
			decision := DecisionEnqueue
			if dry {
				decision = DecisionWould
			}
			ilog.Info("instance incomplete", zap.String(logging.FieldTaskID, t.ID), zap.String(logging.FieldDecision, decision),
				zap.String(logging.FieldReason, string(plan.Reason)), zap.Strings("to_join", plan.ToJoin))
		case err == nil:
			if plan.Complete() {
				s.Complete++
			}
			ilog.Debug("nothing to do", zap.String(logging.FieldDecision, DecisionSkip), zap.String(logging.FieldReason, string(plan.Reason)))
		default:
			s.NeedsAttention++
			if len(s.Attention) < maxIssues {
				s.Attention = append(s.Attention, Issue{InstanceID: inst.ID, Reason: plan.Reason, Detail: plan.Detail})
			}
			ilog.Warn("instance needs attention", zap.String(logging.FieldDecision, DecisionAttention),
				zap.String(logging.FieldReason, string(plan.Reason)), zap.String("detail", plan.Detail))
		}
		if len(pending) >= chunk {
			if err := flush(); err != nil {
				return s, err
			}
		}
		if (i+1)%every == 0 {
			log.Info("reconcile progress", zap.Int("done", i+1), zap.Int("instances", len(instances)),
				zap.Int("tasks", len(s.TaskIDs)), zap.Int("enqueued", s.Enqueued))
		}
	}
	if err := flush(); err != nil {
		return s, err
	}
	log.Info("reconcile finished", zap.Int("instances", s.Instances), zap.Int("complete", s.Complete),
		zap.Int("tasks", len(s.TaskIDs)), zap.Int("enqueued", s.Enqueued), zap.Int("needs_attention", s.NeedsAttention),
		zap.Any("by_reason", s.ByReason), zap.Bool("dry_run", dry))
	return s, nil
}
