package domain

import "errors"

// Outcome sentinels that adapters wrap (inside an *Error carrying the
// provider code) so use cases can recognise a case whatever provider said it.
var (
	// ErrAlreadyMember: the instance is already in the group (a join that
	// is already done, i.e. success for an idempotent caller).
	ErrAlreadyMember = errors.New("already a member of the group")
	// ErrInUse: the group still has instances, ENIs or references
	// (ECS DependencyViolation).
	ErrInUse = errors.New("security group still in use")
	// ErrInstanceNotReady: the instance is being created or is not
	// Running/Stopped yet.
	ErrInstanceNotReady = errors.New("instance not ready for group changes")
	// ErrNotMember: the instance is not in the group (a leave that is
	// already done, i.e. success for an idempotent caller).
	ErrNotMember = errors.New("not a member of the group")
	// ErrLastGroup: ECS keeps an instance in at least one group.
	ErrLastGroup = errors.New("the group is the instance's last security group")
	// ErrGroupLimit: the instance is already in its maximum number of groups.
	ErrGroupLimit = errors.New("per-instance security group limit reached")
	// ErrNetworkMismatch: group and instance are in different VPCs or
	// network types.
	ErrNetworkMismatch = errors.New("instance and group are in different networks")
	// ErrDeletionProtected: the group has deletion protection or is
	// managed by a cloud service.
	ErrDeletionProtected = errors.New("security group is protected from deletion")
)

// InstanceFilter narrows ListInstances. Empty fields do not filter.
type InstanceFilter struct {
	TagKey string // instances carrying this tag key (any value)
	VPCID  string
}

// GroupFilter narrows ListGroups. Empty fields do not filter.
type GroupFilter struct {
	VPCID       string
	NetworkType NetworkType // "" = both
	TagKey      string
	TagValue    string
}

// GroupSpec describes a security group to create.
type GroupSpec struct {
	VPCID       string // "" = classic
	Name        string
	Description string
	Tags        Tags
}

// NetworkInterface is an ENI and the groups it is in.
type NetworkInterface struct {
	ID         string
	InstanceID string // "" when not attached
	Type       string // Primary or Secondary
	VPCID      string
	GroupIDs   []string
}
