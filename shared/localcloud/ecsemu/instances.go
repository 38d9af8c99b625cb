package ecsemu

import (
	"fmt"
	"net/http"
	"path"
	"strconv"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsnames"
)

type regionOut struct {
	RegionID       string `json:"RegionId"`
	LocalName      string `json:"LocalName"`
	RegionEndpoint string `json:"RegionEndpoint"`
	Status         string `json:"Status"`
}

type describeRegionsOut struct {
	RequestID string `json:"RequestId"`
	Regions   struct {
		Region []regionOut `json:"Region"`
	} `json:"Regions"`
}

func (s *Service) describeRegions(c *call) (any, *apiError) {
	out := &describeRegionsOut{RequestID: c.requestID}
	out.Regions.Region = make([]regionOut, 0, len(s.w.regionIDs))
	for _, id := range s.w.regionIDs {
		rg := s.w.regions[id]
		out.Regions.Region = append(out.Regions.Region, regionOut{RegionID: id, LocalName: rg.LocalName,
			RegionEndpoint: hostID(id), Status: "available"})
	}
	return out, nil
}

func (s *Service) lookupInstance(c *call, id string) (*instance, *apiError) {
	if id == "" {
		return nil, errMissing("InstanceId")
	}
	if !validID(id, "i-") {
		return nil, errInstanceMalformed(id)
	}
	in := s.w.instances[id]
	if in == nil || in.RegionID != c.region {
		return nil, errInstanceNotFound(id)
	}
	return in, nil
}

// --- DescribeInstances ---

type ipList struct {
	IPAddress []string `json:"IpAddress"`
}

type instanceNICOut struct {
	NetworkInterfaceID string `json:"NetworkInterfaceId"`
	Type               string `json:"Type"`
	PrimaryIPAddress   string `json:"PrimaryIpAddress"`
	MacAddress         string `json:"MacAddress"`
}

type instanceOut struct {
	InstanceID          string `json:"InstanceId"`
	InstanceName        string `json:"InstanceName"`
	Description         string `json:"Description"`
	RegionID            string `json:"RegionId"`
	ZoneID              string `json:"ZoneId"`
	Status              string `json:"Status"`
	InstanceNetworkType string `json:"InstanceNetworkType"`
	ImageID             string `json:"ImageId"`
	InstanceType        string `json:"InstanceType"`
	HostName            string `json:"HostName"`
	CreationTime        string `json:"CreationTime"`
	InstanceChargeType  string `json:"InstanceChargeType"`
	VpcAttributes       struct {
		VpcID            string `json:"VpcId"`
		VSwitchID        string `json:"VSwitchId"`
		PrivateIPAddress ipList `json:"PrivateIpAddress"`
		NatIPAddress     string `json:"NatIpAddress"`
	} `json:"VpcAttributes"`
	InnerIPAddress   ipList `json:"InnerIpAddress"`
	PublicIPAddress  ipList `json:"PublicIpAddress"`
	SecurityGroupIDs struct {
		SecurityGroupID []string `json:"SecurityGroupId"`
	} `json:"SecurityGroupIds"`
	Tags              tagsOut `json:"Tags"`
	NetworkInterfaces struct {
		NetworkInterface []instanceNICOut `json:"NetworkInterface"`
	} `json:"NetworkInterfaces"`
	OperationLocks struct {
		LockReason []struct{} `json:"LockReason"`
	} `json:"OperationLocks"`
}

type describeInstancesOut struct {
	RequestID  string `json:"RequestId"`
	TotalCount int    `json:"TotalCount"`
	PageNumber int    `json:"PageNumber"`
	PageSize   int    `json:"PageSize"`
	NextToken  string `json:"NextToken"`
	Instances  struct {
		Instance []instanceOut `json:"Instance"`
	} `json:"Instances"`
}

var instancePaging = pageLimits{maxResultsMin: 1, maxResultsMax: 100, maxResultsDef: 10, pageSizeMax: 100, pageSizeDef: 10}

