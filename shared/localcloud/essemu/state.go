package essemu

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
)

// Seed is the whole ESS and ECI state of the account.
type Seed struct {
	ScalingGroups         []SeedScalingGroup         `json:"scalingGroups,omitempty"`
	ScalingConfigurations []SeedScalingConfiguration `json:"scalingConfigurations,omitempty"`
	ContainerGroups       []SeedContainerGroup       `json:"containerGroups,omitempty"`
}

// SeedScalingGroup is one scaling group. GroupType is "ECS" (default) or
// "ECI". LifecycleState is "Active" (default) or "Inactive" (disabled).
// A launch-template-based group names LaunchTemplateID and
// LaunchTemplateVersion ("Default", "Latest" or a number).
type SeedScalingGroup struct {
	ID                    string    `json:"id,omitempty"`
	Name                  string    `json:"name"`
	RegionID              string    `json:"regionId,omitempty"`
	GroupType             string    `json:"groupType,omitempty"`
	LifecycleState        string    `json:"lifecycleState,omitempty"`
	MinSize               int       `json:"minSize,omitempty"`
	MaxSize               int       `json:"maxSize,omitempty"`
	InstanceCount         int       `json:"instanceCount,omitempty"`
	VpcID                 string    `json:"vpcId,omitempty"`
	VSwitchIDs            []string  `json:"vSwitchIds,omitempty"`
	LaunchTemplateID      string    `json:"launchTemplateId,omitempty"`
	LaunchTemplateVersion string    `json:"launchTemplateVersion,omitempty"`
	CreateTime            time.Time `json:"createTime,omitzero"`
}

// SeedScalingConfiguration is one scaling configuration of a scaling group
// (an ECI one when its group is ECI-type). Active makes it the group's
// active configuration (at most one per group).
type SeedScalingConfiguration struct {
	ID               string     `json:"id,omitempty"`
	Name             string     `json:"name"`
	ScalingGroupID   string     `json:"scalingGroupId"`
	Active           bool       `json:"active,omitempty"`
	ImageID          string     `json:"imageId,omitempty"`
	InstanceType     string     `json:"instanceType,omitempty"`
	SecurityGroupID  string     `json:"securityGroupId,omitempty"`
	SecurityGroupIDs []string   `json:"securityGroupIds,omitempty"`
	NetworkInterface [][]string `json:"networkInterfaceSecurityGroupIds,omitempty"`
	CreateTime       time.Time  `json:"createTime,omitzero"`
}

// SeedContainerGroup is one ECI container group.
type SeedContainerGroup struct {
	ID              string    `json:"id,omitempty"`
	Name            string    `json:"name"`
	RegionID        string    `json:"regionId,omitempty"`
	Status          string    `json:"status,omitempty"` // default Running
	SecurityGroupID string    `json:"securityGroupId"`
	VpcID           string    `json:"vpcId,omitempty"`
	VSwitchID       string    `json:"vSwitchId,omitempty"`
	CreateTime      time.Time `json:"createTime,omitzero"`
}

// state holds everything; guarded by Service.mu. Lists keep creation order,
// which is the order of the Describe answers.
type state struct {
	groups     map[string]*SeedScalingGroup
	groupOrder []string
	configs    map[string]*SeedScalingConfiguration
	cfgOrder   []string
	containers map[string]*SeedContainerGroup
	cgOrder    []string
}

func newState() *state {
	return &state{groups: map[string]*SeedScalingGroup{}, configs: map[string]*SeedScalingConfiguration{},
		containers: map[string]*SeedContainerGroup{}}
}

// Seed replaces the whole state. It validates everything first and changes
// nothing on error.
func (s *Service) Seed(sd Seed) error {
	st := newState()
	now := s.env.Clock.Now()
	for _, g := range sd.ScalingGroups {
		if err := s.addGroup(st, g, now); err != nil {
			return err
		}
	}
	for _, c := range sd.ScalingConfigurations {
		if err := addConfig(st, c, now); err != nil {
			return err
		}
	}
	for _, c := range sd.ContainerGroups {
		if err := s.addContainer(st, c, now); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.st = st
	s.mu.Unlock()
	return nil
}

// AddScalingGroup adds one scaling group and returns its ID.
func (s *Service) AddScalingGroup(g SeedScalingGroup) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.addGroup(s.st, g, s.env.Clock.Now()); err != nil {
		return "", err
	}
	return s.st.groupOrder[len(s.st.groupOrder)-1], nil
}

// AddScalingConfiguration adds one scaling configuration and returns its ID.
func (s *Service) AddScalingConfiguration(c SeedScalingConfiguration) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := addConfig(s.st, c, s.env.Clock.Now()); err != nil {
		return "", err
	}
	return s.st.cfgOrder[len(s.st.cfgOrder)-1], nil
}

// AddContainerGroup adds one ECI container group and returns its ID.
func (s *Service) AddContainerGroup(c SeedContainerGroup) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.addContainer(s.st, c, s.env.Clock.Now()); err != nil {
		return "", err
	}
	return s.st.cgOrder[len(s.st.cgOrder)-1], nil
}

// SetInstanceCount sets a scaling group's TotalInstanceCount (a scale-in to
// zero or a scale-out, without any ECS instance).
func (s *Service) SetInstanceCount(groupID string, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.st.groups[groupID]
	if g == nil || n < 0 {
		return fmt.Errorf("essemu: no scaling group %s (or negative count)", groupID)
	}
	g.InstanceCount = n
	return nil
}

