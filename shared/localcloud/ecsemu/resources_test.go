package ecsemu_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
)

func TestNetworkInterfaces(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	vpc, vsw := f.svc.DefaultVPCID(), f.svc.DefaultVSwitchID()
	a, b := f.createGroup(t, vpc, "ga"), f.createGroup(t, vpc, "gb")
	id := f.runRunning(t, vsw, 1, a)[0]

	cr := ecs.CreateCreateNetworkInterfaceRequest()
	cr.VSwitchId, cr.SecurityGroupIds = vsw, &[]string{b}
	cr.NetworkInterfaceName = "extra"
	cr.Tag = &[]ecs.CreateNetworkInterfaceTag{{Key: "k", Value: "v"}}
	created, err := f.client.CreateNetworkInterface(cr)
	mustOK(t, err)
	if created.Status != "Available" || created.Type != "Secondary" || created.VpcId != vpc ||
		!cmp.Equal(created.SecurityGroupIds.SecurityGroupId, []string{b}) {
		t.Fatalf("created %+v", created)
	}
	eni := created.NetworkInterfaceId

	at := ecs.CreateAttachNetworkInterfaceRequest()
	at.InstanceId, at.NetworkInterfaceId = id, eni
	_, err = f.client.AttachNetworkInterface(at)
	mustOK(t, err)
	_, err = f.client.AttachNetworkInterface(at)
	wantCode(t, err, "InvalidOperation.InvalidEniState", 403)

	list := func(mod func(r *ecs.DescribeNetworkInterfacesRequest)) []ecs.NetworkInterfaceSet {
		req := ecs.CreateDescribeNetworkInterfacesRequest()
		mod(req)
		resp, err := f.client.DescribeNetworkInterfaces(req)
		mustOK(t, err)
		return resp.NetworkInterfaceSets.NetworkInterfaceSet
	}
	byGroup := list(func(r *ecs.DescribeNetworkInterfacesRequest) { r.SecurityGroupId = b })
	if len(byGroup) != 1 || byGroup[0].NetworkInterfaceId != eni || byGroup[0].InstanceId != id || byGroup[0].Status != "InUse" {
		t.Fatalf("by group b: %+v", byGroup)
	}
	primary := list(func(r *ecs.DescribeNetworkInterfacesRequest) { r.SecurityGroupId = a })
	if len(primary) != 1 || primary[0].Type != "Primary" || primary[0].InstanceId != id {
		t.Fatalf("by group a: %+v", primary)
	}
	if got := list(func(r *ecs.DescribeNetworkInterfacesRequest) { r.InstanceId = id }); len(got) != 2 {
		t.Fatalf("by instance: %d", len(got))
	}
	if got := list(func(r *ecs.DescribeNetworkInterfacesRequest) {
		r.Tag = &[]ecs.DescribeNetworkInterfacesTag{{Key: "k", Value: "v"}}
	}); len(got) != 1 {
		t.Fatalf("by tag: %d", len(got))
	}
	if in := f.instance(t, id); len(in.NetworkInterfaces.NetworkInterface) != 2 {
		t.Fatalf("instance NICs %+v", in.NetworkInterfaces)
	}

	// Join/Leave by ENI: a secondary ENI has its own groups, the primary
	// ENI stands for the instance.
	joinENI := func(eniID, sg string) error {
		req := ecs.CreateJoinSecurityGroupRequest()
		req.NetworkInterfaceId, req.SecurityGroupId = eniID, sg
		_, err := f.client.JoinSecurityGroup(req)
		return err
	}
	leaveENI := func(eniID, sg string) error {
		req := ecs.CreateLeaveSecurityGroupRequest()
		req.NetworkInterfaceId, req.SecurityGroupId = eniID, sg
		_, err := f.client.LeaveSecurityGroup(req)
		return err
	}
	mustOK(t, joinENI(eni, a))
	wantCode(t, joinENI(eni, a), "InvalidInstanceId.AlreadyExists", 403)
	mustOK(t, leaveENI(eni, b))
	wantCode(t, leaveENI(eni, a), "InstanceLastSecurityGroup", 403)
	wantCode(t, leaveENI(eni, b), "InstanceNotInSecurityGroup", 403)
	mustOK(t, joinENI(primary[0].NetworkInterfaceId, b))
	if got := f.instance(t, id).SecurityGroupIds.SecurityGroupId; !cmp.Equal(got, []string{a, b}) {
		t.Fatalf("primary ENI join: %v", got)
	}
	wantCode(t, joinENI("eni-bp1none00000000000", a), "InvalidEniId.NotFound", 404)
	wantCode(t, joinENI("nic-1", a), "InvalidEniId.Malformed", 400)

	del := ecs.CreateDeleteNetworkInterfaceRequest()
	del.NetworkInterfaceId = eni
	_, err = f.client.DeleteNetworkInterface(del)
	wantCode(t, err, "InvalidOperation.InvalidEniState", 403)
	dt := ecs.CreateDetachNetworkInterfaceRequest()
	dt.InstanceId, dt.NetworkInterfaceId = id, eni
	_, err = f.client.DetachNetworkInterface(dt)
	mustOK(t, err)
	_, err = f.client.DeleteNetworkInterface(del)
	mustOK(t, err)

	classic := f.createGroup(t, "", "classic")
	cr = ecs.CreateCreateNetworkInterfaceRequest()
	cr.VSwitchId, cr.SecurityGroupId = vsw, classic
	_, err = f.client.CreateNetworkInterface(cr)
	wantCode(t, err, "InvalidOperation.VpcMismatch", 403)
}

