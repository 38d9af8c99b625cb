package ecsemu

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
)

// seedBuilder turns a Seed into a world, one step per resource kind, in
// dependency order: regions, VPCs, vSwitches, groups, rules, instances,
// ENIs, launch templates. Every step records its problems in errs and goes
// on, so the caller sees all of them at once.
type seedBuilder struct {
	opts Options
	now  time.Time
	w    *world
	// scratch shares the options and env of the real service so rule
	// validation is exactly AuthorizeSecurityGroup's.
	scratch *Service
	errs    seedErrors
	ids     map[string]string // every ID -> where it was defined
	// defVPC and defVSw are the first VPC of the default region and its
	// first vSwitch.
	defVPC, defVSw string
}

// pendingRules are a group's seeded rules, built once every group exists so
// that rules can name any of them.
type pendingRules struct {
	g     *group
	rules []SeedRule
	where string
}

// build turns a seed into a world and returns it with the default VPC and
// vSwitch.
func (s *Service) build(sd Seed, now time.Time) (*world, string, string, error) {
	w := newWorld()
	b := &seedBuilder{opts: s.opts, now: now, w: w, scratch: &Service{env: s.env, opts: s.opts, w: w}, ids: map[string]string{}}
	if !b.regions(sd.Regions) {
		return nil, "", "", errors.Join(b.errs.errs...)
	}
	b.vpcs(sd.VPCs)
	b.vswitches(sd.VSwitches)
	for _, pr := range b.groups(sd.SecurityGroups) {
		b.rules(pr)
	}
	for i, si := range sd.Instances {
		b.instance(i, si)
	}
	b.groupCapacities()
	for i, se := range sd.NetworkInterfaces {
		b.networkInterface(i, se)
	}
	for i, st := range sd.LaunchTemplates {
		b.launchTemplate(i, st)
	}
	if len(b.errs.errs) > 0 {
		return nil, "", "", fmt.Errorf("ecsemu seed: %w", errors.Join(b.errs.errs...))
	}
	return w, b.defVPC, b.defVSw, nil
}

// claim returns id, or a generated one when it is empty, and records it;
// a malformed or repeated ID is an error.
func (b *seedBuilder) claim(where, id, prefix, regionID string) string {
	if id == "" {
		id = core.NewResourceID(prefix, core.RegionCode(regionID))
	}
	if !validID(id, prefix) {
		b.errs.add("%s: id %q must be %q followed by lower-case letters, digits, '-' or '_'", where, id, prefix)
	}
	if prev, dup := b.ids[id]; dup {
		b.errs.add("%s: id %s already used by %s", where, id, prev)
	}
	b.ids[id] = where
	return id
}

// regionOf returns r, or the default region when r is empty; "" when r is
// not seeded.
func (b *seedBuilder) regionOf(where, r string) string {
	if r == "" {
		r = b.opts.Region
	}
	if b.w.regions[r] == nil {
		b.errs.add("%s: regionId %s is not a seeded region", where, r)
		return ""
	}
	return r
}

// regions adds the seeded regions (DefaultRegions when none); it reports
// false when the default region is missing, which makes the rest moot.
func (b *seedBuilder) regions(regions []SeedRegion) bool {
	w := b.w
	if len(regions) == 0 {
		regions = DefaultRegions(b.opts.Region)
	}
	for i, r := range regions {
		if r.RegionID == "" || w.regions[r.RegionID] != nil {
			b.errs.add("regions[%d]: regionId %q is empty or repeated", i, r.RegionID)
			continue
		}
		name := r.LocalName
		if name == "" {
			name = r.RegionID
		}
		w.regions[r.RegionID] = &region{ID: r.RegionID, LocalName: name, Zones: append([]string{}, r.Zones...), Classic: r.Classic}
		w.regionIDs = append(w.regionIDs, r.RegionID)
	}
	if w.regions[b.opts.Region] == nil {
		b.errs.add("regions: the default region %s is missing", b.opts.Region)
		return false
	}
	return true
}

