package domain

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Cleanup defaults. Each is conservative: a forgotten group costs little, a
// wrongly deleted one cuts production off.
const (
	DefaultManagedTagKey    = "sgpilot:managed"
	DefaultManagedTagValue  = "true"
	DefaultProtectTagKey    = "sgpilot:protect"
	DefaultStaleTagKey      = "sgpilot:stale-since"
	DefaultGracePeriod      = 7 * 24 * time.Hour
	DefaultMinGroupAge      = 24 * time.Hour
	DefaultMaxDeletions     = 20
	DefaultMaxDeletePercent = 25.0
	// StaleDateLayout is the format of the stale-since tag value.
	StaleDateLayout = "2006-01-02"
)

// Scope selects the groups sgpilot may manage. A group is in scope when it
// matches every non-empty criterion. The zero Scope matches nothing, so a
// misconfiguration can never widen the blast radius to a whole account.
type Scope struct {
	TagKey     string // group must carry this tag key ...
	TagValue   string // ... with this value ("" = any value)
	NamePrefix string // group name must start with this
}

// Empty reports whether the scope has no criterion (matches nothing).
func (s Scope) Empty() bool { return s.TagKey == "" && s.NamePrefix == "" }

// Matches reports whether g is in scope.
func (s Scope) Matches(g SecurityGroup) bool {
	if s.Empty() {
		return false
	}
	if s.TagKey != "" {
		v, ok := g.Tags[s.TagKey]
		if !ok || (s.TagValue != "" && v != s.TagValue) {
			return false
		}
	}
	if s.NamePrefix != "" && !strings.HasPrefix(g.Name, s.NamePrefix) {
		return false
	}
	return true
}

func (s Scope) String() string {
	var parts []string
	if s.TagKey != "" {
		if s.TagValue != "" {
			parts = append(parts, "tag "+s.TagKey+"="+s.TagValue)
		} else {
			parts = append(parts, "tag "+s.TagKey)
		}
	}
	if s.NamePrefix != "" {
		parts = append(parts, "name prefix "+s.NamePrefix)
	}
	if len(parts) == 0 {
		return "(nothing)"
	}
	return strings.Join(parts, " and ")
}

// CleanupPolicy holds the knobs of the stale-group rules.
type CleanupPolicy struct {
	Scope            Scope
	ProtectTagKey    string
	StaleTagKey      string
	GracePeriod      time.Duration
	MinGroupAge      time.Duration
	MaxDeletions     int     // per region per run; 0 = none allowed
	MaxDeletePercent float64 // of the in-scope groups of the region, 0..100
	// DeclaredRoles are the role names the role policy declares; a group
	// whose role tag (RoleTagKey) names one is kept (ReasonDeclaredRole):
	// the next instance of that role joins it, even if none runs today.
	DeclaredRoles map[string]bool
	// RoleTagKey is the tag naming a group's role ("" = DefaultRoleTagKey).
	RoleTagKey string
	// ApprovedPlanID, when it names a region's deletion plan ID, lifts the
	// blast-radius limit for exactly that plan; a region whose plan has
	// another ID changes nothing (approval.go).
	ApprovedPlanID string
}

// DefaultCleanupPolicy returns the documented defaults.
func DefaultCleanupPolicy() CleanupPolicy {
	return CleanupPolicy{
		Scope:            Scope{TagKey: DefaultManagedTagKey, TagValue: DefaultManagedTagValue},
		ProtectTagKey:    DefaultProtectTagKey,
		StaleTagKey:      DefaultStaleTagKey,
		GracePeriod:      DefaultGracePeriod,
		MinGroupAge:      DefaultMinGroupAge,
		MaxDeletions:     DefaultMaxDeletions,
		MaxDeletePercent: DefaultMaxDeletePercent,
	}
}

