package ecsapi_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/adapter/ecsapi"
	"github.com/sgpilot/sgpilot/shared/core/cloudauth"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/retry"
	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
	"github.com/sgpilot/sgpilot/shared/testkit/ecstest"
)

// These tests run the adapter against the ECS emulator over real HTTP: the
// conformance suite (the same cases as fake.ECS), plus what only the real
// wire shows (call counts of paging and batching, flow control).

const (
	emuAccount = "1234567890123456"
	emuRegion  = "cn-hangzhou"
)

// emulator is one ecsemu behind an httptest server.
type emulator struct {
	env *core.Env
	svc *ecsemu.Service
	srv *httptest.Server
}

func newEmulator(tb testing.TB) *emulator {
	tb.Helper()
	env := core.NewEnv(emuAccount, 1)
	env.Credentials.AddAccessKey(testKeyID, testSecret)
	// Transitional states last an hour so that Pending stays Pending.
	svc, err := ecsemu.New(env, ecsemu.Options{Region: emuRegion,
		PendingDuration: time.Hour, StartingDuration: time.Hour, StoppingDuration: time.Hour})
	if err != nil {
		tb.Fatalf("ecsemu.New: %v", err)
	}
	srv := httptest.NewServer(svc)
	tb.Cleanup(func() {
		srv.Close()
		_ = svc.Close()
	})
	return &emulator{env: env, svc: svc, srv: srv}
}

func (e *emulator) client(tb testing.TB, mutate ...func(*ecsapi.Config)) *ecsapi.Client {
	tb.Helper()
	cfg := ecsapi.Config{
		RegionID:    emuRegion,
		Endpoint:    e.srv.URL,
		Credentials: cloudauth.Credentials{AccessKeyID: testKeyID, AccessKeySecret: testSecret},
		Retry:       instantRetry(4),
	}
	for _, m := range mutate {
		m(&cfg)
	}
	return MustClient(tb, cfg)
}

// seedWorld turns an ecstest.World into an emulator seed with IDs chosen
// here, so the logical names can be mapped.
func seedWorld(tb testing.TB, e *emulator, w ecstest.World) map[string]string {
	tb.Helper()
	ids := map[string]string{}
	vsw := map[string]string{}
	n := 0
	next := func(prefix string) string {
		n++
		return fmt.Sprintf("%sconf%08d", prefix, n)
	}
	sd := ecsemu.Seed{Regions: ecsemu.DefaultRegions(emuRegion)}
	for _, v := range w.VPCs {
		ids[v] = next("vpc-")
		vsw[v] = next("vsw-")
		sd.VPCs = append(sd.VPCs, ecsemu.SeedVPC{ID: ids[v], RegionID: emuRegion, Name: v})
		sd.VSwitches = append(sd.VSwitches, ecsemu.SeedVSwitch{ID: vsw[v], VpcID: ids[v], ZoneID: emuRegion + "-h"})
	}
	for _, g := range w.Groups {
		ids[g.Name] = next("sg-")
	}
	for _, in := range w.Instances {
		ids[in.Name] = next("i-")
	}
	for _, ni := range w.ENIs {
		ids[ni.Name] = next("eni-")
	}
	for _, t := range w.Templates {
		ids[t.Name] = next("lt-")
	}
	names := func(ns []string) []string {
		out := make([]string, len(ns))
		for i, n := range ns {
			out[i] = ids[n]
		}
		return out
	}
	tags := func(t domain.Tags) []ecsemu.SeedTag {
		var out []ecsemu.SeedTag
		for k, v := range t {
			out = append(out, ecsemu.SeedTag{Key: k, Value: v})
		}
		return out
	}
	rules := map[string][]ecsemu.SeedRule{}
	for _, r := range w.Rules {
		rules[r.Group] = append(rules[r.Group], ecsemu.SeedRule{IPProtocol: "tcp", PortRange: fmt.Sprintf("%d/%d", 1000+len(rules[r.Group]), 1000+len(rules[r.Group])),
			SourceGroupID: ids[r.Peer], NicType: "intranet"})
	}
	for _, g := range w.Groups {
		sd.SecurityGroups = append(sd.SecurityGroups, ecsemu.SeedSecurityGroup{ID: ids[g.Name], RegionID: emuRegion, Name: g.Name,
			VpcID: ids[g.VPC], Tags: tags(g.Tags), DeletionProtection: g.Protected, ServiceManaged: g.Managed, Rules: rules[g.Name]})
	}
	for _, in := range w.Instances {
		si := ecsemu.SeedInstance{ID: ids[in.Name], RegionID: emuRegion, Name: in.Name, Status: string(in.Status),
			SecurityGroupIDs: names(in.Groups), Tags: tags(in.Tags)}
		if in.VPC != "" {
			si.VSwitchID = vsw[in.VPC]
		}
		sd.Instances = append(sd.Instances, si)
	}
	for _, ni := range w.ENIs {
		sd.NetworkInterfaces = append(sd.NetworkInterfaces, ecsemu.SeedNetworkInterface{ID: ids[ni.Name], VSwitchID: vsw[ni.VPC],
			InstanceID: ids[ni.Instance], SecurityGroupIDs: names(ni.Groups)})
	}
	for _, t := range w.Templates {
		st := ecsemu.SeedLaunchTemplate{ID: ids[t.Name], Name: t.Name, RegionID: emuRegion, DefaultVersion: int64(t.DefaultVersion)}
		for i, v := range t.Versions {
			st.Versions = append(st.Versions, ecsemu.SeedTemplateVersion{VersionNumber: int64(i + 1), SecurityGroupIDs: names(v)})
		}
		sd.LaunchTemplates = append(sd.LaunchTemplates, st)
	}
	if err := e.svc.Seed(sd); err != nil {
		tb.Fatalf("seed the emulator: %v", err)
	}
	return ids
}

