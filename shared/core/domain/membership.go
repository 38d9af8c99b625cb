package domain

import (
	"fmt"
	"sort"
	"strings"
)

// DefaultGroupsPerInstance is ECS's default quota of security groups per
// instance (or ENI). Accounts may raise it; config carries the real value.
const DefaultGroupsPerInstance = 5

// Reason is a stable, machine-readable reason code for a decision. Logs,
// plans and dead-letter records carry it.
type Reason string

const (
	ReasonComplete        Reason = "complete"           // already in every role group
	ReasonJoin            Reason = "join"               // joins the listed groups
	ReasonNoRoles         Reason = "no-roles"           // instance carries no role tag
	ReasonBadRoleTag      Reason = "bad-role-tag"       // role tag does not parse
	ReasonNoRoleGroup     Reason = "no-role-group"      // a role has no group in the instance's network
	ReasonOverLimit       Reason = "over-group-limit"   // the union exceeds the per-instance quota
	ReasonNetworkMismatch Reason = "network-mismatch"   // group is in another VPC or network type
	ReasonNotReady        Reason = "instance-not-ready" // Pending/Starting: retry later
	ReasonInstanceGone    Reason = "instance-not-found" // no such instance (deleted or wrong region)
	ReasonBadStatus       Reason = "instance-status"    // Stopping etc.: retry later
	ReasonMixedGroupTypes Reason = "mixed-group-types"  // basic and advanced groups cannot be mixed
)

// MembershipInput is everything the planner looks at for one instance.
type MembershipInput struct {
	Instance   Instance
	RoleTagKey string
	// NetworkGroups are the groups of the instance's network (its VPC, or
	// the classic network) that play some role, as found by one lookup per
	// network. Groups of other networks are ignored by construction, and
	// checked again as a safety net.
	NetworkGroups []SecurityGroup
	// GroupLimit is the instance's per-instance group quota (0 = default 5).
	GroupLimit int
}

// MembershipPlan is the planner's verdict for one instance.
type MembershipPlan struct {
	InstanceID string   `json:"instanceId"`
	Roles      []Role   `json:"roles"`
	Current    []string `json:"current"` // groups the instance is in now
	Desired    []string `json:"desired"` // current ∪ role groups, sorted
	ToJoin     []string `json:"toJoin"`  // role groups it is not in yet, sorted
	// RoleGroups maps each role to the groups that play it (sorted).
	RoleGroups map[Role][]string `json:"roleGroups"`
	Reason     Reason            `json:"reason"`
	Detail     string            `json:"detail"` // human sentence explaining Reason
	// MissingRoles lists roles with no group (ReasonNoRoleGroup).
	MissingRoles []Role `json:"missingRoles,omitempty"`
}

// Complete reports whether nothing is left to do for the instance.
func (p MembershipPlan) Complete() bool { return len(p.ToJoin) == 0 && p.Reason == ReasonComplete }

// PlanMembership decides which role groups an instance must join. It never
// removes a group (membership is only ever added, so a group someone else
// attached stays), refuses the whole plan when the result would exceed the
// per-instance limit (no half-applied change), and only considers groups of
// the instance's own network.
//
// A returned error is KindPermanent (the task should be dead-lettered) or
// KindRetryable (the instance is still starting), carrying a *PlanError with
// the plan so far.
func PlanMembership(in MembershipInput) (MembershipPlan, error) {
	inst := in.Instance
	plan := MembershipPlan{InstanceID: inst.ID, Current: SortedUnique(inst.GroupIDs), RoleGroups: map[Role][]string{}}
	limit := in.GroupLimit
	if limit <= 0 {
		limit = DefaultGroupsPerInstance
	}
	key := in.RoleTagKey
	if key == "" {
		key = DefaultRoleTagKey
	}

	roles, err := ParseRoles(inst.Tags[key])
	if err != nil {
		return planFail(plan, KindPermanent, ReasonBadRoleTag, err.Error())
	}
	plan.Roles = roles
	if len(roles) == 0 {
		plan.Reason, plan.Detail = ReasonNoRoles, fmt.Sprintf("instance has no %q tag: nothing to join", key)
		plan.Desired = plan.Current
		return plan, nil
	}

	want := map[string]bool{}
	byRole := map[Role][]string{}
	for _, g := range in.NetworkGroups {
		role, ok := GroupRole(g, key)
		if !ok {
			continue
		}
		if g.Network() != inst.Network() {
			// Safety net: a lookup that leaked another network's group must
			// never make us try a join ECS would refuse.
			continue
		}
		byRole[role] = append(byRole[role], g.ID)
	}
	var missing []Role
	for _, r := range roles {
		ids := SortedUnique(byRole[r])
		if len(ids) == 0 {
			missing = append(missing, r)
			continue
		}
		plan.RoleGroups[r] = ids
		for _, id := range ids {
			want[id] = true
		}
	}
	if len(missing) > 0 {
		plan.MissingRoles = missing
		where := "VPC " + inst.VPCID
		if inst.NetworkType == NetworkClassic {
			where = "the classic network"
		}
		return planFail(plan, KindPermanent, ReasonNoRoleGroup,
			fmt.Sprintf("no security group tagged %s=%s in %s of %s", key, FormatRoles(missing), where, inst.RegionID))
	}

	current := map[string]bool{}
	for _, id := range plan.Current {
		current[id] = true
	}
	union := append([]string(nil), plan.Current...)
	for id := range want {
		if !current[id] {
			plan.ToJoin = append(plan.ToJoin, id)
			union = append(union, id)
		}
	}
	sort.Strings(plan.ToJoin)
	plan.Desired = SortedUnique(union)

	if len(plan.Desired) > limit {
		return planFail(plan, KindPermanent, ReasonOverLimit,
			fmt.Sprintf("instance would be in %d groups (%d now + %d role groups: %s), over its limit of %d",
				len(plan.Desired), len(plan.Current), len(plan.ToJoin), strings.Join(plan.ToJoin, ","), limit))
	}
	if len(plan.ToJoin) == 0 {
		plan.Reason, plan.Detail = ReasonComplete, "already in every role group"
		return plan, nil
	}
	if !inst.Status.CanChangeGroups() {
		reason := ReasonBadStatus
		if inst.Status.StillStarting() {
			reason = ReasonNotReady
		}
		return planFail(plan, KindRetryable, reason,
			fmt.Sprintf("instance is %s; ECS changes groups only when Running or Stopped", inst.Status))
	}
	plan.Reason = ReasonJoin
	plan.Detail = fmt.Sprintf("join %s for roles %s", strings.Join(plan.ToJoin, ","), FormatRoles(roles))
	return plan, nil
}

// PlanError is the error PlanMembership returns: the reason code and the plan
// computed so far, classified by Kind.
type PlanError struct {
	Reason Reason
	Detail string
	Plan   MembershipPlan
}

func (e *PlanError) Error() string { return string(e.Reason) + ": " + e.Detail }

func planFail(plan MembershipPlan, kind Kind, reason Reason, detail string) (MembershipPlan, error) {
	plan.Reason, plan.Detail = reason, detail
	return plan, &Error{Kind: kind, Op: "plan membership for " + plan.InstanceID, Code: string(reason),
		Err: &PlanError{Reason: reason, Detail: detail, Plan: plan}}
}