func (b *seedBuilder) vpcs(vpcs []SeedVPC) {
	for i, v := range vpcs {
		where := fmt.Sprintf("vpcs[%d]", i)
		rid := b.regionOf(where, v.RegionID)
		if rid == "" {
			continue
		}
		id := b.claim(where, v.ID, "vpc-", rid)
		cidr := v.CidrBlock
		if cidr == "" {
			cidr = "172.16.0.0/12"
		}
		b.w.vpcs[id] = &vpc{ID: id, RegionID: rid, Name: v.Name, CidrBlock: cidr}
		b.w.regions[rid].vpcs.add(id)
		if b.defVPC == "" && rid == b.opts.Region {
			b.defVPC = id
		}
	}
}

func (b *seedBuilder) vswitches(vswitches []SeedVSwitch) {
	w := b.w
	for i, v := range vswitches {
		where := fmt.Sprintf("vSwitches[%d]", i)
		vp := w.vpcs[v.VpcID]
		if vp == nil {
			b.errs.add("%s: vpcId %q is not a seeded VPC", where, v.VpcID)
			continue
		}
		id := b.claim(where, v.ID, "vsw-", vp.RegionID)
		rg := w.regions[vp.RegionID]
		zone := v.ZoneID
		if zone == "" && len(rg.Zones) > 0 {
			zone = rg.Zones[0]
		}
		if len(rg.Zones) > 0 && !contains(rg.Zones, zone) {
			b.errs.add("%s: zoneId %q is not a zone of %s %v", where, zone, rg.ID, rg.Zones)
		}
		cidr := v.CidrBlock
		if cidr == "" {
			cidr = fmt.Sprintf("172.%d.0.0/16", 16+len(vp.vswitches))
		}
		vsw, err := newVSwitch(id, vp.ID, zone, v.Name, cidr)
		if err != nil {
			b.errs.add("%s: %v", where, err)
			continue
		}
		w.vswitches[id] = vsw
		vp.vswitches.add(id)
		if b.defVSw == "" && vp.ID == b.defVPC {
			b.defVSw = id
		}
	}
}

// groups adds every group without its rules and returns the rules to add
// once all groups exist.
func (b *seedBuilder) groups(groups []SeedSecurityGroup) []pendingRules {
	var withRules []pendingRules
	for i, sg := range groups {
		if g, where, ok := b.group(i, sg); ok {
			withRules = append(withRules, pendingRules{g, sg.Rules, where})
		}
	}
	return withRules
}

func (b *seedBuilder) group(i int, sg SeedSecurityGroup) (*group, string, bool) {
	w := b.w
	where := fmt.Sprintf("securityGroups[%d]", i)
	rid := b.regionOf(where, sg.RegionID)
	if rid == "" {
		return nil, "", false
	}
	id := b.claim(where, sg.ID, "sg-", rid)
	where += " (" + id + ")"
	if sg.VpcID == "" {
		if !w.regions[rid].Classic {
			b.errs.add("%s: no vpcId and region %s has no classic network", where, rid)
			return nil, "", false
		}
	} else if vp := w.vpcs[sg.VpcID]; vp == nil || vp.RegionID != rid {
		b.errs.add("%s: vpcId %q is not a seeded VPC of %s", where, sg.VpcID, rid)
		return nil, "", false
	}
	typ := sg.Type
	if typ == "" {
		typ = groupNormal
	}
	if typ != groupNormal && typ != groupEnterprise {
		b.errs.add("%s: type %q must be normal or enterprise", where, typ)
	}
	policy := sg.InnerAccessPolicy
	if policy == "" {
		policy = "Accept"
		if typ == groupEnterprise {
			policy = "Drop"
		}
	}
	if policy != "Accept" && policy != "Drop" {
		b.errs.add("%s: innerAccessPolicy %q must be Accept or Drop", where, policy)
	}
	g := &group{ID: id, Name: sg.Name, Description: sg.Description, RegionID: rid, VpcID: sg.VpcID, Type: typ,
		ResourceGroupID: sg.ResourceGroupID, ServiceManaged: sg.ServiceManaged, ServiceID: sg.ServiceID,
		DeletionProtection: sg.DeletionProtection, InnerAccessPolicy: policy,
		CreatedAt: orNow(sg.CreationTime, b.now), Tags: toTags(sg.Tags)}
	if len(g.Tags) > 20 {
		b.errs.add("%s: more than 20 tags", where)
	}
	w.addGroup(g)
	return g, where, true
}

