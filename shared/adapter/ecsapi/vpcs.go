package ecsapi

import (
	"context"
	"sort"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/rolepolicy"
)

// The reads of the rule audit (shared/usecase/roles): VPC and vSwitch
// ranges and where instances sit.
//
// DescribeVpcs and DescribeVSwitches are the ECS API's own (2014-05-26,
// PageNumber/PageSize, at most 50 per page). Alibaba documents these reads in
// the VPC API today; that ECS still answers them for every account is
// unconfirmed (shared/docs/alibaba-reference.md does not cover them), and
// localcloud serves them the way the ECS SDK's response structs describe.
// If ECS stops answering, the VPC API's calls of the same names take the
// same parameters.

// networkPageSize is PageSize of DescribeVpcs / DescribeVSwitches (max 50).
const networkPageSize = 50

// maxNetworkPages bounds a listing whose TotalCount never stops growing.
const maxNetworkPages = 1000

// ListVPCs returns every VPC of the region with its CIDR blocks (primary
// first, then the user CIDRs), all pages, sorted by ID. SharedGroupIDs is
// left empty: it is the caller's to compute.
func (c *Client) ListVPCs(ctx context.Context, regionID string) ([]rolepolicy.VPC, error) {
	region := c.region(regionID)
	op := "ecs DescribeVpcs in " + region
	var out []rolepolicy.VPC
	for page := 1; page <= maxNetworkPages; page++ {
		resp, err := call(ctx, c, pageOp(op, page), func() (requests.AcsRequest, *ecs.DescribeVpcsResponse) {
			req := ecs.CreateDescribeVpcsRequest()
			req.RegionId = region
			req.PageNumber = requests.NewInteger(page)
			req.PageSize = requests.NewInteger(networkPageSize)
			return req, ecs.CreateDescribeVpcsResponse()
		})
		if err != nil {
			return nil, err
		}
		for _, v := range resp.Vpcs.Vpc {
			cidrs := []string{}
			if v.CidrBlock != "" {
				cidrs = append(cidrs, v.CidrBlock)
			}
			cidrs = append(cidrs, v.UserCidrs.UserCidr...)
			out = append(out, rolepolicy.VPC{ID: v.VpcId, CIDRs: cidrs})
		}
		if len(resp.Vpcs.Vpc) == 0 || page*networkPageSize >= resp.TotalCount {
			sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
			return out, nil
		}
	}
	return nil, domain.Errorf(domain.KindInternal, op, "", "more than %d pages: the listing does not end", maxNetworkPages)
}

// ListVSwitches returns every vSwitch of the region, all pages, sorted by ID.
func (c *Client) ListVSwitches(ctx context.Context, regionID string) ([]rolepolicy.VSwitch, error) {
	region := c.region(regionID)
	op := "ecs DescribeVSwitches in " + region
	var out []rolepolicy.VSwitch
	for page := 1; page <= maxNetworkPages; page++ {
		resp, err := call(ctx, c, pageOp(op, page), func() (requests.AcsRequest, *ecs.DescribeVSwitchesResponse) {
			req := ecs.CreateDescribeVSwitchesRequest()
			req.RegionId = region
			req.PageNumber = requests.NewInteger(page)
			req.PageSize = requests.NewInteger(networkPageSize)
			return req, ecs.CreateDescribeVSwitchesResponse()
		})
		if err != nil {
			return nil, err
		}
		for _, sw := range resp.VSwitches.VSwitch {
			out = append(out, rolepolicy.VSwitch{ID: sw.VSwitchId, VPCID: sw.VpcId, CIDR: sw.CidrBlock})
		}
		if len(resp.VSwitches.VSwitch) == 0 || page*networkPageSize >= resp.TotalCount {
			sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
			return out, nil
		}
	}
	return nil, domain.Errorf(domain.KindInternal, op, "", "more than %d pages: the listing does not end", maxNetworkPages)
}

// InstanceVSwitches maps every VPC instance of the region to its vSwitch
// (one DescribeInstances sweep, 100 per page). domain.Instance carries no
// vSwitch, so the audit asks for it separately.
func (c *Client) InstanceVSwitches(ctx context.Context, regionID string) (map[string]string, error) {
	region := c.region(regionID)
	op := "ecs DescribeInstances (vSwitches) in " + region
	out := map[string]string{}
	token := ""
	for page := 1; ; page++ {
		resp, err := call(ctx, c, pageOp(op, page), func() (requests.AcsRequest, *ecs.DescribeInstancesResponse) {
			req := ecs.CreateDescribeInstancesRequest()
			req.RegionId = region
			req.InstanceNetworkType = "vpc"
			req.MaxResults = requests.NewInteger(pageSize)
			req.NextToken = token
			return req, ecs.CreateDescribeInstancesResponse()
		})
		if err != nil {
			return nil, err
		}
		for _, in := range resp.Instances.Instance {
			if sw := in.VpcAttributes.VSwitchId; sw != "" {
				out[in.InstanceId] = sw
			}
		}
		next, err := nextToken(op, page, token, resp.NextToken)
		if err != nil || next == "" {
			return out, err
		}
		token = next
	}
}

// GroupRules returns every rule of a group (DescribeGroupRules without the
// attribute view), the form the role-policy use case reads. A missing group
// is KindNotFound.
func (c *Client) GroupRules(ctx context.Context, regionID, groupID string) ([]rolepolicy.Rule, error) {
	g, err := c.DescribeGroupRules(ctx, regionID, groupID)
	if err != nil {
		return nil, err // names the call and the group already
	}
	return g.Rules, nil
}
