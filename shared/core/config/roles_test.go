package config_test

import (
	"strings"
	"testing"

	"github.com/sgpilot/sgpilot/shared/core/config"
)

func TestLoad_RoleSettings(t *testing.T) {
	c, err := config.Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.RolesMode != config.RolesOff || c.RolesEnabled() || c.MaxRuleRevokes != 10 || c.NightlyAudit || c.RolePolicyFile != "" {
		t.Fatalf("defaults: mode %q revokes %d audit %v file %q", c.RolesMode, c.MaxRuleRevokes, c.NightlyAudit, c.RolePolicyFile)
	}
	c, err = config.Load(env(map[string]string{config.EnvRolesMode: "Apply", config.EnvMaxRuleRevokes: "3",
		config.EnvNightlyAudit: "true", config.EnvRolePolicyFile: "/code/roles.yaml"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.RolesMode != config.RolesApply || !c.RolesEnabled() || c.MaxRuleRevokes != 3 || !c.NightlyAudit || c.RolePolicyFile != "/code/roles.yaml" {
		t.Fatalf("overrides: %+v", c)
	}
	if config.EnvRolePolicyFile != "SGPILOT_ROLE_POLICY_FILE" {
		t.Fatalf("the policy file variable is %s", config.EnvRolePolicyFile)
	}
}

func TestLoad_RoleSettingErrors(t *testing.T) {
	tests := []struct {
		name string
		kv   map[string]string
		want string
	}{
		{"unknown mode", map[string]string{config.EnvRolesMode: "yes"}, "off, plan or apply"},
		{"revokes zero", map[string]string{config.EnvMaxRuleRevokes: "0"}, config.EnvMaxRuleRevokes},
		{"revokes too many", map[string]string{config.EnvMaxRuleRevokes: "5000"}, "1 to 1000"},
		{"relative policy path", map[string]string{config.EnvRolePolicyFile: "roles.yaml"}, "absolute path"},
		{"audit not a bool", map[string]string{config.EnvNightlyAudit: "sometimes"}, config.EnvNightlyAudit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(env(tc.kv))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}
