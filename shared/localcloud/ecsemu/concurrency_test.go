package ecsemu_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
)

// TestConcurrent_MixedTraffic runs launches, listings, membership changes,
// deletes and clock jumps at once; -race checks the locking and the final
// snapshot checks the membership invariants.
func TestConcurrent_MixedTraffic(t *testing.T) {
	f := newFixture(t, ecsemu.Options{PendingDuration: time.Millisecond, StartingDuration: time.Millisecond})
	vpc, vsw := f.svc.DefaultVPCID(), f.svc.DefaultVSwitchID()
	var groups []string
	for i := 0; i < 6; i++ {
		groups = append(groups, f.createGroup(t, vpc, fmt.Sprintf("g%d", i)))
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		client := MustClient(t, f.srv)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 15; i++ {
				run := ecs.CreateRunInstancesRequest()
				run.ImageId, run.InstanceType, run.VSwitchId = "img", "t", vsw
				run.SecurityGroupId = groups[(w+i)%len(groups)]
				resp, err := client.RunInstances(run)
				if err != nil {
					t.Errorf("run: %v", err)
					return
				}
				id := resp.InstanceIdSets.InstanceIdSet[0]
				join := ecs.CreateJoinSecurityGroupRequest()
				join.InstanceId, join.SecurityGroupId = id, groups[(w+i+1)%len(groups)]
				_, _ = client.JoinSecurityGroup(join) // may still be Pending
				d := ecs.CreateDescribeSecurityGroupsRequest()
				d.VpcId = vpc
				d.MaxResults = requests.NewInteger(3)
				if _, err := client.DescribeSecurityGroups(d); err != nil {
					t.Errorf("describe: %v", err)
				}
				if i%3 == 0 {
					del := ecs.CreateDeleteInstanceRequest()
					del.InstanceId, del.Force = id, requests.NewBoolean(true)
					if _, err := client.DeleteInstance(del); err != nil {
						t.Errorf("delete: %v", err)
					}
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			f.env.Clock.Advance(time.Second)
			_ = f.svc.Snapshot()
			time.Sleep(time.Millisecond)
		}
	}()
	wg.Wait()

	snap := f.svc.Snapshot()
	if len(snap.Instances) != 4*10 {
		t.Fatalf("%d instances left, want 40", len(snap.Instances))
	}
	members := map[string]int{}
	for _, in := range snap.Instances {
		if len(in.SecurityGroupIDs) < 1 || len(in.SecurityGroupIDs) > ecsemu.DefaultGroupsPerInstance {
			t.Fatalf("%s in %d groups", in.ID, len(in.SecurityGroupIDs))
		}
		for _, g := range in.SecurityGroupIDs {
			members[g]++
		}
	}
	d := ecs.CreateDescribeSecurityGroupsRequest()
	d.VpcId, d.MaxResults = vpc, requests.NewInteger(10)
	resp, err := f.client.DescribeSecurityGroups(d)
	mustOK(t, err)
	for _, g := range resp.SecurityGroups.SecurityGroup {
		if g.EcsCount != members[g.SecurityGroupId] {
			t.Fatalf("group %s EcsCount %d, instances list it %d times", g.SecurityGroupId, g.EcsCount, members[g.SecurityGroupId])
		}
	}
}
