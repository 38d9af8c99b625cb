package ecsemu

import (
	"net/http"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
)

func (s *Service) lookupENI(c *call, id string) (*eni, *apiError) {
	if id == "" {
		return nil, errMissing("NetworkInterfaceId")
	}
	if !validID(id, "eni-") {
		e := fromWire(errEniMalformed)
		e.Message += " (" + id + ")"
		return nil, e
	}
	ni := s.w.enis[id]
	if ni == nil || ni.RegionID != c.region {
		return nil, errEniNotFound(id)
	}
	return ni, nil
}

type privateIPSetOut struct {
	PrivateIPAddress string `json:"PrivateIpAddress"`
	Primary          bool   `json:"Primary"`
}

type eniOut struct {
	NetworkInterfaceID   string `json:"NetworkInterfaceId"`
	NetworkInterfaceName string `json:"NetworkInterfaceName"`
	Description          string `json:"Description"`
	Type                 string `json:"Type"`
	Status               string `json:"Status"`
	InstanceID           string `json:"InstanceId"`
	VpcID                string `json:"VpcId"`
	VSwitchID            string `json:"VSwitchId"`
	ZoneID               string `json:"ZoneId"`
	PrivateIPAddress     string `json:"PrivateIpAddress"`
	MacAddress           string `json:"MacAddress"`
	CreationTime         string `json:"CreationTime"`
	ServiceManaged       bool   `json:"ServiceManaged"`
	SecurityGroupIDs     struct {
		SecurityGroupID []string `json:"SecurityGroupId"`
	} `json:"SecurityGroupIds"`
	PrivateIPSets struct {
		PrivateIPSet []privateIPSetOut `json:"PrivateIpSet"`
	} `json:"PrivateIpSets"`
	Attachment struct {
		InstanceID string `json:"InstanceId"`
	} `json:"Attachment"`
	Tags tagsOut `json:"Tags"`
}

func (s *Service) eniJSON(ni *eni) eniOut {
	o := eniOut{
		NetworkInterfaceID: ni.ID, NetworkInterfaceName: ni.Name, Description: ni.Description, Type: ni.Type,
		Status: ni.Status, InstanceID: ni.InstanceID, VpcID: ni.VpcID, VSwitchID: ni.VSwitchID, ZoneID: ni.ZoneID,
		PrivateIPAddress: ni.PrivateIP, MacAddress: ni.MAC, CreationTime: fmtTime(ni.CreatedAt), Tags: tagsJSON(ni.Tags),
	}
	o.SecurityGroupIDs.SecurityGroupID = append([]string{}, s.w.eniGroups(ni)...)
	o.PrivateIPSets.PrivateIPSet = []privateIPSetOut{{PrivateIPAddress: ni.PrivateIP, Primary: true}}
	o.Attachment.InstanceID = ni.InstanceID
	return o
}

type describeENIsOut struct {
	RequestID            string `json:"RequestId"`
	TotalCount           int    `json:"TotalCount"`
	PageNumber           int    `json:"PageNumber"`
	PageSize             int    `json:"PageSize"`
	NextToken            string `json:"NextToken"`
	NetworkInterfaceSets struct {
		NetworkInterfaceSet []eniOut `json:"NetworkInterfaceSet"`
	} `json:"NetworkInterfaceSets"`
}

var eniPaging = pageLimits{maxResultsMin: 1, maxResultsMax: 500, maxResultsDef: 10, pageSizeMax: 100, pageSizeDef: 10}

