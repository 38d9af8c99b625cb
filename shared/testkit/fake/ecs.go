package fake

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsnames"
)

// DefaultRegion is the region of resources added without one.
const DefaultRegion = "cn-hangzhou"

// maxTagsPerGroup is ECS's per-resource tag quota.
const maxTagsPerGroup = 20

// LaunchTemplate is a launch template: its versions (numbered from 1) each
// name some security groups; DefaultVersion 0 means 1.
type LaunchTemplate struct {
	ID             string
	RegionID       string
	Versions       [][]string
	DefaultVersion int
}

// ECS is an in-memory ECS account. The zero value is not usable; call NewECS.
// All methods are safe for concurrent use.
type ECS struct {
	mu         sync.Mutex
	now        func() time.Time
	groupLimit int
	seq        int

	vpcs      map[string]string // VPC ID → region
	instances map[string]*fInstance
	groups    map[string]*fGroup
	enis      map[string]*fENI
	refs      map[string]map[string]bool // group → groups its rules name
	templates map[string]*LaunchTemplate
	rules     *ruleBook // rules.go: rule content, VPC ranges, vSwitches

	calls       map[string]int
	failNext    map[string][]error
	interceptor func(ctx context.Context, method string, args []any) error
}

type fInstance struct {
	domain.Instance
	limit      int
	primaryENI string
}

type fGroup struct {
	domain.SecurityGroup
	protected bool
}

type fENI struct {
	domain.NetworkInterface
	region string
}

// NewECS returns an empty account whose instances may each be in
// domain.DefaultGroupsPerInstance groups.
func NewECS() *ECS {
	return &ECS{
		now:        time.Now,
		groupLimit: domain.DefaultGroupsPerInstance,
		vpcs:       map[string]string{},
		instances:  map[string]*fInstance{},
		groups:     map[string]*fGroup{},
		enis:       map[string]*fENI{},
		refs:       map[string]map[string]bool{},
		templates:  map[string]*LaunchTemplate{},
		calls:      map[string]int{},
		failNext:   map[string][]error{},
	}
}

// --- builders ---------------------------------------------------------------

// SetNow sets the clock used for the creation time of new groups.
func (e *ECS) SetNow(now func() time.Time) *ECS {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = now
	return e
}

// SetDefaultGroupLimit sets the per-instance group limit of instances that
// have none of their own.
func (e *ECS) SetDefaultGroupLimit(n int) *ECS {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.groupLimit = n
	return e
}

// AddVPC registers a VPC (instances and groups register theirs implicitly).
func (e *ECS) AddVPC(regionID, vpcID string) *ECS {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.vpcs[vpcID] = orDefault(regionID, DefaultRegion)
	return e
}

func (e *ECS) newID(prefix string) string {
	e.seq++
	return fmt.Sprintf("%sfake%08d", prefix, e.seq)
}

// AddGroup adds a security group and returns its ID. Empty fields take
// defaults: a generated ID, DefaultRegion, type "normal", creation now.
func (e *ECS) AddGroup(g domain.SecurityGroup) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if g.ID == "" {
		g.ID = e.newID("sg-")
	}
	if _, dup := e.groups[g.ID]; dup {
		panic("fake.ECS.AddGroup: duplicate group " + g.ID)
	}
	g.RegionID = orDefault(g.RegionID, DefaultRegion)
	g.Type = orDefault(g.Type, "normal")
	if g.CreationTime.IsZero() {
		g.CreationTime = e.now().UTC().Truncate(time.Second)
	}
	g.Tags = copyTags(g.Tags)
	if g.VPCID != "" {
		e.vpcs[g.VPCID] = g.RegionID
	}
	e.groups[g.ID] = &fGroup{SecurityGroup: g}
	return g.ID
}

// SetDeletionProtection turns a group's deletion protection on or off.
func (e *ECS) SetDeletionProtection(groupID string, on bool) *ECS {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.mustGroup("SetDeletionProtection", groupID).protected = on
	return e
}

