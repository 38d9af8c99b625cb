package ecsemu

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
)

// Seed is the whole state of the emulated ECS account, as JSON. Seed(s)
// replaces the current state with it; Snapshot returns the current state in
// the same shape, so a snapshot can be fed back as a seed. SEED.md documents
// every field with an example (testdata/seed-example.json).
//
// Every ID is optional: a missing ID is generated (resources that others
// refer to need one). Every regionId is optional and defaults to the
// service's default region. Times are RFC 3339; a missing time is the
// emulated clock's now.
type Seed struct {
	// Regions lists the regions DescribeRegions returns and requests may name.
	// Empty: DefaultRegions (the default region with three zones and the
	// classic network, plus a few empty VPC-only regions).
	Regions []SeedRegion `json:"regions,omitempty"`
	// VPCs and VSwitches are the VPC networks.
	VPCs      []SeedVPC     `json:"vpcs,omitempty"`
	VSwitches []SeedVSwitch `json:"vSwitches,omitempty"`
	// SecurityGroups, with their rules. Rules may name other seeded groups.
	SecurityGroups []SeedSecurityGroup `json:"securityGroups,omitempty"`
	// Instances, with the groups they are in.
	Instances []SeedInstance `json:"instances,omitempty"`
	// NetworkInterfaces are secondary ENIs (primary ENIs come with VPC instances).
	NetworkInterfaces []SeedNetworkInterface `json:"networkInterfaces,omitempty"`
	// LaunchTemplates, with versions naming security groups.
	LaunchTemplates []SeedLaunchTemplate `json:"launchTemplates,omitempty"`
}

// SeedRegion is one region.
type SeedRegion struct {
	RegionID  string   `json:"regionId"`
	LocalName string   `json:"localName,omitempty"`
	Zones     []string `json:"zones,omitempty"`
	// Classic: the region offers the classic network (instances without a
	// vSwitch, groups without a VPC).
	Classic bool `json:"classic,omitempty"`
}

// SeedVPC is one VPC. CidrBlock defaults to 172.16.0.0/12.
type SeedVPC struct {
	ID        string `json:"id,omitempty"`
	RegionID  string `json:"regionId,omitempty"`
	Name      string `json:"name,omitempty"`
	CidrBlock string `json:"cidrBlock,omitempty"`
}

// SeedVSwitch is one vSwitch of a VPC. ZoneID defaults to the region's first
// zone; CidrBlock to 172.(16+n).0.0/16 for the VPC's n-th vSwitch.
type SeedVSwitch struct {
	ID        string `json:"id,omitempty"`
	VpcID     string `json:"vpcId"`
	ZoneID    string `json:"zoneId,omitempty"`
	Name      string `json:"name,omitempty"`
	CidrBlock string `json:"cidrBlock,omitempty"`
}

// SeedTag is one tag.
type SeedTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// SeedRule is one rule, with the AuthorizeSecurityGroup field names and the
// same validation and defaults (direction ingress, policy accept, priority 1).
type SeedRule struct {
	RuleID             string    `json:"ruleId,omitempty"`
	Direction          string    `json:"direction,omitempty"`
	IPProtocol         string    `json:"ipProtocol"`
	PortRange          string    `json:"portRange"`
	SourcePortRange    string    `json:"sourcePortRange,omitempty"`
	SourceCidrIP       string    `json:"sourceCidrIp,omitempty"`
	Ipv6SourceCidrIP   string    `json:"ipv6SourceCidrIp,omitempty"`
	SourceGroupID      string    `json:"sourceGroupId,omitempty"`
	SourcePrefixListID string    `json:"sourcePrefixListId,omitempty"`
	DestCidrIP         string    `json:"destCidrIp,omitempty"`
	Ipv6DestCidrIP     string    `json:"ipv6DestCidrIp,omitempty"`
	DestGroupID        string    `json:"destGroupId,omitempty"`
	DestPrefixListID   string    `json:"destPrefixListId,omitempty"`
	Policy             string    `json:"policy,omitempty"`
	Priority           int       `json:"priority,omitempty"`
	NicType            string    `json:"nicType,omitempty"`
	Description        string    `json:"description,omitempty"`
	CreateTime         time.Time `json:"createTime,omitzero"`
}

