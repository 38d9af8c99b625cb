package localcloud_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/eci"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ess"

	"github.com/sgpilot/sgpilot/shared/localcloud"
)

// One listener serves ECS, ESS and ECI: the RPC calls are told apart by
// their Version, and each product's SDK reaches its own emulator.
func TestStart_RoutesRPCProductsByVersion(t *testing.T) {
	s, err := localcloud.Start(context.Background(), localcloud.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	info := s.Info()
	host := strings.TrimPrefix(info.ESSEndpoint, "http://")

	seed := `{"scalingGroups":[{"id":"asg-routed","name":"routed"}],"containerGroups":[{"id":"eci-routed","name":"c","securityGroupId":"sg-routed"}]}`
	resp, err := http.Post(info.AdminEndpoint+"ess/seed", "application/json", bytes.NewBufferString(seed))
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("seed ESS through the admin API: %v %v", resp, err)
	}
	_ = resp.Body.Close()

	ec, err := ecs.NewClientWithAccessKey(info.RegionID, info.AccessKeyID, info.AccessKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	ec.Domain, ec.GetConfig().Scheme = host, "HTTP"
	regions, err := ec.DescribeRegions(ecs.CreateDescribeRegionsRequest())
	if err != nil || len(regions.Regions.Region) == 0 {
		t.Fatalf("ECS through the shared listener: %v", err)
	}

	sc, err := ess.NewClientWithAccessKey(info.RegionID, info.AccessKeyID, info.AccessKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	sc.Domain, sc.GetConfig().Scheme = host, "HTTP"
	req := ess.CreateDescribeScalingGroupsRequest()
	req.RegionId = info.RegionID
	groups, err := sc.DescribeScalingGroups(req)
	if err != nil || groups.TotalCount != 1 || groups.ScalingGroups.ScalingGroup[0].ScalingGroupId != "asg-routed" {
		t.Fatalf("ESS through the shared listener: %+v %v", groups, err)
	}

	cc, err := eci.NewClientWithAccessKey(info.RegionID, info.AccessKeyID, info.AccessKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	cc.Domain, cc.GetConfig().Scheme = host, "HTTP"
	creq := eci.CreateDescribeContainerGroupsRequest()
	creq.RegionId = info.RegionID
	cgs, err := cc.DescribeContainerGroups(creq)
	if err != nil || len(cgs.ContainerGroups) != 1 || cgs.ContainerGroups[0].SecurityGroupId != "sg-routed" {
		t.Fatalf("ECI through the shared listener: %+v %v", cgs, err)
	}
	if n := s.Env.Controls.Count("ess", "DescribeScalingGroups"); n != 1 {
		t.Errorf("controls counted %d ess/DescribeScalingGroups, want 1", n)
	}
}
