package onboard

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
	"github.com/sgpilot/sgpilot/shared/core/retry"
	"github.com/sgpilot/sgpilot/shared/usecase/worker"
)

// Defaults of Options.
const (
	DefaultConcurrency   = 8
	DefaultNotReadyDelay = 10 * time.Second
	DefaultBackoffDelay  = 30 * time.Second
	// MaxDescribeBatch is how many instances one DescribeInstances call asks for.
	MaxDescribeBatch = 100
)

// Reasons onboarding gives besides the domain's planning reasons.
const (
	ReasonThrottled       = "throttled"           // ECS kept throttling past the retry budget
	ReasonUnavailable     = "ecs-unavailable"     // transient ECS or network failure past the retry budget
	ReasonDeadline        = "deadline"            // the invocation ran out of time
	ReasonECSRefused      = "ecs-refused"         // a lookup was refused (permissions, invalid request)
	ReasonECSError        = "ecs-error"           // an unclassified ECS failure; retried
	ReasonJoinRefused     = "join-refused"        // ECS refused the join for a lasting reason
	ReasonChangedMeantime = "changed-meanwhile"   // instance or group changed during the join; re-read next time
	ReasonCreateFailed    = "create-group-failed" // creating a missing role group was refused
	ReasonInvalidTask     = worker.ReasonInvalidTask
	ReasonUnsupportedKind = worker.ReasonUnsupportedKind
)

// fieldDetail is the log field for a decision's human explanation.
const fieldDetail = "detail"

// Options configure an Onboarder; zero fields take the defaults.
type Options struct {
	// RoleTagKey is the tag holding roles on instances and groups
	// (default domain.DefaultRoleTagKey, "sgpilot:role").
	RoleTagKey string
	// GroupLimit is the per-instance security group quota of the account
	// (default domain.DefaultGroupsPerInstance, 5); plans beyond it are refused.
	GroupLimit int
	// StaleTagKey is the cleanup's stale mark, cleared from a group an
	// instance joins (default domain.DefaultStaleTagKey).
	StaleTagKey string
	// ManagedTagKey and ManagedTagValue are put on groups onboarding
	// creates (default domain.DefaultManagedTagKey=DefaultManagedTagValue).
	ManagedTagKey   string
	ManagedTagValue string
	// CreateMissingGroups creates a role group that does not exist in the
	// instance's network instead of dead-lettering the task "no-role-group".
	CreateMissingGroups bool
	// Concurrency bounds how many instances are worked on at once (default 8).
	Concurrency int
	// NotReadyDelay is the retry delay for an instance still starting or in
	// a state that forbids group changes (default 10 s).
	NotReadyDelay time.Duration
	// BackoffDelay is the retry delay after ECS throttling or transient
	// failures outlasted the retry policy (default 30 s).
	BackoffDelay time.Duration
	// Retry is the back-off for each ECS call (zero value = retry.Default()).
	Retry retry.Policy
}

// Onboarder joins instances to their role groups. It is safe for concurrent
// use; lookups are shared within one Handle or Plan call only, so each call
// sees the cloud as it is.
type Onboarder struct {
	ports Ports
	opts  Options
}

