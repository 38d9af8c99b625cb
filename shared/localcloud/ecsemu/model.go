package ecsemu

import (
	"encoding/binary"
	"fmt"
	"net"
)

// This file holds the world's mutations that keep its indexes consistent.
// All of them run with Service.mu held.

func (w *world) addGroup(g *group) {
	w.groups[g.ID] = g
	rg := w.regions[g.RegionID]
	rg.groups.add(g.ID)
	if g.VpcID == "" {
		rg.classicGroups.add(g.ID)
	} else {
		w.vpcs[g.VpcID].groups.add(g.ID)
	}
	w.indexTags(g.RegionID, resGroup, g.ID, g.Tags, true)
}

func (w *world) removeGroup(g *group) {
	for _, r := range g.Rules {
		w.dropRef(r.peerGroup(), g.ID)
	}
	delete(w.groups, g.ID)
	rg := w.regions[g.RegionID]
	rg.groups.remove(g.ID)
	if g.VpcID == "" {
		rg.classicGroups.remove(g.ID)
	} else if v := w.vpcs[g.VpcID]; v != nil {
		v.groups.remove(g.ID)
	}
	w.indexTags(g.RegionID, resGroup, g.ID, g.Tags, false)
}

func (w *world) addRule(g *group, r *rule) {
	g.Rules = append(g.Rules, r)
	w.addRef(r.peerGroup(), g.ID)
}

func (w *world) removeRule(g *group, i int) {
	r := g.Rules[i]
	w.dropRef(r.peerGroup(), g.ID)
	g.Rules = append(g.Rules[:i:i], g.Rules[i+1:]...)
}

func (w *world) addInstance(in *instance) {
	w.instances[in.ID] = in
	w.regions[in.RegionID].instances.add(in.ID)
	if in.VpcID != "" {
		w.vpcs[in.VpcID].instances.add(in.ID)
	}
	for _, gid := range in.Groups {
		w.groups[gid].members.add(in.ID)
	}
	w.indexTags(in.RegionID, resInstance, in.ID, in.Tags, true)
}

func (w *world) removeInstance(in *instance) {
	for _, gid := range in.Groups {
		if g := w.groups[gid]; g != nil {
			g.members.remove(in.ID)
		}
	}
	delete(w.instances, in.ID)
	delete(w.transitional, in.ID)
	w.regions[in.RegionID].instances.remove(in.ID)
	if v := w.vpcs[in.VpcID]; v != nil {
		v.instances.remove(in.ID)
	}
	w.indexTags(in.RegionID, resInstance, in.ID, in.Tags, false)
	if e := w.enis[in.PrimaryENI]; e != nil {
		w.removeENI(e)
	}
	for _, id := range in.ENIs {
		if e := w.enis[id]; e != nil {
			e.Status = eniAvailable
			e.InstanceID = ""
		}
	}
}

func (w *world) joinInstance(in *instance, g *group) {
	in.Groups = append(in.Groups, g.ID)
	g.members.add(in.ID)
}

func (w *world) leaveInstance(in *instance, g *group) {
	in.Groups = without(in.Groups, g.ID)
	g.members.remove(in.ID)
}

func (w *world) addENI(e *eni) {
	w.enis[e.ID] = e
	w.regions[e.RegionID].enis.add(e.ID)
	if e.Type == eniSecondary {
		for _, gid := range e.Groups {
			w.groups[gid].eniMembers.add(e.ID)
		}
	}
	if in := w.instances[e.InstanceID]; in != nil && e.Type == eniSecondary {
		in.ENIs.add(e.ID)
	}
	w.indexTags(e.RegionID, resENI, e.ID, e.Tags, true)
}

func (w *world) removeENI(e *eni) {
	if e.Type == eniSecondary {
		for _, gid := range e.Groups {
			if g := w.groups[gid]; g != nil {
				g.eniMembers.remove(e.ID)
			}
		}
	}
	if in := w.instances[e.InstanceID]; in != nil {
		in.ENIs.remove(e.ID)
	}
	delete(w.enis, e.ID)
	w.regions[e.RegionID].enis.remove(e.ID)
	w.indexTags(e.RegionID, resENI, e.ID, e.Tags, false)
}

// eniGroups returns the groups of e (the instance's for a primary ENI).
func (w *world) eniGroups(e *eni) []string {
	if e.Type == eniPrimary {
		if in := w.instances[e.InstanceID]; in != nil {
			return in.Groups
		}
	}
	return e.Groups
}

func (w *world) setTags(regionID, resType, id string, tags *tagList, set tagList) {
	w.indexTags(regionID, resType, id, *tags, false)
	for _, t := range set {
		replaced := false
		for i := range *tags {
			if (*tags)[i].Key == t.Key {
				(*tags)[i].Value = t.Value
				replaced = true
			}
		}
		if !replaced {
			*tags = append(*tags, t)
		}
	}
	w.indexTags(regionID, resType, id, *tags, true)
}

func (w *world) unsetTags(regionID, resType, id string, tags *tagList, keys []string, all bool) {
	w.indexTags(regionID, resType, id, *tags, false)
	if all {
		*tags = nil
	} else {
		var kept tagList
		for _, t := range *tags {
			if !contains(keys, t.Key) {
				kept = append(kept, t)
			}
		}
		*tags = kept
	}
	w.indexTags(regionID, resType, id, *tags, true)
}

// --- addresses ---

func newVSwitch(id, vpcID, zone, name, cidr string) (*vswitch, error) {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil || n.IP.To4() == nil {
		return nil, fmt.Errorf("vSwitch %s: cidrBlock %q is not an IPv4 CIDR", id, cidr)
	}
	ones, bits := n.Mask.Size()
	size := uint32(1) << uint(bits-ones)
	if size < 8 {
		return nil, fmt.Errorf("vSwitch %s: cidrBlock %q is smaller than /29", id, cidr)
	}
	return &vswitch{ID: id, VpcID: vpcID, ZoneID: zone, Name: name, CidrBlock: cidr,
		base: binary.BigEndian.Uint32(n.IP.To4()), size: size}, nil
}

// allocIP hands out the next free host address of the vSwitch (addresses
// are not reused; the first and the last three are reserved as in VPCs).
func (v *vswitch) allocIP() (string, bool) {
	if v.next >= v.size-3 {
		return "", false
	}
	v.next++
	return ipString(v.base + v.next), true
}

func ipString(u uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], u)
	return net.IP(b[:]).String()
}

// classicIP hands out the next inner address of the classic network (10.0.0.0/8).
func (w *world) classicIP() string {
	w.classicNext++
	return ipString(10<<24 + 0x10000 + w.classicNext)
}

func (w *world) mac() string {
	w.macNext++
	n := w.macNext
	return fmt.Sprintf("00:16:3e:%02x:%02x:%02x", byte(n>>16), byte(n>>8), byte(n))
}
