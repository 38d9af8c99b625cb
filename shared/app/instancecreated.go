package app

import (
	"context"

	"github.com/sgpilot/sgpilot/shared/adapter/fcruntime"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/usecase/intake"
)

// InstanceCreated builds the instance-created handler: EventBridge events,
// timer events and `s invoke` payloads in; one onboarding task per instance
// out, on the work queue. It returns intake's JSON summary. The event is
// validated before credentials are even looked up: the adapters are reached
// lazily, only once there is something to send or list.
func InstanceCreated(d *Deps) (fcruntime.Handler, error) {
	cfg := d.Config
	lazy := lazyClients{d}
	return func(ctx context.Context, payload []byte) (any, error) {
		enq := &intake.Enqueuer{
			Sender:    lazy,
			Validator: intake.Validator{ExpectedAccountID: cfg.AccountID, AllowedRegions: cfg.Regions},
			Reconciler: &intake.Reconciler{
				Instances: lazy, Groups: lazy, Sender: lazy, RoleTagKey: cfg.RoleTagKey, GroupLimit: cfg.GroupLimit,
			},
			DefaultRegion: cfg.Regions[0],
		}
		tr := d.track()
		sum, err := enq.HandleEvent(ctx, payload)
		if sum.Reconcile == nil {
			return sum, err
		}
		rep := tr.finish(ctx, reconcileRunReport(functionIntake, tr, *sum.Reconcile))
		return IntakeResult{Summary: sum, RunReport: &rep}, err
	}, nil
}

// lazyClients satisfies intake's ports by building the adapters on first use.
type lazyClients struct{ d *Deps }

func (l lazyClients) SendTasks(ctx context.Context, tasks []domain.Task) error {
	c, err := l.d.Clients(ctx)
	if err != nil {
		return err
	}
	return c.Work.SendTasks(ctx, tasks)
}

func (l lazyClients) ListInstances(ctx context.Context, regionID string, f domain.InstanceFilter) ([]domain.Instance, error) {
	c, err := l.d.Clients(ctx)
	if err != nil {
		return nil, err
	}
	return c.ECS.ListInstances(ctx, regionID, f)
}

func (l lazyClients) ListGroups(ctx context.Context, regionID string, f domain.GroupFilter) ([]domain.SecurityGroup, error) {
	c, err := l.d.Clients(ctx)
	if err != nil {
		return nil, err
	}
	return c.ECS.ListGroups(ctx, regionID, f)
}
