package ecsemu_test

import (
	"errors"
	"testing"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/ramemu"
)

// TestRAM_ForbiddenThroughTheSDK: a role's STS credential is held to its
// policy (wildcard actions, both resources of a join, a tag condition on
// deletes), refusals reach the real SDK as 403 Forbidden.RAM with an
// AccessDeniedDetail naming the action, and the test key stays unrestricted.
func TestRAM_ForbiddenThroughTheSDK(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	f.env.RAM = ramemu.New(ramemu.Options{Enforce: true})
	pol, err := ramemu.ParsePolicy("worker", []byte(`{"Version":"1","Statement":[
	  {"Effect":"Allow","Action":["ecs:Describe*"],"Resource":"*"},
	  {"Effect":"Allow","Action":["ecs:JoinSecurityGroup"],"Resource":[
	    "acs:ecs:cn-hangzhou:`+testAccount+`:instance/*","acs:ecs:cn-hangzhou:`+testAccount+`:securitygroup/*"]},
	  {"Effect":"Allow","Action":["ecs:DeleteSecurityGroup"],"Resource":"acs:ecs:cn-hangzhou:`+testAccount+`:securitygroup/*",
	   "Condition":{"StringEquals":{"acs:ResourceTag/sgpilot:managed":"true"}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	role := ramemu.RoleARN(testAccount, "worker")
	f.env.RAM.Attach(role, pol)

	group := func(tags ...ecs.CreateSecurityGroupTag) string {
		req := ecs.CreateCreateSecurityGroupRequest()
		req.RegionId = region
		req.VpcId = f.svc.DefaultVPCID()
		if len(tags) > 0 {
			req.Tag = &tags
		}
		resp, err := f.client.CreateSecurityGroup(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.SecurityGroupId
	}
	managed := group(ecs.CreateSecurityGroupTag{Key: "sgpilot:managed", Value: "true"})
	unmanaged := group()

	cred := f.env.Credentials.IssueSTSForRole(role, "queue-worker", time.Hour)
	worker, err := ecs.NewClientWithStsToken(region, cred.AccessKeyID, cred.AccessKeySecret, cred.SecurityToken)
	if err != nil {
		t.Fatal(err)
	}
	worker.Domain = MustClient(t, f.srv).Domain

	del := func(c *ecs.Client, id string) func() error {
		return func() error {
			req := ecs.CreateDeleteSecurityGroupRequest()
			req.RegionId, req.SecurityGroupId = region, id
			_, err := c.DeleteSecurityGroup(req)
			return err
		}
	}
	tests := []struct {
		name    string
		call    func() error
		refused string // AuthAction of the refusal; "" = allowed
	}{
		{"wildcard describe", func() error {
			req := ecs.CreateDescribeInstancesRequest()
			req.RegionId = region
			_, err := worker.DescribeInstances(req)
			return err
		}, ""},
		{"create not granted", func() error {
			req := ecs.CreateCreateSecurityGroupRequest()
			req.RegionId, req.VpcId = region, f.svc.DefaultVPCID()
			_, err := worker.CreateSecurityGroup(req)
			return err
		}, "ecs:CreateSecurityGroup"},
		{"delete without the tag", del(worker, unmanaged), "ecs:DeleteSecurityGroup"},
		{"delete with the tag", del(worker, managed), ""},
		{"test key unrestricted", del(f.client, unmanaged), ""},
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
}
