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
	ReasonComplete        Reason = "complete"           // already in every role group, and in none of a lost role
	ReasonJoin            Reason = "join"               // joins the listed groups (and may leave some)
	ReasonLeave           Reason = "leave"              // only leaves groups of roles the instance lost
	ReasonNoRoles         Reason = "no-roles"           // instance carries no role tag and is in no role group
	ReasonBadRoleTag      Reason = "bad-role-tag"       // role tag does not parse
	ReasonNoRoleGroup     Reason = "no-role-group"      // a role has no group in the instance's network
	ReasonOverLimit       Reason = "over-group-limit"   // the result exceeds the per-instance limit
	ReasonNetworkMismatch Reason = "network-mismatch"   // group is in another VPC or network type
	ReasonNotReady        Reason = "instance-not-ready" // Pending/Starting: retry later
	ReasonInstanceGone    Reason = "instance-not-found" // no such instance (deleted or wrong region)
	ReasonBadStatus       Reason = "instance-status"    // Stopping etc.: retry later
	ReasonMixedGroupTypes Reason = "mixed-group-types"  // basic and advanced groups cannot be mixed
	ReasonLastGroup       Reason = "last-group"         // a lost role's group is kept: it would be the last
	// Notes on groups that carry the role tag but play no role.
	ReasonGroupOutOfScope  Reason = "role-group-out-of-scope"  // not in sgpilot's scope (managed tag, name prefix)
	ReasonGroupNotAllowed  Reason = "role-group-not-allowed"   // not in the allow-list of role group IDs
	ReasonGroupManagedByCP Reason = "role-group-service-owned" // managed by a cloud service: never joined or left
)

// MembershipInput is everything the planner looks at for one instance.
type MembershipInput struct {
	Instance   Instance
	RoleTagKey string
	// NetworkGroups are the groups of the instance's network (its VPC, or
	// the classic network): at least the role groups and, for the type
	// check, the instance's current groups. Groups of other networks are
	// ignored as a safety net.
	NetworkGroups []SecurityGroup
	// GroupLimit is the instance's per-instance group limit (0 = default 5).
	GroupLimit int
	// Scope is sgpilot's scope: a group plays a role only when it carries
	// the role tag and is in scope. The zero Scope means DefaultScope().
	Scope Scope
	// AllowedGroupIDs, when not empty, narrows the role groups further to
	// these IDs (a stronger control than a tag anyone may set).
	AllowedGroupIDs []string
}

// DefaultScope is the scope of role groups when none is configured: groups
// tagged DefaultManagedTagKey=DefaultManagedTagValue.
func DefaultScope() Scope {
	return Scope{TagKey: DefaultManagedTagKey, TagValue: DefaultManagedTagValue}
}

// GroupNote explains why a group that looks like a role group is not
// treated as one, or why a group the plan would leave is kept.
type GroupNote struct {
	GroupID string `json:"groupId"`
	Role    Role   `json:"role,omitempty"`
	Reason  Reason `json:"reason"`
	Detail  string `json:"detail"`
}

// MembershipPlan is the planner's verdict for one instance.
type MembershipPlan struct {
	InstanceID string   `json:"instanceId"`
	Roles      []Role   `json:"roles"`
	Current    []string `json:"current"` // groups the instance is in now
	Desired    []string `json:"desired"` // current + ToJoin - ToLeave, sorted
	ToJoin     []string `json:"toJoin"`  // role groups it is not in yet, sorted
	// ToLeave are the managed role groups of roles the instance no longer
	// carries, sorted. Never its last group, never an out-of-scope group.
	ToLeave []string `json:"toLeave"`
	// LeaveFirst: leave before joining, because joining first would pass
	// the limit on the way (the result itself is within it).
	LeaveFirst bool `json:"leaveFirst,omitempty"`
	// RoleGroups maps each role to the groups that play it (sorted).
	RoleGroups map[Role][]string `json:"roleGroups"`
	Reason     Reason            `json:"reason"`
	Detail     string            `json:"detail"` // human sentence explaining Reason
	// MissingRoles lists roles with no group (ReasonNoRoleGroup).
	MissingRoles []Role `json:"missingRoles,omitempty"`
	// Notes: groups ignored (out of scope, not allowed) or kept (last group).
	Notes []GroupNote `json:"notes"`
}

// Complete reports whether nothing is left to do for the instance.
func (p MembershipPlan) Complete() bool {
	return len(p.ToJoin) == 0 && len(p.ToLeave) == 0 && p.Reason == ReasonComplete
}

