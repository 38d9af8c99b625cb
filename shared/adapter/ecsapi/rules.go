package ecsapi

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/rolepolicy"
)

// Sizes of the rule APIs (shared/docs/alibaba-reference.md §2.3, §2.10).
const (
	// rulePageSize is MaxResults of DescribeSecurityGroupAttribute (10..1000).
	// 100 keeps a page small; a full group (200 rules) takes two.
	rulePageSize = 100
	// permissionsBatch is the most Permissions.N (or SecurityGroupRuleId.N)
	// one Authorize/Revoke call takes.
	permissionsBatch = 100
)

// ruleCodes classify the rule APIs' codes that the shared table does not
// know or knows with another meaning; they take precedence for the calls of
// this file only.
var ruleCodes = map[string]domain.Kind{
	// Revoke by a rule ID that does not exist: the newer code (2024) and the
	// older one. Both mean the rule is already gone.
	"InvalidParam.SecurityGroupRuleId":      domain.KindNotFound,
	"InvalidSecurityGroupRuleId.NotFound":   domain.KindNotFound,
	"InvalidSecurityGroupRule.RuleNotExist": domain.KindNotFound,
	// The group already holds its maximum of rules or referenced groups.
	"AuthorizationLimitExceed": domain.KindPermanent,
	// Group-to-group rules with or on an advanced group.
	"InvalidGroupAuthParameter.OperationDenied": domain.KindPermanent,
	// The peer group is in another VPC or network type.
	"InvalidSourceGroupId.Mismatch": domain.KindPermanent,
	"InvalidNetworkType.Mismatch":   domain.KindPermanent,
	"InvalidNetworkType.Conflict":   domain.KindPermanent,
	// ModifySecurityGroupPolicy on an advanced group (code unconfirmed).
	"InvalidSecurityGroup.NotSupportEnterprise": domain.KindPermanent,
}

// reclassify applies ruleCodes to an error of call.
func reclassify(err error) error {
	var de *domain.Error
	if !errors.As(err, &de) {
		return err
	}
	kind, ok := ruleCodes[de.Code]
	if !ok || kind == de.Kind {
		return err
	}
	out := *de
	out.Kind = kind
	return &out
}

// GroupRules is a security group's attribute view: its inner-access policy
// and every rule, both directions and (classic groups) both NicTypes.
type GroupRules struct {
	GroupID           string
	Name              string
	VPCID             string // "" for a classic group
	InnerAccessPolicy string // Accept or Drop
	Rules             []rolepolicy.Rule
}

// DescribeGroupRules reads every rule of a group: all pages of
// DescribeSecurityGroupAttribute, and for a classic group a second listing
// for the internet NicType (each call answers one NicType there). A missing
// group is KindNotFound.
func (c *Client) DescribeGroupRules(ctx context.Context, regionID, groupID string) (GroupRules, error) {
	region := c.region(regionID)
	out, err := c.ruleListing(ctx, region, groupID, rolepolicy.NicIntranet)
	if err != nil || out.VPCID != "" {
		return out, err
	}
	internet, err := c.ruleListing(ctx, region, groupID, rolepolicy.NicInternet)
	if err != nil {
		return GroupRules{}, err
	}
	out.Rules = append(out.Rules, internet.Rules...)
	return out, nil
}

func (c *Client) ruleListing(ctx context.Context, region, groupID, nic string) (GroupRules, error) {
	op := fmt.Sprintf("ecs DescribeSecurityGroupAttribute %s (%s) in %s", groupID, nic, region)
	out := GroupRules{GroupID: groupID, Rules: []rolepolicy.Rule{}}
	token := ""
	for page := 1; ; page++ {
		resp, err := call(ctx, c, pageOp(op, page), func() (requests.AcsRequest, *ecs.DescribeSecurityGroupAttributeResponse) {
			req := ecs.CreateDescribeSecurityGroupAttributeRequest()
			req.RegionId = region
			req.SecurityGroupId = groupID
			req.Direction = "all"
			req.NicType = nic
			req.MaxResults = requests.NewInteger(rulePageSize)
			req.NextToken = token
			return req, ecs.CreateDescribeSecurityGroupAttributeResponse()
		})
		if err != nil {
			return GroupRules{}, reclassify(err)
		}
		out.Name, out.VPCID, out.InnerAccessPolicy = resp.SecurityGroupName, resp.VpcId, resp.InnerAccessPolicy
		for _, p := range resp.Permissions.Permission {
			r, err := FromPermission(p)
			if err != nil {
				return GroupRules{}, domain.Wrap(domain.KindInternal, pageOp(op, page), "", err)
			}
			out.Rules = append(out.Rules, r)
		}
		next, err := nextToken(op, page, token, resp.NextToken)
		if err != nil || next == "" {
			return out, err
		}
		token = next
	}
}

