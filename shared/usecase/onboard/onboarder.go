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
	"github.com/sgpilot/sgpilot/shared/core/task"
)

// Defaults of Options.
const (
	DefaultNotReadyDelay = 10 * time.Second
	DefaultBackoffDelay  = 30 * time.Second
	// DefaultStartingDelay is the safety-net retry of an instance still
	// starting. Its Running event normally brings a new task long before;
	// the worker doubles the delay on each further delivery.
	DefaultStartingDelay = 60 * time.Second
	// DefaultMaxPlanAge: a plan made from a read older than this is re-read
	// right before the first write.
	DefaultMaxPlanAge = 10 * time.Second
	// DefaultRecheckDelay is how long a task whose joins another writer's
	// pushed over the limit gives that writer to leave its own (see
	// verify.go) before it reads the instance again.
	DefaultRecheckDelay = 2 * time.Second
	// maxReplans bounds the re-plans after ECS refused a join for the quota.
	maxReplans = 3
	// MaxDescribeBatch is how many instances one DescribeInstances call asks for.
	MaxDescribeBatch = 100
)

// reasonLeaveRefused: ECS refused a leave for a lasting reason.
const reasonLeaveRefused task.Reason = "leave-refused"

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
	// NotReadyDelay is the retry delay for an instance still starting or in
	// a state that forbids group changes (default 10 s).
	NotReadyDelay time.Duration
	// BackoffDelay is the retry delay after ECS throttling or transient
	// failures outlasted the adapter's retries (default 30 s).
	BackoffDelay time.Duration
	// StartingDelay is the retry delay of an instance still Pending or
	// Starting (default 60 s): a safety net behind its Running event.
	StartingDelay time.Duration
	// Scope is sgpilot's scope: only groups in it play roles, and only
	// they are ever left (zero = domain.DefaultScope()).
	Scope domain.Scope
	// AllowedGroupIDs, when set, narrows role groups to these IDs.
	AllowedGroupIDs []string
	// MaxPlanAge: a read older than this is refreshed before writing
	// (default 10 s).
	MaxPlanAge time.Duration
	// Locks serialises writes per instance (nil = the process-wide set).
	Locks *Locks
	// RecheckDelay: after a batch's writes, an instance found above the
	// limit whose excess is another writer's to give up is read again this
	// much later (default 2 s; see verify.go).
	RecheckDelay time.Duration
	// Groups keeps network listings across Handle calls (nil: every
	// call lists the networks it needs; see GroupCache).
	Groups *GroupCache
	// Now reads the clock for MaxPlanAge (time.Now when nil).
	Now func() time.Time
	// Sleep waits for RecheckDelay (retry.Sleep when nil).
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter spreads the retries of a task that gave way in a race, in
	// [0,1) (math/rand when nil).
	Jitter func() float64
}

// Onboarder joins instances to their role groups. It is safe for concurrent
// use; lookups are shared within one Handle or Plan call, and group
// listings beyond it only through Options.Groups.
type Onboarder struct {
	ports Ports
	opts  Options
}

