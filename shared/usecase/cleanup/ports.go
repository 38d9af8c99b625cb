package cleanup

import (
	"context"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// The ports below are the exact method sets of docs/CONTRACTS.md. Every
// method honours ctx, is safe for concurrent use, and returns errors
// classified as *domain.Error. The adapters retry throttled and transient
// calls; nothing is retried here. Writes are idempotent (tagging the same
// value twice, deleting a gone group), so a later run or delivery may
// repeat them safely.

// GroupLister lists every security group of a region, all pages, tags
// included. An incomplete listing must be an error, never a short slice.
type GroupLister interface {
	ListGroups(ctx context.Context, regionID string, f domain.GroupFilter) ([]domain.SecurityGroup, error)
}

// GroupPager is GroupLister a page at a time; a GroupLister that also
// implements it is read through it, so that discovery reads references
// while the listing goes on. page gets each page as it arrives, in order,
// from one goroutine; an error it returns stops the listing and is
// returned. An incomplete listing is an error, as for ListGroups, and the
// pages handed over before it are not taken back.
type GroupPager interface {
	ListGroupPages(ctx context.Context, regionID string, f domain.GroupFilter, page func([]domain.SecurityGroup) error) error
}

// InstanceLister lists every instance of a region, all pages.
type InstanceLister interface {
	ListInstances(ctx context.Context, regionID string, f domain.InstanceFilter) ([]domain.Instance, error)
}

// InterfaceLister lists every network interface of a region, all pages.
type InterfaceLister interface {
	ListNetworkInterfaces(ctx context.Context, regionID string) ([]domain.NetworkInterface, error)
}

// ReferenceReader maps each queried group to the other groups whose rules
// reference it (self-references dropped). Groups with no references may be
// absent from the map.
type ReferenceReader interface {
	GroupReferences(ctx context.Context, regionID string, groupIDs []string) (map[string][]string, error)
}

// ReferrerReader is ReferenceReader with the referencing groups' accounts;
// a ReferenceReader that also implements it is read through it, so plans
// name the account of each referencing group.
type ReferrerReader interface {
	GroupReferrers(ctx context.Context, regionID string, groupIDs []string) (map[string][]domain.Referrer, error)
}

// TemplateReader maps a group ID to every launch template version that names
// it (any version, not only the default and the latest).
type TemplateReader interface {
	TemplateGroups(ctx context.Context, regionID string) (map[string][]domain.TemplateVersionUse, error)
}

// ScalingReader maps a group ID to the Auto Scaling scaling configurations
// naming it (every configuration of every scaling group of the region,
// whatever their state). One region-wide read.
type ScalingReader interface {
	ScalingConfigurationGroups(ctx context.Context, regionID string) (map[string][]domain.ScalingUse, error)
}

// ContainerReader maps a group ID to the ECI container groups bound to it
// (those that may still run). One region-wide read.
type ContainerReader interface {
	ContainerGroupGroups(ctx context.Context, regionID string) (map[string][]domain.ContainerGroupUse, error)
}

// Tagger writes and removes tags on groups. Tagging an existing key
// overwrites its value; both calls are idempotent.
type Tagger interface {
	TagGroups(ctx context.Context, regionID string, groupIDs []string, tags domain.Tags) error
	UntagGroups(ctx context.Context, regionID string, groupIDs []string, keys []string) error
}

// GroupDescriber reads groups by ID; unknown IDs are absent from the result.
type GroupDescriber interface {
	DescribeGroups(ctx context.Context, regionID string, ids []string) ([]domain.SecurityGroup, error)
}

// GroupDeleter deletes one group. Still in use: an error wrapping
// domain.ErrInUse (KindConflict, provider message kept); protected or
// service-managed: domain.ErrDeletionProtected (KindPermanent); already gone:
// KindNotFound.
type GroupDeleter interface {
	DeleteGroup(ctx context.Context, regionID, groupID string) error
}

// TaskSender enqueues tasks; on partial failure the error lists the failed
// task IDs and the others stay sent.
type TaskSender interface {
	SendTasks(ctx context.Context, tasks []domain.Task) error
}

// ECS is everything a cleanup run reads and writes in ECS; the ECS adapter
// and the shared fake satisfy it.
type ECS interface {
	GroupLister
	InstanceLister
	InterfaceLister
	ReferenceReader
	TemplateReader
	Tagger
}

// DeleterECS is what the delete-task handler needs from ECS.
type DeleterECS interface {
	GroupDescriber
	TemplateReader
	ReferenceReader
	GroupDeleter
}

// API limits the run batches its own calls at, so that each call to a port
// is exactly one API request (the adapters batch too; then they do nothing).
const (
	GroupPageSize      = 100 // DescribeSecurityGroups MaxResults
	DescribeBatchSize  = 100 // DescribeSecurityGroups SecurityGroupIds
	ReferenceBatchSize = 10  // DescribeSecurityGroupReferences SecurityGroupId.N
	TagBatchSize       = 50  // TagResources / UntagResources ResourceId.N
	TaskBatchSize      = 16  // MNS BatchSendMessage
)
