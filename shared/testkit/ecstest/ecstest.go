// Package ecstest is the conformance suite of the ECS method set in
// docs/CONTRACTS.md. The same cases run against fake.ECS (shared/testkit/fake) and
// against ecsapi.Client talking to the ECS emulator (shared/adapter/ecsapi), so the
// fake cannot drift from what the adapter really returns.
//
// A case describes its starting state as a World in logical names; the
// harness builds that state in its backend and reports the real IDs.
package ecstest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// ECS is the method set under test.
type ECS interface {
	DescribeInstances(ctx context.Context, regionID string, ids []string) ([]domain.Instance, error)
	ListInstances(ctx context.Context, regionID string, f domain.InstanceFilter) ([]domain.Instance, error)
	ListInstancesPage(ctx context.Context, regionID string, f domain.InstanceFilter, token string, size int) ([]domain.Instance, string, error)
	ListGroups(ctx context.Context, regionID string, f domain.GroupFilter) ([]domain.SecurityGroup, error)
	ListGroupPages(ctx context.Context, regionID string, f domain.GroupFilter, page func([]domain.SecurityGroup) error) error
	DescribeGroups(ctx context.Context, regionID string, ids []string) ([]domain.SecurityGroup, error)
	JoinGroup(ctx context.Context, regionID, instanceID, groupID string) error
	LeaveGroup(ctx context.Context, regionID, instanceID, groupID string) error
	CreateGroup(ctx context.Context, regionID string, spec domain.GroupSpec) (string, error)
	TagGroups(ctx context.Context, regionID string, groupIDs []string, tags domain.Tags) error
	UntagGroups(ctx context.Context, regionID string, groupIDs []string, keys []string) error
	GroupReferences(ctx context.Context, regionID string, groupIDs []string) (map[string][]string, error)
	ListNetworkInterfaces(ctx context.Context, regionID string) ([]domain.NetworkInterface, error)
	LaunchTemplateGroups(ctx context.Context, regionID string) (map[string][]string, error)
	DeleteGroup(ctx context.Context, regionID, groupID string) error
}

// World is a starting state. Every name is logical: the harness maps it to
// a real ID. VPCs named by groups, instances or ENIs must be listed.
type World struct {
	VPCs      []string
	Groups    []Group
	Instances []Instance
	ENIs      []ENI
	Rules     []Rule
	Templates []Template
}

// Group is a security group; VPC "" makes a classic group.
type Group struct {
	Name      string
	VPC       string
	Tags      domain.Tags
	Protected bool // deletion protection
	Managed   bool // managed by a cloud service
}

// Instance is an instance; VPC "" makes a classic one. Status "" = Running.
type Instance struct {
	Name   string
	VPC    string
	Status domain.InstanceStatus
	Groups []string
	Tags   domain.Tags
}

// ENI is a secondary network interface in VPC, attached to Instance
// (optional, of the same VPC).
type ENI struct {
	Name     string
	VPC      string
	Instance string
	Groups   []string
}

// Rule says that a rule of Group names Peer as its source.
type Rule struct{ Group, Peer string }

// Template is a launch template; Versions[i] lists the groups version i+1
// names; DefaultVersion 0 means 1.
type Template struct {
	Name           string
	Versions       [][]string
	DefaultVersion int
}

// Env is a backend seeded with a World.
type Env struct {
	ECS    ECS
	Region string
	// IDs maps every logical name of the World to its real ID.
	IDs map[string]string
	// Stats, when set, returns calls made per action or method so far
	// (benchmarks report them per operation).
	Stats func() map[string]int64
}

// ID returns the real ID of a logical name, failing the test for unknown names.
func (e *Env) ID(tb testing.TB, name string) string {
	tb.Helper()
	id, ok := e.IDs[name]
	if !ok {
		tb.Fatalf("ecstest: no resource named %q in the world", name)
	}
	return id
}

// IDsOf maps several logical names.
func (e *Env) IDsOf(tb testing.TB, names ...string) []string {
	tb.Helper()
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = e.ID(tb, n)
	}
	return out
}

// Harness builds a fresh backend holding w. It registers its own cleanup.
type Harness func(tb testing.TB, w World) *Env

// Run runs every conformance case against h.
func Run(t *testing.T, h Harness) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := h(t, c.world)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c.run(ctx, t, env)
		})
	}
}

type testCase struct {
	name  string
	world World
	run   func(ctx context.Context, t *testing.T, env *Env)
}

