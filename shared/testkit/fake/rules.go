package fake

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/rolepolicy"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsnames"
)

// Rules and networks of the fake ECS, for the role-policy use case
// (shared/usecase/roles): rule content (GroupRules, AuthorizeRules,
// RevokeRules), role group creation with a type (CreateRoleGroup), and the
// audit's network reads (ListVPCs, ListVSwitches, InstanceVSwitches).
//
// It keeps what ECS documents and the emulator does: a rule's identity is
// rolepolicy.Rule.Key (authorizing an identical rule adds nothing, whatever
// its priority); revoking a rule that is gone succeeds; a group holds at
// most rolepolicy.RuleLimit rules (AuthorizationLimitExceed); a rule naming
// a group needs that group in the region (InvalidSecurityGroupId.NotFound)
// and makes it referenced, as AddRule does. Revoking the last rule naming a
// peer removes the reference, also one made by AddRule.
//
// Not modelled: the NicType split of classic listings, group-to-group rules
// on advanced groups, prefix list existence, and rule IDs surviving as ECS
// assigns them (the fake numbers them sgr-fake…).

type ruleBook struct {
	byGroup   map[string][]rolepolicy.Rule
	vpcCIDRs  map[string][]string // VPC ID → CIDRs
	vswitches map[string]rolepolicy.VSwitch
	placement map[string]string // instance ID → vSwitch ID
}

// book returns the rule book, creating it; the caller holds e.mu.
func (e *ECS) book() *ruleBook {
	if e.rules == nil {
		e.rules = &ruleBook{byGroup: map[string][]rolepolicy.Rule{}, vpcCIDRs: map[string][]string{},
			vswitches: map[string]rolepolicy.VSwitch{}, placement: map[string]string{}}
	}
	return e.rules
}

// --- builders ---------------------------------------------------------------

// AddRules puts rules on a group as they are (IDs assigned when empty),
// without the checks of AuthorizeRules: a scene may hold what the API would
// refuse today.
func (e *ECS) AddRules(groupID string, rules ...rolepolicy.Rule) *ECS {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.mustGroup("AddRules", groupID)
	b := e.book()
	for _, r := range rules {
		if r.ID == "" {
			r.ID = e.newID("sgr-")
		}
		b.byGroup[groupID] = append(b.byGroup[groupID], r)
		if r.PeerGroupID != "" {
			e.addRef(groupID, r.PeerGroupID)
		}
	}
	return e
}

// SetVPCRanges registers a VPC with its CIDR blocks.
func (e *ECS) SetVPCRanges(regionID, vpcID string, cidrs ...string) *ECS {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.vpcs[vpcID] = orDefault(regionID, DefaultRegion)
	e.book().vpcCIDRs[vpcID] = append([]string(nil), cidrs...)
	return e
}

// AddVSwitch registers a vSwitch of a VPC with its CIDR block.
func (e *ECS) AddVSwitch(vpcID, vSwitchID, cidr string) *ECS {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.vpcs[vpcID]; !ok {
		panic("fake.ECS.AddVSwitch: unknown VPC " + vpcID)
	}
	e.book().vswitches[vSwitchID] = rolepolicy.VSwitch{ID: vSwitchID, VPCID: vpcID, CIDR: cidr}
	return e
}

// PlaceInstance puts a VPC instance in a vSwitch of its VPC.
func (e *ECS) PlaceInstance(instanceID, vSwitchID string) *ECS {
	e.mu.Lock()
	defer e.mu.Unlock()
	in := e.mustInstance("PlaceInstance", instanceID)
	sw, ok := e.book().vswitches[vSwitchID]
	if !ok || sw.VPCID != in.VPCID {
		panic(fmt.Sprintf("fake.ECS.PlaceInstance: vSwitch %s is not in the VPC of %s", vSwitchID, instanceID))
	}
	e.rules.placement[instanceID] = vSwitchID
	return e
}

