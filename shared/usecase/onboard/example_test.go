package onboard_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
	"github.com/sgpilot/sgpilot/shared/usecase/onboard"
)

// A dry run: what onboarding would do for three instances of one VPC,
// without changing anything.
func ExampleOnboarder_Plan() {
	const vpc = "vpc-bp1example000001"
	ecs := fake.NewECS()
	ecs.AddGroup(domain.SecurityGroup{ID: "sg-bp1default0000001", RegionID: "cn-hangzhou", VPCID: vpc, Name: "default"})
	ecs.AddGroup(domain.SecurityGroup{ID: "sg-bp1web00000000001", RegionID: "cn-hangzhou", VPCID: vpc, Name: "web",
		Tags: domain.Tags{"sgpilot:role": "web", "sgpilot:managed": "true"}})
	ecs.AddGroup(domain.SecurityGroup{ID: "sg-bp1db000000000001", RegionID: "cn-hangzhou", VPCID: vpc, Name: "db",
		Tags: domain.Tags{"sgpilot:role": "db", "sgpilot:managed": "true"}})
	ecs.AddInstance(domain.Instance{ID: "i-bp1web00000000001", RegionID: "cn-hangzhou", VPCID: vpc,
		Tags: domain.Tags{"sgpilot:role": "web,db"}, GroupIDs: []string{"sg-bp1default0000001"}})
	ecs.AddInstance(domain.Instance{ID: "i-bp1db000000000001", RegionID: "cn-hangzhou", VPCID: vpc,
		Tags: domain.Tags{"sgpilot:role": "db"}, GroupIDs: []string{"sg-bp1db000000000001"}})
	ecs.AddInstance(domain.Instance{ID: "i-bp1cache0000000001", RegionID: "cn-hangzhou", VPCID: vpc,
		Tags: domain.Tags{"sgpilot:role": "cache"}})

	ob, _ := onboard.New(onboard.PortsFrom(ecs), onboard.Options{})
	plans, err := ob.Plan(context.Background(), "cn-hangzhou",
		[]string{"i-bp1web00000000001", "i-bp1db000000000001", "i-bp1cache0000000001"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range plans {
		fmt.Printf("%s %s: join [%s]\n  %s\n", p.InstanceID, p.Reason, strings.Join(p.ToJoin, " "), p.Detail)
	}
	fmt.Println("joins made:", ecs.Calls("JoinGroup"))
	// Output:
	// i-bp1web00000000001 join: join [sg-bp1db000000000001 sg-bp1web00000000001]
	//   join sg-bp1db000000000001,sg-bp1web00000000001 for roles db,web
	// i-bp1db000000000001 complete: join []
	//   already in every role group
	// i-bp1cache0000000001 no-role-group: join []
	//   no security group tagged sgpilot:role=cache in scope (tag sgpilot:managed=true) in VPC vpc-bp1example000001 of cn-hangzhou
	// joins made: 0
}
