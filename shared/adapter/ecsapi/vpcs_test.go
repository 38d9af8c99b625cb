package ecsapi_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/adapter/ecsapi"
	"github.com/sgpilot/sgpilot/shared/core/cloudauth"
	"github.com/sgpilot/sgpilot/shared/core/rolepolicy"
	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
)

// The audit's network reads against the emulator: every page, in ID order.
func TestListVPCsAndVSwitches_AllPages(t *testing.T) {
	env := core.NewEnv(emuAccount, 1)
	env.Credentials.AddAccessKey(testKeyID, testSecret)
	svc, err := ecsemu.New(env, ecsemu.Options{Region: emuRegion})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc)
	t.Cleanup(func() { srv.Close(); _ = svc.Close() })
	// 61 VPCs (two pages of 50) with a vSwitch each.
	seed := ecsemu.Seed{Regions: ecsemu.DefaultRegions(emuRegion),
		VPCs:      []ecsemu.SeedVPC{{ID: rpVPC, RegionID: emuRegion, CidrBlock: "172.16.0.0/12"}},
		VSwitches: []ecsemu.SeedVSwitch{{ID: "vsw-rp00000001", VpcID: rpVPC, CidrBlock: "172.16.1.0/24"}}}
	for i := 0; i < 60; i++ {
		vpc := fmt.Sprintf("vpc-pg%08d", i)
		seed.VPCs = append(seed.VPCs, ecsemu.SeedVPC{ID: vpc, RegionID: emuRegion, CidrBlock: fmt.Sprintf("10.%d.0.0/16", i)})
		seed.VSwitches = append(seed.VSwitches, ecsemu.SeedVSwitch{ID: fmt.Sprintf("vsw-pg%08d", i), VpcID: vpc, CidrBlock: fmt.Sprintf("10.%d.1.0/24", i)})
	}
	seed.SecurityGroups = []ecsemu.SeedSecurityGroup{{ID: "sg-pgvpc0000001", VpcID: "vpc-pg00000003"}, {ID: "sg-pgclassic001"}}
	seed.Instances = []ecsemu.SeedInstance{
		{ID: "i-vpcinst00000001", VSwitchID: "vsw-pg00000003", SecurityGroupIDs: []string{"sg-pgvpc0000001"}},
		{ID: "i-classic0000001", NetworkType: "classic", SecurityGroupIDs: []string{"sg-pgclassic001"}}}
	if err := svc.Seed(seed); err != nil {
		t.Fatal(err)
	}
	c := MustClient(t, ecsapi.Config{RegionID: emuRegion, Endpoint: srv.URL,
		Credentials: cloudauth.Credentials{AccessKeyID: testKeyID, AccessKeySecret: testSecret}, Retry: instantRetry(3)})
	ctx := context.Background()
	vpcs, err := c.ListVPCs(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	sws, err := c.ListVSwitches(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	byVPC := map[string]rolepolicy.VPC{}
	for i, v := range vpcs {
		if i > 0 && vpcs[i-1].ID >= v.ID {
			t.Fatalf("VPCs not in ID order at %d", i)
		}
		byVPC[v.ID] = v
	}
	if got := byVPC[rpVPC].CIDRs; !cmp.Equal(got, []string{"172.16.0.0/12"}) {
		t.Errorf("%s CIDRs %v", rpVPC, got)
	}
	if got := byVPC["vpc-pg00000007"].CIDRs; !cmp.Equal(got, []string{"10.7.0.0/16"}) {
		t.Errorf("vpc-pg00000007 CIDRs %v", got)
	}
	if len(byVPC) != 61 {
		t.Errorf("%d VPCs, want 61 (paging)", len(byVPC))
	}
	want := rolepolicy.VSwitch{ID: "vsw-pg00000059", VPCID: "vpc-pg00000059", CIDR: "10.59.1.0/24"}
	found := false
	for _, sw := range sws {
		found = found || cmp.Equal(sw, want)
	}
	if !found || len(sws) != 61 {
		t.Errorf("%d vSwitches, %v among them: %v", len(sws), want, found)
	}
	if n := env.Controls.Count("ecs", "DescribeVpcs"); n != 2 {
		t.Errorf("DescribeVpcs called %d times, want one per page (2)", n)
	}
	// Instances: the VPC one maps to its vSwitch, the classic one is absent.
	got, err := c.InstanceVSwitches(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"i-vpcinst00000001": "vsw-pg00000003"}; !cmp.Equal(got, want) {
		t.Errorf("InstanceVSwitches = %v, want %v", got, want)
	}
}