// rules adds one group's rules, validated as AuthorizeSecurityGroup would.
func (b *seedBuilder) rules(pr pendingRules) {
	seen := map[string]bool{}
	for j, sr := range pr.rules {
		where := fmt.Sprintf("%s.rules[%d]", pr.where, j)
		dir := sr.Direction
		if dir == "" {
			dir = dirIngress
		}
		if dir != dirIngress && dir != dirEgress {
			b.errs.add("%s: direction %q must be ingress or egress", where, dir)
			continue
		}
		r, apiErr := b.scratch.buildRule(pr.g, dir, seedRuleInput(sr), false)
		if apiErr != nil {
			b.errs.add("%s: %s: %s", where, apiErr.Code, apiErr.Message)
			continue
		}
		if seen[r.identity()] {
			b.errs.add("%s: duplicate of an earlier rule", where)
			continue
		}
		seen[r.identity()] = true
		r.ID = b.claim(where, sr.RuleID, "sgr-", pr.g.RegionID)
		r.CreatedAt = orNow(sr.CreateTime, b.now)
		b.w.addRule(pr.g, r)
	}
	if len(pr.g.Rules) > b.opts.RulesPerGroup {
		b.errs.add("%s: %d rules exceed RulesPerGroup %d", pr.where, len(pr.g.Rules), b.opts.RulesPerGroup)
	}
}

// seedRuleInput is sr in AuthorizeSecurityGroup's parameter names.
func seedRuleInput(sr SeedRule) ruleInput {
	in := ruleInput{"IpProtocol": sr.IPProtocol, "PortRange": sr.PortRange, "SourcePortRange": sr.SourcePortRange,
		"SourceCidrIp": sr.SourceCidrIP, "Ipv6SourceCidrIp": sr.Ipv6SourceCidrIP, "SourceGroupId": sr.SourceGroupID,
		"SourcePrefixListId": sr.SourcePrefixListID, "DestCidrIp": sr.DestCidrIP, "Ipv6DestCidrIp": sr.Ipv6DestCidrIP,
		"DestGroupId": sr.DestGroupID, "DestPrefixListId": sr.DestPrefixListID, "Policy": sr.Policy,
		"NicType": sr.NicType, "Description": sr.Description}
	if sr.Priority != 0 {
		in["Priority"] = fmt.Sprint(sr.Priority)
	}
	return in
}

