package ecsemu

import "strconv"

// Launch templates come from the seed only (no CreateLaunchTemplate): they
// matter here because their versions name security groups.

var templatePaging = pageLimits{maxResultsMin: 1, maxResultsMax: 50, maxResultsDef: 10, pageSizeMax: 50, pageSizeDef: 10}

func (s *Service) lookupTemplate(c *call, id, name string) (*template, *apiError) {
	if id != "" {
		if t := s.w.templates[id]; t != nil && t.RegionID == c.region {
			return t, nil
		}
		return nil, fromWire(errTemplateNotFound)
	}
	for _, tid := range s.w.regions[c.region].templates {
		if t := s.w.templates[tid]; t.Name == name {
			return t, nil
		}
	}
	return nil, fromWire(errTemplateNotFound)
}

type templateOut struct {
	LaunchTemplateID     string  `json:"LaunchTemplateId"`
	LaunchTemplateName   string  `json:"LaunchTemplateName"`
	DefaultVersionNumber int64   `json:"DefaultVersionNumber"`
	LatestVersionNumber  int64   `json:"LatestVersionNumber"`
	CreateTime           string  `json:"CreateTime"`
	ModifiedTime         string  `json:"ModifiedTime"`
	CreatedBy            string  `json:"CreatedBy"`
	ResourceGroupID      string  `json:"ResourceGroupId"`
	Tags                 tagsOut `json:"Tags"`
}

type describeTemplatesOut struct {
	RequestID          string `json:"RequestId"`
	TotalCount         int    `json:"TotalCount"`
	PageNumber         int    `json:"PageNumber"`
	PageSize           int    `json:"PageSize"`
	LaunchTemplateSets struct {
		LaunchTemplateSet []templateOut `json:"LaunchTemplateSet"`
	} `json:"LaunchTemplateSets"`
}

func (s *Service) describeLaunchTemplates(c *call) (any, *apiError) {
	p := c.p
	if p.has("MaxResults") || p.has("NextToken") {
		delete(p, "MaxResults")
		delete(p, "NextToken")
	}
	pg, e := p.paging(templatePaging)
	if e != nil {
		return nil, e
	}
	ids, names := p.indexed("LaunchTemplateId"), p.indexed("LaunchTemplateName")
	var tags []tagFilter
	for _, m := range p.structs("TemplateTag") {
		if m["Key"] != "" {
			tags = append(tags, tagFilter{Key: m["Key"], Value: m["Value"], KeyOnly: m["Value"] == ""})
		}
	}
	match := func(id string) bool {
		t := s.w.templates[id]
		switch {
		case t == nil || t.RegionID != c.region:
			return false
		case len(ids) > 0 && !contains(ids, id), len(names) > 0 && !contains(names, t.Name):
			return false
		}
		return matchTags(t.Tags, tags)
	}
	res := pageIDs(s.w.regions[c.region].templates, pg, match)
	out := &describeTemplatesOut{RequestID: c.requestID, TotalCount: res.total, PageNumber: res.pageNumber,
		PageSize: res.pageSize}
	out.LaunchTemplateSets.LaunchTemplateSet = make([]templateOut, len(res.ids))
	for i, id := range res.ids {
		t := s.w.templates[id]
		out.LaunchTemplateSets.LaunchTemplateSet[i] = templateOut{
			LaunchTemplateID: t.ID, LaunchTemplateName: t.Name, DefaultVersionNumber: t.DefaultVersion,
			LatestVersionNumber: t.latest(), CreateTime: fmtTime(t.CreatedAt), ModifiedTime: fmtTime(t.ModifiedAt),
			CreatedBy: s.env.AccountID, Tags: tagsJSON(t.Tags),
		}
	}
	return out, nil
}

type instanceTagOut struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type templateNICOut struct {
	SecurityGroupID  string `json:"SecurityGroupId"`
	VSwitchID        string `json:"VSwitchId"`
	Type             string `json:"Type,omitempty"`
	SecurityGroupIDs struct {
		SecurityGroupID []string `json:"SecurityGroupId"`
	} `json:"SecurityGroupIds"`
}

type templateDataOut struct {
	ImageID          string `json:"ImageId"`
	InstanceType     string `json:"InstanceType"`
	InstanceName     string `json:"InstanceName"`
	VpcID            string `json:"VpcId"`
	VSwitchID        string `json:"VSwitchId"`
	ZoneID           string `json:"ZoneId"`
	NetworkType      string `json:"NetworkType"`
	SecurityGroupID  string `json:"SecurityGroupId"`
	SecurityGroupIDs struct {
		SecurityGroupID []string `json:"SecurityGroupId"`
	} `json:"SecurityGroupIds"`
	NetworkInterfaces struct {
		NetworkInterface []templateNICOut `json:"NetworkInterface"`
	} `json:"NetworkInterfaces"`
	Tags struct {
		InstanceTag []instanceTagOut `json:"InstanceTag"`
	} `json:"Tags"`
}

