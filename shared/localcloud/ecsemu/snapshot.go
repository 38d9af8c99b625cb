package ecsemu

import (
	"net/http"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
)

// Snapshot is the full emulated state at Time (emulated clock), in the seed
// format: every ID, status, membership, rule and tag is filled in, instances
// list their groups in join order, and groups their rules in creation order.
// Feeding its Seed back to Service.Seed recreates the state.
type Snapshot struct {
	Time time.Time `json:"time"`
	Seed
}

func seedTags(t tagList) []SeedTag {
	if len(t) == 0 {
		return nil
	}
	out := make([]SeedTag, len(t))
	for i, x := range t {
		out[i] = SeedTag(x)
	}
	return out
}

// Snapshot returns the current state. Lists are sorted by ID within region
// order. Due lifecycle transitions are applied (and their events published)
// first, so statuses match the emulated clock.
func (s *Service) Snapshot() Snapshot {
	s.Tick()
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.w
	snap := Snapshot{Time: s.env.Clock.Now()}
	for _, rid := range w.regionIDs {
		rg := w.regions[rid]
		snap.Regions = append(snap.Regions, SeedRegion{RegionID: rid, LocalName: rg.LocalName,
			Zones: append([]string{}, rg.Zones...), Classic: rg.Classic})
		for _, id := range rg.vpcs {
			v := w.vpcs[id]
			snap.VPCs = append(snap.VPCs, SeedVPC{ID: id, RegionID: rid, Name: v.Name, CidrBlock: v.CidrBlock})
			for _, sid := range v.vswitches {
				vs := w.vswitches[sid]
				snap.VSwitches = append(snap.VSwitches, SeedVSwitch{ID: sid, VpcID: id, ZoneID: vs.ZoneID,
					Name: vs.Name, CidrBlock: vs.CidrBlock})
			}
		}
		for _, id := range rg.groups {
			g := w.groups[id]
			sg := SeedSecurityGroup{ID: id, RegionID: rid, Name: g.Name, Description: g.Description, VpcID: g.VpcID,
				Type: g.Type, ResourceGroupID: g.ResourceGroupID, ServiceManaged: g.ServiceManaged, ServiceID: g.ServiceID,
				DeletionProtection: g.DeletionProtection, InnerAccessPolicy: g.InnerAccessPolicy,
				CreationTime: g.CreatedAt, Tags: seedTags(g.Tags)}
			for _, r := range g.Rules {
				sg.Rules = append(sg.Rules, SeedRule{RuleID: r.ID, Direction: r.Direction, IPProtocol: r.Protocol,
					PortRange: r.PortRange, SourcePortRange: r.SourcePortRange, SourceCidrIP: r.SourceCidrIP,
					Ipv6SourceCidrIP: r.Ipv6SourceCidrIP, SourceGroupID: r.SourceGroupID,
					SourcePrefixListID: r.SourcePrefixListID, DestCidrIP: r.DestCidrIP, Ipv6DestCidrIP: r.Ipv6DestCidrIP,
					DestGroupID: r.DestGroupID, DestPrefixListID: r.DestPrefixListID, Policy: r.Policy,
					Priority: r.Priority, NicType: r.NicType, Description: r.Description, CreateTime: r.CreatedAt})
			}
			snap.SecurityGroups = append(snap.SecurityGroups, sg)
		}
		for _, id := range rg.instances {
			in := w.instances[id]
			snap.Instances = append(snap.Instances, SeedInstance{ID: id, RegionID: rid, Name: in.Name,
				Description: in.Description, ZoneID: in.ZoneID, VSwitchID: in.VSwitchID, NetworkType: in.NetworkType,
				ImageID: in.ImageID, InstanceType: in.InstanceType, Status: in.Status, StatusUntil: in.nextAt,
				SecurityGroupIDs: append([]string{}, in.Groups...), GroupLimit: in.GroupLimit,
				PrivateIPAddress: in.PrivateIP, MacAddress: in.MAC, PrimaryENIID: in.PrimaryENI,
				CreationTime: in.CreatedAt, Tags: seedTags(in.Tags)})
		}
		for _, id := range rg.enis {
			ni := w.enis[id]
			if ni.Type != eniSecondary {
				continue
			}
			snap.NetworkInterfaces = append(snap.NetworkInterfaces, SeedNetworkInterface{ID: id, Name: ni.Name,
				Description: ni.Description, VSwitchID: ni.VSwitchID, InstanceID: ni.InstanceID,
				SecurityGroupIDs: append([]string{}, ni.Groups...), GroupLimit: ni.GroupLimit,
				PrivateIPAddress: ni.PrivateIP, MacAddress: ni.MAC, CreationTime: ni.CreatedAt, Tags: seedTags(ni.Tags)})
		}
		for _, id := range rg.templates {
			t := w.templates[id]
			st := SeedLaunchTemplate{ID: id, Name: t.Name, RegionID: rid, DefaultVersion: t.DefaultVersion,
				CreateTime: t.CreatedAt, Tags: seedTags(t.Tags)}
			for _, v := range t.Versions {
				sv := SeedTemplateVersion{VersionNumber: v.Number, Description: v.Description, CreateTime: v.CreatedAt,
					ImageID: v.ImageID, InstanceType: v.InstanceType, InstanceName: v.InstanceName, VpcID: v.VpcID,
					VSwitchID: v.VSwitchID, ZoneID: v.ZoneID, SecurityGroupID: v.SecurityGroupID,
					SecurityGroupIDs: append([]string{}, v.SecurityGroupIDs...), Tags: seedTags(v.Tags)}
				for _, n := range v.NetworkInterfaces {
					sv.NetworkInterfaces = append(sv.NetworkInterfaces, SeedTemplateNIC{Type: n.Type, VSwitchID: n.VSwitchID,
						SecurityGroupID: n.SecurityGroupID, SecurityGroupIDs: append([]string{}, n.SecurityGroupIDs...)})
				}
				st.Versions = append(st.Versions, sv)
			}
			snap.LaunchTemplates = append(snap.LaunchTemplates, st)
		}
	}
	return snap
}

// MaxSeedBytes bounds the body of the admin seed endpoint.
const MaxSeedBytes = 64 << 20

// AdminHandler serves ECS-specific controls, relative to wherever it is
// mounted (it matches the last path element):
//
//	POST seed      body: Seed JSON; replaces the state (204, or 400 with the reasons)
//	GET  snapshot  the Snapshot as JSON
//
// Clock, counters, latency, rate limits and faults live in core and are
// served by the localcloud server.
func (s *Service) AdminHandler() http.Handler {
	return core.SeedSnapshotHandler("ecsemu", MaxSeedBytes, s.Seed, func() any { return s.Snapshot() })
}
