package roles

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
	"github.com/sgpilot/sgpilot/shared/core/rolepolicy"
)

// Mode says whether a converge run may change anything.
type Mode string

const (
	// ModePlan reads and plans; nothing changes.
	ModePlan Mode = "plan"
	// ModeApply carries the plans out.
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
		return "", domain.Errorf(domain.KindInvalid, "parse roles action", "", "action %q: want plan or apply", s)
	}
}

// Options configure one converge run.
type Options struct {
	Regions []string
	Policy  rolepolicy.Policy
	Mode    Mode
	// MaxRevokes is the blast-radius limit per network
	// (rolepolicy.DefaultMaxRevokes when ≤ 0).
	MaxRevokes int
	// RoleTagKey names a group's role; ManagedTagKey/Value mark the groups
	// sgpilot manages (the cleanup scope). Empty: the defaults.
	RoleTagKey      string
	ManagedTagKey   string
	ManagedTagValue string
	// SplitOver, Tasks and RunID split an apply (split.go): a region with
	// more role groups than SplitOver (> 0) is queued as one
	// TaskRolesNetwork per network on Tasks instead of applied in place.
	SplitOver int
	Tasks     TaskSender
	RunID     string
}

func (o Options) withDefaults() Options {
	if o.RoleTagKey == "" {
		o.RoleTagKey = domain.DefaultRoleTagKey
	}
	if o.ManagedTagKey == "" {
		o.ManagedTagKey, o.ManagedTagValue = domain.DefaultManagedTagKey, domain.DefaultManagedTagValue
	}
	return o
}

// NetworkResult is what happened in one network.
type NetworkResult struct {
	Network rolepolicy.Network `json:"network"`
	// Plan is absent when the network's rules could not be read.
	Plan *rolepolicy.Plan `json:"plan,omitempty"`
	// Applied is true when the whole plan was carried out.
	Applied bool `json:"applied"`
	// Created maps role → ID of the groups created.
	Created    map[string]string `json:"created"`
	Authorized int               `json:"authorized"`
	Revoked    int               `json:"revoked"`
	// Error says what failed (reading or applying); ErrorKind is its
	// domain.Kind. Changes made before the failure stay made.
	Error     string `json:"error,omitempty"`
	ErrorKind string `json:"errorKind,omitempty"`
	// QueuedAs is the task that applies this network in the worker (a
	// split region); the network is then neither planned nor applied here.
	QueuedAs string `json:"queuedAs,omitempty"`
	// err is the failure with its kind, for the worker's outcome.
	err error
}

// RegionError is a region whose listings failed: none of its networks was planned.
type RegionError struct {
	RegionID string `json:"regionId"`
	Error    string `json:"error"`
	Kind     string `json:"kind"`
}

// Summary counts a run.
type Summary struct {
	Networks        int `json:"networks"`
	Failed          int `json:"failed"` // networks and regions with an error
	Queued          int `json:"queued"` // networks handed to the worker (split regions)
	GroupsToCreate  int `json:"groupsToCreate"`
	RulesToAuth     int `json:"rulesToAuthorize"`
	RulesToRevoke   int `json:"rulesToRevoke"`
	Withheld        int `json:"withheld"`
	Unmanaged       int `json:"unmanagedGroupsDrifting"`
	GroupsCreated   int `json:"groupsCreated"`
	RulesAuthorized int `json:"rulesAuthorized"`
	RulesRevoked    int `json:"rulesRevoked"`
}

// Report is a converge run's result.
type Report struct {
	Mode         Mode            `json:"mode"`
	Roles        []string        `json:"roles"`
	Networks     []NetworkResult `json:"networks"`
	RegionErrors []RegionError   `json:"regionErrors"`
	Summary      Summary         `json:"summary"`
	// Calls counts the port calls of the run by method.
	Calls map[string]int `json:"calls"`
}

// Failed reports whether any network or region failed.
func (r Report) Failed() bool { return r.Summary.Failed > 0 }

// Converger makes the role groups of each network match the policy.
// A Converger holds no state between runs.
type Converger struct {
	ECS ConvergeECS
}

// NewConverger returns a Converger over ecs.
func NewConverger(ecs ConvergeECS) *Converger { return &Converger{ECS: ecs} }

