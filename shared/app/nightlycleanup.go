package app

import (
	"bytes"
	"context"
	"time"

	"github.com/sgpilot/sgpilot/shared/adapter/fcruntime"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
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
type CleanupPayload struct {
	Mode    string   `json:"mode"`
	Format  string   `json:"format,omitempty"` // "json" (default), "text" (or "table")
	Regions []string `json:"regions,omitempty"`
	Action  string   `json:"action,omitempty"` // "mode":"roles" only: "plan" (default) or "apply"
}

// CleanupResult is the JSON answer: the report plus its rendering, and the
// role policy run and audit that came with it (roles.go).
type CleanupResult struct {
	cleanup.Report
	Table string       `json:"table"`
	Roles *RolesResult `json:"roles,omitempty"`
	Audit *AuditResult `json:"audit,omitempty"`
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
		format, err := parseFormat(p.Format, true)
		if err != nil {
			return nil, err
		}
		c, err := d.Clients(ctx)
		if err != nil {
			return nil, err
		}
		rolesRes := nr.beforeCleanup(ctx, c.ECS, regions, mode)
		cl := cleanup.NewCleaner(c.ECS, c.Work)
		checkUsers(cfg.CheckUsers, &cl.Scaling, &cl.Containers)
		opts := cleanup.Options{Regions: regions, Policy: nr.cleanupPolicy(), Mode: mode, Now: time.Now(), SplitOver: cfg.FanoutGroups}
		var rep cleanup.Report
		if mode == cleanup.ModeApply && cfg.FanoutGroups > 0 && len(regions) > 1 {
			// Several regions: one task each, so no invocation holds more
			// than one region's work (fanout.go).
			rep, err = cleanup.QueueRegions(ctx, c.Work, opts)
		} else {
			rep, err = cl.Run(ctx, opts)
		}
		if err != nil {
			return nil, err
		}
		auditRes := nr.afterCleanup(ctx, c.ECS, regions, mode)
		var table bytes.Buffer
		if err := cleanup.RenderTable(&table, rep); err != nil {
			return nil, err
		}
		logging.FromContext(ctx).Info("cleanup run", zap.String("mode", string(mode)), zap.Any("summary", rep.Summary))
		if format == FormatText {
			return tableWith(table.String(), rolesRes, auditRes), nil
		}
		return answer(CleanupResult{Report: rep, Table: table.String(), Roles: rolesRes, Audit: auditRes}), nil
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
