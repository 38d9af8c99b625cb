package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/sgpilot/sgpilot/shared/localcloud/fcemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/stack"
)

// rolesResult and auditResult are the parts of nightly-cleanup's roles and
// audit answers (app.RolesResult, app.AuditResult) the demo prints.
type rolesResult struct {
	Summary struct {
		Networks        int `json:"networks"`
		Failed          int `json:"failed"`
		GroupsCreated   int `json:"groupsCreated"`
		RulesAuthorized int `json:"rulesAuthorized"`
		RulesRevoked    int `json:"rulesRevoked"`
		Withheld        int `json:"withheld"`
	} `json:"summary"`
	Calls map[string]int `json:"calls"`
}

type auditResult struct {
	Regions []struct {
		Report *struct {
			Findings []struct {
				Type      string `json:"type"`
				Severity  string `json:"severity"`
				GroupID   string `json:"groupId"`
				GroupName string `json:"groupName"`
			} `json:"findings"`
		} `json:"report"`
	} `json:"regions"`
	Text string `json:"text"`
}

func invokeJSON(c *stack.Stack, payload string, v any) error {
	res, err := fcemu.InvokeOverHTTP(c.Info().InvokeEndpoint, "nightly-cleanup", []byte(payload), false)
	if err != nil {
		return err
	}
	if res.Error != nil {
		return fmt.Errorf("nightly-cleanup: %s", res.Error.ErrorMessage)
	}
	return json.Unmarshal(res.Payload, v)
}

// rolesPart shows the role policy (the embedded default: web open on 80,
// redis reachable on 6379 only from web) planned, applied and audited.
func rolesPart(ctx context.Context, out io.Writer, c *stack.Stack) error {
	step(out, "Role policy: the plan for the embedded default policy (nothing changes)")
	plan, err := invokeString(ctx, c, "nightly-cleanup", `{"mode":"roles","action":"plan","format":"text"}`)
	if err != nil {
		return err
	}
	fmt.Fprint(out, indent(plan))

	step(out, "Role policy: apply (create the missing groups, then authorize and revoke)")
	c.Env.Controls.ResetCounters()
	var applied rolesResult
	if err := invokeJSON(c, `{"mode":"roles","action":"apply"}`, &applied); err != nil {
		return err
	}
	s := applied.Summary
	fmt.Fprintf(out, "  %d networks: %d groups created, %d rules authorized, %d revoked, %d withheld, %d failed\n",
		s.Networks, s.GroupsCreated, s.RulesAuthorized, s.RulesRevoked, s.Withheld, s.Failed)
	printCalls(out, c, "ECS calls for the apply", nil)
	var again rolesResult
	if err := invokeJSON(c, `{"mode":"roles","action":"apply"}`, &again); err != nil {
		return err
	}
	fmt.Fprintf(out, "  a second apply changes nothing: %d created, %d authorized, %d revoked\n",
		again.Summary.GroupsCreated, again.Summary.RulesAuthorized, again.Summary.RulesRevoked)

	step(out, "Rule audit of every group in the region (read only)")
	c.Env.Controls.ResetCounters()
	var audit auditResult
	if err := invokeJSON(c, `{"mode":"audit"}`, &audit); err != nil {
		return err
	}
	lines := strings.Split(strings.TrimRight(audit.Text, "\n"), "\n")
	fmt.Fprintf(out, "  %s\n", lines[len(lines)-1]) // the one-line summary
	for _, r := range audit.Regions {
		if r.Report == nil {
			continue
		}
		for i, f := range r.Report.Findings {
			if i == 5 {
				fmt.Fprintf(out, "    … %d more (run {\"mode\":\"audit\",\"format\":\"text\"})\n", len(r.Report.Findings)-i)
				break
			}
			fmt.Fprintf(out, "    %-6s %-22s %s (%s)\n", f.Severity, f.Type, f.GroupID, f.GroupName)
		}
	}
	printCalls(out, c, "ECS calls for the audit", nil)
	return nil
}
