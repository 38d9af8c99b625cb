package ecsemu_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
)

func TestCreateSecurityGroup(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	req := ecs.CreateCreateSecurityGroupRequest()
	req.VpcId = f.svc.DefaultVPCID()
	req.SecurityGroupName = "role-web"
	req.Description = "auto-managed"
	req.Tag = &[]ecs.CreateSecurityGroupTag{{Key: "sg-role", Value: "web"}}
	req.ClientToken = "tok-1"
	resp, err := f.client.CreateSecurityGroup(req)
	mustOK(t, err)
	again, err := f.client.CreateSecurityGroup(req)
	mustOK(t, err)
	if again.SecurityGroupId != resp.SecurityGroupId {
		t.Fatalf("ClientToken not idempotent: %s vs %s", again.SecurityGroupId, resp.SecurityGroupId)
	}

	d := ecs.CreateDescribeSecurityGroupsRequest()
	d.SecurityGroupId = resp.SecurityGroupId
	dr, err := f.client.DescribeSecurityGroups(d)
	mustOK(t, err)
	if len(dr.SecurityGroups.SecurityGroup) != 1 {
		t.Fatalf("describe: %+v", dr)
	}
	g := dr.SecurityGroups.SecurityGroup[0]
	if g.SecurityGroupName != "role-web" || g.Description != "auto-managed" || g.VpcId != f.svc.DefaultVPCID() ||
		g.SecurityGroupType != "normal" || len(g.Tags.Tag) != 1 || g.Tags.Tag[0].TagKey != "sg-role" ||
		g.Tags.Tag[0].TagValue != "web" || g.ServiceManaged || dr.RegionId != region {
		t.Fatalf("group %+v", g)
	}
	if _, err := time.Parse("2006-01-02T15:04:05Z", g.CreationTime); err != nil {
		t.Fatalf("CreationTime %q", g.CreationTime)
	}

	cases := []struct {
		name   string
		mod    func(r *ecs.CreateSecurityGroupRequest)
		code   string
		status int
	}{
		{"unknown vpc", func(r *ecs.CreateSecurityGroupRequest) { r.VpcId = "vpc-bp1nothere" }, "InvalidVpcId.NotFound", 404},
		{"bad name", func(r *ecs.CreateSecurityGroupRequest) { r.SecurityGroupName = "1starts-with-digit" }, "InvalidSecurityGroupName.Malformed", 400},
		{"bad description", func(r *ecs.CreateSecurityGroupRequest) { r.Description = "http://x" }, "InvalidDescription.Malformed", 400},
		{"bad type", func(r *ecs.CreateSecurityGroupRequest) { r.SecurityGroupType = "premium" }, "InvalidParameter.SecurityGroupType", 400},
		{"bad tag key", func(r *ecs.CreateSecurityGroupRequest) {
			r.Tag = &[]ecs.CreateSecurityGroupTag{{Key: "aliyun:reserved", Value: "x"}}
		}, "InvalidTagKey.Malformed", 400},
		{"duplicate tag key", func(r *ecs.CreateSecurityGroupRequest) {
			r.Tag = &[]ecs.CreateSecurityGroupTag{{Key: "k", Value: "1"}, {Key: "k", Value: "2"}}
		}, "Duplicate.TagKey", 400},
		{"vpc-only region", func(r *ecs.CreateSecurityGroupRequest) { r.RegionId = "cn-shanghai"; r.VpcId = "" }, "InvalidVpcId.NotFound", 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := ecs.CreateCreateSecurityGroupRequest()
			r.VpcId = f.svc.DefaultVPCID()
			tc.mod(r)
			_, err := f.client.CreateSecurityGroup(r)
			wantCode(t, err, tc.code, tc.status)
		})
	}
}

func TestCreateSecurityGroup_Quota(t *testing.T) {
	f := newFixture(t, ecsemu.Options{SecurityGroupQuota: 2})
	f.createGroup(t, "", "one")
	f.createGroup(t, "", "two")
	req := ecs.CreateCreateSecurityGroupRequest()
	_, err := f.client.CreateSecurityGroup(req)
	wantCode(t, err, "QuotaExceed.SecurityGroup", 403)
}

