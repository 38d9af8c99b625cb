package app_test

import (
	"context"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/app"
	"github.com/sgpilot/sgpilot/shared/core/config"
	"github.com/sgpilot/sgpilot/shared/core/domain"
)

func deps(t *testing.T) *app.Deps {
	t.Helper()
	env := map[string]string{
		config.EnvFCRegion: "cn-hangzhou", config.EnvFCAccountID: "1234567890123456",
		config.EnvMNSEndpoint: "http://1234567890123456.mns.cn-hangzhou.aliyuncs.com",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	// No credentials anywhere: a payload that gets past validation fails on them.
	return app.NewDeps(cfg, zap.NewNop(), func(string) string { return "" })
}

// Operator payloads are checked before anything reaches the cloud: a typo is
// a clear KindInvalid error, never silently ignored or taken for a default.
func TestPayloadsAreValidatedFirst(t *testing.T) {
	cleanup, err := app.NightlyCleanup(deps(t))
	if err != nil {
		t.Fatal(err)
	}
	worker, err := app.QueueWorker(deps(t))
	if err != nil {
		t.Fatal(err)
	}
	created, err := app.InstanceCreated(deps(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		handler func(context.Context, []byte) (any, error)
		payload string
		want    string
	}{
		{"cleanup: unknown mode", cleanup, `{"mode":"delete-everything"}`, "delete-everything"},
		{"cleanup: misspelt field", cleanup, `{"mdoe":"plan"}`, "mdoe"},
		{"cleanup: bad format", cleanup, `{"mode":"plan","format":"xml"}`, "xml"},
		{"cleanup: region outside the configuration", cleanup, `{"regions":["cn-beijing"]}`, "cn-beijing"},
		{"cleanup: not JSON", cleanup, `plan please`, "JSON"},
		{"cleanup: timer with a bad payload", cleanup, `{"triggerTime":"2026-11-25T03:00:00Z","triggerName":"nightly","payload":"{\"mode\":\"sweep\"}"}`, "sweep"},
		{"worker: unknown mode", worker, `{"mode":"nonsense"}`, "nonsense"},
		{"worker: plan without instances", worker, `{"mode":"plan"}`, "instanceIds"},
		{"worker: plan with a bad ID", worker, `{"mode":"plan","instanceIds":["web-01"]}`, "web-01"},
		{"worker: drain with instances", worker, `{"instanceIds":["i-bp1aaaaaaaaaaaaaaaa1"]}`, "instanceIds"},
		{"created: event without an account", created, `{"id":"e1","source":"acs.ecs","specversion":"1.0","type":"ecs:Instance:StateChange","aliyunregionid":"cn-hangzhou","data":{"resourceId":"i-bp1aaaaaaaaaaaaaaaa1","state":"Created"}}`, "names no account"},
		{"created: malformed instance ID", created, `{"instanceIds":["i-NOPE"]}`, "i-NOPE"},
		{"created: truncated event", created, `{"id":"e1","source":"acs.ecs","type":`, "JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.handler(context.Background(), []byte(tc.payload))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "no credentials") {
				t.Fatalf("validation came after the credential lookup: %v", err)
			}
		})
	}
}

func TestMissingCredentialsAreAClearPermanentError(t *testing.T) {
	cleanup, err := app.NightlyCleanup(deps(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = cleanup(context.Background(), []byte(`{"mode":"plan"}`))
	if domain.KindOf(err) != domain.KindPermanent || !strings.Contains(err.Error(), "RAM role") {
		t.Fatalf("err = %v", err)
	}
}
