package cleanup_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/usecase/cleanup"
)

// A plan-mode run over three groups: one in use, one marked two weeks ago
// and unused since, one unused and not yet marked. Nothing is changed; the
// plan says what an apply run would do.
func ExampleRenderTable() {
	now := time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)
	managed := func(id, name string, tags domain.Tags) domain.SecurityGroup {
		g := domain.SecurityGroup{ID: id, Name: name, RegionID: "cn-hangzhou", CreationTime: now.AddDate(0, -3, 0),
			Tags: domain.Tags{"sgpilot:managed": "true"}}
		for k, v := range tags {
			g.Tags[k] = v
		}
		return g
	}
	ecs := newFakeECS() // an in-memory ECS (fake_test.go)
	ecs.addGroups(
		managed("sg-web0000001", "web", nil),
		managed("sg-old0000001", "old-batch", domain.Tags{"sgpilot:stale-since": "2026-11-10"}),
		managed("sg-tmp0000001", "tmp-debug", nil),
	)
	ecs.addInstance("cn-hangzhou", "i-web000000001", "sg-web0000001")

	policy := domain.DefaultCleanupPolicy()
	policy.MaxDeletePercent = 100 // three groups: the default 25% would allow no deletion
	c := cleanup.NewCleaner(ecs, newFakeQueue())
	rep, err := c.Run(context.Background(), cleanup.Options{
		Regions: []string{"cn-hangzhou"}, Policy: policy, Mode: cleanup.ModePlan, Now: now, RunID: "nightly-1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = cleanup.RenderTable(os.Stdout, rep)
	// Output:
	// Cleanup nightly-1 (plan) at 2026-11-25T02:00:00Z, scope: tag sgpilot:managed=true
	// Not checked: Auto Scaling scaling configurations, ECI container groups, Function Compute vpcConfig, RDS whitelists, Redis/Tair whitelists, MongoDB whitelists, PolarDB whitelists, ESS RDS attachments, NLB, ALB, SAE applications, Kafka instances, NAS mount targets, ACK control planes, other accounts, anything outside Alibaba Cloud (Terraform, ROS, scripts) (protect groups they use with the protect tag)
	//
	// Region cn-hangzhou
	// GROUP          NAME       ACTION  REASON            USERS        DETAIL
	// sg-old0000001  old-batch  delete  stale-past-grace  -            unused since 2026-11-10, grace period 168h0m0s over
	// sg-tmp0000001  tmp-debug  mark    newly-stale       -            unused: no instances, ENIs, references, launch template versions, scaling configurations or container groups
	// sg-web0000001  web        keep    in-use            instances 1  used by 1 instances (i-web000000001)
	// Plan ID: cn-hangzhou:1:abf5024a64f65887
	// Region summary: 3 scanned, 3 in scope; mark 1 (done 0), unmark 0 (done 0), delete 1 (tasks enqueued 0); errors 0
	//   kept: in-use 1
	//   skipped: none
	//
	// Total: 3 scanned, 3 in scope; mark 1 (done 0), unmark 0 (done 0), delete 1 (tasks enqueued 0); errors 0
	//   kept: in-use 1
	//   skipped: none
}