var instanceStatuses = map[string]bool{statusPending: true, statusStarting: true, statusRunning: true,
	statusStopping: true, statusStopped: true}

func (s *Service) instanceJSON(in *instance) instanceOut {
	o := instanceOut{
		InstanceID: in.ID, InstanceName: in.Name, Description: in.Description, RegionID: in.RegionID,
		ZoneID: in.ZoneID, Status: in.Status, InstanceNetworkType: in.NetworkType, ImageID: in.ImageID,
		InstanceType: in.InstanceType, HostName: in.ID, CreationTime: in.CreatedAt.UTC().Format(timeMinutes),
		InstanceChargeType: "PostPaid",
	}
	o.VpcAttributes.VpcID, o.VpcAttributes.VSwitchID = in.VpcID, in.VSwitchID
	o.VpcAttributes.PrivateIPAddress.IPAddress = []string{}
	o.InnerIPAddress.IPAddress = []string{}
	o.PublicIPAddress.IPAddress = []string{}
	if in.NetworkType == netVPC {
		o.VpcAttributes.PrivateIPAddress.IPAddress = []string{in.PrivateIP}
	} else {
		o.InnerIPAddress.IPAddress = []string{in.PrivateIP}
	}
	o.SecurityGroupIDs.SecurityGroupID = append([]string{}, in.Groups...)
	o.Tags = tagsJSON(in.Tags)
	o.NetworkInterfaces.NetworkInterface = []instanceNICOut{}
	if in.PrimaryENI != "" {
		o.NetworkInterfaces.NetworkInterface = append(o.NetworkInterfaces.NetworkInterface, instanceNICOut{
			NetworkInterfaceID: in.PrimaryENI, Type: eniPrimary, PrimaryIPAddress: in.PrivateIP, MacAddress: in.MAC})
	}
	for _, id := range in.ENIs {
		if e := s.w.enis[id]; e != nil {
			o.NetworkInterfaces.NetworkInterface = append(o.NetworkInterfaces.NetworkInterface, instanceNICOut{
				NetworkInterfaceID: e.ID, Type: eniSecondary, PrimaryIPAddress: e.PrivateIP, MacAddress: e.MAC})
		}
	}
	o.OperationLocks.LockReason = []struct{}{}
	return o
}

func (s *Service) describeInstances(c *call) (any, *apiError) {
	p := c.p
	pg, e := p.paging(instancePaging)
	if e != nil {
		return nil, e
	}
	ids, idsGiven, e := p.jsonIDs("InstanceIds", 100)
	if e != nil {
		return nil, e
	}
	tags, e := p.tagFilters("Tag")
	if e != nil {
		return nil, e
	}
	netType, status := p.str("InstanceNetworkType"), p.str("Status")
	if netType != "" && netType != netVPC && netType != netClassic {
		return nil, newErr(http.StatusNotFound, "InvalidNetworkType.NotFound",
			"The specified InstanceNetworkType is not found: %q.", netType)
	}
	if status != "" && !instanceStatuses[status] {
		return nil, newErr(http.StatusNotFound, "InvalidStatus.NotFound", "The specified Status is not found: %q.", status)
	}
	if dry, e := p.boolean("DryRun", false); e != nil {
		return nil, e
	} else if dry {
		return nil, errDryRun()
	}
	vpcID, vswID, zone, sgID := p.str("VpcId"), p.str("VSwitchId"), p.str("ZoneId"), p.str("SecurityGroupId")
	name, image, itype := p.str("InstanceName"), p.str("ImageId"), p.str("InstanceType")
	var cands []string
	switch {
	case idsGiven:
		cands = sortedUnique(ids)
	case sgID != "":
		if g := s.w.groups[sgID]; g != nil {
			cands = g.members
		}
	case vpcID != "":
		if v := s.w.vpcs[vpcID]; v != nil {
			cands = v.instances
		}
	case len(tags) > 0:
		cands = s.w.tagged(c.region, resInstance, tags[0])
	default:
		cands = s.w.regions[c.region].instances
	}
	cands = s.w.narrowByTags(cands, c.region, resInstance, tags)
	match := func(id string) bool {
		in := s.w.instances[id]
		switch {
		case in == nil || in.RegionID != c.region:
			return false
		case vpcID != "" && in.VpcID != vpcID, vswID != "" && in.VSwitchID != vswID, zone != "" && in.ZoneID != zone:
			return false
		case sgID != "" && !contains(in.Groups, sgID):
			return false
		case netType != "" && in.NetworkType != netType, status != "" && in.Status != status:
			return false
		case image != "" && in.ImageID != image, itype != "" && in.InstanceType != itype:
			return false
		case name != "":
			if ok, _ := path.Match(name, in.Name); !ok {
				return false
			}
		}
		return matchTags(in.Tags, tags)
	}
	res := pageIDs(cands, pg, match)
	out := &describeInstancesOut{RequestID: c.requestID, TotalCount: res.total, PageNumber: res.pageNumber,
		PageSize: res.pageSize, NextToken: res.next}
	out.Instances.Instance = make([]instanceOut, len(res.ids))
	for i, id := range res.ids {
		out.Instances.Instance[i] = s.instanceJSON(s.w.instances[id])
	}
	return out, nil
}

