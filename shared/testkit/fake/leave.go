package fake

import (
	"context"
	"fmt"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// LeaveGroup removes the instance from the group, checking what ECS checks
// (ecsemu's LeaveSecurityGroup, with ecsapi's codes and sentinels): the
// group and instance exist, the group is not service-managed, the instance
// is Running or Stopped, it is in the group (else ErrNotMember) and the
// group is not its last (ErrLastGroup, InstanceLastSecurityGroup).
func (e *ECS) LeaveGroup(ctx context.Context, regionID, instanceID, groupID string) error {
	region := orDefault(regionID, DefaultRegion)
	op := fmt.Sprintf("ecs LeaveSecurityGroup %s for %s", groupID, instanceID)
	if err := e.enter(ctx, "LeaveGroup", op, regionID, instanceID, groupID); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, in, err := e.membership(op, region, instanceID, groupID)
	if err != nil {
		return err
	}
	switch {
	case !contains(in.GroupIDs, groupID):
		return apiErr(domain.KindConflict, op, "InstanceNotInSecurityGroup", domain.ErrNotMember, 403,
			"The instance not in the group.")
	case len(in.GroupIDs) == 1:
		return apiErr(domain.KindConflict, op, "InstanceLastSecurityGroup", domain.ErrLastGroup, 403,
			"The specified security group is the last security group for the instance.")
	}
	kept := in.GroupIDs[:0:0]
	for _, id := range in.GroupIDs {
		if id != groupID {
			kept = append(kept, id)
		}
	}
	in.GroupIDs = kept
	return nil
}

// membership checks what ECS checks before a join or a leave: the group
// and instance exist, the group is not service-managed, and the instance is
// Running or Stopped. The caller holds e.mu.
func (e *ECS) membership(op, region, instanceID, groupID string) (*fGroup, *fInstance, error) {
	g, err := e.group(op, region, groupID)
	if err != nil {
		return nil, nil, err
	}
	in, err := e.instance(op, region, instanceID)
	if err != nil {
		return nil, nil, err
	}
	if g.ServiceManaged {
		return nil, nil, errManaged(op, groupID)
	}
	switch in.Status {
	case domain.StatusRunning, domain.StatusStopped:
	case domain.StatusPending:
		return nil, nil, apiErr(domain.KindRetryable, op, "Forbidden.InstanceIsBeingCreated", domain.ErrInstanceNotReady, 403,
			"The specified instance is being created.")
	default:
		return nil, nil, apiErr(domain.KindRetryable, op, "IncorrectInstanceStatus", domain.ErrInstanceNotReady, 403,
			"The current status of the resource does not support this operation. (status %s)", in.Status)
	}
	return g, in, nil
}

// SetInstanceTag sets (or, with an empty value, removes) one tag of an
// instance, as a TagResources/UntagResources call by someone else would.
func (e *ECS) SetInstanceTag(instanceID, key, value string) *ECS {
	e.mu.Lock()
	defer e.mu.Unlock()
	in := e.mustInstance("SetInstanceTag", instanceID)
	tags := copyTags(in.Tags)
	if value == "" {
		delete(tags, key)
	} else {
		tags[key] = value
	}
	in.Tags = tags
	return e
}