// baseWorld: two VPCs and the classic network; web in vpc-a is in base,
// full in vpc-a is at the default limit of 5 groups.
func baseWorld() World {
	w := World{
		VPCs: []string{"vpc-a", "vpc-b"},
		Groups: []Group{
			{Name: "base", VPC: "vpc-a"},
			{Name: "web", VPC: "vpc-a", Tags: domain.Tags{"sgpilot:role": "web"}},
			{Name: "db", VPC: "vpc-a", Tags: domain.Tags{"sgpilot:role": "db", "team": "data"}},
			{Name: "other-vpc", VPC: "vpc-b"},
			{Name: "classic", VPC: ""},
			{Name: "managed", VPC: "vpc-a", Managed: true},
		},
		Instances: []Instance{
			{Name: "i-web", VPC: "vpc-a", Groups: []string{"base"}, Tags: domain.Tags{"sgpilot:role": "web"}},
			{Name: "i-stopped", VPC: "vpc-a", Status: domain.StatusStopped, Groups: []string{"base"}},
			{Name: "i-pending", VPC: "vpc-a", Status: domain.StatusPending, Groups: []string{"base"}},
			{Name: "i-stopping", VPC: "vpc-a", Status: domain.StatusStopping, Groups: []string{"base"}},
			{Name: "i-b", VPC: "vpc-b", Groups: []string{"other-vpc"}, Tags: domain.Tags{"sgpilot:role": "db"}},
			{Name: "i-classic", VPC: "", Groups: []string{"classic"}},
			{Name: "i-full", VPC: "vpc-a", Groups: []string{"f1", "f2", "f3", "f4", "f5"}},
		},
	}
	for i := 1; i <= 5; i++ {
		w.Groups = append(w.Groups, Group{Name: fmt.Sprintf("f%d", i), VPC: "vpc-a"})
	}
	return w
}

func sortInstances(in []domain.Instance) []domain.Instance {
	sort.Slice(in, func(i, j int) bool { return in[i].ID < in[j].ID })
	return in
}

func ids[T any](items []T, id func(T) string) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, id(it))
	}
	sort.Strings(out)
	return out
}

func instanceID(i domain.Instance) string    { return i.ID }
func groupID(g domain.SecurityGroup) string  { return g.ID }
func eniID(n domain.NetworkInterface) string { return n.ID }
func sorted(s []string) []string             { s = append([]string(nil), s...); sort.Strings(s); return s }
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantErr checks an error's kind, provider code (one of codes; none = any)
// and sentinel (nil = none required).
func wantErr(t *testing.T, what string, err error, kind domain.Kind, sentinel error, codes ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s succeeded, want a %v error", what, kind)
	}
	var de *domain.Error
	if !errors.As(err, &de) {
		t.Fatalf("%s: error %v (%T) is not a *domain.Error", what, err, err)
	}
	if got := domain.KindOf(err); got != kind {
		t.Errorf("%s: kind = %v, want %v (%v)", what, got, kind, err)
	}
	if sentinel != nil && !errors.Is(err, sentinel) {
		t.Errorf("%s: error %v does not wrap %v", what, err, sentinel)
	}
	if len(codes) > 0 {
		code := domain.CodeOf(err)
		found := false
		for _, c := range codes {
			found = found || code == c
		}
		if !found {
			t.Errorf("%s: code = %q, want one of %v", what, code, codes)
		}
	}
}

func describeOne(ctx context.Context, t *testing.T, env *Env, id string) domain.Instance {
	t.Helper()
	got, err := env.ECS.DescribeInstances(ctx, env.Region, []string{id})
	must(t, "DescribeInstances", err)
	if len(got) != 1 {
		t.Fatalf("DescribeInstances(%s) returned %d instances", id, len(got))
	}
	return got[0]
}

func describeGroup(ctx context.Context, t *testing.T, env *Env, id string) (domain.SecurityGroup, bool) {
	t.Helper()
	got, err := env.ECS.DescribeGroups(ctx, env.Region, []string{id})
	must(t, "DescribeGroups", err)
	if len(got) == 0 {
		return domain.SecurityGroup{}, false
	}
	return got[0], true
}

