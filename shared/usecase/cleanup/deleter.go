package cleanup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
	"github.com/sgpilot/sgpilot/shared/core/retry"
	"github.com/sgpilot/sgpilot/shared/usecase/worker"
)

// Reasons of delete outcomes, besides the domain.Reason values a re-check
// gives when it keeps a group (protected, used-again, in-grace-period, ...).
const (
	ReasonDeleted       = "deleted"        // the group was deleted
	ReasonAlreadyGone   = "already-gone"   // the group no longer exists
	ReasonInUse         = "in-use"         // ECS refused: instances, ENIs or references remain; kept
	ReasonProtected     = "protected"      // ECS refused: deletion protection or service-managed; kept
	ReasonRecheckFailed = "recheck-failed" // the pre-delete reads failed
	ReasonDeleteFailed  = "delete-failed"  // DeleteSecurityGroup failed for good
	ReasonThrottled     = "throttled"      // still throttled after retries
	ReasonTransient     = "transient"      // still failing transiently after retries
	ReasonOutOfTime     = "out-of-time"    // the invocation's deadline came first
	ReasonWrongKind     = "wrong-kind"     // not a delete-group task
)

// DefaultRetryAfter is how long a delete task waits before its next try
// when ECS kept throttling or failing transiently.
const DefaultRetryAfter = time.Minute

// Deleter is the worker's handler for delete-group tasks. For each task it
// re-checks the group against fresh facts immediately before deleting it:
// the group's current tags (still in scope, not protected, mark unchanged,
// old enough) and launch-template use. Instances, ENIs and references are
// left to ECS itself, which refuses to delete a group that has any
// (DependencyViolation); such a refusal is explained and the group kept.
//
// Reads are batched over the tasks of one call: groups 100 per
// DescribeSecurityGroups, launch templates once per region. One task's
// failure never stops the others. A Deleter holds no state between calls.
type Deleter struct {
	Groups     GroupDescriber
	Templates  TemplateReader
	References ReferenceReader
	Deletes    GroupDeleter
	// Interfaces, when set, is read once per region and call to name the
	// instances and ENIs behind a DependencyViolation; nil leaves the
	// explanation to the provider's message and the references.
	Interfaces InterfaceLister
	// Policy is the cleanup policy the plan used (scope, protect and stale
	// keys, grace period, minimum age).
	Policy domain.CleanupPolicy
	// Retry is the policy for every call; a zero MaxAttempts means
	// retry.Default().
	Retry retry.Policy
	// RetryAfter is the wait of a Retry outcome; 0 means DefaultRetryAfter.
	RetryAfter time.Duration
	// Now reads the clock; nil means time.Now.
	Now func() time.Time
}

var _ worker.Handler = (*Deleter)(nil)

// NewDeleter wires a Deleter to an ECS adapter.
func NewDeleter(ecs DeleterECS, policy domain.CleanupPolicy) *Deleter {
	return &Deleter{Groups: ecs, Templates: ecs, References: ecs, Deletes: ecs, Policy: policy}
}

// Handle re-checks and deletes the groups of delete-group tasks and returns
// one outcome per task:
//   - deleted, already gone, kept by the re-check, refused as in use or
//     protected: Done (nothing left to do; a kept group is the next run's);
//   - throttled, transient or out of time after retries: Retry;
//   - anything else (invalid task, permission denied, unknown error):
//     DeadLetter with the reason.
func (d *Deleter) Handle(ctx context.Context, tasks []domain.Task) []worker.Outcome {
	out := make([]worker.Outcome, len(tasks))
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	at := now().UTC()
	byRegion := map[string][]int{}
	var regions []string
	for i, t := range tasks {
		if err := t.Validate(); err != nil {
			out[i] = worker.Terminal(t.ID, worker.ReasonInvalidTask, err.Error())
			continue
		}
		if t.Kind != domain.TaskDeleteGroup {
			out[i] = worker.Terminal(t.ID, ReasonWrongKind, fmt.Sprintf("the delete handler got a %q task", t.Kind))
			continue
		}
		if _, ok := byRegion[t.RegionID]; !ok {
			regions = append(regions, t.RegionID)
		}
		byRegion[t.RegionID] = append(byRegion[t.RegionID], i)
	}
	for _, region := range regions {
		rctx := logging.With(ctx, zap.String(logging.FieldRegion, region))
		d.handleRegion(rctx, region, tasks, byRegion[region], out, at)
	}
	return out
}

