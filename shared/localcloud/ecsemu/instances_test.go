package ecsemu_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
)

func TestDescribeRegions(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	resp, err := f.client.DescribeRegions(ecs.CreateDescribeRegionsRequest())
	mustOK(t, err)
	if len(resp.Regions.Region) < 3 || resp.Regions.Region[0].RegionId != "cn-hangzhou" ||
		resp.Regions.Region[0].RegionEndpoint != "ecs.cn-hangzhou.aliyuncs.com" {
		t.Fatalf("regions %+v", resp.Regions.Region)
	}
}

func TestRunInstances_LifecycleAndEvents(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	f.env.Clock.Freeze()
	sg := f.createGroup(t, f.svc.DefaultVPCID(), "web")
	req := ecs.CreateRunInstancesRequest()
	req.ImageId, req.InstanceType, req.VSwitchId = "img", "ecs.g7.large", f.svc.DefaultVSwitchID()
	req.SecurityGroupId = sg
	req.Amount = requests.NewInteger(2)
	req.InstanceName = "web-"
	req.UniqueSuffix = requests.NewBoolean(true)
	req.Tag = &[]ecs.RunInstancesTag{{Key: "role", Value: "web"}}
	resp, err := f.client.RunInstances(req)
	mustOK(t, err)
	ids := resp.InstanceIdSets.InstanceIdSet
	if len(ids) != 2 {
		t.Fatalf("ids %v", ids)
	}
	in := f.instance(t, ids[0])
	if in.Status != "Pending" || in.InstanceNetworkType != "vpc" || in.VpcAttributes.VpcId != f.svc.DefaultVPCID() ||
		in.InstanceName != "web-001" || len(in.VpcAttributes.PrivateIpAddress.IpAddress) != 1 ||
		in.ZoneId != "cn-hangzhou-h" || len(in.Tags.Tag) != 1 || in.Tags.Tag[0].TagKey != "role" ||
		len(in.NetworkInterfaces.NetworkInterface) != 1 || in.NetworkInterfaces.NetworkInterface[0].Type != "Primary" {
		t.Fatalf("instance %+v", in)
	}
	if _, err := time.Parse("2006-01-02T15:04Z", in.CreationTime); err != nil {
		t.Fatalf("CreationTime %q: %v", in.CreationTime, err)
	}
	err = f.join(ids[0], f.createGroup(t, f.svc.DefaultVPCID(), "other"))
	wantCode(t, err, "Forbidden.InstanceIsBeingCreated", 403)

	f.env.Clock.Advance(ecsemu.DefaultPendingDuration)
	f.svc.Tick()
	if st := f.instance(t, ids[0]).Status; st != "Starting" {
		t.Fatalf("after pending: %s", st)
	}
	err = f.join(ids[0], sg)
	wantCode(t, err, "IncorrectInstanceStatus", 403)
	f.env.Clock.Advance(ecsemu.DefaultStartingDuration)
	// The lifecycle goroutine reacts to the clock jump without a request.
	waitFor(t, func() bool { return len(f.eventsOf("ecs:Instance:StateChange")) == 6 })
	if st := f.instance(t, ids[0]).Status; st != "Running" {
		t.Fatalf("after starting: %s", st)
	}

	var states []string
	for _, ev := range f.eventsOf("ecs:Instance:StateChange") {
		var d struct{ ResourceID, ResourceType, RegionID, State string }
		mustOK(t, json.Unmarshal(ev.Data, &d))
		if ev.Source != "acs.ecs" || ev.SpecVersion != "1.0" || ev.AliyunEventBusName != "default" ||
			ev.AliyunAccountID != testAccount || ev.AliyunRegionID != region || d.ResourceType != "ALIYUN::ECS::Instance" ||
			ev.Subject != "acs.ecs:cn-hangzhou:"+testAccount+":"+d.ResourceID {
			t.Fatalf("event %+v data %+v", ev, d)
		}
		if d.ResourceID == ids[0] {
			states = append(states, d.State)
		}
	}
	if diff := cmp.Diff([]string{"Created", "Starting", "Running"}, states); diff != "" {
		t.Fatalf("states (-want +got):\n%s", diff)
	}

	trail := f.eventsOf("ecs:ActionTrail:ApiCall")
	if len(trail) != 1 {
		t.Fatalf("%d ApiCall events", len(trail))
	}
	var td struct {
		EventName         string            `json:"eventName"`
		RequestParameters map[string]string `json:"requestParameters"`
		ResponseElements  struct {
			InstanceIDSets struct {
				InstanceIDSet []string `json:"InstanceIdSet"`
			} `json:"InstanceIdSets"`
		} `json:"responseElements"`
	}
	mustOK(t, json.Unmarshal(trail[0].Data, &td))
	if td.EventName != "RunInstances" || td.RequestParameters["Tag.1.Key"] != "role" ||
		td.RequestParameters["Signature"] != "" || !cmp.Equal(td.ResponseElements.InstanceIDSets.InstanceIDSet, ids) {
		t.Fatalf("trail %+v", td)
	}

	// Stop, start, delete.
	stop := ecs.CreateStopInstanceRequest()
	stop.InstanceId = ids[0]
	_, err = f.client.StopInstance(stop)
	mustOK(t, err)
	_, err = f.client.StopInstance(stop)
	wantCode(t, err, "IncorrectInstanceStatus", 403)
	del := ecs.CreateDeleteInstanceRequest()
	del.InstanceId = ids[0]
	_, err = f.client.DeleteInstance(del)
	wantCode(t, err, "IncorrectInstanceStatus", 403)
	f.env.Clock.Advance(ecsemu.DefaultStoppingDuration)
	if st := f.instance(t, ids[0]).Status; st != "Stopped" {
		t.Fatalf("after stopping: %s", st)
	}
	start := ecs.CreateStartInstanceRequest()
	start.InstanceId = ids[0]
	_, err = f.client.StartInstance(start)
	mustOK(t, err)
	f.env.Clock.Advance(ecsemu.DefaultStartingDuration)
	if st := f.instance(t, ids[0]).Status; st != "Running" {
		t.Fatalf("after restart: %s", st)
	}
	_, err = f.client.DeleteInstance(del)
	wantCode(t, err, "IncorrectInstanceStatus", 403)
	del.Force = requests.NewBoolean(true)
	_, err = f.client.DeleteInstance(del)
	mustOK(t, err)
	_, err = f.client.DeleteInstance(del)
	wantCode(t, err, "InvalidInstanceId.NotFound", 404)

	dels := ecs.CreateDeleteInstancesRequest()
	dels.InstanceId = &[]string{ids[1]}
	dels.Force = requests.NewBoolean(true)
	_, err = f.client.DeleteInstances(dels)
	mustOK(t, err)

	states = nil
	for _, ev := range f.eventsOf("ecs:Instance:StateChange") {
		var d struct{ ResourceID, State string }
		mustOK(t, json.Unmarshal(ev.Data, &d))
		if d.ResourceID == ids[0] {
			states = append(states, d.State)
		}
	}
	want := []string{"Created", "Starting", "Running", "Stopping", "Stopped", "Starting", "Running", "Deleted"}
	if diff := cmp.Diff(want, states); diff != "" {
		t.Fatalf("states (-want +got):\n%s", diff)
	}
	// The group no longer has members and can go.
	dsg := ecs.CreateDeleteSecurityGroupRequest()
	dsg.SecurityGroupId = sg
	_, err = f.client.DeleteSecurityGroup(dsg)
	mustOK(t, err)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRunInstances_Errors(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	vpcSG := f.createGroup(t, f.svc.DefaultVPCID(), "vpc-group")
	classicSG := f.createGroup(t, "", "classic-group")
	many := []string{}
	for i := 0; i < 6; i++ {
		many = append(many, f.createGroup(t, f.svc.DefaultVPCID(), fmt.Sprintf("g%d", i)))
	}
	cases := []struct {
		name   string
		mod    func(r *ecs.RunInstancesRequest)
		code   string
		status int
	}{
		{"classic group in VPC", func(r *ecs.RunInstancesRequest) { r.SecurityGroupId = classicSG }, "InvalidSecurityGroupId.VPCMismatch", 400},
		{"VPC group on classic", func(r *ecs.RunInstancesRequest) { r.VSwitchId = ""; r.SecurityGroupId = vpcSG }, "InvalidSecurityGroupId.VPCMismatch", 400},
		{"too many groups", func(r *ecs.RunInstancesRequest) { r.SecurityGroupIds = &many }, "InstanceSecurityGroupLimitExceeded", 400},
		{"unknown group", func(r *ecs.RunInstancesRequest) { r.SecurityGroupId = "sg-bp1doesnotexist00000" }, "InvalidSecurityGroupId.NotFound", 404},
		{"unknown vswitch", func(r *ecs.RunInstancesRequest) { r.VSwitchId = "vsw-bp1nope"; r.SecurityGroupId = vpcSG }, "InvalidVSwitchId.NotFound", 404},
		{"no group", func(r *ecs.RunInstancesRequest) {}, "MissingParameter", 400},
		{"no image", func(r *ecs.RunInstancesRequest) { r.ImageId = ""; r.SecurityGroupId = vpcSG }, "MissingParameter", 400},
		{"bad amount", func(r *ecs.RunInstancesRequest) { r.SecurityGroupId = vpcSG; r.Amount = requests.NewInteger(101) }, "InvalidParameter.Amount", 400},
		{"dry run", func(r *ecs.RunInstancesRequest) { r.SecurityGroupId = vpcSG; r.DryRun = requests.NewBoolean(true) }, "DryRunOperation", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := ecs.CreateRunInstancesRequest()
			req.ImageId, req.InstanceType, req.VSwitchId = "img", "ecs.g7.large", f.svc.DefaultVSwitchID()
			tc.mod(req)
			_, err := f.client.RunInstances(req)
			wantCode(t, err, tc.code, tc.status)
		})
	}
	// Classic launch works with a classic group.
	ids := f.run(t, "", 1, classicSG)
	if in := f.instance(t, ids[0]); in.InstanceNetworkType != "classic" || len(in.InnerIpAddress.IpAddress) != 1 {
		t.Fatalf("classic instance %+v", in)
	}
	if n := len(f.eventsOf("ecs:ActionTrail:ApiCall")); n != 1 {
		t.Fatalf("failed RunInstances calls published trail events: %d", n)
	}
	// ClientToken makes RunInstances idempotent.
	req := ecs.CreateRunInstancesRequest()
	req.ImageId, req.InstanceType, req.VSwitchId, req.SecurityGroupId = "img", "t", f.svc.DefaultVSwitchID(), vpcSG
	req.ClientToken = "once"
	a, err := f.client.RunInstances(req)
	mustOK(t, err)
	b, err := f.client.RunInstances(req)
	mustOK(t, err)
	if !cmp.Equal(a.InstanceIdSets, b.InstanceIdSets) {
		t.Fatalf("client token: %v vs %v", a.InstanceIdSets, b.InstanceIdSets)
	}
}