// describeNetworkInterfaces filters by SecurityGroupId over primary and
// secondary ENIs alike (§2.5 leaves it open; clients must not depend on it).
func (s *Service) describeNetworkInterfaces(c *call) (any, *apiError) {
	p := c.p
	pg, e := p.paging(eniPaging)
	if e != nil {
		return nil, e
	}
	tags, e := p.tagFilters("Tag")
	if e != nil {
		return nil, e
	}
	sgID, vpcID, vswID, instID := p.str("SecurityGroupId"), p.str("VpcId"), p.str("VSwitchId"), p.str("InstanceId")
	typ, status, name := p.str("Type"), p.str("Status"), p.str("NetworkInterfaceName")
	if typ != "" && typ != eniPrimary && typ != eniSecondary {
		return nil, errInvalidParam("Type", typ)
	}
	ids := p.indexed("NetworkInterfaceId")
	var cands []string
	switch {
	case len(ids) > 0:
		cands = sortedUnique(ids)
	case sgID != "":
		if g := s.w.groups[sgID]; g != nil {
			set := append([]string{}, g.eniMembers...)
			for _, iid := range g.members {
				if in := s.w.instances[iid]; in != nil && in.PrimaryENI != "" {
					set = append(set, in.PrimaryENI)
				}
			}
			cands = sortedUnique(set)
		}
	case instID != "":
		if in := s.w.instances[instID]; in != nil {
			set := append([]string{}, in.ENIs...)
			if in.PrimaryENI != "" {
				set = append(set, in.PrimaryENI)
			}
			cands = sortedUnique(set)
		}
	case len(tags) > 0:
		cands = s.w.tagged(c.region, resENI, tags[0])
	default:
		cands = s.w.regions[c.region].enis
	}
	cands = s.w.narrowByTags(cands, c.region, resENI, tags)
	match := func(id string) bool {
		ni := s.w.enis[id]
		switch {
		case ni == nil || ni.RegionID != c.region:
			return false
		case vpcID != "" && ni.VpcID != vpcID, vswID != "" && ni.VSwitchID != vswID:
			return false
		case instID != "" && ni.InstanceID != instID, typ != "" && ni.Type != typ:
			return false
		case status != "" && ni.Status != status, name != "" && ni.Name != name:
			return false
		case sgID != "" && !contains(s.w.eniGroups(ni), sgID):
			return false
		}
		return matchTags(ni.Tags, tags)
	}
	res := pageIDs(cands, pg, match)
	out := &describeENIsOut{RequestID: c.requestID, TotalCount: res.total, PageNumber: res.pageNumber,
		PageSize: res.pageSize, NextToken: res.next}
	out.NetworkInterfaceSets.NetworkInterfaceSet = make([]eniOut, len(res.ids))
	for i, id := range res.ids {
		out.NetworkInterfaceSets.NetworkInterfaceSet[i] = s.eniJSON(s.w.enis[id])
	}
	return out, nil
}

type createENIOut struct {
	RequestID string `json:"RequestId"`
	eniOut
}

