package ecsemu_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
)

func (f *fixture) rules(tb testing.TB, sg string, mod func(r *ecs.DescribeSecurityGroupAttributeRequest)) []ecs.Permission {
	tb.Helper()
	req := ecs.CreateDescribeSecurityGroupAttributeRequest()
	req.SecurityGroupId = sg
	if mod != nil {
		mod(req)
	}
	resp, err := f.client.DescribeSecurityGroupAttribute(req)
	mustOK(tb, err)
	return resp.Permissions.Permission
}

func TestAuthorize_StoresAndEchoes(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	vpc := f.svc.DefaultVPCID()
	web, lb := f.createGroup(t, vpc, "role-web"), f.createGroup(t, vpc, "role-lb")

	req := ecs.CreateAuthorizeSecurityGroupRequest()
	req.SecurityGroupId = web
	req.IpProtocol, req.PortRange, req.SourceGroupId = "tcp", "443/443", lb
	req.Policy, req.Priority, req.NicType = "accept", "5", "internet" // VPC groups coerce to intranet
	req.Description = "https from lb"
	_, err := f.client.AuthorizeSecurityGroup(req)
	mustOK(t, err)
	_, err = f.client.AuthorizeSecurityGroup(req) // duplicate: idempotent success
	mustOK(t, err)

	perm := ecs.CreateAuthorizeSecurityGroupRequest()
	perm.SecurityGroupId = web
	perm.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{
		{IpProtocol: "UDP", PortRange: "53/53", SourceCidrIp: "10.0.0.0/8", Policy: "Drop"},
		{IpProtocol: "icmp", PortRange: "-1/-1", SourceCidrIp: "192.168.1.1"},
	}
	_, err = f.client.AuthorizeSecurityGroup(perm)
	mustOK(t, err)

	got := f.rules(t, web, nil)
	if len(got) != 3 {
		t.Fatalf("%d rules: %+v", len(got), got)
	}
	r := got[0]
	if r.IpProtocol != "TCP" || r.Policy != "Accept" || r.Priority != "5" || r.NicType != "intranet" ||
		r.SourceGroupId != lb || r.SourceGroupName != "role-lb" || r.Direction != "ingress" || r.PortRange != "443/443" ||
		r.Description != "https from lb" || r.SecurityGroupRuleId == "" {
		t.Fatalf("rule %+v", r)
	}
	if _, err := time.Parse("2006-01-02T15:04:05Z", r.CreateTime); err != nil {
		t.Fatalf("CreateTime %q", r.CreateTime)
	}
	if got[1].IpProtocol != "UDP" || got[1].Policy != "Drop" || got[1].Priority != "1" || got[2].IpProtocol != "ICMP" {
		t.Fatalf("permissions rules %+v", got[1:])
	}

	d := ecs.CreateDescribeSecurityGroupsRequest()
	d.SecurityGroupId = web
	dr, err := f.client.DescribeSecurityGroups(d)
	mustOK(t, err)
	if g := dr.SecurityGroups.SecurityGroup[0]; g.RuleCount != 3 || g.GroupToGroupRuleCount != 1 {
		t.Fatalf("counts %d %d", g.RuleCount, g.GroupToGroupRuleCount)
	}

	// Revoke by attributes, then by rule ID; revoking a missing rule succeeds.
	rv := ecs.CreateRevokeSecurityGroupRequest()
	rv.SecurityGroupId = web
	rv.IpProtocol, rv.PortRange, rv.SourceGroupId = "tcp", "443/443", lb
	_, err = f.client.RevokeSecurityGroup(rv)
	mustOK(t, err)
	_, err = f.client.RevokeSecurityGroup(rv)
	mustOK(t, err)
	byID := ecs.CreateRevokeSecurityGroupRequest()
	byID.SecurityGroupId = web
	byID.SecurityGroupRuleId = &[]string{got[1].SecurityGroupRuleId}
	_, err = f.client.RevokeSecurityGroup(byID)
	mustOK(t, err)
	_, err = f.client.RevokeSecurityGroup(byID)
	wantCode(t, err, "InvalidSecurityGroupRuleId.NotFound", 404)
	if left := f.rules(t, web, nil); len(left) != 1 || left[0].IpProtocol != "ICMP" {
		t.Fatalf("after revoke: %+v", left)
	}
}

