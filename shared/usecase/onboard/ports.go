package onboard

import (
	"context"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// The ports below are the ECS calls onboarding makes, with the signatures of
// docs/CONTRACTS.md (ecsapi.Client and fake.ECS satisfy them all). Every
// method may be called concurrently, honours ctx's deadline, and returns
// *domain.Error values, after the adapter's own retries: nothing is retried
// here, every error is decided on at once (see the package doc).

// InstanceReader reads instances. Unknown IDs are absent from the result, not
// an error; the caller sends at most 100 IDs per call.
type InstanceReader interface {
	DescribeInstances(ctx context.Context, regionID string, ids []string) ([]domain.Instance, error)
}

// GroupLister lists a region's security groups, every page, tags included.
type GroupLister interface {
	ListGroups(ctx context.Context, regionID string, f domain.GroupFilter) ([]domain.SecurityGroup, error)
}

// GroupJoiner adds an instance to a group. It is not idempotent at the
// provider: a repeated join fails with an error wrapping
// domain.ErrAlreadyMember, which onboarding counts as success. Other
// outcomes wrap domain.ErrInstanceNotReady, ErrGroupLimit or
// ErrNetworkMismatch.
type GroupJoiner interface {
	JoinGroup(ctx context.Context, regionID, instanceID, groupID string) error
}

// GroupLeaver removes an instance from a group. A repeated leave fails
// with an error wrapping domain.ErrNotMember, which onboarding counts as
// success; the instance's last group is refused with domain.ErrLastGroup.
// It may also wrap domain.ErrInstanceNotReady.
type GroupLeaver interface {
	LeaveGroup(ctx context.Context, regionID, instanceID, groupID string) error
}

// GroupCreator creates a security group with its tags. It is not
// idempotent: a retried call can create a second group, so onboarding calls
// it once per attempt and lets the next delivery find the group by its tag.
type GroupCreator interface {
	CreateGroup(ctx context.Context, regionID string, spec domain.GroupSpec) (string, error)
}

// MarkClearer removes tags from groups (idempotent: removing an absent tag
// succeeds).
type MarkClearer interface {
	UntagGroups(ctx context.Context, regionID string, groupIDs []string, keys []string) error
}

// ECS is every port at once, for wiring a single client.
type ECS interface {
	InstanceReader
	GroupLister
	GroupJoiner
	GroupLeaver
	GroupCreator
	MarkClearer
}

// Ports are the Onboarder's dependencies. Creator may be nil unless
// Options.CreateMissingGroups is set.
type Ports struct {
	Instances InstanceReader
	Groups    GroupLister
	Joiner    GroupJoiner
	Leaver    GroupLeaver
	Marks     MarkClearer
	Creator   GroupCreator
}

// PortsFrom uses one ECS client for every port.
func PortsFrom(ecs ECS) Ports {
	return Ports{Instances: ecs, Groups: ecs, Joiner: ecs, Leaver: ecs, Marks: ecs, Creator: ecs}
}
