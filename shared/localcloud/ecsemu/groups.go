package ecsemu

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsnames"
)

// Time formats (§2.1): instances use minute precision, everything else seconds.
const (
	timeSeconds = "2006-01-02T15:04:05Z"
	timeMinutes = "2006-01-02T15:04Z"
)

func fmtTime(t time.Time) string { return t.UTC().Format(timeSeconds) }

// --- response shapes (names follow the SDK structs) ---

type tagOut struct {
	TagKey   string `json:"TagKey"`
	TagValue string `json:"TagValue"`
}

type tagsOut struct {
	Tag []tagOut `json:"Tag"`
}

func tagsJSON(t tagList) tagsOut {
	out := tagsOut{Tag: make([]tagOut, len(t))}
	for i, x := range t {
		out.Tag[i] = tagOut{TagKey: x.Key, TagValue: x.Value}
	}
	return out
}

type groupOut struct {
	SecurityGroupID         string  `json:"SecurityGroupId"`
	SecurityGroupName       string  `json:"SecurityGroupName"`
	Description             string  `json:"Description"`
	SecurityGroupType       string  `json:"SecurityGroupType"`
	VpcID                   string  `json:"VpcId"`
	CreationTime            string  `json:"CreationTime"`
	EcsCount                int     `json:"EcsCount"`
	AvailableInstanceAmount int     `json:"AvailableInstanceAmount"`
	RuleCount               int     `json:"RuleCount"`
	GroupToGroupRuleCount   int     `json:"GroupToGroupRuleCount"`
	ServiceManaged          bool    `json:"ServiceManaged"`
	ServiceID               int64   `json:"ServiceID"`
	ResourceGroupID         string  `json:"ResourceGroupId"`
	Tags                    tagsOut `json:"Tags"`
}

type describeGroupsOut struct {
	RequestID      string `json:"RequestId"`
	RegionID       string `json:"RegionId"`
	NextToken      string `json:"NextToken"`
	TotalCount     int    `json:"TotalCount"`
	PageNumber     int    `json:"PageNumber"`
	PageSize       int    `json:"PageSize"`
	SecurityGroups struct {
		SecurityGroup []groupOut `json:"SecurityGroup"`
	} `json:"SecurityGroups"`
}

var groupPaging = pageLimits{maxResultsMin: 1, maxResultsMax: 100, maxResultsDef: 10, pageSizeMax: 50, pageSizeDef: 10}

func (s *Service) groupJSON(g *group) groupOut {
	g2g := 0
	for _, r := range g.Rules {
		if r.peerGroup() != "" {
			g2g++
		}
	}
	count := len(g.members) + len(g.eniMembers)
	return groupOut{
		SecurityGroupID: g.ID, SecurityGroupName: g.Name, Description: g.Description,
		SecurityGroupType: g.Type, VpcID: g.VpcID, CreationTime: fmtTime(g.CreatedAt),
		EcsCount: count, AvailableInstanceAmount: max(0, s.groupCapacity(g)-count),
		RuleCount: len(g.Rules), GroupToGroupRuleCount: g2g,
		ServiceManaged: g.ServiceManaged, ServiceID: g.ServiceID, ResourceGroupID: g.ResourceGroupID,
		Tags: tagsJSON(g.Tags),
	}
}