// instance adds one instance with its network, groups, status and primary
// ENI.
func (b *seedBuilder) instance(i int, si SeedInstance) {
	w := b.w
	where := fmt.Sprintf("instances[%d]", i)
	rid := b.regionOf(where, si.RegionID)
	if rid == "" {
		return
	}
	id := b.claim(where, si.ID, "i-", rid)
	where += " (" + id + ")"
	in := newSeedInstance(w, id, rid, si, b.now)
	if !b.instanceNetwork(where, in, si) {
		return
	}
	if in.GroupLimit < 0 || in.GroupLimit > MaxGroupsPerInstanceQuota {
		b.errs.add("%s: groupLimit %d outside 0..%d", where, in.GroupLimit, MaxGroupsPerInstanceQuota)
	}
	ok := b.instanceGroups(where, in, si.SecurityGroupIDs)
	status := si.Status
	if status == "" {
		status = statusRunning
	}
	if !instanceStatuses[status] {
		b.errs.add("%s: status %q is not one of Pending, Starting, Running, Stopping, Stopped", where, status)
		return
	}
	if !ok || len(in.Groups) == 0 {
		return
	}
	w.addInstance(in)
	if in.PrimaryENI != "" {
		w.addENI(&eni{ID: in.PrimaryENI, RegionID: rid, ZoneID: in.ZoneID, VpcID: in.VpcID, VSwitchID: in.VSwitchID,
			Type: eniPrimary, Status: eniInUse, InstanceID: in.ID, PrivateIP: in.PrivateIP, MAC: in.MAC,
			CreatedAt: in.CreatedAt})
	}
	in.Status = status
	b.instanceTransition(in, si.StatusUntil)
}

// newSeedInstance is si with ECS's defaults for name, image, type and MAC.
func newSeedInstance(w *world, id, rid string, si SeedInstance, now time.Time) *instance {
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
	return in
}

// instanceNetwork places in in its vSwitch (VPC) or in the classic network;
// it reports false when the instance cannot be placed at all.
func (b *seedBuilder) instanceNetwork(where string, in *instance, si SeedInstance) bool {
	w := b.w
	if si.VSwitchID != "" {
		vsw := w.vswitches[si.VSwitchID]
		if vsw == nil || w.vpcs[vsw.VpcID].RegionID != in.RegionID {
			b.errs.add("%s: vSwitchId %q is not a seeded vSwitch of %s", where, si.VSwitchID, in.RegionID)
			return false
		}
		if si.NetworkType != "" && si.NetworkType != netVPC {
			b.errs.add("%s: networkType %q conflicts with vSwitchId", where, si.NetworkType)
		}
		if in.ZoneID != "" && in.ZoneID != vsw.ZoneID {
			b.errs.add("%s: zoneId %s differs from the vSwitch's zone %s", where, in.ZoneID, vsw.ZoneID)
		}
		in.NetworkType, in.VpcID, in.VSwitchID, in.ZoneID = netVPC, vsw.VpcID, vsw.ID, vsw.ZoneID
		if in.PrivateIP == "" {
			ip, ok := vsw.allocIP()
			if !ok {
				b.errs.add("%s: vSwitch %s has no free address", where, vsw.ID)
			}
			in.PrivateIP = ip
		}
		in.PrimaryENI = b.claim(where+".primaryNetworkInterfaceId", si.PrimaryENIID, "eni-", in.RegionID)
		return true
	}
	rg := w.regions[in.RegionID]
	if si.NetworkType != "" && si.NetworkType != netClassic {
		b.errs.add("%s: networkType %q needs a vSwitchId", where, si.NetworkType)
		return false
	}
	if !rg.Classic {
		b.errs.add("%s: no vSwitchId and region %s has no classic network", where, in.RegionID)
		return false
	}
	if si.PrimaryENIID != "" {
		b.errs.add("%s: classic instances have no primary network interface", where)
	}
	in.NetworkType = netClassic
	if in.ZoneID == "" && len(rg.Zones) > 0 {
		in.ZoneID = rg.Zones[0]
	}
	if in.PrivateIP == "" {
		in.PrivateIP = w.classicIP()
	}
	return true
}

