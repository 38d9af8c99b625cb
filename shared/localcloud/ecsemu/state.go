package ecsemu

import (
	"sort"
	"time"
)

// Instance statuses (API values) and network types.
const (
	statusPending  = "Pending"
	statusStarting = "Starting"
	statusRunning  = "Running"
	statusStopping = "Stopping"
	statusStopped  = "Stopped"

	netVPC     = "vpc"
	netClassic = "classic"

	groupNormal     = "normal"
	groupEnterprise = "enterprise"

	eniPrimary   = "Primary"
	eniSecondary = "Secondary"
	eniAvailable = "Available"
	eniInUse     = "InUse"

	resInstance = "instance"
	resGroup    = "securitygroup"
	resENI      = "eni"
)

// idSet is a sorted set of IDs. Insert and remove are O(n) memmoves, which
// stays cheap for the 10^4–10^5 members an emulator holds, and listing from
// a position is a binary search, which keeps paging O(page).
type idSet []string

func (s *idSet) add(id string) {
	i := sort.SearchStrings(*s, id)
	if i < len(*s) && (*s)[i] == id {
		return
	}
	*s = append(*s, "")
	copy((*s)[i+1:], (*s)[i:])
	(*s)[i] = id
}

func (s *idSet) remove(id string) {
	i := sort.SearchStrings(*s, id)
	if i < len(*s) && (*s)[i] == id {
		*s = append((*s)[:i], (*s)[i+1:]...)
	}
}

// after returns the index of the first element greater than id.
func (s idSet) after(id string) int {
	i := sort.SearchStrings(s, id)
	if i < len(s) && s[i] == id {
		i++
	}
	return i
}

type tag struct {
	Key   string
	Value string
}

// tagList keeps insertion order (which the API echoes) and is short (≤ 20).
type tagList []tag

func (t tagList) get(k string) (string, bool) {
	for _, x := range t {
		if x.Key == k {
			return x.Value, true
		}
	}
	return "", false
}

type region struct {
	ID        string
	LocalName string
	Zones     []string
	Classic   bool

	vpcs          idSet
	groups        idSet
	instances     idSet
	enis          idSet
	templates     idSet
	classicGroups idSet
}

type vpc struct {
	ID, RegionID, Name, CidrBlock string
	vswitches                     idSet
	groups                        idSet
	instances                     idSet
}

type vswitch struct {
	ID, VpcID, ZoneID, Name, CidrBlock string
	base                               uint32 // network address
	size                               uint32 // number of addresses
	next                               uint32 // next host offset to hand out
}

type instance struct {
	ID, Name, Description, RegionID, ZoneID string
	VpcID, VSwitchID                        string // empty for classic
	ImageID, InstanceType                   string
	NetworkType                             string
	Status                                  string
	CreatedAt                               time.Time
	// nextAt is when the current transitional status (Pending, Starting,
	// Stopping) ends; zero for stable statuses.
	nextAt     time.Time
	Groups     []string // membership, in join order
	Tags       tagList
	GroupLimit int // 0: the service default
	PrivateIP  string
	MAC        string
	PrimaryENI string // VPC only
	ENIs       idSet  // attached secondary ENIs
}

type rule struct {
	ID                      string
	Direction               string // ingress / egress
	Protocol                string // lower case
	PortRange               string
	SourcePortRange         string
	SourceCidrIP            string
	Ipv6SourceCidrIP        string
	SourceGroupID           string
	SourceGroupOwnerAccount string
	SourcePrefixListID      string
	DestCidrIP              string
	Ipv6DestCidrIP          string
	DestGroupID             string
	DestGroupOwnerAccount   string
	DestPrefixListID        string
	Policy                  string // lower case
	Priority                int
	NicType                 string
	Description             string
	CreatedAt               time.Time
}

// peerGroup is the group a rule references (source for ingress, destination
// for egress), or "".
func (r *rule) peerGroup() string {
	if r.SourceGroupID != "" {
		return r.SourceGroupID
	}
	return r.DestGroupID
}

// identity is what makes two rules the same rule (§2.10): everything except
// priority, description, ID and time.
func (r *rule) identity() string {
	return r.Direction + "|" + r.Protocol + "|" + r.PortRange + "|" + r.SourcePortRange + "|" + r.NicType + "|" +
		r.Policy + "|" + r.DestCidrIP + "|" + r.Ipv6DestCidrIP + "|" + r.DestGroupID + "|" + r.DestPrefixListID + "|" +
		r.SourceCidrIP + "|" + r.Ipv6SourceCidrIP + "|" + r.SourceGroupID + "|" + r.SourcePrefixListID
}

type group struct {
	ID, Name, Description, RegionID string
	VpcID                           string // empty for classic
	Type                            string
	ResourceGroupID                 string
	ServiceManaged                  bool
	ServiceID                       int64
	DeletionProtection              bool
	InnerAccessPolicy               string
	CreatedAt                       time.Time
	Rules                           []*rule
	Tags                            tagList
	members                         idSet // instance IDs
	eniMembers                      idSet // secondary ENI IDs
}

func (g *group) networkType() string {
	if g.VpcID == "" {
		return netClassic
	}
	return netVPC
}

type eni struct {
	ID, Name, Description, RegionID, ZoneID string
	VpcID, VSwitchID                        string
	Type                                    string // Primary / Secondary
	Status                                  string
	InstanceID                              string
	PrivateIP                               string
	MAC                                     string
	Groups                                  []string // secondary ENIs only; primary ENIs use the instance's
	Tags                                    tagList
	CreatedAt                               time.Time
	GroupLimit                              int
}

