package domain

import (
	"fmt"
	"sort"
	"strings"
)

// The users of a security group beyond ECS's own dependency check
// (docs/group-users.md): things that keep a group in their stored
// configuration and launch with it later. ECS deletes a group that only these
// name, and the next launch fails, so the cleanup must see them itself.

// TemplateVersionUse is one launch template version that names a group (in
// SecurityGroupId, SecurityGroupIds or a network interface). Every version
// counts, not only the default and the latest: RunInstances, a scaling group
// or an operator may name any version number.
type TemplateVersionUse struct {
	TemplateID   string
	TemplateName string
	Version      int64
	// Default and Latest say what the version is right now; informative.
	Default, Latest bool
}

func (u TemplateVersionUse) String() string {
	return fmt.Sprintf("launch template %s (%s) version %d", u.TemplateID, u.TemplateName, u.Version)
}

// SortTemplateUses orders each group's uses by template, then version, so
// that listings (the adapter's and the fake's alike) compare equal.
func SortTemplateUses(byGroup map[string][]TemplateVersionUse) {
	for _, uses := range byGroup {
		sort.Slice(uses, func(i, j int) bool {
			if uses[i].TemplateID != uses[j].TemplateID {
				return uses[i].TemplateID < uses[j].TemplateID
			}
			return uses[i].Version < uses[j].Version
		})
	}
}

// ScalingUse is one Auto Scaling (ESS) scaling configuration that names a
// group, with its scaling group. Every configuration counts, whatever its
// state: an inactive configuration becomes active with one
// ModifyScalingGroup, a disabled scaling group with one EnableScalingGroup,
// and a group at zero instances scales out at the next alarm or schedule.
type ScalingUse struct {
	ConfigurationID   string
	ConfigurationName string
	// ConfigurationActive: the scaling group launches with it now.
	ConfigurationActive bool
	// ECI: an ECI scaling configuration (it launches container groups).
	ECI              bool
	ScalingGroupID   string
	ScalingGroupName string // "" if the scaling group appeared after the listing
	// ScalingGroupActive: the scaling group is enabled.
	ScalingGroupActive bool
	InstanceCount      int
}

func (u ScalingUse) String() string {
	state := "inactive"
	if u.ConfigurationActive {
		state = "active"
	}
	return fmt.Sprintf("scaling configuration %s (%s, %s) of scaling group %s (%s, %d instances)",
		u.ConfigurationID, u.ConfigurationName, state, u.ScalingGroupID, u.ScalingGroupName, u.InstanceCount)
}

// ContainerGroupUse is one ECI container group bound to a group, in a state
// that may still run (not Succeeded, Failed or Expired).
type ContainerGroupUse struct {
	ID, Name, Status string
}

func (u ContainerGroupUse) String() string {
	return fmt.Sprintf("ECI container group %s (%s, %s)", u.ID, u.Name, u.Status)
}

// Referrer is a group whose rules name another group, with its account (a
// rule may name a group of another account).
type Referrer struct {
	GroupID   string
	AccountID string // "" when the provider did not say
}

func (r Referrer) String() string {
	if r.AccountID == "" {
		return r.GroupID
	}
	return r.GroupID + " (account " + r.AccountID + ")"
}

// UserKind names one kind of user of a group, as a plan shows it.
type UserKind string

const (
	UserInstance             UserKind = "instances"
	UserENI                  UserKind = "enis"
	UserReference            UserKind = "referencing-groups"
	UserTemplateVersion      UserKind = "template-versions"
	UserScalingConfiguration UserKind = "scaling-configurations"
	UserContainerGroup       UserKind = "eci-container-groups"
)

// OptionalUserKind is a kind of user outside ECS that a deployment may
// choose to check (SGPILOT_CHECK_USERS): each needs its own RAM actions.
type OptionalUserKind string

const (
	// CheckESS: Auto Scaling scaling configurations (ECS and ECI type).
	CheckESS OptionalUserKind = "ess"
	// CheckECI: ECI container groups.
	CheckECI OptionalUserKind = "eci"
)

// OptionalUserKinds are the kinds SGPILOT_CHECK_USERS may name, in order.
var OptionalUserKinds = []OptionalUserKind{CheckESS, CheckECI}

// Describe says what an optional kind covers, for "not checked" lines.
func (k OptionalUserKind) Describe() string {
	switch k {
	case CheckESS:
		return "Auto Scaling scaling configurations"
	case CheckECI:
		return "ECI container groups"
	}
	return string(k)
}

// UncheckedUsers lists the kinds of user sgpilot never checks (the "Not
// checked" table of docs/group-users.md). Every plan names them, so an
// operator can protect a group such a service uses with the protect tag.
var UncheckedUsers = []string{
	"Function Compute vpcConfig",
	"RDS whitelists",
	"Redis/Tair whitelists",
	"MongoDB whitelists",
	"PolarDB whitelists",
	"ESS RDS attachments",
	"NLB",
	"ALB",
	"SAE applications",
	"Kafka instances",
	"NAS mount targets",
	"ACK control planes",
	"other accounts",
	"anything outside Alibaba Cloud (Terraform, ROS, scripts)",
}

// NotChecked returns the line a plan shows: the optional kinds left out
// (not in checked), then every kind sgpilot never checks.
func NotChecked(checked map[OptionalUserKind]bool) string {
	var parts []string
	for _, k := range OptionalUserKinds {
		if !checked[k] {
			parts = append(parts, k.Describe())
		}
	}
	parts = append(parts, UncheckedUsers...)
	return strings.Join(parts, ", ")
}