func emulatorHarness(tb testing.TB, w ecstest.World) *ecstest.Env {
	e := newEmulator(tb)
	ids := seedWorld(tb, e, w)
	c := e.client(tb)
	return &ecstest.Env{ECS: c, Region: emuRegion, IDs: ids, Stats: c.Stats}
}

func BenchmarkClient(b *testing.B) {
	ecstest.Benchmark(b, emulatorHarness)
}

func TestClient_Conformance(t *testing.T) {
	ecstest.Run(t, emulatorHarness)
}

func TestClient_PagingAndBatchingCallCounts(t *testing.T) {
	e := newEmulator(t)
	w := ecstest.World{VPCs: []string{"vpc-a"}}
	for i := 0; i < 230; i++ {
		w.Groups = append(w.Groups, ecstest.Group{Name: fmt.Sprintf("bulk%03d", i), VPC: "vpc-a"})
	}
	ids := seedWorld(t, e, w)
	c := e.client(t)
	ctx := context.Background()

	all, err := c.ListGroups(ctx, "", domain.GroupFilter{VPCID: ids["vpc-a"]})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 230 || c.Stats()["DescribeSecurityGroups"] != 3 {
		t.Errorf("ListGroups: %d groups in %d calls, want 230 in 3", len(all), c.Stats()["DescribeSecurityGroups"])
	}
	var groupIDs []string
	for _, g := range all {
		groupIDs = append(groupIDs, g.ID)
	}
	got, err := c.DescribeGroups(ctx, "", groupIDs)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 230 || c.Stats()["DescribeSecurityGroups"] != 6 {
		t.Errorf("DescribeGroups: %d groups, %d calls in all, want 230 and 6", len(got), c.Stats()["DescribeSecurityGroups"])
	}
	if err := c.TagGroups(ctx, "", groupIDs, domain.Tags{"sgpilot:stale-since": "2024-05-01"}); err != nil {
		t.Fatal(err)
	}
	if n := c.Stats()["TagResources"]; n != 5 {
		t.Errorf("TagGroups on 230 groups made %d calls, want 5", n)
	}
	refs, err := c.GroupReferences(ctx, "", groupIDs)
	if err != nil || len(refs) != 0 {
		t.Fatalf("GroupReferences = %v, %v", refs, err)
	}
	if n := c.Stats()["DescribeSecurityGroupReferences"]; n != 23 {
		t.Errorf("GroupReferences on 230 groups made %d calls, want 23", n)
	}
	if got := e.env.Controls.Count("ecs", "DescribeSecurityGroups"); got != 6 {
		t.Errorf("emulator counted %d DescribeSecurityGroups, the client %d", got, c.Stats()["DescribeSecurityGroups"])
	}
}