// New checks the ports and fills in the defaults.
func New(p Ports, o Options) (*Onboarder, error) {
	if p.Instances == nil || p.Groups == nil || p.Joiner == nil || p.Marks == nil {
		return nil, errors.New("onboard: the instance reader, group lister, group joiner and mark clearer are required")
	}
	if o.CreateMissingGroups && p.Creator == nil {
		return nil, errors.New("onboard: CreateMissingGroups needs a group creator")
	}
	if o.GroupLimit < 0 || o.Concurrency < 0 || o.NotReadyDelay < 0 || o.BackoffDelay < 0 {
		return nil, fmt.Errorf("onboard: GroupLimit %d, Concurrency %d, NotReadyDelay %s and BackoffDelay %s must not be negative",
			o.GroupLimit, o.Concurrency, o.NotReadyDelay, o.BackoffDelay)
	}
	str := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	str(&o.RoleTagKey, domain.DefaultRoleTagKey)
	str(&o.StaleTagKey, domain.DefaultStaleTagKey)
	str(&o.ManagedTagKey, domain.DefaultManagedTagKey)
	str(&o.ManagedTagValue, domain.DefaultManagedTagValue)
	if o.GroupLimit == 0 {
		o.GroupLimit = domain.DefaultGroupsPerInstance
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.NotReadyDelay == 0 {
		o.NotReadyDelay = DefaultNotReadyDelay
	}
	if o.BackoffDelay == 0 {
		o.BackoffDelay = DefaultBackoffDelay
	}
	if o.Retry.MaxAttempts == 0 {
		sleep, now := o.Retry.Sleep, o.Retry.Now
		o.Retry = retry.Default()
		o.Retry.Sleep, o.Retry.Now = sleep, now
	}
	return &Onboarder{ports: p, opts: o}, nil
}

// Options returns the options in effect, defaults filled in.
func (o *Onboarder) Options() Options { return o.opts }

// decision is what happens to one instance's tasks.
type decision struct {
	result     worker.Result
	reason     string
	detail     string
	retryAfter time.Duration
	joined     []string
}

func done(reason, detail string) decision {
	return decision{result: worker.Done, reason: reason, detail: detail}
}

func retryIn(d time.Duration, reason, detail string) decision {
	return decision{result: worker.Retry, reason: reason, detail: detail, retryAfter: d}
}

func deadLetter(reason, detail string) decision {
	return decision{result: worker.DeadLetter, reason: reason, detail: detail}
}

// subject is one instance to onboard and the tasks asking for it.
type subject struct {
	region     string
	instanceID string
	tasks      []domain.Task
	inst       domain.Instance
	found      bool
	lookupErr  error
	decision   decision
}

// Handle onboards the instances of a batch of tasks and returns one outcome
// per task (tasks for the same instance share their instance's outcome). It
// implements worker.Handler for domain.TaskOnboard.
func (o *Onboarder) Handle(ctx context.Context, tasks []domain.Task) []worker.Outcome {
	var outcomes []worker.Outcome
	subjects := map[[2]string]*subject{}
	var order []*subject
	for _, t := range tasks {
		if t.Kind != domain.TaskOnboard {
			outcomes = append(outcomes, worker.Terminal(t.ID, ReasonUnsupportedKind,
				fmt.Sprintf("the onboarder handles %q tasks, not %q", domain.TaskOnboard, t.Kind)))
			continue
		}
		if err := t.Validate(); err != nil {
			outcomes = append(outcomes, worker.Terminal(t.ID, ReasonInvalidTask, err.Error()))
			continue
		}
		key := [2]string{t.RegionID, t.InstanceID}
		s, ok := subjects[key]
		if !ok {
			s = &subject{region: t.RegionID, instanceID: t.InstanceID}
			subjects[key] = s
			order = append(order, s)
		}
		s.tasks = append(s.tasks, t)
	}

	r := o.newRun(false)
	r.describe(ctx, order)

	sem := make(chan struct{}, o.opts.Concurrency)
	var wg sync.WaitGroup
	for _, s := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s.decision = r.onboard(ctx, s)
			r.logDecision(ctx, s)
		}()
	}
	wg.Wait()

	for _, s := range order {
		d := s.decision
		for _, t := range s.tasks {
			outcomes = append(outcomes, worker.Outcome{TaskID: t.ID, Result: d.result, Reason: d.reason,
				Detail: d.detail, RetryAfter: d.retryAfter})
		}
	}
	return outcomes
}