func TestDescribeSecurityGroups_FiltersAndPaging(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	vpc := f.svc.DefaultVPCID()
	var vpcGroups []string
	for i := 0; i < 23; i++ {
		vpcGroups = append(vpcGroups, f.createGroup(t, vpc, fmt.Sprintf("g%02d", i)))
	}
	classic := f.createGroup(t, "", "classic")
	tag := ecs.CreateTagResourcesRequest()
	tag.ResourceType = "securitygroup"
	tag.ResourceId = &[]string{vpcGroups[0], vpcGroups[1], classic}
	tag.Tag = &[]ecs.TagResourcesTag{{Key: "sg-role", Value: "web"}}
	_, err := f.client.TagResources(tag)
	mustOK(t, err)

	list := func(mod func(r *ecs.DescribeSecurityGroupsRequest)) []string {
		t.Helper()
		var ids []string
		token := ""
		for {
			req := ecs.CreateDescribeSecurityGroupsRequest()
			req.MaxResults = requests.NewInteger(10)
			req.NextToken = token
			mod(req)
			resp, err := f.client.DescribeSecurityGroups(req)
			mustOK(t, err)
			if resp.TotalCount != 0 {
				t.Fatalf("TotalCount %d in token mode", resp.TotalCount)
			}
			for _, g := range resp.SecurityGroups.SecurityGroup {
				ids = append(ids, g.SecurityGroupId)
			}
			if token = resp.NextToken; token == "" {
				return ids
			}
		}
	}
	cases := []struct {
		name string
		mod  func(r *ecs.DescribeSecurityGroupsRequest)
		want int
	}{
		{"all", func(r *ecs.DescribeSecurityGroupsRequest) {}, 24},
		{"vpc", func(r *ecs.DescribeSecurityGroupsRequest) { r.VpcId = vpc }, 23},
		{"classic", func(r *ecs.DescribeSecurityGroupsRequest) { r.NetworkType = "classic" }, 1},
		{"tag", func(r *ecs.DescribeSecurityGroupsRequest) {
			r.Tag = &[]ecs.DescribeSecurityGroupsTag{{Key: "sg-role", Value: "web"}}
		}, 3},
		{"tag and vpc", func(r *ecs.DescribeSecurityGroupsRequest) {
			r.VpcId = vpc
			r.Tag = &[]ecs.DescribeSecurityGroupsTag{{Key: "sg-role", Value: "web"}}
		}, 2},
		{"ids json", func(r *ecs.DescribeSecurityGroupsRequest) {
			r.SecurityGroupIds = `["` + vpcGroups[3] + `","` + classic + `","sg-bp1gone0000000000000"]`
		}, 2},
		{"name", func(r *ecs.DescribeSecurityGroupsRequest) { r.SecurityGroupName = "g07" }, 1},
		{"managed", func(r *ecs.DescribeSecurityGroupsRequest) { r.ServiceManaged = requests.NewBoolean(true) }, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ids := list(tc.mod)
			if len(ids) != tc.want {
				t.Fatalf("got %d, want %d", len(ids), tc.want)
			}
			seen := map[string]bool{}
			for _, id := range ids {
				if seen[id] {
					t.Fatalf("%s listed twice", id)
				}
				seen[id] = true
			}
		})
	}
	req := ecs.CreateDescribeSecurityGroupsRequest()
	req.PageNumber, req.PageSize = requests.NewInteger(3), requests.NewInteger(10)
	resp, err := f.client.DescribeSecurityGroups(req)
	mustOK(t, err)
	if resp.TotalCount != 24 || len(resp.SecurityGroups.SecurityGroup) != 4 || resp.PageNumber != 3 || resp.PageSize != 10 {
		t.Fatalf("page mode: total %d items %d", resp.TotalCount, len(resp.SecurityGroups.SecurityGroup))
	}
	errs := []struct {
		name string
		mod  func(r *ecs.DescribeSecurityGroupsRequest)
		code string
	}{
		{"page size", func(r *ecs.DescribeSecurityGroupsRequest) { r.PageSize = requests.NewInteger(51) }, "InvalidParameter"},
		{"bad token", func(r *ecs.DescribeSecurityGroupsRequest) { r.NextToken = "nope" }, "InValidParameter.NextToken"},
		{"bad ids", func(r *ecs.DescribeSecurityGroupsRequest) { r.SecurityGroupIds = "sg-1" }, "InvalidSecurityGroupId.Malformed"},
		{"bad type", func(r *ecs.DescribeSecurityGroupsRequest) { r.SecurityGroupType = "x" }, "InvalidParameter.SecurityGroupType"},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			req := ecs.CreateDescribeSecurityGroupsRequest()
			tc.mod(req)
			_, err := f.client.DescribeSecurityGroups(req)
			wantCode(t, err, tc.code, 400)
		})
	}
}

