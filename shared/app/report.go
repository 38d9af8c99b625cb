package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/adapter/fcruntime"
	"github.com/sgpilot/sgpilot/shared/adapter/mnsqueue"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
	"github.com/sgpilot/sgpilot/shared/core/runreport"
	"github.com/sgpilot/sgpilot/shared/usecase/cleanup"
	"github.com/sgpilot/sgpilot/shared/usecase/intake"
	"github.com/sgpilot/sgpilot/shared/usecase/notify"
	"github.com/sgpilot/sgpilot/shared/usecase/roles"
	"github.com/sgpilot/sgpilot/shared/usecase/worker"
)

// Run reports: every run folds its use case's own report into a
// runreport.Report (the adapters below), logs it as one line and, when it
// needs a person, publishes it to the notification topic.

// runTracker measures one run: its start and the ECS calls made since.
type runTracker struct {
	d      *Deps
	start  time.Time
	before map[string]int64
}

// track starts measuring a run. Call it after d.Clients so the ECS client
// exists.
func (d *Deps) track() runTracker {
	return runTracker{d: d, start: time.Now(), before: d.ecsStats()}
}

// ecsStats returns the ECS client's cumulative calls by action (empty
// before the client exists). A client rebuilt mid-run (credentials rotated)
// starts from zero, so such a run under-counts its calls.
func (d *Deps) ecsStats() map[string]int64 {
	d.mu.Lock()
	ecs := d.ecs
	d.mu.Unlock()
	if ecs == nil {
		return map[string]int64{}
	}
	return ecs.Stats()
}

// finish completes r with the duration, the ECS calls and what needs
// attention, then logs and publishes it. Publishing failures are logged,
// never returned: a run's outcome does not depend on its notification.
func (t runTracker) finish(ctx context.Context, r runreport.Report) runreport.Report {
	r.Finish(time.Now())
	r.ECSCalls = runreport.CallsSince(t.before, t.d.ecsStats())
	r.NeedsAttention = notify.Assess(r)
	log := logging.FromContext(ctx)
	runreport.Log(log, r)
	n, err := t.d.notifier(ctx)
	if err != nil {
		log.Error("notification topic unavailable: run report not published", zap.String("runId", r.RunID), zap.Error(err))
		return r
	}
	sent, err := n.Notify(ctx, r)
	switch {
	case err != nil:
		log.Error("run report not published", zap.String("runId", r.RunID), zap.Error(err))
	case sent:
		log.Info("run report published", zap.String("runId", r.RunID), zap.String("topic", t.d.Config.NotifyTopic))
	}
	return r
}

// notifier returns the notifier for the invocation's credentials, or nil
// when notifications are off. The topic client is cheap and built per call.
func (d *Deps) notifier(ctx context.Context) (*notify.Notifier, error) {
	if d.Config.NotifyTopic == "" {
		return nil, nil
	}
	creds, err := fcruntime.Credentials(ctx, d.Getenv)
	if err != nil {
		return nil, err
	}
	tp, err := mnsqueue.NewTopic(mnsqueue.Config{Endpoint: d.Config.MNSEndpoint, DialAddress: d.Config.MNSDialAddress, Credentials: creds},
		d.Config.NotifyTopic)
	if err != nil {
		return nil, fmt.Errorf("build MNS client for topic %s: %w", d.Config.NotifyTopic, err)
	}
	return &notify.Notifier{Topic: tp, Digest: d.Config.NotifyDigest}, nil
}

var runSeq struct {
	sync.Mutex
	n int
}

// newRunID names a run that has no ID of its own.
func newRunID(kind runreport.Kind, start time.Time) string {
	runSeq.Lock()
	runSeq.n++
	n := runSeq.n
	runSeq.Unlock()
	return fmt.Sprintf("%s-%s-%d", kind, start.UTC().Format("20060102T150405Z"), n)
}

// cleanupRunReport folds a cleanup report: planned are the marks, unmarks
// and deletions; done what was marked, unmarked and queued for deletion;
// withheld the deletions the blast radius held back; a region whose
// discovery failed is a failed region.
func cleanupRunReport(function string, t runTracker, rep cleanup.Report) runreport.Report {
	r := runreport.New(runreport.KindCleanup, rep.RunID, function, t.start)
	r.Mode = string(rep.Mode)
	s := rep.Summary
	r.Counts.Planned = s.ToMark + s.ToUnmark + s.ToDelete
	r.Counts.Done = s.Marked + s.Unmarked + s.DeleteTasksEnqueued
	r.Counts.Errors = s.Errors
	for _, rr := range rep.Regions {
		r.Regions = append(r.Regions, rr.RegionID)
		for _, e := range rr.Errors {
			if strings.HasPrefix(e, "discovery") {
				r.FailedRegions = append(r.FailedRegions, rr.RegionID)
				break
			}
		}
		for _, d := range rr.Decisions {
			if d.Reason == domain.ReasonBlastRadius {
				r.Counts.Withheld = runreport.Add(r.Counts.Withheld, string(d.Reason), 1)
			}
		}
	}
	return r
}