// Plan computes, without changing anything, the membership plan of each
// instance (deduplicated, in the order given), as Handle would apply it.
// A plan that Handle would refuse carries its reason and detail; an
// instance that does not exist gets domain.ReasonInstanceGone. The error is
// for bad input or lookups that failed.
func (o *Onboarder) Plan(ctx context.Context, regionID string, instanceIDs []string) ([]domain.MembershipPlan, error) {
	if !domain.ValidRegionID(regionID) {
		return nil, domain.Errorf(domain.KindInvalid, "onboard plan", "", "region %q is not a region ID", regionID)
	}
	var order []*subject
	seen := map[string]bool{}
	for _, id := range instanceIDs {
		if !domain.ValidInstanceID(id) {
			return nil, domain.Errorf(domain.KindInvalid, "onboard plan", "", "instance ID %q is malformed", id)
		}
		if !seen[id] {
			seen[id] = true
			order = append(order, &subject{region: regionID, instanceID: id})
		}
	}
	r := o.newRun(true)
	r.describe(ctx, order)
	plans := make([]domain.MembershipPlan, 0, len(order))
	for _, s := range order {
		if s.lookupErr != nil {
			return nil, fmt.Errorf("onboard plan: describe instances in %s: %w", regionID, s.lookupErr)
		}
		if !s.found {
			plans = append(plans, domain.MembershipPlan{InstanceID: s.instanceID, Reason: domain.ReasonInstanceGone,
				Detail: fmt.Sprintf("no instance %s in %s", s.instanceID, regionID)})
			continue
		}
		plan, _, err := r.plan(ctx, s.inst)
		if err != nil {
			return nil, fmt.Errorf("onboard plan for %s: %w", s.instanceID, err)
		}
		plans = append(plans, plan)
	}
	return plans, nil
}

// run holds the lookups shared by the instances of one Handle or Plan call.
type run struct {
	o      *Onboarder
	dryRun bool

	mu       sync.Mutex
	networks map[domain.NetworkKey]*lazy[[]domain.SecurityGroup]
	created  map[roleInNetwork]*lazy[domain.SecurityGroup]
	// madeIn holds the groups this run created, by network, once created.
	madeIn  map[domain.NetworkKey][]domain.SecurityGroup
	cleared map[string]*lazy[struct{}] // "region/group" whose stale mark was cleared
}

type roleInNetwork struct {
	network domain.NetworkKey
	role    domain.Role
}

// lazy computes a value once; concurrent callers wait for the first.
type lazy[T any] struct {
	once sync.Once
	v    T
	err  error
}

func (l *lazy[T]) get(f func() (T, error)) (T, error) {
	l.once.Do(func() { l.v, l.err = f() })
	return l.v, l.err
}

func lazyFor[K comparable, T any](mu *sync.Mutex, m map[K]*lazy[T], k K) *lazy[T] {
	mu.Lock()
	defer mu.Unlock()
	l, ok := m[k]
	if !ok {
		l = &lazy[T]{}
		m[k] = l
	}
	return l
}

func (o *Onboarder) newRun(dryRun bool) *run {
	return &run{o: o, dryRun: dryRun,
		networks: map[domain.NetworkKey]*lazy[[]domain.SecurityGroup]{},
		created:  map[roleInNetwork]*lazy[domain.SecurityGroup]{},
		madeIn:   map[domain.NetworkKey][]domain.SecurityGroup{},
		cleared:  map[string]*lazy[struct{}]{},
	}
}

// call runs one ECS call under the retry policy.
func (r *run) call(ctx context.Context, f func(context.Context) error) error {
	return retry.Do(ctx, r.o.opts.Retry, domain.IsRetryable, f)
}

// describe reads the subjects' instances: one call per region per 100.
func (r *run) describe(ctx context.Context, subjects []*subject) {
	byRegion := map[string][]*subject{}
	var regions []string
	for _, s := range subjects {
		if _, ok := byRegion[s.region]; !ok {
			regions = append(regions, s.region)
		}
		byRegion[s.region] = append(byRegion[s.region], s)
	}
	for _, region := range regions {
		all := byRegion[region]
		for start := 0; start < len(all); start += MaxDescribeBatch {
			chunk := all[start:min(start+MaxDescribeBatch, len(all))]
			ids := make([]string, len(chunk))
			for i, s := range chunk {
				ids[i] = s.instanceID
			}
			var insts []domain.Instance
			err := r.call(ctx, func(ctx context.Context) error {
				var err error
				insts, err = r.o.ports.Instances.DescribeInstances(ctx, region, ids)
				return err
			})
			byID := make(map[string]domain.Instance, len(insts))
			for _, in := range insts {
				byID[in.ID] = in
			}
			for _, s := range chunk {
				s.lookupErr = err
				s.inst, s.found = byID[s.instanceID]
				if s.found && s.inst.RegionID == "" {
					s.inst.RegionID = region
				}
			}
		}
	}
}

