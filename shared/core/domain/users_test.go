package domain_test

import (
	"strings"
	"testing"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// Every kind of user keeps a group past its grace period, at plan time and
// at the re-check before a delete, and the plan names the user.
func TestStillDeletable_EveryKindOfUser(t *testing.T) {
	mark := "2026-11-10" // past grace at now
	tests := []struct {
		name   string
		usage  domain.GroupUsage
		policy func(*domain.CleanupPolicy)
		tags   domain.Tags
		ok     bool
		reason domain.Reason
		detail string
	}{
		{name: "unused", ok: true, reason: domain.ReasonGraceOver},
		{name: "old template version", usage: domain.GroupUsage{TemplateVersions: []domain.TemplateVersionUse{{TemplateID: "lt-1", TemplateName: "web", Version: 2}}},
			reason: domain.ReasonUsedAgain, detail: "launch template lt-1 (web) version 2"},
		{name: "scaling configuration", usage: domain.GroupUsage{ScalingConfigurations: []domain.ScalingUse{{ConfigurationID: "asc-1", ScalingGroupID: "asg-1"}}},
			reason: domain.ReasonUsedAgain, detail: "scaling configuration asc-1"},
		{name: "container group", usage: domain.GroupUsage{ContainerGroups: []domain.ContainerGroupUse{{ID: "eci-1", Status: "Restarting"}}},
			reason: domain.ReasonUsedAgain, detail: "ECI container group eci-1"},
		{name: "declared role", tags: domain.Tags{domain.DefaultRoleTagKey: "web"},
			policy: func(p *domain.CleanupPolicy) { p.DeclaredRoles = map[string]bool{"web": true} },
			reason: domain.ReasonDeclaredRole, detail: "role web"},
		{name: "undeclared role", tags: domain.Tags{domain.DefaultRoleTagKey: "old"},
			policy: func(p *domain.CleanupPolicy) { p.DeclaredRoles = map[string]bool{"web": true} },
			ok:     true, reason: domain.ReasonGraceOver},
		{name: "declared role under a custom key", tags: domain.Tags{"team:role": "web"},
			policy: func(p *domain.CleanupPolicy) {
				p.DeclaredRoles, p.RoleTagKey = map[string]bool{"web": true}, "team:role"
			},
			reason: domain.ReasonDeclaredRole},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tags := domain.Tags{domain.DefaultStaleTagKey: mark}
			for k, v := range tc.tags {
				tags[k] = v
			}
			p := domain.DefaultCleanupPolicy()
			if tc.policy != nil {
				tc.policy(&p)
			}
			ok, reason, detail := domain.StillDeletable(managed("sg-x", tags), tc.usage, p, mark, now)
			if ok != tc.ok || reason != tc.reason || !strings.Contains(detail, tc.detail) {
				t.Errorf("= %v, %s, %q; want %v, %s, containing %q", ok, reason, detail, tc.ok, tc.reason, tc.detail)
			}
		})
	}
}

func TestGroupUsage_Counts(t *testing.T) {
	u := domain.GroupUsage{Instances: []string{"i-1", "i-2"}, ScalingConfigurations: []domain.ScalingUse{{}}}
	got := u.Counts()
	if len(got) != 2 || got[domain.UserInstance] != 2 || got[domain.UserScalingConfiguration] != 1 {
		t.Errorf("Counts = %v", got)
	}
}

func TestNotChecked(t *testing.T) {
	all := domain.NotChecked(map[domain.OptionalUserKind]bool{domain.CheckESS: true, domain.CheckECI: true})
	none := domain.NotChecked(nil)
	if strings.Contains(all, "Auto Scaling") || !strings.Contains(all, "Function Compute") || !strings.Contains(all, "NLB") {
		t.Errorf("all checked: %q", all)
	}
	if !strings.HasPrefix(none, "Auto Scaling scaling configurations, ECI container groups, ") {
		t.Errorf("none checked: %q", none)
	}
}