// --- RunInstances ---

type runInstancesOut struct {
	RequestID      string  `json:"RequestId"`
	OrderID        string  `json:"OrderId"`
	TradePrice     float64 `json:"TradePrice"`
	InstanceIDSets struct {
		InstanceIDSet []string `json:"InstanceIdSet"`
	} `json:"InstanceIdSets"`
}

// launchSpec is what RunInstances needs, from parameters or a launch template.
type launchSpec struct {
	image, itype, name, desc, vswitch, zone string
	groups                                  []string
	tags                                    tagList
}

func (s *Service) runInstances(c *call) (any, *apiError) {
	p := c.p
	if tok := p.str("ClientToken"); tok != "" {
		if ids, ok := s.w.clientTokens["RunInstances|"+tok]; ok {
			out := &runInstancesOut{RequestID: c.requestID}
			out.InstanceIDSets.InstanceIDSet = append([]string{}, ids...)
			return out, nil
		}
	}
	spec := launchSpec{image: p.str("ImageId"), itype: p.str("InstanceType"), name: p.str("InstanceName"),
		desc: p.str("Description"), vswitch: p.str("VSwitchId"), zone: p.str("ZoneId")}
	one, many := p.str("SecurityGroupId"), p.indexed("SecurityGroupIds")
	if one != "" && len(many) > 0 {
		return nil, newErr(http.StatusBadRequest, "InvalidParameter.Conflict",
			"SecurityGroupId and SecurityGroupIds cannot be specified at the same time.")
	}
	if one != "" {
		spec.groups = []string{one}
	} else {
		spec.groups = many
	}
	tags, e := p.tagsToSet("Tag", false)
	if e != nil {
		return nil, e
	}
	spec.tags = tags
	if e := s.applyTemplate(c, &spec); e != nil {
		return nil, e
	}
	amount, e := p.integer("Amount", 1)
	if e != nil {
		return nil, e
	}
	if amount < 1 || amount > 100 {
		return nil, newErr(http.StatusBadRequest, "InvalidParameter.Amount",
			"The specified parameter Amount must be between 1 and 100, got %d.", amount)
	}
	unique, e := p.boolean("UniqueSuffix", false)
	if e != nil {
		return nil, e
	}
	switch {
	case spec.image == "":
		return nil, errMissing("ImageId")
	case spec.itype == "":
		return nil, errMissing("InstanceType")
	case len(spec.groups) == 0:
		return nil, errMissing("SecurityGroupId")
	}
	rg := s.w.regions[c.region]
	var vsw *vswitch
	if spec.vswitch != "" {
		vsw = s.w.vswitches[spec.vswitch]
		if vsw == nil || s.w.vpcs[vsw.VpcID].RegionID != c.region {
			return nil, errVSwitchNotFound(spec.vswitch)
		}
		if spec.zone != "" && spec.zone != vsw.ZoneID {
			return nil, newErr(http.StatusBadRequest, "InvalidVSwitchId.ZoneMismatch",
				"The specified VSwitch is not in the specified zone.")
		}
		spec.zone = vsw.ZoneID
	} else if !rg.Classic {
		return nil, fromWire(errRunNeedsVSwitch)
	} else if spec.zone == "" && len(rg.Zones) > 0 {
		spec.zone = rg.Zones[0]
	}
	vpcID := ""
	if vsw != nil {
		vpcID = vsw.VpcID
	}
	if len(spec.groups) > s.opts.GroupsPerInstance {
		return nil, errGroupLimit()
	}
	seen := map[string]bool{}
	var first *group
	for _, id := range spec.groups {
		g, e := s.lookupGroup(c, id)
		if e != nil {
			return nil, e
		}
		if seen[id] {
			return nil, newErr(http.StatusBadRequest, "InvalidParameter.SecurityGroupIds",
				"The specified SecurityGroupIds contain duplicates.")
		}
		seen[id] = true
		if g.VpcID != vpcID {
			return nil, fromWire(errRunGroupMismatch)
		}
		if first != nil && first.Type != g.Type {
			return nil, errMultiGroupType()
		}
		first = g
		if len(g.members)+len(g.eniMembers)+amount > s.groupCapacity(g) {
			return nil, errGroupFull()
		}
	}
	if dry, e := p.boolean("DryRun", false); e != nil {
		return nil, e
	} else if dry {
		return nil, errDryRun()
	}
	out := &runInstancesOut{RequestID: c.requestID}
	out.InstanceIDSets.InstanceIDSet = make([]string, 0, amount)
	code := core.RegionCode(c.region)
	for i := 0; i < amount; i++ {
		in := &instance{
			ID: core.NewResourceID("i-", code), RegionID: c.region, ZoneID: spec.zone, VpcID: vpcID,
			ImageID: spec.image, InstanceType: spec.itype, Description: spec.desc,
			CreatedAt: c.now, Groups: append([]string{}, spec.groups...), Tags: append(tagList{}, spec.tags...),
			MAC: s.w.mac(),
		}
		in.Name = spec.name
		if in.Name == "" {
			in.Name = in.ID
		} else if unique && amount > 1 {
			in.Name = fmt.Sprintf("%s%03d", spec.name, i+1)
		}
		if vsw != nil {
			in.NetworkType, in.VSwitchID = netVPC, vsw.ID
			ip, ok := vsw.allocIP()
			if !ok {
				return nil, newErr(http.StatusForbidden, "InvalidVSwitchId.IpNotEnough",
					"The specified VSwitch has not enough IP addresses.")
			}
			in.PrivateIP = ip
			in.PrimaryENI = core.NewResourceID("eni-", code)
		} else {
			in.NetworkType = netClassic
			in.PrivateIP = s.w.classicIP()
		}
		s.w.addInstance(in)
		if in.PrimaryENI != "" {
			s.w.addENI(&eni{ID: in.PrimaryENI, RegionID: in.RegionID, ZoneID: in.ZoneID, VpcID: in.VpcID,
				VSwitchID: in.VSwitchID, Type: eniPrimary, Status: eniInUse, InstanceID: in.ID,
				PrivateIP: in.PrivateIP, MAC: in.MAC, CreatedAt: c.now})
		}
		in.Status = statusPending
		pending := s.opts.PendingDuration
		if s.opts.PendingFor != nil {
			pending = max(0, s.opts.PendingFor())
		}
		s.setStatus(in, statusPending, c.now.Add(pending), c.now, nil)
		c.events = append(c.events, s.stateEvent(in, stateCreated, c.now))
		out.InstanceIDSets.InstanceIDSet = append(out.InstanceIDSets.InstanceIDSet, in.ID)
	}
	if tok := p.str("ClientToken"); tok != "" {
		s.w.clientTokens["RunInstances|"+tok] = append([]string{}, out.InstanceIDSets.InstanceIDSet...)
	}
	c.events = append(c.events, s.trailEvent(c, out))
	return out, nil
}