// networkGroups lists the role groups of a network, once per run.
func (r *run) networkGroups(ctx context.Context, net domain.NetworkKey) ([]domain.SecurityGroup, error) {
	return lazyFor(&r.mu, r.networks, net).get(func() ([]domain.SecurityGroup, error) {
		f := domain.GroupFilter{VPCID: net.VPCID}
		if net.VPCID == "" {
			f.NetworkType = domain.NetworkClassic
		}
		var all []domain.SecurityGroup
		err := r.call(ctx, func(ctx context.Context) error {
			var err error
			all, err = r.o.ports.Groups.ListGroups(ctx, net.RegionID, f)
			return err
		})
		if err != nil {
			where := "the classic network"
			if net.VPCID != "" {
				where = net.VPCID
			}
			return nil, fmt.Errorf("list security groups of %s in %s: %w", where, net.RegionID, err)
		}
		// Keep role groups of exactly this network; the filter is not
		// trusted to have done it (and tag filters are not used at all).
		var out []domain.SecurityGroup
		for _, g := range all {
			if g.RegionID == "" {
				g.RegionID = net.RegionID
			}
			if _, ok := domain.GroupRole(g, r.o.opts.RoleTagKey); ok && g.Network() == net {
				out = append(out, g)
			}
		}
		return out, nil
	})
}

// groupsFor returns the listed role groups of a network plus those this run
// created there.
func (r *run) groupsFor(ctx context.Context, net domain.NetworkKey) ([]domain.SecurityGroup, error) {
	listed, err := r.networkGroups(ctx, net)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// Only finished creations: a pending one is waited for by the
	// instance that needs it, in ensureGroup.
	return append(append([]domain.SecurityGroup(nil), listed...), r.madeIn[net]...), nil
}

// plan computes an instance's plan, creating missing role groups first when
// that is enabled (and only describing what would be created in a dry run).
// err is a lookup or create failure; a refused plan is planErr.
func (r *run) plan(ctx context.Context, inst domain.Instance) (plan domain.MembershipPlan, planErr, err error) {
	net := inst.Network()
	groups, err := r.groupsFor(ctx, net)
	if err != nil {
		return domain.MembershipPlan{InstanceID: inst.ID}, nil, err
	}
	in := domain.MembershipInput{Instance: inst, RoleTagKey: r.o.opts.RoleTagKey, NetworkGroups: groups, GroupLimit: r.o.opts.GroupLimit}
	plan, planErr = domain.PlanMembership(in)
	if plan.Reason != domain.ReasonNoRoleGroup || !r.o.opts.CreateMissingGroups {
		return plan, planErr, nil
	}
	if r.dryRun {
		names := make([]string, len(plan.MissingRoles))
		for i, role := range plan.MissingRoles {
			names[i] = domain.RoleGroupName(role, net)
		}
		plan.Detail += "; CreateMissingGroups would create " + strings.Join(names, ", ")
		return plan, planErr, nil
	}
	for _, role := range plan.MissingRoles {
		g, err := r.ensureGroup(ctx, net, role)
		if err != nil {
			return plan, planErr, err
		}
		in.NetworkGroups = append(in.NetworkGroups, g)
	}
	plan, planErr = domain.PlanMembership(in)
	return plan, planErr, nil
}

// createError marks a failure to create a role group.
type createError struct{ err error }

func (e *createError) Error() string { return e.err.Error() }
func (e *createError) Unwrap() error { return e.err }

