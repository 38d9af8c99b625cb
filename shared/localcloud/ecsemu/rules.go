package ecsemu

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
)

const (
	dirIngress = "ingress"
	dirEgress  = "egress"
	nicIntra   = "intranet"
	nicInter   = "internet"
)

var protocols = map[string]bool{"tcp": true, "udp": true, "icmp": true, "gre": true, "all": true, "icmpv6": true}

// validPortRange checks "start/end" for tcp/udp (1 ≤ start ≤ end ≤ 65535)
// and "-1/-1" for every other protocol.
func validPortRange(proto, pr string) bool {
	a, b, ok := strings.Cut(pr, "/")
	if !ok {
		return false
	}
	if proto != "tcp" && proto != "udp" {
		return a == "-1" && b == "-1"
	}
	lo, err1 := strconv.Atoi(a)
	hi, err2 := strconv.Atoi(b)
	return err1 == nil && err2 == nil && lo >= 1 && lo <= hi && hi <= 65535
}

func validCIDR(s string, v6 bool) bool {
	var ip net.IP
	if strings.Contains(s, "/") {
		var err error
		ip, _, err = net.ParseCIDR(s)
		if err != nil {
			return false
		}
	} else if ip = net.ParseIP(s); ip == nil {
		return false
	}
	return (ip.To4() == nil) == v6
}

// ruleInput names the wire fields of one rule, flat or from Permissions.N.
type ruleInput map[string]string