// Changes reports whether applying the plan calls ECS.
func (p MembershipPlan) Changes() bool { return len(p.ToJoin) > 0 || len(p.ToLeave) > 0 }

// PlanMembership decides which role groups an instance joins and which it
// leaves, so that its membership follows its role tag:
//
//   - a group plays a role only when it carries the role tag, is in scope
//     and (with an allow-list) is listed; every other tagged group gets a
//     note and is never joined nor left;
//   - the instance joins the groups of its roles and leaves the groups of
//     roles it no longer carries, never its last group (then nothing is
//     left, and a note says why) and never a group outside the scope;
//   - the whole plan is refused, before anything changes, when the result
//     would exceed the per-instance limit or when it would mix basic and
//     advanced groups (ECS refuses that);
//   - only groups of the instance's own network are considered.
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
	scope := in.Scope
	if scope.Empty() {
		scope = DefaultScope()
	}

	roles, err := ParseRoles(inst.Tags[key])
	if err != nil {
		return planFail(plan, KindPermanent, ReasonBadRoleTag, err.Error())
	}
	plan.Roles = roles

	rg := roleGroups(in, key, scope, &plan)
	current := map[string]bool{}
	for _, id := range plan.Current {
		current[id] = true
	}
	// Groups of roles the instance no longer carries.
	carries := map[Role]bool{}
	for _, r := range roles {
		carries[r] = true
	}
	for _, id := range plan.Current {
		if r, ok := rg.roleOf[id]; ok && !carries[r] {
			plan.ToLeave = append(plan.ToLeave, id)
		}
	}

	want := map[string]bool{}
	var missing []Role
	for _, r := range roles {
		ids := SortedUnique(rg.byRole[r])
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
		plan.ToLeave = nil
		return planFail(plan, KindPermanent, ReasonNoRoleGroup,
			fmt.Sprintf("no security group tagged %s=%s in scope (%s) in %s of %s", key, FormatRoles(missing), scope, where, inst.RegionID))
	}

	union := append([]string(nil), plan.Current...)
	for id := range want {
		if !current[id] {
			plan.ToJoin = append(plan.ToJoin, id)
			union = append(union, id)
		}
	}
	sort.Strings(plan.ToJoin)
	sort.Strings(plan.ToLeave)
	if len(plan.ToLeave) > 0 && len(plan.ToJoin) == 0 && len(plan.ToLeave) == len(plan.Current) {
		// ECS keeps an instance in at least one group, and so does sgpilot:
		// nothing is left rather than picking a survivor.
		for _, id := range plan.ToLeave {
			plan.Notes = append(plan.Notes, GroupNote{GroupID: id, Role: rg.roleOf[id], Reason: ReasonLastGroup,
				Detail: fmt.Sprintf("role %s is no longer on the instance, but leaving its groups would leave the instance in none; nothing is left", rg.roleOf[id])})
		}
		plan.ToLeave = nil
	}
	plan.Desired = minus(SortedUnique(union), plan.ToLeave)

	if a, b, mixed := mixedTypes(union, rg.typeOf); mixed {
		return planFail(plan, KindPermanent, ReasonMixedGroupTypes,
			fmt.Sprintf("%s is a %s group and %s a %s group: ECS does not put basic and advanced groups on one instance; nothing was changed",
				a, typeName(rg.typeOf[a]), b, typeName(rg.typeOf[b])))
	}
	if len(plan.Desired) > limit {
		return planFail(plan, KindPermanent, ReasonOverLimit,
			fmt.Sprintf("instance would be in %d groups (%d now + %d role groups: %s - %d left), over its limit of %d",
				len(plan.Desired), len(plan.Current), len(plan.ToJoin), strings.Join(plan.ToJoin, ","), len(plan.ToLeave), limit))
	}
	plan.LeaveFirst = len(plan.ToLeave) > 0 && len(SortedUnique(union)) > limit

	if !plan.Changes() {
		switch {
		case len(plan.Notes) > 0 && hasReason(plan.Notes, ReasonLastGroup):
			plan.Reason, plan.Detail = ReasonLastGroup, "groups of lost roles are kept: they are the instance's only groups"
		case len(roles) == 0:
			plan.Reason, plan.Detail = ReasonNoRoles, fmt.Sprintf("instance has no %q tag and is in no role group: nothing to do", key)
		default:
			plan.Reason, plan.Detail = ReasonComplete, "already in every role group"
		}
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
	var parts []string
	if len(plan.ToJoin) > 0 {
		plan.Reason = ReasonJoin
		parts = append(parts, fmt.Sprintf("join %s for roles %s", strings.Join(plan.ToJoin, ","), FormatRoles(roles)))
	} else {
		plan.Reason = ReasonLeave
	}
	if len(plan.ToLeave) > 0 {
		lost := make([]Role, 0, len(plan.ToLeave))
		for _, id := range plan.ToLeave {
			lost = append(lost, rg.roleOf[id])
		}
		parts = append(parts, fmt.Sprintf("leave %s of lost roles %s", strings.Join(plan.ToLeave, ","), FormatRoles(uniqueRoles(lost))))
	}
	if plan.LeaveFirst {
		parts = append(parts, "leaving first to stay within the limit")
	}
	plan.Detail = strings.Join(parts, "; ")
	return plan, nil
}

