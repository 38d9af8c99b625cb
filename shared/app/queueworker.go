package app

import (
	"context"
	"strings"
	"time"

	"github.com/sgpilot/sgpilot/shared/adapter/fcruntime"
	"github.com/sgpilot/sgpilot/shared/core/config"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/events"
	"github.com/sgpilot/sgpilot/shared/core/task"
	"github.com/sgpilot/sgpilot/shared/usecase/cleanup"
	"github.com/sgpilot/sgpilot/shared/usecase/deadletters"
	"github.com/sgpilot/sgpilot/shared/usecase/intake"
	"github.com/sgpilot/sgpilot/shared/usecase/onboard"
	"github.com/sgpilot/sgpilot/shared/usecase/worker"
)

// WorkerPayload is what `s invoke` (or a timer) passes to queue-worker.
//
//	{"mode":"drain"}                                         process the queue until idle or near the deadline
//	{"mode":"plan","instanceIds":["i-…"],"region":"…"}       the membership plan per instance; nothing changes
//	{..., "format":"text"}                                   the answer as plain text for a person
//	{"mode":"dead-letters","action":"list"}                  the dead letters of both dead-letter queues, counted
//	{"mode":"dead-letters","action":"show","ids":["dl-…"]}   some letters in full
//	{"mode":"dead-letters","action":"replay","reasons":["…"]} their tasks back onto the work queue (attempt 1)
//	{"mode":"dead-letters","action":"purge","ids":["…"]}     delete them ("all":true for every letter)
//
// Dead-letter selections ("ids", "reasons", "instanceIds", "taskIds",
// "queue", "all") and "format":"text" are described in usecase/deadletters.
type WorkerPayload struct {
	Mode        string   `json:"mode"`
	Format      string   `json:"format,omitempty"` // "json" (default) or "text"
	InstanceIDs []string `json:"instanceIds,omitempty"`
	Region      string   `json:"region,omitempty"`
	// IdleSeconds ends a drain after this long without messages (default 30).
	IdleSeconds int `json:"idleSeconds,omitempty"`

	// Dead-letter tooling ("mode":"dead-letters").
	Action  string   `json:"action,omitempty"`
	IDs     []string `json:"ids,omitempty"`
	Reasons []string `json:"reasons,omitempty"`
	TaskIDs []string `json:"taskIds,omitempty"`
	Queue   string   `json:"queue,omitempty"`
	All     bool     `json:"all,omitempty"`
	Limit   int      `json:"limit,omitempty"`
}

// ModeDeadLetters selects the dead-letter tooling.
const ModeDeadLetters = "dead-letters"

func (p WorkerPayload) deadLetterRequest() deadletters.Request {
	return deadletters.Request{Action: p.Action, IDs: p.IDs, Reasons: p.Reasons, InstanceIDs: p.InstanceIDs,
		TaskIDs: p.TaskIDs, Queue: p.Queue, All: p.All, Limit: p.Limit}
}

// deadLetterFields says whether p sets a field of the dead-letter tooling.
func (p WorkerPayload) deadLetterFields() bool {
	return p.Action != "" || len(p.IDs) > 0 || len(p.Reasons) > 0 || len(p.TaskIDs) > 0 || p.Queue != "" || p.All ||
		p.Limit != 0
}

