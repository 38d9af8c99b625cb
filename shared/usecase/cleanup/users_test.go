package cleanup_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/task"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
	"github.com/sgpilot/sgpilot/shared/usecase/cleanup"
)

// fakeUsers stands for the Auto Scaling and ECI reads: region-wide maps,
// a call count per method and an optional failure.
type fakeUsers struct {
	mu         sync.Mutex
	scaling    map[string][]domain.ScalingUse
	containers map[string][]domain.ContainerGroupUse
	calls      map[string]int
	fail       map[string]error
}

func newFakeUsers() *fakeUsers {
	return &fakeUsers{scaling: map[string][]domain.ScalingUse{}, containers: map[string][]domain.ContainerGroupUse{},
		calls: map[string]int{}, fail: map[string]error{}}
}

func (u *fakeUsers) ScalingConfigurationGroups(_ context.Context, _ string) (map[string][]domain.ScalingUse, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.calls["ScalingConfigurationGroups"]++
	if err := u.fail["ScalingConfigurationGroups"]; err != nil {
		return nil, err
	}
	out := map[string][]domain.ScalingUse{}
	for k, v := range u.scaling {
		out[k] = append([]domain.ScalingUse(nil), v...)
	}
	return out, nil
}

func (u *fakeUsers) ContainerGroupGroups(_ context.Context, _ string) (map[string][]domain.ContainerGroupUse, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.calls["ContainerGroupGroups"]++
	if err := u.fail["ContainerGroupGroups"]; err != nil {
		return nil, err
	}
	out := map[string][]domain.ContainerGroupUse{}
	for k, v := range u.containers {
		out[k] = append([]domain.ContainerGroupUse(nil), v...)
	}
	return out, nil
}

// usersWorld: one group per kind of user outside ECS's own dependency
// check, and one unused group.
func usersWorld() (*fakeECS, *fakeUsers) {
	f := newFakeECS()
	f.addGroups(mg("sg-scaling01"), mg("sg-ltold0001"), mg("sg-eci000001"), mg("sg-unused001"))
	// sg-ltold0001 only in version 1 of 3; the default and latest is 3.
	f.AddLaunchTemplate(fake.LaunchTemplate{ID: "lt-app00000001", RegionID: hz, DefaultVersion: 3,
		Versions: [][]string{{"sg-ltold0001"}, {"sg-other"}, {"sg-other"}}})
	u := newFakeUsers()
	u.scaling["sg-scaling01"] = []domain.ScalingUse{{ConfigurationID: "asc-1", ConfigurationName: "web", ScalingGroupID: "asg-1",
		ScalingGroupName: "web-asg", InstanceCount: 0}}
	u.containers["sg-eci000001"] = []domain.ContainerGroupUse{{ID: "eci-1", Name: "job", Status: "Pending"}}
	return f, u
}

func usersCleaner(f *fakeECS, u *fakeUsers) *cleanup.Cleaner {
	c := cleanup.NewCleaner(f, newFakeQueue())
	c.Scaling, c.Containers = u, u
	return c
}