func TestDescribeInstances_FiltersAndPaging(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	web := f.createGroup(t, f.svc.DefaultVPCID(), "web")
	db := f.createGroup(t, f.svc.DefaultVPCID(), "db")
	classic := f.createGroup(t, "", "old")
	webIDs := f.runRunning(t, f.svc.DefaultVSwitchID(), 12, web)
	dbIDs := f.runRunning(t, f.svc.DefaultVSwitchID(), 3, db)
	f.runRunning(t, "", 2, classic)
	tag := ecs.CreateTagResourcesRequest()
	tag.ResourceType = "instance"
	tag.ResourceId = &[]string{dbIDs[0], dbIDs[1]}
	tag.Tag = &[]ecs.TagResourcesTag{{Key: "role", Value: "db"}, {Key: "env", Value: "prod"}}
	_, err := f.client.TagResources(tag)
	mustOK(t, err)

	count := func(mod func(r *ecs.DescribeInstancesRequest)) int {
		t.Helper()
		req := ecs.CreateDescribeInstancesRequest()
		req.MaxResults = requests.NewInteger(100)
		mod(req)
		resp, err := f.client.DescribeInstances(req)
		mustOK(t, err)
		return len(resp.Instances.Instance)
	}
	cases := []struct {
		name string
		mod  func(r *ecs.DescribeInstancesRequest)
		want int
	}{
		{"all", func(r *ecs.DescribeInstancesRequest) {}, 17},
		{"by group", func(r *ecs.DescribeInstancesRequest) { r.SecurityGroupId = db }, 3},
		{"by vpc", func(r *ecs.DescribeInstancesRequest) { r.VpcId = f.svc.DefaultVPCID() }, 15},
		{"classic", func(r *ecs.DescribeInstancesRequest) { r.InstanceNetworkType = "classic" }, 2},
		{"running", func(r *ecs.DescribeInstancesRequest) { r.Status = "Running" }, 17},
		{"stopped", func(r *ecs.DescribeInstancesRequest) { r.Status = "Stopped" }, 0},
		{"tag pair", func(r *ecs.DescribeInstancesRequest) {
			r.Tag = &[]ecs.DescribeInstancesTag{{Key: "role", Value: "db"}}
		}, 2},
		{"tags ANDed", func(r *ecs.DescribeInstancesRequest) {
			r.Tag = &[]ecs.DescribeInstancesTag{{Key: "role", Value: "db"}, {Key: "env", Value: "dev"}}
		}, 0},
		{"tag key only", func(r *ecs.DescribeInstancesRequest) { r.Tag = &[]ecs.DescribeInstancesTag{{Key: "env"}} }, 2},
		{"ids with unknown", func(r *ecs.DescribeInstancesRequest) {
			r.InstanceIds = `["` + webIDs[0] + `","i-bp1unknown000000000"]`
		}, 1},
		{"empty ids", func(r *ecs.DescribeInstancesRequest) { r.InstanceIds = `[]` }, 0},
		{"name wildcard", func(r *ecs.DescribeInstancesRequest) { r.InstanceName = "i-*" }, 17},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := count(tc.mod); got != tc.want {
				t.Fatalf("got %d, want %d", got, tc.want)
			}
		})
	}

	// Token paging visits every instance once.
	seen := map[string]bool{}
	token := ""
	for pages := 0; ; pages++ {
		req := ecs.CreateDescribeInstancesRequest()
		req.MaxResults = requests.NewInteger(5)
		req.NextToken = token
		resp, err := f.client.DescribeInstances(req)
		mustOK(t, err)
		for _, in := range resp.Instances.Instance {
			if seen[in.InstanceId] {
				t.Fatalf("instance %s twice", in.InstanceId)
			}
			seen[in.InstanceId] = true
		}
		if token = resp.NextToken; token == "" {
			break
		}
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 17 {
		t.Fatalf("token paging saw %d", len(seen))
	}
	// Page paging reports TotalCount.
	req := ecs.CreateDescribeInstancesRequest()
	req.PageNumber, req.PageSize = requests.NewInteger(2), requests.NewInteger(10)
	resp, err := f.client.DescribeInstances(req)
	mustOK(t, err)
	if resp.TotalCount != 17 || len(resp.Instances.Instance) != 7 || resp.PageNumber != 2 {
		t.Fatalf("page 2: total %d, %d items, page %d", resp.TotalCount, len(resp.Instances.Instance), resp.PageNumber)
	}

	errs := []struct {
		name   string
		mod    func(r *ecs.DescribeInstancesRequest)
		code   string
		status int
	}{
		{"bad token", func(r *ecs.DescribeInstancesRequest) { r.NextToken = "garbage" }, "InValidParameter.NextToken", 400},
		{"too many results", func(r *ecs.DescribeInstancesRequest) { r.MaxResults = requests.NewInteger(101) }, "InvalidParameter", 400},
		{"page size", func(r *ecs.DescribeInstancesRequest) { r.PageSize = requests.NewInteger(101) }, "InvalidParameter", 400},
		{"bad status", func(r *ecs.DescribeInstancesRequest) { r.Status = "Sleeping" }, "InvalidStatus.NotFound", 404},
		{"bad network", func(r *ecs.DescribeInstancesRequest) { r.InstanceNetworkType = "mesh" }, "InvalidNetworkType.NotFound", 404},
		{"value without key", func(r *ecs.DescribeInstancesRequest) { r.Tag = &[]ecs.DescribeInstancesTag{{Value: "x"}} }, "InvalidTag.Mismatch", 400},
		{"ids not json", func(r *ecs.DescribeInstancesRequest) { r.InstanceIds = "i-1,i-2" }, "InvalidInstanceIds.Malformed", 400},
		{"too many ids", func(r *ecs.DescribeInstancesRequest) {
			ids := make([]string, 101)
			for i := range ids {
				ids[i] = fmt.Sprintf("i-bp1x%03d", i)
			}
			b, _ := json.Marshal(ids)
			r.InstanceIds = string(b)
		}, "InvalidInstanceIds.ValueNotSupported", 400},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			req := ecs.CreateDescribeInstancesRequest()
			tc.mod(req)
			_, err := f.client.DescribeInstances(req)
			wantCode(t, err, tc.code, tc.status)
		})
	}
}

