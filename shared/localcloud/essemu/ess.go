package essemu

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
)

var essHandlers = map[string]handler{
	"DescribeScalingGroups":            (*Service).describeScalingGroups,
	"DescribeScalingConfigurations":    (*Service).describeScalingConfigurations,
	"DescribeEciScalingConfigurations": (*Service).describeEciScalingConfigurations,
}

// pageOf cuts one PageNumber/PageSize page out of n items.
func pageOf(c *call, n int) (from, to, number, size int, e *apiError) {
	size, e = c.p.intIn("PageSize", essPageSizeDef, 1, essPageSizeMax, errBadPageSize)
	if e != nil {
		return
	}
	number, e = c.p.intIn("PageNumber", 1, 1, 1<<30, errBadPageNumber)
	if e != nil {
		return
	}
	from = min((number-1)*size, n)
	to = min(from+size, n)
	return
}

type idList struct {
	SecurityGroupID []string `json:"SecurityGroupId"`
}

type vswList struct {
	VSwitchID []string `json:"VSwitchId"`
}

type groupOut struct {
	ScalingGroupID               string  `json:"ScalingGroupId"`
	ScalingGroupName             string  `json:"ScalingGroupName"`
	RegionID                     string  `json:"RegionId"`
	GroupType                    string  `json:"GroupType"`
	LifecycleState               string  `json:"LifecycleState"`
	ActiveScalingConfigurationID string  `json:"ActiveScalingConfigurationId"`
	LaunchTemplateID             string  `json:"LaunchTemplateId,omitempty"`
	LaunchTemplateVersion        string  `json:"LaunchTemplateVersion,omitempty"`
	MinSize                      int     `json:"MinSize"`
	MaxSize                      int     `json:"MaxSize"`
	TotalInstanceCount           int     `json:"TotalInstanceCount"`
	ActiveCapacity               int     `json:"ActiveCapacity"`
	TotalCapacity                int     `json:"TotalCapacity"`
	VpcID                        string  `json:"VpcId"`
	VSwitchID                    string  `json:"VSwitchId"`
	VSwitchIDs                   vswList `json:"VSwitchIds"`
	CreationTime                 string  `json:"CreationTime"`
}

type describeGroupsOut struct {
	RequestID     string `json:"RequestId"`
	PageNumber    int    `json:"PageNumber"`
	PageSize      int    `json:"PageSize"`
	TotalCount    int    `json:"TotalCount"`
	ScalingGroups struct {
		ScalingGroup []groupOut `json:"ScalingGroup"`
	} `json:"ScalingGroups"`
}

func (s *Service) activeConfig(groupID string) string {
	for _, id := range s.st.cfgOrder {
		if c := s.st.configs[id]; c.ScalingGroupID == groupID && c.Active {
			return id
		}
	}
	return ""
}

func (s *Service) describeScalingGroups(c *call) (any, *apiError) {
	ids := c.p.indexed("ScalingGroupId")
	names := c.p.indexed("ScalingGroupName")
	if n := c.p.str("ScalingGroupName"); n != "" {
		names = append(names, n)
	}
	if len(ids) > 20 || len(names) > 20 {
		return nil, fromWire(errTooManyIDs)
	}
	groupType := c.p.str("GroupType")
	var match []*SeedScalingGroup
	for _, id := range s.st.groupOrder {
		g := s.st.groups[id]
		switch {
		case g.RegionID != c.region:
		case len(ids) > 0 && !contains(ids, g.ID):
		case len(names) > 0 && !contains(names, g.Name):
		case groupType != "" && groupType != g.GroupType:
		default:
			match = append(match, g)
		}
	}
	from, to, number, size, e := pageOf(c, len(match))
	if e != nil {
		return nil, e
	}
	out := &describeGroupsOut{RequestID: c.requestID, PageNumber: number, PageSize: size, TotalCount: len(match)}
	out.ScalingGroups.ScalingGroup = []groupOut{}
	for _, g := range match[from:to] {
		o := groupOut{ScalingGroupID: g.ID, ScalingGroupName: g.Name, RegionID: g.RegionID, GroupType: g.GroupType,
			LifecycleState: g.LifecycleState, ActiveScalingConfigurationID: s.activeConfig(g.ID),
			LaunchTemplateID: g.LaunchTemplateID, LaunchTemplateVersion: g.LaunchTemplateVersion,
			MinSize: g.MinSize, MaxSize: g.MaxSize, TotalInstanceCount: g.InstanceCount, ActiveCapacity: g.InstanceCount,
			TotalCapacity: g.InstanceCount, VpcID: g.VpcID, CreationTime: fmtTime(g.CreateTime)}
		o.VSwitchIDs.VSwitchID = append([]string{}, g.VSwitchIDs...)
		if len(g.VSwitchIDs) > 0 {
			o.VSwitchID = g.VSwitchIDs[0]
		}
		out.ScalingGroups.ScalingGroup = append(out.ScalingGroups.ScalingGroup, o)
	}
	return out, nil
}