// applyTemplate fills the unset parts of spec from LaunchTemplateId/Name.
func (s *Service) applyTemplate(c *call, spec *launchSpec) *apiError {
	id, name := c.p.str("LaunchTemplateId"), c.p.str("LaunchTemplateName")
	if id == "" && name == "" {
		return nil
	}
	t, e := s.lookupTemplate(c, id, name)
	if e != nil {
		return e
	}
	num := t.DefaultVersion
	if v := c.p.str("LaunchTemplateVersion"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return errInvalidParam("LaunchTemplateVersion", v)
		}
		num = n
	}
	var ver *templateVersion
	for _, v := range t.Versions {
		if v.Number == num {
			ver = v
		}
	}
	if ver == nil {
		return fromWire(errTemplateVersionNotFound)
	}
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	fill(&spec.image, ver.ImageID)
	fill(&spec.itype, ver.InstanceType)
	fill(&spec.name, ver.InstanceName)
	fill(&spec.vswitch, ver.VSwitchID)
	fill(&spec.zone, ver.ZoneID)
	if len(spec.groups) == 0 {
		if ver.SecurityGroupID != "" {
			spec.groups = []string{ver.SecurityGroupID}
		} else {
			spec.groups = append([]string{}, ver.SecurityGroupIDs...)
		}
	}
	if len(spec.tags) == 0 {
		spec.tags = append(tagList{}, ver.Tags...)
	}
	return nil
}

