package domain

import (
	"regexp"
	"sort"
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

var (
	instanceIDPattern = regexp.MustCompile(`^i-[a-z0-9]{8,30}$`)
	groupIDPattern    = regexp.MustCompile(`^sg-[a-z0-9]{8,30}$`)
	vpcIDPattern      = regexp.MustCompile(`^vpc-[a-z0-9]{8,30}$`)
	regionIDPattern   = regexp.MustCompile(`^[a-z]{2,}(-[a-z0-9]+){1,3}$`)
	accountIDPattern  = regexp.MustCompile(`^[0-9]{10,20}$`)
)

// ValidInstanceID reports whether id has the shape of an ECS instance ID.
func ValidInstanceID(id string) bool { return instanceIDPattern.MatchString(id) }

// ValidGroupID reports whether id has the shape of a security group ID.
func ValidGroupID(id string) bool { return groupIDPattern.MatchString(id) }

// ValidVPCID reports whether id has the shape of a VPC ID.
func ValidVPCID(id string) bool { return vpcIDPattern.MatchString(id) }

// ValidRegionID reports whether id has the shape of a region ID (cn-hangzhou, ap-southeast-1).
func ValidRegionID(id string) bool { return regionIDPattern.MatchString(id) }

// ValidAccountID reports whether id has the shape of an Alibaba Cloud account (UID).
func ValidAccountID(id string) bool { return accountIDPattern.MatchString(id) }

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