// New checks the ports and fills in the defaults.
func New(p Ports, o Options) (*Onboarder, error) {
	if p.Instances == nil || p.Groups == nil || p.Joiner == nil || p.Leaver == nil || p.Marks == nil {
		return nil, errors.New("onboard: the instance reader, group lister, group joiner, group leaver and mark clearer are required")
	}
	if o.CreateMissingGroups && p.Creator == nil {
		return nil, errors.New("onboard: CreateMissingGroups needs a group creator")
	}
	if o.GroupLimit < 0 || o.NotReadyDelay < 0 || o.BackoffDelay < 0 || o.StartingDelay < 0 || o.MaxPlanAge < 0 || o.RecheckDelay < 0 {
		return nil, fmt.Errorf("onboard: GroupLimit %d, NotReadyDelay %s, BackoffDelay %s, StartingDelay %s, MaxPlanAge %s and RecheckDelay %s must not be negative",
			o.GroupLimit, o.NotReadyDelay, o.BackoffDelay, o.StartingDelay, o.MaxPlanAge, o.RecheckDelay)
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
	if o.NotReadyDelay == 0 {
		o.NotReadyDelay = DefaultNotReadyDelay
	}
	if o.BackoffDelay == 0 {
		o.BackoffDelay = DefaultBackoffDelay
	}
	if o.StartingDelay == 0 {
		o.StartingDelay = DefaultStartingDelay
	}
	if o.MaxPlanAge == 0 {
		o.MaxPlanAge = DefaultMaxPlanAge
	}
	if o.RecheckDelay == 0 {
		o.RecheckDelay = DefaultRecheckDelay
	}
	if o.Sleep == nil {
		o.Sleep = retry.Sleep
	}
	if o.Scope.Empty() {
		o.Scope = domain.DefaultScope()
	}
	if o.Locks == nil {
		o.Locks = processLocks
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Onboarder{ports: p, opts: o}, nil
}

// Options returns the options in effect, defaults filled in.
func (o *Onboarder) Options() Options { return o.opts }

// decision is what happens to one instance's tasks: an outcome without a
// task ID, shared by every task of the instance.
type decision struct {
	outcome task.Outcome
	joined  []string
	left    []string
	whole   bool // every write of the plan took effect
}

func done(reason task.Reason, detail string) decision {
	return decision{outcome: task.Succeeded("", reason, detail)}
}

func retryIn(d time.Duration, reason task.Reason, detail string) decision {
	return decision{outcome: task.RetryLater("", d, reason, detail)}
}

func deadLetter(reason task.Reason, detail string) decision {
	return decision{outcome: task.Terminal("", reason, detail)}
}

// subject is one instance to onboard and the tasks asking for it.
type subject struct {
	region     string
	instanceID string
	tasks      []domain.Task
	inst       domain.Instance
	found      bool
	lookupErr  error
	readAt     time.Time // when inst was read
	gen        uint64    // the instance's write generation before the read
	// started: the instance's job has begun, so its read is its own; until
	// then another job may refresh it (run.rereadAhead). Under run.refreshMu.
	started bool
	// Set by the instance's job, read by the After round once every job
	// has returned: its decision, and what it wrote (nil: nothing).
	d     decision
	wrote *written
}

func (s *subject) key() string { return s.region + "/" + s.instanceID }

// Handle onboards the instances of a batch of tasks. It deduplicates the
// tasks by instance, describes the instances (one call per region per 100)
// and returns one job per instance, which the worker runs concurrently;
// the jobs share the run's group listings (one per network). Every task of
// an instance gets its instance's outcome. It implements task.Handler for
// domain.TaskOnboard.
func (o *Onboarder) Handle(ctx context.Context, tasks []domain.Task) []task.Job {
	var jobs []task.Job
	subjects := map[[2]string]*subject{}
	var order []*subject
	for _, t := range tasks {
		if t.Kind != domain.TaskOnboard {
			jobs = append(jobs, task.Known(task.Terminal(t.ID, task.ReasonUnsupportedKind,
				fmt.Sprintf("the onboarder handles %q tasks, not %q", domain.TaskOnboard, t.Kind))))
			continue
		}
		if err := t.Validate(); err != nil {
			jobs = append(jobs, task.Known(task.Terminal(t.ID, task.ReasonInvalidTask, err.Error())))
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
	r.order = order
	for _, s := range order {
		jobs = append(jobs, task.Job{TaskIDs: s.taskIDs(), Run: func(ctx context.Context) []task.Outcome {
			s.d = r.onboard(ctx, s)
			if s.wrote == nil {
				// Nothing to check afterwards: this is the decision.
				r.logDecision(ctx, s, s.d)
			}
			return s.outcomes()
		}})
	}
	return append(jobs, r.verifyJobs(order)...)
}

// outcomes gives the subject's decision to each of its tasks.
func (s *subject) outcomes() []task.Outcome {
	out := make([]task.Outcome, len(s.tasks))
	for i, t := range s.tasks {
		out[i] = s.d.outcome.For(t.ID)
	}
	return out
}

func (s *subject) taskIDs() []string {
	ids := make([]string, len(s.tasks))
	for i, t := range s.tasks {
		ids[i] = t.ID
	}
	return ids
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
	// fromCache holds the networks whose listing came from Options.Groups;
	// relisted lists such a network afresh, once per run.
	fromCache map[domain.NetworkKey]bool
	relisted  map[domain.NetworkKey]*lazy[[]domain.SecurityGroup]
	created   map[roleInNetwork]*lazy[domain.SecurityGroup]
	// madeIn holds the groups this run created, by network, once created.
	madeIn  map[domain.NetworkKey][]domain.SecurityGroup
	cleared map[string]*lazy[struct{}] // "region/group" whose stale mark was cleared

	// order is Handle's subjects; refreshMu guards their reads until their
	// jobs start.
	order     []*subject
	refreshMu sync.Mutex
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
		networks:  map[domain.NetworkKey]*lazy[[]domain.SecurityGroup]{},
		fromCache: map[domain.NetworkKey]bool{},
		relisted:  map[domain.NetworkKey]*lazy[[]domain.SecurityGroup]{},
		created:   map[roleInNetwork]*lazy[domain.SecurityGroup]{},
		madeIn:    map[domain.NetworkKey][]domain.SecurityGroup{},
		cleared:   map[string]*lazy[struct{}]{},
	}
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
				s.gen = r.o.opts.Locks.generation(s.key())
			}
			insts, err := r.o.ports.Instances.DescribeInstances(ctx, region, ids)
			readAt := r.o.opts.Now()
			byID := make(map[string]domain.Instance, len(insts))
			for _, in := range insts {
				byID[in.ID] = in
			}
			for _, s := range chunk {
				s.lookupErr, s.readAt = err, readAt
				s.inst, s.found = byID[s.instanceID]
				if s.found && s.inst.RegionID == "" {
					s.inst.RegionID = region
				}
			}
		}
	}
}

