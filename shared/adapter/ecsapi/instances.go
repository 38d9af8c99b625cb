package ecsapi

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// Batch and page sizes ECS accepts (shared/docs/alibaba-reference.md §2).
const (
	describeBatch   = 100 // InstanceIds / SecurityGroupIds JSON arrays
	pageSize        = 100 // MaxResults of DescribeInstances / DescribeSecurityGroups
	eniPageSize     = 500 // MaxResults of DescribeNetworkInterfaces
	referencesBatch = 10  // SecurityGroupId.N of DescribeSecurityGroupReferences
	tagIDBatch      = 50  // ResourceId.N of TagResources / UntagResources
	tagBatch        = 20  // Tag.N / TagKey.N per call
	templatePage    = 50  // PageSize of DescribeLaunchTemplates
)

// DescribeInstances returns the instances among ids, asking for 100 at a
// time. Unknown IDs are absent from the result, not an error.
func (c *Client) DescribeInstances(ctx context.Context, regionID string, ids []string) ([]domain.Instance, error) {
	region := c.region(regionID)
	var out []domain.Instance
	for _, batch := range chunks(domain.SortedUnique(ids), describeBatch) {
		idsJSON, _ := json.Marshal(batch)
		op := fmt.Sprintf("ecs DescribeInstances %s in %s", shortList(batch), region)
		got, err := c.instancePages(ctx, op, region, func(r *ecs.DescribeInstancesRequest) { r.InstanceIds = string(idsJSON) })
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

// ListInstances returns every instance of the region matching f, all pages.
func (c *Client) ListInstances(ctx context.Context, regionID string, f domain.InstanceFilter) ([]domain.Instance, error) {
	region := c.region(regionID)
	op := "ecs DescribeInstances in " + region
	if f.TagKey != "" {
		op += " tag " + f.TagKey
	}
	if f.VPCID != "" {
		op += " vpc " + f.VPCID
	}
	return c.instancePages(ctx, op, region, func(r *ecs.DescribeInstancesRequest) {
		r.VpcId = f.VPCID
		if f.TagKey != "" {
			r.Tag = &[]ecs.DescribeInstancesTag{{Key: f.TagKey}}
		}
	})
}

func (c *Client) instancePages(ctx context.Context, op, region string, set func(*ecs.DescribeInstancesRequest)) ([]domain.Instance, error) {
	var out []domain.Instance
	token := ""
	for page := 1; ; page++ {
		resp, err := call(ctx, c, pageOp(op, page), func() (requests.AcsRequest, *ecs.DescribeInstancesResponse) {
			req := ecs.CreateDescribeInstancesRequest()
			req.RegionId = region
			req.MaxResults = requests.NewInteger(pageSize)
			req.NextToken = token
			set(req)
			return req, ecs.CreateDescribeInstancesResponse()
		})
		if err != nil {
			return nil, err
		}
		for _, in := range resp.Instances.Instance {
			out = append(out, toInstance(in, region))
		}
		next, err := nextToken(op, page, token, resp.NextToken)
		if err != nil || next == "" {
			return out, err
		}
		token = next
	}
}

func toInstance(in ecs.Instance, region string) domain.Instance {
	vpc := in.VpcAttributes.VpcId
	nt := domain.NetworkType(strings.ToLower(in.InstanceNetworkType))
	if nt == "" {
		nt = domain.NetworkClassic
		if vpc != "" {
			nt = domain.NetworkVPC
		}
	}
	if nt == domain.NetworkClassic {
		vpc = ""
	}
	if in.RegionId != "" {
		region = in.RegionId
	}
	return domain.Instance{
		ID:          in.InstanceId,
		RegionID:    region,
		NetworkType: nt,
		VPCID:       vpc,
		Status:      domain.InstanceStatus(in.Status),
		Tags:        toTags(in.Tags.Tag),
		GroupIDs:    append([]string(nil), in.SecurityGroupIds.SecurityGroupId...),
	}
}

// toTags reads TagKey/TagValue, which describe responses fill, falling back
// to Key/Value, which some actions use instead.
func toTags(tags []ecs.Tag) domain.Tags {
	out := domain.Tags{}
	for _, t := range tags {
		k, v := t.TagKey, t.TagValue
		if k == "" {
			k, v = t.Key, t.Value
		}
		if k != "" {
			out[k] = v
		}
	}
	return out
}

// nextToken checks a page's NextToken: a token equal to the one just sent
// would loop forever, so it is an error rather than silently the last page.
func nextToken(op string, page int, sent, got string) (string, error) {
	if got != "" && got == sent {
		return "", domain.Errorf(domain.KindInternal, pageOp(op, page), "", "NextToken %q did not advance; refusing a possibly truncated listing", got)
	}
	return got, nil
}

func pageOp(op string, page int) string {
	if page <= 1 {
		return op
	}
	return fmt.Sprintf("%s (page %d)", op, page)
}

func chunks[T any](s []T, n int) [][]T {
	var out [][]T
	for len(s) > n {
		out = append(out, s[:n:n])
		s = s[n:]
	}
	if len(s) > 0 {
		out = append(out, s)
	}
	return out
}

// shortList names a batch in an error: the IDs themselves when few.
func shortList(ids []string) string {
	if len(ids) <= 3 {
		return strings.Join(ids, ",")
	}
	return fmt.Sprintf("%s,… (%d IDs)", strings.Join(ids[:3], ","), len(ids))
}
