package ecsemu_test

import (
	"slices"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
)

// A launch template does not stop ECS from deleting the group it names; the
// record of deletes says so, for tests that must never delete a group in use.
func TestDeletedGroups_RecordTemplateUse(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	seed := ecsemu.Seed{
		VPCs:      []ecsemu.SeedVPC{{ID: "vpc-bp1del000000000001", CidrBlock: "10.0.0.0/16"}},
		VSwitches: []ecsemu.SeedVSwitch{{ID: "vsw-bp1del000000000001", VpcID: "vpc-bp1del000000000001", CidrBlock: "10.0.1.0/24", ZoneID: "cn-hangzhou-h"}},
		SecurityGroups: []ecsemu.SeedSecurityGroup{
			{ID: "sg-bp1deltmpl000000001", VpcID: "vpc-bp1del000000000001"},
			{ID: "sg-bp1delfree000000001", VpcID: "vpc-bp1del000000000001"},
		},
		LaunchTemplates: []ecsemu.SeedLaunchTemplate{{ID: "lt-bp1del0000000000001", Name: "t",
			Versions: []ecsemu.SeedTemplateVersion{{VersionNumber: 1, VpcID: "vpc-bp1del000000000001", SecurityGroupID: "sg-bp1deltmpl000000001"}}}},
	}
	mustOK(t, f.svc.Seed(seed))
	for _, id := range []string{"sg-bp1deltmpl000000001", "sg-bp1delfree000000001"} {
		req := ecs.CreateDeleteSecurityGroupRequest()
		req.SecurityGroupId = id
		_, err := f.client.DeleteSecurityGroup(req)
		mustOK(t, err)
	}
	got := f.svc.DeletedGroups()
	if len(got) != 2 || got[0].ID != "sg-bp1deltmpl000000001" || !slices.Equal(got[0].InUseTemplates, []string{"lt-bp1del0000000000001"}) ||
		got[1].ID != "sg-bp1delfree000000001" || len(got[1].InUseTemplates) != 0 {
		t.Errorf("deleted groups = %+v", got)
	}
}