func TestRun_UsersOutsideECSKeepGroups(t *testing.T) {
	f, u := usersWorld()
	rep := MustRun(t, usersCleaner(f, u), cleanup.ModeApply, t0)
	got := decisions(t, rep, hz)
	tests := []struct {
		name, group string
		usage       cleanup.UsageCount
		detail      string
	}{
		{"scaling configuration of a group at zero instances", "sg-scaling01", cleanup.UsageCount{ScalingConfigurations: 1}, "scaling configuration asc-1 (web, inactive) of scaling group asg-1 (web-asg, 0 instances)"},
		{"old template version", "sg-ltold0001", cleanup.UsageCount{TemplateVersions: 1}, "launch template lt-app00000001 () version 1"},
		{"pending ECI container group", "sg-eci000001", cleanup.UsageCount{ContainerGroups: 1}, "ECI container group eci-1 (job, Pending)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := got[tc.group]
			if d.Action != domain.ActionKeep || d.Reason != domain.ReasonInUse {
				t.Errorf("%s: %s/%s (%s), want keep/in-use", tc.group, d.Action, d.Reason, d.Detail)
			}
			if d.Usage != tc.usage {
				t.Errorf("usage %+v, want %+v", d.Usage, tc.usage)
			}
			if !strings.Contains(d.Detail, tc.detail) {
				t.Errorf("detail %q does not name %q", d.Detail, tc.detail)
			}
			if f.tags(hz, tc.group)[stale] != "" {
				t.Error("marked")
			}
		})
	}
	if d := got["sg-unused001"]; d.Action != domain.ActionMark {
		t.Errorf("unused group: %s/%s", d.Action, d.Reason)
	}
	if strings.Contains(rep.NotChecked, "Auto Scaling") || strings.Contains(rep.NotChecked, "ECI") || !strings.Contains(rep.NotChecked, "Function Compute") {
		t.Errorf("not checked: %q", rep.NotChecked)
	}
	var table strings.Builder
	if err := cleanup.RenderTable(&table, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"scaling-configurations 1", "template-versions 1", "eci-container-groups 1", "Not checked: Function Compute"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	if u.calls["ScalingConfigurationGroups"] != 1 || u.calls["ContainerGroupGroups"] != 1 {
		t.Errorf("calls %v, want one region-wide read each", u.calls)
	}

	// The uses go away: the next night marks the three groups.
	u.scaling, u.containers = map[string][]domain.ScalingUse{}, map[string][]domain.ContainerGroupUse{}
	f.AddLaunchTemplate(fake.LaunchTemplate{ID: "lt-app00000001", RegionID: hz, DefaultVersion: 1, Versions: [][]string{{"sg-other"}}})
	got = decisions(t, MustRun(t, usersCleaner(f, u), cleanup.ModeApply, t0.Add(24*time.Hour)), hz)
	for _, g := range []string{"sg-scaling01", "sg-ltold0001", "sg-eci000001"} {
		if got[g].Action != domain.ActionMark {
			t.Errorf("%s after its use went away: %s/%s", g, got[g].Action, got[g].Reason)
		}
	}
}

func TestRun_UncheckedKindsAreNamed(t *testing.T) {
	f, u := usersWorld()
	c := usersCleaner(f, u)
	c.Scaling, c.Containers = nil, nil
	rep := MustRun(t, c, cleanup.ModePlan, t0)
	for _, want := range []string{"Auto Scaling scaling configurations", "ECI container groups", "NLB", "RDS"} {
		if !strings.Contains(rep.NotChecked, want) {
			t.Errorf("not checked %q lacks %q", rep.NotChecked, want)
		}
	}
	// Unchecked, the scaling and ECI users cannot keep their groups.
	if d := decisions(t, rep, hz)["sg-scaling01"]; d.Action != domain.ActionMark {
		t.Errorf("unchecked scaling use: %s/%s", d.Action, d.Reason)
	}
	if u.calls["ScalingConfigurationGroups"] != 0 {
		t.Error("an unchecked kind was read")
	}
}

func TestRun_UsersReadFailureChangesNothing(t *testing.T) {
	for _, method := range []string{"ScalingConfigurationGroups", "ContainerGroupGroups"} {
		t.Run(method, func(t *testing.T) {
			f, u := usersWorld()
			f.addGroups(mg("sg-stale0001", stale, "2026-11-10"))
			u.fail[method] = domain.Errorf(domain.KindPermanent, "read", "Forbidden.RAM", "denied")
			q := newFakeQueue()
			c := cleanup.NewCleaner(f, q)
			c.Scaling, c.Containers = u, u
			rep := MustRun(t, c, cleanup.ModeApply, t0)
			rr := regionReport(t, rep, hz)
			if len(rr.Errors) != 1 || !strings.Contains(rr.Errors[0], "Forbidden.RAM") || rr.Blocked == "" {
				t.Errorf("errors %v, blocked %q", rr.Errors, rr.Blocked)
			}
			if n := len(q.tasks()); n != 0 || f.tags(hz, "sg-unused001")[stale] != "" {
				t.Errorf("changed the region: %d tasks, mark %q", n, f.tags(hz, "sg-unused001")[stale])
			}
		})
	}
}