func TestModifyInstanceAttribute_ReplacesGroups(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	vpc := f.svc.DefaultVPCID()
	a, b, c := f.createGroup(t, vpc, "ga"), f.createGroup(t, vpc, "gb"), f.createGroup(t, vpc, "gc")
	id := f.runRunning(t, f.svc.DefaultVSwitchID(), 1, a, b)[0]

	req := ecs.CreateModifyInstanceAttributeRequest()
	req.InstanceId = id
	req.SecurityGroupIds = &[]string{b, c}
	req.InstanceName = "renamed"
	_, err := f.client.ModifyInstanceAttribute(req)
	mustOK(t, err)
	in := f.instance(t, id)
	if !cmp.Equal(in.SecurityGroupIds.SecurityGroupId, []string{b, c}) || in.InstanceName != "renamed" {
		t.Fatalf("after modify: %v %s", in.SecurityGroupIds.SecurityGroupId, in.InstanceName)
	}
	dsg := ecs.CreateDeleteSecurityGroupRequest()
	dsg.SecurityGroupId = a
	_, err = f.client.DeleteSecurityGroup(dsg)
	mustOK(t, err)

	classic := f.createGroup(t, "", "classic")
	six := []string{b, c}
	for i := 0; i < 4; i++ {
		six = append(six, f.createGroup(t, vpc, fmt.Sprintf("x%d", i)))
	}
	cases := []struct {
		name   string
		ids    []string
		code   string
		status int
	}{
		{"too many", six, "InstanceSecurityGroupLimitExceeded", 400},
		{"vpc mismatch", []string{b, classic}, "InvalidInstanceId.Mismatch", 400},
		{"unknown", []string{"sg-bp1nothere0000000000"}, "InvalidSecurityGroupId.NotFound", 404},
		{"duplicates", []string{b, b}, "InvalidParameter", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := ecs.CreateModifyInstanceAttributeRequest()
			req.InstanceId = id
			req.SecurityGroupIds = &tc.ids
			_, err := f.client.ModifyInstanceAttribute(req)
			wantCode(t, err, tc.code, tc.status)
		})
	}
	cid := f.runRunning(t, "", 1, classic)[0]
	req = ecs.CreateModifyInstanceAttributeRequest()
	req.InstanceId = cid
	req.SecurityGroupIds = &[]string{classic}
	_, err = f.client.ModifyInstanceAttribute(req)
	wantCode(t, err, "InvalidParameter.SecurityGroupIds", 400)
}
