package essemu_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/essemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/ramemu"
)

// TestRAM_RoleCredentials: an ESS read by a role is allowed only when its
// policy grants ess:<Action>; the refusal is 403 Forbidden.RAM.
func TestRAM_RoleCredentials(t *testing.T) {
	f := newFixture(t)
	f.env.RAM = ramemu.New(ramemu.Options{Enforce: true})
	pol, err := ramemu.ParsePolicy("reader", []byte(`{"Version":"1","Statement":[{"Effect":"Allow","Action":"ess:DescribeScalingGroups","Resource":"*"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	role := ramemu.RoleARN("1234567890123456", "reader")
	f.env.RAM.Attach(role, pol)
	cred := f.env.Credentials.IssueSTSForRole(role, "fn", time.Hour)
	asRole := func(v url.Values) {
		v.Set("AccessKeyId", cred.AccessKeyID)
		v.Set("SecurityToken", cred.SecurityToken)
		v.Set("Signature", ecsemu.Sign(cred.AccessKeySecret, ecsemu.StringToSign("POST", v)))
	}
	for _, tc := range []struct {
		name, version, action string
		status                int
	}{
		{"granted", essemu.ESSVersion, "DescribeScalingGroups", 200},
		{"not granted", essemu.ESSVersion, "DescribeScalingConfigurations", 403},
		{"other product", essemu.ECIVersion, "DescribeContainerGroups", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := f.raw(t, tc.version, map[string]string{"Action": tc.action, "ScalingGroupId": "asg-x"}, asRole)
			if status != tc.status || (status == 403 && body["Code"] != "Forbidden.RAM") {
				t.Errorf("%s: %d %v, want %d", tc.action, status, body, tc.status)
			}
		})
	}
}