// AddRule records that a rule of groupID names peerGroupID (as source or
// destination), which makes peerGroupID referenced by groupID.
func (e *ECS) AddRule(groupID, peerGroupID string) *ECS {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.mustGroup("AddRule", groupID)
	e.mustGroup("AddRule", peerGroupID)
	if e.refs[groupID] == nil {
		e.refs[groupID] = map[string]bool{}
	}
	e.refs[groupID][peerGroupID] = true
	return e
}

// AddInstance adds an instance and returns its ID. Empty fields take
// defaults: a generated ID, DefaultRegion, network type from VPCID, status
// Running. Its groups must exist; a VPC instance gets a primary ENI.
func (e *ECS) AddInstance(in domain.Instance) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if in.ID == "" {
		in.ID = e.newID("i-")
	}
	if _, dup := e.instances[in.ID]; dup {
		panic("fake.ECS.AddInstance: duplicate instance " + in.ID)
	}
	in.RegionID = orDefault(in.RegionID, DefaultRegion)
	if in.NetworkType == "" {
		in.NetworkType = domain.NetworkClassic
		if in.VPCID != "" {
			in.NetworkType = domain.NetworkVPC
		}
	}
	if in.Status == "" {
		in.Status = domain.StatusRunning
	}
	in.Tags = copyTags(in.Tags)
	in.GroupIDs = append([]string(nil), in.GroupIDs...)
	for _, g := range in.GroupIDs {
		e.mustGroup("AddInstance", g)
	}
	fi := &fInstance{Instance: in}
	if in.VPCID != "" {
		e.vpcs[in.VPCID] = in.RegionID
		fi.primaryENI = e.newID("eni-")
	}
	e.instances[in.ID] = fi
	return in.ID
}

// RemoveInstance deletes an instance (released at once, with its primary
// ENI and memberships); an unknown ID is a test bug and panics.
func (e *ECS) RemoveInstance(instanceID string) *ECS {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.mustInstance("RemoveInstance", instanceID)
	delete(e.instances, instanceID)
	return e
}

// SetStatus changes an instance's status.
func (e *ECS) SetStatus(instanceID string, s domain.InstanceStatus) *ECS {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.mustInstance("SetStatus", instanceID).Status = s
	return e
}

// SetGroupLimit sets one instance's group limit (its quota).
func (e *ECS) SetGroupLimit(instanceID string, n int) *ECS {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.mustInstance("SetGroupLimit", instanceID).limit = n
	return e
}

// AddENI adds a secondary network interface (Type "" means Secondary) and
// returns its ID. Its region is its instance's, else its first group's.
func (e *ECS) AddENI(n domain.NetworkInterface) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if n.ID == "" {
		n.ID = e.newID("eni-")
	}
	n.Type = orDefault(n.Type, "Secondary")
	n.GroupIDs = append([]string(nil), n.GroupIDs...)
	region := DefaultRegion
	for _, g := range n.GroupIDs {
		region = e.mustGroup("AddENI", g).RegionID
	}
	if n.InstanceID != "" {
		region = e.mustInstance("AddENI", n.InstanceID).RegionID
	}
	e.enis[n.ID] = &fENI{NetworkInterface: n, region: region}
	return n.ID
}

// AddLaunchTemplate adds a launch template and returns its ID.
func (e *ECS) AddLaunchTemplate(t LaunchTemplate) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t.ID == "" {
		t.ID = e.newID("lt-")
	}
	t.RegionID = orDefault(t.RegionID, DefaultRegion)
	if t.DefaultVersion == 0 {
		t.DefaultVersion = 1
	}
	if t.DefaultVersion < 1 || t.DefaultVersion > len(t.Versions) {
		panic(fmt.Sprintf("fake.ECS.AddLaunchTemplate: default version %d of %d", t.DefaultVersion, len(t.Versions)))
	}
	vs := make([][]string, len(t.Versions))
	for i, v := range t.Versions {
		vs[i] = append([]string(nil), v...)
	}
	t.Versions = vs
	e.templates[t.ID] = &t
	return t.ID
}

// Instance returns a copy of an instance as it is now.
func (e *ECS) Instance(id string) (domain.Instance, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	in, ok := e.instances[id]
	if !ok {
		return domain.Instance{}, false
	}
	return copyInstance(in.Instance), true
}

