package rolepolicy

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// DefaultMaxRevokes is the blast-radius limit of a plan: more revokes than
// this in one network and the plan revokes nothing.
const DefaultMaxRevokes = 10

// Network is where role groups live: a region and a VPC, or the region's
// classic network (VPCID empty).
type Network struct {
	RegionID string `json:"regionId"`
	VPCID    string `json:"vpcId"`
}

func (n Network) String() string {
	where := n.VPCID
	if where == "" {
		where = "classic"
	}
	return n.RegionID + "/" + where
}

// GroupName is the name of a role group sgpilot creates: "sgpilot-<role>-<vpc>"
// or "sgpilot-<role>-classic" (shared/core/domain.RoleGroupName's format).
func GroupName(role string, n Network) string {
	where := n.VPCID
	if where == "" {
		where = "classic"
	}
	return fmt.Sprintf("sgpilot-%s-%s", role, where)
}

// Group is an existing security group with its rules, as the caller read it
// from ECS. Role is the role it plays ("" for none); Managed says it carries
// sgpilot's managed tag, which is what allows a plan to change its rules.
type Group struct {
	ID                string `json:"id"`
	Name              string `json:"name"`
	VPCID             string `json:"vpcId"`
	Type              string `json:"type"` // ECS type: normal or enterprise
	Role              string `json:"role"`
	Managed           bool   `json:"managed"`
	InnerAccessPolicy string `json:"innerAccessPolicy"`
	Rules             []Rule `json:"rules"`
}

// PlanOptions tune BuildPlan. Zero fields take the defaults.
type PlanOptions struct {
	// MaxRevokes is the blast-radius limit (DefaultMaxRevokes when ≤ 0).
	MaxRevokes int
	// Tags put on groups to create (Default*TagKey / DefaultManagedTagValue).
	RoleTagKey      string
	ManagedTagKey   string
	ManagedTagValue string
}

func (o PlanOptions) withDefaults() PlanOptions {
	if o.MaxRevokes <= 0 {
		o.MaxRevokes = DefaultMaxRevokes
	}
	if o.RoleTagKey == "" {
		o.RoleTagKey = DefaultRoleTagKey
	}
	if o.ManagedTagKey == "" {
		o.ManagedTagKey = DefaultManagedTagKey
	}
	if o.ManagedTagValue == "" {
		o.ManagedTagValue = DefaultManagedTagValue
	}
	return o
}