func TestAuthorize_Validation(t *testing.T) {
	f := newFixture(t, ecsemu.Options{RulesPerGroup: 3})
	vpc := f.svc.DefaultVPCID()
	sg := f.createGroup(t, vpc, "target")
	classic := f.createGroup(t, "", "classic")
	enterprise := func() string {
		req := ecs.CreateCreateSecurityGroupRequest()
		req.VpcId, req.SecurityGroupType = vpc, "enterprise"
		resp, err := f.client.CreateSecurityGroup(req)
		mustOK(t, err)
		return resp.SecurityGroupId
	}()
	cases := []struct {
		name   string
		mod    func(r *ecs.AuthorizeSecurityGroupRequest)
		code   string
		status int
	}{
		{"priority 0", func(r *ecs.AuthorizeSecurityGroupRequest) { r.Priority = "0" }, "InvalidPriority.Malformed", 400},
		{"priority 101", func(r *ecs.AuthorizeSecurityGroupRequest) { r.Priority = "101" }, "InvalidPriority.Malformed", 400},
		{"reversed ports", func(r *ecs.AuthorizeSecurityGroupRequest) { r.PortRange = "200/1" }, "InvalidPortRange.Malformed", 400},
		{"port 0", func(r *ecs.AuthorizeSecurityGroupRequest) { r.PortRange = "0/10" }, "InvalidPortRange.Malformed", 400},
		{"port 65536", func(r *ecs.AuthorizeSecurityGroupRequest) { r.PortRange = "1/65536" }, "InvalidPortRange.Malformed", 400},
		{"icmp with ports", func(r *ecs.AuthorizeSecurityGroupRequest) { r.IpProtocol = "icmp" }, "InvalidPortRange.Malformed", 400},
		{"all with ports", func(r *ecs.AuthorizeSecurityGroupRequest) { r.IpProtocol = "all" }, "InvalidPortRange.Malformed", 400},
		{"bad protocol", func(r *ecs.AuthorizeSecurityGroupRequest) { r.IpProtocol = "sctp" }, "InvalidIpProtocol.Malformed", 400},
		{"bad policy", func(r *ecs.AuthorizeSecurityGroupRequest) { r.Policy = "reject" }, "InvalidPolicy.Malformed", 400},
		{"bad nic", func(r *ecs.AuthorizeSecurityGroupRequest) { r.NicType = "wifi" }, "InvalidNicType.ValueNotSupported", 400},
		{"bad cidr", func(r *ecs.AuthorizeSecurityGroupRequest) { r.SourceCidrIp = "10.0.0.0/33" }, "InvalidSourceCidrIp.Malformed", 400},
		{"no source", func(r *ecs.AuthorizeSecurityGroupRequest) { r.SourceCidrIp = "" }, "MissingParameter.Source", 400},
		{"v4 and v6", func(r *ecs.AuthorizeSecurityGroupRequest) { r.Ipv6SourceCidrIp = "::/0" }, "InvalidParam.SourceIp", 400},
		{"unknown source group", func(r *ecs.AuthorizeSecurityGroupRequest) {
			r.SourceCidrIp, r.SourceGroupId = "", "sg-bp1unknown0000000000"
		}, "InvalidSourceGroupId.NotFound", 404},
		{"classic source group", func(r *ecs.AuthorizeSecurityGroupRequest) {
			r.SourceCidrIp, r.SourceGroupId = "", classic
		}, "InvalidNetworkType.Mismatch", 403},
		{"enterprise authorising a group", func(r *ecs.AuthorizeSecurityGroupRequest) {
			r.SecurityGroupId, r.SourceCidrIp, r.SourceGroupId = enterprise, "", sg
		}, "InvalidGroupAuthParameter.OperationDenied", 400},
		{"classic group-to-group over internet", func(r *ecs.AuthorizeSecurityGroupRequest) {
			r.SecurityGroupId, r.SourceCidrIp, r.SourceGroupId, r.NicType = classic, "", classic, "internet"
		}, "InvalidSourceGroupId.Mismatch", 403},
		{"mixed flat and permissions", func(r *ecs.AuthorizeSecurityGroupRequest) {
			r.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "tcp", PortRange: "1/2", SourceCidrIp: "1.1.1.1"}}
		}, "InvalidParam.Permissions", 400},
		{"duplicate permissions", func(r *ecs.AuthorizeSecurityGroupRequest) {
			r.IpProtocol, r.PortRange, r.SourceCidrIp = "", "", ""
			p := ecs.AuthorizeSecurityGroupPermissions{IpProtocol: "tcp", PortRange: "1/2", SourceCidrIp: "1.1.1.1"}
			r.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{p, p}
		}, "InvalidParam.DuplicatePermissions", 400},
		{"unknown group", func(r *ecs.AuthorizeSecurityGroupRequest) { r.SecurityGroupId = "sg-bp1gone000000000000" }, "InvalidSecurityGroupId.NotFound", 404},
		{"rule limit", func(r *ecs.AuthorizeSecurityGroupRequest) {
			r.IpProtocol, r.PortRange, r.SourceCidrIp = "", "", ""
			r.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{
				{IpProtocol: "tcp", PortRange: "1/1", SourceCidrIp: "1.1.1.1"},
				{IpProtocol: "tcp", PortRange: "2/2", SourceCidrIp: "1.1.1.1"},
				{IpProtocol: "tcp", PortRange: "3/3", SourceCidrIp: "1.1.1.1"},
				{IpProtocol: "tcp", PortRange: "4/4", SourceCidrIp: "1.1.1.1"},
			}
		}, "AuthorizationLimitExceed", 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := ecs.CreateAuthorizeSecurityGroupRequest()
			req.SecurityGroupId, req.IpProtocol, req.PortRange, req.SourceCidrIp = sg, "tcp", "22/22", "10.0.0.0/8"
			tc.mod(req)
			_, err := f.client.AuthorizeSecurityGroup(req)
			wantCode(t, err, tc.code, tc.status)
		})
	}
	if n := len(f.rules(t, sg, nil)); n != 0 {
		t.Fatalf("failed calls left %d rules", n)
	}
}