// SeedSecurityGroup is one group. An empty VpcID makes a classic group.
type SeedSecurityGroup struct {
	ID          string `json:"id,omitempty"`
	RegionID    string `json:"regionId,omitempty"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	VpcID       string `json:"vpcId,omitempty"`
	// Type is "normal" (default) or "enterprise".
	Type            string `json:"type,omitempty"`
	ResourceGroupID string `json:"resourceGroupId,omitempty"`
	// ServiceManaged groups belong to a cloud service: every change to them
	// (rules, membership, deletion) fails with ResourceManagedByCloudProduct.
	ServiceManaged bool  `json:"serviceManaged,omitempty"`
	ServiceID      int64 `json:"serviceId,omitempty"`
	// DeletionProtection makes DeleteSecurityGroup fail with
	// InvalidOperation.DeletionProtection.
	DeletionProtection bool `json:"deletionProtection,omitempty"`
	// InnerAccessPolicy is "Accept" (default for normal) or "Drop".
	InnerAccessPolicy string     `json:"innerAccessPolicy,omitempty"`
	CreationTime      time.Time  `json:"creationTime,omitzero"`
	Tags              []SeedTag  `json:"tags,omitempty"`
	Rules             []SeedRule `json:"rules,omitempty"`
}

// SeedInstance is one instance. A VSwitchID makes it a VPC instance (with a
// primary ENI), none a classic one.
type SeedInstance struct {
	ID          string `json:"id,omitempty"`
	RegionID    string `json:"regionId,omitempty"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	ZoneID      string `json:"zoneId,omitempty"`
	VSwitchID   string `json:"vSwitchId,omitempty"`
	// NetworkType is "vpc" or "classic"; optional, checked against VSwitchID.
	NetworkType  string `json:"networkType,omitempty"`
	ImageID      string `json:"imageId,omitempty"`
	InstanceType string `json:"instanceType,omitempty"`
	// Status is Pending, Starting, Running (default), Stopping or Stopped.
	// Transitional statuses end after the configured durations, counted
	// from StatusUntil if set, else from seeding time.
	Status      string    `json:"status,omitempty"`
	StatusUntil time.Time `json:"statusUntil,omitzero"`
	// SecurityGroupIDs: 1..limit groups of the instance's network (same VPC,
	// or classic groups for classic instances).
	SecurityGroupIDs []string `json:"securityGroupIds"`
	// GroupLimit overrides the per-instance group limit (quota increase) for
	// this instance, 1..MaxGroupsPerInstanceQuota.
	GroupLimit       int       `json:"groupLimit,omitempty"`
	PrivateIPAddress string    `json:"privateIpAddress,omitempty"`
	MacAddress       string    `json:"macAddress,omitempty"`
	PrimaryENIID     string    `json:"primaryNetworkInterfaceId,omitempty"`
	CreationTime     time.Time `json:"creationTime,omitzero"`
	Tags             []SeedTag `json:"tags,omitempty"`
}

// SeedNetworkInterface is one secondary ENI, attached to InstanceID (a VPC
// instance of the same VPC and zone) or available when InstanceID is empty.
type SeedNetworkInterface struct {
	ID               string    `json:"id,omitempty"`
	Name             string    `json:"name,omitempty"`
	Description      string    `json:"description,omitempty"`
	VSwitchID        string    `json:"vSwitchId"`
	InstanceID       string    `json:"instanceId,omitempty"`
	SecurityGroupIDs []string  `json:"securityGroupIds"`
	GroupLimit       int       `json:"groupLimit,omitempty"`
	PrivateIPAddress string    `json:"privateIpAddress,omitempty"`
	MacAddress       string    `json:"macAddress,omitempty"`
	CreationTime     time.Time `json:"creationTime,omitzero"`
	Tags             []SeedTag `json:"tags,omitempty"`
}

// SeedLaunchTemplate is one launch template. DefaultVersion defaults to the
// lowest version number. Group IDs in versions are checked for format only:
// templates naming deleted groups are realistic.
type SeedLaunchTemplate struct {
	ID             string                `json:"id,omitempty"`
	Name           string                `json:"name"`
	RegionID       string                `json:"regionId,omitempty"`
	DefaultVersion int64                 `json:"defaultVersion,omitempty"`
	CreateTime     time.Time             `json:"createTime,omitzero"`
	Tags           []SeedTag             `json:"tags,omitempty"`
	Versions       []SeedTemplateVersion `json:"versions"`
}

