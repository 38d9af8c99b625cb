package cleanup_test

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/usecase/cleanup"
)

// fakeECS is a small in-memory ECS with the semantics the cleanup relies
// on: group tags, instances, ENIs, rule references, launch templates,
// deletion protection and DependencyViolation on delete. It counts the API
// requests the real adapter would make (pages and batches at the API
// limits) and records the size of each port call. fault, when set, is
// consulted before every call and may fail it.
//
// Not modelled: rules themselves (references are given directly),
// eventual consistency, per-resource tag quotas.
type fakeECS struct {
	mu        sync.Mutex
	regions   map[string]*fakeRegion
	apiCalls  map[string]int   // method -> API requests
	batches   map[string][]int // method -> IDs per port call
	fault     func(method, region string) error
	deleted   []string
	protected map[string]bool // ECS deletion protection (not a tag)
}

type fakeRegion struct {
	groups    map[string]*domain.SecurityGroup
	instances []domain.Instance
	enis      []domain.NetworkInterface
	refs      map[string][]string // referenced group -> referencing groups (raw: may include itself)
	templates map[string][]string // group -> launch templates
}

func newFakeECS() *fakeECS {
	return &fakeECS{regions: map[string]*fakeRegion{}, apiCalls: map[string]int{}, batches: map[string][]int{}, protected: map[string]bool{}}
}

func (f *fakeECS) region(id string) *fakeRegion {
	r := f.regions[id]
	if r == nil {
		r = &fakeRegion{groups: map[string]*domain.SecurityGroup{}, refs: map[string][]string{}, templates: map[string][]string{}}
		f.regions[id] = r
	}
	return r
}

func (f *fakeECS) addGroups(gs ...domain.SecurityGroup) {
	for _, g := range gs {
		g := g
		g.Tags = cloneTags(g.Tags)
		f.region(g.RegionID).groups[g.ID] = &g
	}
}

func (f *fakeECS) addInstance(region, id string, groups ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.region(region)
	r.instances = append(r.instances, domain.Instance{ID: id, RegionID: region, NetworkType: domain.NetworkVPC, Status: domain.StatusRunning, GroupIDs: groups})
	r.enis = append(r.enis, domain.NetworkInterface{ID: "eni-p" + id[2:], InstanceID: id, Type: "Primary", GroupIDs: groups})
}

func (f *fakeECS) addENI(region, id string, groups ...string) {
	r := f.region(region)
	r.enis = append(r.enis, domain.NetworkInterface{ID: id, Type: "Secondary", GroupIDs: groups})
}

func (f *fakeECS) tags(region, id string) domain.Tags {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.region(region).groups[id]
	if g == nil {
		return nil
	}
	return cloneTags(g.Tags)
}

func (f *fakeECS) setTag(region, id, key, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.region(region).groups[id].Tags[key] = value
}

func cloneTags(t domain.Tags) domain.Tags {
	out := domain.Tags{}
	for k, v := range t {
		out[k] = v
	}
	return out
}

func pages(n, size int) int {
	if n == 0 {
		return 1
	}
	return (n + size - 1) / size
}

// enter counts a call and runs the fault hook; f.mu must be held.
func (f *fakeECS) enter(method, region string, requests int, ids []string) error {
	f.apiCalls[method] += requests
	if ids != nil {
		f.batches[method] = append(f.batches[method], len(ids))
	}
	if f.fault != nil {
		return f.fault(method, region)
	}
	return nil
}

func (f *fakeECS) totalCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.apiCalls {
		n += c
	}
	return n
}

func (f *fakeECS) resetCounts() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.apiCalls, f.batches = map[string]int{}, map[string][]int{}
}

func (f *fakeECS) ListGroups(_ context.Context, region string, _ domain.GroupFilter) ([]domain.SecurityGroup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.region(region)
	if err := f.enter("ListGroups", region, pages(len(r.groups), 100), nil); err != nil {
		return nil, err
	}
	out := make([]domain.SecurityGroup, 0, len(r.groups))
	for _, g := range r.groups {
		c := *g
		c.Tags = cloneTags(g.Tags)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID }) // ECS lists in descending ID order
	return out, nil
}

func (f *fakeECS) DescribeGroups(_ context.Context, region string, ids []string) ([]domain.SecurityGroup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("DescribeGroups", region, pages(len(ids), 100), ids); err != nil {
		return nil, err
	}
	var out []domain.SecurityGroup
	for _, id := range ids {
		if g := f.region(region).groups[id]; g != nil {
			c := *g
			c.Tags = cloneTags(g.Tags)
			out = append(out, c)
		}
	}
	return out, nil
}