// GroupUsage is everything that can make a group "in use". The cleanup use
// case fills it from bulk reads; a group absent from every source has the
// zero value.
type GroupUsage struct {
	Instances    []string // instances whose primary NIC is in the group
	ENIs         []string // network interfaces in the group (any type)
	ReferencedBy []string // other groups whose rules name this one (never itself)
	// ReferrerAccounts gives the account of a referencing group, when
	// known (shown in plans: a group of another account is beyond reach).
	ReferrerAccounts map[string]string
	// TemplateVersions: every launch template version naming it.
	TemplateVersions []TemplateVersionUse
	// ScalingConfigurations: ESS scaling configurations naming it.
	ScalingConfigurations []ScalingUse
	// ContainerGroups: ECI container groups bound to it.
	ContainerGroups []ContainerGroupUse
}

// InUse reports whether anything still depends on the group.
func (u GroupUsage) InUse() bool {
	return len(u.Instances) > 0 || len(u.ENIs) > 0 || len(u.ReferencedBy) > 0 || len(u.TemplateVersions) > 0 ||
		len(u.ScalingConfigurations) > 0 || len(u.ContainerGroups) > 0
}

// Counts returns how many users of each kind the group has (kinds with
// none are absent).
func (u GroupUsage) Counts() map[UserKind]int {
	out := map[UserKind]int{}
	for k, n := range map[UserKind]int{UserInstance: len(u.Instances), UserENI: len(u.ENIs), UserReference: len(u.ReferencedBy),
		UserTemplateVersion: len(u.TemplateVersions), UserScalingConfiguration: len(u.ScalingConfigurations),
		UserContainerGroup: len(u.ContainerGroups)} {
		if n > 0 {
			out[k] = n
		}
	}
	return out
}

// Describe lists the users of every kind in words, for plans and logs: a
// count per kind and the first few of each by name.
func (u GroupUsage) Describe() string {
	var parts []string
	add := func(what string, names []string) {
		if len(names) == 0 {
			return
		}
		shown := names
		if len(shown) > 3 {
			shown = shown[:3]
		}
		s := fmt.Sprintf("%d %s (%s", len(names), what, strings.Join(shown, "; "))
		if len(names) > 3 {
			s += "; …"
		}
		parts = append(parts, s+")")
	}
	add("instances", u.Instances)
	add("ENIs", u.ENIs)
	refs := make([]string, len(u.ReferencedBy))
	for i, g := range u.ReferencedBy {
		refs[i] = Referrer{GroupID: g, AccountID: u.ReferrerAccounts[g]}.String()
	}
	add("referencing groups", refs)
	add("launch template versions", stringsOf(u.TemplateVersions))
	add("scaling configurations", stringsOf(u.ScalingConfigurations))
	add("ECI container groups", stringsOf(u.ContainerGroups))
	return strings.Join(parts, ", ")
}

func stringsOf[T fmt.Stringer](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.String()
	}
	return out
}

// CleanupAction is what a run does with one group.
type CleanupAction string

const (
	ActionKeep   CleanupAction = "keep"   // in use, too young, or waiting out the grace period
	ActionMark   CleanupAction = "mark"   // newly stale: tag stale-since=today
	ActionUnmark CleanupAction = "unmark" // marked but used again: remove the tag
	ActionDelete CleanupAction = "delete" // stale past the grace period
	ActionSkip   CleanupAction = "skip"   // never touched: out of scope, protected, managed by a service
)

// Cleanup reasons.
const (
	ReasonOutOfScope          Reason = "out-of-scope"
	ReasonProtected           Reason = "protected"
	ReasonServiceManaged      Reason = "service-managed"
	ReasonInUse               Reason = "in-use"
	ReasonTooYoung            Reason = "too-young"
	ReasonNewlyStale          Reason = "newly-stale"
	ReasonInGrace             Reason = "in-grace-period"
	ReasonGraceOver           Reason = "stale-past-grace"
	ReasonUsedAgain           Reason = "used-again"
	ReasonBadMark             Reason = "unreadable-mark"
	ReasonBlastRadius         Reason = "blast-radius"
	ReasonDiscoveryIncomplete Reason = "discovery-incomplete"
	// ReasonDeclaredRole: the group's role tag names a role the role
	// policy declares; an instance of that role may join it at any time.
	ReasonDeclaredRole Reason = "declared-role"
)