var cases = []testCase{
	{name: "DescribeInstances_KnownAndUnknown", world: baseWorld(), run: func(ctx context.Context, t *testing.T, env *Env) {
		got, err := env.ECS.DescribeInstances(ctx, env.Region, append(env.IDsOf(t, "i-web", "i-classic", "i-b"), "i-doesnotexist0001"))
		must(t, "DescribeInstances", err)
		got = sortInstances(got)
		want := sortInstances([]domain.Instance{
			{ID: env.ID(t, "i-web"), RegionID: env.Region, NetworkType: domain.NetworkVPC, VPCID: env.ID(t, "vpc-a"),
				Status: domain.StatusRunning, Tags: domain.Tags{"sgpilot:role": "web"}, GroupIDs: env.IDsOf(t, "base")},
			{ID: env.ID(t, "i-classic"), RegionID: env.Region, NetworkType: domain.NetworkClassic,
				Status: domain.StatusRunning, Tags: domain.Tags{}, GroupIDs: env.IDsOf(t, "classic")},
			{ID: env.ID(t, "i-b"), RegionID: env.Region, NetworkType: domain.NetworkVPC, VPCID: env.ID(t, "vpc-b"),
				Status: domain.StatusRunning, Tags: domain.Tags{"sgpilot:role": "db"}, GroupIDs: env.IDsOf(t, "other-vpc")},
		})
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("instances (-want +got):\n%s", diff)
		}
		none, err := env.ECS.DescribeInstances(ctx, env.Region, nil)
		must(t, "DescribeInstances(nil)", err)
		if len(none) != 0 {
			t.Errorf("DescribeInstances(nil) = %d instances, want none", len(none))
		}
	}},
	{name: "ListInstances_Filters", world: baseWorld(), run: func(ctx context.Context, t *testing.T, env *Env) {
		tagged, err := env.ECS.ListInstances(ctx, env.Region, domain.InstanceFilter{TagKey: "sgpilot:role"})
		must(t, "ListInstances(tag)", err)
		if diff := cmp.Diff(sorted(env.IDsOf(t, "i-web", "i-b")), ids(tagged, instanceID)); diff != "" {
			t.Errorf("tagged instances (-want +got):\n%s", diff)
		}
		inB, err := env.ECS.ListInstances(ctx, env.Region, domain.InstanceFilter{VPCID: env.ID(t, "vpc-b")})
		must(t, "ListInstances(vpc)", err)
		if diff := cmp.Diff(env.IDsOf(t, "i-b"), ids(inB, instanceID)); diff != "" {
			t.Errorf("vpc-b instances (-want +got):\n%s", diff)
		}
		all, err := env.ECS.ListInstances(ctx, env.Region, domain.InstanceFilter{})
		must(t, "ListInstances(all)", err)
		if len(all) != 7 {
			t.Errorf("ListInstances(all) = %d instances, want 7", len(all))
		}
	}},
	{name: "ListInstancesPage_TokensCoverTheListing", world: baseWorld(), run: func(ctx context.Context, t *testing.T, env *Env) {
		for _, tc := range []struct {
			name string
			f    domain.InstanceFilter
			size int
		}{
			{"all by 2", domain.InstanceFilter{}, 2},
			{"all by 1", domain.InstanceFilter{}, 1},
			{"all in one page", domain.InstanceFilter{}, 100},
			{"tagged by 1", domain.InstanceFilter{TagKey: "sgpilot:role"}, 1},
		} {
			t.Run(tc.name, func(t *testing.T) {
				whole, err := env.ECS.ListInstances(ctx, env.Region, tc.f)
				must(t, "ListInstances", err)
				var paged []domain.Instance
				token, pages := "", 0
				for {
					page, next, err := env.ECS.ListInstancesPage(ctx, env.Region, tc.f, token, tc.size)
					must(t, "ListInstancesPage", err)
					pages++
					if len(page) > tc.size {
						t.Fatalf("page of %d instances, asked for %d", len(page), tc.size)
					}
					paged = append(paged, page...)
					if next == "" {
						break
					}
					if pages > 20 {
						t.Fatal("the tokens never end")
					}
					token = next
				}
				if diff := cmp.Diff(sortInstances(whole), sortInstances(paged)); diff != "" {
					t.Errorf("pages differ from the whole listing (-whole +pages):\n%s", diff)
				}
				if min := (len(whole) + tc.size - 1) / tc.size; pages < min {
					t.Errorf("%d pages for %d instances by %d", pages, len(whole), tc.size)
				}
			})
		}
	}},
	{name: "JoinGroup_ThenAlreadyMember", world: baseWorld(), run: func(ctx context.Context, t *testing.T, env *Env) {
		inst, web := env.ID(t, "i-web"), env.ID(t, "web")
		must(t, "JoinGroup", env.ECS.JoinGroup(ctx, env.Region, inst, web))
		if got := describeOne(ctx, t, env, inst).GroupIDs; !cmp.Equal(got, env.IDsOf(t, "base", "web")) {
			t.Errorf("groups after join = %v, want base then web", got)
		}
		err := env.ECS.JoinGroup(ctx, env.Region, inst, web)
		wantErr(t, "second JoinGroup", err, domain.KindConflict, domain.ErrAlreadyMember, "InvalidInstanceId.AlreadyExists")
		// A stopped instance can change groups too.
		must(t, "JoinGroup(stopped)", env.ECS.JoinGroup(ctx, env.Region, env.ID(t, "i-stopped"), web))
	}},
	{name: "LeaveGroup_NotMemberAndLastGroup", world: baseWorld(), run: func(ctx context.Context, t *testing.T, env *Env) {
		inst, base, web := env.ID(t, "i-web"), env.ID(t, "base"), env.ID(t, "web")
		must(t, "JoinGroup", env.ECS.JoinGroup(ctx, env.Region, inst, web))
		must(t, "LeaveGroup", env.ECS.LeaveGroup(ctx, env.Region, inst, web))
		if got := describeOne(ctx, t, env, inst).GroupIDs; !cmp.Equal(got, []string{base}) {
			t.Errorf("groups after leave = %v, want base only", got)
		}
		err := env.ECS.LeaveGroup(ctx, env.Region, inst, web)
		wantErr(t, "second LeaveGroup", err, domain.KindConflict, domain.ErrNotMember, "InstanceNotInSecurityGroup")
		err = env.ECS.LeaveGroup(ctx, env.Region, inst, base)
		wantErr(t, "LeaveGroup of the last group", err, domain.KindConflict, domain.ErrLastGroup, "InstanceLastSecurityGroup")
		err = env.ECS.LeaveGroup(ctx, env.Region, env.ID(t, "i-pending"), base)
		wantErr(t, "LeaveGroup of a pending instance", err, domain.KindRetryable, domain.ErrInstanceNotReady,
			"Forbidden.InstanceIsBeingCreated", "IncorrectInstanceStatus", "InvalidStatus.EniOrInstanceIsBeingCreated")
	}},
	{name: "JoinGroup_Limit", world: baseWorld(), run: func(ctx context.Context, t *testing.T, env *Env) {
		err := env.ECS.JoinGroup(ctx, env.Region, env.ID(t, "i-full"), env.ID(t, "web"))
		wantErr(t, "JoinGroup over the limit", err, domain.KindPermanent, domain.ErrGroupLimit, "InstanceSecurityGroupLimitExceeded")
		if got := describeOne(ctx, t, env, env.ID(t, "i-full")).GroupIDs; len(got) != 5 {
			t.Errorf("instance now in %d groups, want 5", len(got))
		}
	}},
	{name: "JoinGroup_NetworkMismatch", world: baseWorld(), run: func(ctx context.Context, t *testing.T, env *Env) {
		err := env.ECS.JoinGroup(ctx, env.Region, env.ID(t, "i-web"), env.ID(t, "other-vpc"))
		wantErr(t, "JoinGroup other VPC", err, domain.KindPermanent, domain.ErrNetworkMismatch)
		err = env.ECS.JoinGroup(ctx, env.Region, env.ID(t, "i-classic"), env.ID(t, "web"))
		wantErr(t, "JoinGroup classic→VPC", err, domain.KindPermanent, domain.ErrNetworkMismatch)
		err = env.ECS.JoinGroup(ctx, env.Region, env.ID(t, "i-web"), env.ID(t, "classic"))
		wantErr(t, "JoinGroup VPC→classic", err, domain.KindPermanent, domain.ErrNetworkMismatch)
	}},
	{name: "JoinGroup_NotReady", world: baseWorld(), run: func(ctx context.Context, t *testing.T, env *Env) {
		err := env.ECS.JoinGroup(ctx, env.Region, env.ID(t, "i-pending"), env.ID(t, "web"))
		wantErr(t, "JoinGroup pending", err, domain.KindRetryable, domain.ErrInstanceNotReady,
			"Forbidden.InstanceIsBeingCreated", "IncorrectInstanceStatus")
		err = env.ECS.JoinGroup(ctx, env.Region, env.ID(t, "i-stopping"), env.ID(t, "web"))
		wantErr(t, "JoinGroup stopping", err, domain.KindRetryable, domain.ErrInstanceNotReady, "IncorrectInstanceStatus")
	}},
	{name: "JoinGroup_NotFoundAndManaged", world: baseWorld(), run: func(ctx context.Context, t *testing.T, env *Env) {
		err := env.ECS.JoinGroup(ctx, env.Region, env.ID(t, "i-web"), "sg-doesnotexist0001")
		wantErr(t, "JoinGroup unknown group", err, domain.KindNotFound, nil, "InvalidSecurityGroupId.NotFound")
		err = env.ECS.JoinGroup(ctx, env.Region, "i-doesnotexist0001", env.ID(t, "web"))
		wantErr(t, "JoinGroup unknown instance", err, domain.KindNotFound, nil, "InvalidInstanceId.NotFound")
		err = env.ECS.JoinGroup(ctx, env.Region, env.ID(t, "i-web"), env.ID(t, "managed"))
		wantErr(t, "JoinGroup managed group", err, domain.KindPermanent, nil, "InvalidOperation.ResourceManagedByCloudProduct")
	}},
	{name: "DeleteGroup_Refusals", world: World{
		VPCs: []string{"vpc-a"},
		Groups: []Group{
			{Name: "with-instance", VPC: "vpc-a"}, {Name: "with-eni", VPC: "vpc-a"},
			{Name: "referenced", VPC: "vpc-a"}, {Name: "referrer", VPC: "vpc-a"},
			{Name: "protected", VPC: "vpc-a", Protected: true}, {Name: "managed", VPC: "vpc-a", Managed: true},
			{Name: "self-ref", VPC: "vpc-a"},
		},
		Instances: []Instance{{Name: "i-1", VPC: "vpc-a", Groups: []string{"with-instance"}}},
		ENIs:      []ENI{{Name: "eni-1", VPC: "vpc-a", Groups: []string{"with-eni"}}},
		Rules:     []Rule{{Group: "referrer", Peer: "referenced"}, {Group: "self-ref", Peer: "self-ref"}},
	}, run: func(ctx context.Context, t *testing.T, env *Env) {
		for _, name := range []string{"with-instance", "with-eni", "referenced"} {
			err := env.ECS.DeleteGroup(ctx, env.Region, env.ID(t, name))
			wantErr(t, "DeleteGroup "+name, err, domain.KindConflict, domain.ErrInUse, "DependencyViolation")
		}
		err := env.ECS.DeleteGroup(ctx, env.Region, env.ID(t, "protected"))
		wantErr(t, "DeleteGroup protected", err, domain.KindPermanent, domain.ErrDeletionProtected, "InvalidOperation.DeletionProtection")
		err = env.ECS.DeleteGroup(ctx, env.Region, env.ID(t, "managed"))
		wantErr(t, "DeleteGroup managed", err, domain.KindPermanent, domain.ErrDeletionProtected, "InvalidOperation.ResourceManagedByCloudProduct")
		// A rule naming its own group does not block deletion.
		must(t, "DeleteGroup self-ref", env.ECS.DeleteGroup(ctx, env.Region, env.ID(t, "self-ref")))
		// Deleting the referrer takes its rules along and frees the referenced group.
		must(t, "DeleteGroup referrer", env.ECS.DeleteGroup(ctx, env.Region, env.ID(t, "referrer")))
		must(t, "DeleteGroup referenced", env.ECS.DeleteGroup(ctx, env.Region, env.ID(t, "referenced")))
		if _, ok := describeGroup(ctx, t, env, env.ID(t, "referenced")); ok {
			t.Error("deleted group still described")
		}
		err = env.ECS.DeleteGroup(ctx, env.Region, env.ID(t, "referenced"))
		wantErr(t, "DeleteGroup again", err, domain.KindNotFound, nil, "InvalidSecurityGroupId.NotFound", "InvalidSecurityGroup.NotFound")
	}},
	{name: "GroupReferences", world: World{
		VPCs:   []string{"vpc-a"},
		Groups: []Group{{Name: "lb", VPC: "vpc-a"}, {Name: "web", VPC: "vpc-a"}, {Name: "db", VPC: "vpc-a"}, {Name: "lonely", VPC: "vpc-a"}},
		Rules:  []Rule{{Group: "web", Peer: "lb"}, {Group: "db", Peer: "web"}, {Group: "db", Peer: "lb"}, {Group: "db", Peer: "db"}},
	}, run: func(ctx context.Context, t *testing.T, env *Env) {
		got, err := env.ECS.GroupReferences(ctx, env.Region, env.IDsOf(t, "lb", "web", "db", "lonely"))
		must(t, "GroupReferences", err)
		want := map[string][]string{
			env.ID(t, "lb"):  sorted(env.IDsOf(t, "web", "db")),
			env.ID(t, "web"): env.IDsOf(t, "db"),
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("references (-want +got):\n%s", diff)
		}
		// A group deleted meanwhile is simply absent.
		must(t, "DeleteGroup lonely", env.ECS.DeleteGroup(ctx, env.Region, env.ID(t, "lonely")))
		got, err = env.ECS.GroupReferences(ctx, env.Region, env.IDsOf(t, "lb", "lonely"))
		must(t, "GroupReferences after delete", err)
		if diff := cmp.Diff(map[string][]string{env.ID(t, "lb"): want[env.ID(t, "lb")]}, got); diff != "" {
			t.Errorf("references after delete (-want +got):\n%s", diff)
		}
	}},
	{name: "ListGroups_PagingAndFilters", world: manyGroups(230), run: func(ctx context.Context, t *testing.T, env *Env) {
		all, err := env.ECS.ListGroups(ctx, env.Region, domain.GroupFilter{})
		must(t, "ListGroups", err)
		if len(all) != 231 {
			t.Errorf("ListGroups = %d groups, want 231", len(all))
		}
		tagged, err := env.ECS.ListGroups(ctx, env.Region, domain.GroupFilter{TagKey: "bulk", TagValue: "odd"})
		must(t, "ListGroups(tag)", err)
		if len(tagged) != 115 {
			t.Errorf("ListGroups(bulk=odd) = %d groups, want 115", len(tagged))
		}
		for _, g := range tagged {
			if g.Tags["bulk"] != "odd" || g.VPCID != env.ID(t, "vpc-a") || g.RegionID != env.Region {
				t.Errorf("group %+v does not match the filter", g)
				break
			}
		}
		anyBulk, err := env.ECS.ListGroups(ctx, env.Region, domain.GroupFilter{TagKey: "bulk"})
		must(t, "ListGroups(tag key)", err)
		if len(anyBulk) != 230 {
			t.Errorf("ListGroups(bulk) = %d groups, want 230", len(anyBulk))
		}
		classic, err := env.ECS.ListGroups(ctx, env.Region, domain.GroupFilter{NetworkType: domain.NetworkClassic})
		must(t, "ListGroups(classic)", err)
		if diff := cmp.Diff(env.IDsOf(t, "classic"), ids(classic, groupID)); diff != "" {
			t.Errorf("classic groups (-want +got):\n%s", diff)
		}
		wanted := ids(all, groupID)
		described, err := env.ECS.DescribeGroups(ctx, env.Region, append(wanted, "sg-doesnotexist0001"))
		must(t, "DescribeGroups", err)
		if diff := cmp.Diff(wanted, ids(described, groupID)); diff != "" {
			t.Errorf("DescribeGroups of every ID (-want +got):\n%s", diff)
		}
		_, err = env.ECS.ListGroups(ctx, env.Region, domain.GroupFilter{TagValue: "odd"})
		wantErr(t, "ListGroups(value without key)", err, domain.KindInvalid, nil)
	}},
	{name: "ListGroupPages_SameAsListGroups", world: manyGroups(230), run: func(ctx context.Context, t *testing.T, env *Env) {
		all, err := env.ECS.ListGroups(ctx, env.Region, domain.GroupFilter{})
		must(t, "ListGroups", err)
		var paged []domain.SecurityGroup
		var sizes []int
		must(t, "ListGroupPages", env.ECS.ListGroupPages(ctx, env.Region, domain.GroupFilter{}, func(page []domain.SecurityGroup) error {
			paged = append(paged, page...)
			sizes = append(sizes, len(page))
			return nil
		}))
		if diff := cmp.Diff(sorted(ids(all, groupID)), sorted(ids(paged, groupID))); diff != "" {
			t.Errorf("paged listing (-ListGroups +pages):\n%s", diff)
		}
		if diff := cmp.Diff([]int{100, 100, 31}, sizes); diff != "" {
			t.Errorf("page sizes (-want +got):\n%s", diff)
		}
		stop := errors.New("enough")
		calls := 0
		err = env.ECS.ListGroupPages(ctx, env.Region, domain.GroupFilter{}, func([]domain.SecurityGroup) error {
			calls++
			return stop
		})
		if !errors.Is(err, stop) || calls != 1 {
			t.Errorf("a page error: %v after %d pages, want it back after the first", err, calls)
		}
	}},
	{name: "Tags_SetOverwriteRemove", world: baseWorld(), run: func(ctx context.Context, t *testing.T, env *Env) {
		targets := env.IDsOf(t, "web", "db")
		must(t, "TagGroups", env.ECS.TagGroups(ctx, env.Region, targets, domain.Tags{"sgpilot:stale-since": "2024-05-01", "team": "edge"}))
		got, err := env.ECS.ListGroups(ctx, env.Region, domain.GroupFilter{TagKey: "sgpilot:stale-since", TagValue: "2024-05-01"})
		must(t, "ListGroups(stale)", err)
		if diff := cmp.Diff(sorted(targets), ids(got, groupID)); diff != "" {
			t.Errorf("marked groups (-want +got):\n%s", diff)
		}
		db, _ := describeGroup(ctx, t, env, env.ID(t, "db"))
		want := domain.Tags{"sgpilot:role": "db", "team": "edge", "sgpilot:stale-since": "2024-05-01"}
		if diff := cmp.Diff(want, db.Tags); diff != "" {
			t.Errorf("db tags after tagging (-want +got):\n%s", diff)
		}
		must(t, "UntagGroups", env.ECS.UntagGroups(ctx, env.Region, targets, []string{"sgpilot:stale-since", "not-there"}))
		db, _ = describeGroup(ctx, t, env, env.ID(t, "db"))
		if diff := cmp.Diff(domain.Tags{"sgpilot:role": "db", "team": "edge"}, db.Tags); diff != "" {
			t.Errorf("db tags after untagging (-want +got):\n%s", diff)
		}
		err = env.ECS.TagGroups(ctx, env.Region, []string{"sg-doesnotexist0001"}, domain.Tags{"a": "b"})
		wantErr(t, "TagGroups unknown group", err, domain.KindNotFound, nil)
	}},
	{name: "CreateGroup", world: baseWorld(), run: func(ctx context.Context, t *testing.T, env *Env) {
		before := time.Now().Add(-time.Minute)
		id, err := env.ECS.CreateGroup(ctx, env.Region, domain.GroupSpec{VPCID: env.ID(t, "vpc-a"), Name: "sgpilot-role-api",
			Description: "created by sgpilot", Tags: domain.Tags{"sgpilot:role": "api", "sgpilot:managed": "true"}})
		must(t, "CreateGroup", err)
		if !domain.ValidGroupID(id) {
			t.Errorf("new group ID %q does not look like one", id)
		}
		g, ok := describeGroup(ctx, t, env, id)
		if !ok {
			t.Fatal("new group not described")
		}
		if g.CreationTime.Before(before) {
			t.Errorf("creation time %s is not recent", g.CreationTime)
		}
		g.CreationTime = time.Time{}
		want := domain.SecurityGroup{ID: id, Name: "sgpilot-role-api", Description: "created by sgpilot", RegionID: env.Region,
			VPCID: env.ID(t, "vpc-a"), Type: "normal", Tags: domain.Tags{"sgpilot:role": "api", "sgpilot:managed": "true"}}
		if diff := cmp.Diff(want, g); diff != "" {
			t.Errorf("new group (-want +got):\n%s", diff)
		}
		_, err = env.ECS.CreateGroup(ctx, env.Region, domain.GroupSpec{VPCID: "vpc-doesnotexist0001", Name: "x-group"})
		wantErr(t, "CreateGroup unknown VPC", err, domain.KindNotFound, nil, "InvalidVpcId.NotFound")
		_, err = env.ECS.CreateGroup(ctx, env.Region, domain.GroupSpec{VPCID: env.ID(t, "vpc-a"), Name: "1-starts-with-digit"})
		wantErr(t, "CreateGroup bad name", err, domain.KindInvalid, nil, "InvalidSecurityGroupName.Malformed")
	}},
	{name: "ListNetworkInterfaces", world: World{
		VPCs:      []string{"vpc-a"},
		Groups:    []Group{{Name: "g1", VPC: "vpc-a"}, {Name: "g2", VPC: "vpc-a"}},
		Instances: []Instance{{Name: "i-1", VPC: "vpc-a", Groups: []string{"g1"}}},
		ENIs:      []ENI{{Name: "eni-1", VPC: "vpc-a", Instance: "i-1", Groups: []string{"g2"}}, {Name: "eni-free", VPC: "vpc-a", Groups: []string{"g1", "g2"}}},
	}, run: func(ctx context.Context, t *testing.T, env *Env) {
		got, err := env.ECS.ListNetworkInterfaces(ctx, env.Region)
		must(t, "ListNetworkInterfaces", err)
		byID := map[string]domain.NetworkInterface{}
		var primaries []domain.NetworkInterface
		for _, n := range got {
			byID[n.ID] = n
			if n.Type == "Primary" {
				primaries = append(primaries, n)
			}
		}
		vpc := env.ID(t, "vpc-a")
		want := []domain.NetworkInterface{
			{ID: env.ID(t, "eni-1"), InstanceID: env.ID(t, "i-1"), Type: "Secondary", VPCID: vpc, GroupIDs: env.IDsOf(t, "g2")},
			{ID: env.ID(t, "eni-free"), Type: "Secondary", VPCID: vpc, GroupIDs: env.IDsOf(t, "g1", "g2")},
		}
		for _, w := range want {
			if diff := cmp.Diff(w, byID[w.ID]); diff != "" {
				t.Errorf("ENI %s (-want +got):\n%s", w.ID, diff)
			}
		}
		if len(primaries) != 1 || primaries[0].InstanceID != env.ID(t, "i-1") || !cmp.Equal(primaries[0].GroupIDs, env.IDsOf(t, "g1")) {
			t.Errorf("primary ENIs = %+v, want one for i-1 in g1", primaries)
		}
		if len(got) != 3 {
			t.Errorf("got %d ENIs (%v), want 3", len(got), ids(got, eniID))
		}
	}},
	{name: "LaunchTemplateGroups", world: World{
		VPCs:   []string{"vpc-a"},
		Groups: []Group{{Name: "g-default", VPC: "vpc-a"}, {Name: "g-middle", VPC: "vpc-a"}, {Name: "g-latest", VPC: "vpc-a"}, {Name: "g-both", VPC: "vpc-a"}},
		Templates: []Template{
			{Name: "lt-a", Versions: [][]string{{"g-default", "g-both"}, {"g-middle"}, {"g-latest"}}},
			{Name: "lt-b", Versions: [][]string{{"g-middle"}, {"g-both"}}, DefaultVersion: 2},
		},
	}, run: func(ctx context.Context, t *testing.T, env *Env) {
		got, err := env.ECS.LaunchTemplateGroups(ctx, env.Region)
		must(t, "LaunchTemplateGroups", err)
		want := map[string][]string{
			env.ID(t, "g-default"): env.IDsOf(t, "lt-a"),
			env.ID(t, "g-latest"):  env.IDsOf(t, "lt-a"),
			env.ID(t, "g-both"):    sorted(env.IDsOf(t, "lt-a", "lt-b")),
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("template groups (-want +got):\n%s", diff)
		}
	}},
}

