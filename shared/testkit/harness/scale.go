package harness

import (
	"fmt"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
)

// CleanupScale is a seeded account for the cleanup benchmark: many groups in
// the cleanup's scope, most of them in use in the ways ECS accounts use
// groups, the rest unused. The ID lists say which group is which, so a test
// can check exactly what a cleanup deleted.
type CleanupScale struct {
	Seed ecsemu.Seed
	// Groups in scope by what uses them (each group has exactly one use, or none).
	ByInstance, ByENI, ByReference, ByTemplate, Unused []string
	// SelfReferencing are unused groups whose rules name themselves (which
	// keeps nothing).
	SelfReferencing []string
	// Resources besides the groups.
	Instances, SecondaryENIs, Templates, Referrers int
	// OutOfScope counts the seeded groups outside the scope (base groups).
	OutOfScope int
}

// InScope is the number of groups in the cleanup's scope.
func (s CleanupScale) InScope() int {
	return len(s.ByInstance) + len(s.ByENI) + len(s.ByReference) + len(s.ByTemplate) + len(s.Unused)
}

// Groups is every seeded group, in scope or not.
func (s CleanupScale) Groups() int { return len(s.Seed.SecurityGroups) }

// CleanupScaleSeed builds an account with n groups in scope (tag
// sgpilot:managed=true, created long ago), spread over the two demo VPCs:
// 40% joined by instances (four per instance, beside the VPC's base group),
// 15% on secondary ENIs (five per ENI, unattached), 10% referenced by the
// rules of instance-used groups (up to 20 per referencing group, ECS's
// limit), 5% named by launch templates (five by the default version, five
// by the latest one's network interface) and 30% unused (one in three of
// those with a rule naming itself). Only the base groups are out of scope.
func CleanupScaleSeed(n int) CleanupScale {
	demo := DemoSeed()
	old := time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC)
	seed := ecsemu.Seed{Regions: demo.Regions, VPCs: demo.VPCs, VSwitches: demo.VSwitches}
	var out CleanupScale
	for _, g := range demo.SecurityGroups {
		if len(g.Tags) == 0 { // the base groups
			g.CreationTime = old
			seed.SecurityGroups = append(seed.SecurityGroups, g)
			out.OutOfScope++
		}
	}
	type vpc struct {
		id, vsw, base                string
		inst, eni, ref, tmpl, unused []string
	}
	vpcs := []*vpc{{id: VPCA, vsw: VSwitchA, base: BaseA}, {id: VPCB, vsw: VSwitchB, base: BaseB}}
	groupAt := map[string]int{}
	for i := 0; i < n; i++ {
		v := vpcs[i%2]
		id := fmt.Sprintf("sg-bp1scale%011d", i)
		var list *[]string
		var kind string
		switch k := i % 20; {
		case k < 8:
			list, kind = &v.inst, "app"
		case k < 11:
			list, kind = &v.eni, "eni"
		case k < 13:
			list, kind = &v.ref, "peer"
		case k < 14:
			list, kind = &v.tmpl, "tmpl"
		default:
			list, kind = &v.unused, "old"
		}
		*list = append(*list, id)
		groupAt[id] = len(seed.SecurityGroups)
		seed.SecurityGroups = append(seed.SecurityGroups, ecsemu.SeedSecurityGroup{
			ID: id, VpcID: v.id, Name: fmt.Sprintf("%s-%05d", kind, i), Description: "benchmark group " + kind,
			CreationTime: old, Tags: []ecsemu.SeedTag{{Key: ManagedTagKey, Value: "true"}},
		})
	}
	rule := func(peer string) ecsemu.SeedRule {
		return ecsemu.SeedRule{IPProtocol: "tcp", PortRange: "22/22", SourceGroupID: peer, CreateTime: old}
	}
	for _, v := range vpcs {
		for start := 0; start < len(v.inst); start += 4 {
			gs := v.inst[start:min(start+4, len(v.inst))]
			seed.Instances = append(seed.Instances, ecsemu.SeedInstance{
				ID: fmt.Sprintf("i-bp1scale%011d", len(seed.Instances)), VSwitchID: v.vsw,
				SecurityGroupIDs: append([]string{v.base}, gs...), CreationTime: old,
			})
		}
		for start := 0; start < len(v.eni); start += 5 {
			seed.NetworkInterfaces = append(seed.NetworkInterfaces, ecsemu.SeedNetworkInterface{
				ID: fmt.Sprintf("eni-bp1scale%011d", len(seed.NetworkInterfaces)), VSwitchID: v.vsw,
				SecurityGroupIDs: append([]string(nil), v.eni[start:min(start+5, len(v.eni))]...), CreationTime: old,
			})
		}
		// Instance-used groups reference the peer groups, 20 each.
		for start, r := 0, 0; start < len(v.ref); start, r = start+20, r+1 {
			referrer := &seed.SecurityGroups[groupAt[v.inst[r%len(v.inst)]]]
			for _, peer := range v.ref[start:min(start+20, len(v.ref))] {
				referrer.Rules = append(referrer.Rules, rule(peer))
			}
			out.Referrers++
		}
		for start := 0; start < len(v.tmpl); start += 10 {
			gs := v.tmpl[start:min(start+10, len(v.tmpl))]
			def, latest := gs[:min(5, len(gs))], gs[min(5, len(gs)):]
			lt := ecsemu.SeedLaunchTemplate{
				ID: fmt.Sprintf("lt-bp1scale%011d", len(seed.LaunchTemplates)), Name: fmt.Sprintf("tmpl-%04d", len(seed.LaunchTemplates)),
				DefaultVersion: 1, CreateTime: old,
				Versions: []ecsemu.SeedTemplateVersion{{VersionNumber: 1, VpcID: v.id, VSwitchID: v.vsw, SecurityGroupIDs: def, CreateTime: old}},
			}
			if len(latest) > 0 {
				lt.Versions = append(lt.Versions, ecsemu.SeedTemplateVersion{VersionNumber: 2, VpcID: v.id, CreateTime: old,
					NetworkInterfaces: []ecsemu.SeedTemplateNIC{{VSwitchID: v.vsw, SecurityGroupIDs: latest}}})
			}
			seed.LaunchTemplates = append(seed.LaunchTemplates, lt)
		}
		for i, id := range v.unused {
			if i%3 == 0 {
				g := &seed.SecurityGroups[groupAt[id]]
				g.Rules = append(g.Rules, rule(id))
				out.SelfReferencing = append(out.SelfReferencing, id)
			}
		}
		out.ByInstance = append(out.ByInstance, v.inst...)
		out.ByENI = append(out.ByENI, v.eni...)
		out.ByReference = append(out.ByReference, v.ref...)
		out.ByTemplate = append(out.ByTemplate, v.tmpl...)
		out.Unused = append(out.Unused, v.unused...)
	}
	out.Seed = seed
	out.Instances, out.SecondaryENIs, out.Templates = len(seed.Instances), len(seed.NetworkInterfaces), len(seed.LaunchTemplates)
	return out
}
