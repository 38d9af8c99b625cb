package localcloud_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sgpilot/sgpilot/shared/localcloud"
	"github.com/sgpilot/sgpilot/shared/localcloud/ramemu"
)

// TestStart_TemplateWithRAM runs sgpilot's template.yml: its queues exist,
// its functions are registered, and a function role's credentials are held
// to the role's inline policy (tag condition included) through the ECS SDK,
// while the test key stays unrestricted.
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

	host := strings.TrimPrefix(info.ECSEndpoint, "http://")
	root, err := ecs.NewClientWithAccessKey(info.RegionID, info.AccessKeyID, info.AccessKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	root.Domain = host
	group := func(managed bool) string {
		req := ecs.CreateCreateSecurityGroupRequest()
		req.VpcId = info.DefaultVPCID
		if managed {
			req.Tag = &[]ecs.CreateSecurityGroupTag{{Key: "sgpilot:managed", Value: "true"}}
		}
		resp, err := root.CreateSecurityGroup(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.SecurityGroupId
	}
	managed, unmanaged := group(true), group(false)

	role := ramemu.RoleARN(info.AccountID, "sgpilot-queue-worker")
	cred := s.Env.Credentials.IssueSTSForRole(role, "queue-worker", time.Hour)
	worker, err := ecs.NewClientWithStsToken(info.RegionID, cred.AccessKeyID, cred.AccessKeySecret, cred.SecurityToken)
	if err != nil {
		t.Fatal(err)
	}
	worker.Domain = host

	del := func(id string) func() error {
		return func() error {
			req := ecs.CreateDeleteSecurityGroupRequest()
			req.SecurityGroupId = id
			_, err := worker.DeleteSecurityGroup(req)
			return err
		}
	}
	tests := []struct {
		name    string
		call    func() error
		refused string // AuthAction of the refusal, "" = allowed
	}{
		{"describe on *", func() error { _, err := worker.DescribeInstances(ecs.CreateDescribeInstancesRequest()); return err }, ""},
		{"create not granted", func() error {
			req := ecs.CreateCreateSecurityGroupRequest()
			req.VpcId = info.DefaultVPCID
			_, err := worker.CreateSecurityGroup(req)
			return err
		}, "ecs:CreateSecurityGroup"},
		{"delete without the scope tag", del(unmanaged), "ecs:DeleteSecurityGroup"},
		{"delete with the scope tag", del(managed), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if tc.refused == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var se *sdkerrors.ServerError
			if !errors.As(err, &se) || se.HttpStatus() != 403 || se.ErrorCode() != "Forbidden.RAM" {
				t.Fatalf("err = %v, want 403 Forbidden.RAM", err)
			}
			if got := se.AccessDeniedDetail()["AuthAction"]; got != tc.refused {
				t.Errorf("AccessDeniedDetail.AuthAction = %v, want %s (%v)", got, tc.refused, se.AccessDeniedDetail())
			}
		})
	}
	// The test key may still do anything.
	req := ecs.CreateDeleteSecurityGroupRequest()
	req.SecurityGroupId = unmanaged
	if _, err := root.DeleteSecurityGroup(req); err != nil {
		t.Errorf("test key refused: %v", err)
	}

	var denied []string
	for _, u := range s.RAMRecorder().Uses() {
		if !u.Allowed {
			denied = append(denied, u.Function+" "+u.Action)
		}
	}
	if got := strings.Join(denied, ","); got != "queue-worker ecs:CreateSecurityGroup,queue-worker ecs:DeleteSecurityGroup" {
		t.Errorf("denied record = %s", got)
	}
}