// pending is one group to delete and the tasks asking for it.
type pending struct {
	group   string
	tasks   []int // indexes into the call's tasks; the first one's mark counts
	outcome worker.Outcome
	settled bool
	inUse   error // the DependencyViolation, to explain
}

func (d *Deleter) handleRegion(ctx context.Context, region string, tasks []domain.Task, idx []int, out []worker.Outcome, now time.Time) {
	log := logging.FromContext(ctx)
	// One pending entry per group: two tasks for the same group (from two
	// runs) share one delete.
	var items []*pending
	byGroup := map[string]*pending{}
	for _, i := range idx {
		gid := tasks[i].GroupID
		p := byGroup[gid]
		if p == nil {
			p = &pending{group: gid}
			byGroup[gid] = p
			items = append(items, p)
		}
		p.tasks = append(p.tasks, i)
	}
	settle := func(p *pending, o worker.Outcome) { p.outcome, p.settled = o, true }

	var templates map[string][]string
	err := d.call(ctx, func(ctx context.Context) error {
		var err error
		templates, err = d.Templates.LaunchTemplateGroups(ctx, region)
		return err
	})
	if err != nil {
		for _, p := range items {
			settle(p, d.failure(ReasonRecheckFailed, "read launch templates in "+region, err))
		}
	}

	fresh := map[string]domain.SecurityGroup{}
	for start := 0; err == nil && start < len(items); start += DescribeBatchSize {
		batch := items[start:min(start+DescribeBatchSize, len(items))]
		ids := make([]string, len(batch))
		for i, p := range batch {
			ids[i] = p.group
		}
		var groups []domain.SecurityGroup
		derr := d.call(ctx, func(ctx context.Context) error {
			var err error
			groups, err = d.Groups.DescribeGroups(ctx, region, ids)
			return err
		})
		if derr != nil {
			for _, p := range batch {
				settle(p, d.failure(ReasonRecheckFailed, "describe groups "+strings.Join(ids, ","), derr))
			}
			continue
		}
		for _, g := range groups {
			fresh[g.ID] = g
		}
	}

	var inUse []*pending
	for _, p := range items {
		if p.settled {
			continue
		}
		task := tasks[p.tasks[0]]
		g, ok := fresh[p.group]
		if !ok {
			settle(p, worker.Succeeded("", ReasonAlreadyGone, "group "+p.group+" no longer exists"))
			continue
		}
		if g.RegionID == "" {
			g.RegionID = region
		}
		usage := domain.GroupUsage{LaunchTemplates: templates[p.group]}
		okToDelete, reason, detail := domain.StillDeletable(g, usage, d.Policy, task.StaleSince, now)
		if !okToDelete {
			settle(p, worker.Succeeded("", string(reason), "kept by the re-check before delete: "+detail))
			continue
		}
		derr := d.call(ctx, func(ctx context.Context) error { return d.Deletes.DeleteGroup(ctx, region, p.group) })
		switch {
		case derr == nil:
			settle(p, worker.Succeeded("", ReasonDeleted, fmt.Sprintf("deleted %s (%s), marked stale since %s", p.group, g.Name, task.StaleSince)))
		case errors.Is(derr, domain.ErrInUse):
			p.inUse = derr
			inUse = append(inUse, p)
		case errors.Is(derr, domain.ErrDeletionProtected):
			settle(p, worker.Succeeded("", ReasonProtected, "ECS refused, group kept: "+derr.Error()))
		case errors.Is(derr, domain.ErrNotFound):
			settle(p, worker.Succeeded("", ReasonAlreadyGone, "group "+p.group+" no longer exists"))
		default:
			settle(p, d.failure(ReasonDeleteFailed, "delete group "+p.group, derr))
		}
	}
	d.explainInUse(ctx, region, inUse)

	for _, p := range items {
		for _, i := range p.tasks {
			o := p.outcome
			o.TaskID = tasks[i].ID
			out[i] = o
		}
		lvl := zap.InfoLevel
		if p.outcome.Result != worker.Done || p.outcome.Reason != ReasonDeleted {
			lvl = zap.WarnLevel
		}
		log.Check(lvl, "delete task outcome").Write(zap.String(logging.FieldGroupID, p.group),
			zap.String(logging.FieldTaskID, tasks[p.tasks[0]].ID), zap.String(logging.FieldDecision, p.outcome.Result.String()),
			zap.String(logging.FieldReason, p.outcome.Reason), zap.String("detail", p.outcome.Detail))
	}
}

