package domain

import (
	"sort"
	"strings"
	"time"
)

// NetworkType is the network an instance or a security group lives in.
type NetworkType string

const (
	NetworkVPC     NetworkType = "vpc"
	NetworkClassic NetworkType = "classic"
)

// InstanceStatus is the ECS API status of an instance.
type InstanceStatus string

const (
	StatusPending  InstanceStatus = "Pending"
	StatusStarting InstanceStatus = "Starting"
	StatusRunning  InstanceStatus = "Running"
	StatusStopping InstanceStatus = "Stopping"
	StatusStopped  InstanceStatus = "Stopped"
)

// CanChangeGroups reports whether ECS accepts Join/LeaveSecurityGroup for an
// instance in this status (Running or Stopped only).
func (s InstanceStatus) CanChangeGroups() bool {
	return s == StatusRunning || s == StatusStopped
}

// StillStarting reports whether the instance is on its way to Running, so a
// membership change should simply be retried a little later.
func (s InstanceStatus) StillStarting() bool {
	return s == StatusPending || s == StatusStarting
}

// Tags is a resource's tag set.
type Tags map[string]string

// Instance is what sgpilot needs to know about an ECS instance.
type Instance struct {
	ID          string
	RegionID    string
	NetworkType NetworkType
	VPCID       string // empty for classic instances
	Status      InstanceStatus
	Tags        Tags
	GroupIDs    []string // current security groups, in ECS order
}

// NetworkKey names the network an instance or group belongs to, so that
// lookups can be shared by every instance of the same VPC.
type NetworkKey struct {
	RegionID string
	VPCID    string // empty for the classic network
}

// Network returns the instance's network key.
func (i Instance) Network() NetworkKey {
	if i.NetworkType == NetworkClassic {
		return NetworkKey{RegionID: i.RegionID}
	}
	return NetworkKey{RegionID: i.RegionID, VPCID: i.VPCID}
}

// SecurityGroup is what sgpilot needs to know about a security group.
type SecurityGroup struct {
	ID             string
	Name           string
	Description    string
	RegionID       string
	VPCID          string // empty for classic groups
	Type           string // "normal" (basic) or "enterprise" (advanced)
	Tags           Tags
	ServiceManaged bool
	CreationTime   time.Time
}

// NetworkType returns the group's network type, derived from its VPC.
func (g SecurityGroup) NetworkType() NetworkType {
	if g.VPCID == "" {
		return NetworkClassic
	}
	return NetworkVPC
}

// Network returns the group's network key.
func (g SecurityGroup) Network() NetworkKey {
	return NetworkKey{RegionID: g.RegionID, VPCID: g.VPCID}
}

// The ID checks are hand-written rather than regular expressions: events
// are validated on every invocation, and compiling patterns at package
// init was a measurable share of the functions' cold start.

// ValidInstanceID reports whether id has the shape of an ECS instance ID
// (i- and 8 to 30 lowercase letters or digits).
func ValidInstanceID(id string) bool { return prefixedID(id, "i-", 8, 30) }

// ValidGroupID reports whether id has the shape of a security group ID.
func ValidGroupID(id string) bool { return prefixedID(id, "sg-", 8, 30) }

// ValidVPCID reports whether id has the shape of a VPC ID.
func ValidVPCID(id string) bool { return prefixedID(id, "vpc-", 8, 30) }

// ValidPrefixListID reports whether id has the shape of a prefix list ID.
func ValidPrefixListID(id string) bool { return prefixedID(id, "pl-", 4, 40) }

// ValidRegionID reports whether id has the shape of a region ID
// (cn-hangzhou, ap-southeast-1): two or more lowercase letters, then one
// to three dash-separated parts of lowercase letters or digits.
func ValidRegionID(id string) bool {
	parts := strings.Split(id, "-")
	if len(parts) < 2 || len(parts) > 4 || len(parts[0]) < 2 {
		return false
	}
	for _, c := range []byte(parts[0]) {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	for _, p := range parts[1:] {
		if p == "" || !lowerAlnum(p) {
			return false
		}
	}
	return true
}

// ValidAccountID reports whether id has the shape of an Alibaba Cloud
// account (UID): 10 to 20 digits.
func ValidAccountID(id string) bool {
	if len(id) < 10 || len(id) > 20 {
		return false
	}
	for _, c := range []byte(id) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// prefixedID reports whether id is prefix followed by min to max
// lowercase letters or digits.
func prefixedID(id, prefix string, min, max int) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	return ok && len(rest) >= min && len(rest) <= max && lowerAlnum(rest)
}

// lowerAlnum reports whether s holds only a-z and 0-9.
func lowerAlnum(s string) bool {
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// SortedUnique returns ids sorted with duplicates and empties removed.
func SortedUnique(ids []string) []string {
	out := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}
