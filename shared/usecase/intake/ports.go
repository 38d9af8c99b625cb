package intake

import (
	"context"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// TaskSender puts tasks on the work queue (shared/adapter/mnsqueue.Queue,
// shared/testkit/fake.Queue). SendTasks sends in batches of 16; on a partial failure
// it returns an error naming the failed tasks, and the tasks already sent
// stay sent. Errors are classified (*domain.Error); it is safe for
// concurrent use. Sending a task twice is harmless: tasks are idempotent.
type TaskSender interface {
	SendTasks(ctx context.Context, tasks []domain.Task) error
}

// InstanceLister lists a region's instances (shared/adapter/ecsapi.Client,
// shared/testkit/fake.ECS): every page, filtered by f (f.TagKey: instances carrying
// that tag key). Read-only, safe for concurrent use; errors are classified.
type InstanceLister interface {
	ListInstances(ctx context.Context, regionID string, f domain.InstanceFilter) ([]domain.Instance, error)
}

// GroupLister lists a region's security groups, tags included, every page,
// filtered by f. Read-only, safe for concurrent use; errors are classified.
type GroupLister interface {
	ListGroups(ctx context.Context, regionID string, f domain.GroupFilter) ([]domain.SecurityGroup, error)
}

// InstancePager lists one page of a region's instances (ecsapi.Client,
// fake.ECS): up to size after token ("" first), and the next page's token
// ("" on the last page). A backfill split by pages carries the token.
type InstancePager interface {
	ListInstancesPage(ctx context.Context, regionID string, f domain.InstanceFilter, token string, size int) ([]domain.Instance, string, error)
}