// roleIndex is what the planner knows about the network's groups.
type roleIndex struct {
	byRole map[Role][]string
	roleOf map[string]Role   // role groups (in scope) by ID
	typeOf map[string]string // every known group's type
}

// roleGroups sorts the network's groups into role groups and notes the
// tagged ones that play no role.
func roleGroups(in MembershipInput, key string, scope Scope, plan *MembershipPlan) roleIndex {
	idx := roleIndex{byRole: map[Role][]string{}, roleOf: map[string]Role{}, typeOf: map[string]string{}}
	var allowed map[string]bool
	if len(in.AllowedGroupIDs) > 0 {
		allowed = map[string]bool{}
		for _, id := range in.AllowedGroupIDs {
			allowed[id] = true
		}
	}
	net := in.Instance.Network()
	seen := map[string]bool{}
	for _, g := range in.NetworkGroups {
		if g.Network() != net || seen[g.ID] {
			// Safety net: a lookup that leaked another network's group must
			// never make us try a join ECS would refuse.
			continue
		}
		seen[g.ID] = true
		idx.typeOf[g.ID] = g.Type
		role, ok := GroupRole(g, key)
		if !ok {
			continue
		}
		var note Reason
		var detail string
		switch {
		case g.ServiceManaged:
			note, detail = ReasonGroupManagedByCP, "managed by a cloud service"
		case !scope.Matches(g):
			note, detail = ReasonGroupOutOfScope, "tagged "+key+"="+string(role)+" but not selected by "+scope.String()
		case allowed != nil && !allowed[g.ID]:
			note, detail = ReasonGroupNotAllowed, "tagged "+key+"="+string(role)+" but not in the allowed role group IDs"
		}
		if note != "" {
			plan.Notes = append(plan.Notes, GroupNote{GroupID: g.ID, Role: role, Reason: note, Detail: detail + ": never joined or left"})
			continue
		}
		idx.byRole[role] = append(idx.byRole[role], g.ID)
		idx.roleOf[g.ID] = role
	}
	sort.Slice(plan.Notes, func(i, j int) bool { return plan.Notes[i].GroupID < plan.Notes[j].GroupID })
	return idx
}

// mixedTypes finds two groups of different types among ids (unknown types,
// of groups not listed, are not compared; "" counts as basic).
func mixedTypes(ids []string, typeOf map[string]string) (string, string, bool) {
	first := ""
	for _, id := range SortedUnique(ids) {
		t, ok := typeOf[id]
		if !ok {
			continue
		}
		if first == "" {
			first = id
			continue
		}
		if typeName(t) != typeName(typeOf[first]) {
			return first, id, true
		}
	}
	return "", "", false
}

func typeName(t string) string {
	if t == "enterprise" {
		return "advanced (enterprise)"
	}
	return "basic"
}

func minus(ids, drop []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		keep := true
		for _, d := range drop {
			if d == id {
				keep = false
			}
		}
		if keep {
			out = append(out, id)
		}
	}
	return out
}

func hasReason(notes []GroupNote, r Reason) bool {
	for _, n := range notes {
		if n.Reason == r {
			return true
		}
	}
	return false
}

func uniqueRoles(rs []Role) []Role {
	sort.Slice(rs, func(i, j int) bool { return rs[i] < rs[j] })
	out := rs[:0:0]
	for i, r := range rs {
		if i == 0 || r != rs[i-1] {
			out = append(out, r)
		}
	}
	return out
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
