package rolepolicy_test

import (
	"fmt"

	"github.com/sgpilot/sgpilot/shared/core/rolepolicy"
)

// The default policy in a VPC that has no role groups yet: both groups are
// created and their rules authorized; redis names web's group by role until
// the plan is resolved with the new group IDs.
func ExampleBuildPlan() {
	network := rolepolicy.Network{RegionID: "cn-hangzhou", VPCID: "vpc-example001"}
	plan := rolepolicy.BuildPlan(rolepolicy.Default(), network, nil, rolepolicy.PlanOptions{})
	fmt.Print(plan.Text())
	// Output:
	// Role policy plan for cn-hangzhou/vpc-example001
	//   create    group sgpilot-redis-vpc-example001 (role redis, normal, tags sgpilot:managed=true sgpilot:role=redis)
	//   create    group sgpilot-web-vpc-example001 (role web, normal, tags sgpilot:managed=true sgpilot:role=web)
	//   + authorize redis on sgpilot-redis-vpc-example001 (new): ingress accept tcp 6379/6379 from role web (intranet, priority 1) "Redis from the web tier": new group
	//   + authorize redis on sgpilot-redis-vpc-example001 (new): ingress drop tcp 6379/6379 from 0.0.0.0/0 (intranet, priority 100) "Redis from anyone else is dropped": new group
	//   + authorize web on sgpilot-web-vpc-example001 (new): ingress accept tcp 80/80 from 0.0.0.0/0 (intranet, priority 1) "HTTP from anywhere": new group
	// Summary: 2 groups to create, 3 rules to authorize, 0 rules to revoke, 0 changes withheld.
}
