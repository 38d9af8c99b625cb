package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/app"
	"github.com/sgpilot/sgpilot/shared/core/config"
	"github.com/sgpilot/sgpilot/shared/core/domain"
)

func depsWith(t *testing.T, extra map[string]string) *app.Deps {
	t.Helper()
	env := map[string]string{
		config.EnvFCRegion: "cn-hangzhou", config.EnvFCAccountID: "1234567890123456",
		config.EnvMNSEndpoint: "http://1234567890123456.mns.cn-hangzhou.aliyuncs.com",
	}
	for k, v := range extra {
		env[k] = v
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return app.NewDeps(cfg, zap.NewNop(), func(string) string { return "" })
}

// Roles and audit payloads are checked before the credential lookup.
func TestRolesPayloadsAreValidatedFirst(t *testing.T) {
	h, err := app.NightlyCleanup(deps(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, payload, want string
	}{
		{"roles: unknown action", `{"mode":"roles","action":"delete"}`, "delete"},
		{"roles: bad format", `{"mode":"roles","format":"table"}`, "table"},
		{"roles: region outside the configuration", `{"mode":"roles","regions":["cn-beijing"]}`, "cn-beijing"},
		{"audit: action", `{"mode":"audit","action":"apply"}`, `"action"`},
		{"audit: bad format", `{"mode":"audit","format":"xml"}`, "xml"},
		{"cleanup: action without roles", `{"mode":"apply","action":"apply"}`, `"action"`},
		{"roles: misspelt field", `{"mode":"roles","actoin":"plan"}`, "actoin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h(context.Background(), []byte(tc.payload))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if domain.KindOf(err) != domain.KindInvalid {
				t.Fatalf("kind %v, want invalid: %v", domain.KindOf(err), err)
			}
		})
	}
	// Valid payloads get past validation and stop at the missing credentials.
	for _, payload := range []string{`{"mode":"roles"}`, `{"mode":"roles","action":"apply","format":"text"}`, `{"mode":"audit","format":"text"}`} {
		t.Run("valid "+payload, func(t *testing.T) {
			_, err := h(context.Background(), []byte(payload))
			if err == nil || !strings.Contains(err.Error(), "RAM role") {
				t.Fatalf("err = %v, want the credential error", err)
			}
		})
	}
}

// The policy file is read when the function starts: a broken or missing
// file stops it with a message naming the file.
func TestRolePolicyFileIsCheckedAtStart(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "roles.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte("version: 1\nroles:\n  api:\n    rules:\n      - {direction: ingress, protocol: tcp, ports: 443/443, source: {cidr: 10.1.0.0/16}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("version: 1\nroles:\n  api:\n    rules:\n      - {direction: ingress, protocol: tcp, ports: 443/80, source: {cidr: 10.1.0.0/16}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"valid", good, ""},
		{"invalid rule", bad, "start 443 is after end 80"},
		{"missing", filepath.Join(dir, "nope.yaml"), "nope.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := depsWith(t, map[string]string{config.EnvRolePolicyFile: tc.path, config.EnvRolesMode: "apply"})
			_, err := app.NightlyCleanup(d)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				p, err := app.LoadRolePolicy(d.Config)
				if err != nil || len(p.Roles) != 1 || p.Roles[0].Name != "api" {
					t.Fatalf("policy %+v, %v", p, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), config.EnvRolePolicyFile) {
				t.Fatalf("err = %v, want it to mention %q and the variable", err, tc.want)
			}
		})
	}
}

func TestDefaultRolePolicyWithoutFile(t *testing.T) {
	p, err := app.LoadRolePolicy(depsWith(t, nil).Config)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, r := range p.Roles {
		names = append(names, r.Name)
	}
	if strings.Join(names, ",") != "redis,web" {
		t.Fatalf("default roles %v", names)
	}
}

// A replaced policy file takes effect at the next invocation: here a broken
// replacement is refused before anything reaches the cloud.
func TestRolePolicyFileIsReadAgainEachInvocation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "roles.yaml")
	write := func(ports string) {
		t.Helper()
		doc := "version: 1\nroles:\n  api:\n    rules:\n      - {direction: ingress, protocol: tcp, ports: " + ports + ", source: {cidr: 10.1.0.0/16}}\n"
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("443/443")
	h, err := app.NightlyCleanup(depsWith(t, map[string]string{config.EnvRolePolicyFile: path}))
	if err != nil {
		t.Fatal(err)
	}
	write("443/80")
	_, err = h(context.Background(), []byte(`{"mode":"roles"}`))
	if err == nil || !strings.Contains(err.Error(), "start 443 is after end 80") {
		t.Fatalf("err = %v, want the new file's problem", err)
	}
}