func TestTags_ListAndUntag(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	vpc := f.svc.DefaultVPCID()
	var groups []string
	for i := 0; i < 30; i++ {
		groups = append(groups, f.createGroup(t, vpc, "grp"+string(rune('a'+i%26))+string(rune('a'+i/26))))
	}
	tag := func(ids []string, tags ...ecs.TagResourcesTag) {
		req := ecs.CreateTagResourcesRequest()
		req.ResourceType, req.ResourceId, req.Tag = "securitygroup", &ids, &tags
		_, err := f.client.TagResources(req)
		mustOK(t, err)
	}
	tag(groups, ecs.TagResourcesTag{Key: "managed-by", Value: "sgpilot"}, ecs.TagResourcesTag{Key: "sg-role", Value: "web"})
	tag(groups[:1], ecs.TagResourcesTag{Key: "sg-role", Value: "db"}) // overwrite

	list := func(mod func(r *ecs.ListTagResourcesRequest)) []ecs.TagResource {
		var rows []ecs.TagResource
		token := ""
		for {
			req := ecs.CreateListTagResourcesRequest()
			req.ResourceType, req.NextToken = "securitygroup", token
			mod(req)
			resp, err := f.client.ListTagResources(req)
			mustOK(t, err)
			if len(resp.TagResources.TagResource) > ecsemu.TagPageSize {
				t.Fatalf("page of %d rows", len(resp.TagResources.TagResource))
			}
			rows = append(rows, resp.TagResources.TagResource...)
			if token = resp.NextToken; token == "" {
				return rows
			}
		}
	}
	all := list(func(r *ecs.ListTagResourcesRequest) {
		r.Tag = &[]ecs.ListTagResourcesTag{{Key: "managed-by", Value: "sgpilot"}}
	})
	if len(all) != 60 {
		t.Fatalf("rows %d, want 60", len(all))
	}
	seen := map[string]bool{}
	for _, r := range all {
		k := r.ResourceId + "/" + r.TagKey
		if seen[k] || r.ResourceType != "securitygroup" {
			t.Fatalf("row %+v repeated or wrong type", r)
		}
		seen[k] = true
	}
	db := list(func(r *ecs.ListTagResourcesRequest) {
		r.Tag = &[]ecs.ListTagResourcesTag{{Key: "sg-role", Value: "db"}}
	})
	if len(db) != 2 || db[0].ResourceId != groups[0] {
		t.Fatalf("db rows %+v", db)
	}
	byID := list(func(r *ecs.ListTagResourcesRequest) { r.ResourceId = &[]string{groups[1], "sg-bp1unknown00000000"} })
	if len(byID) != 2 {
		t.Fatalf("by id rows %+v", byID)
	}
	fuzzy := list(func(r *ecs.ListTagResourcesRequest) {
		r.TagFilter = &[]ecs.ListTagResourcesTagFilter{{TagKey: "sg-role", TagValues: &[]string{"d*"}}}
	})
	if len(fuzzy) != 2 {
		t.Fatalf("fuzzy rows %+v", fuzzy)
	}

	un := ecs.CreateUntagResourcesRequest()
	un.ResourceType, un.ResourceId, un.TagKey = "securitygroup", &[]string{groups[0]}, &[]string{"sg-role"}
	_, err := f.client.UntagResources(un)
	mustOK(t, err)
	if got := list(func(r *ecs.ListTagResourcesRequest) { r.ResourceId = &[]string{groups[0]} }); len(got) != 1 {
		t.Fatalf("after untag: %+v", got)
	}
	un.TagKey, un.All = nil, requests.NewBoolean(true)
	_, err = f.client.UntagResources(un)
	mustOK(t, err)
	if got := list(func(r *ecs.ListTagResourcesRequest) { r.ResourceId = &[]string{groups[0]} }); len(got) != 0 {
		t.Fatalf("after untag all: %+v", got)
	}

	cases := []struct {
		name   string
		call   func() error
		code   string
		status int
	}{
		{"unknown type", func() error {
			req := ecs.CreateListTagResourcesRequest()
			req.ResourceType, req.ResourceId = "bucket", &[]string{"x"}
			_, err := f.client.ListTagResources(req)
			return err
		}, "InvalidResourceType.NotFound", 404},
		{"no filter", func() error {
			req := ecs.CreateListTagResourcesRequest()
			req.ResourceType = "instance"
			_, err := f.client.ListTagResources(req)
			return err
		}, "MissingParameter", 400},
		{"bad token", func() error {
			req := ecs.CreateListTagResourcesRequest()
			req.ResourceType, req.ResourceId, req.NextToken = "securitygroup", &[]string{groups[0]}, "zzz"
			_, err := f.client.ListTagResources(req)
			return err
		}, "InValidParameter.NextToken", 400},
		{"tag unknown resource", func() error {
			req := ecs.CreateTagResourcesRequest()
			req.ResourceType, req.ResourceId = "instance", &[]string{"i-bp1nobody0000000000"}
			req.Tag = &[]ecs.TagResourcesTag{{Key: "a", Value: "b"}}
			_, err := f.client.TagResources(req)
			return err
		}, "InvalidResourceId.NotFound", 404},
		{"too many tags on a resource", func() error {
			tags := []ecs.TagResourcesTag{}
			for i := 0; i < 19; i++ {
				tags = append(tags, ecs.TagResourcesTag{Key: "k" + string(rune('a'+i)), Value: "v"})
			}
			req := ecs.CreateTagResourcesRequest()
			req.ResourceType, req.ResourceId, req.Tag = "securitygroup", &[]string{groups[1]}, &tags
			_, err := f.client.TagResources(req)
			return err
		}, "OperationDenied.QuotaExceed", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantCode(t, tc.call(), tc.code, tc.status) })
	}
}