func TestJoinLeave_Rules(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	vpc := f.svc.DefaultVPCID()
	base := f.createGroup(t, vpc, "base")
	extra := []string{}
	for i := 0; i < 5; i++ {
		extra = append(extra, f.createGroup(t, vpc, fmt.Sprintf("extra%d", i)))
	}
	classic := f.createGroup(t, "", "classic")
	other := f.createGroup(t, "", "classic2")
	id := f.runRunning(t, f.svc.DefaultVSwitchID(), 1, base)[0]
	cid := f.runRunning(t, "", 1, classic)[0]

	// Fill up to the limit of 5.
	for _, g := range extra[:4] {
		mustOK(t, f.join(id, g))
	}
	cases := []struct {
		name   string
		op     func() error
		code   string
		status int
	}{
		{"limit", func() error { return f.join(id, extra[4]) }, "InstanceSecurityGroupLimitExceeded", 400},
		{"already member", func() error { return f.join(id, base) }, "InvalidInstanceId.AlreadyExists", 403},
		{"vpc instance, classic group", func() error { return f.join(id, classic) }, "InvalidInstanceId.Mismatch", 400},
		{"classic instance, vpc group", func() error { return f.join(cid, base) }, "InvalidInstanceId.Mismatch", 400},
		{"not a member", func() error { return f.leave(cid, other) }, "InstanceNotInSecurityGroup", 403},
		{"last group", func() error { return f.leave(cid, classic) }, "InstanceLastSecurityGroup", 403},
		{"unknown instance", func() error { return f.join("i-bp1nobody00000000000", base) }, "InvalidInstanceId.NotFound", 404},
		{"malformed instance", func() error { return f.join("web-01", base) }, "InvalidInstanceId.Malformed", 400},
		{"unknown group", func() error { return f.join(id, "sg-bp1nothing0000000000") }, "InvalidSecurityGroupId.NotFound", 404},
		{"malformed group", func() error { return f.join(id, "group-1") }, "InvalidSecurityGroupId.Malformed", 400},
		{"both ids", func() error {
			req := ecs.CreateJoinSecurityGroupRequest()
			req.InstanceId, req.NetworkInterfaceId, req.SecurityGroupId = id, "eni-bp1x", base
			_, err := f.client.JoinSecurityGroup(req)
			return err
		}, "InvalidParam.EniIdAndInstanceId.Conflict", 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantCode(t, tc.op(), tc.code, tc.status) })
	}
	// Classic instances may join other classic groups, and leave again.
	mustOK(t, f.join(cid, other))
	mustOK(t, f.leave(cid, classic))
	if got := f.instance(t, cid).SecurityGroupIds.SecurityGroupId; !cmp.Equal(got, []string{other}) {
		t.Fatalf("classic groups %v", got)
	}
	// A stopped instance may change groups; a stopping one may not.
	stop := ecs.CreateStopInstanceRequest()
	stop.InstanceId = id
	_, err := f.client.StopInstance(stop)
	mustOK(t, err)
	wantCode(t, f.leave(id, extra[0]), "IncorrectInstanceStatus", 403)
	f.env.Clock.Advance(time.Minute)
	mustOK(t, f.leave(id, extra[0]))
}