type templateVersion struct {
	Number            int64
	Description       string
	CreatedAt         time.Time
	ImageID           string
	InstanceType      string
	InstanceName      string
	VpcID             string
	VSwitchID         string
	ZoneID            string
	SecurityGroupID   string
	SecurityGroupIDs  []string
	NetworkInterfaces []templateNIC
	Tags              tagList
}

type templateNIC struct {
	SecurityGroupID  string
	SecurityGroupIDs []string
	VSwitchID        string
	Type             string
}

type template struct {
	ID, Name, RegionID string
	CreatedAt          time.Time
	ModifiedAt         time.Time
	DefaultVersion     int64
	Versions           []*templateVersion // ascending by Number
	Tags               tagList
}

func (t *template) latest() int64 {
	if len(t.Versions) == 0 {
		return 0
	}
	return t.Versions[len(t.Versions)-1].Number
}

// world is the whole emulated account. Every field is guarded by Service.mu.
type world struct {
	regions   map[string]*region
	regionIDs []string
	vpcs      map[string]*vpc
	vswitches map[string]*vswitch
	instances map[string]*instance
	groups    map[string]*group
	enis      map[string]*eni
	templates map[string]*template
	// deleted records every group deletion (DeletedGroups).
	deleted []DeletedGroup

	// refs[target][referrer] counts rules of referrer naming target
	// (self-references included; callers skip them where they do not count).
	refs map[string]map[string]int
	// tagIndex maps region|type|key|value and region|type|key| (key only) to
	// the sorted IDs carrying that tag.
	tagIndex map[string]*idSet
	// transitional holds instances in Pending, Starting or Stopping.
	transitional map[string]*instance
	// clientTokens maps action|token to the IDs the first call returned.
	clientTokens map[string][]string

	classicNext uint32 // next classic inner IP offset in 10.0.0.0/8
	macNext     uint32
}

func newWorld() *world {
	return &world{
		regions:      map[string]*region{},
		vpcs:         map[string]*vpc{},
		vswitches:    map[string]*vswitch{},
		instances:    map[string]*instance{},
		groups:       map[string]*group{},
		enis:         map[string]*eni{},
		templates:    map[string]*template{},
		refs:         map[string]map[string]int{},
		tagIndex:     map[string]*idSet{},
		transitional: map[string]*instance{},
		clientTokens: map[string][]string{},
	}
}

func tagKeyIndex(regionID, resType, key string) string {
	return regionID + "|" + resType + "|" + key + "|"
}

func tagPairIndex(regionID, resType, key, value string) string {
	return regionID + "|" + resType + "|" + key + "|\x00" + value
}

func (w *world) indexTags(regionID, resType, id string, tags tagList, add bool) {
	for _, t := range tags {
		for _, k := range []string{tagKeyIndex(regionID, resType, t.Key), tagPairIndex(regionID, resType, t.Key, t.Value)} {
			s := w.tagIndex[k]
			if add {
				if s == nil {
					s = &idSet{}
					w.tagIndex[k] = s
				}
				s.add(id)
			} else if s != nil {
				s.remove(id)
				if len(*s) == 0 {
					delete(w.tagIndex, k)
				}
			}
		}
	}
}

// tagged returns the sorted IDs of resType in regionID carrying tag f (any
// value when f.Value is empty and keyOnly is set).
func (w *world) tagged(regionID, resType string, f tagFilter) idSet {
	k := tagPairIndex(regionID, resType, f.Key, f.Value)
	if f.KeyOnly {
		k = tagKeyIndex(regionID, resType, f.Key)
	}
	if s := w.tagIndex[k]; s != nil {
		return *s
	}
	return nil
}

func (w *world) addRef(target, referrer string) {
	if target == "" {
		return
	}
	m := w.refs[target]
	if m == nil {
		m = map[string]int{}
		w.refs[target] = m
	}
	m[referrer]++
}

func (w *world) dropRef(target, referrer string) {
	m := w.refs[target]
	if m == nil {
		return
	}
	if m[referrer]--; m[referrer] <= 0 {
		delete(m, referrer)
	}
	if len(m) == 0 {
		delete(w.refs, target)
	}
}

// referrers returns the sorted IDs of other groups whose rules name target.
func (w *world) referrers(target string) []string {
	var out []string
	for id := range w.refs[target] {
		if id != target {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// groupLimit is the per-instance group limit that applies to in.
func (s *Service) instanceGroupLimit(in *instance) int {
	if in.GroupLimit > 0 {
		return in.GroupLimit
	}
	return s.opts.GroupsPerInstance
}

func (s *Service) eniGroupLimit(e *eni) int {
	if e.GroupLimit > 0 {
		return e.GroupLimit
	}
	return s.opts.GroupsPerInstance
}

func (s *Service) groupCapacity(g *group) int {
	if g.Type == groupEnterprise {
		return s.opts.InstancesPerEnterpriseGroup
	}
	return s.opts.InstancesPerBasicGroup
}

func contains(list []string, id string) bool {
	for _, x := range list {
		if x == id {
			return true
		}
	}
	return false
}

func without(list []string, id string) []string {
	out := make([]string, 0, len(list))
	for _, x := range list {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}

// narrowByTags returns the shortest of cands and the tag-index sets of the
// filters: every listed resource must carry all the filter tags, so any of
// those sorted sets is a valid candidate list.
func (w *world) narrowByTags(cands []string, regionID, resType string, tags []tagFilter) []string {
	for _, f := range tags {
		if t := w.tagged(regionID, resType, f); len(t) < len(cands) {
			cands = t
		}
	}
	return cands
}
