package cleanup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
	"github.com/sgpilot/sgpilot/shared/core/task"
)

// DefaultRetryAfter is how long a delete task waits before its next try
// when ECS kept throttling or failing transiently.
const DefaultRetryAfter = time.Minute

// Deleter is the worker's handler for delete-group tasks. For each task it
// re-checks the group against fresh facts immediately before deleting it:
// the group's current tags (still in scope, not protected, mark unchanged,
// old enough, no declared role), every launch template version, and, when
// checked, the Auto Scaling configurations and ECI container groups: ECS
// would delete a group only these name. Instances, ENIs and references are
// left to ECS itself, which refuses to delete a group that has any
// (DependencyViolation); such a refusal is explained and the group kept.
//
// Reads are batched over the tasks of one call: groups 100 per
// DescribeSecurityGroups; launch templates, Auto Scaling and ECI once per
// region and call, all at the same time, or reused for UsersTTL. One
// task's failure never stops the others. Apart from that reuse, a Deleter
// holds no state between calls.
type Deleter struct {
	Groups    GroupDescriber
	Templates TemplateReader
	// Scaling and Containers, when set, are re-read once per region and
	// call (region-wide reads); nil leaves that kind unchecked.
	Scaling    ScalingReader
	Containers ContainerReader
	References ReferenceReader
	Deletes    GroupDeleter
	// Interfaces, when set, is read once per region and call to name the
	// instances and ENIs behind a DependencyViolation; nil leaves the
	// explanation to the provider's message and the references.
	Interfaces InterfaceLister
	// Policy is the cleanup policy the plan used (scope, protect and stale
	// keys, grace period, minimum age).
	Policy domain.CleanupPolicy
	// RetryAfter is the wait of a Retry outcome; 0 means DefaultRetryAfter.
	RetryAfter time.Duration
	// Now reads the clock; nil means time.Now.
	Now func() time.Time
	// Concurrency is how many deletions of a call run at once
	// (DefaultDeleteConcurrency when ≤ 0).
	Concurrency int
	// Reuse, when set, lets the region-wide re-check reads (launch
	// templates, Auto Scaling, ECI) serve later calls for its TTL; nil
	// reads them in every call. See RecheckCache.
	Reuse *RecheckCache
}

// RecheckCache keeps a Deleter's region-wide re-check reads for TTL, across
// calls (a worker instance keeps one for its lifetime). A sweep of
// thousands of deletions otherwise re-lists every launch template of the
// region for each batch of at most 100 groups, which at 1,000 templates
// costs more calls than the deletions. The group's own state (tags, mark)
// is still read in every call, and ECS itself refuses to delete a group
// with instances, ENIs or rules naming it; what the TTL lets through is a
// template, scaling configuration or container group created in the last
// TTL naming a group that has been unused for the whole grace period.
type RecheckCache struct {
	TTL time.Duration

	mu      sync.Mutex
	regions map[string]*usersRead
}

// usersRead is one region's last re-check reads and when they started;
// its lock makes concurrent jobs of the region wait for one read.
type usersRead struct {
	mu    sync.Mutex
	at    time.Time
	users usersOf
}

var _ task.Handler = (*Deleter)(nil)

// NewDeleter wires a Deleter to an ECS adapter; like NewCleaner, it checks
// Auto Scaling and ECI when the adapter reads them.
func NewDeleter(ecs DeleterECS, policy domain.CleanupPolicy) *Deleter {
	d := &Deleter{Groups: ecs, Templates: ecs, References: ecs, Deletes: ecs, Policy: policy}
	d.Scaling, _ = ecs.(ScalingReader)
	d.Containers, _ = ecs.(ContainerReader)
	return d
}