func TestRun_DeclaredRoleGroupsAreKept(t *testing.T) {
	f := newFakeECS()
	f.addGroups(mg("sg-role00001", domain.DefaultRoleTagKey, "web"),
		mg("sg-rolemk001", domain.DefaultRoleTagKey, "web", stale, "2026-11-01"),
		mg("sg-undecl001", domain.DefaultRoleTagKey, "gone"))
	p := domain.DefaultCleanupPolicy()
	p.DeclaredRoles = map[string]bool{"web": true}
	got := decisions(t, MustRunPolicy(t, newCleaner(f, newFakeQueue()), cleanup.ModeApply, t0, p), hz)
	tests := []struct {
		group  string
		action domain.CleanupAction
		reason domain.Reason
	}{
		{"sg-role00001", domain.ActionKeep, domain.ReasonDeclaredRole},
		{"sg-rolemk001", domain.ActionUnmark, domain.ReasonDeclaredRole},
		{"sg-undecl001", domain.ActionMark, domain.ReasonNewlyStale},
	}
	for _, tc := range tests {
		t.Run(tc.group, func(t *testing.T) {
			if d := got[tc.group]; d.Action != tc.action || d.Reason != tc.reason {
				t.Errorf("%s/%s (%s), want %s/%s", d.Action, d.Reason, d.Detail, tc.action, tc.reason)
			}
		})
	}
	if f.tags(hz, "sg-rolemk001")[stale] != "" {
		t.Error("a declared role group kept its mark")
	}
}

// barrier makes each read wait until all n reads have started: the run
// passes only if they are in flight at the same time.
type barrier struct {
	n       int
	mu      sync.Mutex
	started int
	all     chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{n: n, all: make(chan struct{})} }

func (b *barrier) wait(ctx context.Context, what string) error {
	b.mu.Lock()
	b.started++
	if b.started == b.n {
		close(b.all)
	}
	b.mu.Unlock()
	select {
	case <-b.all:
		return nil
	case <-time.After(2 * time.Second):
		return fmt.Errorf("%s waited 2s for the other reads: they do not run at the same time", what)
	case <-ctx.Done():
		return ctx.Err()
	}
}

type syncGroups struct {
	cleanup.GroupLister
	b *barrier
}

func (s syncGroups) ListGroups(ctx context.Context, r string, f domain.GroupFilter) ([]domain.SecurityGroup, error) {
	if err := s.b.wait(ctx, "groups"); err != nil {
		return nil, err
	}
	return s.GroupLister.ListGroups(ctx, r, f)
}

type syncInstances struct {
	cleanup.InstanceLister
	b *barrier
}

func (s syncInstances) ListInstances(ctx context.Context, r string, f domain.InstanceFilter) ([]domain.Instance, error) {
	if err := s.b.wait(ctx, "instances"); err != nil {
		return nil, err
	}
	return s.InstanceLister.ListInstances(ctx, r, f)
}

type syncENIs struct {
	cleanup.InterfaceLister
	b *barrier
}

func (s syncENIs) ListNetworkInterfaces(ctx context.Context, r string) ([]domain.NetworkInterface, error) {
	if err := s.b.wait(ctx, "enis"); err != nil {
		return nil, err
	}
	return s.InterfaceLister.ListNetworkInterfaces(ctx, r)
}

type syncTemplates struct {
	cleanup.TemplateReader
	b *barrier
}

func (s syncTemplates) TemplateGroups(ctx context.Context, r string) (map[string][]domain.TemplateVersionUse, error) {
	if err := s.b.wait(ctx, "templates"); err != nil {
		return nil, err
	}
	return s.TemplateReader.TemplateGroups(ctx, r)
}

type syncUsers struct {
	*fakeUsers
	b *barrier
}

func (s syncUsers) ScalingConfigurationGroups(ctx context.Context, r string) (map[string][]domain.ScalingUse, error) {
	if err := s.b.wait(ctx, "scaling"); err != nil {
		return nil, err
	}
	return s.fakeUsers.ScalingConfigurationGroups(ctx, r)
}

func (s syncUsers) ContainerGroupGroups(ctx context.Context, r string) (map[string][]domain.ContainerGroupUse, error) {
	if err := s.b.wait(ctx, "containers"); err != nil {
		return nil, err
	}
	return s.fakeUsers.ContainerGroupGroups(ctx, r)
}

// TestRun_ReadsRunConcurrently: the six bulk reads of a region are in flight
// together (each is paced by the adapter's limiter of its own action), and
// the plan is the same as with one read after another.
func TestRun_ReadsRunConcurrently(t *testing.T) {
	f, u := usersWorld()
	b := newBarrier(6)
	c := usersCleaner(f, u)
	c.Groups, c.Instances, c.Interfaces, c.Templates = syncGroups{f, b}, syncInstances{f, b}, syncENIs{f, b}, syncTemplates{f, b}
	c.Scaling, c.Containers = syncUsers{u, b}, syncUsers{u, b}
	rep := MustRun(t, c, cleanup.ModePlan, t0)
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	got := decisions(t, rep, hz)
	for _, g := range []string{"sg-scaling01", "sg-ltold0001", "sg-eci000001"} {
		if got[g].Reason != domain.ReasonInUse {
			t.Errorf("%s: %s/%s", g, got[g].Action, got[g].Reason)
		}
	}
}

