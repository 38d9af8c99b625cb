package ecsemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
)

// Seed is the whole state of the emulated ECS account, as JSON. Seed(s)
// replaces the current state with it; Snapshot returns the current state in
// the same shape, so a snapshot can be fed back as a seed. SEED.md documents
// every field with an example (testdata/seed-example.json).
//
// Every ID is optional: a missing ID is generated (resources that others
// refer to need one). Every regionId is optional and defaults to the
// service's default region. Times are RFC 3339; a missing time is the
// emulated clock's now.
type Seed struct {
	// Regions lists the regions DescribeRegions returns and requests may name.
	// Empty: DefaultRegions (the default region with three zones and the
	// classic network, plus a few empty VPC-only regions).
	Regions []SeedRegion `json:"regions,omitempty"`
	// VPCs and VSwitches are the VPC networks.
	VPCs      []SeedVPC     `json:"vpcs,omitempty"`
	VSwitches []SeedVSwitch `json:"vSwitches,omitempty"`
	// SecurityGroups, with their rules. Rules may name other seeded groups.
	SecurityGroups []SeedSecurityGroup `json:"securityGroups,omitempty"`
	// Instances, with the groups they are in.
	Instances []SeedInstance `json:"instances,omitempty"`
	// NetworkInterfaces are secondary ENIs (primary ENIs come with VPC instances).
	NetworkInterfaces []SeedNetworkInterface `json:"networkInterfaces,omitempty"`
	// LaunchTemplates, with versions naming security groups.
	LaunchTemplates []SeedLaunchTemplate `json:"launchTemplates,omitempty"`
}

// SeedRegion is one region.
type SeedRegion struct {
	RegionID  string   `json:"regionId"`
	LocalName string   `json:"localName,omitempty"`
	Zones     []string `json:"zones,omitempty"`
	// Classic: the region offers the classic network (instances without a
	// vSwitch, groups without a VPC).
	Classic bool `json:"classic,omitempty"`
}

// SeedVPC is one VPC. CidrBlock defaults to 172.16.0.0/12.
type SeedVPC struct {
	ID        string `json:"id,omitempty"`
	RegionID  string `json:"regionId,omitempty"`
	Name      string `json:"name,omitempty"`
	CidrBlock string `json:"cidrBlock,omitempty"`
}

// SeedVSwitch is one vSwitch of a VPC. ZoneID defaults to the region's first
// zone; CidrBlock to 172.(16+n).0.0/16 for the VPC's n-th vSwitch.
type SeedVSwitch struct {
	ID        string `json:"id,omitempty"`
	VpcID     string `json:"vpcId"`
	ZoneID    string `json:"zoneId,omitempty"`
	Name      string `json:"name,omitempty"`
	CidrBlock string `json:"cidrBlock,omitempty"`
}

// SeedTag is one tag.
type SeedTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// SeedRule is one rule, with the AuthorizeSecurityGroup field names and the
// same validation and defaults (direction ingress, policy accept, priority 1).
type SeedRule struct {
	RuleID             string    `json:"ruleId,omitempty"`
	Direction          string    `json:"direction,omitempty"`
	IPProtocol         string    `json:"ipProtocol"`
	PortRange          string    `json:"portRange"`
	SourcePortRange    string    `json:"sourcePortRange,omitempty"`
	SourceCidrIP       string    `json:"sourceCidrIp,omitempty"`
	Ipv6SourceCidrIP   string    `json:"ipv6SourceCidrIp,omitempty"`
	SourceGroupID      string    `json:"sourceGroupId,omitempty"`
	SourcePrefixListID string    `json:"sourcePrefixListId,omitempty"`
	DestCidrIP         string    `json:"destCidrIp,omitempty"`
	Ipv6DestCidrIP     string    `json:"ipv6DestCidrIp,omitempty"`
	DestGroupID        string    `json:"destGroupId,omitempty"`
	DestPrefixListID   string    `json:"destPrefixListId,omitempty"`
	Policy             string    `json:"policy,omitempty"`
	Priority           int       `json:"priority,omitempty"`
	NicType            string    `json:"nicType,omitempty"`
	Description        string    `json:"description,omitempty"`
	CreateTime         time.Time `json:"createTime,omitzero"`
}

