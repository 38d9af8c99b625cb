package intake

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/events"
	"github.com/sgpilot/sgpilot/shared/core/logging"
)

// CauseManual is the task cause of instances named by an operator payload.
const CauseManual = "manual"

// Enqueuer is the instance-created use case. Its zero value is not usable:
// Sender is required. It is safe for concurrent use if its ports are.
type Enqueuer struct {
	Sender    TaskSender
	Validator Validator
	// Reconciler runs {"mode":"reconcile"} payloads; nil refuses them.
	Reconciler *Reconciler
	// DefaultRegion is the region of payloads that name none (the
	// function's own region).
	DefaultRegion string
	// DryRun makes every invocation a dry run (plan mode for a whole
	// deployment); a payload can also ask for one.
	DryRun bool
	// Now stamps tasks (time.Now when nil).
	Now func() time.Time
}

func (e *Enqueuer) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// HandleEvent handles one invocation of the instance-created function,
// whatever started it: EventBridge (one envelope or an array), the timer
// (its payload is a ManualPayload; an empty one means reconcile), or an
// operator payload. See the package documentation for which outcomes are
// errors. The Summary is meaningful even when an error is returned.
func (e *Enqueuer) HandleEvent(ctx context.Context, raw []byte) (Summary, error) {
	format, err := events.Detect(raw)
	if err != nil {
		return e.rejectAll(ctx, Summary{Mode: ModeEvent, Received: 1}, "", err)
	}
	switch format {
	case events.FormatTimer:
		tev, err := events.DecodeTimerEvent(raw)
		if err != nil {
			return e.rejectAll(ctx, Summary{Mode: ModeEvent, Received: 1}, "", err)
		}
		payload := []byte(tev.Payload)
		if len(payload) == 0 {
			payload = []byte(`{"mode":"reconcile"}`)
		}
		logging.FromContext(ctx).Info("timer invocation", zap.String("trigger_name", tev.TriggerName), zap.String("trigger_time", tev.TriggerTime))
		return e.handlePayload(ctx, payload)
	case events.FormatPayload:
		return e.handlePayload(ctx, raw)
	default:
		return e.handleEnvelopes(ctx, raw)
	}
}

func (e *Enqueuer) handlePayload(ctx context.Context, raw []byte) (Summary, error) {
	p, err := DecodeManualPayload(raw)
	if err != nil {
		return e.rejectAll(ctx, Summary{Mode: ModeEnqueue, Received: 1}, "", err)
	}
	return e.HandleManual(ctx, p)
}

// rejectAll reports an input that could not be handled at all.
func (e *Enqueuer) rejectAll(ctx context.Context, s Summary, eventID string, err error) (Summary, error) {
	s.Rejected = append(s.Rejected, Skip{EventID: eventID, Reason: err.Error()})
	logging.FromContext(ctx).Warn("input rejected", zap.String(logging.FieldDecision, DecisionReject),
		zap.String(logging.FieldReason, err.Error()))
	return s, err
}

// batch collects the tasks of one invocation, one per region and instance.
type batch struct {
	tasks []domain.Task
	seen  map[string]bool
}

// add builds a task unless the instance already has one in this batch.
func (b *batch) add(ctx context.Context, s *Summary, regionID, instanceID, cause, eventID string, now time.Time) {
	log := logging.FromContext(ctx).With(zap.String(logging.FieldEventID, eventID),
		zap.String(logging.FieldInstanceID, instanceID), zap.String(logging.FieldRegion, regionID))
	key := regionID + "/" + instanceID
	if b.seen == nil {
		b.seen = map[string]bool{}
	}
	if b.seen[key] {
		s.Duplicates++
		log.Info("instance already has a task in this delivery", zap.String(logging.FieldDecision, DecisionDuplicate))
		return
	}
	b.seen[key] = true
	t := domain.NewOnboardTask(regionID, instanceID, cause, now)
	b.tasks = append(b.tasks, t)
	s.TaskIDs = append(s.TaskIDs, t.ID)
}

func (e *Enqueuer) handleEnvelopes(ctx context.Context, raw []byte) (Summary, error) {
	s := Summary{Mode: ModeEvent}
	items, err := events.SplitBatch(raw)
	if err != nil {
		return e.rejectAll(ctx, Summary{Mode: ModeEvent, Received: 1}, "", err)
	}
	s.Received = len(items)
	var b batch
	now := e.now()
	for i, item := range items {
		env, err := events.DecodeEnvelope(item)
		if err != nil {
			if len(items) > 1 {
				err = fmt.Errorf("event %d of %d: %w", i+1, len(items), err)
			}
			e.reject(ctx, &s, "", err)
			continue
		}
		ev, err := events.ParseInstanceEvent(env)
		if err == nil {
			err = e.Validator.Validate(ev)
		}
		if reason, ok := events.UnrelatedReason(err); ok {
			s.Ignored = append(s.Ignored, Skip{EventID: env.ID, Reason: reason})
			logging.FromContext(ctx).Info("event ignored", zap.String(logging.FieldEventID, env.ID),
				zap.String(logging.FieldDecision, DecisionIgnore), zap.String(logging.FieldReason, reason))
			continue
		}
		if err == nil {
			err = checkTaskSize(ev.RegionID, ev.InstanceIDs, ev.EventID, now)
		}
		if err != nil {
			e.reject(ctx, &s, env.ID, err)
			continue
		}
		s.Accepted++
		for _, id := range ev.InstanceIDs {
			b.add(ctx, &s, ev.RegionID, id, ev.EventID, ev.EventID, now)
		}
	}
	return e.finish(ctx, s, b.tasks, e.DryRun)
}