// Handle re-checks and deletes the groups of delete-group tasks: one job
// per region, whose outcomes are, per task:
//   - deleted, already gone, kept by the re-check, refused as in use or
//     protected: Done (nothing left to do; a kept group is the next run's);
//   - throttled, transient, changed meanwhile or out of time after the
//     adapter's retries: Retry;
//   - anything else (invalid task, permission denied, and, since a delete
//     is destructive, an unknown error): DeadLetter with the reason.
func (d *Deleter) Handle(ctx context.Context, tasks []domain.Task) []task.Job {
	var jobs []task.Job
	byRegion := map[string][]domain.Task{}
	var regions []string
	for _, t := range tasks {
		if err := t.Validate(); err != nil {
			jobs = append(jobs, task.Known(task.Terminal(t.ID, task.ReasonInvalidTask, err.Error())))
			continue
		}
		if t.Kind != domain.TaskDeleteGroup {
			jobs = append(jobs, task.Known(task.Terminal(t.ID, task.ReasonUnsupportedKind,
				fmt.Sprintf("the delete handler got a %q task", t.Kind))))
			continue
		}
		if _, ok := byRegion[t.RegionID]; !ok {
			regions = append(regions, t.RegionID)
		}
		byRegion[t.RegionID] = append(byRegion[t.RegionID], t)
	}
	for _, region := range regions {
		rtasks := byRegion[region]
		ids := make([]string, len(rtasks))
		for i, t := range rtasks {
			ids[i] = t.ID
		}
		jobs = append(jobs, task.Job{TaskIDs: ids, Run: func(ctx context.Context) []task.Outcome {
			return d.handleRegion(logging.With(ctx, zap.String(logging.FieldRegion, region)), region, rtasks)
		}})
	}
	return jobs
}

// pending is one group to delete and the tasks asking for it.
type pending struct {
	group   string
	tasks   []domain.Task // the first one's mark counts
	outcome task.Outcome
	settled bool
	inUse   error // the DependencyViolation, to explain
}

func (p *pending) settle(o task.Outcome) { p.outcome, p.settled = o, true }

// handleRegion runs the steps for one region's tasks: group them, read the
// launch templates, re-read the groups, re-check and delete each, explain
// the refusals; then hand out and log the outcomes.
func (d *Deleter) handleRegion(ctx context.Context, region string, tasks []domain.Task) []task.Outcome {
	items := pendingByGroup(tasks)
	users, err := d.readUsers(ctx, region)
	if err != nil {
		for _, p := range items {
			p.settle(d.failure(task.ReasonRecheckFailed, "re-check users in "+region, err))
		}
		return d.outcomes(ctx, items)
	}
	fresh := d.describe(ctx, region, items)
	inUse := d.deleteEach(ctx, region, items, fresh, users)
	d.explainInUse(ctx, region, inUse)
	return d.outcomes(ctx, items)
}

// usersOf is what the region-wide re-check reads found, by group.
type usersOf struct {
	templates  map[string][]domain.TemplateVersionUse
	scaling    map[string][]domain.ScalingUse
	containers map[string][]domain.ContainerGroupUse
}

func (u usersOf) of(group string) domain.GroupUsage {
	return domain.GroupUsage{TemplateVersions: u.templates[group], ScalingConfigurations: u.scaling[group],
		ContainerGroups: u.containers[group]}
}

// readUsers reads the region's launch template versions and, when checked,
// its scaling configurations and container groups, at the same time. Any
// failure fails the whole re-check: a group is never deleted on a partial
// view.
func (d *Deleter) readUsers(ctx context.Context, region string) (usersOf, error) {
	r := d.Reuse.region(region)
	if r == nil {
		return d.readUsersNow(ctx, region)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.at.IsZero() && d.clock().Sub(r.at) < d.Reuse.TTL {
		return r.users, nil
	}
	at := d.clock()
	u, err := d.readUsersNow(ctx, region)
	if err != nil {
		return usersOf{}, err
	}
	r.at, r.users = at, u
	return u, nil
}

// region is the entry of one region; nil when nothing is reused.
func (c *RecheckCache) region(region string) *usersRead {
	if c == nil || c.TTL <= 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.regions == nil {
		c.regions = map[string]*usersRead{}
	}
	r := c.regions[region]
	if r == nil {
		r = &usersRead{}
		c.regions[region] = r
	}
	return r
}

func (d *Deleter) clock() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// readUsersNow reads the users of readUsers.
func (d *Deleter) readUsersNow(ctx context.Context, region string) (usersOf, error) {
	var (
		u                usersOf
		wg               sync.WaitGroup
		errT, errS, errC error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if u.templates, errT = d.Templates.TemplateGroups(ctx, region); errT != nil {
			errT = fmt.Errorf("read launch template versions: %w", errT)
		}
	}()
	if d.Scaling != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if u.scaling, errS = d.Scaling.ScalingConfigurationGroups(ctx, region); errS != nil {
				errS = fmt.Errorf("read auto scaling configurations: %w", errS)
			}
		}()
	}
	if d.Containers != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if u.containers, errC = d.Containers.ContainerGroupGroups(ctx, region); errC != nil {
				errC = fmt.Errorf("read ECI container groups: %w", errC)
			}
		}()
	}
	wg.Wait()
	for _, err := range []error{errT, errS, errC} {
		if err != nil {
			return usersOf{}, err
		}
	}
	return u, nil
}