// SetContainerGroupStatus changes a container group's status.
func (s *Service) SetContainerGroupStatus(id, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.st.containers[id]
	if c == nil {
		return fmt.Errorf("essemu: no container group %s", id)
	}
	c.Status = status
	return nil
}

// Snapshot returns the state as a Seed.
func (s *Service) Snapshot() Seed {
	s.mu.Lock()
	defer s.mu.Unlock()
	var sd Seed
	for _, id := range s.st.groupOrder {
		sd.ScalingGroups = append(sd.ScalingGroups, *s.st.groups[id])
	}
	for _, id := range s.st.cfgOrder {
		sd.ScalingConfigurations = append(sd.ScalingConfigurations, *s.st.configs[id])
	}
	for _, id := range s.st.cgOrder {
		sd.ContainerGroups = append(sd.ContainerGroups, *s.st.containers[id])
	}
	return sd
}

func (s *Service) addGroup(st *state, g SeedScalingGroup, now time.Time) error {
	if g.RegionID == "" {
		g.RegionID = s.opts.Region
	}
	if g.ID == "" {
		g.ID = core.NewResourceID("asg-", core.RegionCode(g.RegionID))
	}
	if !strings.HasPrefix(g.ID, "asg-") || st.groups[g.ID] != nil {
		return fmt.Errorf("essemu: scaling group id %q is not asg-… or is taken", g.ID)
	}
	if g.GroupType == "" {
		g.GroupType = "ECS"
	}
	if g.GroupType != "ECS" && g.GroupType != "ECI" {
		return fmt.Errorf("essemu: scaling group %s: groupType must be ECS or ECI", g.ID)
	}
	if g.LifecycleState == "" {
		g.LifecycleState = "Active"
	}
	if g.LifecycleState != "Active" && g.LifecycleState != "Inactive" {
		return fmt.Errorf("essemu: scaling group %s: lifecycleState must be Active or Inactive", g.ID)
	}
	if g.LaunchTemplateID != "" && g.LaunchTemplateVersion == "" {
		g.LaunchTemplateVersion = "Default"
	}
	if g.MaxSize < g.InstanceCount {
		g.MaxSize = g.InstanceCount
	}
	if g.CreateTime.IsZero() {
		g.CreateTime = now
	}
	g.VSwitchIDs = append([]string(nil), g.VSwitchIDs...)
	st.groups[g.ID] = &g
	st.groupOrder = append(st.groupOrder, g.ID)
	return nil
}

func addConfig(st *state, c SeedScalingConfiguration, now time.Time) error {
	g := st.groups[c.ScalingGroupID]
	if g == nil {
		return fmt.Errorf("essemu: scaling configuration %q: scaling group %q does not exist", c.Name, c.ScalingGroupID)
	}
	if c.ID == "" {
		c.ID = core.NewResourceID("asc-", core.RegionCode(g.RegionID))
	}
	if !strings.HasPrefix(c.ID, "asc-") || st.configs[c.ID] != nil {
		return fmt.Errorf("essemu: scaling configuration id %q is not asc-… or is taken", c.ID)
	}
	for _, id := range append(append([]string{c.SecurityGroupID}, c.SecurityGroupIDs...), flatten(c.NetworkInterface)...) {
		if id != "" && !strings.HasPrefix(id, "sg-") {
			return fmt.Errorf("essemu: scaling configuration %s: %q is not a security group id", c.ID, id)
		}
	}
	if c.Active {
		for _, other := range st.configs {
			if other.ScalingGroupID == g.ID && other.Active {
				return fmt.Errorf("essemu: scaling group %s already has an active configuration (%s)", g.ID, other.ID)
			}
		}
	}
	if c.CreateTime.IsZero() {
		c.CreateTime = now
	}
	c.SecurityGroupIDs = append([]string(nil), c.SecurityGroupIDs...)
	st.configs[c.ID] = &c
	st.cfgOrder = append(st.cfgOrder, c.ID)
	return nil
}

func (s *Service) addContainer(st *state, c SeedContainerGroup, now time.Time) error {
	if c.RegionID == "" {
		c.RegionID = s.opts.Region
	}
	if c.ID == "" {
		c.ID = core.NewResourceID("eci-", core.RegionCode(c.RegionID))
	}
	if !strings.HasPrefix(c.ID, "eci-") || st.containers[c.ID] != nil {
		return fmt.Errorf("essemu: container group id %q is not eci-… or is taken", c.ID)
	}
	if !strings.HasPrefix(c.SecurityGroupID, "sg-") {
		return fmt.Errorf("essemu: container group %s needs a security group id", c.ID)
	}
	if c.Status == "" {
		c.Status = "Running"
	}
	if c.CreateTime.IsZero() {
		c.CreateTime = now
	}
	st.containers[c.ID] = &c
	st.cgOrder = append(st.cgOrder, c.ID)
	return nil
}

func flatten(xs [][]string) []string {
	var out []string
	for _, x := range xs {
		out = append(out, x...)
	}
	return out
}

// MaxSeedBytes bounds a seed posted to the admin handler.
const MaxSeedBytes = 16 << 20

// AdminHandler serves POST seed (a Seed as JSON) and GET snapshot.
func (s *Service) AdminHandler() http.Handler {
	return core.SeedSnapshotHandler("essemu", MaxSeedBytes, s.Seed, func() any { return s.Snapshot() })
}