// GroupDecision is one row of a cleanup plan.
type GroupDecision struct {
	Group      SecurityGroup
	Usage      GroupUsage
	Action     CleanupAction
	Reason     Reason
	Detail     string
	StaleSince string // the mark after this run ("" = unmarked)
}

// RegionInput is what a cleanup run learned about one region.
type RegionInput struct {
	RegionID string
	Groups   []SecurityGroup
	Usage    map[string]GroupUsage // by group ID
	// DiscoveryError is set when any read failed or came back truncated:
	// then nothing in the region is changed (never act on partial knowledge).
	DiscoveryError string
}

// RegionPlan is the cleanup verdict for one region.
type RegionPlan struct {
	RegionID  string
	Decisions []GroupDecision // sorted by group ID
	InScope   int
	// Blocked explains why the region's deletions were all withheld
	// (blast radius or incomplete discovery); "" when they may proceed.
	Blocked string
	// PlanID names the deletions the rules call for, withheld or not (""
	// when none, or when discovery was incomplete); approving it lifts the
	// blast-radius limit for exactly them (approval.go).
	PlanID string
	// Approval is what policy.ApprovedPlanID did here ("" = it named no
	// plan of this region), ApprovalDetail says why.
	Approval       ApprovalStatus
	ApprovalDetail string
}

// Count returns how many decisions have the action.
func (p RegionPlan) Count(a CleanupAction) int {
	n := 0
	for _, d := range p.Decisions {
		if d.Action == a {
			n++
		}
	}
	return n
}

