package app

import (
	"context"
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/core/config"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
	"github.com/sgpilot/sgpilot/shared/core/rolepolicy"
	"github.com/sgpilot/sgpilot/shared/core/runreport"
	"github.com/sgpilot/sgpilot/shared/usecase/cleanup"
	"github.com/sgpilot/sgpilot/shared/usecase/roles"
)

// The role policy part of nightly-cleanup (see CleanupPayload):
//
//	{"mode":"roles"}                              the role policy plan per network; nothing changes
//	{"mode":"roles","action":"apply"}             make the role groups match the policy
//	{"mode":"roles","action":"plan","format":"text"}  the plan as plain text
//	{"mode":"audit"}                              audit every group's rules (JSON); nothing changes
//	{"mode":"audit","format":"text"}              the audit as plain text
//
// The nightly {"mode":"apply"} runs the role policy first when
// SGPILOT_ROLES_MODE is plan or apply, then the cleanup, then the audit when
// SGPILOT_NIGHTLY_AUDIT is true. {"mode":"plan"} plans the roles too.

// Payload modes served here.
const (
	ModeRoles = "roles"
	ModeAudit = "audit"
)

// RolesResult is the JSON answer of a roles run: the report plus its text.
type RolesResult struct {
	roles.Report
	Text string `json:"text"`
	// RunReport is the run's report (report.go).
	RunReport *runreport.Report `json:"runReport,omitempty"`
}

// AuditResult is the JSON answer of an audit: the report plus its text.
type AuditResult struct {
	roles.AuditReport
	Text string `json:"text"`
	// RunReport is the run's report (report.go).
	RunReport *runreport.Report `json:"runReport,omitempty"`
}

// nightlyRoles holds the role policy. It is loaded at start, so that a
// broken policy file stops the function before it serves anything, and
// again at each invocation (refresh), so that a replaced file takes effect
// without a restart. A policy is small; reading it costs nothing next to
// the ECS calls of a run.
type nightlyRoles struct {
	cfg    config.Config
	policy rolepolicy.Policy
}

// LoadRolePolicy returns the policy of cfg: the file named by
// SGPILOT_ROLE_POLICY_FILE, or the embedded default.
func LoadRolePolicy(cfg config.Config) (rolepolicy.Policy, error) {
	if cfg.RolePolicyFile == "" {
		return rolepolicy.Default(), nil
	}
	p, err := rolepolicy.LoadFile(cfg.RolePolicyFile)
	if err != nil {
		return rolepolicy.Policy{}, domain.Wrap(domain.KindInvalid, "load role policy ("+config.EnvRolePolicyFile+")", "", err)
	}
	return p, nil
}

func newNightlyRoles(cfg config.Config) (*nightlyRoles, error) {
	p, err := LoadRolePolicy(cfg)
	if err != nil {
		return nil, err
	}
	return &nightlyRoles{cfg: cfg, policy: p}, nil
}

// refresh re-reads the policy file, if there is one.
func (n *nightlyRoles) refresh() (*nightlyRoles, error) {
	if n.cfg.RolePolicyFile == "" {
		return n, nil
	}
	return newNightlyRoles(n.cfg)
}

// handles reports whether a payload mode is served here.
func (n *nightlyRoles) handles(mode string) bool { return mode == ModeRoles || mode == ModeAudit }

// cleanupPolicy is the cleanup policy with the declared roles when the
// role policy is in force: their groups are never stale.
func (n *nightlyRoles) cleanupPolicy() domain.CleanupPolicy {
	p := n.cfg.Cleanup
	if !n.cfg.RolesEnabled() {
		return p
	}
	p.RoleTagKey = n.cfg.RoleTagKey
	p.DeclaredRoles = map[string]bool{}
	for _, r := range n.policy.Roles {
		p.DeclaredRoles[r.Name] = true
	}
	return p
}

func (n *nightlyRoles) convergeOptions(regions []string, mode roles.Mode) roles.Options {
	return roles.Options{Regions: regions, Policy: n.policy, Mode: mode, MaxRevokes: n.cfg.MaxRuleRevokes,
		RoleTagKey: n.cfg.RoleTagKey, ManagedTagKey: n.cfg.Cleanup.Scope.TagKey, ManagedTagValue: n.cfg.Cleanup.Scope.TagValue}
}

// rolesRunner is the queue-worker's handler of roles-network tasks, with
// this function's policy; a policy that does not load dead-letters the
// tasks with the reason (the worker's other work goes on).
func rolesRunner(cfg config.Config, ecs roles.ConvergeECS) *roles.NetworkRunner {
	r := &roles.NetworkRunner{Converger: roles.NewConverger(ecs), RetryAfter: cfg.RetryDelay}
	n, err := newNightlyRoles(cfg)
	if err != nil {
		r.PolicyErr = err
		return r
	}
	r.Options = n.convergeOptions(nil, roles.ModeApply)
	return r
}

func (n *nightlyRoles) auditOptions(regions []string) roles.AuditOptions {
	return roles.AuditOptions{Regions: regions, Policy: &n.policy, AccountID: n.cfg.AccountID,
		RoleTagKey: n.cfg.RoleTagKey, ManagedTagKey: n.cfg.Cleanup.Scope.TagKey, ManagedTagValue: n.cfg.Cleanup.Scope.TagValue}
}