// networkGroups lists the groups of a network, once per run, or takes the
// listing from Options.Groups (a dry run always lists).
func (r *run) networkGroups(ctx context.Context, net domain.NetworkKey) ([]domain.SecurityGroup, error) {
	return lazyFor(&r.mu, r.networks, net).get(func() ([]domain.SecurityGroup, error) {
		if !r.dryRun {
			if g, ok := r.o.opts.Groups.get(net); ok {
				r.mu.Lock()
				r.fromCache[net] = true
				r.mu.Unlock()
				return g, nil
			}
		}
		return r.listGroups(ctx, net)
	})
}

// relist lists a network afresh when this run's listing of it came from
// the cache, once per run; it reports whether it did.
func (r *run) relist(ctx context.Context, net domain.NetworkKey) (bool, error) {
	r.mu.Lock()
	cached := r.fromCache[net]
	r.mu.Unlock()
	if !cached {
		return false, nil
	}
	_, err := lazyFor(&r.mu, r.relisted, net).get(func() ([]domain.SecurityGroup, error) {
		g, err := r.listGroups(ctx, net)
		if err != nil {
			return nil, err
		}
		fresh := &lazy[[]domain.SecurityGroup]{}
		fresh.get(func() ([]domain.SecurityGroup, error) { return g, nil })
		r.mu.Lock()
		r.networks[net] = fresh
		r.fromCache[net] = false
		r.mu.Unlock()
		return g, nil
	})
	return err == nil, err
}

// listGroups reads a network's groups from ECS and caches them.
func (r *run) listGroups(ctx context.Context, net domain.NetworkKey) ([]domain.SecurityGroup, error) {
	at := r.o.opts.Groups.time()
	out, err := r.describeGroups(ctx, net)
	if err == nil && !r.dryRun {
		r.o.opts.Groups.put(net, out, at)
	}
	return out, err
}