// PlanCleanup decides, for every group of a region, whether to keep, mark,
// unmark, delete or skip it. A group is deleted only when all of these hold:
// it is in scope, not service-managed, carries no protect tag, has no
// instances, no ENIs, no references from other groups, no launch template
// version, scaling configuration or container group naming it, does not
// carry a declared role, is older than the minimum age, and has carried a readable stale mark
// for at least the grace period. The deletions of a region are withheld
// wholesale when discovery was incomplete or when they exceed the blast
// radius (count or percentage of in-scope groups), unless policy.ApprovedPlanID
// is exactly this plan's PlanID; an approval of this region that no longer
// matches withholds every change (approval.go).
func PlanCleanup(in RegionInput, policy CleanupPolicy, now time.Time) RegionPlan {
	plan := RegionPlan{RegionID: in.RegionID}
	today := now.UTC().Format(StaleDateLayout)
	groups := append([]SecurityGroup(nil), in.Groups...)
	sort.Slice(groups, func(i, j int) bool { return groups[i].ID < groups[j].ID })

	for _, g := range groups {
		usage := in.Usage[g.ID]
		mark := g.Tags[policy.StaleTagKey]
		d := GroupDecision{Group: g, Usage: usage, StaleSince: mark}
		declared := policy.DeclaredRole(g)
		switch {
		case !policy.Scope.Matches(g):
			d.Action, d.Reason, d.Detail = ActionSkip, ReasonOutOfScope, "not selected by "+policy.Scope.String()
		case g.ServiceManaged:
			d.Action, d.Reason, d.Detail = ActionSkip, ReasonServiceManaged, "managed by a cloud service"
		case hasTag(g, policy.ProtectTagKey):
			d.Action, d.Reason, d.Detail = ActionSkip, ReasonProtected, "carries the "+policy.ProtectTagKey+" tag"
		case policy.DeclaredRole(g) != "":
			role := policy.DeclaredRole(g)
			d.Action, d.Reason, d.StaleSince = ActionKeep, ReasonDeclaredRole, ""
			d.Detail = "role " + role + " is declared by the role policy"
			if mark != "" {
				d.Action, d.Detail = ActionUnmark, d.Detail+"; marked stale on "+mark
			}
		case usage.InUse():
			if mark != "" {
				d.Action, d.Reason, d.StaleSince = ActionUnmark, ReasonUsedAgain, ""
				d.Detail = "marked stale on " + mark + " but now used by " + usage.Describe()
			} else {
				d.Action, d.Reason, d.Detail = ActionKeep, ReasonInUse, "used by "+usage.Describe()
			}
		case declared != "":
			if mark != "" {
				d.Action, d.Reason, d.StaleSince = ActionUnmark, ReasonDeclaredRole, ""
				d.Detail = "marked stale on " + mark + " but role " + declared + " is declared by the role policy"
			} else {
				d.Action, d.Reason, d.Detail = ActionKeep, ReasonDeclaredRole, "role "+declared+" is declared by the role policy"
			}
		case !g.CreationTime.IsZero() && now.Sub(g.CreationTime) < policy.MinGroupAge:
			d.Action, d.Reason = ActionKeep, ReasonTooYoung
			d.Detail = fmt.Sprintf("created %s, younger than the minimum age %s", g.CreationTime.UTC().Format(time.RFC3339), policy.MinGroupAge)
		case mark == "":
			d.Action, d.Reason, d.StaleSince = ActionMark, ReasonNewlyStale, today
			d.Detail = "unused: no instances, ENIs, references, launch template versions, scaling configurations or container groups"
		default:
			since, err := ParseStaleMark(mark)
			switch {
			case err != nil:
				d.Action, d.Reason, d.StaleSince = ActionMark, ReasonBadMark, today
				d.Detail = fmt.Sprintf("mark %q is unreadable; marking again from today", mark)
			case now.Sub(since) >= policy.GracePeriod:
				d.Action, d.Reason = ActionDelete, ReasonGraceOver
				d.Detail = fmt.Sprintf("unused since %s, grace period %s over", mark, policy.GracePeriod)
			default:
				d.Action, d.Reason = ActionKeep, ReasonInGrace
				d.Detail = fmt.Sprintf("unused since %s; deletable from %s", mark, since.Add(policy.GracePeriod).Format(StaleDateLayout))
			}
		}
		if d.Action != ActionSkip {
			plan.InScope++
		}
		plan.Decisions = append(plan.Decisions, d)
	}

	if in.DiscoveryError != "" {
		plan.Blocked = "discovery incomplete, nothing changed in this region: " + in.DiscoveryError
		withhold(&plan, policy.StaleTagKey, ReasonDiscoveryIncomplete, true)
		return plan
	}
	plan.PlanID = deletionPlanID(plan)
	over := BlastRadius(plan.Count(ActionDelete), plan.InScope, policy)
	if applyApproval(&plan, policy, over) || plan.Approval == ApprovalRefused {
		return plan
	}
	if over != "" {
		plan.Blocked = over
		withhold(&plan, policy.StaleTagKey, ReasonBlastRadius, false)
	}
	return plan
}

// BlastRadius decides whether a region's deletions of one night may go:
// "" when they may, else why they are all withheld. deletes counts the
// region's deletable groups and inScope its groups in scope, over the whole
// region (a split run adds up its parts before asking).
func BlastRadius(deletes, inScope int, policy CleanupPolicy) string {
	if deletes == 0 {
		return ""
	}
	// The percentage guards against mass deletion (a discovery bug that
	// makes everything look unused); on a small account it would forbid
	// every deletion, so one deletion per run is always within it.
	limitPct := int(math.Floor(float64(inScope) * policy.MaxDeletePercent / 100))
	if limitPct < 1 && policy.MaxDeletePercent > 0 {
		limitPct = 1
	}
	switch {
	case deletes > policy.MaxDeletions:
		return fmt.Sprintf("%d deletions exceed the per-run maximum of %d; nothing deleted (review the plan and approve its ID, raise the limit, or delete by hand)", deletes, policy.MaxDeletions)
	case deletes > limitPct:
		return fmt.Sprintf("%d deletions are over %.0f%% of the %d groups in scope (at most %d); nothing deleted (review the plan and approve its ID)", deletes, policy.MaxDeletePercent, inScope, limitPct)
	}
	return ""
}