// pendingByGroup makes one pending entry per group: two tasks for the same
// group (from two runs) share one delete.
func pendingByGroup(tasks []domain.Task) []*pending {
	var items []*pending
	byGroup := map[string]*pending{}
	for _, t := range tasks {
		p := byGroup[t.GroupID]
		if p == nil {
			p = &pending{group: t.GroupID}
			byGroup[t.GroupID] = p
			items = append(items, p)
		}
		p.tasks = append(p.tasks, t)
	}
	return items
}

// groupIDs lists the groups of items.
func groupIDs(items []*pending) []string {
	ids := make([]string, len(items))
	for i, p := range items {
		ids[i] = p.group
	}
	return ids
}

// describe re-reads the groups, 100 per call; the items of a failed call
// are settled as recheck-failed.
func (d *Deleter) describe(ctx context.Context, region string, items []*pending) map[string]domain.SecurityGroup {
	fresh := map[string]domain.SecurityGroup{}
	for start := 0; start < len(items); start += DescribeBatchSize {
		batch := items[start:min(start+DescribeBatchSize, len(items))]
		ids := groupIDs(batch)
		groups, err := d.Groups.DescribeGroups(ctx, region, ids)
		if err != nil {
			for _, p := range batch {
				p.settle(d.failure(task.ReasonRecheckFailed, "describe groups "+strings.Join(ids, ","), err))
			}
			continue
		}
		for _, g := range groups {
			if g.RegionID == "" {
				g.RegionID = region
			}
			fresh[g.ID] = g
		}
	}
	return fresh
}

// deleteEach re-checks each unsettled group against its fresh state and
// deletes it when the re-check allows. It returns the groups ECS refused as
// still in use, to explain.
func (d *Deleter) deleteEach(ctx context.Context, region string, items []*pending, fresh map[string]domain.SecurityGroup, users usersOf) []*pending {
	at := d.clock().UTC()
	// The deletions run side by side, each paced by the adapter's limiter
	// of DeleteSecurityGroup: one at a time, a sweep would go at one call
	// per round trip rather than at the action's rate.
	inUse := make([]bool, len(items))
	sem := make(chan struct{}, d.concurrency())
	var wg sync.WaitGroup
	for i, p := range items {
		if p.settled {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			inUse[i] = d.deleteOne(ctx, region, p, fresh, users, at)
		}()
	}
	wg.Wait()
	var out []*pending
	for i, p := range items {
		if inUse[i] {
			out = append(out, p)
		}
	}
	return out
}

// DefaultDeleteConcurrency is how many deletions of one batch run at once.
const DefaultDeleteConcurrency = 8

func (d *Deleter) concurrency() int {
	if d.Concurrency > 0 {
		return d.Concurrency
	}
	return DefaultDeleteConcurrency
}

