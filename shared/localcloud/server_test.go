package localcloud_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
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

// Running an s.yaml creates the queues its functions write to, so that a
// dead-lettered push or a failure record has somewhere to go.
func TestStart_CreatesDestinationQueues(t *testing.T) {
	dir := t.TempDir()
	doc := `edition: 3.0.0
name: q
resources:
  worker:
    component: fc3
    props:
      functionName: worker
      runtime: go1
      handler: main
      code: ./code
      asyncInvokeConfig:
        destinationConfig:
          onFailure:
            destination: acs:mns:cn-hangzhou:1234567890123456:/queues/async-failures/messages
      triggers:
        - triggerName: work
          triggerType: eventbridge
          triggerConfig:
            eventRuleFilterPattern: '{"source":["MNS-worker-work"]}'
            eventSourceConfig:
              eventSourceType: MNS
              eventSourceParameters:
                sourceMNSParameters: {QueueName: work}
            runOptions:
              mode: event-streaming
              errorsTolerance: ALL
              deadLetterQueue:
                Arn: acs:mns:cn-hangzhou:1234567890123456:/queues/failed-events
`
	path := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := localcloud.Start(context.Background(), localcloud.Options{FunctionsFile: path, Queues: []string{"work", "failed-events"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, q := range []string{"async-failures", "failed-events"} {
		if _, err := s.MNS.Send(q, "probe", 0, 0); err != nil {
			t.Errorf("send to %s: %v", q, err)
		}
	}
	if n := s.FC.Discarded(); n != 0 {
		t.Errorf("discarded = %d", n)
	}
}
