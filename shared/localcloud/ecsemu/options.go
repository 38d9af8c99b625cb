package ecsemu

import (
	"fmt"
	"time"
)

// Defaults for Options. Each zero field of Options takes the matching default.
const (
	// DefaultRegion is the region the default account lives in.
	DefaultRegion = "cn-hangzhou"
	// DefaultZone is the zone of the default vSwitch and of classic instances.
	DefaultZone = "cn-hangzhou-h"
	// DefaultGroupsPerInstance is the per-instance (and per-ENI) security group
	// limit before a quota increase (§3).
	DefaultGroupsPerInstance = 5
	// MaxGroupsPerInstanceQuota is the highest per-instance limit an Options
	// value or a seed override may set (older docs: 16; unconfirmed today).
	MaxGroupsPerInstanceQuota = 16
	// DefaultInstancesPerBasicGroup bounds members of a "normal" group (§3).
	DefaultInstancesPerBasicGroup = 2000
	// DefaultInstancesPerEnterpriseGroup bounds members of an "enterprise" group.
	DefaultInstancesPerEnterpriseGroup = 65536
	// DefaultRulesPerGroup bounds inbound plus outbound rules of one group.
	DefaultRulesPerGroup = 200
	// DefaultSourceGroupsPerGroup bounds the distinct groups one group's rules may name.
	DefaultSourceGroupsPerGroup = 20
	// DefaultSecurityGroupQuota bounds groups per region for CreateSecurityGroup
	// (older docs: 100, adjustable; seeded groups count but are never refused).
	DefaultSecurityGroupQuota = 1000
	// DefaultPendingDuration is how long a new instance stays Pending.
	DefaultPendingDuration = 2 * time.Second
	// DefaultStartingDuration is how long an instance stays Starting before Running.
	DefaultStartingDuration = 3 * time.Second
	// DefaultStoppingDuration is how long an instance stays Stopping before Stopped.
	DefaultStoppingDuration = 2 * time.Second
	// DefaultTimestampSkew is how far a request's Timestamp may be from the
	// emulator's wall clock (either direction).
	DefaultTimestampSkew = 15 * time.Minute
	// DefaultNonceWindow is how long a SignatureNonce is remembered.
	DefaultNonceWindow = 15 * time.Minute
	// DefaultTickInterval is how often (wall time) the lifecycle goroutine
	// re-evaluates instance states besides every clock jump.
	DefaultTickInterval = 50 * time.Millisecond
	// TagPageSize is the fixed page size of ListTagResources (about 50 in
	// reality, unconfirmed).
	TagPageSize = 50
)

// Options configures a Service. The zero value is usable: every zero field
// takes the Default* constant of the same name.
type Options struct {
	// Region is the default region: the home of the default account and the
	// HostId of errors for requests without RegionId.
	Region string
	// GroupsPerInstance is the per-instance / per-ENI group limit ("quota"),
	// 1..MaxGroupsPerInstanceQuota. Seeds may override it per instance.
	GroupsPerInstance int
	// InstancesPerBasicGroup and InstancesPerEnterpriseGroup bound group size.
	InstancesPerBasicGroup      int
	InstancesPerEnterpriseGroup int
	// RulesPerGroup bounds the rules of one group.
	RulesPerGroup int
	// SourceGroupsPerGroup bounds how many distinct groups one group's rules reference.
	SourceGroupsPerGroup int
	// SecurityGroupQuota bounds groups per region for CreateSecurityGroup.
	SecurityGroupQuota int
	// PendingDuration, StartingDuration and StoppingDuration are measured on
	// the emulated clock (env.Clock): advance it to skip them.
	PendingDuration  time.Duration
	StartingDuration time.Duration
	StoppingDuration time.Duration
	// PendingFor, when set, replaces PendingDuration for each instance that
	// RunInstances creates (called once per instance, under the service's
	// lock), so that instances of one burst reach Running at different times.
	PendingFor func() time.Duration
	// TimestampSkew is the accepted distance between a request's Timestamp and
	// WallNow. Wall time, not the emulated clock, because SDKs stamp requests
	// with the host's clock while tests move the emulated one far ahead.
	TimestampSkew time.Duration
	// NonceWindow is how long a SignatureNonce is remembered for replay detection.
	NonceWindow time.Duration
	// TickInterval is the wall-time period of the lifecycle goroutine.
	TickInterval time.Duration
	// WallNow returns wall time for the timestamp check; nil means time.Now.
	WallNow func() time.Time
}

func (o Options) withDefaults() (Options, error) {
	setInt := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	setDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	setInt(&o.GroupsPerInstance, DefaultGroupsPerInstance)
	setInt(&o.InstancesPerBasicGroup, DefaultInstancesPerBasicGroup)
	setInt(&o.InstancesPerEnterpriseGroup, DefaultInstancesPerEnterpriseGroup)
	setInt(&o.RulesPerGroup, DefaultRulesPerGroup)
	setInt(&o.SourceGroupsPerGroup, DefaultSourceGroupsPerGroup)
	setInt(&o.SecurityGroupQuota, DefaultSecurityGroupQuota)
	setDur(&o.PendingDuration, DefaultPendingDuration)
	setDur(&o.StartingDuration, DefaultStartingDuration)
	setDur(&o.StoppingDuration, DefaultStoppingDuration)
	setDur(&o.TimestampSkew, DefaultTimestampSkew)
	setDur(&o.NonceWindow, DefaultNonceWindow)
	setDur(&o.TickInterval, DefaultTickInterval)
	if o.WallNow == nil {
		o.WallNow = time.Now
	}
	if o.GroupsPerInstance < 1 || o.GroupsPerInstance > MaxGroupsPerInstanceQuota {
		return o, fmt.Errorf("ecsemu options: GroupsPerInstance %d outside 1..%d", o.GroupsPerInstance, MaxGroupsPerInstanceQuota)
	}
	for name, v := range map[string]int{
		"InstancesPerBasicGroup": o.InstancesPerBasicGroup, "InstancesPerEnterpriseGroup": o.InstancesPerEnterpriseGroup,
		"RulesPerGroup": o.RulesPerGroup, "SourceGroupsPerGroup": o.SourceGroupsPerGroup,
		"SecurityGroupQuota": o.SecurityGroupQuota,
	} {
		if v < 1 {
			return o, fmt.Errorf("ecsemu options: %s must be at least 1, got %d", name, v)
		}
	}
	for name, v := range map[string]time.Duration{
		"PendingDuration": o.PendingDuration, "StartingDuration": o.StartingDuration,
		"StoppingDuration": o.StoppingDuration, "TimestampSkew": o.TimestampSkew,
		"NonceWindow": o.NonceWindow, "TickInterval": o.TickInterval,
	} {
		if v < 0 {
			return o, fmt.Errorf("ecsemu options: %s must not be negative, got %s", name, v)
		}
	}
	return o, nil
}
