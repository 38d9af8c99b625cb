package roles

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/rolepolicy"
)

// AuditOptions configure one audit.
type AuditOptions struct {
	Regions []string
	// Policy, when set, marks the internet-wide rules it acknowledges
	// (severity info) and names the role groups.
	Policy *rolepolicy.Policy
	// AccountID: references to groups of other accounts are not checked.
	AccountID       string
	RoleTagKey      string
	ManagedTagKey   string
	ManagedTagValue string
}

// RegionAudit is one region's audit, or why it could not be made.
type RegionAudit struct {
	RegionID string             `json:"regionId"`
	Report   *rolepolicy.Report `json:"report,omitempty"`
	Error    string             `json:"error,omitempty"`
	Kind     string             `json:"kind,omitempty"`
	// Calls counts the port calls for this region by method.
	Calls map[string]int `json:"calls"`
}

// AuditReport is an audit run's result.
type AuditReport struct {
	Regions []RegionAudit `json:"regions"`
	// Counts sums the findings of every region by severity.
	Counts map[string]int `json:"counts"`
	Groups int            `json:"groups"`
	Rules  int            `json:"rules"`
	Calls  int            `json:"calls"`
}

// Failed reports whether a region could not be audited.
func (r AuditReport) Failed() bool {
	for _, ra := range r.Regions {
		if ra.Error != "" {
			return true
		}
	}
	return false
}

// Auditor reports risky rules of every group of a region. It changes nothing.
type Auditor struct {
	ECS AuditECS
}

// NewAuditor returns an Auditor over ecs.
func NewAuditor(ecs AuditECS) *Auditor { return &Auditor{ECS: ecs} }

// Run audits each region; a region whose reads fail is reported with its
// error and the others are still audited. The error is non-nil only when ctx
// ended.
func (a *Auditor) Run(ctx context.Context, opts AuditOptions) (AuditReport, error) {
	o := Options{RoleTagKey: opts.RoleTagKey, ManagedTagKey: opts.ManagedTagKey, ManagedTagValue: opts.ManagedTagValue}.withDefaults()
	rep := AuditReport{Regions: []RegionAudit{}, Counts: map[string]int{}}
	for _, sev := range []rolepolicy.Severity{rolepolicy.High, rolepolicy.Medium, rolepolicy.Low, rolepolicy.Info} {
		rep.Counts[string(sev)] = 0
	}
	for _, region := range opts.Regions {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("audit stopped before region %s: %w", region, err)
		}
		ra := RegionAudit{RegionID: region, Calls: map[string]int{}}
		in, err := a.read(ctx, &counter{m: ra.Calls}, region, opts, o)
		if err != nil {
			ra.Error, ra.Kind = err.Error(), domain.KindOf(err).String()
		} else {
			r := rolepolicy.Audit(in)
			ra.Report = &r
			for k, v := range r.Counts {
				rep.Counts[k] += v
			}
			rep.Groups += r.Groups
			rep.Rules += r.Rules
		}
		rep.Calls += total(ra.Calls)
		rep.Regions = append(rep.Regions, ra)
	}
	return rep, nil
}

func (a *Auditor) read(ctx context.Context, calls *counter, region string, opts AuditOptions, o Options) (rolepolicy.AuditInput, error) {
	in := rolepolicy.AuditInput{RegionID: region, AccountID: opts.AccountID, Policy: opts.Policy}
	calls.add("ListGroups")
	groups, err := a.ECS.ListGroups(ctx, region, domain.GroupFilter{})
	if err != nil {
		return in, err
	}
	calls.add("ListInstances")
	instances, err := a.ECS.ListInstances(ctx, region, domain.InstanceFilter{})
	if err != nil {
		return in, err
	}
	calls.add("ListVPCs")
	if in.VPCs, err = a.ECS.ListVPCs(ctx, region); err != nil {
		return in, err
	}
	calls.add("ListVSwitches")
	if in.VSwitches, err = a.ECS.ListVSwitches(ctx, region); err != nil {
		return in, err
	}
	calls.add("InstanceVSwitches")
	vsw, err := a.ECS.InstanceVSwitches(ctx, region)
	if err != nil {
		return in, err
	}
	byVPC, bySwitch := map[string][][]string{}, map[string][][]string{}
	for _, inst := range instances {
		if inst.VPCID == "" {
			continue
		}
		byVPC[inst.VPCID] = append(byVPC[inst.VPCID], inst.GroupIDs)
		if sw := vsw[inst.ID]; sw != "" {
			bySwitch[sw] = append(bySwitch[sw], inst.GroupIDs)
		}
	}
	for i := range in.VPCs {
		in.VPCs[i].SharedGroupIDs = intersect(byVPC[in.VPCs[i].ID])
	}
	for i := range in.VSwitches {
		in.VSwitches[i].SharedGroupIDs = intersect(bySwitch[in.VSwitches[i].ID])
	}
	for _, g := range groups {
		calls.add("GroupRules")
		rules, err := a.ECS.GroupRules(ctx, region, g.ID)
		if domain.KindOf(err) == domain.KindNotFound {
			continue // deleted since the listing
		}
		if err != nil {
			return in, err
		}
		role := ""
		if r, ok := domain.GroupRole(g, o.RoleTagKey); ok {
			role = string(r)
		}
		in.Groups = append(in.Groups, toGroup(g, role, rules, o))
	}
	return in, nil
}

// intersect returns the IDs present in every list (sorted); none for no lists.
func intersect(lists [][]string) []string {
	if len(lists) == 0 {
		return []string{}
	}
	count := map[string]int{}
	for _, l := range lists {
		for _, id := range domain.SortedUnique(l) {
			count[id]++
		}
	}
	out := []string{}
	for id, n := range count {
		if n == len(lists) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// Text renders every region's findings and the cost of the audit.
func (r AuditReport) Text() string {
	var b strings.Builder
	for _, ra := range r.Regions {
		if ra.Report == nil {
			fmt.Fprintf(&b, "Security group audit of %s FAILED (%s): %s\n", ra.RegionID, ra.Kind, ra.Error)
		} else {
			b.WriteString(ra.Report.Text())
		}
		fmt.Fprintf(&b, "(%d read calls in %s: %s)\n\n", total(ra.Calls), ra.RegionID, formatCalls(ra.Calls))
	}
	b.WriteString(r.Summary() + "\n")
	return b.String()
}

// Summary is one line: groups, rules and findings by severity.
func (r AuditReport) Summary() string {
	return fmt.Sprintf("Audit: %d groups, %d rules in %d regions; findings: %d high, %d medium, %d low, %d info; %d calls.",
		r.Groups, r.Rules, len(r.Regions), r.Counts["high"], r.Counts["medium"], r.Counts["low"], r.Counts["info"], r.Calls)
}

func formatCalls(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
