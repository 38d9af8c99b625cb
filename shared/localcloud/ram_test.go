package localcloud_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud"
	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/ramemu"
)

// TestStart_TemplateWithRAM runs sgpilot's template.yml: its queues exist,
// its functions are registered, and a function role's credentials are held
// to the role's inline policy, while the test key stays unrestricted.
func TestStart_TemplateWithRAM(t *testing.T) {
	tpl, err := filepath.Abs("../../template.yml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := localcloud.Start(context.Background(), localcloud.Options{
		FunctionsFile: tpl, Vars: map[string]string{"codeDir": t.TempDir()},
		RAM: localcloud.RAMOptions{Mode: localcloud.RAMEnforce},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	info := s.Info()
	if got := strings.Join(info.Functions, ","); got != "instance-created,nightly-cleanup,queue-worker" {
		t.Errorf("functions = %s", got)
	}
	var queues []string
	for _, q := range s.MNS.Snapshot().Queues {
		queues = append(queues, q.Name)
	}
	for _, want := range []string{"sgpilot-work", "sgpilot-dead-letter", "sgpilot-failed-events"} {
		if !slices.Contains(queues, want) {
			t.Errorf("queue %s not created (have %v)", want, queues)
		}
	}

	// A role's credentials, held to the template's inline policy; the SDK's
	// view of the refusal is checked in ecsemu's RAM test.
	role := ramemu.RoleARN(info.AccountID, "sgpilot-queue-worker")
	cred := s.Env.Credentials.IssueSTSForRole(role, "queue-worker", time.Hour)
	tests := []struct {
		name   string
		action string
		params map[string]string
		status int
	}{
		{"describe on *", "DescribeInstances", nil, http.StatusOK},
		{"create not granted", "CreateSecurityGroup", map[string]string{"VpcId": info.DefaultVPCID}, http.StatusForbidden},
		{"join granted", "JoinSecurityGroup", map[string]string{"InstanceId": "i-missing", "SecurityGroupId": "sg-missing"}, http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := signedCall(t, info.ECSEndpoint, info.RegionID, cred, tc.action, tc.params)
			if status != tc.status {
				t.Errorf("%s: HTTP %d %s, want %d", tc.action, status, body, tc.status)
			}
		})
	}
	// The test key may do anything.
	if status, body := signedCall(t, info.ECSEndpoint, info.RegionID, core.Credential{AccessKeyID: info.AccessKeyID,
		AccessKeySecret: info.AccessKeySecret}, "CreateSecurityGroup", map[string]string{"VpcId": info.DefaultVPCID}); status != http.StatusOK {
		t.Errorf("test key refused: %d %s", status, body)
	}

	var denied []string
	for _, u := range s.RAMRecorder().Uses() {
		if !u.Allowed {
			denied = append(denied, u.Function+" "+u.Action)
		}
	}
	if got := strings.Join(denied, ","); got != "queue-worker ecs:CreateSecurityGroup" {
		t.Errorf("denied record = %s", got)
	}
}

// signedCall sends one ECS RPC call signed as the SDK signs it (v1), with
// cred's security token when it has one, and returns the status and body.
func signedCall(t *testing.T, endpoint, region string, cred core.Credential, action string, params map[string]string) (int, string) {
	t.Helper()
	v := url.Values{}
	for k, x := range map[string]string{
		"Action": action, "AccessKeyId": cred.AccessKeyID, "Format": "JSON", "Version": ecsemu.APIVersion,
		"SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": core.NewRequestID(),
		"RegionId": region, "Timestamp": time.Now().UTC().Format("2006-01-02T15:04:05Z"),
	} {
		v.Set(k, x)
	}
	if cred.SecurityToken != "" {
		v.Set("SecurityToken", cred.SecurityToken)
	}
	for k, x := range params {
		v.Set(k, x)
	}
	v.Set("Signature", ecsemu.Sign(cred.AccessKeySecret, ecsemu.StringToSign(http.MethodPost, v)))
	resp, err := http.PostForm(endpoint+"/", v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