// withhold turns deletions (and, when all is set, marks and unmarks too)
// into keeps carrying reason. A withheld decision leaves the group's tags as
// they were, so its mark is the one it had before the run.
func withhold(plan *RegionPlan, staleTagKey string, reason Reason, all bool) {
	for i := range plan.Decisions {
		d := &plan.Decisions[i]
		if d.Action == ActionDelete || (all && (d.Action == ActionMark || d.Action == ActionUnmark)) {
			d.Detail = fmt.Sprintf("would %s (%s), withheld: %s", d.Action, d.Detail, plan.Blocked)
			d.Action, d.Reason = ActionKeep, reason
			d.StaleSince = d.Group.Tags[staleTagKey]
		}
	}
}

// DeclaredRole returns the role of g when the policy declares it, else "".
func (p CleanupPolicy) DeclaredRole(g SecurityGroup) string {
	if len(p.DeclaredRoles) == 0 {
		return ""
	}
	key := p.RoleTagKey
	if key == "" {
		key = DefaultRoleTagKey
	}
	if r, ok := GroupRole(g, key); ok && p.DeclaredRoles[string(r)] {
		return string(r)
	}
	return ""
}

func hasTag(g SecurityGroup, key string) bool {
	if key == "" {
		return false
	}
	_, ok := g.Tags[key]
	return ok
}

// ParseStaleMark reads a stale-since tag value (a UTC date, or an RFC 3339
// time for marks written by other tools) and returns the moment from which
// the grace period counts. A bare date counts from the END of that day: the
// mark may have been written at any hour of it, and counting from its
// midnight could delete a group up to a day before the grace period is over.
func ParseStaleMark(v string) (time.Time, error) {
	if t, err := time.Parse(StaleDateLayout, v); err == nil {
		return t.Add(24 * time.Hour), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, Errorf(KindInvalid, "parse stale mark", "", "%q is neither YYYY-MM-DD nor RFC 3339", v)
	}
	return t, nil
}

// StillDeletable re-checks, immediately before a delete, that a group may go:
// same rules as the plan, against fresh facts. The worker calls it with what
// it just read; expectedMark is the mark the plan saw.
func StillDeletable(g SecurityGroup, usage GroupUsage, policy CleanupPolicy, expectedMark string, now time.Time) (bool, Reason, string) {
	plan := PlanCleanup(RegionInput{RegionID: g.RegionID, Groups: []SecurityGroup{g}, Usage: map[string]GroupUsage{g.ID: usage}},
		CleanupPolicy{Scope: policy.Scope, ProtectTagKey: policy.ProtectTagKey, StaleTagKey: policy.StaleTagKey,
			GracePeriod: policy.GracePeriod, MinGroupAge: policy.MinGroupAge, MaxDeletions: 1, MaxDeletePercent: 100,
			DeclaredRoles: policy.DeclaredRoles, RoleTagKey: policy.RoleTagKey}, now)
	d := plan.Decisions[0]
	// A changed mark (the onboarding worker clears it when the group is
	// used again) says more than the verdict on the new mark, which for a
	// cleared mark would be "newly stale"; skips say more still.
	if mark := g.Tags[policy.StaleTagKey]; mark != expectedMark && d.Action != ActionSkip {
		return false, ReasonUsedAgain, fmt.Sprintf("stale mark changed from %q to %q since the plan", expectedMark, mark)
	}
	if d.Action != ActionDelete {
		return false, d.Reason, d.Detail
	}
	return true, d.Reason, d.Detail
}