// Run plans (and in apply mode applies) every network of every region. The
// error is non-nil only for a run that could not start (a cancelled
// context); failures of regions and networks are in the report.
func (c *Converger) Run(ctx context.Context, opts Options) (Report, error) {
	opts = opts.withDefaults()
	rep := Report{Mode: opts.Mode, Roles: []string{}, Networks: []NetworkResult{}, RegionErrors: []RegionError{}, Calls: map[string]int{}}
	if rep.Mode == "" {
		rep.Mode = ModePlan
	}
	for _, r := range opts.Policy.Roles {
		rep.Roles = append(rep.Roles, r.Name)
	}
	calls := &counter{m: rep.Calls}
	log := logging.FromContext(ctx)
	for _, region := range opts.Regions {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("roles run stopped before region %s: %w", region, err)
		}
		nets, err := c.region(ctx, calls, region, opts)
		if err != nil {
			rep.RegionErrors = append(rep.RegionErrors, RegionError{RegionID: region, Error: err.Error(), Kind: domain.KindOf(err).String()})
			log.Warn("roles: region not planned", zap.String("region", region), zap.Error(err))
			continue
		}
		if opts.splits(nets) {
			rep.Networks = append(rep.Networks, c.queue(ctx, region, nets, opts)...)
			continue
		}
		for _, n := range nets {
			res := c.network(ctx, calls, n, opts)
			if res.Error != "" {
				log.Warn("roles: network failed", zap.String("network", n.net.String()), zap.String("error", res.Error))
			}
			rep.Networks = append(rep.Networks, res)
		}
	}
	rep.Summary = summarize(rep)
	return rep, nil
}

// networkInput is one network and the role groups found there.
type networkInput struct {
	net    rolepolicy.Network
	groups []domain.SecurityGroup
}

// region lists the region's groups and instances and returns its networks,
// sorted (classic first).
func (c *Converger) region(ctx context.Context, calls *counter, region string, opts Options) ([]networkInput, error) {
	calls.add("ListGroups")
	groups, err := c.ECS.ListGroups(ctx, region, domain.GroupFilter{})
	if err != nil {
		return nil, err
	}
	calls.add("ListInstances")
	instances, err := c.ECS.ListInstances(ctx, region, domain.InstanceFilter{})
	if err != nil {
		return nil, err
	}
	classicWanted := false
	for _, r := range opts.Policy.Roles {
		classicWanted = classicWanted || r.Networks.Classic
	}
	byNet := map[string]*networkInput{}
	touch := func(vpc string) *networkInput {
		if vpc == "" && !classicWanted {
			return nil
		}
		n := byNet[vpc]
		if n == nil {
			n = &networkInput{net: rolepolicy.Network{RegionID: region, VPCID: vpc}}
			byNet[vpc] = n
		}
		return n
	}
	for _, in := range instances {
		touch(in.Network().VPCID)
	}
	for _, g := range groups {
		if _, ok := domain.GroupRole(g, opts.RoleTagKey); !ok || g.ServiceManaged {
			continue
		}
		if n := touch(g.VPCID); n != nil {
			n.groups = append(n.groups, g)
		}
	}
	out := make([]networkInput, 0, len(byNet))
	for _, n := range byNet {
		out = append(out, *n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].net.VPCID < out[j].net.VPCID })
	return out, nil
}

// network reads the rules of the network's groups of declared roles, plans,
// and applies in apply mode.
func (c *Converger) network(ctx context.Context, calls *counter, in networkInput, opts Options) NetworkResult {
	res := NetworkResult{Network: in.net, Created: map[string]string{}}
	fail := func(what string, err error) NetworkResult {
		res.Error, res.ErrorKind = what+": "+err.Error(), domain.KindOf(err).String()
		res.err = fmt.Errorf("%s: %w", what, err)
		return res
	}
	var groups []rolepolicy.Group
	for _, g := range in.groups {
		role, _ := domain.GroupRole(g, opts.RoleTagKey)
		if _, declared := opts.Policy.Role(string(role)); !declared {
			// The planner leaves it alone; its rules are not needed.
			groups = append(groups, toGroup(g, string(role), nil, opts))
			continue
		}
		calls.add("GroupRules")
		rules, err := c.ECS.GroupRules(ctx, in.net.RegionID, g.ID)
		if domain.KindOf(err) == domain.KindNotFound {
			continue // deleted since the listing
		}
		if err != nil {
			return fail("read rules", err)
		}
		groups = append(groups, toGroup(g, string(role), rules, opts))
	}
	plan := rolepolicy.BuildPlan(opts.Policy, in.net, groups, rolepolicy.PlanOptions{MaxRevokes: opts.MaxRevokes,
		RoleTagKey: opts.RoleTagKey, ManagedTagKey: opts.ManagedTagKey, ManagedTagValue: opts.ManagedTagValue})
	res.Plan = &plan
	if opts.Mode != ModeApply || plan.Empty() {
		res.Applied = opts.Mode == ModeApply
		return res
	}

	// Apply in the plan's order: create, resolve, revoke, authorize.
	for _, g := range plan.Create {
		calls.add("CreateRoleGroup")
		id, err := c.ECS.CreateRoleGroup(ctx, in.net, g)
		if err != nil {
			return fail(fmt.Sprintf("create group %s", g.Name), err)
		}
		res.Created[g.Role] = id
	}
	plan = plan.Resolve(res.Created)
	res.Plan = &plan
	for _, b := range byGroup(plan.Revoke) {
		calls.add("RevokeRules")
		if err := c.ECS.RevokeRules(ctx, in.net.RegionID, b.groupID, b.rules); err != nil {
			return fail(fmt.Sprintf("revoke %d rules from %s", len(b.rules), b.groupID), err)
		}
		res.Revoked += len(b.rules)
	}
	for _, b := range byGroup(plan.Authorize) {
		calls.add("AuthorizeRules")
		if err := c.ECS.AuthorizeRules(ctx, in.net.RegionID, b.groupID, b.rules); err != nil {
			return fail(fmt.Sprintf("authorize %d rules on %s", len(b.rules), b.groupID), err)
		}
		res.Authorized += len(b.rules)
	}
	res.Applied = true
	return res
}