// SeedSecurityGroup is one group. An empty VpcID makes a classic group.
type SeedSecurityGroup struct {
	ID          string `json:"id,omitempty"`
	RegionID    string `json:"regionId,omitempty"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	VpcID       string `json:"vpcId,omitempty"`
	// Type is "normal" (default) or "enterprise".
	Type            string `json:"type,omitempty"`
	ResourceGroupID string `json:"resourceGroupId,omitempty"`
	// ServiceManaged groups belong to a cloud service: every change to them
	// (rules, membership, deletion) fails with ResourceManagedByCloudProduct.
	ServiceManaged bool  `json:"serviceManaged,omitempty"`
	ServiceID      int64 `json:"serviceId,omitempty"`
	// DeletionProtection makes DeleteSecurityGroup fail with
	// InvalidOperation.DeletionProtection.
	DeletionProtection bool `json:"deletionProtection,omitempty"`
	// InnerAccessPolicy is "Accept" (default for normal) or "Drop".
	InnerAccessPolicy string     `json:"innerAccessPolicy,omitempty"`
	CreationTime      time.Time  `json:"creationTime,omitzero"`
	Tags              []SeedTag  `json:"tags,omitempty"`
	Rules             []SeedRule `json:"rules,omitempty"`
}

// SeedInstance is one instance. A VSwitchID makes it a VPC instance (with a
// primary ENI), none a classic one.
type SeedInstance struct {
	ID          string `json:"id,omitempty"`
	RegionID    string `json:"regionId,omitempty"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	ZoneID      string `json:"zoneId,omitempty"`
	VSwitchID   string `json:"vSwitchId,omitempty"`
	// NetworkType is "vpc" or "classic"; optional, checked against VSwitchID.
	NetworkType  string `json:"networkType,omitempty"`
	ImageID      string `json:"imageId,omitempty"`
	InstanceType string `json:"instanceType,omitempty"`
	// Status is Pending, Starting, Running (default), Stopping or Stopped.
	// Transitional statuses end after the configured durations, counted
	// from StatusUntil if set, else from seeding time.
	Status      string    `json:"status,omitempty"`
	StatusUntil time.Time `json:"statusUntil,omitzero"`
	// SecurityGroupIDs: 1..limit groups of the instance's network (same VPC,
	// or classic groups for classic instances).
	SecurityGroupIDs []string `json:"securityGroupIds"`
	// GroupLimit overrides the per-instance group limit (quota increase) for
	// this instance, 1..MaxGroupsPerInstanceQuota.
	GroupLimit       int       `json:"groupLimit,omitempty"`
	PrivateIPAddress string    `json:"privateIpAddress,omitempty"`
	MacAddress       string    `json:"macAddress,omitempty"`
	PrimaryENIID     string    `json:"primaryNetworkInterfaceId,omitempty"`
	CreationTime     time.Time `json:"creationTime,omitzero"`
	Tags             []SeedTag `json:"tags,omitempty"`
}

// SeedNetworkInterface is one secondary ENI, attached to InstanceID (a VPC
// instance of the same VPC and zone) or available when InstanceID is empty.
type SeedNetworkInterface struct {
	ID               string    `json:"id,omitempty"`
	Name             string    `json:"name,omitempty"`
	Description      string    `json:"description,omitempty"`
	VSwitchID        string    `json:"vSwitchId"`
	InstanceID       string    `json:"instanceId,omitempty"`
	SecurityGroupIDs []string  `json:"securityGroupIds"`
	GroupLimit       int       `json:"groupLimit,omitempty"`
	PrivateIPAddress string    `json:"privateIpAddress,omitempty"`
	MacAddress       string    `json:"macAddress,omitempty"`
	CreationTime     time.Time `json:"creationTime,omitzero"`
	Tags             []SeedTag `json:"tags,omitempty"`
}