// --- delete, stop, start ---

func (s *Service) deleteOne(c *call, id string, force bool) *apiError {
	in, e := s.lookupInstance(c, id)
	if e != nil {
		return e
	}
	// Only Stopped instances can be released without Force (Force releases
	// any status, Running included).
	if in.Status != statusStopped && !force {
		return errIncorrectStatus(in.Status)
	}
	return nil
}

func (s *Service) removeInstance(c *call, in *instance) {
	s.w.removeInstance(in)
	c.events = append(c.events, s.stateEvent(in, stateDeleted, c.now))
}

func (s *Service) deleteInstance(c *call) (any, *apiError) {
	force, e := c.p.boolean("Force", false)
	if e != nil {
		return nil, e
	}
	id := c.p.str("InstanceId")
	if e := s.deleteOne(c, id, force); e != nil {
		return nil, e
	}
	if dry, e := c.p.boolean("DryRun", false); e != nil {
		return nil, e
	} else if dry {
		return nil, errDryRun()
	}
	s.removeInstance(c, s.w.instances[id])
	return okResponse(c), nil
}

type deleteInstancesOut struct {
	RequestID   string `json:"RequestId"`
	TaskGroupID string `json:"TaskGroupId"`
}

func (s *Service) deleteInstances(c *call) (any, *apiError) {
	force, e := c.p.boolean("Force", false)
	if e != nil {
		return nil, e
	}
	ids := c.p.indexed("InstanceId")
	if len(ids) == 0 {
		return nil, errMissing("InstanceId")
	}
	if len(ids) > 100 {
		return nil, errInvalidParam("InstanceId", strconv.Itoa(len(ids))+" ids")
	}
	ids = sortedUnique(ids)
	for _, id := range ids {
		if e := s.deleteOne(c, id, force); e != nil {
			return nil, e
		}
	}
	if dry, e := c.p.boolean("DryRun", false); e != nil {
		return nil, e
	} else if dry {
		return nil, errDryRun()
	}
	for _, id := range ids {
		s.removeInstance(c, s.w.instances[id])
	}
	return deleteInstancesOut{RequestID: c.requestID, TaskGroupID: "t-" + c.requestID[:8]}, nil
}