type nicOut struct {
	InstanceType     string `json:"InstanceType"`
	SecurityGroupIDs idList `json:"SecurityGroupIds"`
}

type configOut struct {
	ScalingConfigurationID   string `json:"ScalingConfigurationId"`
	ScalingConfigurationName string `json:"ScalingConfigurationName"`
	ScalingGroupID           string `json:"ScalingGroupId"`
	LifecycleState           string `json:"LifecycleState"`
	ImageID                  string `json:"ImageId"`
	InstanceType             string `json:"InstanceType"`
	SecurityGroupID          string `json:"SecurityGroupId"`
	SecurityGroupIDs         idList `json:"SecurityGroupIds"`
	NetworkInterfaces        struct {
		NetworkInterface []nicOut `json:"NetworkInterface"`
	} `json:"NetworkInterfaces"`
	CreationTime string `json:"CreationTime"`
}

type describeConfigsOut struct {
	RequestID             string `json:"RequestId"`
	PageNumber            int    `json:"PageNumber"`
	PageSize              int    `json:"PageSize"`
	TotalCount            int    `json:"TotalCount"`
	ScalingConfigurations struct {
		ScalingConfiguration []configOut `json:"ScalingConfiguration"`
	} `json:"ScalingConfigurations"`
}

// matchConfigs applies the filters of both Describe*ScalingConfigurations.
func (s *Service) matchConfigs(c *call, eci bool) ([]*SeedScalingConfiguration, *apiError) {
	group := c.p.str("ScalingGroupId")
	ids := c.p.indexed("ScalingConfigurationId")
	names := c.p.indexed("ScalingConfigurationName")
	if len(ids) > 10 || len(names) > 10 {
		return nil, fromWire(errTooManyIDs)
	}
	if group != "" && s.st.groups[group] == nil && unknownGroupFilterIsEmpty {
		return nil, nil
	}
	var match []*SeedScalingConfiguration
	for _, id := range s.st.cfgOrder {
		cf := s.st.configs[id]
		g := s.st.groups[cf.ScalingGroupID]
		switch {
		case g.RegionID != c.region, (g.GroupType == "ECI") != eci:
		case group != "" && cf.ScalingGroupID != group:
		case !regionWideConfigurations && group == "" && len(ids) == 0 && len(names) == 0:
		case len(ids) > 0 && !contains(ids, cf.ID):
		case len(names) > 0 && (!contains(names, cf.Name) || (namesMatchActiveOnly && !cf.Active)):
		default:
			match = append(match, cf)
		}
	}
	return match, nil
}

func lifecycle(cf *SeedScalingConfiguration) string {
	if cf.Active {
		return "Active"
	}
	return "Inactive"
}

func (s *Service) describeScalingConfigurations(c *call) (any, *apiError) {
	match, e := s.matchConfigs(c, false)
	if e != nil {
		return nil, e
	}
	from, to, number, size, e := pageOf(c, len(match))
	if e != nil {
		return nil, e
	}
	out := &describeConfigsOut{RequestID: c.requestID, PageNumber: number, PageSize: size, TotalCount: len(match)}
	out.ScalingConfigurations.ScalingConfiguration = []configOut{}
	for _, cf := range match[from:to] {
		o := configOut{ScalingConfigurationID: cf.ID, ScalingConfigurationName: cf.Name, ScalingGroupID: cf.ScalingGroupID,
			LifecycleState: lifecycle(cf), ImageID: cf.ImageID, InstanceType: cf.InstanceType,
			SecurityGroupID: cf.SecurityGroupID, CreationTime: fmtTime(cf.CreateTime)}
		o.SecurityGroupIDs.SecurityGroupID = append([]string{}, cf.SecurityGroupIDs...)
		o.NetworkInterfaces.NetworkInterface = []nicOut{}
		for _, n := range cf.NetworkInterface {
			o.NetworkInterfaces.NetworkInterface = append(o.NetworkInterfaces.NetworkInterface,
				nicOut{InstanceType: "Secondary", SecurityGroupIDs: idList{SecurityGroupID: append([]string{}, n...)}})
		}
		out.ScalingConfigurations.ScalingConfiguration = append(out.ScalingConfigurations.ScalingConfiguration, o)
	}
	return out, nil
}