// SeedLaunchTemplate is one launch template. DefaultVersion defaults to the
// lowest version number. Group IDs in versions are checked for format only:
// templates naming deleted groups are realistic.
type SeedLaunchTemplate struct {
	ID             string                `json:"id,omitempty"`
	Name           string                `json:"name"`
	RegionID       string                `json:"regionId,omitempty"`
	DefaultVersion int64                 `json:"defaultVersion,omitempty"`
	CreateTime     time.Time             `json:"createTime,omitzero"`
	Tags           []SeedTag             `json:"tags,omitempty"`
	Versions       []SeedTemplateVersion `json:"versions"`
}

// SeedTemplateVersion is one version of a launch template.
type SeedTemplateVersion struct {
	VersionNumber     int64             `json:"versionNumber"`
	Description       string            `json:"description,omitempty"`
	CreateTime        time.Time         `json:"createTime,omitzero"`
	ImageID           string            `json:"imageId,omitempty"`
	InstanceType      string            `json:"instanceType,omitempty"`
	InstanceName      string            `json:"instanceName,omitempty"`
	VpcID             string            `json:"vpcId,omitempty"`
	VSwitchID         string            `json:"vSwitchId,omitempty"`
	ZoneID            string            `json:"zoneId,omitempty"`
	SecurityGroupID   string            `json:"securityGroupId,omitempty"`
	SecurityGroupIDs  []string          `json:"securityGroupIds,omitempty"`
	NetworkInterfaces []SeedTemplateNIC `json:"networkInterfaces,omitempty"`
	Tags              []SeedTag         `json:"tags,omitempty"`
}

// SeedTemplateNIC is one network interface of a template version.
type SeedTemplateNIC struct {
	Type             string   `json:"type,omitempty"`
	VSwitchID        string   `json:"vSwitchId,omitempty"`
	SecurityGroupID  string   `json:"securityGroupId,omitempty"`
	SecurityGroupIDs []string `json:"securityGroupIds,omitempty"`
}

// DefaultRegions is the region list used when a seed names none: region
// (three zones, classic network) plus four VPC-only regions.
func DefaultRegions(region string) []SeedRegion {
	out := []SeedRegion{{RegionID: region, LocalName: region, Zones: []string{region + "-h", region + "-i", region + "-j"},
		Classic: true}}
	if region == DefaultRegion {
		out[0].LocalName = "China (Hangzhou)"
	}
	for _, r := range []SeedRegion{
		{RegionID: "cn-hangzhou", LocalName: "China (Hangzhou)"},
		{RegionID: "cn-shanghai", LocalName: "China (Shanghai)"},
		{RegionID: "cn-beijing", LocalName: "China (Beijing)"},
		{RegionID: "cn-shenzhen", LocalName: "China (Shenzhen)"},
		{RegionID: "ap-southeast-1", LocalName: "Singapore"},
	} {
		if r.RegionID != region {
			r.Zones = []string{r.RegionID + "-a", r.RegionID + "-b"}
			out = append(out, r)
		}
	}
	return out
}

// DefaultSeed is the state New starts from: DefaultRegions, one VPC with one
// vSwitch (zone <region>-h) in region, and no groups or instances.
func DefaultSeed(region string) Seed {
	code := core.RegionCode(region)
	vpcID := core.NewResourceID("vpc-", code)
	return Seed{
		Regions:   DefaultRegions(region),
		VPCs:      []SeedVPC{{ID: vpcID, RegionID: region, Name: "default-vpc", CidrBlock: "172.16.0.0/12"}},
		VSwitches: []SeedVSwitch{{ID: core.NewResourceID("vsw-", code), VpcID: vpcID, ZoneID: region + "-h", Name: "default-vsw", CidrBlock: "172.16.0.0/16"}},
	}
}

// LoadSeed reads a seed JSON file and applies it with Seed.
func (s *Service) LoadSeed(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("ecsemu load seed: %w", err)
	}
	var sd Seed
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sd); err != nil {
		return fmt.Errorf("ecsemu load seed %s: %w", path, err)
	}
	return s.Seed(sd)
}