func TestClient_RetriesEmulatorThrottling(t *testing.T) {
	e := newEmulator(t)
	ids := seedWorld(t, e, ecstest.World{VPCs: []string{"vpc-a"}, Groups: []ecstest.Group{{Name: "g", VPC: "vpc-a"}}})
	// Five calls per second with no burst: back-to-back calls are throttled.
	e.env.Controls.SetRateLimit("ecs", "DescribeSecurityGroups", core.RateLimit{PerSecond: 5, Burst: 1})
	c := e.client(t, func(cfg *ecsapi.Config) {
		cfg.Retry = retry.Policy{MaxAttempts: 8, BaseDelay: 100 * time.Millisecond, MaxDelay: 400 * time.Millisecond}
	})
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		got, err := c.DescribeGroups(ctx, "", []string{ids["g"]})
		if err != nil || len(got) != 1 {
			t.Fatalf("DescribeGroups #%d = %d groups, %v", i, len(got), err)
		}
	}
	if n := c.Stats()["DescribeSecurityGroups"]; n <= 3 {
		t.Errorf("made %d calls for 3 describes; expected throttled retries in between", n)
	}
}

func TestClient_RateLimitAvoidsThrottling(t *testing.T) {
	e := newEmulator(t)
	ids := seedWorld(t, e, ecstest.World{VPCs: []string{"vpc-a"}, Groups: []ecstest.Group{{Name: "g", VPC: "vpc-a"}}})
	e.env.Controls.SetRateLimit("ecs", "DescribeSecurityGroups", core.RateLimit{PerSecond: 20, Burst: 1})
	c := e.client(t, func(cfg *ecsapi.Config) {
		cfg.RateLimit = 15 // under the provider's 20/s
		// No retries, and the real clock: the limiter sleeps with
		// Retry.Sleep, which instantRetry would make a no-op.
		cfg.Retry = retry.Policy{MaxAttempts: 1}
	})
	ctx := context.Background()
	for i := 0; i < 8; i++ {
		if _, err := c.DescribeGroups(ctx, "", []string{ids["g"]}); err != nil {
			t.Fatalf("DescribeGroups #%d: %v", i, err)
		}
	}
	if n := c.Stats()["DescribeSecurityGroups"]; n != 8 {
		t.Errorf("made %d calls, want 8 (no throttling)", n)
	}
}

func TestClient_CreateGroupIsIdempotentAcrossRetries(t *testing.T) {
	e := newEmulator(t)
	ids := seedWorld(t, e, ecstest.World{VPCs: []string{"vpc-a"}})
	// Every other CreateSecurityGroup is carried out by the emulator but its
	// answer is lost (connection closed): the worst case for a retried
	// create. The ClientToken must make the retry return the same group.
	var n atomic.Int32
	lossy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.Form.Get("Action") == "CreateSecurityGroup" && n.Add(1)%2 == 1 {
			e.svc.ServeHTTP(httptest.NewRecorder(), r)
			panic(http.ErrAbortHandler)
		}
		e.svc.ServeHTTP(w, r)
	}))
	lossy.Config.ErrorLog = log.New(io.Discard, "", 0)
	t.Cleanup(lossy.Close)
	c := e.client(t, func(cfg *ecsapi.Config) { cfg.Endpoint = lossy.URL })
	ctx := context.Background()
	made := map[string]bool{}
	for i := 0; i < 3; i++ {
		id, err := c.CreateGroup(ctx, "", domain.GroupSpec{VPCID: ids["vpc-a"], Name: fmt.Sprintf("made%d", i)})
		if err != nil {
			t.Fatalf("CreateGroup #%d: %v", i, err)
		}
		made[id] = true
	}
	all, err := c.ListGroups(ctx, "", domain.GroupFilter{VPCID: ids["vpc-a"]})
	if err != nil {
		t.Fatal(err)
	}
	if calls := c.Stats()["CreateSecurityGroup"]; len(all) != 3 || len(made) != 3 || calls != 6 {
		t.Errorf("%d groups (%d distinct IDs returned) after 3 creates in %d calls, want 3, 3, 6", len(all), len(made), calls)
	}
}

