package cleanup_test

import (
	"context"
	"sort"
	"sync"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
)

// fakeECS is the shared fake.ECS (whose semantics the conformance suite
// testkit/ecstest holds against ecsapi on localcloud) with a test's
// bookkeeping on top: it counts the API requests the real adapter would
// make for each port call (pages and batches at the API limits, which the
// fake itself does not model), records the IDs per port call, offers a
// fault hook per method and region, and lists the groups deleted. The
// scene builders below are shorthands for fake.ECS builders; none adds
// behaviour of its own.
type fakeECS struct {
	*fake.ECS

	mu        sync.Mutex
	apiCalls  map[string]int   // method -> API requests
	batches   map[string][]int // method -> IDs per port call
	fault     func(method, region string) error
	pageHook  func(page int) error // before each page of ListGroupPages, from 1
	deleted   []string
	templates map[string]*fake.LaunchTemplate // by ID, to add groups to one template
	quiet     bool                            // scene changes: not counted, no faults
}

// Page sizes of the list calls (what one API request returns at most).
var pageSize = map[string]int{"ListGroups": 100, "ListInstances": 100, "ListNetworkInterfaces": 500}

// Batch sizes of the ID-list calls (IDs one API request accepts).
var batchSize = map[string]int{"DescribeGroups": 100, "GroupReferences": 10, "TagGroups": 50, "UntagGroups": 50}

func newFakeECS() *fakeECS {
	f := &fakeECS{ECS: fake.NewECS(), apiCalls: map[string]int{}, batches: map[string][]int{},
		templates: map[string]*fake.LaunchTemplate{}}
	f.SetInterceptor(f.intercept)
	return f
}

// intercept counts a call (list calls are counted by their page count once
// answered) and runs the fault hook.
func (f *fakeECS) intercept(_ context.Context, method string, args []any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.quiet {
		return nil
	}
	var region string
	var ids []string
	idList := false
	if len(args) > 0 {
		region, _ = args[0].(string)
	}
	if len(args) > 1 {
		ids, idList = args[1].([]string)
	}
	_, list := pageSize[method]
	switch {
	case idList:
		f.batches[method] = append(f.batches[method], len(ids))
		f.apiCalls[method] += pages(len(ids), batchSize[method])
	case !list: // lists count their pages once answered
		f.apiCalls[method]++
	}
	if f.fault != nil {
		return f.fault(method, region)
	}
	return nil
}

func pages(n, size int) int {
	if n == 0 || size == 0 {
		return 1
	}
	return (n + size - 1) / size
}

func (f *fakeECS) countPages(method string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.apiCalls[method] += pages(n, pageSize[method])
}

func (f *fakeECS) ListGroups(ctx context.Context, region string, filter domain.GroupFilter) ([]domain.SecurityGroup, error) {
	out, err := f.ECS.ListGroups(ctx, region, filter)
	f.countPages("ListGroups", len(out))
	return out, err
}

// ListGroupPages counts the pages it hands over, and runs the page hook
// (when set) before each page: a test may hold the listing there.
func (f *fakeECS) ListGroupPages(ctx context.Context, region string, filter domain.GroupFilter, page func([]domain.SecurityGroup) error) error {
	n := 0
	return f.ECS.ListGroupPages(ctx, region, filter, func(groups []domain.SecurityGroup) error {
		f.countPages("ListGroups", len(groups))
		n++
		if f.pageHook != nil {
			if err := f.pageHook(n); err != nil {
				return err
			}
		}
		return page(groups)
	})
}

func (f *fakeECS) ListInstances(ctx context.Context, region string, filter domain.InstanceFilter) ([]domain.Instance, error) {
	out, err := f.ECS.ListInstances(ctx, region, filter)
	f.countPages("ListInstances", len(out))
	return out, err
}

func (f *fakeECS) ListNetworkInterfaces(ctx context.Context, region string) ([]domain.NetworkInterface, error) {
	out, err := f.ECS.ListNetworkInterfaces(ctx, region)
	f.countPages("ListNetworkInterfaces", len(out))
	return out, err
}

// DeleteGroup records the groups it deleted.
func (f *fakeECS) DeleteGroup(ctx context.Context, region, id string) error {
	err := f.ECS.DeleteGroup(ctx, region, id)
	if err == nil {
		f.mu.Lock()
		f.deleted = append(f.deleted, id)
		f.mu.Unlock()
	}
	return err
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

// scene runs a change of the scene through the fake's own API, uncounted.
func (f *fakeECS) scene(change func(ctx context.Context) error) {
	f.mu.Lock()
	f.quiet = true
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.quiet = false
		f.mu.Unlock()
	}()
	if err := change(context.Background()); err != nil {
		panic("fakeECS scene change: " + err.Error())
	}
}