// manyGroups is a world of n VPC groups tagged bulk=odd/even and one classic group.
func manyGroups(n int) World {
	w := World{VPCs: []string{"vpc-a"}, Groups: []Group{{Name: "classic"}}}
	for i := 0; i < n; i++ {
		v := "even"
		if i%2 == 1 {
			v = "odd"
		}
		w.Groups = append(w.Groups, Group{Name: fmt.Sprintf("bulk%03d", i), VPC: "vpc-a", Tags: domain.Tags{"bulk": v}})
	}
	return w
}

// Benchmark measures a cleanup discovery of one region (every group, the
// references, ENIs and launch templates; 300 groups, so several pages and
// batches) and an onboarding (describe an instance, join a group), and
// reports calls per operation when the Env has Stats.
func Benchmark(b *testing.B, h Harness) {
	w := manyGroups(300)
	w.Instances = []Instance{{Name: "i-1", VPC: "vpc-a", Groups: []string{"bulk000"}}}
	w.Rules = []Rule{{Group: "bulk001", Peer: "bulk002"}}
	b.Run("Discovery", func(b *testing.B) {
		env := h(b, w)
		ctx := context.Background()
		before := statsTotal(env)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			groups, err := env.ECS.ListGroups(ctx, env.Region, domain.GroupFilter{TagKey: "bulk"})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := env.ECS.GroupReferences(ctx, env.Region, ids(groups, groupID)); err != nil {
				b.Fatal(err)
			}
			if _, err := env.ECS.ListNetworkInterfaces(ctx, env.Region); err != nil {
				b.Fatal(err)
			}
			if _, err := env.ECS.LaunchTemplateGroups(ctx, env.Region); err != nil {
				b.Fatal(err)
			}
		}
		reportCalls(b, env, before)
	})
	b.Run("Onboard", func(b *testing.B) {
		env := h(b, w)
		ctx := context.Background()
		inst, target := env.ID(b, "i-1"), env.ID(b, "bulk003")
		before := statsTotal(env)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := env.ECS.DescribeInstances(ctx, env.Region, []string{inst}); err != nil {
				b.Fatal(err)
			}
			if err := env.ECS.JoinGroup(ctx, env.Region, inst, target); err != nil && !errors.Is(err, domain.ErrAlreadyMember) {
				b.Fatal(err)
			}
		}
		reportCalls(b, env, before)
	})
}

func statsTotal(env *Env) int64 {
	if env.Stats == nil {
		return 0
	}
	var n int64
	for _, v := range env.Stats() {
		n += v
	}
	return n
}

func reportCalls(b *testing.B, env *Env, before int64) {
	if env.Stats != nil {
		b.ReportMetric(float64(statsTotal(env)-before)/float64(b.N), "calls/op")
	}
}