func TestLaunchTemplates(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	mustOK(t, f.svc.LoadSeed("testdata/seed-example.json"))

	lt, err := f.client.DescribeLaunchTemplates(ecs.CreateDescribeLaunchTemplatesRequest())
	mustOK(t, err)
	if len(lt.LaunchTemplateSets.LaunchTemplateSet) != 1 {
		t.Fatalf("templates %+v", lt)
	}
	tpl := lt.LaunchTemplateSets.LaunchTemplateSet[0]
	if tpl.LaunchTemplateName != "web-template" || tpl.DefaultVersionNumber != 1 || tpl.LatestVersionNumber != 2 {
		t.Fatalf("template %+v", tpl)
	}
	vr := ecs.CreateDescribeLaunchTemplateVersionsRequest()
	vr.LaunchTemplateId = tpl.LaunchTemplateId
	versions, err := f.client.DescribeLaunchTemplateVersions(vr)
	mustOK(t, err)
	vs := versions.LaunchTemplateVersionSets.LaunchTemplateVersionSet
	if len(vs) != 2 || !vs[0].DefaultVersion || vs[1].DefaultVersion ||
		vs[0].LaunchTemplateData.SecurityGroupId != "sg-bp1default000000001" ||
		!cmp.Equal(vs[1].LaunchTemplateData.SecurityGroupIds.SecurityGroupId, []string{"sg-bp1role0web00000001", "sg-bp1stale0000000001"}) ||
		len(vs[1].LaunchTemplateData.Tags.InstanceTag) != 1 {
		t.Fatalf("versions %+v", vs)
	}
	vr.DefaultVersion = requests.NewBoolean(true)
	versions, err = f.client.DescribeLaunchTemplateVersions(vr)
	mustOK(t, err)
	if vs := versions.LaunchTemplateVersionSets.LaunchTemplateVersionSet; len(vs) != 1 || vs[0].VersionNumber != 1 {
		t.Fatalf("default only: %+v", vs)
	}
	vr = ecs.CreateDescribeLaunchTemplateVersionsRequest()
	vr.LaunchTemplateName = "web-template"
	vr.LaunchTemplateVersion = &[]string{"2"}
	versions, err = f.client.DescribeLaunchTemplateVersions(vr)
	mustOK(t, err)
	if vs := versions.LaunchTemplateVersionSets.LaunchTemplateVersionSet; len(vs) != 1 || vs[0].VersionNumber != 2 {
		t.Fatalf("version 2: %+v", vs)
	}
	vr.LaunchTemplateName = "nope"
	_, err = f.client.DescribeLaunchTemplateVersions(vr)
	wantCode(t, err, "InvalidLaunchTemplate.NotFound", 404)

	// RunInstances from the template's version 2 gets its groups and tags.
	run := ecs.CreateRunInstancesRequest()
	run.LaunchTemplateId, run.LaunchTemplateVersion = tpl.LaunchTemplateId, requests.NewInteger(2)
	resp, err := f.client.RunInstances(run)
	mustOK(t, err)
	in := f.instance(t, resp.InstanceIdSets.InstanceIdSet[0])
	if !cmp.Equal(in.SecurityGroupIds.SecurityGroupId, []string{"sg-bp1role0web00000001", "sg-bp1stale0000000001"}) ||
		len(in.Tags.Tag) != 1 || in.VpcAttributes.VSwitchId != "vsw-bp1main00000000001" {
		t.Fatalf("instance from template %+v", in)
	}
}

