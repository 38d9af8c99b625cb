package app

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/core/cloudauth"
	"github.com/sgpilot/sgpilot/shared/core/config"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
	"github.com/sgpilot/sgpilot/shared/usecase/cleanup"
	"github.com/sgpilot/sgpilot/shared/usecase/deadletters"
	"github.com/sgpilot/sgpilot/shared/usecase/intake"
	"github.com/sgpilot/sgpilot/shared/usecase/onboard"
	"github.com/sgpilot/sgpilot/shared/usecase/roles"
)

// Local runs sgpilot's use cases in this process against an account, with
// the adapters and settings the functions use: the wiring of the sgpilot
// command (shared/app/cli). Nothing here goes through Function Compute.
// Each method logs through the context's logger (logging.WithContext).
type Local struct {
	cfg   config.Config
	deps  *Deps
	roles *nightlyRoles
}

// NewLocal wires the use cases to cfg and creds. The credentials are
// handed to the adapters only; they are never logged.
func NewLocal(cfg config.Config, logger *zap.Logger, creds cloudauth.Credentials) (*Local, error) {
	if err := cleanup.ValidatePolicy(cfg.Cleanup); err != nil {
		return nil, err
	}
	nr, err := newNightlyRoles(cfg)
	if err != nil {
		return nil, err
	}
	// Deps reads credentials the way a function outside FC does, from the
	// ALIBABA_CLOUD_* variables; here they come from the caller.
	getenv := func(name string) string {
		switch name {
		case "ALIBABA_CLOUD_ACCESS_KEY_ID":
			return creds.AccessKeyID
		case "ALIBABA_CLOUD_ACCESS_KEY_SECRET":
			return creds.AccessKeySecret
		case "ALIBABA_CLOUD_SECURITY_TOKEN":
			return creds.SecurityToken
		}
		return ""
	}
	return &Local{cfg: cfg, deps: NewDeps(cfg, logger, getenv), roles: nr}, nil
}

// Config is the configuration the use cases run with.
func (l *Local) Config() config.Config { return l.cfg }

// Regions returns asked, or every configured region; a region outside the
// configuration is KindInvalid.
func (l *Local) Regions(asked []string) ([]string, error) {
	return allowedRegions(l.cfg.Regions, asked)
}

// MaxOnboardingPlans bounds the membership plans an OnboardingPlan reads
// (each costs the reads of one instance); the rest are counted.
const MaxOnboardingPlans = 100

// OnboardingPlan is one region's onboarding plan: the backfill's dry run
// (role-tagged instances whose groups do not follow their tags), and the
// membership plan of each instance it would queue, as the queue-worker's
// {"mode":"plan"} computes it.
type OnboardingPlan struct {
	intake.ReconcileSummary
	Plans []domain.MembershipPlan `json:"plans"`
	// MorePlans counts the instances to onboard beyond MaxOnboardingPlans.
	MorePlans int    `json:"morePlans,omitempty"`
	Text      string `json:"text"`
}

// taskCollector keeps the tasks a dry run would send.
type taskCollector struct{ tasks []domain.Task }

func (c *taskCollector) SendTasks(_ context.Context, tasks []domain.Task) error {
	c.tasks = append(c.tasks, tasks...)
	return nil
}

// OnboardingPlan plans one region's onboarding. Nothing is sent or changed.
func (l *Local) OnboardingPlan(ctx context.Context, region string) (OnboardingPlan, error) {
	c, err := l.deps.Clients(ctx)
	if err != nil {
		return OnboardingPlan{}, err
	}
	// The reconciler "sends" to a collector, which keeps the tasks: they
	// name the instances to plan. The summary then says what a dry run says.
	col := &taskCollector{}
	r := &intake.Reconciler{Instances: c.ECS, Groups: c.ECS, Sender: col, RoleTagKey: l.cfg.RoleTagKey, GroupLimit: l.cfg.GroupLimit,
		Scope: l.cfg.Cleanup.Scope, AllowedGroupIDs: l.cfg.RoleGroupIDs}
	// Its info lines would say "enqueue"; only its warnings are kept.
	rctx := logging.WithContext(ctx, logging.FromContext(ctx).WithOptions(zap.IncreaseLevel(zap.WarnLevel)))
	sum, err := r.Run(rctx, region)
	if err != nil {
		return OnboardingPlan{}, err
	}
	sum.DryRun, sum.Enqueued = true, 0
	out := OnboardingPlan{ReconcileSummary: sum}
	var ids []string
	for _, t := range col.tasks {
		if len(ids) == MaxOnboardingPlans {
			out.MorePlans++
			continue
		}
		ids = append(ids, t.InstanceID)
	}
	if len(ids) > 0 {
		ob, err := onboard.New(onboard.PortsFrom(c.ECS), onboardOptions(l.cfg))
		if err != nil {
			return OnboardingPlan{}, err
		}
		if out.Plans, err = ob.Plan(ctx, region, ids); err != nil {
			return OnboardingPlan{}, err
		}
	}
	out = answer(out).(OnboardingPlan)
	out.Text, err = renderOnboarding(out)
	return out, err
}

