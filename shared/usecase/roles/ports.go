package roles

import (
	"context"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/rolepolicy"
)

// Every method honours ctx, is safe for concurrent use and returns errors
// classified as *domain.Error. The adapters retry throttled and transient
// calls; nothing is retried here.

// GroupLister lists every security group of a region, all pages, tags
// included. An incomplete listing must be an error, never a short slice.
type GroupLister interface {
	ListGroups(ctx context.Context, regionID string, f domain.GroupFilter) ([]domain.SecurityGroup, error)
}

// InstanceLister lists every instance of a region, all pages.
type InstanceLister interface {
	ListInstances(ctx context.Context, regionID string, f domain.InstanceFilter) ([]domain.Instance, error)
}

// RuleReader reads every rule of a group, both directions and (classic
// groups) both NicTypes. A missing group is KindNotFound.
type RuleReader interface {
	GroupRules(ctx context.Context, regionID, groupID string) ([]rolepolicy.Rule, error)
}

// GroupCreator creates a planned role group with its type and tags and
// returns its ID. Retries of one call never make a second group.
type GroupCreator interface {
	CreateRoleGroup(ctx context.Context, n rolepolicy.Network, g rolepolicy.GroupToCreate) (string, error)
}

// RuleWriter adds and removes rules. Both are idempotent: authorizing a rule
// that exists adds nothing, revoking one that is gone is no error.
// AuthorizeRules refuses a rule whose peer role is not resolved to a group.
type RuleWriter interface {
	AuthorizeRules(ctx context.Context, regionID, groupID string, rules []rolepolicy.Rule) error
	RevokeRules(ctx context.Context, regionID, groupID string, rules []rolepolicy.Rule) error
}

// NetworkReader reads the region's VPC and vSwitch ranges (all pages, sorted
// by ID, SharedGroupIDs empty) and maps each VPC instance to its vSwitch.
type NetworkReader interface {
	ListVPCs(ctx context.Context, regionID string) ([]rolepolicy.VPC, error)
	ListVSwitches(ctx context.Context, regionID string) ([]rolepolicy.VSwitch, error)
	InstanceVSwitches(ctx context.Context, regionID string) (map[string]string, error)
}

// ConvergeECS is what a converge run reads and writes.
type ConvergeECS interface {
	GroupLister
	InstanceLister
	RuleReader
	GroupCreator
	RuleWriter
}

// AuditECS is what an audit reads.
type AuditECS interface {
	GroupLister
	InstanceLister
	RuleReader
	NetworkReader
}
