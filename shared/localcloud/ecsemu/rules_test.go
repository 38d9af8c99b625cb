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
	wantCode(t, err, "InvalidParam.SecurityGroupRuleId", 400)
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

func TestAuthorize_DuplicateKeepsFirstPriority(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	sg := f.createGroup(t, f.svc.DefaultVPCID(), "dup")
	for _, prio := range []string{"5", "9"} {
		req := ecs.CreateAuthorizeSecurityGroupRequest()
		req.SecurityGroupId, req.IpProtocol, req.PortRange, req.SourceCidrIp, req.Priority = sg, "tcp", "80/80", "10.1.0.0/16", prio
		req.Description = "prio " + prio
		_, err := f.client.AuthorizeSecurityGroup(req)
		mustOK(t, err)
	}
	got := f.rules(t, sg, nil)
	if len(got) != 1 || got[0].Priority != "5" || got[0].Description != "prio 5" {
		t.Fatalf("rules after a duplicate with another priority: %+v", got)
	}
	// Revoke by attributes ignores priority too.
	rv := ecs.CreateRevokeSecurityGroupRequest()
	rv.SecurityGroupId = sg
	rv.Permissions = &[]ecs.RevokeSecurityGroupPermissions{{IpProtocol: "TCP", PortRange: "80/80", SourceCidrIp: "10.1.0.0/16", Priority: "77"}}
	_, err := f.client.RevokeSecurityGroup(rv)
	mustOK(t, err)
	if got := f.rules(t, sg, nil); len(got) != 0 {
		t.Fatalf("left after revoke: %+v", got)
	}
}

func TestRevoke_EgressFormsAndMixedParameters(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	vpc := f.svc.DefaultVPCID()
	sg, peer := f.createGroup(t, vpc, "eg"), f.createGroup(t, vpc, "peer")
	eg := ecs.CreateAuthorizeSecurityGroupEgressRequest()
	eg.SecurityGroupId = sg
	eg.Permissions = &[]ecs.AuthorizeSecurityGroupEgressPermissions{
		{IpProtocol: "tcp", PortRange: "443/443", DestGroupId: peer, Priority: "3"},
		{IpProtocol: "udp", PortRange: "53/53", DestCidrIp: "100.100.2.136/32"},
		{IpProtocol: "tcp", PortRange: "5432/5432", DestPrefixListId: "pl-abcd1234"},
	}
	_, err := f.client.AuthorizeSecurityGroupEgress(eg)
	mustOK(t, err)
	got := f.rules(t, sg, func(r *ecs.DescribeSecurityGroupAttributeRequest) { r.Direction = "egress" })
	if len(got) != 3 || got[0].DestGroupId != peer || got[0].DestGroupName != "peer" || got[0].Priority != "3" ||
		got[2].DestPrefixListId != "pl-abcd1234" || got[1].DestCidrIp != "100.100.2.136/32" {
		t.Fatalf("egress rules: %+v", got)
	}
	if in := f.rules(t, sg, func(r *ecs.DescribeSecurityGroupAttributeRequest) { r.Direction = "ingress" }); len(in) != 0 {
		t.Fatalf("ingress filter returned %+v", in)
	}

	mixed := ecs.CreateRevokeSecurityGroupEgressRequest()
	mixed.SecurityGroupId = sg
	mixed.SecurityGroupRuleId = &[]string{got[0].SecurityGroupRuleId}
	mixed.Permissions = &[]ecs.RevokeSecurityGroupEgressPermissions{{IpProtocol: "udp", PortRange: "53/53", DestCidrIp: "100.100.2.136/32"}}
	_, err = f.client.RevokeSecurityGroupEgress(mixed)
	wantCode(t, err, "InvalidParam.Permissions", 400)

	// An ingress revoke by the ID of an egress rule does not find it.
	wrongDir := ecs.CreateRevokeSecurityGroupRequest()
	wrongDir.SecurityGroupId = sg
	wrongDir.SecurityGroupRuleId = &[]string{got[0].SecurityGroupRuleId}
	_, err = f.client.RevokeSecurityGroup(wrongDir)
	wantCode(t, err, "InvalidParam.SecurityGroupRuleId", 400)

	byAttr := ecs.CreateRevokeSecurityGroupEgressRequest()
	byAttr.SecurityGroupId = sg
	byAttr.Permissions = &[]ecs.RevokeSecurityGroupEgressPermissions{
		{IpProtocol: "tcp", PortRange: "443/443", DestGroupId: peer},
		{IpProtocol: "tcp", PortRange: "5432/5432", DestPrefixListId: "pl-abcd1234"},
	}
	_, err = f.client.RevokeSecurityGroupEgress(byAttr)
	mustOK(t, err)
	left := f.rules(t, sg, nil)
	if len(left) != 1 || left[0].IpProtocol != "UDP" {
		t.Fatalf("left: %+v", left)
	}
	// The peer is no longer referenced, so it can be deleted.
	del := ecs.CreateDeleteSecurityGroupRequest()
	del.SecurityGroupId = peer
	_, err = f.client.DeleteSecurityGroup(del)
	mustOK(t, err)
}

