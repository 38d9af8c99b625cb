package cli

import (
	"context"
	"strings"

	"github.com/sgpilot/sgpilot/shared/app"
	"github.com/sgpilot/sgpilot/shared/usecase/cleanup"
	"github.com/sgpilot/sgpilot/shared/usecase/deadletters"
	"github.com/sgpilot/sgpilot/shared/usecase/roles"
)

// PlanResult is `sgpilot plan --json`: per region the onboarding plan (the
// reconcile dry run and each instance's membership plan), then the cleanup
// plan.
type PlanResult struct {
	Onboarding []app.OnboardingPlan `json:"onboarding"`
	Cleanup    app.CleanupResult    `json:"cleanup"`
}

// WriteResult is a write's --json answer: the plan it printed first and,
// with --apply, what the apply did.
type WriteResult struct {
	Plan    any  `json:"plan"`
	Applied bool `json:"applied"`
	Result  any  `json:"result,omitempty"`
}

func (r *runner) run(ctx context.Context) (int, error) {
	switch r.o.cmd {
	case "plan":
		return r.plan(ctx)
	case "audit":
		r.prog.step("auditing the rules of every group")
		res, err := r.local.Audit(ctx, nil)
		if err != nil {
			return ExitFailed, err
		}
		return r.done(res, res.Text, res.Failed())
	case "roles":
		return r.roles(ctx)
	case "cleanup":
		return r.cleanup(ctx)
	case "dead-letters":
		return r.deadLetters(ctx)
	}
	return ExitUsage, usageError{"unknown command " + r.o.cmd}
}

// done prints v and turns a run with failures into ExitFailed.
func (r *runner) done(v any, text string, failed bool) (int, error) {
	if err := r.output(v, text); err != nil {
		return ExitFailed, err
	}
	if failed {
		return ExitFailed, nil
	}
	return ExitOK, nil
}

func (r *runner) plan(ctx context.Context) (int, error) {
	var res PlanResult
	var b strings.Builder
	for _, region := range r.local.Config().Regions {
		r.prog.step("onboarding plan of %s: reading role-tagged instances and role groups", region)
		p, err := r.local.OnboardingPlan(ctx, region)
		if err != nil {
			return ExitFailed, err
		}
		r.prog.step("onboarding plan of %s: %d instance(s), %d to onboard", region, p.Instances, len(p.TaskIDs))
		res.Onboarding = append(res.Onboarding, p)
		b.WriteString(p.Text + "\n")
	}
	r.prog.step("cleanup plan: reading groups and their users")
	c, err := r.local.Cleanup(ctx, nil, cleanup.ModePlan, "")
	if err != nil {
		return ExitFailed, err
	}
	res.Cleanup = c
	b.WriteString(c.Table)
	return r.done(res, b.String(), c.Err() != nil)
}

func (r *runner) roles(ctx context.Context) (int, error) {
	r.prog.step("role policy plan: reading role groups and their rules")
	plan, err := r.local.Roles(ctx, nil, roles.ModePlan)
	if err != nil {
		return ExitFailed, err
	}
	if r.o.action == "plan" {
		return r.done(plan, plan.Text, plan.Failed())
	}
	return r.write(ctx, plan, plan.Text, "make these rule changes", func() (any, string, bool, error) {
		res, err := r.local.Roles(ctx, nil, roles.ModeApply)
		if err != nil {
			return nil, "", false, err
		}
		return res, res.Text, res.Failed(), nil
	})
}

func (r *runner) cleanup(ctx context.Context) (int, error) {
	r.prog.step("cleanup plan: reading groups and their users")
	plan, err := r.local.Cleanup(ctx, nil, cleanup.ModePlan, "")
	if err != nil {
		return ExitFailed, err
	}
	if r.o.action == "plan" {
		return r.done(plan, plan.Table, plan.Err() != nil)
	}
	what := "mark, unmark and queue these deletions"
	if r.o.approve != "" {
		what += " with the approval " + r.o.approve
	}
	return r.write(ctx, plan, plan.Table, what, func() (any, string, bool, error) {
		r.prog.step("cleanup apply")
		res, err := r.local.Cleanup(ctx, nil, cleanup.ModeApply, r.o.approve)
		if err != nil {
			return nil, "", false, err
		}
		return res, res.Table, res.Err() != nil, nil
	})
}

func (r *runner) deadLetters(ctx context.Context) (int, error) {
	req := deadletters.Request{Action: r.o.action, IDs: r.o.ids, Reasons: r.o.reasons, InstanceIDs: r.o.instances,
		TaskIDs: r.o.tasks, Queue: r.o.queue, All: r.o.all, Limit: r.o.limit}
	if err := req.Validate(r.local.DeadLetterQueues()); err != nil {
		return ExitUsage, err
	}
	text := func(res deadletters.Result) (string, error) {
		var b strings.Builder
		err := deadletters.RenderText(&b, res)
		return b.String(), err
	}
	if r.o.action != deadletters.ActionReplay {
		r.prog.step("reading the dead-letter queues")
		res, err := r.local.DeadLetters(ctx, req)
		if err != nil {
			return ExitFailed, err
		}
		t, err := text(res)
		if err != nil {
			return ExitFailed, err
		}
		return r.done(res, t, len(res.Errors) > 0)
	}
	// The replay's plan: the letters the same selection lists.
	preview := req
	preview.Action = deadletters.ActionList
	r.prog.step("reading the dead-letter queues")
	plan, err := r.local.DeadLetters(ctx, preview)
	if err != nil {
		return ExitFailed, err
	}
	t, err := text(plan)
	if err != nil {
		return ExitFailed, err
	}
	return r.write(ctx, plan, t, "replay these letters' tasks onto the work queue", func() (any, string, bool, error) {
		r.prog.step("replaying")
		res, err := r.local.DeadLetters(ctx, req)
		if err != nil {
			return nil, "", false, err
		}
		t, err := text(res)
		return res, t, len(res.Errors) > 0, err
	})
}

// write prints a plan and, with --apply, applies it and prints what was
// done; without --apply it refuses after the plan.
func (r *runner) write(_ context.Context, plan any, planText, what string, apply func() (any, string, bool, error)) (int, error) {
	if !r.o.apply {
		if err := r.output(WriteResult{Plan: plan}, planText); err != nil {
			return ExitFailed, err
		}
		return r.refuse(what)
	}
	if !r.o.json {
		if err := r.output(nil, "Plan:\n"+planText+"\nApplying ("+what+")…\n\n"); err != nil {
			return ExitFailed, err
		}
	}
	res, text, failed, err := apply()
	if err != nil {
		return ExitFailed, err
	}
	return r.done(WriteResult{Plan: plan, Applied: true, Result: res}, text, failed)
}