// GroupToCreate is a role group the network lacks.
type GroupToCreate struct {
	Role        string            `json:"role"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Type        string            `json:"type"` // ECS SecurityGroupType: normal or enterprise
	Tags        map[string]string `json:"tags"`
}

// RuleChange is one rule to authorize on or revoke from a role's group.
// GroupID is empty when the group is still to be created (see Plan.Resolve).
type RuleChange struct {
	Role      string `json:"role"`
	GroupID   string `json:"groupId"`
	GroupName string `json:"groupName"`
	Rule      Rule   `json:"rule"`
	Reason    string `json:"reason"`
	// Replaces is the ID of the rule an authorization replaces (same
	// identity, other priority): it must be revoked first.
	Replaces string `json:"replaces,omitempty"`
}

// Drift is what differs on a role group sgpilot does not manage; a plan
// reports it and never changes it.
type Drift struct {
	Role       string `json:"role"`
	GroupID    string `json:"groupId"`
	GroupName  string `json:"groupName"`
	Missing    []Rule `json:"missing"`
	Undeclared []Rule `json:"undeclared"`
}

// Plan is what it takes to make one network's role groups match the policy.
// Apply it in order: Create, then Resolve the new group IDs, then Revoke,
// then Authorize (a replacement must follow the revoke of the rule it
// replaces, or ECS takes it for a duplicate).
type Plan struct {
	Network   Network         `json:"network"`
	Create    []GroupToCreate `json:"create"`
	Revoke    []RuleChange    `json:"revoke"`
	Authorize []RuleChange    `json:"authorize"`
	// Withheld holds the revokes (and their replacements) held back by the
	// blast-radius limit, with the reason in WithheldReason.
	Withheld       []RuleChange `json:"withheld"`
	WithheldReason string       `json:"withheldReason,omitempty"`
	Unmanaged      []Drift      `json:"unmanaged"`
	Notes          []string     `json:"notes"`
}

// Empty reports whether the plan changes nothing.
func (p Plan) Empty() bool {
	return len(p.Create) == 0 && len(p.Revoke) == 0 && len(p.Authorize) == 0
}

// BuildPlan compares the policy's roles for network n with groups, the role
// groups found there (groups of other networks are ignored). It never
// touches a group that is not Managed, nor the groups of roles the policy
// does not declare.
func BuildPlan(pol Policy, n Network, groups []Group, opts PlanOptions) Plan {
	opts = opts.withDefaults()
	plan := Plan{Network: n, Create: []GroupToCreate{}, Revoke: []RuleChange{}, Authorize: []RuleChange{},
		Withheld: []RuleChange{}, Unmanaged: []Drift{}, Notes: []string{}}
	note := func(format string, args ...any) { plan.Notes = append(plan.Notes, fmt.Sprintf(format, args...)) }

	// One group per role: managed first, then the lowest ID (stable).
	byRole := map[string][]Group{}
	for _, g := range groups {
		if g.VPCID != n.VPCID || g.Role == "" {
			continue
		}
		byRole[g.Role] = append(byRole[g.Role], g)
	}
	chosen := map[string]Group{}
	for role, gs := range byRole {
		sort.Slice(gs, func(i, j int) bool {
			if gs[i].Managed != gs[j].Managed {
				return gs[i].Managed
			}
			return gs[i].ID < gs[j].ID
		})
		chosen[role] = gs[0]
		if len(gs) > 1 {
			var others []string
			for _, g := range gs[1:] {
				others = append(others, g.ID)
			}
			note("role %s has %d groups in %s; using %s, leaving %s alone", role, len(gs), n, gs[0].ID, strings.Join(others, ", "))
		}
	}
	for role, g := range chosen {
		if _, ok := pol.Role(role); !ok {
			note("role %s (group %s) is not in the policy; its rules are left alone", role, g.ID)
		}
	}

	var revokes, replacements []RuleChange
	for _, role := range pol.RolesIn(n) {
		desired := desiredRules(role, n, chosen)
		g, exists := chosen[role.Name]
		if !exists {
			name := GroupName(role.Name, n)
			desc := role.Description
			if desc == "" {
				desc = "sgpilot role " + role.Name
			}
			plan.Create = append(plan.Create, GroupToCreate{Role: role.Name, Name: name, Description: desc,
				Type: role.GroupType.ECSType(), Tags: map[string]string{opts.RoleTagKey: role.Name, opts.ManagedTagKey: opts.ManagedTagValue}})
			for _, d := range desired {
				plan.Authorize = append(plan.Authorize, RuleChange{Role: role.Name, GroupName: name, Rule: d, Reason: "new group"})
			}
			continue
		}
		if g.Type != "" && g.Type != role.GroupType.ECSType() {
			note("role %s: group %s is %s, the policy wants %s; a group's type cannot change, create a new group to switch",
				role.Name, g.ID, g.Type, role.GroupType.ECSType())
		}
		actual := map[string]Rule{}
		for _, r := range g.Rules {
			actual[r.Key()] = r
		}
		want := map[string]bool{}
		var missing, undeclared []Rule
		var auth, rev, repl []RuleChange
		for _, d := range desired {
			k := d.Key()
			want[k] = true
			a, ok := actual[k]
			switch {
			case !ok:
				missing = append(missing, d)
				auth = append(auth, RuleChange{Role: role.Name, GroupID: g.ID, GroupName: g.Name, Rule: d, Reason: "declared by the policy, missing"})
			case a.Priority != d.Priority:
				reason := fmt.Sprintf("priority %d, the policy says %d", a.Priority, d.Priority)
				rev = append(rev, RuleChange{Role: role.Name, GroupID: g.ID, GroupName: g.Name, Rule: a, Reason: reason})
				repl = append(repl, RuleChange{Role: role.Name, GroupID: g.ID, GroupName: g.Name, Rule: d, Reason: reason, Replaces: a.ID})
			}
		}
		for _, r := range g.Rules {
			if !want[r.Key()] {
				undeclared = append(undeclared, r)
				rev = append(rev, RuleChange{Role: role.Name, GroupID: g.ID, GroupName: g.Name, Rule: r, Reason: "not declared by the policy"})
			}
		}
		if !g.Managed {
			if len(missing)+len(undeclared)+len(repl) > 0 {
				for _, c := range repl {
					missing = append(missing, c.Rule)
				}
				plan.Unmanaged = append(plan.Unmanaged, Drift{Role: role.Name, GroupID: g.ID, GroupName: g.Name,
					Missing: nonNil(sortRules(missing)), Undeclared: nonNil(sortRules(undeclared))})
			}
			continue
		}
		if after := len(g.Rules) - len(rev) + len(auth) + len(repl); after > RuleLimit {
			note("role %s: group %s would hold %d rules, over the limit of %d; ECS will refuse the excess", role.Name, g.ID, after, RuleLimit)
		}
		plan.Authorize = append(plan.Authorize, auth...)
		revokes = append(revokes, rev...)
		replacements = append(replacements, repl...)
	}

	if len(revokes) > opts.MaxRevokes {
		plan.Withheld = append(append(plan.Withheld, revokes...), replacements...)
		plan.WithheldReason = fmt.Sprintf("%d revokes exceed the limit of %d, so nothing is revoked; review the plan and raise the limit to apply it",
			len(revokes), opts.MaxRevokes)
	} else {
		plan.Revoke = append(plan.Revoke, revokes...)
		plan.Authorize = append(plan.Authorize, replacements...)
	}
	sortChanges(plan.Revoke)
	sortChanges(plan.Authorize)
	sortChanges(plan.Withheld)
	sort.Slice(plan.Create, func(i, j int) bool { return plan.Create[i].Role < plan.Create[j].Role })
	sort.Slice(plan.Unmanaged, func(i, j int) bool { return plan.Unmanaged[i].Role < plan.Unmanaged[j].Role })
	sort.Strings(plan.Notes)
	return plan
}

// desiredRules turns a role's rules into concrete rules for network n,
// naming peer roles by their chosen group, or by role when it has none yet.
func desiredRules(role Role, n Network, chosen map[string]Group) []Rule {
	out := make([]Rule, 0, len(role.Rules))
	for _, rs := range role.Rules {
		r := Rule{Direction: rs.Direction, Protocol: rs.Protocol, PortRange: rs.Ports, NicType: NicIntranet,
			Policy: rs.Action, Priority: rs.Priority, Description: rs.Description}
		if n.VPCID == "" {
			r.NicType = rs.NicType
		}
		switch {
		case rs.Peer.Role != "":
			if g, ok := chosen[rs.Peer.Role]; ok {
				r.PeerGroupID, r.PeerGroupRef = g.ID, g.Name
			} else {
				r.PeerRole = rs.Peer.Role
			}
		case rs.Peer.PrefixList != "":
			r.PeerPrefixList = rs.Peer.PrefixList
		default:
			if p, err := parsePrefix(rs.Peer.CIDR); err == nil && p.Addr().Is6() {
				r.PeerIPv6CIDR = rs.Peer.CIDR
			} else {
				r.PeerCIDR = rs.Peer.CIDR
			}
		}
		out = append(out, r)
	}
	return out
}

// Resolve returns the plan with the IDs of created groups (role → group ID)
// filled in: as the target of changes and as the peer of rules.
func (p Plan) Resolve(created map[string]string) Plan {
	fix := func(cs []RuleChange) []RuleChange {
		out := make([]RuleChange, len(cs))
		for i, c := range cs {
			if c.GroupID == "" {
				c.GroupID = created[c.Role]
			}
			if id, ok := created[c.Rule.PeerRole]; ok && c.Rule.PeerRole != "" {
				c.Rule.PeerGroupRef = GroupName(c.Rule.PeerRole, p.Network)
				c.Rule.PeerGroupID, c.Rule.PeerRole = id, ""
			}
			out[i] = c
		}
		return out
	}
	p.Authorize = fix(p.Authorize)
	p.Revoke = fix(p.Revoke)
	p.Withheld = fix(p.Withheld)
	return p
}

func sortRules(rs []Rule) []Rule {
	sort.Slice(rs, func(i, j int) bool { return rs[i].Key() < rs[j].Key() })
	return rs
}

func sortChanges(cs []RuleChange) {
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].Role != cs[j].Role {
			return cs[i].Role < cs[j].Role
		}
		if cs[i].GroupID != cs[j].GroupID {
			return cs[i].GroupID < cs[j].GroupID
		}
		return cs[i].Rule.Key() < cs[j].Rule.Key()
	})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// JSON renders the plan as indented JSON with stable field order and empty
// lists as [].
func (p Plan) JSON() ([]byte, error) {
	return json.MarshalIndent(p, "", "  ")
}

// Text renders the plan for people, one line per change.
func (p Plan) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Role policy plan for %s\n", p.Network)
	for _, c := range p.Create {
		fmt.Fprintf(&b, "  create    group %s (role %s, %s, tags %s)\n", c.Name, c.Role, c.Type, formatTags(c.Tags))
	}
	for _, c := range p.Revoke {
		fmt.Fprintf(&b, "  - revoke    %s: %s%s: %s\n", target(c), c.Rule, ruleID(c.Rule), c.Reason)
	}
	for _, c := range p.Authorize {
		fmt.Fprintf(&b, "  + authorize %s: %s%s: %s\n", target(c), c.Rule, describe(c.Rule), c.Reason)
	}
	if p.WithheldReason != "" {
		fmt.Fprintf(&b, "  ! withheld: %s\n", p.WithheldReason)
		for _, c := range p.Withheld {
			verb := "revoke"
			if c.Replaces != "" {
				verb = "re-authorize"
			}
			fmt.Fprintf(&b, "    (%s) %s: %s%s: %s\n", verb, target(c), c.Rule, ruleID(c.Rule), c.Reason)
		}
	}
	for _, d := range p.Unmanaged {
		fmt.Fprintf(&b, "  unmanaged group %s (role %s) differs from the policy and is left alone:\n", groupRef(d.GroupID, d.GroupName), d.Role)
		for _, r := range d.Missing {
			fmt.Fprintf(&b, "    missing    %s\n", r)
		}
		for _, r := range d.Undeclared {
			fmt.Fprintf(&b, "    undeclared %s%s\n", r, ruleID(r))
		}
	}
	for _, n := range p.Notes {
		fmt.Fprintf(&b, "  note: %s\n", n)
	}
	fmt.Fprintf(&b, "Summary: %s to create, %s to authorize, %s to revoke, %s withheld.\n",
		plural(len(p.Create), "group"), plural(len(p.Authorize), "rule"), plural(len(p.Revoke), "rule"), plural(len(p.Withheld), "change"))
	return b.String()
}

func target(c RuleChange) string {
	if c.GroupID == "" {
		return fmt.Sprintf("%s on %s (new)", c.Role, c.GroupName)
	}
	return fmt.Sprintf("%s on %s", c.Role, groupRef(c.GroupID, c.GroupName))
}

func groupRef(id, name string) string {
	if name == "" || name == id {
		return id
	}
	return id + " (" + name + ")"
}

func ruleID(r Rule) string {
	if r.ID == "" {
		return ""
	}
	return " [" + r.ID + "]"
}

func describe(r Rule) string {
	if r.Description == "" {
		return ""
	}
	return fmt.Sprintf(" %q", r.Description)
}

func formatTags(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + tags[k]
	}
	return strings.Join(parts, " ")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
