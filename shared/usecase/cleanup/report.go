package cleanup

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// Report is the result of a run: per region the plan and what was done,
// and a summary over all regions. Its JSON field names are part of the
// function's response and stay stable.
type Report struct {
	RunID string    `json:"runId"`
	Mode  Mode      `json:"mode"`
	Now   time.Time `json:"now"`
	Scope string    `json:"scope"`
	// NotChecked names the kinds of user this run could not see (left out
	// by SGPILOT_CHECK_USERS, or never checked; docs/group-users.md):
	// protect a group such a service uses with the protect tag.
	NotChecked string         `json:"notChecked"`
	Regions    []RegionReport `json:"regions"`
	Summary    Summary        `json:"summary"`
}

// RegionReport is one region's plan and outcome.
type RegionReport struct {
	RegionID string `json:"region"`
	// Blocked explains why deletions (or all changes) were withheld.
	Blocked string `json:"blocked,omitempty"`
	// PlanID names the deletions the rules call for (withheld or not);
	// Approve, when the blast radius withheld them, is the payload that
	// approves exactly them; Approval is what an approval did here.
	PlanID    string     `json:"planId,omitempty"`
	Approve   string     `json:"approve,omitempty"`
	Approval  *Approval  `json:"approval,omitempty"`
	Summary   Summary    `json:"summary"`
	Errors    []string   `json:"errors,omitempty"`
	Decisions []Decision `json:"decisions"`
	// Plan is the domain plan the decisions were rendered from.
	Plan domain.RegionPlan `json:"-"`
	// Split is set when the region is over the split threshold: in apply
	// mode it was queued as parts and has no decisions here.
	Split *SplitInfo `json:"split,omitempty"`
}

// SplitInfo says how a large region is handled.
type SplitInfo struct {
	Groups    int `json:"groups"`
	Threshold int `json:"threshold"`
	// Networks and TaskID describe the queued first part (apply).
	Networks int    `json:"networks,omitempty"`
	TaskID   string `json:"taskId,omitempty"`
	Note     string `json:"note"`
}

// Approval is what an approved plan ID did in a region.
type Approval struct {
	PlanID string                `json:"planId"`
	Status domain.ApprovalStatus `json:"status"`
	Detail string                `json:"detail"`
}

// ApprovePayload is the nightly-cleanup payload that approves a plan.
func ApprovePayload(planID string) string {
	return `{"mode":"apply","approve":"` + planID + `"}`
}

// Decision is one group's row of the plan.
type Decision struct {
	GroupID string               `json:"groupId"`
	Name    string               `json:"name"`
	VPCID   string               `json:"vpcId,omitempty"`
	Action  domain.CleanupAction `json:"action"`
	Reason  domain.Reason        `json:"reason"`
	Detail  string               `json:"detail"`
	// StaleSince is the group's mark after the run ("" = unmarked).
	StaleSince string     `json:"staleSince,omitempty"`
	Usage      UsageCount `json:"usage,omitzero"`
	// ApplyError is set when the planned change could not be made.
	ApplyError string `json:"applyError,omitempty"`
}

// UsageCount counts what uses a group, per kind; the first few of each kind
// are named in the Detail, all of them in the domain plan (a region can
// have thousands of instances per group).
type UsageCount struct {
	Instances             int `json:"instances,omitempty"`
	ENIs                  int `json:"enis,omitempty"`
	ReferencedBy          int `json:"referencedBy,omitempty"`
	TemplateVersions      int `json:"templateVersions,omitempty"`
	ScalingConfigurations int `json:"scalingConfigurations,omitempty"`
	ContainerGroups       int `json:"containerGroups,omitempty"`
}

func usageCount(u domain.GroupUsage) UsageCount {
	return UsageCount{Instances: len(u.Instances), ENIs: len(u.ENIs), ReferencedBy: len(u.ReferencedBy),
		TemplateVersions: len(u.TemplateVersions), ScalingConfigurations: len(u.ScalingConfigurations),
		ContainerGroups: len(u.ContainerGroups)}
}