// instanceGroups puts in in its groups; it reports false when one of them
// cannot hold it.
func (b *seedBuilder) instanceGroups(where string, in *instance, groupIDs []string) bool {
	limit := b.opts.GroupsPerInstance
	if in.GroupLimit > 0 {
		limit = in.GroupLimit
	}
	switch {
	case len(groupIDs) == 0:
		b.errs.add("%s: securityGroupIds must name at least one group", where)
	case len(groupIDs) > limit:
		b.errs.add("%s: %d groups exceed the limit %d", where, len(groupIDs), limit)
	}
	typ := ""
	ok := true
	for _, gid := range groupIDs {
		g := b.w.groups[gid]
		switch {
		case g == nil || g.RegionID != in.RegionID:
			b.errs.add("%s: security group %q is not seeded in %s", where, gid, in.RegionID)
			ok = false
		case g.VpcID != in.VpcID:
			b.errs.add("%s: security group %s is in network %q, the instance in %q", where, gid, g.networkType()+":"+g.VpcID, in.NetworkType+":"+in.VpcID)
			ok = false
		case contains(in.Groups, gid):
			b.errs.add("%s: security group %s listed twice", where, gid)
			ok = false
		case typ != "" && g.Type != typ:
			b.errs.add("%s: mixes normal and enterprise groups", where)
			ok = false
		default:
			typ = g.Type
			in.Groups = append(in.Groups, gid)
		}
	}
	return ok
}

// instanceTransition schedules the end of a transitional status (Pending,
// Starting, Stopping) at until, or after the status's usual duration.
func (b *seedBuilder) instanceTransition(in *instance, until time.Time) {
	var d time.Duration
	switch in.Status {
	case statusPending:
		d = b.opts.PendingDuration
	case statusStarting:
		d = b.opts.StartingDuration
	case statusStopping:
		d = b.opts.StoppingDuration
	default:
		return // a stable status: a statusUntil means nothing
	}
	in.nextAt = orNowPlus(until, b.now, d)
	b.w.transitional[in.ID] = in
}

// groupCapacities checks that no group has more members than it can hold.
func (b *seedBuilder) groupCapacities() {
	for _, g := range b.w.groups {
		if n := len(g.members); n > b.scratch.groupCapacity(g) {
			b.errs.add("security group %s: %d members exceed its capacity %d", g.ID, n, b.scratch.groupCapacity(g))
		}
	}
}

// networkInterface adds one secondary ENI, attached or available.
func (b *seedBuilder) networkInterface(i int, se SeedNetworkInterface) {
	w := b.w
	where := fmt.Sprintf("networkInterfaces[%d]", i)
	vsw := w.vswitches[se.VSwitchID]
	if vsw == nil {
		b.errs.add("%s: vSwitchId %q is not a seeded vSwitch", where, se.VSwitchID)
		return
	}
	rid := w.vpcs[vsw.VpcID].RegionID
	id := b.claim(where, se.ID, "eni-", rid)
	where += " (" + id + ")"
	ni := &eni{ID: id, Name: se.Name, Description: se.Description, RegionID: rid, ZoneID: vsw.ZoneID,
		VpcID: vsw.VpcID, VSwitchID: vsw.ID, Type: eniSecondary, Status: eniAvailable, PrivateIP: se.PrivateIPAddress,
		MAC: se.MacAddress, CreatedAt: orNow(se.CreationTime, b.now), Tags: toTags(se.Tags), GroupLimit: se.GroupLimit}
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
			b.errs.add("%s: instanceId %q is not a seeded instance", where, se.InstanceID)
			return
		case in.VpcID != ni.VpcID || in.ZoneID != ni.ZoneID:
			b.errs.add("%s: instance %s is not in the ENI's VPC and zone", where, in.ID)
			return
		}
		ni.Status, ni.InstanceID = eniInUse, in.ID
	}
	if b.eniGroups(where, ni, se.SecurityGroupIDs) {
		w.addENI(ni)
	}
}

func (b *seedBuilder) eniGroups(where string, ni *eni, groupIDs []string) bool {
	limit := b.opts.GroupsPerInstance
	if ni.GroupLimit > 0 {
		limit = ni.GroupLimit
	}
	if len(groupIDs) == 0 || len(groupIDs) > limit {
		b.errs.add("%s: securityGroupIds must name 1..%d groups", where, limit)
		return false
	}
	ok := true
	for _, gid := range groupIDs {
		g := b.w.groups[gid]
		if g == nil || g.VpcID != ni.VpcID || contains(ni.Groups, gid) {
			b.errs.add("%s: security group %q is unknown, repeated or not in VPC %s", where, gid, ni.VpcID)
			ok = false
			continue
		}
		ni.Groups = append(ni.Groups, gid)
	}
	return ok
}