func (r *run) describeGroups(ctx context.Context, net domain.NetworkKey) ([]domain.SecurityGroup, error) {
	f := domain.GroupFilter{VPCID: net.VPCID}
	if net.VPCID == "" {
		f.NetworkType = domain.NetworkClassic
	}
	all, err := r.o.ports.Groups.ListGroups(ctx, net.RegionID, f)
	if err != nil {
		where := "the classic network"
		if net.VPCID != "" {
			where = net.VPCID
		}
		return nil, fmt.Errorf("list security groups of %s in %s: %w", where, net.RegionID, err)
	}
	// Keep the groups of exactly this network (the filter is not
	// trusted to have done it; tag filters are not used at all): the
	// planner needs the role groups, and the types of the others.
	var out []domain.SecurityGroup
	for _, g := range all {
		if g.RegionID == "" {
			g.RegionID = net.RegionID
		}
		if g.Network() == net {
			out = append(out, g)
		}
	}
	return out, nil
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
	in := domain.MembershipInput{Instance: inst, RoleTagKey: r.o.opts.RoleTagKey, NetworkGroups: groups, GroupLimit: r.o.opts.GroupLimit,
		Scope: r.o.opts.Scope, AllowedGroupIDs: r.o.opts.AllowedGroupIDs}
	plan, planErr = domain.PlanMembership(in)
	if distrust(inst, groups, plan, planErr) {
		// The listing may be out of date (it came from the cache): what
		// it refused, or could not see, is decided on a fresh one.
		again, err := r.relist(ctx, net)
		if err != nil {
			return domain.MembershipPlan{InstanceID: inst.ID}, nil, err
		}
		if again {
			if in.NetworkGroups, err = r.groupsFor(ctx, net); err != nil {
				return domain.MembershipPlan{InstanceID: inst.ID}, nil, err
			}
			plan, planErr = domain.PlanMembership(in)
		}
	}
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

// distrust reports whether a plan depends on the listing being current: it
// was refused, or the instance is in a group the listing lacks.
func distrust(inst domain.Instance, groups []domain.SecurityGroup, plan domain.MembershipPlan, planErr error) bool {
	if plan.Reason == domain.ReasonNoRoleGroup || (planErr != nil && domain.KindOf(planErr) != domain.KindRetryable) {
		return true
	}
	known := make(map[string]bool, len(groups))
	for _, g := range groups {
		known[g.ID] = true
	}
	for _, id := range inst.GroupIDs {
		if !known[id] {
			return true
		}
	}
	return false
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
		r.o.opts.Groups.forget(net)
		g := domain.SecurityGroup{ID: id, Name: spec.Name, Description: spec.Description, RegionID: net.RegionID,
			VPCID: net.VPCID, Type: "normal", Tags: spec.Tags}
		r.mu.Lock()
		r.madeIn[net] = append(r.madeIn[net], g)
		r.mu.Unlock()
		return g, nil
	})
}

// onboard decides and applies one instance's membership. Writes to one
// instance are serialised within the process (Options.Locks); the plan is
// re-read right before the first write when it may have changed: another
// job of this process wrote to the instance since the read, or the read is
// older than MaxPlanAge. A join ECS refuses for the quota is undone and
// the instance re-planned, so no plan is ever left half-applied for it.
func (r *run) onboard(ctx context.Context, s *subject) decision {
	r.refreshMu.Lock()
	s.started = true
	r.refreshMu.Unlock()
	if s.lookupErr != nil {
		return lookupDecision(r.o.opts, fmt.Errorf("describe instance in %s: %w", s.region, s.lookupErr))
	}
	if !s.found {
		return r.gone(s)
	}
	inst := s.inst
	if inst.Status.StillStarting() && inst.Tags[r.o.opts.RoleTagKey] != "" {
		// ECS changes no group before Running, so the plan can wait for
		// the read of the next delivery (its Running event, or the
		// safety-net retry): no group lookup for an instance that is
		// only being announced.
		return retryIn(r.o.opts.StartingDelay, domain.ReasonNotReady,
			fmt.Sprintf("instance is %s; ECS changes groups only when Running or Stopped", inst.Status))
	}
	plan, planErr, err := r.plan(ctx, inst)
	if d, final := r.judge(inst, plan, planErr, err); final {
		return d
	}
	h := r.o.opts.Locks.lock(s.key())
	defer h.release()
	wroteSince := h.gen() != s.gen
	stale := wroteSince || r.o.opts.Now().Sub(s.readAt) > r.o.opts.MaxPlanAge
	for attempt := 1; ; attempt++ {
		if stale {
			reread := r.reread
			if attempt == 1 && !wroteSince {
				// Only old: the batch's later instances were read as
				// long ago, so they are read again in the same call.
				reread = r.rereadAhead
			}
			fresh, found, err := reread(ctx, s)
			if err != nil {
				return lookupDecision(r.o.opts, err)
			}
			if !found {
				return r.gone(s)
			}
			inst = fresh
			plan, planErr, err = r.plan(ctx, inst)
			if d, final := r.judge(inst, plan, planErr, err); final {
				return d
			}
		}
		d, refused := r.apply(ctx, s, inst, plan, h)
		if !refused || attempt == maxReplans {
			if len(d.joined)+len(d.left) > 0 {
				s.wrote = &written{base: inst.GroupIDs, plan: plan, joined: d.joined, whole: d.whole}
			}
			return d
		}
		logging.FromContext(ctx).Info("ECS refused a join for the group quota; undone, re-planning",
			zap.String(logging.FieldInstanceID, s.instanceID), zap.Int("attempt", attempt))
		stale = true
	}
}