// FromPermission converts one rule of DescribeSecurityGroupAttribute. The
// peer is the source of an ingress rule and the destination of an egress
// rule; protocol and policy come back capitalised and are lowered.
func FromPermission(p ecs.Permission) (rolepolicy.Rule, error) {
	r := rolepolicy.Rule{
		ID:              p.SecurityGroupRuleId,
		Direction:       rolepolicy.Direction(strings.ToLower(p.Direction)),
		Protocol:        rolepolicy.Protocol(strings.ToLower(p.IpProtocol)),
		PortRange:       p.PortRange,
		SourcePortRange: p.SourcePortRange,
		NicType:         strings.ToLower(p.NicType),
		Policy:          rolepolicy.Action(strings.ToLower(p.Policy)),
		Description:     p.Description,
	}
	switch {
	case p.Priority == "":
		r.Priority = rolepolicy.MinPriority // the API's default
	default:
		n, err := strconv.Atoi(p.Priority)
		if err != nil {
			return rolepolicy.Rule{}, fmt.Errorf("rule %s: priority %q is not a number", p.SecurityGroupRuleId, p.Priority)
		}
		r.Priority = n
	}
	if r.Policy == "" {
		r.Policy = rolepolicy.Accept
	}
	if r.Direction == rolepolicy.Egress {
		r.PeerCIDR, r.PeerIPv6CIDR, r.PeerGroupID = p.DestCidrIp, p.Ipv6DestCidrIp, p.DestGroupId
		r.PeerGroupOwner, r.PeerGroupRef, r.PeerPrefixList = p.DestGroupOwnerAccount, p.DestGroupName, p.DestPrefixListId
		r.LocalCIDR, r.LocalIPv6 = p.SourceCidrIp, p.Ipv6SourceCidrIp
	} else {
		r.PeerCIDR, r.PeerIPv6CIDR, r.PeerGroupID = p.SourceCidrIp, p.Ipv6SourceCidrIp, p.SourceGroupId
		r.PeerGroupOwner, r.PeerGroupRef, r.PeerPrefixList = p.SourceGroupOwnerAccount, p.SourceGroupName, p.SourcePrefixListId
		r.LocalCIDR, r.LocalIPv6 = p.DestCidrIp, p.Ipv6DestCidrIp
	}
	return r, nil
}

// splitDirections returns the ingress and egress rules, refusing rules the
// API cannot express (no direction, or a peer role not resolved to a group).
func splitDirections(op string, rules []rolepolicy.Rule) (in, eg []rolepolicy.Rule, err error) {
	for _, r := range rules {
		if r.PeerRole != "" && r.PeerGroupID == "" {
			return nil, nil, domain.Errorf(domain.KindInvalid, op, "", "rule %q names role %s, whose group is not known yet (resolve the plan first)", r.String(), r.PeerRole)
		}
		switch r.Direction {
		case rolepolicy.Ingress:
			in = append(in, r)
		case rolepolicy.Egress:
			eg = append(eg, r)
		default:
			return nil, nil, domain.Errorf(domain.KindInvalid, op, "", "rule %q has direction %q", r.String(), r.Direction)
		}
	}
	return in, eg, nil
}

func priority(r rolepolicy.Rule) string {
	if r.Priority == 0 {
		return ""
	}
	return strconv.Itoa(r.Priority)
}

