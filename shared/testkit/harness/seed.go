package harness

import (
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/stack"
)

// IDs of the demo account (stack.DemoSeed).
const (
	VPCA          = stack.VPCA
	VPCB          = stack.VPCB
	VSwitchA      = stack.VSwitchA
	VSwitchB      = stack.VSwitchB
	BaseA         = stack.BaseA
	BaseB         = stack.BaseB
	BaseClassic   = stack.BaseClassic
	WebA          = stack.WebA
	DBA           = stack.DBA
	WebB          = stack.WebB
	DBB           = stack.DBB
	WebClassic    = stack.WebClassic
	DBClassic     = stack.DBClassic
	CacheA        = stack.CacheA
	RoleTagKey    = stack.RoleTagKey
	ManagedTagKey = stack.ManagedTagKey
)

// DemoSeed is the demo account (stack.DemoSeed).
func DemoSeed() ecsemu.Seed { return stack.DemoSeed() }