// Group returns a copy of a group as it is now.
func (e *ECS) Group(id string) (domain.SecurityGroup, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	g, ok := e.groups[id]
	if !ok {
		return domain.SecurityGroup{}, false
	}
	return copyGroup(g.SecurityGroup), true
}

func (e *ECS) mustGroup(caller, id string) *fGroup {
	g, ok := e.groups[id]
	if !ok {
		panic("fake.ECS." + caller + ": no group " + id)
	}
	return g
}

func (e *ECS) mustInstance(caller, id string) *fInstance {
	in, ok := e.instances[id]
	if !ok {
		panic("fake.ECS." + caller + ": no instance " + id)
	}
	return in
}

// --- call accounting and fault injection ------------------------------------

// Calls returns how many times method (e.g. "JoinGroup") was called.
func (e *ECS) Calls(method string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls[method]
}

// CallCounts returns the call count of every method called so far.
func (e *ECS) CallCounts() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int, len(e.calls))
	for k, v := range e.calls {
		out[k] = v
	}
	return out
}

// FailNext makes the next call of method return err instead of doing its
// work. Several calls queue up, one error per call.
func (e *ECS) FailNext(method string, err error) *ECS {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failNext[method] = append(e.failNext[method], err)
	return e
}

// SetInterceptor installs fn, called before every method with its name and
// arguments (after the context); a non-nil error is returned instead of
// doing the work. nil removes it. fn runs without the fake's lock held, so it
// may call the fake's builders.
func (e *ECS) SetInterceptor(fn func(ctx context.Context, method string, args []any) error) *ECS {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.interceptor = fn
	return e
}

// enter counts the call and applies context and injected faults. On nil the
// caller does the work (taking the lock itself).
func (e *ECS) enter(ctx context.Context, method, op string, args ...any) error {
	e.mu.Lock()
	e.calls[method]++
	var injected error
	if q := e.failNext[method]; len(q) > 0 {
		injected = q[0]
		e.failNext[method] = q[1:]
	}
	fn := e.interceptor
	e.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return domain.Wrap(domain.KindOf(err), op, "", err) // KindCanceled or KindDeadline
	}
	if fn != nil {
		if err := fn(ctx, method, args); err != nil {
			return err
		}
	}
	return injected
}

// --- the ECS method set -------------------------------------------------------

// DescribeInstances returns the instances among ids; unknown IDs are absent.
func (e *ECS) DescribeInstances(ctx context.Context, regionID string, ids []string) ([]domain.Instance, error) {
	region := orDefault(regionID, DefaultRegion)
	if err := e.enter(ctx, "DescribeInstances", "ecs DescribeInstances in "+region, regionID, ids); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []domain.Instance
	for _, id := range domain.SortedUnique(ids) {
		if in, ok := e.instances[id]; ok && in.RegionID == region {
			out = append(out, copyInstance(in.Instance))
		}
	}
	return out, nil
}

// ListInstances returns the region's instances matching f.
func (e *ECS) ListInstances(ctx context.Context, regionID string, f domain.InstanceFilter) ([]domain.Instance, error) {
	region := orDefault(regionID, DefaultRegion)
	if err := e.enter(ctx, "ListInstances", "ecs DescribeInstances in "+region, regionID, f); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []domain.Instance
	for _, id := range sortedKeys(e.instances) {
		in := e.instances[id]
		if in.RegionID != region || (f.VPCID != "" && in.VPCID != f.VPCID) {
			continue
		}
		if _, ok := in.Tags[f.TagKey]; f.TagKey != "" && !ok {
			continue
		}
		out = append(out, copyInstance(in.Instance))
	}
	return out, nil
}

