package config_test

import (
	"strings"
	"testing"

	"github.com/sgpilot/sgpilot/shared/core/config"
)

func TestLoad_NotifySettings(t *testing.T) {
	tests := []struct {
		name       string
		kv         map[string]string
		wantTopic  string
		wantDigest bool
		wantErr    string
	}{
		{name: "off by default", kv: nil},
		{name: "topic", kv: map[string]string{config.EnvNotifyTopic: "sgpilot-ops"}, wantTopic: "sgpilot-ops"},
		{name: "topic and digest", kv: map[string]string{config.EnvNotifyTopic: "sgpilot-ops", config.EnvNotifyDigest: "true"},
			wantTopic: "sgpilot-ops", wantDigest: true},
		{name: "bad topic name", kv: map[string]string{config.EnvNotifyTopic: "ops_topic"}, wantErr: config.EnvNotifyTopic},
		{name: "digest without topic", kv: map[string]string{config.EnvNotifyDigest: "true"}, wantErr: "needs " + config.EnvNotifyTopic},
		{name: "digest not a bool", kv: map[string]string{config.EnvNotifyTopic: "ops", config.EnvNotifyDigest: "daily"}, wantErr: "true or false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load(env(tt.kv))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.NotifyTopic != tt.wantTopic || c.NotifyDigest != tt.wantDigest {
				t.Fatalf("topic %q digest %v", c.NotifyTopic, c.NotifyDigest)
			}
		})
	}
}