// buildRule validates one rule for group g (§3) and returns it with its
// defaults applied. lenient skips the peer-group checks (used by revoke,
// where the rule already passed them once).
func (s *Service) buildRule(g *group, dir string, f ruleInput, lenient bool) (*rule, *apiError) {
	proto := strings.ToLower(f["IpProtocol"])
	if proto == "" {
		return nil, errMissing("IpProtocol")
	}
	if !protocols[proto] {
		return nil, newErr(http.StatusBadRequest, "InvalidIpProtocol.Malformed",
			"The specified parameter IpProtocol is not valid: %q.", f["IpProtocol"])
	}
	pr := f["PortRange"]
	if pr == "" {
		return nil, errMissing("PortRange")
	}
	if !validPortRange(proto, pr) {
		return nil, newErr(http.StatusBadRequest, "InvalidPortRange.Malformed",
			"The specified parameter PortRange %q is not valid for protocol %s.", pr, proto)
	}
	spr := f["SourcePortRange"]
	if spr != "" && !validPortRange(proto, spr) {
		return nil, newErr(http.StatusBadRequest, "InvalidSourcePortRange.Malformed",
			"The specified parameter SourcePortRange %q is not valid for protocol %s.", spr, proto)
	}
	policy := strings.ToLower(f["Policy"])
	if policy == "" {
		policy = "accept"
	}
	if policy != "accept" && policy != "drop" {
		return nil, newErr(http.StatusBadRequest, "InvalidPolicy.Malformed",
			"The specified parameter Policy is not valid: %q.", f["Policy"])
	}
	prio := 1
	if v := f["Priority"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return nil, newErr(http.StatusBadRequest, "InvalidPriority.Malformed",
				"The specified parameter Priority must be an integer from 1 to 100, got %q.", v)
		}
		prio = n
	}
	if d := f["Description"]; utf8.RuneCountInString(d) > 512 {
		return nil, newErr(http.StatusBadRequest, "InvalidDescription.Malformed",
			"The rule description must be at most 512 characters.")
	}
	r := &rule{
		Direction: dir, Protocol: proto, PortRange: pr, SourcePortRange: spr, Policy: policy, Priority: prio,
		Description: f["Description"],
	}
	// The peer is the source for ingress rules and the destination for egress
	// rules; the other side's CIDR is an optional narrowing.
	peer, local := "Source", "Dest"
	if dir == dirEgress {
		peer, local = "Dest", "Source"
	}
	cidr, cidr6 := f[peer+"CidrIp"], f["Ipv6"+peer+"CidrIp"]
	groupID, prefixList := f[peer+"GroupId"], f[peer+"PrefixListId"]
	owner := f[peer+"GroupOwnerAccount"]
	if owner == "" {
		owner = f[peer+"GroupOwnerId"]
	}
	if cidr != "" && cidr6 != "" {
		return nil, newErr(http.StatusBadRequest, "InvalidParam."+peer+"Ip",
			"%sCidrIp and Ipv6%sCidrIp cannot be set at the same time.", peer, peer)
	}
	if cidr != "" && !validCIDR(cidr, false) {
		return nil, newErr(http.StatusBadRequest, "Invalid"+peer+"CidrIp.Malformed",
			"The specified parameter %sCidrIp is not valid: %q.", peer, cidr)
	}
	if cidr6 != "" && !validCIDR(cidr6, true) {
		return nil, newErr(http.StatusBadRequest, "InvalidIpv6"+peer+"CidrIp.Malformed",
			"The specified parameter Ipv6%sCidrIp is not valid: %q.", peer, cidr6)
	}
	if cidr != "" || cidr6 != "" {
		groupID, owner = "", "" // §2.10: when both are given the CIDR wins
	}
	if cidr == "" && cidr6 == "" && groupID == "" && prefixList == "" {
		return nil, newErr(http.StatusBadRequest, "MissingParameter."+peer,
			"One of %sCidrIp, Ipv6%sCidrIp, %sGroupId or %sPrefixListId is required.", peer, peer, peer, peer)
	}
	lc, lc6 := f[local+"CidrIp"], f["Ipv6"+local+"CidrIp"]
	if lc != "" && !validCIDR(lc, false) {
		return nil, newErr(http.StatusBadRequest, "Invalid"+local+"CidrIp.Malformed",
			"The specified parameter %sCidrIp is not valid: %q.", local, lc)
	}
	if lc6 != "" && !validCIDR(lc6, true) {
		return nil, newErr(http.StatusBadRequest, "InvalidIpv6"+local+"CidrIp.Malformed",
			"The specified parameter Ipv6%sCidrIp is not valid: %q.", local, lc6)
	}
	if dir == dirIngress {
		r.SourceCidrIP, r.Ipv6SourceCidrIP, r.SourcePrefixListID = cidr, cidr6, prefixList
		r.DestCidrIP, r.Ipv6DestCidrIP = lc, lc6
	} else {
		r.DestCidrIP, r.Ipv6DestCidrIP, r.DestPrefixListID = cidr, cidr6, prefixList
		r.SourceCidrIP, r.Ipv6SourceCidrIP = lc, lc6
	}

	nic := strings.ToLower(f["NicType"])
	if nic != "" && nic != nicIntra && nic != nicInter {
		return nil, newErr(http.StatusBadRequest, "InvalidNicType.ValueNotSupported",
			"The specified parameter NicType is not valid: %q.", f["NicType"])
	}
	switch {
	case g.VpcID != "":
		nic = nicIntra // VPC groups: intranet only, other values coerced (§3)
	case groupID != "":
		if nic == nicInter {
			return nil, newErr(http.StatusForbidden, "InvalidSourceGroupId.Mismatch",
				"NicType is required or NicType expects intranet.")
		}
		nic = nicIntra
	case nic == "":
		nic = nicInter
	}
	r.NicType = nic

	if groupID != "" {
		if !lenient {
			if owner != "" && owner != s.env.AccountID {
				return nil, fromWire(errSourceGroupNotFound)
			}
			pg := s.w.groups[groupID]
			if pg == nil || pg.RegionID != g.RegionID {
				return nil, fromWire(errSourceGroupNotFound)
			}
			if pg.ID == g.ID && !allowSelfReference {
				return nil, newErr(http.StatusBadRequest, "InvalidParamter.Conflict",
					"The SecurityGroupId and the %sGroupId cannot be the same.", peer)
			}
			if g.Type == groupEnterprise {
				return nil, newErr(http.StatusBadRequest, "InvalidGroupAuthParameter.OperationDenied",
					"Enterprise security groups cannot authorize security groups.")
			}
			// §10.1: an advanced group cannot be the peer of a rule either
			// (the code for this side is unconfirmed; the same one is used).
			if pg.Type == groupEnterprise {
				return nil, newErr(http.StatusBadRequest, "InvalidGroupAuthParameter.OperationDenied",
					"Enterprise security group %s cannot be authorized in a rule.", pg.ID)
			}
			if (pg.VpcID == "") != (g.VpcID == "") {
				return nil, newErr(http.StatusForbidden, "InvalidNetworkType.Mismatch",
					"The network types of the security group and the %s group do not match.", strings.ToLower(peer))
			}
			if pg.VpcID != g.VpcID {
				return nil, newErr(http.StatusBadRequest, "InvalidSourceGroupId.Mismatch",
					"Specified security group and %s group are not in the same VPC.", strings.ToLower(peer))
			}
		}
		if owner == "" {
			owner = s.env.AccountID
		}
		if dir == dirIngress {
			r.SourceGroupID, r.SourceGroupOwnerAccount = groupID, owner
		} else {
			r.DestGroupID, r.DestGroupOwnerAccount = groupID, owner
		}
	}
	return r, nil
}