func toGroup(g domain.SecurityGroup, role string, rules []rolepolicy.Rule, opts Options) rolepolicy.Group {
	v, ok := g.Tags[opts.ManagedTagKey]
	managed := ok && (opts.ManagedTagValue == "" || v == opts.ManagedTagValue)
	return rolepolicy.Group{ID: g.ID, Name: g.Name, VPCID: g.VPCID, Type: g.Type, Role: role, Managed: managed, Rules: rules}
}

type groupBatch struct {
	groupID string
	rules   []rolepolicy.Rule
}

// byGroup keeps the plan's order of groups (first appearance) and of rules.
func byGroup(cs []rolepolicy.RuleChange) []groupBatch {
	var out []groupBatch
	idx := map[string]int{}
	for _, c := range cs {
		i, ok := idx[c.GroupID]
		if !ok {
			i = len(out)
			idx[c.GroupID] = i
			out = append(out, groupBatch{groupID: c.GroupID})
		}
		out[i].rules = append(out[i].rules, c.Rule)
	}
	return out
}

func summarize(rep Report) Summary {
	s := Summary{Networks: len(rep.Networks), Failed: len(rep.RegionErrors)}
	for _, n := range rep.Networks {
		if n.Error != "" {
			s.Failed++
		}
		if n.QueuedAs != "" {
			s.Queued++
		}
		s.GroupsCreated += len(n.Created)
		s.RulesAuthorized += n.Authorized
		s.RulesRevoked += n.Revoked
		if n.Plan == nil {
			continue
		}
		s.GroupsToCreate += len(n.Plan.Create)
		s.RulesToAuth += len(n.Plan.Authorize)
		s.RulesToRevoke += len(n.Plan.Revoke)
		s.Withheld += len(n.Plan.Withheld)
		s.Unmanaged += len(n.Plan.Unmanaged)
	}
	return s
}

// Text renders the run for people: each network's plan, then what was done.
func (r Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Role policy %s run (roles: %s)\n", r.Mode, strings.Join(r.Roles, ", "))
	for _, e := range r.RegionErrors {
		fmt.Fprintf(&b, "Region %s not planned (%s): %s\n", e.RegionID, e.Kind, e.Error)
	}
	for _, n := range r.Networks {
		if n.QueuedAs != "" && n.Error == "" {
			fmt.Fprintf(&b, "Role policy for %s\n  queued to the worker as %s (the region is split by network)\n", n.Network, n.QueuedAs)
			continue
		}
		if n.Plan == nil {
			fmt.Fprintf(&b, "Role policy plan for %s\n  FAILED (%s): %s\n", n.Network, n.ErrorKind, n.Error)
			continue
		}
		b.WriteString(n.Plan.Text())
		switch {
		case n.Error != "":
			fmt.Fprintf(&b, "  FAILED (%s): %s (created %d groups, revoked %d, authorized %d before it)\n",
				n.ErrorKind, n.Error, len(n.Created), n.Revoked, n.Authorized)
		case r.Mode == ModeApply && !n.Plan.Empty():
			fmt.Fprintf(&b, "  applied: created %d groups, revoked %d rules, authorized %d rules\n", len(n.Created), n.Revoked, n.Authorized)
		}
	}
	s := r.Summary
	if s.Queued > 0 {
		fmt.Fprintf(&b, "Queued: %d networks applied by the worker, each in a task of its own.\n", s.Queued)
	}
	fmt.Fprintf(&b, "Total: %d networks (%d failed); planned %d groups to create, %d rules to authorize, %d to revoke, %d withheld; done: %d created, %d authorized, %d revoked; %d calls.\n",
		s.Networks, s.Failed, s.GroupsToCreate, s.RulesToAuth, s.RulesToRevoke, s.Withheld, s.GroupsCreated, s.RulesAuthorized, s.RulesRevoked, total(r.Calls))
	return b.String()
}

// counter counts port calls; a run is sequential, so no lock.
type counter struct{ m map[string]int }

func (c *counter) add(method string) { c.m[method]++ }

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