func (s *Service) describeSecurityGroups(c *call) (any, *apiError) {
	p := c.p
	pg, e := p.paging(groupPaging)
	if e != nil {
		return nil, e
	}
	ids, idsGiven, e := p.jsonIDs("SecurityGroupIds", 100)
	if e != nil {
		return nil, errGroupMalformed(p.str("SecurityGroupIds"))
	}
	tags, e := p.tagFilters("Tag")
	if e != nil {
		return nil, e
	}
	netType := p.str("NetworkType")
	if netType != "" && netType != netVPC && netType != netClassic {
		return nil, newErr(http.StatusBadRequest, "InvalidNetworkType.Malformed",
			"The specified parameter NetworkType is not valid: %q.", netType)
	}
	sgType := p.str("SecurityGroupType")
	if sgType != "" && sgType != groupNormal && sgType != groupEnterprise {
		return nil, newErr(http.StatusBadRequest, "InvalidParameter.SecurityGroupType",
			"The specified parameter SecurityGroupType is not valid: %q.", sgType)
	}
	managed, e := p.boolean("ServiceManaged", false)
	if e != nil {
		return nil, e
	}
	if dry, e := p.boolean("DryRun", false); e != nil {
		return nil, e
	} else if dry {
		return nil, errDryRun()
	}
	rg := s.w.regions[c.region]
	vpcID, oneID, name, rgID := p.str("VpcId"), p.str("SecurityGroupId"), p.str("SecurityGroupName"), p.str("ResourceGroupId")

	// Candidates: the narrowest sorted index that covers the filters.
	var cands []string
	switch {
	case idsGiven:
		cands = sortedUnique(ids)
	case oneID != "":
		cands = []string{oneID}
	case vpcID != "":
		if v := s.w.vpcs[vpcID]; v != nil {
			cands = v.groups
		}
	case netType == netClassic:
		cands = rg.classicGroups
	case len(tags) > 0:
		cands = s.w.tagged(c.region, resGroup, tags[0])
	default:
		cands = rg.groups
	}
	cands = s.w.narrowByTags(cands, c.region, resGroup, tags)
	match := func(id string) bool {
		g := s.w.groups[id]
		switch {
		case g == nil || g.RegionID != c.region:
			return false
		case oneID != "" && id != oneID, vpcID != "" && g.VpcID != vpcID:
			return false
		case netType != "" && g.networkType() != netType, sgType != "" && g.Type != sgType:
			return false
		case name != "" && g.Name != name, rgID != "" && g.ResourceGroupID != rgID:
			return false
		case p.has("ServiceManaged") && g.ServiceManaged != managed:
			return false
		}
		return matchTags(g.Tags, tags)
	}
	res := pageIDs(cands, pg, match)
	out := &describeGroupsOut{RequestID: c.requestID, RegionID: c.region, NextToken: res.next,
		TotalCount: res.total, PageNumber: res.pageNumber, PageSize: res.pageSize}
	out.SecurityGroups.SecurityGroup = make([]groupOut, len(res.ids))
	for i, id := range res.ids {
		out.SecurityGroups.SecurityGroup[i] = s.groupJSON(s.w.groups[id])
	}
	return out, nil
}

type permissionOut struct {
	SecurityGroupRuleID     string `json:"SecurityGroupRuleId"`
	Direction               string `json:"Direction"`
	Policy                  string `json:"Policy"`
	Priority                string `json:"Priority"`
	IPProtocol              string `json:"IpProtocol"`
	PortRange               string `json:"PortRange"`
	SourcePortRange         string `json:"SourcePortRange"`
	SourceCidrIP            string `json:"SourceCidrIp"`
	SourceGroupID           string `json:"SourceGroupId"`
	SourceGroupOwnerAccount string `json:"SourceGroupOwnerAccount"`
	SourceGroupName         string `json:"SourceGroupName"`
	DestCidrIP              string `json:"DestCidrIp"`
	DestGroupID             string `json:"DestGroupId"`
	DestGroupOwnerAccount   string `json:"DestGroupOwnerAccount"`
	DestGroupName           string `json:"DestGroupName"`
	Ipv6SourceCidrIP        string `json:"Ipv6SourceCidrIp"`
	Ipv6DestCidrIP          string `json:"Ipv6DestCidrIp"`
	SourcePrefixListID      string `json:"SourcePrefixListId"`
	SourcePrefixListName    string `json:"SourcePrefixListName"`
	DestPrefixListID        string `json:"DestPrefixListId"`
	DestPrefixListName      string `json:"DestPrefixListName"`
	NicType                 string `json:"NicType"`
	Description             string `json:"Description"`
	CreateTime              string `json:"CreateTime"`
}