func (s *Service) createNetworkInterface(c *call) (any, *apiError) {
	p := c.p
	if tok := p.str("ClientToken"); tok != "" {
		if ids, ok := s.w.clientTokens["CreateNetworkInterface|"+tok]; ok {
			if ni := s.w.enis[ids[0]]; ni != nil {
				return createENIOut{RequestID: c.requestID, eniOut: s.eniJSON(ni)}, nil
			}
		}
	}
	vswID := p.str("VSwitchId")
	if vswID == "" {
		return nil, errMissing("VSwitchId")
	}
	vsw := s.w.vswitches[vswID]
	if vsw == nil || s.w.vpcs[vsw.VpcID].RegionID != c.region {
		return nil, errVSwitchNotFound(vswID)
	}
	groups := p.indexed("SecurityGroupIds")
	if one := p.str("SecurityGroupId"); one != "" {
		if len(groups) > 0 {
			return nil, newErr(http.StatusBadRequest, "InvalidParameter.Conflict",
				"SecurityGroupId and SecurityGroupIds cannot be specified at the same time.")
		}
		groups = []string{one}
	}
	if len(groups) == 0 {
		return nil, errMissing("SecurityGroupId")
	}
	if len(groups) > s.opts.GroupsPerInstance {
		return nil, errGroupLimit()
	}
	if len(sortedUnique(groups)) != len(groups) {
		return nil, errInvalidParam("SecurityGroupIds", "duplicates")
	}
	for _, id := range groups {
		g, e := s.lookupGroup(c, id)
		if e != nil {
			return nil, e
		}
		if g.VpcID != vsw.VpcID {
			return nil, newErr(http.StatusForbidden, "InvalidOperation.VpcMismatch",
				"The specified security group and VSwitch are not in the same VPC.")
		}
	}
	tags, e := p.tagsToSet("Tag", false)
	if e != nil {
		return nil, e
	}
	ip, ok := vsw.allocIP()
	if !ok {
		return nil, newErr(http.StatusForbidden, "InvalidVSwitchId.IpNotEnough",
			"The specified VSwitch has not enough IP addresses.")
	}
	if want := p.str("PrimaryIpAddress"); want != "" {
		ip = want
	}
	ni := &eni{
		ID: core.NewResourceID("eni-", core.RegionCode(c.region)), Name: p.str("NetworkInterfaceName"),
		Description: p.str("Description"), RegionID: c.region, ZoneID: vsw.ZoneID, VpcID: vsw.VpcID,
		VSwitchID: vsw.ID, Type: eniSecondary, Status: eniAvailable, PrivateIP: ip, MAC: s.w.mac(),
		Groups: append([]string{}, groups...), Tags: tags, CreatedAt: c.now,
	}
	s.w.addENI(ni)
	if tok := p.str("ClientToken"); tok != "" {
		s.w.clientTokens["CreateNetworkInterface|"+tok] = []string{ni.ID}
	}
	return createENIOut{RequestID: c.requestID, eniOut: s.eniJSON(ni)}, nil
}

func (s *Service) attachNetworkInterface(c *call) (any, *apiError) {
	ni, e := s.lookupENI(c, c.p.str("NetworkInterfaceId"))
	if e != nil {
		return nil, e
	}
	in, e := s.lookupInstance(c, c.p.str("InstanceId"))
	if e != nil {
		return nil, e
	}
	switch {
	case ni.Type != eniSecondary || ni.Status != eniAvailable:
		return nil, fromWire(errEniState)
	case in.NetworkType != netVPC || in.VpcID != ni.VpcID:
		return nil, newErr(http.StatusForbidden, "InvalidOperation.VpcMismatch",
			"The specified network interface and instance are not in the same VPC.")
	case in.ZoneID != ni.ZoneID:
		return nil, newErr(http.StatusForbidden, "InvalidOperation.ZoneMismatch",
			"The specified network interface and instance are not in the same zone.")
	case in.Status != statusRunning && in.Status != statusStopped:
		return nil, errIncorrectStatus(in.Status)
	}
	ni.Status, ni.InstanceID = eniInUse, in.ID
	in.ENIs.add(ni.ID)
	return okResponse(c), nil
}

func (s *Service) detachNetworkInterface(c *call) (any, *apiError) {
	ni, e := s.lookupENI(c, c.p.str("NetworkInterfaceId"))
	if e != nil {
		return nil, e
	}
	in, e := s.lookupInstance(c, c.p.str("InstanceId"))
	if e != nil {
		return nil, e
	}
	if ni.Type != eniSecondary || ni.InstanceID != in.ID {
		return nil, fromWire(errEniState)
	}
	ni.Status, ni.InstanceID = eniAvailable, ""
	in.ENIs.remove(ni.ID)
	return okResponse(c), nil
}

func (s *Service) deleteNetworkInterface(c *call) (any, *apiError) {
	ni, e := s.lookupENI(c, c.p.str("NetworkInterfaceId"))
	if e != nil {
		return nil, e
	}
	if ni.Type != eniSecondary || ni.Status != eniAvailable {
		return nil, fromWire(errEniState)
	}
	s.w.removeENI(ni)
	return okResponse(c), nil
}
