package ecsapi

import (
	"context"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// MaxInstancePage is the largest page DescribeInstances returns
// (MaxResults 1–100).
const MaxInstancePage = 100

// ListInstancesPage lists one page of a region's instances filtered by f:
// up to size instances (clamped to 1–100) after token ("" = the first
// page), and the token of the next page ("" when this is the last). A
// backfill too large for one invocation carries the token from one part to
// the next. The token is ECS's own NextToken: opaque, and (unconfirmed)
// valid for as long as a part waits on the queue; ECS documents no expiry.
func (c *Client) ListInstancesPage(ctx context.Context, regionID string, f domain.InstanceFilter, token string, size int) ([]domain.Instance, string, error) {
	region := c.region(regionID)
	op := "ecs DescribeInstances page in " + region
	if f.TagKey != "" {
		op += " tag " + f.TagKey
	}
	size = min(max(size, 1), MaxInstancePage)
	resp, err := call(ctx, c, op, func() (requests.AcsRequest, *ecs.DescribeInstancesResponse) {
		req := ecs.CreateDescribeInstancesRequest()
		req.RegionId = region
		req.MaxResults = requests.NewInteger(size)
		req.NextToken = token
		req.VpcId = f.VPCID
		if f.TagKey != "" {
			req.Tag = &[]ecs.DescribeInstancesTag{{Key: f.TagKey}}
		}
		return req, ecs.CreateDescribeInstancesResponse()
	})
	if err != nil {
		return nil, "", err
	}
	out := make([]domain.Instance, 0, len(resp.Instances.Instance))
	for _, in := range resp.Instances.Instance {
		out = append(out, toInstance(in, region))
	}
	next, err := nextToken(op, 1, token, resp.NextToken)
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}