func TestJoin_PerInstanceLimitOverrideAndOption(t *testing.T) {
	f := newFixture(t, ecsemu.Options{GroupsPerInstance: 2})
	vpc := f.svc.DefaultVPCID()
	a, b, c := f.createGroup(t, vpc, "ga"), f.createGroup(t, vpc, "gb"), f.createGroup(t, vpc, "gc")
	id := f.runRunning(t, f.svc.DefaultVSwitchID(), 1, a)[0]
	mustOK(t, f.join(id, b))
	wantCode(t, f.join(id, c), "InstanceSecurityGroupLimitExceeded", 400)

	snap := f.svc.Snapshot()
	for i := range snap.Instances {
		snap.Instances[i].GroupLimit = 3
	}
	mustOK(t, f.svc.Seed(snap.Seed))
	mustOK(t, f.join(id, c))
}

func TestJoin_ConcurrentCalls(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	vpc := f.svc.DefaultVPCID()
	base := f.createGroup(t, vpc, "base")
	groups := []string{}
	for i := 0; i < 8; i++ {
		groups = append(groups, f.createGroup(t, vpc, fmt.Sprintf("g%d", i)))
	}
	ids := f.runRunning(t, f.svc.DefaultVSwitchID(), 6, base)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, limited := 0, 0
	// One SDK client per goroutine: sdk.Client mutates its HTTP timeout on
	// every call and is itself racy when shared.
	for _, id := range ids {
		for _, g := range groups {
			wg.Add(1)
			client := MustClient(t, f.srv)
			go func() {
				defer wg.Done()
				req := ecs.CreateJoinSecurityGroupRequest()
				req.InstanceId, req.SecurityGroupId = id, g
				_, err := client.JoinSecurityGroup(req)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					ok++
					return
				}
				limited++
				wantCode(t, err, "InstanceSecurityGroupLimitExceeded", 400)
			}()
		}
	}
	wg.Wait()
	if ok != 6*4 || limited != 6*4 {
		t.Fatalf("ok %d limited %d, want 24 each", ok, limited)
	}
	for _, in := range f.svc.Snapshot().Instances {
		if len(in.SecurityGroupIDs) != 5 {
			t.Fatalf("%s in %d groups", in.ID, len(in.SecurityGroupIDs))
		}
	}
}