// validate checks the payload and fills in the region.
func (p *WorkerPayload) validate(defaultRegion string, deadLetterQueues []string) error {
	bad := func(format string, args ...any) error {
		return domain.Errorf(domain.KindInvalid, "decode payload", "", format, args...)
	}
	if p.Mode == ModeDeadLetters {
		if p.Format != "" && p.Format != "json" && p.Format != "text" {
			return bad(`format %q: want "json" or "text"`, p.Format)
		}
		return p.deadLetterRequest().Validate(deadLetterQueues)
	}
	if p.deadLetterFields() {
		return bad(`"action", "ids", "reasons", "taskIds", "queue", "all" and "limit" belong to "mode":"dead-letters"`)
	}
	f, err := parseFormat(p.Format, false)
	if err != nil {
		return err
	}
	p.Format = f
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
		return bad(`mode %q: want "drain", "plan" or "dead-letters"`, p.Mode)
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
	// Kept for the worker instance's life: the delete re-check's
	// region-wide reads serve the batches of SGPILOT_RECHECK_TTL.
	recheck := &cleanup.RecheckCache{TTL: cfg.RecheckTTL}
	// Likewise onboarding's group listings: a burst's batches reuse them.
	groups := onboard.NewGroupCache(cfg.GroupCacheTTL, nil)
	// The regions and parts of every batch share one memory budget.
	budget := cleanupBudget()
	return func(ctx context.Context, payload []byte) (any, error) {
		// Decode and validate the input before touching credentials or the cloud.
		format, err := events.Detect(payload)
		if err != nil {
			return nil, err
		}
		var pushed []worker.PushedMessage
		var p WorkerPayload
		if format == events.FormatCloudEvents {
			// Message by message: a malformed one is dead-lettered alone.
			items, err := events.DecodeQueueItems(payload)
			if err != nil {
				return nil, err
			}
			pushed = make([]worker.PushedMessage, len(items))
			for i, it := range items {
				pushed[i] = worker.PushedMessage{MessageID: it.Message.MessageID, Body: it.Message.TaskBody()}
				if it.Err != nil {
					pushed[i].Body, pushed[i].Err = it.Raw, it.Err
				}
			}
		} else {
			if err := operatorPayload(payload, &p); err != nil {
				return nil, err
			}
			if err := p.validate(cfg.Regions[0], []string{cfg.DeadLetterQueue, cfg.FailedEventsQueue}); err != nil {
				return nil, err
			}
		}

		c, err := d.Clients(ctx)
		if err != nil {
			return nil, err
		}
		if p.Mode == ModeDeadLetters {
			return runDeadLetters(ctx, cfg.DeadLetterQueue, cfg.FailedEventsQueue, c, p)
		}
		opts := onboardOptions(cfg)
		opts.Groups = groups
		ob, err := onboard.New(onboard.PortsFrom(c.ECS), opts)
		if err != nil {
			return nil, err
		}
		if p.Mode == "plan" {
			plans, err := ob.Plan(ctx, p.Region, p.InstanceIDs)
			if err != nil {
				return nil, err
			}
			res := PlanResult{Region: p.Region, Plans: plans}
			if p.Format == FormatText {
				return renderPlans(res)
			}
			return answer(res), nil
		}
		del := cleanup.NewDeleter(c.ECS, cfg.Cleanup)
		checkUsers(cfg.CheckUsers, &del.Scaling, &del.Containers)
		// A refused delete (something started using the group after the
		// plan) is rare; when it happens, name the instances and ENIs.
		del.Interfaces = c.ECS
		del.Now = time.Now
		del.Reuse = recheck
		split := cleanupSplitter(cfg, c)
		split.Budget = budget
		w, err := worker.New(c.Work, c.DeadLetter, map[domain.TaskKind]task.Handler{
			domain.TaskOnboard: ob, domain.TaskDeleteGroup: del,
			domain.TaskCleanupRegion: split, domain.TaskCleanupPart: split,
			domain.TaskRolesNetwork:  rolesRunner(cfg, c.ECS),
			domain.TaskReconcilePage: &intake.PageRunner{Reconciler: pageReconciler(cfg, c), RetryAfter: cfg.RetryDelay},
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
		if err == nil && p.Format == FormatText {
			return renderWorkerSummary(sum), nil
		}
		return answer(WorkerResult{Summary: sum, RunReport: rep}), err
	}, nil
}

// cleanupSplitter runs the regions and parts of a nightly cleanup queued by
// nightly-cleanup. The declared roles come with the tasks; the limits are
// this function's (s.yaml gives both functions the same).
func cleanupSplitter(cfg config.Config, c Clients) *cleanup.Splitter {
	cl := cleanup.NewCleaner(c.ECS, c.Work)
	checkUsers(cfg.CheckUsers, &cl.Scaling, &cl.Containers)
	policy := cfg.Cleanup
	policy.RoleTagKey = cfg.RoleTagKey
	return &cleanup.Splitter{Cleaner: cl, Policy: policy, SplitOver: cfg.FanoutGroups, RetryAfter: cfg.RetryDelay}
}

// pageReconciler goes on with the backfills split by instance-created,
// with the same role scope (s.yaml gives both functions the same settings).
func pageReconciler(cfg config.Config, c Clients) *intake.Reconciler {
	return &intake.Reconciler{Groups: c.ECS, Pages: c.ECS, Sender: c.Work, RoleTagKey: cfg.RoleTagKey,
		GroupLimit: cfg.GroupLimit, Scope: cfg.Cleanup.Scope, AllowedGroupIDs: cfg.RoleGroupIDs,
		SplitOver: cfg.FanoutInstances}
}

// runDeadLetters runs the dead-letter tooling over both dead-letter queues.
func runDeadLetters(ctx context.Context, dlqName, failedName string, c Clients, p WorkerPayload) (any, error) {
	tool := &deadletters.Tool{
		Sources: []deadletters.Source{{Name: dlqName, Queue: c.DeadLetter}, {Name: failedName, Queue: c.FailedEvents}},
		Work:    c.Work,
		Now:     time.Now,
	}
	res, err := tool.Run(ctx, p.deadLetterRequest())
	if err != nil {
		return nil, err
	}
	if p.Format != "text" {
		return res, nil
	}
	// FC's Go runtime JSON-encodes every result: the text arrives as one
	// JSON string (localcloud invoke prints it as text).
	var b strings.Builder
	if err := deadletters.RenderText(&b, res); err != nil {
		return nil, err
	}
	return b.String(), nil
}

// onboardOptions are the worker's onboarding settings (the sgpilot command
// plans with them too).
func onboardOptions(cfg config.Config) onboard.Options {
	return onboard.Options{
		RoleTagKey: cfg.RoleTagKey, GroupLimit: cfg.GroupLimit, StaleTagKey: cfg.Cleanup.StaleTagKey,
		ManagedTagKey: cfg.Cleanup.Scope.TagKey, ManagedTagValue: cfg.Cleanup.Scope.TagValue,
		CreateMissingGroups: cfg.CreateMissingGroups,
		NotReadyDelay:       cfg.RetryDelay, BackoffDelay: 2 * cfg.RetryDelay,
		StartingDelay: cfg.NotReadyDelay, Scope: cfg.Cleanup.Scope, AllowedGroupIDs: cfg.RoleGroupIDs,
	}
}
