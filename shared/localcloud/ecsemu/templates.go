package ecsemu

import (
	"fmt"
	"strconv"
)

// Launch templates come from the seed, and new versions from the Go API
// below (no CreateLaunchTemplate over the wire): they matter here because
// every one of their versions may name security groups.

// AddTemplateVersion adds a version to a seeded launch template, as
// CreateLaunchTemplateVersion would: its number is the latest plus one
// (v.VersionNumber is ignored), it is created now on the emulated clock and
// the template's ModifiedTime moves to now. It returns the new number.
func (s *Service) AddTemplateVersion(templateID string, v SeedTemplateVersion) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.w.templates[templateID]
	if t == nil {
		return 0, fmt.Errorf("ecsemu: launch template %s does not exist", templateID)
	}
	if len(t.Versions) >= maxTemplateVersions {
		return 0, fmt.Errorf("ecsemu: launch template %s already has %d versions", templateID, maxTemplateVersions)
	}
	for _, gid := range append([]string{v.SecurityGroupID}, v.SecurityGroupIDs...) {
		if gid != "" && !validID(gid, "sg-") {
			return 0, fmt.Errorf("ecsemu: %q is not a security group id", gid)
		}
	}
	now := s.env.Clock.Now()
	tv := &templateVersion{Number: t.latest() + 1, Description: v.Description, CreatedAt: now,
		ImageID: v.ImageID, InstanceType: v.InstanceType, InstanceName: v.InstanceName, VpcID: v.VpcID,
		VSwitchID: v.VSwitchID, ZoneID: v.ZoneID, SecurityGroupID: v.SecurityGroupID,
		SecurityGroupIDs: append([]string{}, v.SecurityGroupIDs...), Tags: toTags(v.Tags)}
	for _, n := range v.NetworkInterfaces {
		tv.NetworkInterfaces = append(tv.NetworkInterfaces, templateNIC{SecurityGroupID: n.SecurityGroupID,
			SecurityGroupIDs: append([]string{}, n.SecurityGroupIDs...), VSwitchID: n.VSwitchID, Type: n.Type})
	}
	t.Versions = append(t.Versions, tv)
	t.ModifiedAt = now
	return tv.Number, nil
}

// maxTemplateVersions is the number of versions one template may hold
// (unconfirmed: the reference gives 30; only the Go API enforces it).
const maxTemplateVersions = 30

// DeleteTemplateVersion deletes one version, as DeleteLaunchTemplateVersion
// would: the default version cannot be deleted; ModifiedTime moves to now.
// Simplification: the latest version cannot be deleted either, so that
// LatestVersionNumber never goes back and numbers are never reused (real ECS
// numbering after such a delete is unconfirmed).
func (s *Service) DeleteTemplateVersion(templateID string, version int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.w.templates[templateID]
	if t == nil {
		return fmt.Errorf("ecsemu: launch template %s does not exist", templateID)
	}
	if version == t.DefaultVersion || version == t.latest() {
		return fmt.Errorf("ecsemu: version %d is the default or the latest of %s", version, templateID)
	}
	for i, v := range t.Versions {
		if v.Number == version {
			t.Versions = append(t.Versions[:i:i], t.Versions[i+1:]...)
			t.ModifiedAt = s.env.Clock.Now()
			return nil
		}
	}
	return fmt.Errorf("ecsemu: launch template %s has no version %d", templateID, version)
}

// SetDefaultTemplateVersion makes version the default, as
// ModifyLaunchTemplateDefaultVersion would.
func (s *Service) SetDefaultTemplateVersion(templateID string, version int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.w.templates[templateID]
	if t == nil {
		return fmt.Errorf("ecsemu: launch template %s does not exist", templateID)
	}
	for _, v := range t.Versions {
		if v.Number == version {
			t.DefaultVersion = version
			t.ModifiedAt = s.env.Clock.Now()
			return nil
		}
	}
	return fmt.Errorf("ecsemu: launch template %s has no version %d", templateID, version)
}

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