func TestDeleteSecurityGroup_Dependencies(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	vpc := f.svc.DefaultVPCID()
	target, referrer, self, eniGroup := f.createGroup(t, vpc, "target"), f.createGroup(t, vpc, "referrer"),
		f.createGroup(t, vpc, "self"), f.createGroup(t, vpc, "eni-only")
	auth := func(g, src string) {
		req := ecs.CreateAuthorizeSecurityGroupRequest()
		req.SecurityGroupId, req.SourceGroupId, req.IpProtocol, req.PortRange = g, src, "tcp", "443/443"
		_, err := f.client.AuthorizeSecurityGroup(req)
		mustOK(t, err)
	}
	auth(referrer, target)
	auth(self, self)
	id := f.runRunning(t, f.svc.DefaultVSwitchID(), 1, target)[0]
	eni := ecs.CreateCreateNetworkInterfaceRequest()
	eni.VSwitchId, eni.SecurityGroupId = f.svc.DefaultVSwitchID(), eniGroup
	eniResp, err := f.client.CreateNetworkInterface(eni)
	mustOK(t, err)

	del := func(id string) error {
		req := ecs.CreateDeleteSecurityGroupRequest()
		req.SecurityGroupId = id
		_, err := f.client.DeleteSecurityGroup(req)
		return err
	}
	se := wantCode(t, del(target), "DependencyViolation", 403)
	if se.Message() != "There is still instance(s) in the specified security group." {
		t.Fatalf("message %q", se.Message())
	}
	se = wantCode(t, del(eniGroup), "DependencyViolation", 403)
	if se.Message() != "There is still network interface(s) in the specified security group." {
		t.Fatalf("message %q", se.Message())
	}
	dr := ecs.CreateDeleteInstanceRequest()
	dr.InstanceId, dr.Force = id, requests.NewBoolean(true)
	_, err = f.client.DeleteInstance(dr)
	mustOK(t, err)
	se = wantCode(t, del(target), "DependencyViolation", 403)
	if se.Message() != "The specified security group has been authorized in another one." {
		t.Fatalf("message %q", se.Message())
	}

	refs := ecs.CreateDescribeSecurityGroupReferencesRequest()
	refs.SecurityGroupId = &[]string{target, self}
	rr, err := f.client.DescribeSecurityGroupReferences(refs)
	mustOK(t, err)
	got := map[string][]string{}
	for _, r := range rr.SecurityGroupReferences.SecurityGroupReference {
		got[r.SecurityGroupId] = []string{}
		for _, x := range r.ReferencingSecurityGroups.ReferencingSecurityGroup {
			if x.AliUid != testAccount {
				t.Fatalf("AliUid %q", x.AliUid)
			}
			got[r.SecurityGroupId] = append(got[r.SecurityGroupId], x.SecurityGroupId)
		}
	}
	if diff := cmp.Diff(map[string][]string{target: {referrer}, self: {}}, got); diff != "" {
		t.Fatalf("references (-want +got):\n%s", diff)
	}
	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = target
	}
	refs.SecurityGroupId = &eleven
	_, err = f.client.DescribeSecurityGroupReferences(refs)
	wantCode(t, err, "InvalidSecurityGroupId.Malformed", 400)

	mustOK(t, del(self)) // self-references do not block
	mustOK(t, del(referrer))
	mustOK(t, del(target))
	wantCode(t, del(target), "InvalidSecurityGroupId.NotFound", 404)
	dn := ecs.CreateDeleteNetworkInterfaceRequest()
	dn.NetworkInterfaceId = eniResp.NetworkInterfaceId
	_, err = f.client.DeleteNetworkInterface(dn)
	mustOK(t, err)
	mustOK(t, del(eniGroup))
}

func TestSeededFlags_ManagedAndProtected(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	mustOK(t, f.svc.LoadSeed("testdata/seed-example.json"))
	del := func(id string) error {
		req := ecs.CreateDeleteSecurityGroupRequest()
		req.SecurityGroupId = id
		_, err := f.client.DeleteSecurityGroup(req)
		return err
	}
	wantCode(t, del("sg-bp1ackmanaged000001"), "InvalidOperation.ResourceManagedByCloudProduct", 403)
	wantCode(t, del("sg-bp1protected0000001"), "InvalidOperation.DeletionProtection", 403)
	wantCode(t, f.join("i-bp1web0000000000001", "sg-bp1ackmanaged000001"), "InvalidOperation.ResourceManagedByCloudProduct", 403)
	req := ecs.CreateAuthorizeSecurityGroupRequest()
	req.SecurityGroupId, req.IpProtocol, req.PortRange, req.SourceCidrIp = "sg-bp1ackmanaged000001", "tcp", "22/22", "10.0.0.0/8"
	_, err := f.client.AuthorizeSecurityGroup(req)
	wantCode(t, err, "InvalidOperation.ResourceManagedByCloudProduct", 403)

	d := ecs.CreateDescribeSecurityGroupsRequest()
	d.ServiceManaged = requests.NewBoolean(true)
	resp, err := f.client.DescribeSecurityGroups(d)
	mustOK(t, err)
	if len(resp.SecurityGroups.SecurityGroup) != 1 || !resp.SecurityGroups.SecurityGroup[0].ServiceManaged {
		t.Fatalf("managed filter: %+v", resp.SecurityGroups.SecurityGroup)
	}
}