func TestSeed_ExampleSnapshotRoundTrip(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	mustOK(t, f.svc.LoadSeed("testdata/seed-example.json"))
	snap := f.svc.Snapshot()
	if len(snap.SecurityGroups) != 7 || len(snap.Instances) != 3 || len(snap.NetworkInterfaces) != 1 ||
		len(snap.LaunchTemplates) != 1 || len(snap.Regions) != 2 {
		t.Fatalf("snapshot sizes: %d groups %d instances %d enis %d templates %d regions", len(snap.SecurityGroups),
			len(snap.Instances), len(snap.NetworkInterfaces), len(snap.LaunchTemplates), len(snap.Regions))
	}
	if f.svc.DefaultVPCID() != "vpc-bp1main00000000001" || f.svc.DefaultVSwitchID() != "vsw-bp1main00000000001" {
		t.Fatalf("defaults %s %s", f.svc.DefaultVPCID(), f.svc.DefaultVSwitchID())
	}
	b, err := json.Marshal(snap)
	mustOK(t, err)
	var back ecsemu.Snapshot
	mustOK(t, json.Unmarshal(b, &back))
	mustOK(t, f.svc.Seed(back.Seed))
	again := f.svc.Snapshot()
	if diff := cmp.Diff(snap.Seed, again.Seed); diff != "" {
		t.Fatalf("round trip (-first +second):\n%s", diff)
	}
	// The seeded state is served: the Pending instance can become Running.
	in := f.instance(t, "i-bp1web0000000000002")
	if in.Status != "Pending" {
		t.Fatalf("seeded pending instance is %s", in.Status)
	}
	wantCode(t, f.join("i-bp1old0000000000001", "sg-bp1classic00000001"), "InvalidInstanceId.AlreadyExists", 403)
}