// String is the table's USERS cell: "kind count" per kind in use, "-" for none.
func (u UsageCount) String() string {
	var parts []string
	for _, k := range []struct {
		kind domain.UserKind
		n    int
	}{{domain.UserInstance, u.Instances}, {domain.UserENI, u.ENIs}, {domain.UserReference, u.ReferencedBy},
		{domain.UserTemplateVersion, u.TemplateVersions}, {domain.UserScalingConfiguration, u.ScalingConfigurations},
		{domain.UserContainerGroup, u.ContainerGroups}} {
		if k.n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k.kind, k.n))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// Summary counts a region's (or a run's) decisions and changes. The To*
// fields count the plan; Marked, Unmarked and DeleteTasksEnqueued count the
// changes actually made (always 0 in plan mode).
type Summary struct {
	Regions             int                   `json:"regions"`
	Scanned             int                   `json:"scanned"`
	InScope             int                   `json:"inScope"`
	ToMark              int                   `json:"toMark"`
	ToUnmark            int                   `json:"toUnmark"`
	ToDelete            int                   `json:"toDelete"`
	Marked              int                   `json:"marked"`
	Unmarked            int                   `json:"unmarked"`
	DeleteTasksEnqueued int                   `json:"deleteTasksEnqueued"`
	KeptByReason        map[domain.Reason]int `json:"keptByReason"`
	SkippedByReason     map[domain.Reason]int `json:"skippedByReason"`
	Errors              int                   `json:"errors"`
	// Blocked lists "region: why" for regions whose changes were withheld.
	Blocked []string `json:"blocked,omitempty"`
}

func newSummary() Summary {
	return Summary{KeptByReason: map[domain.Reason]int{}, SkippedByReason: map[domain.Reason]int{}}
}

func (s *Summary) add(o Summary) {
	s.Regions += o.Regions
	s.Scanned += o.Scanned
	s.InScope += o.InScope
	s.ToMark += o.ToMark
	s.ToUnmark += o.ToUnmark
	s.ToDelete += o.ToDelete
	s.Marked += o.Marked
	s.Unmarked += o.Unmarked
	s.DeleteTasksEnqueued += o.DeleteTasksEnqueued
	for r, n := range o.KeptByReason {
		s.KeptByReason[r] += n
	}
	for r, n := range o.SkippedByReason {
		s.SkippedByReason[r] += n
	}
	s.Errors += o.Errors
	s.Blocked = append(s.Blocked, o.Blocked...)
}

func newRegionReport(plan domain.RegionPlan) RegionReport {
	rr := RegionReport{RegionID: plan.RegionID, Blocked: plan.Blocked, PlanID: plan.PlanID, Plan: plan, Summary: newSummary(),
		Decisions: make([]Decision, 0, len(plan.Decisions))}
	if plan.PlanID != "" && plan.Count(domain.ActionDelete) == 0 && plan.Approval != domain.ApprovalRefused {
		rr.Approve = ApprovePayload(plan.PlanID) // withheld by the blast radius
	}
	if plan.Approval != "" {
		rr.Approval = &Approval{PlanID: plan.PlanID, Status: plan.Approval, Detail: plan.ApprovalDetail}
	}
	s := &rr.Summary
	s.Regions, s.Scanned, s.InScope = 1, len(plan.Decisions), plan.InScope
	if plan.Blocked != "" {
		s.Blocked = []string{plan.RegionID + ": " + plan.Blocked}
	}
	for _, d := range plan.Decisions {
		rr.Decisions = append(rr.Decisions, Decision{GroupID: d.Group.ID, Name: d.Group.Name, VPCID: d.Group.VPCID,
			Action: d.Action, Reason: d.Reason, Detail: d.Detail, StaleSince: d.StaleSince,
			Usage: usageCount(d.Usage)})
		switch d.Action {
		case domain.ActionMark:
			s.ToMark++
		case domain.ActionUnmark:
			s.ToUnmark++
		case domain.ActionDelete:
			s.ToDelete++
		case domain.ActionKeep:
			s.KeptByReason[d.Reason]++
		case domain.ActionSkip:
			s.SkippedByReason[d.Reason]++
		}
	}
	return rr
}

func (rr *RegionReport) addError(msg string) {
	rr.Errors = append(rr.Errors, msg)
	rr.Summary.Errors++
}

