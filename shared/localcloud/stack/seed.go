package stack

import (
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
)

// IDs of the demo account (DemoSeed).
const (
	VPCA          = "vpc-bp1demoa00000000001"
	VPCB          = "vpc-bp1demob00000000001"
	VSwitchA      = "vsw-bp1demoa00000000001"
	VSwitchB      = "vsw-bp1demob00000000001"
	BaseA         = "sg-bp1basea000000000001"
	BaseB         = "sg-bp1baseb000000000001"
	BaseClassic   = "sg-bp1basec000000000001"
	WebA          = "sg-bp1weba0000000000001"
	DBA           = "sg-bp1dba00000000000001"
	WebB          = "sg-bp1webb0000000000001"
	DBB           = "sg-bp1dbb00000000000001"
	WebClassic    = "sg-bp1webc0000000000001"
	DBClassic     = "sg-bp1dbc00000000000001"
	CacheA        = "sg-bp1cachea00000000001" // only VPC A has a cache group
	RoleTagKey    = "sgpilot:role"
	ManagedTagKey = "sgpilot:managed"
)

// DemoSeed is an account with two VPCs and the classic network, a base group
// in each, and role groups web and db in each (cache only in VPC A), all
// tagged as sgpilot's.
func DemoSeed() ecsemu.Seed {
	role := func(id, vpc, name, r string) ecsemu.SeedSecurityGroup {
		return ecsemu.SeedSecurityGroup{ID: id, VpcID: vpc, Name: name, Description: "sgpilot role group " + r,
			Tags: []ecsemu.SeedTag{{Key: RoleTagKey, Value: r}, {Key: ManagedTagKey, Value: "true"}}}
	}
	base := func(id, vpc, name string) ecsemu.SeedSecurityGroup {
		return ecsemu.SeedSecurityGroup{ID: id, VpcID: vpc, Name: name, Description: "base group"}
	}
	return ecsemu.Seed{
		Regions: []ecsemu.SeedRegion{{RegionID: "cn-hangzhou", Zones: []string{"cn-hangzhou-h", "cn-hangzhou-i"}, Classic: true}},
		VPCs: []ecsemu.SeedVPC{
			{ID: VPCA, Name: "prod-a", CidrBlock: "172.16.0.0/12"},
			{ID: VPCB, Name: "prod-b", CidrBlock: "10.0.0.0/8"},
		},
		VSwitches: []ecsemu.SeedVSwitch{
			{ID: VSwitchA, VpcID: VPCA, ZoneID: "cn-hangzhou-h", CidrBlock: "172.16.0.0/16"},
			{ID: VSwitchB, VpcID: VPCB, ZoneID: "cn-hangzhou-i", CidrBlock: "10.1.0.0/16"},
		},
		SecurityGroups: []ecsemu.SeedSecurityGroup{
			base(BaseA, VPCA, "base-a"), base(BaseB, VPCB, "base-b"), base(BaseClassic, "", "base-classic"),
			role(WebA, VPCA, "sgpilot-web-a", "web"), role(DBA, VPCA, "sgpilot-db-a", "db"), role(CacheA, VPCA, "sgpilot-cache-a", "cache"),
			role(WebB, VPCB, "sgpilot-web-b", "web"), role(DBB, VPCB, "sgpilot-db-b", "db"),
			role(WebClassic, "", "sgpilot-web-classic", "web"), role(DBClassic, "", "sgpilot-db-classic", "db"),
		},
	}
}

// SampleInstance is the instance the sample events of functions/*/testdata
// name: a running web+db instance of VPC A that is in its base group only,
// so onboarding it has work to do.
const SampleInstance = "i-bp1aaaaaaaaaaaaaaaa1"

// SampleSeed is the demo account (DemoSeed) plus SampleInstance. `make
// localcloud` and `make demo` both start from it, so the sample events work
// as they are against either.
func SampleSeed() ecsemu.Seed {
	s := DemoSeed()
	s.Instances = append(s.Instances, ecsemu.SeedInstance{
		ID: SampleInstance, RegionID: "cn-hangzhou", Name: "sample-web-db", ZoneID: "cn-hangzhou-h", VSwitchID: VSwitchA,
		SecurityGroupIDs: []string{BaseA}, Tags: []ecsemu.SeedTag{{Key: RoleTagKey, Value: "web,db"}},
	})
	return s
}