// validate checks a roles or audit payload before anything reaches the cloud
// and returns the regions to work in.
func (n *nightlyRoles) validate(p CleanupPayload) ([]string, error) {
	bad := func(format string, args ...any) error {
		return domain.Errorf(domain.KindInvalid, "decode payload", "", format, args...)
	}
	if p.Mode == ModeAudit && p.Action != "" {
		return nil, bad(`"action" belongs to "mode":"roles"`)
	}
	if p.Mode == ModeRoles {
		if _, err := roles.ParseMode(p.Action); err != nil {
			return nil, bad(`action %q: want "plan" or "apply"`, p.Action)
		}
	}
	if p.Format != "" && p.Format != "json" && p.Format != "text" {
		return nil, bad(`format %q: want "json" or "text"`, p.Format)
	}
	return allowedRegions(n.cfg.Regions, p.Regions)
}

// allowedRegions returns asked, or all configured regions when none is
// asked; a region outside the configuration is refused.
func allowedRegions(configured, asked []string) ([]string, error) {
	if len(asked) == 0 {
		return configured, nil
	}
	allowed := map[string]bool{}
	for _, r := range configured {
		allowed[r] = true
	}
	for _, r := range asked {
		if !allowed[r] {
			return nil, domain.Errorf(domain.KindInvalid, "decode payload", "", "region %q is not among the configured regions %v", r, configured)
		}
	}
	return asked, nil
}

// handle serves {"mode":"roles"} and {"mode":"audit"}.
func (n *nightlyRoles) handle(ctx context.Context, d *Deps, p CleanupPayload) (any, error) {
	regions, err := n.validate(p)
	if err != nil {
		return nil, err
	}
	c, err := d.Clients(ctx)
	if err != nil {
		return nil, err
	}
	tr := d.track()
	if p.Mode == ModeAudit {
		res, err := n.audit(ctx, c.ECS, regions)
		if err != nil {
			return nil, err
		}
		res.runReport(ctx, tr, regions, nil)
		if p.Format == "text" {
			return res.Text, nil
		}
		return res, nil
	}
	mode, _ := roles.ParseMode(p.Action)
	res, err := n.converge(ctx, c.ECS, c.Work, regions, mode)
	if err != nil {
		return nil, err
	}
	res.runReport(ctx, tr, regions, nil)
	if p.Format == "text" {
		return res.Text, nil
	}
	return res, nil
}

// converge runs the role policy; an apply over a region with more role
// groups than SGPILOT_FANOUT_GROUPS queues its networks on work, one
// roles-network task each, for the queue-worker.
func (n *nightlyRoles) converge(ctx context.Context, ecs roles.ConvergeECS, work roles.TaskSender, regions []string, mode roles.Mode) (*RolesResult, error) {
	opts := n.convergeOptions(regions, mode)
	if work != nil {
		opts.SplitOver, opts.Tasks = n.cfg.FanoutGroups, work
	}
	rep, err := roles.NewConverger(ecs).Run(ctx, opts)
	if err != nil {
		return nil, err
	}
	log := logging.FromContext(ctx)
	fields := []zap.Field{zap.String("mode", string(mode)), zap.Any("summary", rep.Summary), zap.Any("calls", rep.Calls)}
	if rep.Failed() {
		log.Error("roles run: some networks failed", fields...)
	} else {
		log.Info("roles run", fields...)
	}
	return &RolesResult{Report: rep, Text: rep.Text()}, nil
}

func (n *nightlyRoles) audit(ctx context.Context, ecs roles.AuditECS, regions []string) (*AuditResult, error) {
	rep, err := roles.NewAuditor(ecs).Run(ctx, n.auditOptions(regions))
	if err != nil {
		return nil, err
	}
	logging.FromContext(ctx).Info("rule audit", zap.String("summary", rep.Summary()), zap.Any("counts", rep.Counts), zap.Int("calls", rep.Calls))
	return &AuditResult{AuditReport: rep, Text: rep.Text()}, nil
}

// beforeCleanup runs the role policy ahead of a nightly cleanup: plan with
// a cleanup plan, SGPILOT_ROLES_MODE with an apply, nothing when it is off.
// A failed run is logged and reported, and the cleanup still runs.
func (n *nightlyRoles) beforeCleanup(ctx context.Context, ecs roles.ConvergeECS, work roles.TaskSender, regions []string, mode cleanup.Mode) *RolesResult {
	if !n.cfg.RolesEnabled() {
		return nil
	}
	rm := roles.ModePlan
	if mode == cleanup.ModeApply && n.cfg.RolesMode == config.RolesApply {
		rm = roles.ModeApply
	}
	res, err := n.converge(ctx, ecs, work, regions, rm)
	if err != nil {
		logging.FromContext(ctx).Error("roles run did not finish", zap.Error(err))
		return &RolesResult{Text: fmt.Sprintf("Role policy run did not finish: %v\n", err)}
	}
	return res
}

// afterCleanup audits after a nightly apply when SGPILOT_NIGHTLY_AUDIT is on.
func (n *nightlyRoles) afterCleanup(ctx context.Context, ecs roles.AuditECS, regions []string, mode cleanup.Mode) *AuditResult {
	if !n.cfg.NightlyAudit || mode != cleanup.ModeApply {
		return nil
	}
	res, err := n.audit(ctx, ecs, regions)
	if err != nil {
		logging.FromContext(ctx).Error("audit did not finish", zap.Error(err))
		return &AuditResult{Text: fmt.Sprintf("Audit did not finish: %v\n", err)}
	}
	return res
}

// tableWith frames the cleanup table with the roles run before it and the
// audit's summary after it.
func tableWith(table string, r *RolesResult, a *AuditResult) string {
	var b strings.Builder
	if r != nil {
		b.WriteString(r.Text + "\n")
	}
	b.WriteString(table)
	if a != nil {
		b.WriteString("\n" + a.Summary() + "\n")
	}
	return b.String()
}