type templateVersionOut struct {
	LaunchTemplateID   string           `json:"LaunchTemplateId"`
	LaunchTemplateName string           `json:"LaunchTemplateName"`
	VersionNumber      int64            `json:"VersionNumber"`
	DefaultVersion     bool             `json:"DefaultVersion"`
	VersionDescription string           `json:"VersionDescription"`
	CreateTime         string           `json:"CreateTime"`
	ModifiedTime       string           `json:"ModifiedTime"`
	CreatedBy          string           `json:"CreatedBy"`
	LaunchTemplateData *templateDataOut `json:"LaunchTemplateData,omitempty"`
}

type describeVersionsOut struct {
	RequestID                 string `json:"RequestId"`
	TotalCount                int    `json:"TotalCount"`
	PageNumber                int    `json:"PageNumber"`
	PageSize                  int    `json:"PageSize"`
	LaunchTemplateVersionSets struct {
		LaunchTemplateVersionSet []templateVersionOut `json:"LaunchTemplateVersionSet"`
	} `json:"LaunchTemplateVersionSets"`
}

func versionData(v *templateVersion) *templateDataOut {
	d := &templateDataOut{ImageID: v.ImageID, InstanceType: v.InstanceType, InstanceName: v.InstanceName,
		VpcID: v.VpcID, VSwitchID: v.VSwitchID, ZoneID: v.ZoneID, SecurityGroupID: v.SecurityGroupID}
	if v.VSwitchID != "" || v.VpcID != "" {
		d.NetworkType = netVPC
	}
	d.SecurityGroupIDs.SecurityGroupID = append([]string{}, v.SecurityGroupIDs...)
	d.NetworkInterfaces.NetworkInterface = make([]templateNICOut, len(v.NetworkInterfaces))
	for i, n := range v.NetworkInterfaces {
		o := templateNICOut{SecurityGroupID: n.SecurityGroupID, VSwitchID: n.VSwitchID, Type: n.Type}
		o.SecurityGroupIDs.SecurityGroupID = append([]string{}, n.SecurityGroupIDs...)
		d.NetworkInterfaces.NetworkInterface[i] = o
	}
	d.Tags.InstanceTag = make([]instanceTagOut, len(v.Tags))
	for i, t := range v.Tags {
		d.Tags.InstanceTag[i] = instanceTagOut(t)
	}
	return d
}

func (s *Service) describeLaunchTemplateVersions(c *call) (any, *apiError) {
	p := c.p
	id, name := p.str("LaunchTemplateId"), p.str("LaunchTemplateName")
	if id == "" && name == "" {
		return nil, errMissing("LaunchTemplateId")
	}
	t, e := s.lookupTemplate(c, id, name)
	if e != nil {
		return nil, e
	}
	pg, e := p.paging(templatePaging)
	if e != nil {
		return nil, e
	}
	onlyDefault, e := p.boolean("DefaultVersion", false)
	if e != nil {
		return nil, e
	}
	detail, e := p.boolean("DetailFlag", true)
	if e != nil {
		return nil, e
	}
	minV, e := p.integer("MinVersion", 0)
	if e != nil {
		return nil, e
	}
	maxV, e := p.integer("MaxVersion", 0)
	if e != nil {
		return nil, e
	}
	want := map[int64]bool{}
	for _, v := range p.indexed("LaunchTemplateVersion") {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, errInvalidParam("LaunchTemplateVersion", v)
		}
		want[n] = true
	}
	var match []*templateVersion
	for _, v := range t.Versions {
		switch {
		case onlyDefault && v.Number != t.DefaultVersion:
		case len(want) > 0 && !want[v.Number]:
		case minV > 0 && v.Number < int64(minV), maxV > 0 && v.Number > int64(maxV):
		default:
			match = append(match, v)
		}
	}
	if pg.tokenMode {
		pg = paging{page: 1, size: pg.size}
	}
	out := &describeVersionsOut{RequestID: c.requestID, TotalCount: len(match), PageNumber: pg.page, PageSize: pg.size}
	from := min((pg.page-1)*pg.size, len(match))
	to := min(from+pg.size, len(match))
	out.LaunchTemplateVersionSets.LaunchTemplateVersionSet = make([]templateVersionOut, 0, to-from)
	for _, v := range match[from:to] {
		o := templateVersionOut{LaunchTemplateID: t.ID, LaunchTemplateName: t.Name, VersionNumber: v.Number,
			DefaultVersion: v.Number == t.DefaultVersion, VersionDescription: v.Description,
			CreateTime: fmtTime(v.CreatedAt), ModifiedTime: fmtTime(v.CreatedAt), CreatedBy: s.env.AccountID}
		if detail {
			o.LaunchTemplateData = versionData(v)
		}
		out.LaunchTemplateVersionSets.LaunchTemplateVersionSet = append(out.LaunchTemplateVersionSets.LaunchTemplateVersionSet, o)
	}
	if len(want) > 0 {
		for n := range want {
			found := false
			for _, v := range t.Versions {
				found = found || v.Number == n
			}
			if !found {
				return nil, fromWire(errTemplateVersionNotFound)
			}
		}
	}
	return out, nil
}