// renderOnboarding is an OnboardingPlan as text.
func renderOnboarding(p OnboardingPlan) (string, error) {
	var b strings.Builder
	s := p.ReconcileSummary
	fmt.Fprintf(&b, "Onboarding plan, region %s (nothing was changed)\n", s.RegionID)
	fmt.Fprintf(&b, "%d role-tagged instance(s), %d role group(s): %d complete, %d to onboard, %d need a person\n",
		s.Instances, s.RoleGroups, s.Complete, len(s.TaskIDs), s.NeedsAttention)
	for _, is := range s.Attention {
		fmt.Fprintf(&b, "  needs a person: %s %s: %s\n", is.InstanceID, is.Reason, is.Detail)
	}
	if len(p.Plans) > 0 {
		b.WriteString("\n")
		t, err := renderPlans(PlanResult{Region: s.RegionID, Plans: p.Plans})
		if err != nil {
			return "", err
		}
		_, table, _ := strings.Cut(t, "\n\n") // renderPlans' own title is the one above
		b.WriteString(table)
	}
	if p.MorePlans > 0 {
		fmt.Fprintf(&b, "… and %d more instance(s) to onboard\n", p.MorePlans)
	}
	return b.String(), nil
}

// Cleanup runs the stale-group cleanup as nightly-cleanup does (without the
// role policy run and the audit around it). approve, when set, is a plan ID
// as in {"mode":"apply","approve":…}: the run covers its region only, and a
// refused approval is a KindConflict error after a run that changed nothing.
func (l *Local) Cleanup(ctx context.Context, regions []string, mode cleanup.Mode, approve string) (CleanupResult, error) {
	regions, err := l.Regions(regions)
	if err != nil {
		return CleanupResult{}, err
	}
	policy := l.roles.cleanupPolicy()
	if approve != "" {
		p := CleanupPayload{Mode: string(mode), Approve: approve}
		if len(regions) != len(l.cfg.Regions) {
			p.Regions = regions
		}
		if regions, err = approvalRegions(p, mode, l.cfg.Regions); err != nil {
			return CleanupResult{}, err
		}
		policy.ApprovedPlanID = approve
	}
	c, err := l.deps.Clients(ctx)
	if err != nil {
		return CleanupResult{}, err
	}
	cl := cleanup.NewCleaner(c.ECS, c.Work)
	checkUsers(l.cfg.CheckUsers, &cl.Scaling, &cl.Containers)
	rep, err := cl.Run(ctx, cleanup.Options{Regions: regions, Policy: policy, Mode: mode, Now: time.Now(), RunID: localRunID(mode)})
	if err != nil {
		return CleanupResult{}, err
	}
	var table bytes.Buffer
	if err := cleanup.RenderTable(&table, rep); err != nil {
		return CleanupResult{}, err
	}
	logging.FromContext(ctx).Info("cleanup run", zap.String("mode", string(mode)), zap.Any("summary", rep.Summary),
		zap.Any("approvals", approvals(rep)))
	res := answer(CleanupResult{Report: rep, Table: table.String()}).(CleanupResult)
	return res, approvalRefused(rep)
}

// localRunID names a run of the command apart from the nightly ones in
// delete tasks' causes and logs.
func localRunID(mode cleanup.Mode) string {
	return "sgpilot-" + string(mode) + "-" + time.Now().UTC().Format("20060102T150405Z")
}

// Roles plans (or applies) the role policy, as {"mode":"roles"} does.
func (l *Local) Roles(ctx context.Context, regions []string, mode roles.Mode) (*RolesResult, error) {
	regions, err := l.Regions(regions)
	if err != nil {
		return nil, err
	}
	c, err := l.deps.Clients(ctx)
	if err != nil {
		return nil, err
	}
	// The operator's command applies in place: no worker picks up a split.
	return l.roles.converge(ctx, c.ECS, nil, regions, mode)
}

// Audit audits every group's rules, as {"mode":"audit"} does.
func (l *Local) Audit(ctx context.Context, regions []string) (*AuditResult, error) {
	regions, err := l.Regions(regions)
	if err != nil {
		return nil, err
	}
	c, err := l.deps.Clients(ctx)
	if err != nil {
		return nil, err
	}
	return l.roles.audit(ctx, c.ECS, regions)
}

// DeadLetterQueues are the queues the dead-letter tooling reads.
func (l *Local) DeadLetterQueues() []string {
	return []string{l.cfg.DeadLetterQueue, l.cfg.FailedEventsQueue}
}

// DeadLetters runs the dead-letter tooling, as queue-worker's
// {"mode":"dead-letters"} does.
func (l *Local) DeadLetters(ctx context.Context, r deadletters.Request) (deadletters.Result, error) {
	if err := r.Validate(l.DeadLetterQueues()); err != nil {
		return deadletters.Result{}, err
	}
	c, err := l.deps.Clients(ctx)
	if err != nil {
		return deadletters.Result{}, err
	}
	tool := &deadletters.Tool{
		Sources: []deadletters.Source{{Name: l.cfg.DeadLetterQueue, Queue: c.DeadLetter}, {Name: l.cfg.FailedEventsQueue, Queue: c.FailedEvents}},
		Work:    c.Work,
		Now:     time.Now,
	}
	return tool.Run(ctx, r)
}

// IsConflict reports an error that a changed account caused (a refused
// approval): the caller should look again rather than retry.
func IsConflict(err error) bool { return domain.KindOf(err) == domain.KindConflict }