// checkTaskSize refuses, before anything is sent, input whose tasks would be
// larger than domain.MaxTaskBytes (in practice an oversized event ID, which
// becomes the task's cause): the worker would refuse them, so the input is
// rejected whole, with a reason naming the limit.
func checkTaskSize(regionID string, instanceIDs []string, cause string, now time.Time) error {
	for _, id := range instanceIDs {
		if _, err := domain.EncodeTask(domain.NewOnboardTask(regionID, id, cause, now)); err != nil {
			return fmt.Errorf("onboard task for %s: %w", id, err)
		}
	}
	return nil
}

func (e *Enqueuer) reject(ctx context.Context, s *Summary, eventID string, err error) {
	s.Rejected = append(s.Rejected, Skip{EventID: eventID, Reason: err.Error()})
	logging.FromContext(ctx).Warn("event rejected", zap.String(logging.FieldEventID, eventID),
		zap.String(logging.FieldDecision, DecisionReject), zap.String(logging.FieldReason, err.Error()),
		zap.Stringer("kind", domain.KindOf(err)))
}

// HandleManual handles a decoded operator payload: enqueue the named
// instances (cause "manual"), or run the reconcile of one region.
func (e *Enqueuer) HandleManual(ctx context.Context, p ManualPayload) (Summary, error) {
	if err := p.normalize(); err != nil {
		return e.rejectAll(ctx, Summary{Mode: ModeEnqueue, Received: 1}, "", err)
	}
	dry := p.DryRun || e.DryRun
	s := Summary{Mode: p.Mode, DryRun: dry, Received: 1}
	region := p.Region
	if region == "" {
		region = e.DefaultRegion
	}
	if region == "" {
		return e.rejectAll(ctx, s, "", domain.Errorf(domain.KindInvalid, "manual payload", "", `no region: add "region" to the payload`))
	}
	if err := e.Validator.CheckRegion(region); err != nil {
		return e.rejectAll(ctx, s, "", err)
	}
	ctx = logging.With(ctx, zap.String(logging.FieldRegion, region))

	if p.Mode == ModeReconcile {
		if e.Reconciler == nil {
			return e.rejectAll(ctx, s, "", domain.Errorf(domain.KindInvalid, "manual payload", "", "reconcile is not configured for this function"))
		}
		s.Accepted = 1
		rs, err := e.Reconciler.run(ctx, region, dry)
		s.Enqueued, s.TaskIDs, s.Reconcile = rs.Enqueued, rs.TaskIDs, &rs
		return s, err
	}

	if err := e.Validator.CheckInstanceIDs(p.InstanceIDs); err != nil {
		return e.rejectAll(ctx, s, "", err)
	}
	s.Accepted = 1
	var b batch
	now := e.now()
	for _, id := range p.InstanceIDs {
		b.add(ctx, &s, region, id, CauseManual, "", now)
	}
	return e.finish(ctx, s, b.tasks, dry)
}

// finish sends the tasks (or lists them on a dry run) and applies the
// error policy of the package documentation.
func (e *Enqueuer) finish(ctx context.Context, s Summary, tasks []domain.Task, dry bool) (Summary, error) {
	log := logging.FromContext(ctx)
	s.DryRun = dry
	if dry {
		s.Tasks = tasks
		for _, t := range tasks {
			log.Info("dry run: task not sent", taskFields(t, DecisionWould)...)
		}
	} else if len(tasks) > 0 {
		if err := e.Sender.SendTasks(ctx, tasks); err != nil {
			log.Error("sending tasks failed; the invocation fails so that it is delivered again",
				zap.Int("tasks", len(tasks)), zap.Error(err))
			return s, fmt.Errorf("enqueue %d onboard tasks: %w", len(tasks), err)
		}
		s.Enqueued = len(tasks)
		for _, t := range tasks {
			log.Info("task enqueued", taskFields(t, DecisionEnqueue)...)
		}
	}
	log.Info("intake summary", zap.String("mode", s.Mode), zap.Bool("dry_run", dry), zap.Int("received", s.Received),
		zap.Int("accepted", s.Accepted), zap.Int("ignored", len(s.Ignored)), zap.Int("rejected", len(s.Rejected)),
		zap.Int("enqueued", s.Enqueued), zap.Int("duplicates", s.Duplicates))
	if len(s.Rejected) > 0 && s.Accepted == 0 {
		return s, domain.Errorf(domain.KindInvalid, "handle event", "", "%d of %d events rejected and none accepted; first: %s",
			len(s.Rejected), s.Received, s.Rejected[0].Reason)
	}
	return s, nil
}

func taskFields(t domain.Task, decision string) []zap.Field {
	return []zap.Field{zap.String(logging.FieldTaskID, t.ID), zap.String(logging.FieldInstanceID, t.InstanceID),
		zap.String(logging.FieldRegion, t.RegionID), zap.String(logging.FieldEventID, eventIDOf(t)),
		zap.String(logging.FieldDecision, decision)}
}

// eventIDOf is the event a task came from ("" for manual and reconcile
// tasks, whose cause is a word, not an event ID).
func eventIDOf(t domain.Task) string {
	if t.Cause == CauseManual || t.Cause == CauseReconcile {
		return ""
	}
	return t.Cause
}