// AuthorizeRules adds rules to a group with the Permissions.N form, at most
// 100 per call, ingress and egress separately. Idempotent: ECS answers an
// identical existing rule with success and adds nothing (so a rule already
// there with another priority keeps its priority: revoke it first).
func (c *Client) AuthorizeRules(ctx context.Context, regionID, groupID string, rules []rolepolicy.Rule) error {
	region := c.region(regionID)
	opIn := fmt.Sprintf("ecs AuthorizeSecurityGroup %s in %s", groupID, region)
	in, eg, err := splitDirections(opIn, rules)
	if err != nil {
		return err
	}
	for _, batch := range chunks(in, permissionsBatch) {
		perms := make([]ecs.AuthorizeSecurityGroupPermissions, len(batch))
		for i, r := range batch {
			perms[i] = ecs.AuthorizeSecurityGroupPermissions{
				IpProtocol: string(r.Protocol), PortRange: r.PortRange, SourcePortRange: r.SourcePortRange,
				NicType: r.NicType, Policy: string(r.Policy), Priority: priority(r), Description: r.Description,
				SourceCidrIp: r.PeerCIDR, Ipv6SourceCidrIp: r.PeerIPv6CIDR, SourceGroupId: r.PeerGroupID,
				SourceGroupOwnerAccount: r.PeerGroupOwner, SourcePrefixListId: r.PeerPrefixList,
				DestCidrIp: r.LocalCIDR, Ipv6DestCidrIp: r.LocalIPv6,
			}
		}
		_, err := call(ctx, c, opIn, func() (requests.AcsRequest, *ecs.AuthorizeSecurityGroupResponse) {
			req := ecs.CreateAuthorizeSecurityGroupRequest()
			req.RegionId, req.SecurityGroupId, req.Permissions = region, groupID, &perms
			return req, ecs.CreateAuthorizeSecurityGroupResponse()
		})
		if err != nil {
			return reclassify(err)
		}
	}
	opEg := fmt.Sprintf("ecs AuthorizeSecurityGroupEgress %s in %s", groupID, region)
	for _, batch := range chunks(eg, permissionsBatch) {
		perms := make([]ecs.AuthorizeSecurityGroupEgressPermissions, len(batch))
		for i, r := range batch {
			perms[i] = ecs.AuthorizeSecurityGroupEgressPermissions{
				IpProtocol: string(r.Protocol), PortRange: r.PortRange, SourcePortRange: r.SourcePortRange,
				NicType: r.NicType, Policy: string(r.Policy), Priority: priority(r), Description: r.Description,
				DestCidrIp: r.PeerCIDR, Ipv6DestCidrIp: r.PeerIPv6CIDR, DestGroupId: r.PeerGroupID,
				DestGroupOwnerAccount: r.PeerGroupOwner, DestPrefixListId: r.PeerPrefixList,
				SourceCidrIp: r.LocalCIDR, Ipv6SourceCidrIp: r.LocalIPv6,
			}
		}
		_, err := call(ctx, c, opEg, func() (requests.AcsRequest, *ecs.AuthorizeSecurityGroupEgressResponse) {
			req := ecs.CreateAuthorizeSecurityGroupEgressRequest()
			req.RegionId, req.SecurityGroupId, req.Permissions = region, groupID, &perms
			return req, ecs.CreateAuthorizeSecurityGroupEgressResponse()
		})
		if err != nil {
			return reclassify(err)
		}
	}
	return nil
}

// RevokeRules removes rules from a group, ingress and egress separately, at
// most 100 per call. Rules with an ID are revoked by SecurityGroupRuleId.N;
// when such a batch fails because a rule is already gone, the batch is
// revoked again by attributes (Permissions.N), which ECS answers with
// success for rules that no longer exist. Rules without an ID are revoked by
// attributes. Idempotent: a rule that is already gone is not an error.
func (c *Client) RevokeRules(ctx context.Context, regionID, groupID string, rules []rolepolicy.Rule) error {
	region := c.region(regionID)
	in, eg, err := splitDirections(fmt.Sprintf("ecs RevokeSecurityGroup %s in %s", groupID, region), rules)
	if err != nil {
		return err
	}
	for _, dir := range []struct {
		egress bool
		rules  []rolepolicy.Rule
	}{{false, in}, {true, eg}} {
		var byID, byAttr []rolepolicy.Rule
		for _, r := range dir.rules {
			if r.ID != "" {
				byID = append(byID, r)
			} else {
				byAttr = append(byAttr, r)
			}
		}
		for _, batch := range chunks(byID, permissionsBatch) {
			err := c.revokeByID(ctx, region, groupID, dir.egress, batch)
			if domain.KindOf(err) == domain.KindNotFound && domain.CodeOf(err) != "InvalidSecurityGroupId.NotFound" {
				err = c.revokeByAttributes(ctx, region, groupID, dir.egress, batch)
			}
			if err != nil {
				return err
			}
		}
		for _, batch := range chunks(byAttr, permissionsBatch) {
			if err := c.revokeByAttributes(ctx, region, groupID, dir.egress, batch); err != nil {
				return err
			}
		}
	}
	return nil
}