// SeedTemplateVersion is one version of a launch template.
type SeedTemplateVersion struct {
	VersionNumber     int64             `json:"versionNumber"`
	Description       string            `json:"description,omitempty"`
	CreateTime        time.Time         `json:"createTime,omitzero"`
	ImageID           string            `json:"imageId,omitempty"`
	InstanceType      string            `json:"instanceType,omitempty"`
	InstanceName      string            `json:"instanceName,omitempty"`
	VpcID             string            `json:"vpcId,omitempty"`
	VSwitchID         string            `json:"vSwitchId,omitempty"`
	ZoneID            string            `json:"zoneId,omitempty"`
	SecurityGroupID   string            `json:"securityGroupId,omitempty"`
	SecurityGroupIDs  []string          `json:"securityGroupIds,omitempty"`
	NetworkInterfaces []SeedTemplateNIC `json:"networkInterfaces,omitempty"`
	Tags              []SeedTag         `json:"tags,omitempty"`
}

// SeedTemplateNIC is one network interface of a template version.
type SeedTemplateNIC struct {
	Type             string   `json:"type,omitempty"`
	VSwitchID        string   `json:"vSwitchId,omitempty"`
	SecurityGroupID  string   `json:"securityGroupId,omitempty"`
	SecurityGroupIDs []string `json:"securityGroupIds,omitempty"`
}

// DefaultRegions is the region list used when a seed names none: region
// (three zones, classic network) plus four VPC-only regions.
func DefaultRegions(region string) []SeedRegion {
	out := []SeedRegion{{RegionID: region, LocalName: region, Zones: []string{region + "-h", region + "-i", region + "-j"},
		Classic: true}}
	if region == DefaultRegion {
		out[0].LocalName = "China (Hangzhou)"
	}
	for _, r := range []SeedRegion{
		{RegionID: "cn-hangzhou", LocalName: "China (Hangzhou)"},
		{RegionID: "cn-shanghai", LocalName: "China (Shanghai)"},
		{RegionID: "cn-beijing", LocalName: "China (Beijing)"},
		{RegionID: "cn-shenzhen", LocalName: "China (Shenzhen)"},
		{RegionID: "ap-southeast-1", LocalName: "Singapore"},
	} {
		if r.RegionID != region {
			r.Zones = []string{r.RegionID + "-a", r.RegionID + "-b"}
			out = append(out, r)
		}
	}
	return out
}

// DefaultSeed is the state New starts from: DefaultRegions, one VPC with one
// vSwitch (zone <region>-h) in region, and no groups or instances.
func DefaultSeed(region string) Seed {
	code := core.RegionCode(region)
	vpcID := core.NewResourceID("vpc-", code)
	return Seed{
		Regions:   DefaultRegions(region),
		VPCs:      []SeedVPC{{ID: vpcID, RegionID: region, Name: "default-vpc", CidrBlock: "172.16.0.0/12"}},
		VSwitches: []SeedVSwitch{{ID: core.NewResourceID("vsw-", code), VpcID: vpcID, ZoneID: region + "-h", Name: "default-vsw", CidrBlock: "172.16.0.0/16"}},
	}
}

// LoadSeed reads a seed JSON file and applies it with Seed.
func (s *Service) LoadSeed(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("ecsemu load seed: %w", err)
	}
	var sd Seed
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sd); err != nil {
		return fmt.Errorf("ecsemu load seed %s: %w", path, err)
	}
	return s.Seed(sd)
}

// Seed replaces the whole state with sd after validating it. On error the
// state is unchanged and the error lists every problem found. Events are not
// published for seeded resources.
func (s *Service) Seed(sd Seed) error {
	now := s.env.Clock.Now()
	w, defVPC, defVSw, err := s.build(sd, now)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.w, s.defaultVPC, s.defaultVSwitch = w, defVPC, defVSw
	s.mu.Unlock()
	return nil
}

// seedErrors collects validation problems.
type seedErrors struct{ errs []error }

func (e *seedErrors) add(format string, args ...any) {
	e.errs = append(e.errs, fmt.Errorf(format, args...))
}

func toTags(in []SeedTag) tagList {
	var out tagList
	for _, t := range in {
		out = append(out, tag(t))
	}
	return out
}

func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t.UTC()
}

func orNowPlus(t, now time.Time, d time.Duration) time.Time {
	if t.IsZero() {
		return now.Add(d)
	}
	return t.UTC()
}