// launchTemplate adds one launch template with its versions.
func (b *seedBuilder) launchTemplate(i int, st SeedLaunchTemplate) {
	where := fmt.Sprintf("launchTemplates[%d]", i)
	rid := b.regionOf(where, st.RegionID)
	if rid == "" {
		return
	}
	id := b.claim(where, st.ID, "lt-", rid)
	where += " (" + id + ")"
	if st.Name == "" {
		b.errs.add("%s: name is required", where)
	}
	t := &template{ID: id, Name: st.Name, RegionID: rid, CreatedAt: orNow(st.CreateTime, b.now), Tags: toTags(st.Tags)}
	t.ModifiedAt = t.CreatedAt
	for j, sv := range st.Versions {
		if v := b.templateVersion(fmt.Sprintf("%s.versions[%d]", where, j), sv, t.CreatedAt); v != nil {
			t.Versions = append(t.Versions, v)
			if v.CreatedAt.After(t.ModifiedAt) {
				t.ModifiedAt = v.CreatedAt
			}
		}
	}
	sort.Slice(t.Versions, func(a, c int) bool { return t.Versions[a].Number < t.Versions[c].Number })
	for j := 1; j < len(t.Versions); j++ {
		if t.Versions[j].Number == t.Versions[j-1].Number {
			b.errs.add("%s: version %d repeated", where, t.Versions[j].Number)
		}
	}
	if len(t.Versions) == 0 {
		b.errs.add("%s: at least one version is required", where)
		return
	}
	t.DefaultVersion = st.DefaultVersion
	if t.DefaultVersion == 0 {
		t.DefaultVersion = t.Versions[0].Number
	}
	if !t.hasVersion(t.DefaultVersion) {
		b.errs.add("%s: defaultVersion %d is not one of its versions", where, t.DefaultVersion)
	}
	b.w.templates[id] = t
	b.w.regions[rid].templates.add(id)
}

// templateVersion builds one version; group IDs are checked for form only
// (templates naming deleted groups are realistic).
func (b *seedBuilder) templateVersion(where string, sv SeedTemplateVersion, created time.Time) *templateVersion {
	if sv.VersionNumber < 1 {
		b.errs.add("%s: versionNumber must be at least 1", where)
		return nil
	}
	for _, gid := range append([]string{sv.SecurityGroupID}, sv.SecurityGroupIDs...) {
		if gid != "" && !validID(gid, "sg-") {
			b.errs.add("%s: %q is not a security group id", where, gid)
		}
	}
	v := &templateVersion{Number: sv.VersionNumber, Description: sv.Description, CreatedAt: orNow(sv.CreateTime, created),
		ImageID: sv.ImageID, InstanceType: sv.InstanceType, InstanceName: sv.InstanceName, VpcID: sv.VpcID,
		VSwitchID: sv.VSwitchID, ZoneID: sv.ZoneID, SecurityGroupID: sv.SecurityGroupID,
		SecurityGroupIDs: append([]string{}, sv.SecurityGroupIDs...), Tags: toTags(sv.Tags)}
	for _, n := range sv.NetworkInterfaces {
		v.NetworkInterfaces = append(v.NetworkInterfaces, templateNIC{SecurityGroupID: n.SecurityGroupID,
			SecurityGroupIDs: append([]string{}, n.SecurityGroupIDs...), VSwitchID: n.VSwitchID, Type: n.Type})
	}
	return v
}

func (t *template) hasVersion(n int64) bool {
	for _, v := range t.Versions {
		if v.Number == n {
			return true
		}
	}
	return false
}