type describeAttributeOut struct {
	RequestID         string `json:"RequestId"`
	RegionID          string `json:"RegionId"`
	SecurityGroupID   string `json:"SecurityGroupId"`
	SecurityGroupName string `json:"SecurityGroupName"`
	Description       string `json:"Description"`
	VpcID             string `json:"VpcId"`
	InnerAccessPolicy string `json:"InnerAccessPolicy"`
	NextToken         string `json:"NextToken"`
	Permissions       struct {
		Permission []permissionOut `json:"Permission"`
	} `json:"Permissions"`
	ReferencedInfo struct {
		ReferencedPrefixListInfos struct {
			ReferencedPrefixListInfo []struct{} `json:"ReferencedPrefixListInfo"`
		} `json:"ReferencedPrefixListInfos"`
	} `json:"ReferencedInfo"`
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (s *Service) permissionJSON(r *rule) permissionOut {
	name := func(id string) string {
		if g := s.w.groups[id]; g != nil {
			return g.Name
		}
		return ""
	}
	return permissionOut{
		SecurityGroupRuleID: r.ID, Direction: r.Direction, Policy: capitalise(r.Policy),
		Priority: strconv.Itoa(r.Priority), IPProtocol: strings.ToUpper(r.Protocol), PortRange: r.PortRange,
		SourcePortRange: r.SourcePortRange, SourceCidrIP: r.SourceCidrIP, SourceGroupID: r.SourceGroupID,
		SourceGroupOwnerAccount: r.SourceGroupOwnerAccount, SourceGroupName: name(r.SourceGroupID),
		DestCidrIP: r.DestCidrIP, DestGroupID: r.DestGroupID, DestGroupOwnerAccount: r.DestGroupOwnerAccount,
		DestGroupName: name(r.DestGroupID), Ipv6SourceCidrIP: r.Ipv6SourceCidrIP, Ipv6DestCidrIP: r.Ipv6DestCidrIP,
		SourcePrefixListID: r.SourcePrefixListID, DestPrefixListID: r.DestPrefixListID, NicType: r.NicType,
		Description: r.Description, CreateTime: fmtTime(r.CreatedAt),
	}
}

func (s *Service) describeSecurityGroupAttribute(c *call) (any, *apiError) {
	p := c.p
	g, e := s.lookupGroup(c, p.str("SecurityGroupId"))
	if e != nil {
		return nil, e
	}
	nic := strings.ToLower(p.str("NicType"))
	if nic != "" && nic != nicIntra && nic != nicInter {
		return nil, newErr(http.StatusBadRequest, "InvalidNicType.ValueNotSupported",
			"The specified parameter NicType is not valid: %q.", p.str("NicType"))
	}
	// VPC groups only have intranet rules and ignore NicType; classic groups
	// answer one NicType per call, internet by default (§2.3).
	if g.VpcID != "" {
		nic = ""
	} else if nic == "" {
		nic = nicInter
	}
	dir := strings.ToLower(p.str("Direction"))
	if dir != "" && dir != "all" && dir != dirIngress && dir != dirEgress {
		return nil, errInvalidParam("Direction", p.str("Direction"))
	}
	limit, e := p.integer("MaxResults", 500)
	if e != nil {
		return nil, e
	}
	if limit < 10 || limit > 1000 {
		return nil, newErr(http.StatusBadRequest, codeBadPaging,
			"The specified parameter MaxResults must be between 10 and 1000, got %d.", limit)
	}
	start := 0
	if tok := p.str("NextToken"); tok != "" {
		v, ok := decodeToken(tok)
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 0 {
			return nil, errBadNextToken(tok)
		}
		start = n
	}
	out := &describeAttributeOut{RequestID: c.requestID, RegionID: g.RegionID, SecurityGroupID: g.ID,
		SecurityGroupName: g.Name, Description: g.Description, VpcID: g.VpcID, InnerAccessPolicy: g.InnerAccessPolicy}
	perms := make([]permissionOut, 0, min(len(g.Rules), limit))
	seen := 0
	for _, r := range g.Rules {
		if (nic != "" && r.NicType != nic) || (dir == dirIngress || dir == dirEgress) && r.Direction != dir {
			continue
		}
		seen++
		if seen <= start {
			continue
		}
		if len(perms) == limit {
			out.NextToken = encodeToken(strconv.Itoa(start + limit))
			break
		}
		perms = append(perms, s.permissionJSON(r))
	}
	out.Permissions.Permission = perms
	out.ReferencedInfo.ReferencedPrefixListInfos.ReferencedPrefixListInfo = []struct{}{}
	return out, nil
}

type referenceOut struct {
	SecurityGroupID           string `json:"SecurityGroupId"`
	ReferencingSecurityGroups struct {
		ReferencingSecurityGroup []referencingOut `json:"ReferencingSecurityGroup"`
	} `json:"ReferencingSecurityGroups"`
}

type referencingOut struct {
	SecurityGroupID string `json:"SecurityGroupId"`
	AliUID          string `json:"AliUid"`
}

type describeReferencesOut struct {
	RequestID               string `json:"RequestId"`
	SecurityGroupReferences struct {
		SecurityGroupReference []referenceOut `json:"SecurityGroupReference"`
	} `json:"SecurityGroupReferences"`
}

func (s *Service) describeSecurityGroupReferences(c *call) (any, *apiError) {
	ids := c.p.indexed("SecurityGroupId")
	if len(ids) == 0 || len(ids) > 10 {
		return nil, newErr(http.StatusBadRequest, "InvalidSecurityGroupId.Malformed",
			"The specified parameter SecurityGroupId is essential and size should less than 10.")
	}
	out := &describeReferencesOut{RequestID: c.requestID}
	out.SecurityGroupReferences.SecurityGroupReference = []referenceOut{}
	for _, id := range ids {
		if _, e := s.lookupGroup(c, id); e != nil {
			return nil, e
		}
	}
	for _, id := range ids {
		refs := s.w.referrers(id)
		if len(refs) == 0 && !listUnreferencedGroups {
			continue
		}
		ro := referenceOut{SecurityGroupID: id}
		ro.ReferencingSecurityGroups.ReferencingSecurityGroup = make([]referencingOut, len(refs))
		for i, r := range refs {
			ro.ReferencingSecurityGroups.ReferencingSecurityGroup[i] = referencingOut{SecurityGroupID: r, AliUID: s.env.AccountID}
		}
		out.SecurityGroupReferences.SecurityGroupReference = append(out.SecurityGroupReferences.SecurityGroupReference, ro)
	}
	return out, nil
}

type createGroupOut struct {
	RequestID       string `json:"RequestId"`
	SecurityGroupID string `json:"SecurityGroupId"`
}

func (s *Service) createSecurityGroup(c *call) (any, *apiError) {
	p := c.p
	if tok := p.str("ClientToken"); tok != "" {
		if ids, ok := s.w.clientTokens["CreateSecurityGroup|"+tok]; ok {
			return createGroupOut{RequestID: c.requestID, SecurityGroupID: ids[0]}, nil
		}
	}
	name, desc := p.str("SecurityGroupName"), p.str("Description")
	if name != "" && !ecsnames.ValidGroupName(name) {
		return nil, newErr(http.StatusBadRequest, "InvalidSecurityGroupName.Malformed",
			"The specified parameter SecurityGroupName is not valid: %q.", name)
	}
	if desc != "" && !ecsnames.ValidDescription(desc) {
		return nil, newErr(http.StatusBadRequest, "InvalidDescription.Malformed",
			"The specified parameter Description is not valid.")
	}
	typ := p.str("SecurityGroupType")
	if typ == "" {
		typ = groupNormal
	}
	if typ != groupNormal && typ != groupEnterprise {
		return nil, newErr(http.StatusBadRequest, "InvalidParameter.SecurityGroupType",
			"The specified parameter SecurityGroupType is not valid: %q.", typ)
	}
	tags, e := p.tagsToSet("Tag", false)
	if e != nil {
		return nil, e
	}
	managed, e := p.boolean("ServiceManaged", false)
	if e != nil {
		return nil, e
	}
	rg := s.w.regions[c.region]
	vpcID := p.str("VpcId")
	if vpcID == "" {
		if !rg.Classic {
			return nil, fromWire(errVpcRequired)
		}
	} else if v := s.w.vpcs[vpcID]; v == nil || v.RegionID != c.region {
		return nil, errVpcNotFound(vpcID)
	}
	if len(rg.groups) >= s.opts.SecurityGroupQuota {
		return nil, newErr(http.StatusForbidden, "QuotaExceed.SecurityGroup",
			"The maximum number of security groups in the region is reached. (%d)", s.opts.SecurityGroupQuota)
	}
	g := &group{
		ID: core.NewResourceID("sg-", core.RegionCode(c.region)), Name: name, Description: desc,
		RegionID: c.region, VpcID: vpcID, Type: typ, ResourceGroupID: p.str("ResourceGroupId"),
		ServiceManaged: managed, InnerAccessPolicy: "Accept", CreatedAt: c.now, Tags: tags,
	}
	if typ == groupEnterprise {
		g.InnerAccessPolicy = "Drop"
	}
	s.w.addGroup(g)
	if tok := p.str("ClientToken"); tok != "" {
		s.w.clientTokens["CreateSecurityGroup|"+tok] = []string{g.ID}
	}
	return createGroupOut{RequestID: c.requestID, SecurityGroupID: g.ID}, nil
}

func (s *Service) deleteSecurityGroup(c *call) (any, *apiError) {
	id := c.p.str("SecurityGroupId")
	if id == "" {
		return nil, errMissing("SecurityGroupId")
	}
	if !validID(id, "sg-") {
		return nil, errGroupMalformed(id)
	}
	g := s.w.groups[id]
	if g == nil || g.RegionID != c.region {
		e := fromWire(errDeleteGroupNotFound)
		e.Message += " (" + id + ")"
		return nil, e
	}
	switch {
	case g.ServiceManaged:
		return nil, errManaged(id)
	case g.DeletionProtection:
		return nil, fromWire(errDeletionProtection)
	case len(g.members) > 0:
		return nil, newErr(http.StatusForbidden, "DependencyViolation", "%s", msgDependencyInstances)
	case len(g.eniMembers) > 0:
		return nil, newErr(http.StatusForbidden, "DependencyViolation", "%s", msgDependencyENIs)
	case len(s.w.referrers(id)) > 0:
		return nil, newErr(http.StatusForbidden, "DependencyViolation", "%s", msgDependencyReferenced)
	}
	s.w.recordDelete(g, c.now)
	s.w.removeGroup(g)
	return okResponse(c), nil
}

// --- membership ---

// target is what Join/Leave act on: an instance or a secondary ENI (a
// primary ENI stands for its instance).
type target struct {
	in *instance
	ni *eni
}

func (s *Service) membershipTarget(c *call) (target, *apiError) {
	instID, eniID := c.p.str("InstanceId"), c.p.str("NetworkInterfaceId")
	switch {
	case instID != "" && eniID != "":
		return target{}, newErr(http.StatusForbidden, "InvalidParam.EniIdAndInstanceId.Conflict",
			"InstanceId and NetworkInterfaceId cannot both be specified.")
	case instID != "":
		in, e := s.lookupInstance(c, instID)
		return target{in: in}, e
	case eniID != "":
		ni, e := s.lookupENI(c, eniID)
		if e != nil {
			return target{}, e
		}
		if ni.Type == eniPrimary {
			return target{in: s.w.instances[ni.InstanceID]}, nil
		}
		return target{ni: ni}, nil
	}
	return target{}, errMissing("InstanceId")
}

// checkMutableStatus enforces "Running or Stopped" for group changes.
func checkMutableStatus(in *instance) *apiError {
	switch in.Status {
	case statusRunning, statusStopped:
		return nil
	case statusPending:
		return fromWire(errInstanceBeingCreated)
	}
	return errIncorrectStatus(in.Status)
}

func (s *Service) joinSecurityGroup(c *call) (any, *apiError) {
	g, e := s.lookupGroup(c, c.p.str("SecurityGroupId"))
	if e != nil {
		return nil, e
	}
	t, e := s.membershipTarget(c)
	if e != nil {
		return nil, e
	}
	if g.ServiceManaged {
		return nil, errManaged(g.ID)
	}
	count := len(g.members) + len(g.eniMembers)
	if t.ni != nil {
		ni := t.ni
		switch {
		case contains(ni.Groups, g.ID):
			return nil, newErr(http.StatusForbidden, "InvalidInstanceId.AlreadyExists",
				"The specified network interface already exists in the specified security group.")
		case g.VpcID != ni.VpcID:
			return nil, newErr(http.StatusForbidden, "InvalidOperation.VpcMismatch",
				"The specified network interface and security group are not in the same VPC.")
		case len(ni.Groups) >= s.eniGroupLimit(ni):
			return nil, errGroupLimit()
		case s.mixesTypes(ni.Groups, g):
			return nil, errMultiGroupType()
		case count >= s.groupCapacity(g):
			return nil, errGroupFull()
		}
		ni.Groups = append(ni.Groups, g.ID)
		g.eniMembers.add(ni.ID)
		return okResponse(c), nil
	}
	in := t.in
	if e := checkMutableStatus(in); e != nil {
		return nil, e
	}
	switch {
	case contains(in.Groups, g.ID):
		return nil, newErr(http.StatusForbidden, "InvalidInstanceId.AlreadyExists",
			"The specified instance already exists in the specified security group.")
	case g.VpcID != in.VpcID:
		return nil, errVPCMismatch()
	case len(in.Groups) >= s.instanceGroupLimit(in):
		return nil, errGroupLimit()
	case s.mixesTypes(in.Groups, g):
		return nil, errMultiGroupType()
	case count >= s.groupCapacity(g):
		return nil, errGroupFull()
	}
	s.w.joinInstance(in, g)
	return okResponse(c), nil
}

func errMultiGroupType() *apiError {
	return newErr(http.StatusBadRequest, "InvalidOperation.MultiGroupType",
		"Basic and enterprise security groups cannot be mixed.")
}

func errGroupFull() *apiError {
	return newErr(http.StatusForbidden, "SecurityGroupInstanceLimitExceeded",
		"The maximum number of instances in a security group is exceeded.")
}

// mixesTypes reports whether adding g to groups would mix basic and enterprise groups.
func (s *Service) mixesTypes(groups []string, g *group) bool {
	for _, id := range groups {
		if o := s.w.groups[id]; o != nil && o.Type != g.Type {
			return true
		}
	}
	return false
}

func (s *Service) leaveSecurityGroup(c *call) (any, *apiError) {
	g, e := s.lookupGroup(c, c.p.str("SecurityGroupId"))
	if e != nil {
		return nil, e
	}
	t, e := s.membershipTarget(c)
	if e != nil {
		return nil, e
	}
	if g.ServiceManaged {
		return nil, errManaged(g.ID)
	}
	if t.ni != nil {
		ni := t.ni
		switch {
		case !contains(ni.Groups, g.ID):
			return nil, newErr(http.StatusForbidden, "InstanceNotInSecurityGroup", "The instance not in the group.")
		case len(ni.Groups) == 1:
			return nil, errLastGroup()
		}
		ni.Groups = without(ni.Groups, g.ID)
		g.eniMembers.remove(ni.ID)
		return okResponse(c), nil
	}
	in := t.in
	if e := checkMutableStatus(in); e != nil {
		return nil, e
	}
	switch {
	case !contains(in.Groups, g.ID):
		return nil, newErr(http.StatusForbidden, "InstanceNotInSecurityGroup", "The instance not in the group.")
	case len(in.Groups) == 1:
		return nil, errLastGroup()
	}
	s.w.leaveInstance(in, g)
	return okResponse(c), nil
}

func errLastGroup() *apiError {
	return newErr(http.StatusForbidden, "InstanceLastSecurityGroup",
		"The specified security group is the last security group for the instance.")
}