// failed records a failed change of groups (one error per failed call).
func (rr *RegionReport) failed(groupIDs []string, msg string, err error) {
	rr.addError(msg)
	ids := make(map[string]bool, len(groupIDs))
	for _, id := range groupIDs {
		ids[id] = true
	}
	for i := range rr.Decisions {
		if ids[rr.Decisions[i].GroupID] {
			rr.Decisions[i].ApplyError = err.Error()
		}
	}
}

// Err summarises the run's failures as one error (nil when none), for a
// caller that wants the invocation to fail when the run was incomplete.
func (r Report) Err() error {
	var errs []error
	for _, rr := range r.Regions {
		for _, e := range rr.Errors {
			errs = append(errs, fmt.Errorf("cleanup %s: %s", rr.RegionID, e))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	// Internal: not retried blindly; the next nightly run repeats the work anyway.
	return domain.Wrap(domain.KindInternal, "cleanup run "+r.RunID, "", errors.Join(errs...))
}

// RenderTable writes the report as plain text for a person: per region an
// aligned table (group, name, action, reason, detail), then what was
// withheld, the errors and the summary lines. The header names the kinds of
// user the run did not check; USERS shows each kind in use and its count.
func RenderTable(w io.Writer, r Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Cleanup %s (%s) at %s, scope: %s\n", r.RunID, r.Mode, r.Now.UTC().Format(time.RFC3339), r.Scope)
	if r.NotChecked != "" {
		fmt.Fprintf(&b, "Not checked: %s (protect groups they use with the protect tag)\n", r.NotChecked)
	}
	for _, rr := range r.Regions {
		fmt.Fprintf(&b, "\nRegion %s\n", rr.RegionID)
		switch {
		case len(rr.Decisions) == 0 && rr.Split != nil && rr.Split.TaskID != "":
			// Queued: the worker's logs and task outcomes carry the rest.
		case len(rr.Decisions) == 0:
			b.WriteString("  (no groups)\n")
		default:
			tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "GROUP\tNAME\tACTION\tREASON\tUSERS\tDETAIL")
			for _, d := range rr.Decisions {
				detail := d.Detail
				if d.ApplyError != "" {
					detail += " [NOT APPLIED: " + d.ApplyError + "]"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cell(d.GroupID), cell(d.Name), d.Action, d.Reason, d.Usage, cell(detail))
			}
			if err := tw.Flush(); err != nil {
				return fmt.Errorf("render cleanup table: %w", err)
			}
		}
		if rr.Blocked != "" {
			fmt.Fprintf(&b, "Withheld: %s\n", rr.Blocked)
		}
		if rr.Split != nil {
			fmt.Fprintf(&b, "Split: %d groups (threshold %d): %s\n", rr.Split.Groups, rr.Split.Threshold, rr.Split.Note)
		}
		if rr.PlanID != "" {
			fmt.Fprintf(&b, "Plan ID: %s\n", rr.PlanID)
		}
		if rr.Approval != nil {
			fmt.Fprintf(&b, "Approval %s: %s\n", rr.Approval.Status, rr.Approval.Detail)
		}
		if rr.Approve != "" {
			fmt.Fprintf(&b, "To approve exactly these deletions, invoke nightly-cleanup with %s\n", rr.Approve)
		}
		for _, e := range rr.Errors {
			fmt.Fprintf(&b, "Error: %s\n", e)
		}
		writeSummary(&b, "Region summary", rr.Summary)
	}
	b.WriteString("\n")
	writeSummary(&b, "Total", r.Summary)
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("write cleanup table: %w", err)
	}
	return nil
}

func writeSummary(b *strings.Builder, title string, s Summary) {
	fmt.Fprintf(b, "%s: %d scanned, %d in scope; mark %d (done %d), unmark %d (done %d), delete %d (tasks enqueued %d); errors %d\n",
		title, s.Scanned, s.InScope, s.ToMark, s.Marked, s.ToUnmark, s.Unmarked, s.ToDelete, s.DeleteTasksEnqueued, s.Errors)
	fmt.Fprintf(b, "  kept: %s\n", byReason(s.KeptByReason))
	fmt.Fprintf(b, "  skipped: %s\n", byReason(s.SkippedByReason))
}

func byReason(m map[domain.Reason]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for r := range m {
		keys = append(keys, string(r))
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[domain.Reason(k)])
	}
	return strings.Join(parts, ", ")
}

// cell keeps a value on one table line and out of the column separators.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}