// deleteOne re-checks one group and deletes it when the re-check allows;
// it reports whether ECS refused the group as still in use.
func (d *Deleter) deleteOne(ctx context.Context, region string, p *pending, fresh map[string]domain.SecurityGroup, users usersOf, at time.Time) bool {
	g, ok := fresh[p.group]
	if !ok {
		p.settle(task.Succeeded("", task.ReasonAlreadyGone, "group "+p.group+" no longer exists"))
		return false
	}
	staleSince := p.tasks[0].StaleSince
	okToDelete, reason, detail := domain.StillDeletable(g, users.of(p.group), d.Policy, staleSince, at)
	if !okToDelete {
		p.settle(task.Succeeded("", reason, "kept by the re-check before delete: "+detail))
		return false
	}
	err := d.Deletes.DeleteGroup(ctx, region, p.group)
	switch {
	case err == nil:
		p.settle(task.Succeeded("", task.ReasonDeleted, fmt.Sprintf("deleted %s (%s), marked stale since %s", p.group, g.Name, staleSince)))
	case errors.Is(err, domain.ErrInUse):
		p.inUse = err
		return true
	case errors.Is(err, domain.ErrDeletionProtected):
		p.settle(task.Succeeded("", domain.ReasonProtected, "ECS refused, group kept: "+err.Error()))
	case errors.Is(err, domain.ErrNotFound):
		p.settle(task.Succeeded("", task.ReasonAlreadyGone, "group "+p.group+" no longer exists"))
	default:
		p.settle(d.failure(task.ReasonDeleteFailed, "delete group "+p.group, err))
	}
	return false
}

// outcomes gives every task its group's outcome and logs one line per group.
func (d *Deleter) outcomes(ctx context.Context, items []*pending) []task.Outcome {
	log := logging.FromContext(ctx)
	var out []task.Outcome
	for _, p := range items {
		for _, t := range p.tasks {
			out = append(out, p.outcome.For(t.ID))
		}
		lvl := zap.InfoLevel
		if p.outcome.Result != task.Done || p.outcome.Reason != task.ReasonDeleted {
			lvl = zap.WarnLevel
		}
		log.Check(lvl, "delete task outcome").Write(zap.String(logging.FieldGroupID, p.group),
			zap.String(logging.FieldTaskID, p.tasks[0].ID), zap.String(logging.FieldDecision, p.outcome.Result.String()),
			zap.String(logging.FieldReason, string(p.outcome.Reason)), zap.String("detail", p.outcome.Detail))
	}
	return out
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
	notes := d.addReferences(ctx, region, items, usage)
	notes = append(notes, d.addInterfaces(ctx, region, usage)...)
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
		p.settle(task.Succeeded("", domain.ReasonInUse, detail))
	}
}

// addReferences adds the groups whose rules reference each item's group;
// it returns a note per failed read.
func (d *Deleter) addReferences(ctx context.Context, region string, items []*pending, usage map[string]*domain.GroupUsage) []string {
	var notes []string
	for start := 0; start < len(items); start += ReferenceBatchSize {
		batch := items[start:min(start+ReferenceBatchSize, len(items))]
		ids := groupIDs(batch)
		refs, err := readReferrers(ctx, d.References, region, ids)
		if err != nil {
			notes = append(notes, "references unknown: "+err.Error())
			continue
		}
		for _, gid := range ids {
			for _, other := range refs[gid] {
				if other.GroupID != gid {
					addReferrer(usage[gid], other)
				}
			}
		}
	}
	return notes
}

// addInterfaces adds the instances and ENIs that use the groups in usage,
// when an ENI lister is set; it returns a note when the read failed.
func (d *Deleter) addInterfaces(ctx context.Context, region string, usage map[string]*domain.GroupUsage) []string {
	if d.Interfaces == nil {
		return nil
	}
	enis, err := d.Interfaces.ListNetworkInterfaces(ctx, region)
	if err != nil {
		return []string{"network interfaces unknown: " + err.Error()}
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
	return nil
}

// failure turns an error that survived the adapter's retries into an
// outcome through the shared policy. A delete is destructive: an error
// nobody classified is dead-lettered, not retried.
func (d *Deleter) failure(reason task.Reason, op string, err error) task.Outcome {
	after := d.RetryAfter
	if after <= 0 {
		after = DefaultRetryAfter
	}
	return task.FromError("", fmt.Errorf("%s: %w", op, err),
		task.Options{Backoff: after, Soon: after, Refused: reason, Destructive: true})
}