func TestAuthorize_EnterpriseGroupCannotBeAPeer(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	vpc := f.svc.DefaultVPCID()
	basic := f.createGroup(t, vpc, "basic")
	req := ecs.CreateCreateSecurityGroupRequest()
	req.VpcId, req.SecurityGroupType = vpc, "enterprise"
	resp, err := f.client.CreateSecurityGroup(req)
	mustOK(t, err)
	auth := ecs.CreateAuthorizeSecurityGroupRequest()
	auth.SecurityGroupId, auth.IpProtocol, auth.PortRange, auth.SourceGroupId = basic, "tcp", "22/22", resp.SecurityGroupId
	_, err = f.client.AuthorizeSecurityGroup(auth)
	wantCode(t, err, "InvalidGroupAuthParameter.OperationDenied", 400)
	eg := ecs.CreateAuthorizeSecurityGroupEgressRequest()
	eg.SecurityGroupId, eg.IpProtocol, eg.PortRange, eg.DestGroupId = basic, "tcp", "22/22", resp.SecurityGroupId
	_, err = f.client.AuthorizeSecurityGroupEgress(eg)
	wantCode(t, err, "InvalidGroupAuthParameter.OperationDenied", 400)
}

func TestModifySecurityGroupPolicy(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	vpc := f.svc.DefaultVPCID()
	basic := f.createGroup(t, vpc, "basic")
	req := ecs.CreateCreateSecurityGroupRequest()
	req.VpcId, req.SecurityGroupType = vpc, "enterprise"
	resp, err := f.client.CreateSecurityGroup(req)
	mustOK(t, err)
	enterprise := resp.SecurityGroupId

	policyOf := func(id string) string {
		d := ecs.CreateDescribeSecurityGroupAttributeRequest()
		d.SecurityGroupId = id
		r, err := f.client.DescribeSecurityGroupAttribute(d)
		mustOK(t, err)
		return r.InnerAccessPolicy
	}
	if p := policyOf(basic); p != "Accept" {
		t.Fatalf("new basic group: %q", p)
	}
	if p := policyOf(enterprise); p != "Drop" {
		t.Fatalf("new enterprise group: %q", p)
	}
	modify := func(id, policy string) error {
		m := ecs.CreateModifySecurityGroupPolicyRequest()
		m.SecurityGroupId, m.InnerAccessPolicy = id, policy
		_, err := f.client.ModifySecurityGroupPolicy(m)
		return err
	}
	mustOK(t, modify(basic, "drop")) // case-insensitive
	if p := policyOf(basic); p != "Drop" {
		t.Fatalf("after Drop: %q", p)
	}
	mustOK(t, modify(basic, "Accept"))
	if p := policyOf(basic); p != "Accept" {
		t.Fatalf("after Accept: %q", p)
	}
	cases := []struct {
		name, id, policy, code string
		status                 int
	}{
		{"enterprise", enterprise, "Accept", "InvalidSecurityGroup.NotSupportEnterprise", 400},
		{"bad value", basic, "Maybe", "InvalidParameter.InnerAccessPolicy", 400},
		{"missing value", basic, "", "MissingParameter", 400},
		{"unknown group", "sg-bp1unknown0000000000", "Drop", "InvalidSecurityGroupId.NotFound", 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, modify(tc.id, tc.policy), tc.code, tc.status)
		})
	}
}