func ruleIDs(rules []rolepolicy.Rule) []string {
	ids := make([]string, len(rules))
	for i, r := range rules {
		ids[i] = r.ID
	}
	return ids
}

func (c *Client) revokeByID(ctx context.Context, region, groupID string, egress bool, rules []rolepolicy.Rule) error {
	ids := ruleIDs(rules)
	var err error
	if egress {
		op := fmt.Sprintf("ecs RevokeSecurityGroupEgress %s rules %s in %s", groupID, shortList(ids), region)
		_, err = call(ctx, c, op, func() (requests.AcsRequest, *ecs.RevokeSecurityGroupEgressResponse) {
			req := ecs.CreateRevokeSecurityGroupEgressRequest()
			req.RegionId, req.SecurityGroupId, req.SecurityGroupRuleId = region, groupID, &ids
			return req, ecs.CreateRevokeSecurityGroupEgressResponse()
		})
	} else {
		op := fmt.Sprintf("ecs RevokeSecurityGroup %s rules %s in %s", groupID, shortList(ids), region)
		_, err = call(ctx, c, op, func() (requests.AcsRequest, *ecs.RevokeSecurityGroupResponse) {
			req := ecs.CreateRevokeSecurityGroupRequest()
			req.RegionId, req.SecurityGroupId, req.SecurityGroupRuleId = region, groupID, &ids
			return req, ecs.CreateRevokeSecurityGroupResponse()
		})
	}
	return reclassify(err)
}

// revokeByAttributes revokes by the rule identity; priority and description
// are not part of it and are not sent.
func (c *Client) revokeByAttributes(ctx context.Context, region, groupID string, egress bool, rules []rolepolicy.Rule) error {
	var err error
	if egress {
		perms := make([]ecs.RevokeSecurityGroupEgressPermissions, len(rules))
		for i, r := range rules {
			perms[i] = ecs.RevokeSecurityGroupEgressPermissions{
				IpProtocol: string(r.Protocol), PortRange: r.PortRange, SourcePortRange: r.SourcePortRange,
				NicType: r.NicType, Policy: string(r.Policy),
				DestCidrIp: r.PeerCIDR, Ipv6DestCidrIp: r.PeerIPv6CIDR, DestGroupId: r.PeerGroupID,
				DestGroupOwnerAccount: r.PeerGroupOwner, DestPrefixListId: r.PeerPrefixList,
				SourceCidrIp: r.LocalCIDR, Ipv6SourceCidrIp: r.LocalIPv6,
			}
		}
		op := fmt.Sprintf("ecs RevokeSecurityGroupEgress %s (%d rules by attributes) in %s", groupID, len(rules), region)
		_, err = call(ctx, c, op, func() (requests.AcsRequest, *ecs.RevokeSecurityGroupEgressResponse) {
			req := ecs.CreateRevokeSecurityGroupEgressRequest()
			req.RegionId, req.SecurityGroupId, req.Permissions = region, groupID, &perms
			return req, ecs.CreateRevokeSecurityGroupEgressResponse()
		})
	} else {
		perms := make([]ecs.RevokeSecurityGroupPermissions, len(rules))
		for i, r := range rules {
			perms[i] = ecs.RevokeSecurityGroupPermissions{
				IpProtocol: string(r.Protocol), PortRange: r.PortRange, SourcePortRange: r.SourcePortRange,
				NicType: r.NicType, Policy: string(r.Policy),
				SourceCidrIp: r.PeerCIDR, Ipv6SourceCidrIp: r.PeerIPv6CIDR, SourceGroupId: r.PeerGroupID,
				SourceGroupOwnerAccount: r.PeerGroupOwner, SourcePrefixListId: r.PeerPrefixList,
				DestCidrIp: r.LocalCIDR, Ipv6DestCidrIp: r.LocalIPv6,
			}
		}
		op := fmt.Sprintf("ecs RevokeSecurityGroup %s (%d rules by attributes) in %s", groupID, len(rules), region)
		_, err = call(ctx, c, op, func() (requests.AcsRequest, *ecs.RevokeSecurityGroupResponse) {
			req := ecs.CreateRevokeSecurityGroupRequest()
			req.RegionId, req.SecurityGroupId, req.Permissions = region, groupID, &perms
			return req, ecs.CreateRevokeSecurityGroupResponse()
		})
	}
	return reclassify(err)
}