func TestSeed_Errors(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	before := f.svc.Snapshot()
	vpc := ecsemu.SeedVPC{ID: "vpc-bp1a"}
	vsw := ecsemu.SeedVSwitch{ID: "vsw-bp1a", VpcID: "vpc-bp1a"}
	cases := []struct {
		name string
		seed ecsemu.Seed
		want string
	}{
		{"unknown vpc", ecsemu.Seed{SecurityGroups: []ecsemu.SeedSecurityGroup{{ID: "sg-bp1a", VpcID: "vpc-bp1zz"}}}, "vpcId"},
		{"bad id", ecsemu.Seed{SecurityGroups: []ecsemu.SeedSecurityGroup{{ID: "group-1"}}}, "must be \"sg-\""},
		{"duplicate id", ecsemu.Seed{SecurityGroups: []ecsemu.SeedSecurityGroup{{ID: "sg-bp1a"}, {ID: "sg-bp1a"}}}, "already used"},
		{"unknown rule source", ecsemu.Seed{SecurityGroups: []ecsemu.SeedSecurityGroup{{ID: "sg-bp1a",
			Rules: []ecsemu.SeedRule{{IPProtocol: "tcp", PortRange: "1/2", SourceGroupID: "sg-bp1zz"}}}}}, "InvalidSourceGroupId.NotFound"},
		{"bad rule", ecsemu.Seed{SecurityGroups: []ecsemu.SeedSecurityGroup{{ID: "sg-bp1a",
			Rules: []ecsemu.SeedRule{{IPProtocol: "tcp", PortRange: "9/2", SourceCidrIP: "1.1.1.1"}}}}}, "InvalidPortRange.Malformed"},
		{"instance without groups", ecsemu.Seed{Instances: []ecsemu.SeedInstance{{ID: "i-bp1a"}}}, "at least one group"},
		{"instance in wrong network", ecsemu.Seed{VPCs: []ecsemu.SeedVPC{vpc}, VSwitches: []ecsemu.SeedVSwitch{vsw},
			SecurityGroups: []ecsemu.SeedSecurityGroup{{ID: "sg-bp1a"}},
			Instances:      []ecsemu.SeedInstance{{ID: "i-bp1a", VSwitchID: "vsw-bp1a", SecurityGroupIDs: []string{"sg-bp1a"}}}}, "is in network"},
		{"over the limit", ecsemu.Seed{SecurityGroups: []ecsemu.SeedSecurityGroup{{ID: "sg-bp1a"}, {ID: "sg-bp1b"}},
			Instances: []ecsemu.SeedInstance{{ID: "i-bp1a", GroupLimit: 1, SecurityGroupIDs: []string{"sg-bp1a", "sg-bp1b"}}}}, "exceed the limit"},
		{"bad status", ecsemu.Seed{SecurityGroups: []ecsemu.SeedSecurityGroup{{ID: "sg-bp1a"}},
			Instances: []ecsemu.SeedInstance{{ID: "i-bp1a", Status: "Asleep", SecurityGroupIDs: []string{"sg-bp1a"}}}}, "status"},
		{"template default", ecsemu.Seed{LaunchTemplates: []ecsemu.SeedLaunchTemplate{{Name: "t", DefaultVersion: 3,
			Versions: []ecsemu.SeedTemplateVersion{{VersionNumber: 1}}}}}, "defaultVersion 3"},
		{"region missing", ecsemu.Seed{Regions: []ecsemu.SeedRegion{{RegionID: "cn-beijing"}}}, "default region"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := f.svc.Seed(tc.seed)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want error containing %q, got %v", tc.want, err)
			}
		})
	}
	if diff := cmp.Diff(before.Seed, f.svc.Snapshot().Seed); diff != "" {
		t.Fatalf("failed seeds changed the state:\n%s", diff)
	}
	if err := f.svc.LoadSeed("testdata/does-not-exist.json"); err == nil {
		t.Fatal("LoadSeed of a missing file succeeded")
	}
}

func TestAdminHandler(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	admin := httptest.NewServer(http.StripPrefix("/ecs", f.svc.AdminHandler()))
	defer admin.Close()
	body, err := os.ReadFile("testdata/seed-example.json")
	mustOK(t, err)
	resp, err := http.Post(admin.URL+"/ecs/seed", "application/json", bytes.NewReader(body))
	mustOK(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("seed: %d", resp.StatusCode)
	}
	resp, err = http.Post(admin.URL+"/ecs/seed", "application/json", strings.NewReader(`{"securityGroups":[{"id":"bad"}]}`))
	mustOK(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad seed: %d", resp.StatusCode)
	}
	resp, err = http.Get(admin.URL + "/ecs/snapshot")
	mustOK(t, err)
	defer resp.Body.Close()
	var snap ecsemu.Snapshot
	mustOK(t, json.NewDecoder(resp.Body).Decode(&snap))
	if len(snap.SecurityGroups) != 7 || snap.Time.IsZero() {
		t.Fatalf("snapshot over HTTP: %d groups", len(snap.SecurityGroups))
	}
}
