package app

import (
	"bytes"
	"context"
	"time"

	"github.com/sgpilot/sgpilot/shared/adapter/fcruntime"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
	"github.com/sgpilot/sgpilot/shared/core/runreport"
	"github.com/sgpilot/sgpilot/shared/usecase/cleanup"

	"go.uber.org/zap"
)

// CleanupPayload is what the timer or `s invoke` passes to nightly-cleanup.
//
//	{"mode":"plan"}                      the plan only; nothing changes
//	{"mode":"apply"}                     mark, unmark and queue deletions (the nightly timer)
//	{"mode":"plan","format":"text"}      the plan as plain text a person can read ("table" too)
//	{"regions":["cn-shanghai"]}          restrict to some of the configured regions
//	{"mode":"roles","action":"plan"}     the role policy (roles.go); "audit": the rule audit
//	{"mode":"apply","approve":"<plan ID>"}  apply, lifting the blast-radius limit for exactly that plan
type CleanupPayload struct {
	Mode    string   `json:"mode"`
	Format  string   `json:"format,omitempty"` // "json" (default), "text" (or "table")
	Regions []string `json:"regions,omitempty"`
	Action  string   `json:"action,omitempty"` // "mode":"roles" only: "plan" (default) or "apply"
	// Approve is a withheld plan's ID (its "planId"): the run covers that
	// plan's region only and deletes beyond the limit only while the plan
	// is still exactly that one (domain/approval.go).
	Approve string `json:"approve,omitempty"`
}

// approvalRegions checks an approval and returns the one region it covers.
func approvalRegions(p CleanupPayload, mode cleanup.Mode, configured []string) ([]string, error) {
	bad := func(format string, args ...any) error {
		return domain.Errorf(domain.KindInvalid, "decode payload", "", format, args...)
	}
	if mode != cleanup.ModeApply {
		return nil, bad(`"approve" belongs to "mode":"apply"`)
	}
	id, err := domain.ParsePlanID(p.Approve)
	if err != nil {
		return nil, err
	}
	if len(p.Regions) > 0 && (len(p.Regions) != 1 || p.Regions[0] != id.Region) {
		return nil, bad("approval %s covers region %s only; drop \"regions\" or give just that one", p.Approve, id.Region)
	}
	return allowedRegions(configured, []string{id.Region})
}

// approvalRefused is the error of a run whose approval no longer matched.
func approvalRefused(rep cleanup.Report) error {
	for _, rr := range rep.Regions {
		if rr.Approval != nil && rr.Approval.Status == domain.ApprovalRefused {
			return domain.Errorf(domain.KindConflict, "approve cleanup plan", rr.RegionID, "approval refused: %s", rr.Approval.Detail)
		}
	}
	return nil
}

// CleanupResult is the JSON answer: the report plus its rendering, and the
// role policy run and audit that came with it (roles.go).
type CleanupResult struct {
	cleanup.Report
	Table string       `json:"table"`
	Roles *RolesResult `json:"roles,omitempty"`
	Audit *AuditResult `json:"audit,omitempty"`
	// RunReports are the run's reports (report.go): the role policy run,
	// the cleanup and the audit, each when it ran.
	RunReports []runreport.Report `json:"runReports,omitempty"`
}