func (r *run) gone(s *subject) decision {
	return deadLetter(domain.ReasonInstanceGone,
		fmt.Sprintf("no instance %s in %s (deleted, or the task names the wrong region)", s.instanceID, s.region))
}

// judge turns a plan that needs no write (or cannot be made) into the
// final decision; final is false when the plan has changes to apply.
func (r *run) judge(inst domain.Instance, plan domain.MembershipPlan, planErr, err error) (decision, bool) {
	if err != nil {
		return lookupDecision(r.o.opts, err), true
	}
	if planErr != nil {
		if domain.KindOf(planErr) == domain.KindRetryable {
			delay := r.o.opts.NotReadyDelay
			if inst.Status.StillStarting() {
				delay = r.o.opts.StartingDelay
			}
			return retryIn(delay, plan.Reason, plan.Detail), true
		}
		return deadLetter(plan.Reason, plan.Detail+"; nothing was changed"), true
	}
	if !plan.Changes() {
		return done(plan.Reason, plan.Detail), true
	}
	return decision{}, false
}

// reread describes one instance again, right before a write.
func (r *run) reread(ctx context.Context, s *subject) (domain.Instance, bool, error) {
	byID, err := r.readByID(ctx, s.region, []string{s.instanceID})
	if err != nil {
		return domain.Instance{}, false, fmt.Errorf("describe instance %s again before writing: %w", s.instanceID, err)
	}
	in, found := byID[s.instanceID]
	return in, found, nil
}

// readByID describes instances of one region, by ID (absent: not found).
func (r *run) readByID(ctx context.Context, region string, ids []string) (map[string]domain.Instance, error) {
	insts, err := r.o.ports.Instances.DescribeInstances(ctx, region, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]domain.Instance, len(insts))
	for _, in := range insts {
		if in.RegionID == "" {
			in.RegionID = region
		}
		byID[in.ID] = in
	}
	return byID, nil
}

// rereadAhead re-reads s, and in the same call the instances of its region
// whose jobs have not started yet (their reads are as old): a batch whose
// writes outlast MaxPlanAge re-reads its tail in one call, not one per
// instance. A failure leaves the others' reads as they were.
func (r *run) rereadAhead(ctx context.Context, s *subject) (domain.Instance, bool, error) {
	r.refreshMu.Lock()
	defer r.refreshMu.Unlock()
	ahead := []*subject{s}
	for _, o := range r.order {
		if len(ahead) == MaxDescribeBatch {
			break
		}
		if o != s && !o.started && o.region == s.region && o.found && o.lookupErr == nil {
			ahead = append(ahead, o)
		}
	}
	if len(ahead) == 1 {
		return r.reread(ctx, s)
	}
	ids := make([]string, len(ahead))
	gens := make([]uint64, len(ahead))
	for i, o := range ahead {
		ids[i] = o.instanceID
		gens[i] = r.o.opts.Locks.generation(o.key())
	}
	byID, err := r.readByID(ctx, s.region, ids)
	if err != nil {
		return domain.Instance{}, false, fmt.Errorf("describe %d instances again before writing %s: %w", len(ids), s.instanceID, err)
	}
	readAt := r.o.opts.Now()
	for i, o := range ahead[1:] {
		o.inst, o.found = byID[o.instanceID]
		o.readAt, o.gen = readAt, gens[i+1]
	}
	in, found := byID[s.instanceID]
	return in, found, nil
}