// ModifyGroupPolicy sets a basic group's inner-access policy: "Accept"
// (members reach each other) or "Drop" (members are isolated unless rules
// allow them). Advanced groups refuse it (KindPermanent).
func (c *Client) ModifyGroupPolicy(ctx context.Context, regionID, groupID, innerAccessPolicy string) error {
	region := c.region(regionID)
	op := fmt.Sprintf("ecs ModifySecurityGroupPolicy %s to %s in %s", groupID, innerAccessPolicy, region)
	switch strings.ToLower(innerAccessPolicy) {
	case "accept", "drop":
	default:
		return domain.Errorf(domain.KindInvalid, op, "", "inner access policy %q is neither Accept nor Drop", innerAccessPolicy)
	}
	_, err := call(ctx, c, op, func() (requests.AcsRequest, *ecs.ModifySecurityGroupPolicyResponse) {
		req := ecs.CreateModifySecurityGroupPolicyRequest()
		req.RegionId, req.SecurityGroupId, req.InnerAccessPolicy = region, groupID, innerAccessPolicy
		return req, ecs.CreateModifySecurityGroupPolicyResponse()
	})
	return reclassify(err)
}

// CreateRoleGroup creates a group a plan asks for (rolepolicy.Plan.Create)
// in network n, of the plan's type (normal or enterprise) and with its tags,
// and returns its ID. A ClientToken makes the retries of one call
// idempotent. (CreateGroup's domain.GroupSpec has no type.)
func (c *Client) CreateRoleGroup(ctx context.Context, n rolepolicy.Network, g rolepolicy.GroupToCreate) (string, error) {
	region := c.region(n.RegionID)
	op := fmt.Sprintf("ecs CreateSecurityGroup %q (%s) in %s", g.Name, g.Type, n)
	switch g.Type {
	case "", "normal", "enterprise":
	default:
		return "", domain.Errorf(domain.KindInvalid, op, "", "group type %q is neither normal nor enterprise", g.Type)
	}
	if len(g.Tags) > tagBatch {
		return "", domain.Errorf(domain.KindInvalid, op, "", "%d tags, ECS accepts at most %d on a group", len(g.Tags), tagBatch)
	}
	token, err := clientToken()
	if err != nil {
		return "", domain.Wrap(domain.KindInternal, op, "", err)
	}
	var tags []ecs.CreateSecurityGroupTag
	for _, k := range sortedKeys(domain.Tags(g.Tags)) {
		tags = append(tags, ecs.CreateSecurityGroupTag{Key: k, Value: g.Tags[k]})
	}
	resp, err := call(ctx, c, op, func() (requests.AcsRequest, *ecs.CreateSecurityGroupResponse) {
		req := ecs.CreateCreateSecurityGroupRequest()
		req.RegionId, req.VpcId = region, n.VPCID
		req.SecurityGroupName, req.Description, req.SecurityGroupType = g.Name, g.Description, g.Type
		req.ClientToken = token
		if len(tags) > 0 {
			t := append([]ecs.CreateSecurityGroupTag(nil), tags...)
			req.Tag = &t
		}
		return req, ecs.CreateCreateSecurityGroupResponse()
	})
	if err != nil {
		return "", reclassify(err)
	}
	if resp.SecurityGroupId == "" {
		return "", domain.Errorf(domain.KindInternal, op, "", "answer carries no SecurityGroupId")
	}
	return resp.SecurityGroupId, nil
}
