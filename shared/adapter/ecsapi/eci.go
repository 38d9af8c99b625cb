package ecsapi

import (
	"context"
	"sort"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/eci"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// eciLimit is the Limit of DescribeContainerGroups: 20, the largest value
// the reference shows (unconfirmed as the maximum).
const eciLimit = 20

// ContainerGroupUse is one ECI container group bound to a group (see domain).
type ContainerGroupUse = domain.ContainerGroupUse

// eciFinal are the states whose compute and network interface ECI has
// released (documented); such a group never runs again, so it uses nothing.
var eciFinal = map[string]bool{"Succeeded": true, "Failed": true, "Expired": true}

// ContainerGroupGroups maps each security group that an ECI container group
// of the region is bound to (SecurityGroupId) to those container groups,
// sorted by ID, leaving out groups in a final state. Calls:
// ceil(container groups/20) DescribeContainerGroups (NextToken paging). A
// running container group's ENI also shows in DescribeNetworkInterfaces;
// this also covers those Pending, Scheduling or Restarting without one.
func (c *UsersClient) ContainerGroupGroups(ctx context.Context, regionID string) (map[string][]ContainerGroupUse, error) {
	region := c.region(regionID)
	op := "eci DescribeContainerGroups in " + region
	out := map[string][]ContainerGroupUse{}
	token := ""
	for page := 1; ; page++ {
		resp, err := usersCall(ctx, c, "eci", pageOp(op, page), func() (requests.AcsRequest, *eci.DescribeContainerGroupsResponse) {
			req := eci.CreateDescribeContainerGroupsRequest()
			req.RegionId = region
			req.Limit = requests.NewInteger(eciLimit)
			req.NextToken = token
			return req, eci.CreateDescribeContainerGroupsResponse()
		})
		if err != nil {
			return nil, err
		}
		for _, g := range resp.ContainerGroups {
			if g.SecurityGroupId == "" || eciFinal[g.Status] {
				continue
			}
			out[g.SecurityGroupId] = append(out[g.SecurityGroupId], ContainerGroupUse{ID: g.ContainerGroupId, Name: g.ContainerGroupName, Status: g.Status})
		}
		if resp.NextToken == "" {
			break
		}
		if resp.NextToken == token {
			return nil, domain.Errorf(domain.KindInternal, pageOp(op, page), "", "NextToken %q did not advance; refusing a possibly truncated listing", token)
		}
		token = resp.NextToken
	}
	for _, uses := range out {
		sort.Slice(uses, func(i, j int) bool { return uses[i].ID < uses[j].ID })
	}
	return out, nil
}