// ensureGroup creates the role group of (network, role) once per run. The
// create is not retried in place (a retried create can make a duplicate);
// the task is retried instead, and the next delivery lists the group if the
// create did happen.
func (r *run) ensureGroup(ctx context.Context, net domain.NetworkKey, role domain.Role) (domain.SecurityGroup, error) {
	return lazyFor(&r.mu, r.created, roleInNetwork{net, role}).get(func() (domain.SecurityGroup, error) {
		where := net.VPCID
		if where == "" {
			where = "the classic network"
		}
		spec := domain.GroupSpec{
			VPCID:       net.VPCID,
			Name:        domain.RoleGroupName(role, net),
			Description: fmt.Sprintf("sgpilot role group for %s in %s", role, where),
			Tags:        domain.Tags{r.o.opts.RoleTagKey: string(role), r.o.opts.ManagedTagKey: r.o.opts.ManagedTagValue},
		}
		id, err := r.o.ports.Creator.CreateGroup(ctx, net.RegionID, spec)
		if err != nil {
			return domain.SecurityGroup{}, &createError{fmt.Errorf("create role group %s in %s: %w", spec.Name, net.RegionID, err)}
		}
		logging.FromContext(ctx).Info("created missing role group", zap.String(logging.FieldGroupID, id),
			zap.String(logging.FieldRegion, net.RegionID), zap.String("role", string(role)), zap.String("name", spec.Name))
		g := domain.SecurityGroup{ID: id, Name: spec.Name, Description: spec.Description, RegionID: net.RegionID,
			VPCID: net.VPCID, Type: "normal", Tags: spec.Tags}
		r.mu.Lock()
		r.madeIn[net] = append(r.madeIn[net], g)
		r.mu.Unlock()
		return g, nil
	})
}

// onboard decides and applies one instance's membership.
func (r *run) onboard(ctx context.Context, s *subject) decision {
	if s.lookupErr != nil {
		return lookupDecision(r.o.opts, fmt.Errorf("describe instance in %s: %w", s.region, s.lookupErr))
	}
	if !s.found {
		return deadLetter(string(domain.ReasonInstanceGone),
			fmt.Sprintf("no instance %s in %s (deleted, or the task names the wrong region)", s.instanceID, s.region))
	}
	plan, planErr, err := r.plan(ctx, s.inst)
	if err != nil {
		return lookupDecision(r.o.opts, err)
	}
	if planErr != nil {
		if domain.KindOf(planErr) == domain.KindRetryable {
			return retryIn(r.o.opts.NotReadyDelay, string(plan.Reason), plan.Detail)
		}
		return deadLetter(string(plan.Reason), plan.Detail+"; nothing was changed")
	}
	if len(plan.ToJoin) == 0 {
		return done(string(plan.Reason), plan.Detail)
	}

	var joined []string
	for _, gid := range plan.ToJoin {
		err := retry.Do(ctx, r.o.opts.Retry, retryableJoin, func(ctx context.Context) error {
			return r.o.ports.Joiner.JoinGroup(ctx, s.region, s.instanceID, gid)
		})
		if err != nil && !errors.Is(err, domain.ErrAlreadyMember) {
			d := joinDecision(r.o.opts, err)
			d.detail = fmt.Sprintf("join %s: %s", gid, d.detail)
			if len(joined) > 0 {
				d.detail += "; joined before the failure: " + strings.Join(joined, ",")
			}
			d.joined = joined
			return d
		}
		joined = append(joined, gid)
		r.clearMark(ctx, s.inst.Network(), gid)
	}
	d := done(string(domain.ReasonJoin), plan.Detail)
	d.joined = joined
	return d
}

// clearMark removes the cleanup's stale mark from a group an instance just
// joined, once per group per run. A failure is only logged: the group is
// in use now, so the cleanup unmarks it on its next run and re-checks use
// before any delete.
func (r *run) clearMark(ctx context.Context, net domain.NetworkKey, groupID string) {
	groups, err := r.groupsFor(ctx, net)
	if err != nil {
		return
	}
	marked := false
	for _, g := range groups {
		if g.ID == groupID {
			_, marked = g.Tags[r.o.opts.StaleTagKey]
		}
	}
	if !marked {
		return
	}
	_, _ = lazyFor(&r.mu, r.cleared, net.RegionID+"/"+groupID).get(func() (struct{}, error) {
		err := r.call(ctx, func(ctx context.Context) error {
			return r.o.ports.Marks.UntagGroups(ctx, net.RegionID, []string{groupID}, []string{r.o.opts.StaleTagKey})
		})
		log := logging.FromContext(ctx).With(zap.String(logging.FieldGroupID, groupID), zap.String(logging.FieldRegion, net.RegionID))
		if err != nil {
			log.Warn("could not clear the stale mark of a joined group; the cleanup will unmark it as used", zap.Error(err))
		} else {
			log.Info("cleared stale mark: the group is used again", zap.String("tag", r.o.opts.StaleTagKey))
		}
		return struct{}{}, err
	})
}