func (f *fakeECS) addGroups(gs ...domain.SecurityGroup) {
	for _, g := range gs {
		f.AddGroup(g)
	}
}

// addInstance adds a running VPC instance (with its primary ENI) in groups.
func (f *fakeECS) addInstance(region, id string, groups ...string) {
	f.AddInstance(domain.Instance{ID: id, RegionID: region, VPCID: vpc, GroupIDs: groups})
}

// addENI adds a secondary ENI in groups.
func (f *fakeECS) addENI(_, id string, groups ...string) {
	f.AddENI(domain.NetworkInterface{ID: id, GroupIDs: groups})
}

// addReference makes group referenced by the rules of each of by; a
// referencing group that does not exist is added, out of scope.
func (f *fakeECS) addReference(region, group string, by ...string) {
	for _, other := range by {
		if _, ok := f.Group(other); !ok {
			f.AddGroup(domain.SecurityGroup{ID: other, RegionID: region, VPCID: vpc, Name: "peer-" + other[3:]})
		}
		f.AddRule(other, group)
	}
}

// addToTemplate makes launch template lt (in region) name group.
func (f *fakeECS) addToTemplate(region, group, lt string) {
	t := f.templates[lt]
	if t == nil {
		t = &fake.LaunchTemplate{ID: lt, RegionID: region, Versions: [][]string{nil}}
		f.templates[lt] = t
	}
	t.Versions[0] = append(t.Versions[0], group)
	f.AddLaunchTemplate(*t)
}

func (f *fakeECS) setTag(region, id, key, value string) {
	f.scene(func(ctx context.Context) error {
		return f.ECS.TagGroups(ctx, region, []string{id}, domain.Tags{key: value})
	})
}

func (f *fakeECS) untag(region, id, key string) {
	f.scene(func(ctx context.Context) error {
		return f.ECS.UntagGroups(ctx, region, []string{id}, []string{key})
	})
}

// removeGroup deletes a group behind the test's back.
func (f *fakeECS) removeGroup(region, id string) {
	f.scene(func(ctx context.Context) error { return f.ECS.DeleteGroup(ctx, region, id) })
}

func (f *fakeECS) tags(_, id string) domain.Tags {
	g, ok := f.Group(id)
	if !ok {
		return nil
	}
	return g.Tags
}

// groupIDs lists a region's groups.
func (f *fakeECS) groupIDs(region string) []string {
	var ids []string
	f.scene(func(ctx context.Context) error {
		gs, err := f.ECS.ListGroups(ctx, region, domain.GroupFilter{})
		for _, g := range gs {
			ids = append(ids, g.ID)
		}
		return err
	})
	sort.Strings(ids)
	return ids
}

// fakeQueue is the shared fake.Queue (held to mnsqueue by testkit/queuetest)
// with a log of its send calls.
type fakeQueue struct {
	*fake.Queue

	mu    sync.Mutex
	sends []int // tasks per send call
}

func newFakeQueue() *fakeQueue {
	q := &fakeQueue{Queue: fake.NewQueue(fake.QueueOptions{Name: "work"})}
	q.SetInterceptor(func(c fake.QueueCall) fake.QueueFault {
		if c.Op == fake.QueueOpSend {
			q.mu.Lock()
			q.sends = append(q.sends, len(c.Items))
			q.mu.Unlock()
		}
		return fake.QueueFault{}
	})
	return q
}

// batches lists the number of tasks of each send call.
func (q *fakeQueue) batches() []int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]int(nil), q.sends...)
}

// tasks decodes the tasks on the queue, in enqueue order.
func (q *fakeQueue) tasks() []domain.Task {
	var out []domain.Task
	for _, m := range q.Snapshot().Messages {
		t, err := domain.DecodeTask(m.Body)
		if err != nil {
			panic("fakeQueue: a message that is not a task: " + err.Error())
		}
		out = append(out, t)
	}
	return out
}

// take receives and deletes every task on the queue, as a worker would.
func (q *fakeQueue) take() []domain.Task {
	ctx := context.Background()
	var out []domain.Task
	for {
		ds, err := q.Receive(ctx, fake.QueueMaxBatch, 0)
		if err != nil {
			panic("fakeQueue.take: " + err.Error())
		}
		if len(ds) == 0 {
			return out
		}
		handles := make([]string, len(ds))
		for i, d := range ds {
			t, err := domain.DecodeTask(d.Body)
			if err != nil {
				panic("fakeQueue.take: " + err.Error())
			}
			out = append(out, t)
			handles[i] = d.ReceiptHandle
		}
		if err := q.Delete(ctx, handles); err != nil {
			panic("fakeQueue.take: " + err.Error())
		}
	}
}