// apply joins and leaves as planned, under the instance's lock. refused
// reports a join ECS refused for the group quota: the joins of this
// attempt were undone and the caller re-plans.
func (r *run) apply(ctx context.Context, s *subject, inst domain.Instance, plan domain.MembershipPlan, h *held) (d decision, refused bool) {
	var joined, left []string
	finish := func(d decision) decision {
		d.joined, d.left = joined, left
		if len(joined)+len(left) > 0 && d.outcome.Result != task.Done {
			d.outcome.Detail += fmt.Sprintf("; done before: joined [%s], left [%s]", strings.Join(joined, ","), strings.Join(left, ","))
		}
		return d
	}
	leave := func() (decision, bool) {
		for _, gid := range plan.ToLeave {
			err := r.o.ports.Leaver.LeaveGroup(ctx, s.region, s.instanceID, gid)
			switch {
			case err == nil:
				h.wrote()
				left = append(left, gid)
			case errors.Is(err, domain.ErrNotMember):
			case errors.Is(err, domain.ErrLastGroup):
				// Someone else left the other groups since the read.
				return finish(done(domain.ReasonLastGroup, fmt.Sprintf("kept %s: ECS says it is the instance's last group", gid))), true
			default:
				d := r.writeDecision(inst, err, reasonLeaveRefused)
				d.outcome.Detail = fmt.Sprintf("leave %s: %s", gid, d.outcome.Detail)
				return finish(d), true
			}
		}
		return decision{}, false
	}
	if plan.LeaveFirst {
		if d, stop := leave(); stop {
			return d, false
		}
	}
	for _, gid := range plan.ToJoin {
		// The adapter retried throttling and transient failures; an
		// instance still starting comes back as ErrInstanceNotReady at
		// once and becomes a later delivery.
		err := r.o.ports.Joiner.JoinGroup(ctx, s.region, s.instanceID, gid)
		switch {
		case err == nil:
			h.wrote()
			joined = append(joined, gid)
			r.clearMark(ctx, inst.Network(), gid)
			continue
		case errors.Is(err, domain.ErrAlreadyMember):
			continue
		case errors.Is(err, domain.ErrGroupLimit):
			// Someone else added groups since the read: undo this
			// attempt's joins rather than leave half a plan.
			undone := r.undo(ctx, s, joined, h)
			joined = nil
			d := deadLetter(domain.ReasonOverLimit, fmt.Sprintf("join %s: %v; %s", gid, err, undone))
			return finish(d), true
		}
		if domain.KindOf(err) == domain.KindNotFound {
			// The group went away since the listing: the retry lists again.
			r.o.opts.Groups.forget(inst.Network())
		}
		d := r.writeDecision(inst, err, task.ReasonJoinRefused)
		d.outcome.Detail = fmt.Sprintf("join %s: %s", gid, d.outcome.Detail)
		return finish(d), false
	}
	if !plan.LeaveFirst {
		if d, stop := leave(); stop {
			return d, false
		}
	}
	d = finish(done(plan.Reason, plan.Detail))
	d.whole = true
	return d, false
}