// retryableJoin retries throttling and transient failures in place, but not
// an instance that is still starting: that takes longer than a back-off, so
// the task is retried later through the queue instead.
func retryableJoin(err error) bool {
	return domain.IsRetryable(err) && !errors.Is(err, domain.ErrInstanceNotReady)
}

// lookupDecision turns a failed read (or create) into a decision.
func lookupDecision(o Options, err error) decision {
	var ce *createError
	isCreate := errors.As(err, &ce)
	switch k := domain.KindOf(err); {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, retry.ErrDeadlineNear):
		return retryIn(o.NotReadyDelay, ReasonDeadline, err.Error())
	case k == domain.KindThrottled:
		return retryIn(o.BackoffDelay, ReasonThrottled, err.Error())
	case k == domain.KindRetryable:
		return retryIn(o.BackoffDelay, ReasonUnavailable, err.Error())
	case isCreate && (k == domain.KindPermanent || k == domain.KindInvalid || k == domain.KindNotFound):
		return deadLetter(ReasonCreateFailed, err.Error())
	case k == domain.KindPermanent || k == domain.KindInvalid:
		return deadLetter(ReasonECSRefused, err.Error())
	default:
		return retryIn(o.BackoffDelay, ReasonECSError, err.Error())
	}
}

// joinDecision turns a failed join (not "already a member") into a decision.
func joinDecision(o Options, err error) decision {
	switch k := domain.KindOf(err); {
	case errors.Is(err, domain.ErrInstanceNotReady):
		return retryIn(o.NotReadyDelay, string(domain.ReasonNotReady), err.Error())
	case errors.Is(err, domain.ErrGroupLimit):
		// Someone else added groups since the plan was made.
		return deadLetter(string(domain.ReasonOverLimit), err.Error())
	case errors.Is(err, domain.ErrNetworkMismatch):
		return deadLetter(string(domain.ReasonNetworkMismatch), err.Error())
	case domain.CodeOf(err) == "InvalidOperation.MultiGroupType":
		return deadLetter(string(domain.ReasonMixedGroupTypes), err.Error())
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, retry.ErrDeadlineNear):
		return retryIn(o.NotReadyDelay, ReasonDeadline, err.Error())
	case k == domain.KindThrottled:
		return retryIn(o.BackoffDelay, ReasonThrottled, err.Error())
	case k == domain.KindRetryable:
		return retryIn(o.BackoffDelay, ReasonUnavailable, err.Error())
	case k == domain.KindNotFound || k == domain.KindConflict:
		// The instance or the group went away, or changed concurrently:
		// the next delivery re-reads both and decides afresh.
		return retryIn(o.NotReadyDelay, ReasonChangedMeantime, err.Error())
	case k == domain.KindPermanent || k == domain.KindInvalid:
		return deadLetter(ReasonJoinRefused, err.Error())
	default:
		return retryIn(o.BackoffDelay, ReasonECSError, err.Error())
	}
}

// logDecision writes the one log line of an instance's decision.
func (r *run) logDecision(ctx context.Context, s *subject) {
	ids := make([]string, len(s.tasks))
	for i, t := range s.tasks {
		ids[i] = t.ID
	}
	sort.Strings(ids)
	d := s.decision
	fields := []zap.Field{
		zap.String(logging.FieldInstanceID, s.instanceID),
		zap.String(logging.FieldTaskID, strings.Join(ids, ",")),
		zap.String(logging.FieldRegion, s.region),
		zap.String(logging.FieldDecision, d.result.String()),
		zap.String(logging.FieldReason, d.reason),
		zap.String(fieldDetail, d.detail),
	}
	if len(d.joined) > 0 {
		fields = append(fields, zap.Strings("joined", d.joined))
	}
	if d.result == worker.Retry {
		fields = append(fields, zap.Duration("retry_after", d.retryAfter))
	}
	log := logging.FromContext(ctx)
	switch d.result {
	case worker.DeadLetter:
		log.Warn("onboarding decision", fields...)
	default:
		log.Info("onboarding decision", fields...)
	}
}

var _ worker.Handler = (*Onboarder)(nil)
