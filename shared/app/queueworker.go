package app

import (
	"context"
	"time"

	"github.com/sgpilot/sgpilot/shared/adapter/fcruntime"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/events"
	"github.com/sgpilot/sgpilot/shared/core/task"
	"github.com/sgpilot/sgpilot/shared/usecase/cleanup"
	"github.com/sgpilot/sgpilot/shared/usecase/onboard"
	"github.com/sgpilot/sgpilot/shared/usecase/worker"
)

// WorkerPayload is what `s invoke` (or a timer) passes to queue-worker.
//
//	{"mode":"drain"}                                         process the queue until idle or near the deadline
//	{"mode":"plan","instanceIds":["i-…"],"region":"…"}       the membership plan per instance; nothing changes
type WorkerPayload struct {
	Mode        string   `json:"mode"`
	InstanceIDs []string `json:"instanceIds,omitempty"`
	Region      string   `json:"region,omitempty"`
	// IdleSeconds ends a drain after this long without messages (default 30).
	IdleSeconds int `json:"idleSeconds,omitempty"`
}

// validate checks the payload and fills in the region.
func (p *WorkerPayload) validate(defaultRegion string) error {
	bad := func(format string, args ...any) error {
		return domain.Errorf(domain.KindInvalid, "decode payload", "", format, args...)
	}
	switch p.Mode {
	case "", "drain":
		p.Mode = "drain"
		if len(p.InstanceIDs) > 0 {
			return bad(`"instanceIds" belongs to "mode":"plan"; drain processes whatever is queued`)
		}
		if p.IdleSeconds < 0 || p.IdleSeconds > 600 {
			return bad("idleSeconds %d: want 0 to 600", p.IdleSeconds)
		}
		return nil
	case "plan":
	default:
		return bad(`mode %q: want "drain" or "plan"`, p.Mode)
	}
	if p.Region == "" {
		p.Region = defaultRegion
	}
	if !domain.ValidRegionID(p.Region) {
		return bad("region %q is not a region ID", p.Region)
	}
	if len(p.InstanceIDs) == 0 {
		return bad(`give "instanceIds": the instances to plan for`)
	}
	for _, id := range p.InstanceIDs {
		if !domain.ValidInstanceID(id) {
			return bad("instance ID %q is malformed", id)
		}
	}
	return nil
}

// PlanResult is the answer to a plan request.
type PlanResult struct {
	Region string                  `json:"region"`
	Plans  []domain.MembershipPlan `json:"plans"`
}

// QueueWorker builds the queue-worker handler. MNS queue trigger deliveries
// (one CloudEvent or an array) are handled in push mode; an operator payload
// drains the queue or returns plans.
func QueueWorker(d *Deps) (fcruntime.Handler, error) {
	cfg := d.Config
	return func(ctx context.Context, payload []byte) (any, error) {
		// Decode and validate the input before touching credentials or the cloud.
		format, err := events.Detect(payload)
		if err != nil {
			return nil, err
		}
		var pushed []worker.PushedMessage
		var p WorkerPayload
		if format == events.FormatCloudEvents {
			msgs, err := events.DecodeQueueMessages(payload)
			if err != nil {
				return nil, err
			}
			pushed = make([]worker.PushedMessage, len(msgs))
			for i, m := range msgs {
				pushed[i] = worker.PushedMessage{MessageID: m.MessageID, Body: m.TaskBody()}
			}
		} else {
			if err := operatorPayload(payload, &p); err != nil {
				return nil, err
			}
			if err := p.validate(cfg.Regions[0]); err != nil {
				return nil, err
			}
		}

		c, err := d.Clients(ctx)
		if err != nil {
			return nil, err
		}
		ob, err := onboard.New(onboard.PortsFrom(c.ECS), onboard.Options{
			RoleTagKey: cfg.RoleTagKey, GroupLimit: cfg.GroupLimit, StaleTagKey: cfg.Cleanup.StaleTagKey,
			ManagedTagKey: cfg.Cleanup.Scope.TagKey, ManagedTagValue: cfg.Cleanup.Scope.TagValue,
			CreateMissingGroups: cfg.CreateMissingGroups,
			NotReadyDelay:       cfg.RetryDelay, BackoffDelay: 2 * cfg.RetryDelay,
		})
		if err != nil {
			return nil, err
		}
		if p.Mode == "plan" {
			plans, err := ob.Plan(ctx, p.Region, p.InstanceIDs)
			if err != nil {
				return nil, err
			}
			return PlanResult{Region: p.Region, Plans: plans}, nil
		}
		del := cleanup.NewDeleter(c.ECS, cfg.Cleanup)
		// A refused delete (something started using the group after the
		// plan) is rare; when it happens, name the instances and ENIs.
		del.Interfaces = c.ECS
		del.Now = time.Now
		w, err := worker.New(c.Work, c.DeadLetter, map[domain.TaskKind]task.Handler{
			domain.TaskOnboard: ob, domain.TaskDeleteGroup: del,
		}, worker.Options{MaxDeliveries: cfg.MaxDeliveries, RetryDelay: cfg.RetryDelay, Concurrency: cfg.JoinConcurrency})
		if err != nil {
			return nil, err
		}
		var sum worker.Summary
		tr, mode := d.track(), "push"
		if format == events.FormatCloudEvents {
			sum, err = w.HandlePushed(ctx, pushed)
		} else {
			mode = "drain"
			opts := worker.DrainOptions{}
			if p.IdleSeconds > 0 {
				opts.IdleWindow = time.Duration(p.IdleSeconds) * time.Second
			}
			sum, err = w.Drain(ctx, opts)
		}
		rep := tr.finish(ctx, workerRunReport(functionWorker, mode, cfg.Regions[0], tr, sum))
		if sum.Panicked {
			d.exitAfterResponse(ctx)
		}
		return WorkerResult{Summary: sum, RunReport: rep}, err
	}, nil
}