// undo leaves the groups this attempt joined, newest first, and says how
// it went.
func (r *run) undo(ctx context.Context, s *subject, joined []string, h *held) string {
	if len(joined) == 0 {
		return "nothing was changed"
	}
	var failed []string
	for i := len(joined) - 1; i >= 0; i-- {
		err := r.o.ports.Leaver.LeaveGroup(ctx, s.region, s.instanceID, joined[i])
		if err != nil && !errors.Is(err, domain.ErrNotMember) {
			failed = append(failed, fmt.Sprintf("%s (%v)", joined[i], err))
			continue
		}
		h.wrote()
	}
	if len(failed) > 0 {
		return "joins undone except " + strings.Join(failed, "; ")
	}
	return "the joins before it were undone: " + strings.Join(joined, ",")
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
		err := r.o.ports.Marks.UntagGroups(ctx, net.RegionID, []string{groupID}, []string{r.o.opts.StaleTagKey})
		log := logging.FromContext(ctx).With(zap.String(logging.FieldGroupID, groupID), zap.String(logging.FieldRegion, net.RegionID))
		if err != nil {
			log.Warn("could not clear the stale mark of a joined group; the cleanup will unmark it as used", zap.Error(err))
		} else {
			r.o.opts.Groups.untagged(net, groupID, r.o.opts.StaleTagKey)
			log.Info("cleared stale mark: the group is used again", zap.String("tag", r.o.opts.StaleTagKey))
		}
		return struct{}{}, err
	})
}

// errorPolicy is how task.FromError treats onboarding's failures: a wait
// of BackoffDelay when the cloud is struggling, NotReadyDelay when only the
// time ran out or something changed meanwhile, and refused as the reason
// of a lasting refusal.
func (o Options) errorPolicy(refused task.Reason) task.Options {
	return task.Options{Backoff: o.BackoffDelay, Soon: o.NotReadyDelay, Refused: refused}
}

// lookupDecision turns a failed read (or create) into a decision.
func lookupDecision(o Options, err error) decision {
	refused := task.ReasonECSRefused
	var ce *createError
	if errors.As(err, &ce) {
		refused = task.ReasonCreateFailed
	}
	return decision{outcome: task.FromError("", err, o.errorPolicy(refused))}
}

// writeDecision turns a failed join or leave (not "already done") into a
// decision: the write's own refusals first, then the shared policy.
func (r *run) writeDecision(inst domain.Instance, err error, refused task.Reason) decision {
	o := r.o.opts
	switch {
	case errors.Is(err, domain.ErrInstanceNotReady):
		delay := o.NotReadyDelay
		if inst.Status.StillStarting() {
			delay = o.StartingDelay
		}
		return retryIn(delay, domain.ReasonNotReady, err.Error())
	case errors.Is(err, domain.ErrGroupLimit):
		return deadLetter(domain.ReasonOverLimit, err.Error())
	case errors.Is(err, domain.ErrNetworkMismatch):
		return deadLetter(domain.ReasonNetworkMismatch, err.Error())
	case domain.CodeOf(err) == "InvalidOperation.MultiGroupType":
		return deadLetter(domain.ReasonMixedGroupTypes, err.Error())
	}
	return decision{outcome: task.FromError("", err, o.errorPolicy(refused))}
}

// logDecision writes the one log line of an instance's decision.
func (r *run) logDecision(ctx context.Context, s *subject, d decision) {
	ids := make([]string, len(s.tasks))
	for i, t := range s.tasks {
		ids[i] = t.ID
	}
	sort.Strings(ids)
	o := d.outcome
	fields := []zap.Field{
		zap.String(logging.FieldInstanceID, s.instanceID),
		zap.String(logging.FieldTaskID, strings.Join(ids, ",")),
		zap.String(logging.FieldRegion, s.region),
		zap.String(logging.FieldDecision, o.Result.String()),
		zap.String(logging.FieldReason, string(o.Reason)),
		zap.String(fieldDetail, o.Detail),
	}
	if len(d.joined) > 0 {
		fields = append(fields, zap.Strings("joined", d.joined))
	}
	if len(d.left) > 0 {
		fields = append(fields, zap.Strings("left", d.left))
	}
	if o.Result == task.Retry {
		fields = append(fields, zap.Duration("retry_after", o.RetryAfter))
	}
	log := logging.FromContext(ctx)
	switch o.Result {
	case task.DeadLetter:
		log.Warn("onboarding decision", fields...)
	default:
		log.Info("onboarding decision", fields...)
	}
}

var _ task.Handler = (*Onboarder)(nil)