func TestDeleter_RechecksUsersOutsideECS(t *testing.T) {
	tests := []struct {
		name        string
		change      func(u *fakeUsers)
		wantResult  task.Result
		wantReason  task.Reason
		wantDeleted bool
	}{
		{"nothing uses it", func(*fakeUsers) {}, task.Done, task.ReasonDeleted, true},
		{"a scaling configuration appeared", func(u *fakeUsers) {
			u.scaling["sg-target001"] = []domain.ScalingUse{{ConfigurationID: "asc-9", ScalingGroupID: "asg-9"}}
		}, task.Done, domain.ReasonUsedAgain, false},
		{"a container group appeared", func(u *fakeUsers) {
			u.containers["sg-target001"] = []domain.ContainerGroupUse{{ID: "eci-9", Status: "Scheduling"}}
		}, task.Done, domain.ReasonUsedAgain, false},
		{"scaling unreadable", func(u *fakeUsers) {
			u.fail["ScalingConfigurationGroups"] = domain.Errorf(domain.KindPermanent, "read", "Forbidden.RAM", "denied")
		}, task.DeadLetter, task.ReasonRecheckFailed, false},
		{"ECI throttled", func(u *fakeUsers) {
			u.fail["ContainerGroupGroups"] = domain.Errorf(domain.KindThrottled, "read", "Throttling", "slow down")
		}, task.Retry, task.ReasonThrottled, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeECS()
			f.addGroups(mg("sg-target001", stale, markSeen), mg("sg-target002", stale, markSeen))
			u := newFakeUsers()
			tc.change(u)
			d := newDeleter(f)
			d.Scaling, d.Containers = u, u
			tasks := []domain.Task{deleteTask("sg-target001"), deleteTask("sg-target002")}
			out := task.RunAll(context.Background(), d.Handle(context.Background(), tasks))
			o := out[0]
			if o.Result != tc.wantResult || o.Reason != tc.wantReason {
				t.Errorf("outcome %s/%s (%s), want %s/%s", o.Result, o.Reason, o.Detail, tc.wantResult, tc.wantReason)
			}
			deleted := false
			for _, g := range f.deleted {
				deleted = deleted || g == "sg-target001"
			}
			if deleted != tc.wantDeleted {
				t.Errorf("deleted = %v, want %v", deleted, tc.wantDeleted)
			}
			// One region-wide read of each per batch of tasks.
			if u.calls["ScalingConfigurationGroups"] != 1 || u.calls["ContainerGroupGroups"] != 1 {
				t.Errorf("calls %v, want one each per batch", u.calls)
			}
		})
	}
}

// withAccounts is a reference reader that also names the referencing
// groups' accounts, as the ECS adapter does.
type withAccounts struct {
	cleanup.ReferenceReader
	account string
}

func (w withAccounts) GroupReferrers(ctx context.Context, region string, ids []string) (map[string][]domain.Referrer, error) {
	refs, err := w.GroupReferences(ctx, region, ids)
	out := map[string][]domain.Referrer{}
	for g, others := range refs {
		for _, o := range others {
			out[g] = append(out[g], domain.Referrer{GroupID: o, AccountID: w.account})
		}
	}
	return out, err
}

func TestRun_ReferencingGroupsNameTheirAccount(t *testing.T) {
	f := newFakeECS()
	f.addGroups(mg("sg-refd00001"))
	f.addReference(hz, "sg-refd00001", "sg-peer00001")
	c := newCleaner(f, newFakeQueue())
	c.References = withAccounts{f, "1999999999999999"}
	d := decisions(t, MustRun(t, c, cleanup.ModePlan, t0), hz)["sg-refd00001"]
	if d.Reason != domain.ReasonInUse || !strings.Contains(d.Detail, "sg-peer00001 (account 1999999999999999)") || d.Usage.ReferencedBy != 1 {
		t.Errorf("%s/%s %q %+v", d.Action, d.Reason, d.Detail, d.Usage)
	}
}