type eciConfigOut struct {
	ScalingConfigurationID   string `json:"ScalingConfigurationId"`
	ScalingConfigurationName string `json:"ScalingConfigurationName"`
	ScalingGroupID           string `json:"ScalingGroupId"`
	LifecycleState           string `json:"LifecycleState"`
	ContainerGroupName       string `json:"ContainerGroupName"`
	SecurityGroupID          string `json:"SecurityGroupId"`
	CreationTime             string `json:"CreationTime"`
}

type describeEciConfigsOut struct {
	RequestID             string         `json:"RequestId"`
	PageNumber            int            `json:"PageNumber"`
	PageSize              int            `json:"PageSize"`
	TotalCount            int            `json:"TotalCount"`
	ScalingConfigurations []eciConfigOut `json:"ScalingConfigurations"`
}

func (s *Service) describeEciScalingConfigurations(c *call) (any, *apiError) {
	match, e := s.matchConfigs(c, true)
	if e != nil {
		return nil, e
	}
	from, to, number, size, e := pageOf(c, len(match))
	if e != nil {
		return nil, e
	}
	out := &describeEciConfigsOut{RequestID: c.requestID, PageNumber: number, PageSize: size, TotalCount: len(match),
		ScalingConfigurations: []eciConfigOut{}}
	for _, cf := range match[from:to] {
		out.ScalingConfigurations = append(out.ScalingConfigurations, eciConfigOut{ScalingConfigurationID: cf.ID,
			ScalingConfigurationName: cf.Name, ScalingGroupID: cf.ScalingGroupID, LifecycleState: lifecycle(cf),
			ContainerGroupName: cf.Name, SecurityGroupID: cf.SecurityGroupID, CreationTime: fmtTime(cf.CreateTime)})
	}
	return out, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// ECI

var eciHandlers = map[string]handler{
	"DescribeContainerGroups": (*Service).describeContainerGroups,
}

type containerOut struct {
	ContainerGroupID   string `json:"ContainerGroupId"`
	ContainerGroupName string `json:"ContainerGroupName"`
	RegionID           string `json:"RegionId"`
	Status             string `json:"Status"`
	SecurityGroupID    string `json:"SecurityGroupId"`
	VpcID              string `json:"VpcId"`
	VSwitchID          string `json:"VSwitchId"`
	CreationTime       string `json:"CreationTime"`
}

type describeContainersOut struct {
	RequestID       string         `json:"RequestId"`
	NextToken       string         `json:"NextToken"`
	TotalCount      int            `json:"TotalCount"`
	ContainerGroups []containerOut `json:"ContainerGroups"`
}

// Tokens are opaque to clients: base64 of the position to start from.
func eciToken(pos int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("pos:" + strconv.Itoa(pos)))
}

func eciPos(tok string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 5 || string(b[:4]) != "pos:" {
		return 0, false
	}
	n, err := strconv.Atoi(string(b[4:]))
	return n, err == nil && n >= 0
}

func (s *Service) describeContainerGroups(c *call) (any, *apiError) {
	limit, e := c.p.intIn("Limit", eciLimitDef, 1, eciLimitMax, errBadLimit)
	if e != nil {
		return nil, e
	}
	start := 0
	if tok := c.p.str("NextToken"); tok != "" {
		n, ok := eciPos(tok)
		if !ok {
			return nil, fromWire(errBadNextToken)
		}
		start = n
	}
	var ids []string
	if raw := c.p.str("ContainerGroupIds"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &ids); err != nil {
			return nil, newErr(400, "InvalidParameter", "ContainerGroupIds must be a JSON array of IDs.")
		}
	}
	name, status, vsw := c.p.str("ContainerGroupName"), c.p.str("Status"), c.p.str("VSwitchId")
	var match []*SeedContainerGroup
	for _, id := range s.st.cgOrder {
		cg := s.st.containers[id]
		switch {
		case cg.RegionID != c.region:
		case len(ids) > 0 && !contains(ids, cg.ID):
		case name != "" && cg.Name != name, status != "" && cg.Status != status, vsw != "" && cg.VSwitchID != vsw:
		case !keepFinalContainerGroups && eciFinalStates[cg.Status]:
		default:
			match = append(match, cg)
		}
	}
	start = min(start, len(match))
	end := min(start+limit, len(match))
	out := &describeContainersOut{RequestID: c.requestID, TotalCount: len(match), ContainerGroups: []containerOut{}}
	for _, cg := range match[start:end] {
		out.ContainerGroups = append(out.ContainerGroups, containerOut{ContainerGroupID: cg.ID, ContainerGroupName: cg.Name,
			RegionID: cg.RegionID, Status: cg.Status, SecurityGroupID: cg.SecurityGroupID, VpcID: cg.VpcID,
			VSwitchID: cg.VSwitchID, CreationTime: fmtTime(cg.CreateTime)})
	}
	if end < len(match) {
		out.NextToken = eciToken(end)
	}
	return out, nil
}