// workerRunReport folds a queue-worker summary (a push batch or a drain):
// planned is what was received, refused the invalid messages, errors the
// failed dead-letter sends, deletes and retries.
func workerRunReport(function, mode, region string, t runTracker, s worker.Summary) runreport.Report {
	r := runreport.New(runreport.KindOnboarding, newRunID(runreport.KindOnboarding, t.start), function, t.start)
	r.Mode = mode
	r.Regions = []string{region}
	r.Counts.Planned = s.Received
	r.Counts.Done = s.Done
	r.Counts.Retried = s.Retried
	r.Counts.Refused = runreport.Add(nil, "invalid", s.Invalid)
	for reason, n := range s.DeadLettered {
		r.Counts.DeadLettered = runreport.Add(r.Counts.DeadLettered, reason, n)
	}
	r.Counts.Errors = s.DeadLetterFailed + s.DeleteErrors + s.RetryErrors
	return r
}

// rolesRunReport folds a converge run: withheld are revokes over the
// limit; in apply mode what was authorized, revoked or created is drift
// repaired.
func rolesRunReport(function string, t runTracker, regions []string, rep roles.Report) runreport.Report {
	r := runreport.New(runreport.KindRoles, newRunID(runreport.KindRoles, t.start), function, t.start)
	r.Mode = string(rep.Mode)
	r.Regions = regions
	s := rep.Summary
	r.Counts.Planned = s.GroupsToCreate + s.RulesToAuth + s.RulesToRevoke
	r.Counts.Done = s.GroupsCreated + s.RulesAuthorized + s.RulesRevoked
	r.Counts.Withheld = runreport.Add(nil, "revoke-limit", s.Withheld)
	r.Counts.Errors = s.Failed
	if rep.Mode == roles.ModeApply {
		r.Counts.Repaired = r.Counts.Done
	}
	for _, e := range rep.RegionErrors {
		r.FailedRegions = append(r.FailedRegions, e.RegionID)
	}
	return r
}

// auditRunReport folds a rule audit: findings by severity.
func auditRunReport(function string, t runTracker, regions []string, rep roles.AuditReport) runreport.Report {
	r := runreport.New(runreport.KindAudit, newRunID(runreport.KindAudit, t.start), function, t.start)
	r.Mode = "audit"
	r.Regions = regions
	r.Counts.Findings = map[string]int{}
	for sev, n := range rep.Counts {
		r.Counts.Findings[sev] = n
	}
	for _, ra := range rep.Regions {
		if ra.Error != "" {
			r.FailedRegions = append(r.FailedRegions, ra.RegionID)
			r.Counts.Errors++
		}
	}
	return r
}

// reconcileRunReport folds a backfill: planned are the instances with a
// role tag, done those complete or queued; queued instances are drift
// repaired; instances the plan refuses are refused by reason.
func reconcileRunReport(function string, t runTracker, s intake.ReconcileSummary) runreport.Report {
	r := runreport.New(runreport.KindReconcile, newRunID(runreport.KindReconcile, t.start), function, t.start)
	r.Mode = "apply"
	if s.DryRun {
		r.Mode = "plan"
	}
	r.Regions = []string{s.RegionID}
	r.Counts.Planned = s.Instances
	r.Counts.Done = s.Complete + s.Enqueued
	if !s.DryRun {
		r.Counts.Repaired = s.Enqueued
	}
	for _, is := range s.Attention {
		r.Counts.Refused = runreport.Add(r.Counts.Refused, string(is.Reason), 1)
	}
	return r
}

// Function names as s.yaml declares them; they go into run reports.
const (
	functionIntake  = "instance-created"
	functionWorker  = "queue-worker"
	functionCleanup = "nightly-cleanup"
)

// runReport finishes the role run's report, stores it on res and appends it
// to reports. A nil res (roles off) adds nothing; a run that did not finish
// (no mode) counts every region as failed.
func (res *RolesResult) runReport(ctx context.Context, t runTracker, regions []string, reports []runreport.Report) []runreport.Report {
	if res == nil {
		return reports
	}
	r := rolesRunReport(functionCleanup, t, regions, res.Report)
	if res.Report.Mode == "" {
		r.FailedRegions, r.Counts.Errors = regions, 1
	}
	r = t.finish(ctx, r)
	res.RunReport = &r
	return append(reports, r)
}

// runReport finishes the audit's report like RolesResult.runReport.
func (res *AuditResult) runReport(ctx context.Context, t runTracker, regions []string, reports []runreport.Report) []runreport.Report {
	if res == nil {
		return reports
	}
	r := auditRunReport(functionCleanup, t, regions, res.AuditReport)
	if res.AuditReport.Counts == nil {
		r.FailedRegions, r.Counts.Errors = regions, 1
	}
	r = t.finish(ctx, r)
	res.RunReport = &r
	return append(reports, r)
}

// WorkerResult is queue-worker's answer: the worker's summary, as before,
// with the batch's run report under "runReport".
type WorkerResult struct {
	worker.Summary
	RunReport runreport.Report `json:"-"`
}

// MarshalJSON keeps the summary's own JSON (it has a MarshalJSON of its
// own, which embedding would otherwise let win) and adds runReport.
func (w WorkerResult) MarshalJSON() ([]byte, error) {
	sum, err := json.Marshal(w.Summary)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(sum, &m); err != nil {
		return nil, err
	}
	rep, err := json.Marshal(w.RunReport)
	if err != nil {
		return nil, err
	}
	m["runReport"] = rep
	return json.Marshal(m)
}

// IntakeResult is instance-created's answer to a backfill: intake's
// summary with the run report.
type IntakeResult struct {
	intake.Summary
	RunReport *runreport.Report `json:"runReport,omitempty"`
}

// The topic adapter is the notifier's publisher.
var _ notify.Publisher = (*mnsqueue.Topic)(nil)