func (s *Service) stopInstance(c *call) (any, *apiError) {
	in, e := s.lookupInstance(c, c.p.str("InstanceId"))
	if e != nil {
		return nil, e
	}
	if in.Status != statusRunning {
		return nil, errIncorrectStatus(in.Status)
	}
	if dry, e := c.p.boolean("DryRun", false); e != nil {
		return nil, e
	} else if dry {
		return nil, errDryRun()
	}
	s.setStatus(in, statusStopping, c.now.Add(s.opts.StoppingDuration), c.now, &c.events)
	return okResponse(c), nil
}

func (s *Service) startInstance(c *call) (any, *apiError) {
	in, e := s.lookupInstance(c, c.p.str("InstanceId"))
	if e != nil {
		return nil, e
	}
	if in.Status != statusStopped {
		return nil, errIncorrectStatus(in.Status)
	}
	if dry, e := c.p.boolean("DryRun", false); e != nil {
		return nil, e
	} else if dry {
		return nil, errDryRun()
	}
	s.setStatus(in, statusStarting, c.now.Add(s.opts.StartingDuration), c.now, &c.events)
	return okResponse(c), nil
}

// --- ModifyInstanceAttribute ---

func (s *Service) modifyInstanceAttribute(c *call) (any, *apiError) {
	p := c.p
	in, e := s.lookupInstance(c, p.str("InstanceId"))
	if e != nil {
		return nil, e
	}
	name, desc := p.str("InstanceName"), p.str("Description")
	if name != "" && !ecsnames.ValidGroupName(name) {
		return nil, newErr(http.StatusBadRequest, "InvalidInstanceName.Malformed",
			"The specified parameter InstanceName is not valid: %q.", name)
	}
	if desc != "" && !ecsnames.ValidDescription(desc) {
		return nil, newErr(http.StatusBadRequest, "InvalidDescription.Malformed",
			"The specified parameter Description is not valid.")
	}
	want := p.indexed("SecurityGroupIds")
	var join, leave []*group
	if len(want) > 0 {
		if in.NetworkType == netClassic {
			return nil, fromWire(errModifyClassic)
		}
		if e := checkMutableStatus(in); e != nil {
			return nil, e
		}
		if len(sortedUnique(want)) != len(want) {
			return nil, newErr(http.StatusBadRequest, "InvalidParameter",
				"The specified SecurityGroupIds contain duplicates.")
		}
		if len(want) > s.instanceGroupLimit(in) {
			return nil, fromWire(errModifyTooManyGroups)
		}
		var typ string
		for _, id := range want {
			g, e := s.lookupGroup(c, id)
			if e != nil {
				return nil, e
			}
			if g.VpcID != in.VpcID {
				return nil, errVPCMismatch()
			}
			if typ != "" && g.Type != typ {
				return nil, errMultiGroupType()
			}
			typ = g.Type
			if !contains(in.Groups, id) {
				if g.ServiceManaged {
					return nil, errManaged(id)
				}
				if len(g.members)+len(g.eniMembers) >= s.groupCapacity(g) {
					return nil, newErr(http.StatusForbidden, "OperationDenied",
						"The instance amount in the specified SecurityGroup reach its limit.")
				}
				join = append(join, g)
			}
		}
		for _, id := range in.Groups {
			if !contains(want, id) {
				g := s.w.groups[id]
				if g.ServiceManaged {
					return nil, errManaged(id)
				}
				leave = append(leave, g)
			}
		}
	}
	if name != "" {
		in.Name = name
	}
	if desc != "" {
		in.Description = desc
	}
	for _, g := range leave {
		g.members.remove(in.ID)
	}
	for _, g := range join {
		g.members.add(in.ID)
	}
	if len(want) > 0 {
		in.Groups = append([]string{}, want...)
	}
	return okResponse(c), nil
}