func (f *fakeECS) ListInstances(_ context.Context, region string, _ domain.InstanceFilter) ([]domain.Instance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.region(region)
	if err := f.enter("ListInstances", region, pages(len(r.instances), 100), nil); err != nil {
		return nil, err
	}
	return append([]domain.Instance(nil), r.instances...), nil
}

func (f *fakeECS) ListNetworkInterfaces(_ context.Context, region string) ([]domain.NetworkInterface, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.region(region)
	if err := f.enter("ListNetworkInterfaces", region, pages(len(r.enis), 500), nil); err != nil {
		return nil, err
	}
	return append([]domain.NetworkInterface(nil), r.enis...), nil
}

func (f *fakeECS) GroupReferences(_ context.Context, region string, ids []string) (map[string][]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("GroupReferences", region, pages(len(ids), 10), ids); err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, id := range ids {
		for _, other := range f.region(region).refs[id] {
			if other != id { // the adapter drops self-references
				out[id] = append(out[id], other)
			}
		}
	}
	return out, nil
}

func (f *fakeECS) LaunchTemplateGroups(_ context.Context, region string) (map[string][]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("LaunchTemplateGroups", region, 1, nil); err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for g, lts := range f.region(region).templates {
		out[g] = append([]string(nil), lts...)
	}
	return out, nil
}

func (f *fakeECS) TagGroups(_ context.Context, region string, ids []string, tags domain.Tags) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("TagGroups", region, pages(len(ids), 50), ids); err != nil {
		return err
	}
	for _, id := range ids {
		g := f.region(region).groups[id]
		if g == nil {
			return domain.Errorf(domain.KindNotFound, "ecs TagResources "+id, "InvalidResourceId.NotFound", "no such group")
		}
		for k, v := range tags {
			g.Tags[k] = v
		}
	}
	return nil
}

func (f *fakeECS) UntagGroups(_ context.Context, region string, ids []string, keys []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("UntagGroups", region, pages(len(ids), 50), ids); err != nil {
		return err
	}
	for _, id := range ids {
		if g := f.region(region).groups[id]; g != nil {
			for _, k := range keys {
				delete(g.Tags, k)
			}
		}
	}
	return nil
}

func (f *fakeECS) DeleteGroup(_ context.Context, region, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("DeleteGroup", region, 1, nil); err != nil {
		return err
	}
	r := f.region(region)
	g := r.groups[id]
	op := "ecs DeleteSecurityGroup " + id
	if g == nil {
		return domain.Errorf(domain.KindNotFound, op, "InvalidSecurityGroupId.NotFound", "The specified security group is not found.")
	}
	if g.ServiceManaged {
		return &domain.Error{Kind: domain.KindPermanent, Op: op, Code: "InvalidOperation.ResourceManagedByCloudProduct", Err: domain.ErrDeletionProtected}
	}
	if f.protected[id] {
		return &domain.Error{Kind: domain.KindPermanent, Op: op, Code: "InvalidOperation.DeletionProtection", Err: domain.ErrDeletionProtected}
	}
	for _, e := range r.enis {
		for _, gid := range e.GroupIDs {
			if gid == id {
				return &domain.Error{Kind: domain.KindConflict, Op: op, Code: "DependencyViolation",
					Err: fmt.Errorf("%w: There is still instance(s) in the specified security group.", domain.ErrInUse)}
			}
		}
	}
	for _, other := range r.refs[id] {
		if other != id {
			return &domain.Error{Kind: domain.KindConflict, Op: op, Code: "DependencyViolation",
				Err: fmt.Errorf("%w: The specified security group has been authorized in another one.", domain.ErrInUse)}
		}
	}
	delete(r.groups, id)
	f.deleted = append(f.deleted, id)
	return nil
}

// fakeQueue records the tasks sent.
type fakeQueue struct {
	mu      sync.Mutex
	tasks   []domain.Task
	batches []int
	fault   func() error
}

func (q *fakeQueue) SendTasks(_ context.Context, tasks []domain.Task) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.batches = append(q.batches, len(tasks))
	if q.fault != nil {
		if err := q.fault(); err != nil {
			return err
		}
	}
	for _, t := range tasks {
		if err := t.Validate(); err != nil {
			return err
		}
	}
	q.tasks = append(q.tasks, tasks...)
	return nil
}

func (q *fakeQueue) take() []domain.Task {
	q.mu.Lock()
	defer q.mu.Unlock()
	t := q.tasks
	q.tasks = nil
	return t
}

var (
	_ cleanup.ECS        = (*fakeECS)(nil)
	_ cleanup.DeleterECS = (*fakeECS)(nil)
	_ cleanup.TaskSender = (*fakeQueue)(nil)
)
