package ecsapi

import (
	"context"
	"fmt"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

// LeaveGroup removes the instance from the group. An instance not in it
// gives an error wrapping domain.ErrNotMember (KindConflict), and the
// instance's last group an error wrapping domain.ErrLastGroup (ECS keeps
// every instance in at least one group: InstanceLastSecurityGroup, or the
// newer InvalidOperation.AtLeastInOneGroup).
func (c *Client) LeaveGroup(ctx context.Context, regionID, instanceID, groupID string) error {
	region := c.region(regionID)
	op := fmt.Sprintf("ecs LeaveSecurityGroup %s for %s", groupID, instanceID)
	_, err := call(ctx, c, op, func() (requests.AcsRequest, *ecs.LeaveSecurityGroupResponse) {
		req := ecs.CreateLeaveSecurityGroupRequest()
		req.RegionId = region
		req.InstanceId = instanceID
		req.SecurityGroupId = groupID
		return req, ecs.CreateLeaveSecurityGroupResponse()
	})
	return err
}
