package config_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/config"
	"github.com/sgpilot/sgpilot/shared/core/domain"
)

func env(kv map[string]string) func(string) string {
	base := map[string]string{
		config.EnvFCRegion:    "cn-hangzhou",
		config.EnvFCAccountID: "1234567890123456",
		config.EnvMNSEndpoint: "http://1234567890123456.mns.cn-hangzhou-internal.aliyuncs.com",
	}
	for k, v := range kv {
		base[k] = v
	}
	return func(k string) string { return base[k] }
}

func TestLoad_Defaults(t *testing.T) {
	c, err := config.Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Regions) != 1 || c.Regions[0] != "cn-hangzhou" || c.AccountID != "1234567890123456" {
		t.Fatalf("FC defaults not used: %+v", c)
	}
	if c.GroupLimit != 5 || c.RoleTagKey != "sgpilot:role" || c.WorkQueue != "sgpilot-work" || c.Cleanup.GracePeriod != 7*24*time.Hour {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestLoad_Overrides(t *testing.T) {
	c, err := config.Load(env(map[string]string{
		config.EnvRegions: "cn-hangzhou, cn-shanghai", config.EnvGroupLimit: "10", config.EnvGracePeriod: "3d",
		config.EnvCreateMissingGroups: "true", config.EnvScopeNamePrefix: "sgpilot-",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Regions) != 2 || c.GroupLimit != 10 || c.Cleanup.GracePeriod != 72*time.Hour || !c.CreateMissingGroups || c.Cleanup.Scope.NamePrefix != "sgpilot-" {
		t.Fatalf("%+v", c)
	}
}

func TestLoad_Errors(t *testing.T) {
	tests := []struct {
		name string
		kv   map[string]string
		want string
	}{
		{"group limit too high", map[string]string{config.EnvGroupLimit: "99"}, config.EnvGroupLimit},
		{"group limit not a number", map[string]string{config.EnvGroupLimit: "five"}, "whole number"},
		{"bad region", map[string]string{config.EnvRegions: "Hangzhou"}, "not a region ID"},
		{"no region", map[string]string{config.EnvFCRegion: ""}, config.EnvRegions},
		{"mns endpoint with 4 parts", map[string]string{config.EnvMNSEndpoint: "http://127.0.0.1:9000"}, "5 dot-separated"},
		{"mns endpoint missing", map[string]string{config.EnvMNSEndpoint: ""}, "required"},
		{"bad duration", map[string]string{config.EnvGracePeriod: "soon"}, "duration"},
		{"bad bool", map[string]string{config.EnvCreateMissingGroups: "maybe"}, "true or false"},
		{"same queues", map[string]string{config.EnvDeadLetterQueue: "sgpilot-work"}, "must differ"},
		{"bad queue name", map[string]string{config.EnvWorkQueue: "work queue"}, config.EnvWorkQueue},
		{"bad account", map[string]string{config.EnvAccountID: "acme"}, "account ID"},
		{"bad log level", map[string]string{config.EnvLogLevel: "loud"}, "debug, info"},
		{"percent over 100", map[string]string{config.EnvMaxDeletePercent: "150"}, config.EnvMaxDeletePercent},
		{"negative fan-out", map[string]string{config.EnvFanoutGroups: "-1"}, config.EnvFanoutGroups},
		{"re-check reuse over 10 minutes", map[string]string{config.EnvRecheckTTL: "11m"}, config.EnvRecheckTTL},
		{"negative re-check reuse", map[string]string{config.EnvRecheckTTL: "-1s"}, config.EnvRecheckTTL},
		{"group cache over 10 minutes", map[string]string{config.EnvGroupCacheTTL: "11m"}, config.EnvGroupCacheTTL},
		{"negative group cache", map[string]string{config.EnvGroupCacheTTL: "-1s"}, config.EnvGroupCacheTTL},
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

func TestLoad_ReportsAllProblems(t *testing.T) {
	_, err := config.Load(env(map[string]string{config.EnvGroupLimit: "0", config.EnvMaxDeliveries: "-1"}))
	if err == nil || !strings.Contains(err.Error(), config.EnvGroupLimit) || !strings.Contains(err.Error(), config.EnvMaxDeliveries) {
		t.Fatalf("want both problems, got %v", err)
	}
}

func TestLoad_CheckUsers(t *testing.T) {
	tests := []struct {
		name, value string
		want        map[domain.OptionalUserKind]bool
		err         string
	}{
		{"default: all", "", map[domain.OptionalUserKind]bool{domain.CheckESS: true, domain.CheckECI: true}, ""},
		{"one", " ECI ", map[domain.OptionalUserKind]bool{domain.CheckECI: true}, ""},
		{"none", "none", map[domain.OptionalUserKind]bool{}, ""},
		{"unknown", "ess,rds", nil, `SGPILOT_CHECK_USERS: "rds" is not a kind of user; want a comma-separated list of ess, eci, or none`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Load(env(map[string]string{config.EnvCheckUsers: tc.value}))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.CheckUsers, tc.want) {
				t.Errorf("CheckUsers = %v, want %v", c.CheckUsers, tc.want)
			}
		})
	}
}

func TestLoad_MembershipSettings(t *testing.T) {
	c, err := config.Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.NotReadyDelay != config.DefaultNotReadyDelay || c.RoleGroupIDs != nil {
		t.Fatalf("defaults: not-ready delay %s, role group IDs %v", c.NotReadyDelay, c.RoleGroupIDs)
	}
	c, err = config.Load(env(map[string]string{config.EnvNotReadyDelay: "2m",
		config.EnvRoleGroupIDs: "sg-bp1aaaaaaaaaaaa1, sg-bp1bbbbbbbbbbbb2,"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.NotReadyDelay != 2*time.Minute || len(c.RoleGroupIDs) != 2 || c.RoleGroupIDs[1] != "sg-bp1bbbbbbbbbbbb2" {
		t.Fatalf("overrides: %s %v", c.NotReadyDelay, c.RoleGroupIDs)
	}
	for name, kv := range map[string]map[string]string{
		"delay too short":    {config.EnvNotReadyDelay: "100ms"},
		"delay too long":     {config.EnvNotReadyDelay: "2h"},
		"not a group ID":     {config.EnvRoleGroupIDs: "sg-bp1aaaaaaaaaaaa1,web"},
		"too many group IDs": {config.EnvRoleGroupIDs: strings.Repeat("sg-bp1aaaaaaaaaaaa1,", config.MaxRoleGroupIDs+1)},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := config.Load(env(kv)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestLoad_GroupCacheTTL(t *testing.T) {
	for value, want := range map[string]time.Duration{"": config.DefaultGroupCacheTTL, "0": 0, "5s": 5 * time.Second, "10m": 10 * time.Minute} {
		c, err := config.Load(env(map[string]string{config.EnvGroupCacheTTL: value}))
		if err != nil || c.GroupCacheTTL != want {
			t.Errorf("%s=%q: %v, %v; want %s", config.EnvGroupCacheTTL, value, c.GroupCacheTTL, err, want)
		}
	}
}

func TestLoad_RecheckTTL(t *testing.T) {
	for value, want := range map[string]time.Duration{"": config.DefaultRecheckTTL, "0": 0, "30s": 30 * time.Second, "10m": 10 * time.Minute} {
		c, err := config.Load(env(map[string]string{config.EnvRecheckTTL: value}))
		if err != nil || c.RecheckTTL != want {
			t.Errorf("%s=%q: %v, %v; want %s", config.EnvRecheckTTL, value, c.RecheckTTL, err, want)
		}
	}
}

func TestLoad_FanoutGroups(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		want        int
	}{{"default", "", config.DefaultFanoutGroups}, {"never split", "0", 0}, {"set", "800", 800}} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Load(env(map[string]string{config.EnvFanoutGroups: tc.value}))
			if err != nil || c.FanoutGroups != tc.want {
				t.Fatalf("FanoutGroups %d, %v; want %d", c.FanoutGroups, err, tc.want)
			}
		})
	}
}
