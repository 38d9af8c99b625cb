package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sgpilot/sgpilot/shared/core/config"
)

const aliyunFile = `{
	"current": "work",
	"profiles": [
		{"name": "default", "mode": "AK", "access_key_id": "AKdefault", "access_key_secret": "s-default", "region_id": "cn-beijing"},
		{"name": "work", "mode": "StsToken", "access_key_id": "STS.work", "access_key_secret": "s-work", "sts_token": "tok", "region_id": "cn-shanghai"},
		{"name": "sso", "mode": "CloudSSO", "region_id": "cn-hangzhou"},
		{"name": "empty", "mode": "AK"}
	],
	"meta_path": ""
}`

func homeWith(t *testing.T, content string) string {
	t.Helper()
	home := t.TempDir()
	if content != "" {
		if err := os.MkdirAll(filepath.Join(home, ".aliyun"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(aliyunConfigPath(home), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return home
}

func TestResolveCredentials(t *testing.T) {
	envKeys := map[string]string{EnvAccessKeyID: "AKenv", EnvAccessKeySecret: "s-env", EnvSecurityToken: "t-env"}
	tests := []struct {
		name               string
		profile            string
		env                map[string]string
		file               string
		wantID, wantToken  string
		wantRegion, errHas string
	}{
		{name: "environment first", env: envKeys, file: aliyunFile, wantID: "AKenv", wantToken: "t-env"},
		{name: "--profile beats the environment", profile: "default", env: envKeys, file: aliyunFile, wantID: "AKdefault", wantRegion: "cn-beijing"},
		{name: "current profile", file: aliyunFile, wantID: "STS.work", wantToken: "tok", wantRegion: "cn-shanghai"},
		{name: "ALIBABA_CLOUD_PROFILE", env: map[string]string{EnvProfile: "default"}, file: aliyunFile, wantID: "AKdefault", wantRegion: "cn-beijing"},
		{name: "half a key pair", env: map[string]string{EnvAccessKeyID: "AK"}, file: aliyunFile, errHas: "both"},
		{name: "no file, no variables", errHas: "aliyun configure"},
		{name: "unknown profile", profile: "nope", file: aliyunFile, errHas: `no profile "nope"`},
		{name: "mode not read", profile: "sso", file: aliyunFile, errHas: "CloudSSO mode"},
		{name: "profile without keys", profile: "empty", file: aliyunFile, errHas: "no AccessKey pair"},
		{name: "not JSON", file: "{", errHas: "not the aliyun CLI's JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := resolveCredentials(tc.profile, func(k string) string { return tc.env[k] }, homeWith(t, tc.file))
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("err = %v, want it to say %q", err, tc.errHas)
				}
				for _, secret := range []string{"s-default", "s-work", "tok", "s-env"} {
					if strings.Contains(err.Error(), secret) {
						t.Fatalf("error reveals a secret: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.creds.AccessKeyID != tc.wantID || f.creds.SecurityToken != tc.wantToken || f.region != tc.wantRegion {
				t.Fatalf("got %s token %q region %q from %s", f.creds, f.creds.SecurityToken, f.region, f.source)
			}
			if strings.Contains(f.source, f.creds.AccessKeySecret) {
				t.Fatalf("source %q reveals the secret", f.source)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		errHas string
		check  func(options) bool
	}{
		{name: "regions repeat and split", args: []string{"plan", "--region", "cn-a,cn-b", "--region=cn-c"},
			check: func(o options) bool { return strings.Join(o.regions, " ") == "cn-a cn-b cn-c" }},
		{name: "ids as arguments among flags", args: []string{"dead-letters", "show", "dl-1", "--json", "dl-2"},
			check: func(o options) bool { return strings.Join(o.ids, " ") == "dl-1 dl-2" && o.json }},
		{name: "write", args: []string{"cleanup", "apply", "--apply", "--approve", "cn-a:2:0123456789abcdef"},
			check: func(o options) bool { return o.writes() && o.apply && o.needsQueues() }},
		{name: "roles plan reads only", args: []string{"roles", "plan"}, check: func(o options) bool { return !o.writes() && !o.needsQueues() }},
		{name: "no command", args: nil, errHas: "no command"},
		{name: "unknown command", args: []string{"deploy"}, errHas: "unknown command"},
		{name: "missing action", args: []string{"roles"}, errHas: "roles needs one of"},
		{name: "unknown action", args: []string{"dead-letters", "purge"}, errHas: "want one of"},
		{name: "approve elsewhere", args: []string{"cleanup", "plan", "--approve", "x"}, errHas: "--approve belongs"},
		{name: "stray argument", args: []string{"audit", "now"}, errHas: "unexpected argument"},
		{name: "unknown flag", args: []string{"audit", "--force"}, errHas: "force"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parse(tc.args)
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("err = %v, want %q", err, tc.errHas)
				}
				return
			}
			if err != nil || !tc.check(o) {
				t.Fatalf("parse(%v) = %+v, %v", tc.args, o, err)
			}
		})
	}
}

func TestLoadConfig(t *testing.T) {
	env := map[string]string{config.EnvMaxDeletions: "3"}
	getenv := func(k string) string { return env[k] }

	t.Run("the profile's region, no account for a read", func(t *testing.T) {
		cfg, err := loadConfig(options{cmd: "plan"}, getenv, "cn-shanghai")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(cfg.Regions, ",") != "cn-shanghai" || cfg.AccountID != "" || cfg.Cleanup.MaxDeletions != 3 {
			t.Fatalf("regions %v account %q max deletions %d", cfg.Regions, cfg.AccountID, cfg.Cleanup.MaxDeletions)
		}
		if cfg.MNSEndpoint != "https://"+unknownAccount+".mns.cn-shanghai.aliyuncs.com" {
			t.Fatalf("MNS endpoint %q", cfg.MNSEndpoint)
		}
	})
	t.Run("queues need the account", func(t *testing.T) {
		_, err := loadConfig(options{cmd: "dead-letters", action: "list"}, getenv, "cn-shanghai")
		if err == nil || !strings.Contains(err.Error(), "--account-id") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("an emulator's MNS address is dialed", func(t *testing.T) {
		cfg, err := loadConfig(options{cmd: "dead-letters", action: "list", accountID: "1234567890123456", mnsEndpoint: "http://127.0.0.1:9400",
			regions: list{"cn-hangzhou"}}, getenv, "")
		if err != nil {
			t.Fatal(err)
		}
		if cfg.MNSDialAddress != "127.0.0.1:9400" || cfg.MNSEndpoint != "http://1234567890123456.mns.cn-hangzhou.aliyuncs.com" {
			t.Fatalf("dial %q endpoint %q", cfg.MNSDialAddress, cfg.MNSEndpoint)
		}
	})
	t.Run("a real MNS endpoint is kept", func(t *testing.T) {
		ep := "https://1234567890123456.mns.cn-hangzhou.aliyuncs.com"
		cfg, err := loadConfig(options{cmd: "plan", accountID: "1234567890123456", mnsEndpoint: ep, regions: list{"cn-hangzhou"}}, getenv, "")
		if err != nil || cfg.MNSEndpoint != ep || cfg.MNSDialAddress != "" {
			t.Fatalf("%v: endpoint %q dial %q", err, cfg.MNSEndpoint, cfg.MNSDialAddress)
		}
	})
	t.Run("no region anywhere", func(t *testing.T) {
		if _, err := loadConfig(options{cmd: "plan"}, getenv, ""); err == nil || !strings.Contains(err.Error(), config.EnvRegions) {
			t.Fatalf("err = %v", err)
		}
	})
}
