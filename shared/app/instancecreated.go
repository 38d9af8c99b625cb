package app

import (
	"context"

	"github.com/sgpilot/sgpilot/shared/adapter/fcruntime"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/runreport"
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
			Validator: intake.Validator{ExpectedAccountID: cfg.AccountID, AllowedRegions: cfg.Regions, RoleTagKey: cfg.RoleTagKey},
			Reconciler: &intake.Reconciler{
				Instances: lazy, Groups: lazy, Sender: lazy, RoleTagKey: cfg.RoleTagKey, GroupLimit: cfg.GroupLimit,
				Scope: cfg.Cleanup.Scope, AllowedGroupIDs: cfg.RoleGroupIDs,
				// Past SGPILOT_FANOUT_INSTANCES the backfill goes on in
				// reconcile-page tasks (queue-worker).
				Pages: lazy, SplitOver: cfg.FanoutInstances,
			},
			DefaultRegion: cfg.Regions[0],
		}
		payload, format, err := takeFormat(payload)
		if err != nil {
			return nil, err
		}
		tr := d.track()
		sum, err := enq.HandleEvent(ctx, payload)
		var rep *runreport.Report
		if sum.Reconcile != nil { // a backfill is a run: report it, whatever the format
			r := tr.finish(ctx, reconcileRunReport(functionIntake, tr, *sum.Reconcile))
			rep = &r
		}
		if err == nil && format == FormatText {
			return renderIntakeSummary(sum), nil
		}
		if rep == nil {
			return answer(sum), err
		}
		return answer(IntakeResult{Summary: sum, RunReport: rep}), err
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

func (l lazyClients) ListInstancesPage(ctx context.Context, regionID string, f domain.InstanceFilter, token string, size int) ([]domain.Instance, string, error) {
	c, err := l.d.Clients(ctx)
	if err != nil {
		return nil, "", err
	}
	return c.ECS.ListInstancesPage(ctx, regionID, f, token, size)
}

func (l lazyClients) ListGroups(ctx context.Context, regionID string, f domain.GroupFilter) ([]domain.SecurityGroup, error) {
	c, err := l.d.Clients(ctx)
	if err != nil {
		return nil, err
	}
	return c.ECS.ListGroups(ctx, regionID, f)
}