// explainInUse settles the groups ECS refused as still in use, naming what
// uses them: the referencing groups (10 per call), and, when an ENI lister
// is set, the instances and ENIs. A failed explanation read only shortens
// the explanation; the group is kept either way.
func (d *Deleter) explainInUse(ctx context.Context, region string, items []*pending) {
	if len(items) == 0 {
		return
	}
	usage := map[string]*domain.GroupUsage{}
	for _, p := range items {
		usage[p.group] = &domain.GroupUsage{}
	}
	var notes []string
	for start := 0; start < len(items); start += ReferenceBatchSize {
		batch := items[start:min(start+ReferenceBatchSize, len(items))]
		ids := make([]string, len(batch))
		for i, p := range batch {
			ids[i] = p.group
		}
		var refs map[string][]string
		err := d.call(ctx, func(ctx context.Context) error {
			var err error
			refs, err = d.References.GroupReferences(ctx, region, ids)
			return err
		})
		if err != nil {
			notes = append(notes, "references unknown: "+err.Error())
			continue
		}
		for _, gid := range ids {
			for _, other := range refs[gid] {
				if other != gid {
					usage[gid].ReferencedBy = append(usage[gid].ReferencedBy, other)
				}
			}
		}
	}
	if d.Interfaces != nil {
		var enis []domain.NetworkInterface
		err := d.call(ctx, func(ctx context.Context) error {
			var err error
			enis, err = d.Interfaces.ListNetworkInterfaces(ctx, region)
			return err
		})
		if err != nil {
			notes = append(notes, "network interfaces unknown: "+err.Error())
		}
		for _, eni := range enis {
			for _, gid := range eni.GroupIDs {
				u := usage[gid]
				if u == nil {
					continue
				}
				if strings.EqualFold(eni.Type, "Primary") && eni.InstanceID != "" {
					u.Instances = append(u.Instances, eni.InstanceID)
				} else {
					u.ENIs = append(u.ENIs, eni.ID)
				}
			}
		}
	}
	for _, p := range items {
		u := usage[p.group]
		u.Instances, u.ENIs, u.ReferencedBy = domain.SortedUnique(u.Instances), domain.SortedUnique(u.ENIs), domain.SortedUnique(u.ReferencedBy)
		detail := "ECS refused the delete, group kept: " + p.inUse.Error()
		if u.InUse() {
			detail += "; used by " + u.Describe()
		}
		if len(notes) > 0 {
			detail += "; " + strings.Join(notes, "; ")
		}
		p.outcome, p.settled = worker.Succeeded("", ReasonInUse, detail), true
	}
}

// failure turns an error that survived the retries into Retry (the cloud
// may recover) or DeadLetter (it will not).
func (d *Deleter) failure(reason, op string, err error) worker.Outcome {
	after := d.RetryAfter
	if after <= 0 {
		after = DefaultRetryAfter
	}
	detail := op + ": " + err.Error()
	switch {
	case isContextErr(err):
		return worker.RetryLater("", after, ReasonOutOfTime, detail)
	case errors.Is(err, domain.ErrThrottled):
		return worker.RetryLater("", after, ReasonThrottled, detail)
	case errors.Is(err, domain.ErrRetryable), errors.Is(err, domain.ErrConflict):
		// Conflict other than in-use: a concurrent change; try again later.
		return worker.RetryLater("", after, ReasonTransient, detail)
	default:
		return worker.Terminal("", reason, fmt.Sprintf("%s (%s)", detail, domain.KindOf(err)))
	}
}

func (d *Deleter) call(ctx context.Context, f func(context.Context) error) error {
	p := d.Retry
	if p.MaxAttempts == 0 {
		p = retry.Default()
	}
	return retry.Do(ctx, p, domain.IsRetryable, f)
}