// ListGroups returns the region's groups matching f.
func (e *ECS) ListGroups(ctx context.Context, regionID string, f domain.GroupFilter) ([]domain.SecurityGroup, error) {
	region := orDefault(regionID, DefaultRegion)
	op := "ecs DescribeSecurityGroups in " + region
	if err := e.enter(ctx, "ListGroups", op, regionID, f); err != nil {
		return nil, err
	}
	if f.TagValue != "" && f.TagKey == "" {
		return nil, domain.Errorf(domain.KindInvalid, op, "", "a TagValue filter needs a TagKey")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []domain.SecurityGroup
	for _, id := range sortedKeys(e.groups) {
		g := e.groups[id].SecurityGroup
		switch {
		case g.RegionID != region,
			f.VPCID != "" && g.VPCID != f.VPCID,
			f.NetworkType != "" && g.NetworkType() != f.NetworkType:
			continue
		}
		if f.TagKey != "" {
			v, ok := g.Tags[f.TagKey]
			if !ok || (f.TagValue != "" && v != f.TagValue) {
				continue
			}
		}
		out = append(out, copyGroup(g))
	}
	return out, nil
}

// GroupPageSize is how many groups one page of ListGroupPages holds, as
// one DescribeSecurityGroups call of the adapter does.
const GroupPageSize = 100

// ListGroupPages hands ListGroups' answer to page GroupPageSize groups at
// a time, in ID order (an empty listing is one empty page, as the API
// answers); an error from page stops it and is returned. The whole listing
// is read at once (one "ListGroups" call to the interceptor), so the pages
// are one consistent snapshot.
func (e *ECS) ListGroupPages(ctx context.Context, regionID string, f domain.GroupFilter, page func([]domain.SecurityGroup) error) error {
	all, err := e.ListGroups(ctx, regionID, f)
	if err != nil {
		return err
	}
	for {
		n := min(len(all), GroupPageSize)
		if err := page(all[:n:n]); err != nil {
			return err
		}
		if all = all[n:]; len(all) == 0 {
			return nil
		}
	}
}

// DescribeGroups returns the groups among ids; unknown IDs are absent.
func (e *ECS) DescribeGroups(ctx context.Context, regionID string, ids []string) ([]domain.SecurityGroup, error) {
	region := orDefault(regionID, DefaultRegion)
	if err := e.enter(ctx, "DescribeGroups", "ecs DescribeSecurityGroups in "+region, regionID, ids); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []domain.SecurityGroup
	for _, id := range domain.SortedUnique(ids) {
		if g, ok := e.groups[id]; ok && g.RegionID == region {
			out = append(out, copyGroup(g.SecurityGroup))
		}
	}
	return out, nil
}

// JoinGroup adds the instance to the group, checking what ECS checks.
func (e *ECS) JoinGroup(ctx context.Context, regionID, instanceID, groupID string) error {
	region := orDefault(regionID, DefaultRegion)
	op := fmt.Sprintf("ecs JoinSecurityGroup %s for %s", groupID, instanceID)
	if err := e.enter(ctx, "JoinGroup", op, regionID, instanceID, groupID); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	g, in, err := e.membership(op, region, instanceID, groupID)
	if err != nil {
		return err
	}
	limit := in.limit
	if limit == 0 {
		limit = e.groupLimit
	}
	switch {
	case contains(in.GroupIDs, groupID):
		return apiErr(domain.KindConflict, op, "InvalidInstanceId.AlreadyExists", domain.ErrAlreadyMember, 403,
			"The specified instance already exists in the specified security group.")
	case g.VPCID != in.VPCID:
		return apiErr(domain.KindPermanent, op, "InvalidInstanceId.Mismatch", domain.ErrNetworkMismatch, 400,
			"Specified instance and security group are not in the same VPC.")
	case len(in.GroupIDs) >= limit:
		return apiErr(domain.KindPermanent, op, "InstanceSecurityGroupLimitExceeded", domain.ErrGroupLimit, 400,
			"Exceeding the allowed amount of security groups that an instance can be in.")
	case e.mixesTypes(in.GroupIDs, g):
		return apiErr(domain.KindPermanent, op, "InvalidOperation.MultiGroupType", nil, 400,
			"Basic and enterprise security groups cannot be mixed.")
	}
	in.GroupIDs = append(in.GroupIDs, groupID)
	return nil
}

func (e *ECS) mixesTypes(ids []string, g *fGroup) bool {
	for _, id := range ids {
		if o, ok := e.groups[id]; ok && o.Type != g.Type {
			return true
		}
	}
	return false
}

// CreateGroup creates a group with its tags and returns its ID.
func (e *ECS) CreateGroup(ctx context.Context, regionID string, spec domain.GroupSpec) (string, error) {
	region := orDefault(regionID, DefaultRegion)
	where := "classic"
	if spec.VPCID != "" {
		where = spec.VPCID
	}
	op := fmt.Sprintf("ecs CreateSecurityGroup %q in %s", spec.Name, where)
	if err := e.enter(ctx, "CreateGroup", op, regionID, spec); err != nil {
		return "", err
	}
	switch {
	case len(spec.Tags) > maxTagsPerGroup:
		return "", domain.Errorf(domain.KindInvalid, op, "", "%d tags, ECS accepts at most %d on a group", len(spec.Tags), maxTagsPerGroup)
	case spec.Name != "" && !ecsnames.ValidGroupName(spec.Name):
		return "", apiErr(domain.KindInvalid, op, "InvalidSecurityGroupName.Malformed", nil, 400,
			"The specified parameter SecurityGroupName is not valid: %q.", spec.Name)
	case spec.Description != "" && !ecsnames.ValidDescription(spec.Description):
		return "", apiErr(domain.KindInvalid, op, "InvalidDescription.Malformed", nil, 400,
			"The specified parameter Description is not valid.")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if spec.VPCID != "" && e.vpcs[spec.VPCID] != region {
		return "", apiErr(domain.KindNotFound, op, "InvalidVpcId.NotFound", nil, 404,
			"The specified VpcId does not exist. (%s)", spec.VPCID)
	}
	id := e.newID("sg-")
	e.groups[id] = &fGroup{SecurityGroup: domain.SecurityGroup{
		ID: id, Name: spec.Name, Description: spec.Description, RegionID: region, VPCID: spec.VPCID,
		Type: "normal", Tags: copyTags(spec.Tags), CreationTime: e.now().UTC().Truncate(time.Second),
	}}
	return id, nil
}

// TagGroups sets tags on groups; every group must exist.
func (e *ECS) TagGroups(ctx context.Context, regionID string, groupIDs []string, tags domain.Tags) error {
	region := orDefault(regionID, DefaultRegion)
	op := fmt.Sprintf("ecs TagResources %s on %s", strings.Join(sortedKeys(tags), ","), strings.Join(groupIDs, ","))
	if err := e.enter(ctx, "TagGroups", op, regionID, groupIDs, tags); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	gs, err := e.tagTargets(op, region, groupIDs)
	if err != nil {
		return err
	}
	for _, g := range gs {
		n := len(g.Tags)
		for k := range tags {
			if _, ok := g.Tags[k]; !ok {
				n++
			}
		}
		if n > maxTagsPerGroup {
			return apiErr(domain.KindPermanent, op, "QuotaExceed.Tags", nil, 403,
				"The number of tags on resource %s would exceed %d.", g.ID, maxTagsPerGroup)
		}
	}
	for _, g := range gs {
		if g.Tags == nil {
			g.Tags = domain.Tags{}
		}
		for k, v := range tags {
			g.Tags[k] = v
		}
	}
	return nil
}

// UntagGroups removes tag keys from groups; every group must exist.
func (e *ECS) UntagGroups(ctx context.Context, regionID string, groupIDs []string, keys []string) error {
	region := orDefault(regionID, DefaultRegion)
	op := fmt.Sprintf("ecs UntagResources %s on %s", strings.Join(keys, ","), strings.Join(groupIDs, ","))
	if err := e.enter(ctx, "UntagGroups", op, regionID, groupIDs, keys); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	gs, err := e.tagTargets(op, region, groupIDs)
	if err != nil {
		return err
	}
	for _, g := range gs {
		for _, k := range keys {
			delete(g.Tags, k)
		}
	}
	return nil
}

func (e *ECS) tagTargets(op, region string, ids []string) ([]*fGroup, error) {
	var out []*fGroup
	for _, id := range domain.SortedUnique(ids) {
		g, ok := e.groups[id]
		if !ok || g.RegionID != region {
			return nil, apiErr(domain.KindNotFound, op, "InvalidResourceId.NotFound", nil, 404,
				"The specified resource %s is not found.", id)
		}
		out = append(out, g)
	}
	return out, nil
}

// GroupReferences maps each queried group that other groups' rules name to
// those groups (sorted, self-references dropped, unknown IDs ignored).
func (e *ECS) GroupReferences(ctx context.Context, regionID string, groupIDs []string) (map[string][]string, error) {
	region := orDefault(regionID, DefaultRegion)
	if err := e.enter(ctx, "GroupReferences", "ecs DescribeSecurityGroupReferences", regionID, groupIDs); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string][]string{}
	for _, id := range domain.SortedUnique(groupIDs) {
		if g, ok := e.groups[id]; !ok || g.RegionID != region {
			continue
		}
		if refs := e.referrers(id); len(refs) > 0 {
			out[id] = refs
		}
	}
	return out, nil
}

func (e *ECS) referrers(id string) []string {
	var out []string
	for from, peers := range e.refs {
		if from != id && peers[id] {
			out = append(out, from)
		}
	}
	sort.Strings(out)
	return out
}

// ListNetworkInterfaces returns the region's ENIs: the secondary ones added
// with AddENI and one primary ENI per VPC instance.
func (e *ECS) ListNetworkInterfaces(ctx context.Context, regionID string) ([]domain.NetworkInterface, error) {
	region := orDefault(regionID, DefaultRegion)
	if err := e.enter(ctx, "ListNetworkInterfaces", "ecs DescribeNetworkInterfaces in "+region, regionID); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []domain.NetworkInterface
	for _, n := range e.enis {
		if n.region == region {
			c := n.NetworkInterface
			c.GroupIDs = append([]string(nil), c.GroupIDs...)
			out = append(out, c)
		}
	}
	for _, in := range e.instances {
		if in.RegionID == region && in.primaryENI != "" {
			out = append(out, domain.NetworkInterface{ID: in.primaryENI, InstanceID: in.ID, Type: "Primary",
				VPCID: in.VPCID, GroupIDs: append([]string(nil), in.GroupIDs...)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// LaunchTemplateGroups maps each group named by the default or latest
// version of a launch template of the region to those templates (sorted).
func (e *ECS) LaunchTemplateGroups(ctx context.Context, regionID string) (map[string][]string, error) {
	region := orDefault(regionID, DefaultRegion)
	if err := e.enter(ctx, "LaunchTemplateGroups", "ecs DescribeLaunchTemplates in "+region, regionID); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string][]string{}
	for _, t := range e.templates {
		if t.RegionID != region || len(t.Versions) == 0 {
			continue
		}
		named := append(append([]string(nil), t.Versions[t.DefaultVersion-1]...), t.Versions[len(t.Versions)-1]...)
		for _, g := range domain.SortedUnique(named) {
			out[g] = append(out[g], t.ID)
		}
	}
	for g, ids := range out {
		out[g] = domain.SortedUnique(ids)
	}
	return out, nil
}

// TemplateGroups maps each group named by ANY version of a launch template
// of the region to those versions, sorted by template and version.
func (e *ECS) TemplateGroups(ctx context.Context, regionID string) (map[string][]domain.TemplateVersionUse, error) {
	region := orDefault(regionID, DefaultRegion)
	if err := e.enter(ctx, "TemplateGroups", "ecs DescribeLaunchTemplates in "+region, regionID); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string][]domain.TemplateVersionUse{}
	for _, t := range e.templates {
		if t.RegionID != region {
			continue
		}
		for i, groups := range t.Versions {
			v := int64(i + 1)
			use := domain.TemplateVersionUse{TemplateID: t.ID, Version: v, Default: int(v) == t.DefaultVersion, Latest: i == len(t.Versions)-1}
			for _, g := range domain.SortedUnique(groups) {
				out[g] = append(out[g], use)
			}
		}
	}
	domain.SortTemplateUses(out)
	return out, nil
}

// DeleteGroup deletes a group unless it is protected, managed or in use.
func (e *ECS) DeleteGroup(ctx context.Context, regionID, groupID string) error {
	region := orDefault(regionID, DefaultRegion)
	op := "ecs DeleteSecurityGroup " + groupID
	if err := e.enter(ctx, "DeleteGroup", op, regionID, groupID); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	g, err := e.group(op, region, groupID)
	if err != nil {
		return err
	}
	inUse := func(msg string) error {
		return apiErr(domain.KindConflict, op, "DependencyViolation", domain.ErrInUse, 403, "%s", msg)
	}
	switch {
	case g.ServiceManaged:
		return errManaged(op, groupID)
	case g.protected:
		return apiErr(domain.KindPermanent, op, "InvalidOperation.DeletionProtection", domain.ErrDeletionProtected, 403,
			"The specified security group has deletion protection enabled.")
	case e.hasMembers(groupID):
		return inUse("There is still instance(s) in the specified security group.")
	case e.hasENIs(groupID):
		return inUse("There is still network interface(s) in the specified security group.")
	case len(e.referrers(groupID)) > 0:
		return inUse("The specified security group has been authorized in another one.")
	}
	delete(e.groups, groupID)
	delete(e.refs, groupID)
	return nil
}

func (e *ECS) hasMembers(groupID string) bool {
	for _, in := range e.instances {
		if contains(in.GroupIDs, groupID) {
			return true
		}
	}
	return false
}

func (e *ECS) hasENIs(groupID string) bool {
	for _, n := range e.enis {
		if contains(n.GroupIDs, groupID) {
			return true
		}
	}
	return false
}

// --- lookups and errors -------------------------------------------------------

func (e *ECS) group(op, region, id string) (*fGroup, error) {
	if id == "" {
		return nil, apiErr(domain.KindInvalid, op, "MissingParameter", nil, 400,
			"The input parameter \"SecurityGroupId\" that is mandatory for processing this request is not supplied.")
	}
	g, ok := e.groups[id]
	if !ok || g.RegionID != region {
		return nil, apiErr(domain.KindNotFound, op, "InvalidSecurityGroupId.NotFound", nil, 404,
			"The specified SecurityGroupId does not exist. (%s)", id)
	}
	return g, nil
}

func (e *ECS) instance(op, region, id string) (*fInstance, error) {
	if id == "" {
		return nil, apiErr(domain.KindInvalid, op, "MissingParameter", nil, 400,
			"The input parameter \"InstanceId\" that is mandatory for processing this request is not supplied.")
	}
	in, ok := e.instances[id]
	if !ok || in.RegionID != region {
		return nil, apiErr(domain.KindNotFound, op, "InvalidInstanceId.NotFound", nil, 404,
			"The specified InstanceId does not exist. (%s)", id)
	}
	return in, nil
}

func errManaged(op, id string) error {
	return apiErr(domain.KindPermanent, op, "InvalidOperation.ResourceManagedByCloudProduct", domain.ErrDeletionProtected, 403,
		"The security group %s is managed by a cloud product and cannot be changed.", id)
}

// ProviderError is the cause inside the fake's *domain.Error values: the
// code, HTTP status and message ECS would have answered.
type ProviderError struct {
	Code       string
	Message    string
	HTTPStatus int
}

func (p *ProviderError) Error() string {
	return fmt.Sprintf("%s (HTTP %d, fake)", p.Message, p.HTTPStatus)
}

// apiErr builds the error ecsapi would return for a provider answer.
func apiErr(kind domain.Kind, op, code string, sentinel error, status int, format string, args ...any) error {
	var cause error = &ProviderError{Code: code, Message: fmt.Sprintf(format, args...), HTTPStatus: status}
	if sentinel != nil {
		cause = fmt.Errorf("%w: %w", sentinel, cause)
	}
	return &domain.Error{Kind: kind, Op: op, Code: code, Err: cause}
}

// --- helpers ------------------------------------------------------------------

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func copyTags(t domain.Tags) domain.Tags {
	out := make(domain.Tags, len(t))
	for k, v := range t {
		out[k] = v
	}
	return out
}

func copyInstance(in domain.Instance) domain.Instance {
	in.Tags = copyTags(in.Tags)
	in.GroupIDs = append([]string(nil), in.GroupIDs...)
	return in
}

func copyGroup(g domain.SecurityGroup) domain.SecurityGroup {
	g.Tags = copyTags(g.Tags)
	return g
}