// ruleInputs returns the rules of an Authorize/Revoke call: the flat fields
// or Permissions.N.*, never both.
func ruleInputs(p params) ([]ruleInput, *apiError) {
	perms := p.structs("Permissions")
	flat := p.has("IpProtocol") || p.has("PortRange")
	switch {
	case len(perms) > 0 && flat:
		return nil, newErr(http.StatusBadRequest, "InvalidParam.Permissions",
			"The flat rule parameters and Permissions.N cannot be used together.")
	case len(perms) > 100:
		return nil, newErr(http.StatusBadRequest, "InvalidParam.Permissions",
			"At most 100 Permissions can be given in one call.")
	case len(perms) > 0:
		out := make([]ruleInput, len(perms))
		for i, m := range perms {
			out[i] = ruleInput(m)
		}
		return out, nil
	}
	return []ruleInput{ruleInput(p)}, nil
}

func (s *Service) lookupGroup(c *call, id string) (*group, *apiError) {
	if id == "" {
		return nil, errMissing("SecurityGroupId")
	}
	if !validID(id, "sg-") {
		return nil, errGroupMalformed(id)
	}
	g := s.w.groups[id]
	if g == nil || g.RegionID != c.region {
		return nil, errGroupNotFound(id)
	}
	return g, nil
}

func (s *Service) authorizeSecurityGroup(c *call) (any, *apiError) {
	return s.authorize(c, dirIngress)
}

func (s *Service) authorizeSecurityGroupEgress(c *call) (any, *apiError) {
	return s.authorize(c, dirEgress)
}

func (s *Service) authorize(c *call, dir string) (any, *apiError) {
	g, e := s.lookupGroup(c, c.p.str("SecurityGroupId"))
	if e != nil {
		return nil, e
	}
	if g.ServiceManaged {
		return nil, errManaged(g.ID)
	}
	inputs, e := ruleInputs(c.p)
	if e != nil {
		return nil, e
	}
	existing := make(map[string]bool, len(g.Rules))
	peers := map[string]bool{}
	for _, r := range g.Rules {
		existing[r.identity()] = true
		if pg := r.peerGroup(); pg != "" {
			peers[pg] = true
		}
	}
	var add []*rule
	inCall := map[string]bool{}
	for _, in := range inputs {
		r, e := s.buildRule(g, dir, in, false)
		if e != nil {
			return nil, e
		}
		id := r.identity()
		if inCall[id] {
			return nil, newErr(http.StatusBadRequest, "InvalidParam.DuplicatePermissions",
				"The Permissions contain duplicate rules.")
		}
		inCall[id] = true
		if existing[id] && duplicateRuleIsSuccess {
			continue
		}
		if pg := r.peerGroup(); pg != "" {
			peers[pg] = true
		}
		add = append(add, r)
	}
	if len(g.Rules)+len(add) > s.opts.RulesPerGroup {
		return nil, newErr(http.StatusForbidden, "AuthorizationLimitExceed",
			"The limit of authorization records in the security group reaches. (%d)", s.opts.RulesPerGroup)
	}
	if len(peers) > s.opts.SourceGroupsPerGroup {
		return nil, newErr(http.StatusForbidden, "AuthorizationLimitExceed",
			"The number of security groups authorized in the security group exceeds %d.", s.opts.SourceGroupsPerGroup)
	}
	for _, r := range add {
		r.ID = core.NewResourceID("sgr-", core.RegionCode(g.RegionID))
		r.CreatedAt = c.now
		s.w.addRule(g, r)
	}
	return okResponse(c), nil
}