// Seed replaces the whole state with sd after validating it. On error the
// state is unchanged and the error lists every problem found. Events are not
// published for seeded resources.
func (s *Service) Seed(sd Seed) error {
	now := s.env.Clock.Now()
	w, defVPC, defVSw, err := s.build(sd, now)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.w, s.defaultVPC, s.defaultVSwitch = w, defVPC, defVSw
	s.mu.Unlock()
	return nil
}

// seedErrors collects validation problems.
type seedErrors struct{ errs []error }

func (e *seedErrors) add(format string, args ...any) {
	e.errs = append(e.errs, fmt.Errorf(format, args...))
}

func toTags(in []SeedTag) tagList {
	var out tagList
	for _, t := range in {
		out = append(out, tag(t))
	}
	return out
}

func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t.UTC()
}

// build turns a seed into a world. It uses a scratch Service sharing s's
// options and env so rule validation is exactly AuthorizeSecurityGroup's.
func (s *Service) build(sd Seed, now time.Time) (*world, string, string, error) {
	errs := &seedErrors{}
	w := newWorld()
	scratch := &Service{env: s.env, opts: s.opts, w: w}
	regions := sd.Regions
	if len(regions) == 0 {
		regions = DefaultRegions(s.opts.Region)
	}
	for i, r := range regions {
		if r.RegionID == "" || w.regions[r.RegionID] != nil {
			errs.add("regions[%d]: regionId %q is empty or repeated", i, r.RegionID)
			continue
		}
		name := r.LocalName
		if name == "" {
			name = r.RegionID
		}
		w.regions[r.RegionID] = &region{ID: r.RegionID, LocalName: name, Zones: append([]string{}, r.Zones...), Classic: r.Classic}
		w.regionIDs = append(w.regionIDs, r.RegionID)
	}
	if w.regions[s.opts.Region] == nil {
		errs.add("regions: the default region %s is missing", s.opts.Region)
		return nil, "", "", errors.Join(errs.errs...)
	}
	ids := map[string]string{} // every ID -> where it was defined
	claim := func(where, id, prefix, regionID string) string {
		if id == "" {
			id = core.NewResourceID(prefix, core.RegionCode(regionID))
		}
		if !validID(id, prefix) {
			errs.add("%s: id %q must be %q followed by lower-case letters, digits, '-' or '_'", where, id, prefix)
		}
		if prev, dup := ids[id]; dup {
			errs.add("%s: id %s already used by %s", where, id, prev)
		}
		ids[id] = where
		return id
	}
	regionOf := func(where, r string) string {
		if r == "" {
			r = s.opts.Region
		}
		if w.regions[r] == nil {
			errs.add("%s: regionId %s is not a seeded region", where, r)
			return ""
		}
		return r
	}

	defVPC, defVSw := "", ""
	for i, v := range sd.VPCs {
		where := fmt.Sprintf("vpcs[%d]", i)
		rid := regionOf(where, v.RegionID)
		if rid == "" {
			continue
		}
		id := claim(where, v.ID, "vpc-", rid)
		cidr := v.CidrBlock
		if cidr == "" {
			cidr = "172.16.0.0/12"
		}
		w.vpcs[id] = &vpc{ID: id, RegionID: rid, Name: v.Name, CidrBlock: cidr}
		w.regions[rid].vpcs.add(id)
		if defVPC == "" && rid == s.opts.Region {
			defVPC = id
		}
	}
	for i, v := range sd.VSwitches {
		where := fmt.Sprintf("vSwitches[%d]", i)
		vp := w.vpcs[v.VpcID]
		if vp == nil {
			errs.add("%s: vpcId %q is not a seeded VPC", where, v.VpcID)
			continue
		}
		id := claim(where, v.ID, "vsw-", vp.RegionID)
		rg := w.regions[vp.RegionID]
		zone := v.ZoneID
		if zone == "" && len(rg.Zones) > 0 {
			zone = rg.Zones[0]
		}
		if len(rg.Zones) > 0 && !contains(rg.Zones, zone) {
			errs.add("%s: zoneId %q is not a zone of %s %v", where, zone, rg.ID, rg.Zones)
		}
		cidr := v.CidrBlock
		if cidr == "" {
			cidr = fmt.Sprintf("172.%d.0.0/16", 16+len(vp.vswitches))
		}
		vsw, err := newVSwitch(id, vp.ID, zone, v.Name, cidr)
		if err != nil {
			errs.add("%s: %v", where, err)
			continue
		}
		w.vswitches[id] = vsw
		vp.vswitches.add(id)
		if defVSw == "" && vp.ID == defVPC {
			defVSw = id
		}
	}

	// Groups first (without rules), so rules and members can name any of them.
	type pendingRules struct {
		g     *group
		rules []SeedRule
		where string
	}
	var withRules []pendingRules
	for i, sg := range sd.SecurityGroups {
		where := fmt.Sprintf("securityGroups[%d]", i)
		rid := regionOf(where, sg.RegionID)
		if rid == "" {
			continue
		}
		id := claim(where, sg.ID, "sg-", rid)
		where += " (" + id + ")"
		if sg.VpcID == "" {
			if !w.regions[rid].Classic {
				errs.add("%s: no vpcId and region %s has no classic network", where, rid)
				continue
			}
		} else if vp := w.vpcs[sg.VpcID]; vp == nil || vp.RegionID != rid {
			errs.add("%s: vpcId %q is not a seeded VPC of %s", where, sg.VpcID, rid)
			continue
		}
		typ := sg.Type
		if typ == "" {
			typ = groupNormal
		}
		if typ != groupNormal && typ != groupEnterprise {
			errs.add("%s: type %q must be normal or enterprise", where, typ)
		}
		policy := sg.InnerAccessPolicy
		if policy == "" {
			policy = "Accept"
			if typ == groupEnterprise {
				policy = "Drop"
			}
		}
		if policy != "Accept" && policy != "Drop" {
			errs.add("%s: innerAccessPolicy %q must be Accept or Drop", where, policy)
		}
		g := &group{ID: id, Name: sg.Name, Description: sg.Description, RegionID: rid, VpcID: sg.VpcID, Type: typ,
			ResourceGroupID: sg.ResourceGroupID, ServiceManaged: sg.ServiceManaged, ServiceID: sg.ServiceID,
			DeletionProtection: sg.DeletionProtection, InnerAccessPolicy: policy,
			CreatedAt: orNow(sg.CreationTime, now), Tags: toTags(sg.Tags)}
		if len(g.Tags) > 20 {
			errs.add("%s: more than 20 tags", where)
		}
		w.addGroup(g)
		withRules = append(withRules, pendingRules{g, sg.Rules, where})
	}
	for _, pr := range withRules {
		seen := map[string]bool{}
		for j, sr := range pr.rules {
			where := fmt.Sprintf("%s.rules[%d]", pr.where, j)
			dir := sr.Direction
			if dir == "" {
				dir = dirIngress
			}
			if dir != dirIngress && dir != dirEgress {
				errs.add("%s: direction %q must be ingress or egress", where, dir)
				continue
			}
			in := ruleInput{"IpProtocol": sr.IPProtocol, "PortRange": sr.PortRange, "SourcePortRange": sr.SourcePortRange,
				"SourceCidrIp": sr.SourceCidrIP, "Ipv6SourceCidrIp": sr.Ipv6SourceCidrIP, "SourceGroupId": sr.SourceGroupID,
				"SourcePrefixListId": sr.SourcePrefixListID, "DestCidrIp": sr.DestCidrIP, "Ipv6DestCidrIp": sr.Ipv6DestCidrIP,
				"DestGroupId": sr.DestGroupID, "DestPrefixListId": sr.DestPrefixListID, "Policy": sr.Policy,
				"NicType": sr.NicType, "Description": sr.Description}
			if sr.Priority != 0 {
				in["Priority"] = fmt.Sprint(sr.Priority)
			}
			r, apiErr := scratch.buildRule(pr.g, dir, in, false)
			if apiErr != nil {
				errs.add("%s: %s: %s", where, apiErr.Code, apiErr.Message)
				continue
			}
			if seen[r.identity()] {
				errs.add("%s: duplicate of an earlier rule", where)
				continue
			}
			seen[r.identity()] = true
			r.ID = claim(where, sr.RuleID, "sgr-", pr.g.RegionID)
			r.CreatedAt = orNow(sr.CreateTime, now)
			w.addRule(pr.g, r)
		}
		if len(pr.g.Rules) > s.opts.RulesPerGroup {
			errs.add("%s: %d rules exceed RulesPerGroup %d", pr.where, len(pr.g.Rules), s.opts.RulesPerGroup)
		}
	}

	for i, si := range sd.Instances {
		where := fmt.Sprintf("instances[%d]", i)
		rid := regionOf(where, si.RegionID)
		if rid == "" {
			continue
		}
		id := claim(where, si.ID, "i-", rid)
		where += " (" + id + ")"
		rg := w.regions[rid]
		in := &instance{ID: id, Name: si.Name, Description: si.Description, RegionID: rid, ZoneID: si.ZoneID,
			ImageID: si.ImageID, InstanceType: si.InstanceType, CreatedAt: orNow(si.CreationTime, now),
			Tags: toTags(si.Tags), GroupLimit: si.GroupLimit, MAC: si.MacAddress, PrivateIP: si.PrivateIPAddress}
		if in.Name == "" {
			in.Name = id
		}
		if in.ImageID == "" {
			in.ImageID = "aliyun_3_x64_20G_alibase_20240101.vhd"
		}
		if in.InstanceType == "" {
			in.InstanceType = "ecs.g7.large"
		}
		if in.MAC == "" {
			in.MAC = w.mac()
		}
		if si.VSwitchID != "" {
			vsw := w.vswitches[si.VSwitchID]
			if vsw == nil || w.vpcs[vsw.VpcID].RegionID != rid {
				errs.add("%s: vSwitchId %q is not a seeded vSwitch of %s", where, si.VSwitchID, rid)
				continue
			}
			if si.NetworkType != "" && si.NetworkType != netVPC {
				errs.add("%s: networkType %q conflicts with vSwitchId", where, si.NetworkType)
			}
			if in.ZoneID != "" && in.ZoneID != vsw.ZoneID {
				errs.add("%s: zoneId %s differs from the vSwitch's zone %s", where, in.ZoneID, vsw.ZoneID)
			}
			in.NetworkType, in.VpcID, in.VSwitchID, in.ZoneID = netVPC, vsw.VpcID, vsw.ID, vsw.ZoneID
			if in.PrivateIP == "" {
				ip, ok := vsw.allocIP()
				if !ok {
					errs.add("%s: vSwitch %s has no free address", where, vsw.ID)
				}
				in.PrivateIP = ip
			}
			in.PrimaryENI = claim(where+".primaryNetworkInterfaceId", si.PrimaryENIID, "eni-", rid)
		} else {
			if si.NetworkType != "" && si.NetworkType != netClassic {
				errs.add("%s: networkType %q needs a vSwitchId", where, si.NetworkType)
				continue
			}
			if !rg.Classic {
				errs.add("%s: no vSwitchId and region %s has no classic network", where, rid)
				continue
			}
			if si.PrimaryENIID != "" {
				errs.add("%s: classic instances have no primary network interface", where)
			}
			in.NetworkType = netClassic
			if in.ZoneID == "" && len(rg.Zones) > 0 {
				in.ZoneID = rg.Zones[0]
			}
			if in.PrivateIP == "" {
				in.PrivateIP = w.classicIP()
			}
		}
		if in.GroupLimit < 0 || in.GroupLimit > MaxGroupsPerInstanceQuota {
			errs.add("%s: groupLimit %d outside 0..%d", where, in.GroupLimit, MaxGroupsPerInstanceQuota)
		}
		limit := s.opts.GroupsPerInstance
		if in.GroupLimit > 0 {
			limit = in.GroupLimit
		}
		switch {
		case len(si.SecurityGroupIDs) == 0:
			errs.add("%s: securityGroupIds must name at least one group", where)
		case len(si.SecurityGroupIDs) > limit:
			errs.add("%s: %d groups exceed the limit %d", where, len(si.SecurityGroupIDs), limit)
		}
		var typ string
		ok := true
		for _, gid := range si.SecurityGroupIDs {
			g := w.groups[gid]
			switch {
			case g == nil || g.RegionID != rid:
				errs.add("%s: security group %q is not seeded in %s", where, gid, rid)
				ok = false
			case g.VpcID != in.VpcID:
				errs.add("%s: security group %s is in network %q, the instance in %q", where, gid, g.networkType()+":"+g.VpcID, in.NetworkType+":"+in.VpcID)
				ok = false
			case contains(in.Groups, gid):
				errs.add("%s: security group %s listed twice", where, gid)
				ok = false
			case typ != "" && g.Type != typ:
				errs.add("%s: mixes normal and enterprise groups", where)
				ok = false
			default:
				typ = g.Type
				in.Groups = append(in.Groups, gid)
			}
		}
		status := si.Status
		if status == "" {
			status = statusRunning
		}
		if !instanceStatuses[status] {
			errs.add("%s: status %q is not one of Pending, Starting, Running, Stopping, Stopped", where, status)
			continue
		}
		if !ok || len(in.Groups) == 0 {
			continue
		}
		w.addInstance(in)
		if in.PrimaryENI != "" {
			w.addENI(&eni{ID: in.PrimaryENI, RegionID: rid, ZoneID: in.ZoneID, VpcID: in.VpcID, VSwitchID: in.VSwitchID,
				Type: eniPrimary, Status: eniInUse, InstanceID: in.ID, PrivateIP: in.PrivateIP, MAC: in.MAC,
				CreatedAt: in.CreatedAt})
		}
		in.Status = status
		if until := si.StatusUntil; !until.IsZero() || status == statusPending || status == statusStarting || status == statusStopping {
			switch status {
			case statusPending:
				until = orNowPlus(until, now, s.opts.PendingDuration)
			case statusStarting:
				until = orNowPlus(until, now, s.opts.StartingDuration)
			case statusStopping:
				until = orNowPlus(until, now, s.opts.StoppingDuration)
			default:
				until = time.Time{}
			}
			if !until.IsZero() {
				in.nextAt = until
				w.transitional[in.ID] = in
			}
		}
	}
	for _, g := range w.groups {
		if n := len(g.members); n > scratch.groupCapacity(g) {
			errs.add("security group %s: %d members exceed its capacity %d", g.ID, n, scratch.groupCapacity(g))
		}
	}

	for i, se := range sd.NetworkInterfaces {
		where := fmt.Sprintf("networkInterfaces[%d]", i)
		vsw := w.vswitches[se.VSwitchID]
		if vsw == nil {
			errs.add("%s: vSwitchId %q is not a seeded vSwitch", where, se.VSwitchID)
			continue
		}
		rid := w.vpcs[vsw.VpcID].RegionID
		id := claim(where, se.ID, "eni-", rid)
		where += " (" + id + ")"
		ni := &eni{ID: id, Name: se.Name, Description: se.Description, RegionID: rid, ZoneID: vsw.ZoneID,
			VpcID: vsw.VpcID, VSwitchID: vsw.ID, Type: eniSecondary, Status: eniAvailable, PrivateIP: se.PrivateIPAddress,
			MAC: se.MacAddress, CreatedAt: orNow(se.CreationTime, now), Tags: toTags(se.Tags), GroupLimit: se.GroupLimit}
		if ni.PrivateIP == "" {
			ni.PrivateIP, _ = vsw.allocIP()
		}
		if ni.MAC == "" {
			ni.MAC = w.mac()
		}
		if se.InstanceID != "" {
			in := w.instances[se.InstanceID]
			switch {
			case in == nil:
				errs.add("%s: instanceId %q is not a seeded instance", where, se.InstanceID)
				continue
			case in.VpcID != ni.VpcID || in.ZoneID != ni.ZoneID:
				errs.add("%s: instance %s is not in the ENI's VPC and zone", where, in.ID)
				continue
			}
			ni.Status, ni.InstanceID = eniInUse, in.ID
		}
		limit := s.opts.GroupsPerInstance
		if ni.GroupLimit > 0 {
			limit = ni.GroupLimit
		}
		if len(se.SecurityGroupIDs) == 0 || len(se.SecurityGroupIDs) > limit {
			errs.add("%s: securityGroupIds must name 1..%d groups", where, limit)
			continue
		}
		ok := true
		for _, gid := range se.SecurityGroupIDs {
			g := w.groups[gid]
			if g == nil || g.VpcID != ni.VpcID || contains(ni.Groups, gid) {
				errs.add("%s: security group %q is unknown, repeated or not in VPC %s", where, gid, ni.VpcID)
				ok = false
				continue
			}
			ni.Groups = append(ni.Groups, gid)
		}
		if ok {
			w.addENI(ni)
		}
	}

	for i, st := range sd.LaunchTemplates {
		where := fmt.Sprintf("launchTemplates[%d]", i)
		rid := regionOf(where, st.RegionID)
		if rid == "" {
			continue
		}
		id := claim(where, st.ID, "lt-", rid)
		where += " (" + id + ")"
		if st.Name == "" {
			errs.add("%s: name is required", where)
		}
		t := &template{ID: id, Name: st.Name, RegionID: rid, CreatedAt: orNow(st.CreateTime, now), Tags: toTags(st.Tags)}
		t.ModifiedAt = t.CreatedAt
		for j, sv := range st.Versions {
			vw := fmt.Sprintf("%s.versions[%d]", where, j)
			if sv.VersionNumber < 1 {
				errs.add("%s: versionNumber must be at least 1", vw)
				continue
			}
			for _, gid := range append([]string{sv.SecurityGroupID}, sv.SecurityGroupIDs...) {
				if gid != "" && !validID(gid, "sg-") {
					errs.add("%s: %q is not a security group id", vw, gid)
				}
			}
			v := &templateVersion{Number: sv.VersionNumber, Description: sv.Description, CreatedAt: orNow(sv.CreateTime, t.CreatedAt),
				ImageID: sv.ImageID, InstanceType: sv.InstanceType, InstanceName: sv.InstanceName, VpcID: sv.VpcID,
				VSwitchID: sv.VSwitchID, ZoneID: sv.ZoneID, SecurityGroupID: sv.SecurityGroupID,
				SecurityGroupIDs: append([]string{}, sv.SecurityGroupIDs...), Tags: toTags(sv.Tags)}
			for _, n := range sv.NetworkInterfaces {
				v.NetworkInterfaces = append(v.NetworkInterfaces, templateNIC{SecurityGroupID: n.SecurityGroupID,
					SecurityGroupIDs: append([]string{}, n.SecurityGroupIDs...), VSwitchID: n.VSwitchID, Type: n.Type})
			}
			if v.CreatedAt.After(t.ModifiedAt) {
				t.ModifiedAt = v.CreatedAt
			}
			t.Versions = append(t.Versions, v)
		}
		sort.Slice(t.Versions, func(a, b int) bool { return t.Versions[a].Number < t.Versions[b].Number })
		for j := 1; j < len(t.Versions); j++ {
			if t.Versions[j].Number == t.Versions[j-1].Number {
				errs.add("%s: version %d repeated", where, t.Versions[j].Number)
			}
		}
		if len(t.Versions) == 0 {
			errs.add("%s: at least one version is required", where)
			continue
		}
		t.DefaultVersion = st.DefaultVersion
		if t.DefaultVersion == 0 {
			t.DefaultVersion = t.Versions[0].Number
		}
		found := false
		for _, v := range t.Versions {
			found = found || v.Number == t.DefaultVersion
		}
		if !found {
			errs.add("%s: defaultVersion %d is not one of its versions", where, t.DefaultVersion)
		}
		w.templates[id] = t
		w.regions[rid].templates.add(id)
	}
	if len(errs.errs) > 0 {
		return nil, "", "", fmt.Errorf("ecsemu seed: %w", errors.Join(errs.errs...))
	}
	return w, defVPC, defVSw, nil
}

func orNowPlus(t, now time.Time, d time.Duration) time.Time {
	if t.IsZero() {
		return now.Add(d)
	}
	return t.UTC()
}