func TestClient_STSCredentials(t *testing.T) {
	e := newEmulator(t)
	cred := e.env.Credentials.IssueSTS(time.Hour)
	c := e.client(t, func(cfg *ecsapi.Config) {
		cfg.Credentials = cloudauth.Credentials{AccessKeyID: cred.AccessKeyID, AccessKeySecret: cred.AccessKeySecret, SecurityToken: cred.SecurityToken}
	})
	if _, err := c.ListGroups(context.Background(), "", domain.GroupFilter{}); err != nil {
		t.Fatalf("ListGroups with STS credentials: %v", err)
	}
	bad := e.client(t, func(cfg *ecsapi.Config) {
		cfg.Credentials = cloudauth.Credentials{AccessKeyID: testKeyID, AccessKeySecret: "wrong-secret"}
	})
	_, err := bad.ListGroups(context.Background(), "", domain.GroupFilter{})
	if domain.KindOf(err) != domain.KindPermanent || domain.CodeOf(err) != "SignatureDoesNotMatch" {
		t.Fatalf("wrong secret: %v, want permanent SignatureDoesNotMatch", err)
	}
	assertNoSecrets(t, err)
}

func TestClient_LaunchTemplateVersionsReadOnce(t *testing.T) {
	e := newEmulator(t)
	seed := ecsemu.Seed{
		VPCs:      []ecsemu.SeedVPC{{ID: "vpc-lt00000001"}},
		VSwitches: []ecsemu.SeedVSwitch{{ID: "vsw-lt00000001", VpcID: "vpc-lt00000001"}},
		SecurityGroups: []ecsemu.SeedSecurityGroup{
			{ID: "sg-lt00000001", VpcID: "vpc-lt00000001"}, {ID: "sg-lt00000002", VpcID: "vpc-lt00000001"},
			{ID: "sg-lt00000003", VpcID: "vpc-lt00000001"},
		},
		LaunchTemplates: []ecsemu.SeedLaunchTemplate{{ID: "lt-lt00000001", Name: "web", DefaultVersion: 1, Versions: []ecsemu.SeedTemplateVersion{
			{VersionNumber: 1, SecurityGroupID: "sg-lt00000001"},
			{VersionNumber: 2, NetworkInterfaces: []ecsemu.SeedTemplateNIC{{SecurityGroupIDs: []string{"sg-lt00000002"}}}},
		}}},
	}
	if err := e.svc.Seed(seed); err != nil {
		t.Fatal(err)
	}
	shared := ecsapi.NewTemplateVersionCache()
	ctx := context.Background()
	read := func() map[string][]string {
		t.Helper()
		// A new client each time, as a function builds one per credential rotation.
		c := e.client(t, func(cfg *ecsapi.Config) { cfg.TemplateVersions = shared })
		got, err := c.LaunchTemplateGroups(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	want := map[string][]string{"sg-lt00000001": {"lt-lt00000001"}, "sg-lt00000002": {"lt-lt00000001"}}
	for i := 0; i < 3; i++ {
		if got := read(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("read %d: %v, want %v", i, got, want)
		}
	}
	if n := e.env.Controls.Count("ecs", "DescribeLaunchTemplateVersions"); n != 1 {
		t.Errorf("3 reads of an unchanged template made %d DescribeLaunchTemplateVersions calls, want 1", n)
	}
	if n := e.env.Controls.Count("ecs", "DescribeLaunchTemplates"); n != 3 {
		t.Errorf("3 reads listed the templates %d times, want 3 (the listing is never cached)", n)
	}

	// A changed template (a new latest version) is read afresh.
	e.env.Clock.Advance(time.Hour)
	seed.LaunchTemplates[0].Versions = append(seed.LaunchTemplates[0].Versions,
		ecsemu.SeedTemplateVersion{VersionNumber: 3, SecurityGroupIDs: []string{"sg-lt00000003"}, CreateTime: e.env.Clock.Now()})
	if err := e.svc.Seed(seed); err != nil {
		t.Fatal(err)
	}
	want = map[string][]string{"sg-lt00000001": {"lt-lt00000001"}, "sg-lt00000003": {"lt-lt00000001"}}
	if got := read(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after a new version: %v, want %v", got, want)
	}
}