func (s *Service) revokeSecurityGroup(c *call) (any, *apiError) { return s.revoke(c, dirIngress) }

func (s *Service) revokeSecurityGroupEgress(c *call) (any, *apiError) { return s.revoke(c, dirEgress) }

func (s *Service) revoke(c *call, dir string) (any, *apiError) {
	g, e := s.lookupGroup(c, c.p.str("SecurityGroupId"))
	if e != nil {
		return nil, e
	}
	if g.ServiceManaged {
		return nil, errManaged(g.ID)
	}
	if ids := c.p.indexed("SecurityGroupRuleId"); len(ids) > 0 {
		if len(c.p.structs("Permissions")) > 0 || c.p.has("IpProtocol") || c.p.has("PortRange") {
			return nil, fromWire(errRevokeIDsAndPermissions)
		}
		for _, id := range ids {
			found := false
			for _, r := range g.Rules {
				if r.ID == id && r.Direction == dir {
					found = true
				}
			}
			if !found {
				e := fromWire(errRevokeRuleIDNotFound)
				e.Message += " (" + id + ")"
				return nil, e
			}
		}
		for _, id := range ids {
			for i, r := range g.Rules {
				if r.ID == id {
					s.w.removeRule(g, i)
					break
				}
			}
		}
		return okResponse(c), nil
	}
	inputs, e := ruleInputs(c.p)
	if e != nil {
		return nil, e
	}
	var drop []string
	for _, in := range inputs {
		r, e := s.buildRule(g, dir, in, true)
		if e != nil {
			return nil, e
		}
		drop = append(drop, r.identity())
	}
	removed := 0
	for _, id := range drop {
		for i, r := range g.Rules {
			if r.identity() == id {
				s.w.removeRule(g, i)
				removed++
				break
			}
		}
	}
	if removed == 0 && !revokeMissingRuleIsSuccess {
		return nil, newErr(http.StatusNotFound, "InvalidSecurityGroupRule.RuleNotExist", "The specified rule does not exist.")
	}
	return okResponse(c), nil
}

type requestOnly struct {
	RequestID string `json:"RequestId"`
}

func okResponse(c *call) requestOnly { return requestOnly{RequestID: c.requestID} }

// modifySecurityGroupPolicy sets the inner-access policy of a basic group:
// Accept (members reach each other) or Drop (members are isolated unless
// rules allow them). Advanced groups always isolate their members and
// cannot change it.
func (s *Service) modifySecurityGroupPolicy(c *call) (any, *apiError) {
	g, e := s.lookupGroup(c, c.p.str("SecurityGroupId"))
	if e != nil {
		return nil, e
	}
	raw := c.p.str("InnerAccessPolicy")
	var policy string
	switch strings.ToLower(raw) {
	case "":
		return nil, errMissing("InnerAccessPolicy")
	case "accept":
		policy = "Accept"
	case "drop":
		policy = "Drop"
	default:
		return nil, fromWireMsg(errInnerAccessPolicyInvalid, raw)
	}
	if g.ServiceManaged {
		return nil, errManaged(g.ID)
	}
	if g.Type == groupEnterprise {
		return nil, fromWireMsg(errEnterpriseInnerPolicy, g.ID)
	}
	g.InnerAccessPolicy = policy
	return okResponse(c), nil
}

// fromWireMsg is fromWire with the offending value appended to the message.
func fromWireMsg(w wireError, value string) *apiError {
	e := fromWire(w)
	e.Message += " (" + value + ")"
	return e
}
