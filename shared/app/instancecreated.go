package app

import (
	"context"

	"github.com/sgpilot/sgpilot/shared/fcruntime"
	"github.com/sgpilot/sgpilot/shared/intake"
)

// InstanceCreated builds the instance-created handler: EventBridge events,
// timer events and `s invoke` payloads in; one onboarding task per instance
// out, on the work queue. It returns intake's JSON summary.
func InstanceCreated(d *Deps) (fcruntime.Handler, error) {
	cfg := d.Config
	return func(ctx context.Context, payload []byte) (any, error) {
		c, err := d.Clients(ctx)
		if err != nil {
			return nil, err
		}
		enq := &intake.Enqueuer{
			Sender:    c.Work,
			Validator: intake.Validator{ExpectedAccountID: cfg.AccountID, AllowedRegions: cfg.Regions},
			Reconciler: &intake.Reconciler{
				Instances: c.ECS, Groups: c.ECS, Sender: c.Work, RoleTagKey: cfg.RoleTagKey, GroupLimit: cfg.GroupLimit,
			},
			DefaultRegion: cfg.Regions[0],
		}
		return enq.HandleEvent(ctx, payload)
	}, nil
}