func TestDescribeSecurityGroupAttribute_ClassicNicTypeAndPaging(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	classic := f.createGroup(t, "", "classic")
	auth := func(nic, port string) {
		req := ecs.CreateAuthorizeSecurityGroupRequest()
		req.SecurityGroupId, req.IpProtocol, req.PortRange, req.SourceCidrIp, req.NicType = classic, "tcp", port, "0.0.0.0/0", nic
		_, err := f.client.AuthorizeSecurityGroup(req)
		mustOK(t, err)
	}
	auth("", "80/80")
	auth("intranet", "81/81")
	egress := ecs.CreateAuthorizeSecurityGroupEgressRequest()
	egress.SecurityGroupId, egress.IpProtocol, egress.PortRange, egress.DestCidrIp = classic, "all", "-1/-1", "0.0.0.0/0"
	_, err := f.client.AuthorizeSecurityGroupEgress(egress)
	mustOK(t, err)

	if got := f.rules(t, classic, nil); len(got) != 2 || got[0].NicType != "internet" {
		t.Fatalf("default (internet): %+v", got)
	}
	intra := f.rules(t, classic, func(r *ecs.DescribeSecurityGroupAttributeRequest) { r.NicType = "intranet" })
	if len(intra) != 1 || intra[0].PortRange != "81/81" {
		t.Fatalf("intranet: %+v", intra)
	}
	eg := f.rules(t, classic, func(r *ecs.DescribeSecurityGroupAttributeRequest) { r.Direction = "egress" })
	if len(eg) != 1 || eg[0].DestCidrIp != "0.0.0.0/0" || eg[0].Direction != "egress" || eg[0].IpProtocol != "ALL" {
		t.Fatalf("egress: %+v", eg)
	}

	vpcSG := f.createGroup(t, f.svc.DefaultVPCID(), "many")
	perms := []ecs.AuthorizeSecurityGroupPermissions{}
	for i := 1; i <= 25; i++ {
		perms = append(perms, ecs.AuthorizeSecurityGroupPermissions{IpProtocol: "tcp",
			PortRange: fmt.Sprintf("%d/%d", i, i), SourceCidrIp: "10.0.0.1"})
	}
	req := ecs.CreateAuthorizeSecurityGroupRequest()
	req.SecurityGroupId, req.Permissions = vpcSG, &perms
	_, err = f.client.AuthorizeSecurityGroup(req)
	mustOK(t, err)
	total, token := 0, ""
	for {
		d := ecs.CreateDescribeSecurityGroupAttributeRequest()
		d.SecurityGroupId, d.MaxResults, d.NextToken = vpcSG, requests.NewInteger(10), token
		resp, err := f.client.DescribeSecurityGroupAttribute(d)
		mustOK(t, err)
		total += len(resp.Permissions.Permission)
		if token = resp.NextToken; token == "" {
			break
		}
	}
	if total != 25 {
		t.Fatalf("paged %d rules", total)
	}
	d := ecs.CreateDescribeSecurityGroupAttributeRequest()
	d.SecurityGroupId, d.MaxResults = vpcSG, requests.NewInteger(5)
	_, err = f.client.DescribeSecurityGroupAttribute(d)
	wantCode(t, err, "InvalidParameter", 400)
	d.SecurityGroupId, d.MaxResults = "sg-bp1missing000000000", ""
	_, err = f.client.DescribeSecurityGroupAttribute(d)
	wantCode(t, err, "InvalidSecurityGroupId.NotFound", 404)
	d.SecurityGroupId = "nope"
	_, err = f.client.DescribeSecurityGroupAttribute(d)
	wantCode(t, err, "InvalidSecurityGroupId.Malformed", 400)
}