// NightlyCleanup builds the nightly-cleanup handler.
func NightlyCleanup(d *Deps) (fcruntime.Handler, error) {
	cfg := d.Config
	if err := cleanup.ValidatePolicy(cfg.Cleanup); err != nil {
		return nil, err
	}
	startRoles, err := newNightlyRoles(cfg)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, payload []byte) (any, error) {
		p := CleanupPayload{Mode: string(cleanup.ModePlan)}
		if err := operatorPayload(payload, &p); err != nil {
			return nil, err
		}
		nr, err := startRoles.refresh()
		if err != nil {
			return nil, err
		}
		if nr.handles(p.Mode) {
			return nr.handle(ctx, d, p)
		}
		if p.Action != "" {
			return nil, domain.Errorf(domain.KindInvalid, "decode payload", "", `"action" belongs to "mode":"roles"`)
		}
		mode, err := cleanup.ParseMode(p.Mode)
		if err != nil {
			return nil, err
		}
		regions := cfg.Regions
		if len(p.Regions) > 0 {
			allowed := map[string]bool{}
			for _, r := range cfg.Regions {
				allowed[r] = true
			}
			for _, r := range p.Regions {
				if !allowed[r] {
					return nil, domain.Errorf(domain.KindInvalid, "decode payload", "", "region %q is not among the configured regions %v", r, cfg.Regions)
				}
			}
			regions = p.Regions
		}
		policy := nr.cleanupPolicy()
		if p.Approve != "" {
			if regions, err = approvalRegions(p, mode, cfg.Regions); err != nil {
				return nil, err
			}
			policy.ApprovedPlanID = p.Approve
		}
		format, err := parseFormat(p.Format, true)
		if err != nil {
			return nil, err
		}
		c, err := d.Clients(ctx)
		if err != nil {
			return nil, err
		}
		tr := d.track()
		// An approval run is the cleanup alone: a refused approval then
		// truly changes nothing, and the nightly run does the rest.
		var rolesRes *RolesResult
		if p.Approve == "" {
			rolesRes = nr.beforeCleanup(ctx, c.ECS, c.Work, regions, mode)
		}
		reports := rolesRes.runReport(ctx, tr, regions, nil)
		tr = d.track()
		cl := cleanup.NewCleaner(c.ECS, c.Work)
		checkUsers(cfg.CheckUsers, &cl.Scaling, &cl.Containers)
		opts := cleanup.Options{Regions: regions, Policy: policy, Mode: mode, Now: time.Now(), SplitOver: cfg.FanoutGroups}
		if p.Approve != "" {
			// An approval names the plan of a whole region, computed in one
			// invocation: never split it.
			opts.SplitOver = 0
		}
		var rep cleanup.Report
		if mode == cleanup.ModeApply && opts.SplitOver > 0 && len(regions) > 1 {
			// Several regions: one task each, so no invocation holds more
			// than one region's work (fanout.go).
			rep, err = cleanup.QueueRegions(ctx, c.Work, opts)
		} else {
			rep, err = cl.Run(ctx, opts)
		}
		if err != nil {
			return nil, err
		}
		reports = append(reports, tr.finish(ctx, cleanupRunReport(functionCleanup, tr, rep)))
		tr = d.track()
		var auditRes *AuditResult
		if p.Approve == "" {
			auditRes = nr.afterCleanup(ctx, c.ECS, regions, mode)
		}
		reports = auditRes.runReport(ctx, tr, regions, reports)
		var table bytes.Buffer
		if err := cleanup.RenderTable(&table, rep); err != nil {
			return nil, err
		}
		logging.FromContext(ctx).Info("cleanup run", zap.String("mode", string(mode)), zap.Any("summary", rep.Summary),
			zap.Any("approvals", approvals(rep)))
		if err := approvalRefused(rep); err != nil {
			return nil, err // nothing changed in the approval's region
		}
		if format == FormatText {
			return tableWith(table.String(), rolesRes, auditRes), nil
		}
		return answer(CleanupResult{Report: rep, Table: table.String(), Roles: rolesRes, Audit: auditRes, RunReports: reports}), nil
	}, nil
}

// checkUsers turns off the reads of the users outside ECS that the
// configuration (SGPILOT_CHECK_USERS) leaves out; plans then name them as
// not checked.
func checkUsers(kinds map[domain.OptionalUserKind]bool, scaling *cleanup.ScalingReader, containers *cleanup.ContainerReader) {
	if !kinds[domain.CheckESS] {
		*scaling = nil
	}
	if !kinds[domain.CheckECI] {
		*containers = nil
	}
}

// approvals lists what each approval did, for the run's log line.
func approvals(rep cleanup.Report) []cleanup.Approval {
	var out []cleanup.Approval
	for _, rr := range rep.Regions {
		if rr.Approval != nil {
			out = append(out, *rr.Approval)
		}
	}
	return out
}