// Rules returns a group's rules (sorted by identity) for assertions.
func (e *ECS) Rules(groupID string) []rolepolicy.Rule {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := append([]rolepolicy.Rule(nil), e.book().byGroup[groupID]...)
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

func (e *ECS) addRef(from, to string) {
	if e.refs[from] == nil {
		e.refs[from] = map[string]bool{}
	}
	e.refs[from][to] = true
}

// --- the rule and network method set ------------------------------------------

// GroupRules returns every rule of a group.
func (e *ECS) GroupRules(ctx context.Context, regionID, groupID string) ([]rolepolicy.Rule, error) {
	region := orDefault(regionID, DefaultRegion)
	op := fmt.Sprintf("ecs DescribeSecurityGroupAttribute %s in %s", groupID, region)
	if err := e.enter(ctx, "GroupRules", op, regionID, groupID); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.group(op, region, groupID); err != nil {
		return nil, err
	}
	return append([]rolepolicy.Rule{}, e.book().byGroup[groupID]...), nil
}

// CreateRoleGroup creates a planned role group with its type and tags.
func (e *ECS) CreateRoleGroup(ctx context.Context, n rolepolicy.Network, g rolepolicy.GroupToCreate) (string, error) {
	region := orDefault(n.RegionID, DefaultRegion)
	op := fmt.Sprintf("ecs CreateSecurityGroup %q (%s) in %s", g.Name, g.Type, n)
	if err := e.enter(ctx, "CreateRoleGroup", op, n, g); err != nil {
		return "", err
	}
	switch {
	case g.Type != "" && g.Type != "normal" && g.Type != "enterprise":
		return "", domain.Errorf(domain.KindInvalid, op, "", "group type %q is neither normal nor enterprise", g.Type)
	case len(g.Tags) > maxTagsPerGroup:
		return "", domain.Errorf(domain.KindInvalid, op, "", "%d tags, ECS accepts at most %d on a group", len(g.Tags), maxTagsPerGroup)
	case g.Name != "" && !ecsnames.ValidGroupName(g.Name):
		return "", apiErr(domain.KindInvalid, op, "InvalidSecurityGroupName.Malformed", nil, 400,
			"The specified parameter SecurityGroupName is not valid: %q.", g.Name)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if n.VPCID != "" && e.vpcs[n.VPCID] != region {
		return "", apiErr(domain.KindNotFound, op, "InvalidVpcId.NotFound", nil, 404, "The specified VpcId does not exist. (%s)", n.VPCID)
	}
	id := e.newID("sg-")
	e.groups[id] = &fGroup{SecurityGroup: domain.SecurityGroup{ID: id, Name: g.Name, Description: g.Description,
		RegionID: region, VPCID: n.VPCID, Type: orDefault(g.Type, "normal"), Tags: copyTags(domain.Tags(g.Tags)),
		CreationTime: e.now().UTC().Truncate(time.Second)}}
	return id, nil
}

// AuthorizeRules adds the rules a group lacks.
func (e *ECS) AuthorizeRules(ctx context.Context, regionID, groupID string, rules []rolepolicy.Rule) error {
	region := orDefault(regionID, DefaultRegion)
	op := fmt.Sprintf("ecs AuthorizeSecurityGroup %s in %s", groupID, region)
	if err := e.enter(ctx, "AuthorizeRules", op, regionID, groupID, rules); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	g, err := e.group(op, region, groupID)
	if err != nil {
		return err
	}
	if g.ServiceManaged {
		return errManaged(op, groupID)
	}
	b := e.book()
	have := map[string]bool{}
	for _, r := range b.byGroup[groupID] {
		have[r.Key()] = true
	}
	var add []rolepolicy.Rule
	for _, r := range rules {
		switch {
		case r.PeerRole != "" && r.PeerGroupID == "":
			return domain.Errorf(domain.KindInvalid, op, "", "rule %q names role %s, whose group is not known yet (resolve the plan first)", r.String(), r.PeerRole)
		case r.Direction != rolepolicy.Ingress && r.Direction != rolepolicy.Egress:
			return domain.Errorf(domain.KindInvalid, op, "", "rule %q has direction %q", r.String(), r.Direction)
		case r.PeerGroupID != "" && r.PeerGroupOwner == "":
			if _, err := e.group(op, region, r.PeerGroupID); err != nil {
				return err
			}
		}
		if have[r.Key()] {
			continue // identical rule: ECS answers success and adds nothing
		}
		have[r.Key()] = true
		r.ID = e.newID("sgr-")
		if r.Priority == 0 {
			r.Priority = rolepolicy.MinPriority
		}
		add = append(add, r)
	}
	if len(b.byGroup[groupID])+len(add) > rolepolicy.RuleLimit {
		return apiErr(domain.KindPermanent, op, "AuthorizationLimitExceed", nil, 400,
			"The limit of authorization records in the security group reaches the maximum (%d).", rolepolicy.RuleLimit)
	}
	b.byGroup[groupID] = append(b.byGroup[groupID], add...)
	for _, r := range add {
		if r.PeerGroupID != "" {
			e.addRef(groupID, r.PeerGroupID)
		}
	}
	return nil
}

// RevokeRules removes rules by ID, or by identity for rules without one; a
// rule that is gone is no error.
func (e *ECS) RevokeRules(ctx context.Context, regionID, groupID string, rules []rolepolicy.Rule) error {
	region := orDefault(regionID, DefaultRegion)
	op := fmt.Sprintf("ecs RevokeSecurityGroup %s in %s", groupID, region)
	if err := e.enter(ctx, "RevokeRules", op, regionID, groupID, rules); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.group(op, region, groupID); err != nil {
		return err
	}
	gone := map[string]bool{}
	for _, r := range rules {
		if r.ID != "" {
			gone["id:"+r.ID] = true
		}
		gone["key:"+r.Key()] = true
	}
	b := e.book()
	var keep []rolepolicy.Rule
	for _, r := range b.byGroup[groupID] {
		if !gone["id:"+r.ID] && !gone["key:"+r.Key()] {
			keep = append(keep, r)
		}
	}
	b.byGroup[groupID] = keep
	named := map[string]bool{}
	for _, r := range keep {
		named[r.PeerGroupID] = true
	}
	for peer := range e.refs[groupID] {
		if !named[peer] {
			delete(e.refs[groupID], peer)
		}
	}
	return nil
}

// ListVPCs returns the region's VPCs with the ranges set by SetVPCRanges.
func (e *ECS) ListVPCs(ctx context.Context, regionID string) ([]rolepolicy.VPC, error) {
	region := orDefault(regionID, DefaultRegion)
	if err := e.enter(ctx, "ListVPCs", "ecs DescribeVpcs in "+region, regionID); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	out := []rolepolicy.VPC{}
	for _, id := range sortedKeys(e.vpcs) {
		if e.vpcs[id] == region {
			out = append(out, rolepolicy.VPC{ID: id, CIDRs: append([]string{}, e.book().vpcCIDRs[id]...)})
		}
	}
	return out, nil
}

// ListVSwitches returns the region's vSwitches.
func (e *ECS) ListVSwitches(ctx context.Context, regionID string) ([]rolepolicy.VSwitch, error) {
	region := orDefault(regionID, DefaultRegion)
	if err := e.enter(ctx, "ListVSwitches", "ecs DescribeVSwitches in "+region, regionID); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	out := []rolepolicy.VSwitch{}
	b := e.book()
	for _, id := range sortedKeys(b.vswitches) {
		if sw := b.vswitches[id]; e.vpcs[sw.VPCID] == region {
			out = append(out, sw)
		}
	}
	return out, nil
}

// InstanceVSwitches maps the region's placed VPC instances to their vSwitch.
func (e *ECS) InstanceVSwitches(ctx context.Context, regionID string) (map[string]string, error) {
	region := orDefault(regionID, DefaultRegion)
	if err := e.enter(ctx, "InstanceVSwitches", "ecs DescribeInstances in "+region, regionID); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]string{}
	for id, sw := range e.book().placement {
		if in, ok := e.instances[id]; ok && in.RegionID == region {
			out[id] = sw
		}
	}
	return out, nil
}
