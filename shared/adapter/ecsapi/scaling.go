package ecsapi

import (
	"context"
	"sort"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ess"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// pageSize is the PageSize of the ESS Describe calls: their documented
// maximum (1..50).
const essPageSize = 50

// ScalingUse is one scaling configuration naming a group (see domain).
type ScalingUse = domain.ScalingUse

// TemplateRef is a scaling group that launches from a launch template: it
// uses every group that template version names (see ecsapi.TemplateGroups,
// which counts every version of every template as a use).
type TemplateRef struct {
	ScalingGroupID     string
	ScalingGroupName   string
	ScalingGroupActive bool
	InstanceCount      int
	TemplateID         string
	// Version is "Default", "Latest" or a version number, as ESS stores it.
	Version string
}

// ScalingUsage is what the region's Auto Scaling names.
type ScalingUsage struct {
	// Groups maps a security group ID to the configurations naming it,
	// sorted by scaling group and configuration ID.
	Groups map[string][]ScalingUse
	// Templates lists the launch-template-based scaling groups.
	Templates []TemplateRef
}

// ScalingConfigurationGroups maps each security group named by a scaling
// configuration of the region (SecurityGroupId, SecurityGroupIds, network
// interfaces; ECS and ECI type) to those configurations. See ScalingUsage.
func (c *UsersClient) ScalingConfigurationGroups(ctx context.Context, regionID string) (map[string][]ScalingUse, error) {
	u, err := c.ScalingUsage(ctx, regionID)
	return u.Groups, err
}

// ScalingUsage reads every scaling group and every scaling configuration of
// the region. Calls: ceil(groups/50) DescribeScalingGroups; then, only if
// there are ECS-type groups, ceil(configurations/50)
// DescribeScalingConfigurations, and only if there are ECI-type groups,
// ceil(ECI configurations/50) DescribeEciScalingConfigurations. A region
// without scaling groups costs one call.
//
// The configurations are listed region-wide (no ScalingGroupId), which the
// reference allows without promising (unconfirmed). The answer is checked:
// when a scaling group's active configuration is missing from it, that
// group's configurations are listed on their own. Errors are *domain.Error;
// no partial answer is returned.
func (c *UsersClient) ScalingUsage(ctx context.Context, regionID string) (ScalingUsage, error) {
	region := c.region(regionID)
	out := ScalingUsage{Groups: map[string][]ScalingUse{}}
	groups, err := c.scalingGroups(ctx, region)
	if err != nil || len(groups) == 0 {
		return out, err
	}
	byID := map[string]ess.ScalingGroup{}
	hasECS, hasECI := false, false
	for _, g := range groups {
		byID[g.ScalingGroupId] = g
		if g.GroupType == "ECI" {
			hasECI = true
		} else {
			hasECS = true
		}
		if g.LaunchTemplateId != "" {
			out.Templates = append(out.Templates, TemplateRef{ScalingGroupID: g.ScalingGroupId, ScalingGroupName: g.ScalingGroupName,
				ScalingGroupActive: g.LifecycleState == "Active", InstanceCount: g.TotalInstanceCount,
				TemplateID: g.LaunchTemplateId, Version: g.LaunchTemplateVersion})
		}
	}
	use := func(cfgID, cfgName, state, groupID string, eciType bool) ScalingUse {
		g := byID[groupID]
		return ScalingUse{ConfigurationID: cfgID, ConfigurationName: cfgName, ConfigurationActive: state == "Active",
			ECI: eciType, ScalingGroupID: groupID, ScalingGroupName: g.ScalingGroupName,
			ScalingGroupActive: g.LifecycleState == "Active", InstanceCount: g.TotalInstanceCount}
	}
	add := func(u ScalingUse, ids ...string) {
		for _, id := range domain.SortedUnique(nonEmpty(ids)) {
			out.Groups[id] = append(out.Groups[id], u)
		}
	}
	if hasECS {
		cfgs, err := c.ecsConfigurations(ctx, region, "")
		if err != nil {
			return out, err
		}
		seen := map[string]bool{}
		for _, cf := range cfgs {
			seen[cf.ScalingConfigurationId] = true
		}
		for _, g := range groups {
			if g.GroupType != "ECI" && g.ActiveScalingConfigurationId != "" && !seen[g.ActiveScalingConfigurationId] {
				more, err := c.ecsConfigurations(ctx, region, g.ScalingGroupId)
				if err != nil {
					return out, err
				}
				for _, cf := range more {
					if !seen[cf.ScalingConfigurationId] {
						seen[cf.ScalingConfigurationId] = true
						cfgs = append(cfgs, cf)
					}
				}
			}
		}
		for _, cf := range cfgs {
			ids := append([]string{cf.SecurityGroupId}, cf.SecurityGroupIds.SecurityGroupId...)
			for _, n := range cf.NetworkInterfaces.NetworkInterface {
				ids = append(ids, n.SecurityGroupIds.SecurityGroupId...)
			}
			add(use(cf.ScalingConfigurationId, cf.ScalingConfigurationName, cf.LifecycleState, cf.ScalingGroupId, false), ids...)
		}
	}
	if hasECI {
		cfgs, err := c.eciConfigurations(ctx, region, "")
		if err != nil {
			return out, err
		}
		seen := map[string]bool{}
		for _, cf := range cfgs {
			seen[cf.ScalingConfigurationId] = true
		}
		for _, g := range groups {
			if g.GroupType == "ECI" && g.ActiveScalingConfigurationId != "" && !seen[g.ActiveScalingConfigurationId] {
				more, err := c.eciConfigurations(ctx, region, g.ScalingGroupId)
				if err != nil {
					return out, err
				}
				for _, cf := range more {
					if !seen[cf.ScalingConfigurationId] {
						seen[cf.ScalingConfigurationId] = true
						cfgs = append(cfgs, cf)
					}
				}
			}
		}
		for _, cf := range cfgs {
			add(use(cf.ScalingConfigurationId, cf.ScalingConfigurationName, cf.LifecycleState, cf.ScalingGroupId, true), cf.SecurityGroupId)
		}
	}
	for _, uses := range out.Groups {
		sort.Slice(uses, func(i, j int) bool {
			if uses[i].ScalingGroupID != uses[j].ScalingGroupID {
				return uses[i].ScalingGroupID < uses[j].ScalingGroupID
			}
			return uses[i].ConfigurationID < uses[j].ConfigurationID
		})
	}
	sort.Slice(out.Templates, func(i, j int) bool { return out.Templates[i].ScalingGroupID < out.Templates[j].ScalingGroupID })
	return out, nil
}

func nonEmpty(xs []string) []string {
	out := xs[:0:0]
	for _, x := range xs {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}

// truncated refuses a listing that stopped short of the count the service gave.
func truncated(op string, page, got, total int, what string) error {
	return domain.Errorf(domain.KindInternal, pageOp(op, page), "",
		"listing stopped at %d of %d %s; refusing a truncated listing", got, total, what)
}

// allPages reads a numbered listing page by page until it holds the count
// the service gave, refusing a listing that stops short of it.
func allPages[T any](op, what string, fetch func(page int) (items []T, total int, err error)) ([]T, error) {
	var out []T
	for page, total := 1, -1; total < 0 || len(out) < total; page++ {
		got, n, err := fetch(page)
		if err != nil {
			return nil, err
		}
		total = n
		out = append(out, got...)
		if len(got) == 0 && len(out) < total {
			return nil, truncated(op, page, len(out), total, what)
		}
	}
	return out, nil
}

func (c *UsersClient) scalingGroups(ctx context.Context, region string) ([]ess.ScalingGroup, error) {
	op := "ess DescribeScalingGroups in " + region
	return allPages(op, "scaling groups", func(page int) ([]ess.ScalingGroup, int, error) {
		resp, err := usersCall(ctx, c, "ess", pageOp(op, page), func() (requests.AcsRequest, *ess.DescribeScalingGroupsResponse) {
			req := ess.CreateDescribeScalingGroupsRequest()
			req.RegionId = region
			req.PageNumber = requests.NewInteger(page)
			req.PageSize = requests.NewInteger(essPageSize)
			return req, ess.CreateDescribeScalingGroupsResponse()
		})
		if err != nil {
			return nil, 0, err
		}
		return resp.ScalingGroups.ScalingGroup, resp.TotalCount, nil
	})
}

func (c *UsersClient) ecsConfigurations(ctx context.Context, region, groupID string) ([]ess.ScalingConfigurationInDescribeScalingConfigurations, error) {
	op := "ess DescribeScalingConfigurations in " + region
	if groupID != "" {
		op += " of " + groupID
	}
	return allPages(op, "scaling configurations", func(page int) ([]ess.ScalingConfigurationInDescribeScalingConfigurations, int, error) {
		resp, err := usersCall(ctx, c, "ess", pageOp(op, page), func() (requests.AcsRequest, *ess.DescribeScalingConfigurationsResponse) {
			req := ess.CreateDescribeScalingConfigurationsRequest()
			req.RegionId = region
			req.ScalingGroupId = groupID
			req.PageNumber = requests.NewInteger(page)
			req.PageSize = requests.NewInteger(essPageSize)
			return req, ess.CreateDescribeScalingConfigurationsResponse()
		})
		if err != nil {
			return nil, 0, err
		}
		return resp.ScalingConfigurations.ScalingConfiguration, resp.TotalCount, nil
	})
}

func (c *UsersClient) eciConfigurations(ctx context.Context, region, groupID string) ([]ess.ScalingConfiguration, error) {
	op := "ess DescribeEciScalingConfigurations in " + region
	if groupID != "" {
		op += " of " + groupID
	}
	return allPages(op, "ECI scaling configurations", func(page int) ([]ess.ScalingConfiguration, int, error) {
		resp, err := usersCall(ctx, c, "ess", pageOp(op, page), func() (requests.AcsRequest, *ess.DescribeEciScalingConfigurationsResponse) {
			req := ess.CreateDescribeEciScalingConfigurationsRequest()
			req.RegionId = region
			req.ScalingGroupId = groupID
			req.PageNumber = requests.NewInteger(page)
			req.PageSize = requests.NewInteger(essPageSize)
			return req, ess.CreateDescribeEciScalingConfigurationsResponse()
		})
		if err != nil {
			return nil, 0, err
		}
		return resp.ScalingConfigurations, resp.TotalCount, nil
	})
}
