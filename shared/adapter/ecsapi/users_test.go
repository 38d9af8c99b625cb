package ecsapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/adapter/ecsapi"
	"github.com/sgpilot/sgpilot/shared/core/cloudauth"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/retry"
	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/essemu"
	"github.com/sgpilot/sgpilot/shared/testkit/ecstest"
)

// These tests run the adapter against the ESS/ECI emulator over real HTTP,
// with the real SDK signing every call.

const (
	essKeyID  = "LTAIesstestkey0001"
	essSecret = "ess-essSecret-never-printed"
)

type essEmulator struct {
	env *core.Env
	svc *essemu.Service
	srv *httptest.Server
}

func newESSEmulator(tb testing.TB) *essEmulator {
	tb.Helper()
	env := core.NewEnv("1234567890123456", 1)
	env.Credentials.AddAccessKey(essKeyID, essSecret)
	svc, err := essemu.New(env, essemu.Options{Region: emuRegion})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(svc)
	tb.Cleanup(srv.Close)
	return &essEmulator{env: env, svc: svc, srv: srv}
}

func essInstantRetry(attempts int) retry.Policy {
	return retry.Policy{MaxAttempts: attempts, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond,
		Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() }}
}

func mustUsersClient(tb testing.TB, endpoint string, mutate ...func(*ecsapi.UsersConfig)) *ecsapi.UsersClient {
	tb.Helper()
	cfg := ecsapi.UsersConfig{RegionID: emuRegion, Endpoint: endpoint,
		Credentials: cloudauth.Credentials{AccessKeyID: essKeyID, AccessKeySecret: essSecret}, Retry: essInstantRetry(4)}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := ecsapi.NewUsersClient(cfg)
	if err != nil {
		tb.Fatalf("ecsapi.New: %v", err)
	}
	return c
}

func mustESSSeed(tb testing.TB, e *essEmulator, sd essemu.Seed) {
	tb.Helper()
	if err := e.svc.Seed(sd); err != nil {
		tb.Fatalf("seed: %v", err)
	}
}

// bigSeed has 120 ECS scaling groups (3 pages) with one active and one
// inactive configuration each (240: 5 pages), every tenth group at zero
// instances and every seventh disabled, plus a launch-template group and an
// ECI group.
func bigESSSeed() essemu.Seed {
	var sd essemu.Seed
	for i := 0; i < 120; i++ {
		g := essemu.SeedScalingGroup{ID: fmt.Sprintf("asg-bulk%04d", i), Name: fmt.Sprintf("bulk%d", i), InstanceCount: 2}
		if i%10 == 0 {
			g.InstanceCount = 0
		}
		if i%7 == 0 {
			g.LifecycleState = "Inactive"
		}
		sd.ScalingGroups = append(sd.ScalingGroups, g)
		sd.ScalingConfigurations = append(sd.ScalingConfigurations,
			essemu.SeedScalingConfiguration{ID: fmt.Sprintf("asc-act%04d", i), Name: "active", ScalingGroupID: g.ID, Active: true,
				SecurityGroupID: "sg-common"},
			essemu.SeedScalingConfiguration{ID: fmt.Sprintf("asc-old%04d", i), Name: "old", ScalingGroupID: g.ID,
				SecurityGroupIDs: []string{fmt.Sprintf("sg-old%04d", i)}, NetworkInterface: [][]string{{"sg-nic"}}})
	}
	sd.ScalingGroups = append(sd.ScalingGroups,
		essemu.SeedScalingGroup{ID: "asg-lt", Name: "from-template", LaunchTemplateID: "lt-web", LaunchTemplateVersion: "Latest"},
		essemu.SeedScalingGroup{ID: "asg-eci", Name: "containers", GroupType: "ECI", InstanceCount: 3})
	sd.ScalingConfigurations = append(sd.ScalingConfigurations,
		essemu.SeedScalingConfiguration{ID: "asc-eci", Name: "pods", ScalingGroupID: "asg-eci", Active: true, SecurityGroupID: "sg-pods"})
	return sd
}

func TestScalingUsage_EveryConfigurationAcrossPages(t *testing.T) {
	e := newESSEmulator(t)
	mustESSSeed(t, e, bigESSSeed())
	c := mustUsersClient(t, e.srv.URL)
	got, err := c.ScalingUsage(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.Groups["sg-common"]); n != 120 {
		t.Errorf("sg-common named by %d configurations, want 120", n)
	}
	if n := len(got.Groups["sg-nic"]); n != 120 {
		t.Errorf("sg-nic (network interfaces of inactive configurations) named by %d, want 120", n)
	}
	want := []ecsapi.ScalingUse{{ConfigurationID: "asc-old0070", ConfigurationName: "old", ScalingGroupID: "asg-bulk0070",
		ScalingGroupName: "bulk70", ScalingGroupActive: false, InstanceCount: 0}}
	if diff := cmp.Diff(want, got.Groups["sg-old0070"]); diff != "" {
		t.Errorf("inactive configuration of a disabled group at zero instances (-want +got):\n%s", diff)
	}
	wantECI := []ecsapi.ScalingUse{{ConfigurationID: "asc-eci", ConfigurationName: "pods", ConfigurationActive: true, ECI: true,
		ScalingGroupID: "asg-eci", ScalingGroupName: "containers", ScalingGroupActive: true, InstanceCount: 3}}
	if diff := cmp.Diff(wantECI, got.Groups["sg-pods"]); diff != "" {
		t.Errorf("ECI configuration (-want +got):\n%s", diff)
	}
	wantLT := []ecsapi.TemplateRef{{ScalingGroupID: "asg-lt", ScalingGroupName: "from-template", ScalingGroupActive: true,
		TemplateID: "lt-web", Version: "Latest"}}
	if diff := cmp.Diff(wantLT, got.Templates); diff != "" {
		t.Errorf("launch template groups (-want +got):\n%s", diff)
	}
	wantCalls := map[string]int64{"DescribeScalingGroups": 3, "DescribeScalingConfigurations": 5, "DescribeEciScalingConfigurations": 1}
	if diff := cmp.Diff(wantCalls, c.Stats()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if n := e.env.Controls.Count("ess", "DescribeScalingConfigurations"); n != 5 {
		t.Errorf("emulator saw %d DescribeScalingConfigurations, want 5", n)
	}
}

func TestScalingUsage_EmptyRegionIsOneCall(t *testing.T) {
	e := newESSEmulator(t)
	c := mustUsersClient(t, e.srv.URL)
	got, err := c.ScalingConfigurationGroups(context.Background(), "")
	if err != nil || len(got) != 0 {
		t.Fatalf("got %v, %v; want nothing", got, err)
	}
	if diff := cmp.Diff(map[string]int64{"DescribeScalingGroups": 1}, c.Stats()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

// A region-wide listing that leaves out a group's active configuration is
// not trusted: that group's configurations are read on their own.
func TestScalingUsage_FallsBackPerGroupWhenRegionWideListingMissesOne(t *testing.T) {
	e := newESSEmulator(t)
	mustESSSeed(t, e, essemu.Seed{
		ScalingGroups: []essemu.SeedScalingGroup{{ID: "asg-a", Name: "a"}, {ID: "asg-b", Name: "b"}},
		ScalingConfigurations: []essemu.SeedScalingConfiguration{
			{ID: "asc-a", Name: "a", ScalingGroupID: "asg-a", Active: true, SecurityGroupID: "sg-a"},
			{ID: "asc-b", Name: "b", ScalingGroupID: "asg-b", Active: true, SecurityGroupID: "sg-b"},
		},
	})
	// The front answers region-wide listings with nothing at all.
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.Form.Get("Action") != "DescribeScalingConfigurations" || r.Form.Get("ScalingGroupId") != "" {
			e.svc.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		e.svc.ServeHTTP(rec, r)
		var body map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		body["TotalCount"] = 0
		body["ScalingConfigurations"] = map[string]any{"ScalingConfiguration": []any{}}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(front.Close)
	c := mustUsersClient(t, front.URL)
	got, err := c.ScalingConfigurationGroups(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got["sg-a"]) != 1 || len(got["sg-b"]) != 1 {
		t.Fatalf("got %v, want sg-a and sg-b each used once", got)
	}
	if n := c.Stats()["DescribeScalingConfigurations"]; n != 3 {
		t.Errorf("%d DescribeScalingConfigurations, want 3 (region-wide, then one per group)", n)
	}
}

func TestScalingUsage_Throttling(t *testing.T) {
	tests := []struct {
		name     string
		attempts int
		wantErr  bool
	}{
		{"retried until it passes", 8, false},
		{"classified when retries run out", 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newESSEmulator(t)
			mustESSSeed(t, e, bigESSSeed())
			e.env.Controls.SetRateLimit("ess", core.AnyAction, core.RateLimit{PerSecond: 20, Burst: 1})
			c := mustUsersClient(t, e.srv.URL, func(cfg *ecsapi.UsersConfig) {
				cfg.Retry = retry.Policy{MaxAttempts: tc.attempts, BaseDelay: 30 * time.Millisecond, MaxDelay: 60 * time.Millisecond}
			})
			_, err := c.ScalingUsage(context.Background(), "")
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("ScalingUsage: %v", err)
				}
				if n := c.Stats()["DescribeScalingConfigurations"]; n <= 5 {
					t.Errorf("%d DescribeScalingConfigurations; expected throttled retries beyond 5", n)
				}
				return
			}
			if domain.KindOf(err) != domain.KindThrottled || domain.CodeOf(err) != "Throttling" {
				t.Fatalf("err = %v (kind %v), want throttled Throttling", err, domain.KindOf(err))
			}
		})
	}
}

func TestScalingUsage_RateLimitAvoidsThrottling(t *testing.T) {
	e := newESSEmulator(t)
	mustESSSeed(t, e, bigESSSeed())
	e.env.Controls.SetRateLimit("ess", core.AnyAction, core.RateLimit{PerSecond: 50, Burst: 1})
	// Half the emulator's rate: room for scheduling jitter on a loaded
	// machine, while calls sent back to back would still be refused.
	c := mustUsersClient(t, e.srv.URL, func(cfg *ecsapi.UsersConfig) {
		cfg.RateLimit = 25
		cfg.Retry = retry.Policy{MaxAttempts: 1}
	})
	if _, err := c.ScalingUsage(context.Background(), ""); err != nil {
		t.Fatalf("ScalingUsage under the limiter: %v", err)
	}
}

func TestUsersClient_WrongSecretIsPermanentAndQuiet(t *testing.T) {
	e := newESSEmulator(t)
	c := mustUsersClient(t, e.srv.URL, func(cfg *ecsapi.UsersConfig) { cfg.Credentials.AccessKeySecret = "wrong-essSecret" })
	_, err := c.ScalingUsage(context.Background(), "")
	if domain.KindOf(err) != domain.KindPermanent || domain.CodeOf(err) != "SignatureDoesNotMatch" {
		t.Fatalf("err = %v, want permanent SignatureDoesNotMatch", err)
	}
	for _, s := range []string{essSecret, "wrong-essSecret", "Signature="} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error leaks %q: %v", s, err)
		}
	}
}

func TestUsersClient_STSCredentials(t *testing.T) {
	e := newESSEmulator(t)
	cred := e.env.Credentials.IssueSTS(time.Hour)
	c := mustUsersClient(t, e.srv.URL, func(cfg *ecsapi.UsersConfig) {
		cfg.Credentials = cloudauth.Credentials{AccessKeyID: cred.AccessKeyID, AccessKeySecret: cred.AccessKeySecret, SecurityToken: cred.SecurityToken}
	})
	if _, err := c.ContainerGroupGroups(context.Background(), ""); err != nil {
		t.Fatalf("with STS credentials: %v", err)
	}
}

func TestNewUsersClient_Validation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*ecsapi.UsersConfig)
		want   string
	}{
		{"valid", func(*ecsapi.UsersConfig) {}, ""},
		{"bad region", func(c *ecsapi.UsersConfig) { c.RegionID = "Hangzhou" }, "RegionID"},
		{"no essSecret", func(c *ecsapi.UsersConfig) { c.Credentials.AccessKeySecret = "" }, "AccessKeySecret"},
		{"bad endpoint", func(c *ecsapi.UsersConfig) { c.Endpoint = "ftp://x" }, "ess endpoint"},
		{"bad eci endpoint", func(c *ecsapi.UsersConfig) { c.ECIEndpoint = "http://x/y" }, "eci endpoint"},
		{"negative rate", func(c *ecsapi.UsersConfig) { c.RateLimit = -1 }, "RateLimit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ecsapi.UsersConfig{RegionID: emuRegion, Credentials: cloudauth.Credentials{AccessKeyID: essKeyID, AccessKeySecret: essSecret}}
			tc.mutate(&cfg)
			_, err := ecsapi.NewUsersClient(cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || domain.KindOf(err) != domain.KindInvalid):
				t.Fatalf("New = %v, want an invalid error naming %q", err, tc.want)
			case err != nil && strings.Contains(err.Error(), essSecret):
				t.Fatalf("error leaks the essSecret: %v", err)
			}
		})
	}
}

func TestContainerGroupGroups_PagesAndSkipsFinalStates(t *testing.T) {
	e := newESSEmulator(t)
	var sd essemu.Seed
	statuses := []string{"Running", "Pending", "Succeeded", "Failed", "Expired", "Restarting", "Scheduling"}
	for i := 0; i < 45; i++ {
		sd.ContainerGroups = append(sd.ContainerGroups, essemu.SeedContainerGroup{ID: fmt.Sprintf("eci-%04d", i),
			Name: fmt.Sprintf("job%d", i), Status: statuses[i%len(statuses)], SecurityGroupID: fmt.Sprintf("sg-s%d", i%len(statuses))})
	}
	mustESSSeed(t, e, sd)
	c := mustUsersClient(t, e.srv.URL)
	got, err := c.ContainerGroupGroups(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for g, uses := range got {
		counts[g] = len(uses)
	}
	want := map[string]int{"sg-s0": 7, "sg-s1": 7, "sg-s5": 6, "sg-s6": 6}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Errorf("uses per group (-want +got):\n%s", diff)
	}
	if got["sg-s0"][0] != (ecsapi.ContainerGroupUse{ID: "eci-0000", Name: "job0", Status: "Running"}) {
		t.Errorf("first use of sg-s0 = %+v", got["sg-s0"][0])
	}
	if n := c.Stats()["DescribeContainerGroups"]; n != 3 {
		t.Errorf("%d DescribeContainerGroups for 45 container groups, want 3", n)
	}
}

func TestContainerGroupGroups_RefusesATokenThatDoesNotAdvance(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(bytes.TrimSpace([]byte(`{"RequestId":"R","NextToken":"same","TotalCount":99,"ContainerGroups":[{"ContainerGroupId":"eci-1","SecurityGroupId":"sg-1","Status":"Running"}]}`)))
	}))
	t.Cleanup(srv.Close)
	c := mustUsersClient(t, srv.URL)
	_, err := c.ContainerGroupGroups(context.Background(), "")
	if domain.KindOf(err) != domain.KindInternal || !strings.Contains(err.Error(), "did not advance") {
		t.Fatalf("err = %v, want an internal error about the token", err)
	}
}

// One client serves concurrent callers (the SDK clients are pooled, one
// call at a time each), and every one gets the whole answer.
func TestUsersClient_ConcurrentCallers(t *testing.T) {
	e := newESSEmulator(t)
	sd := bigESSSeed()
	sd.ContainerGroups = []essemu.SeedContainerGroup{{ID: "eci-c1", Name: "c", SecurityGroupID: "sg-c"}}
	mustESSSeed(t, e, sd)
	c := mustUsersClient(t, e.srv.URL)
	errs := make(chan error, 16)
	for i := 0; i < 8; i++ {
		go func() {
			u, err := c.ScalingUsage(context.Background(), "")
			if err == nil && len(u.Groups["sg-common"]) != 120 {
				err = fmt.Errorf("sg-common named %d times", len(u.Groups["sg-common"]))
			}
			errs <- err
		}()
		go func() {
			g, err := c.ContainerGroupGroups(context.Background(), "")
			if err == nil && len(g["sg-c"]) != 1 {
				err = fmt.Errorf("container groups %v", g)
			}
			errs <- err
		}()
	}
	for i := 0; i < 16; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := c.Stats()["DescribeScalingGroups"]; n != 8*3 {
		t.Errorf("%d DescribeScalingGroups, want 24", n)
	}
}

func TestUsersClient_CancelledContext(t *testing.T) {
	e := newESSEmulator(t)
	e.env.Controls.SetLatency("ess", core.AnyAction, time.Second)
	c := mustUsersClient(t, e.srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.ScalingUsage(ctx, "")
	if err == nil || time.Since(start) > 900*time.Millisecond {
		t.Fatalf("err = %v after %s; want a prompt failure", err, time.Since(start))
	}
}

// The ECS client offers the ESS and ECI reads through its own endpoint (an
// emulator serving every product), credentials and per-action limiter, and
// counts their calls in its Stats.
func TestClient_ReadsUsersThroughTheSameEndpointAndLimiter(t *testing.T) {
	e := newESSEmulator(t)
	sd := bigESSSeed()
	sd.ContainerGroups = []essemu.SeedContainerGroup{{ID: "eci-c1", Name: "c", Status: "Pending", SecurityGroupID: "sg-c"}}
	mustESSSeed(t, e, sd)
	// Refuse a second DescribeScalingConfigurations within 100 ms: only the
	// client's per-action limit (ECS's RateLimits map) keeps the pages apart.
	e.env.Controls.SetRateLimit("ess", "DescribeScalingConfigurations", core.RateLimit{PerSecond: 10, Burst: 1})
	c, err := ecsapi.New(ecsapi.Config{RegionID: emuRegion, Endpoint: e.srv.URL,
		Credentials: cloudauth.Credentials{AccessKeyID: essKeyID, AccessKeySecret: essSecret},
		RateLimits:  map[string]float64{"DescribeScalingConfigurations": 5}, Retry: retry.Policy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	scaling, err := c.ScalingConfigurationGroups(context.Background(), "")
	if err != nil {
		t.Fatalf("ScalingConfigurationGroups: %v", err)
	}
	if len(scaling["sg-common"]) != 120 {
		t.Errorf("sg-common named by %d configurations, want 120", len(scaling["sg-common"]))
	}
	eci, err := c.ContainerGroupGroups(context.Background(), "")
	if err != nil || len(eci["sg-c"]) != 1 {
		t.Fatalf("ContainerGroupGroups = %v, %v", eci, err)
	}
	st := c.Stats()
	if st["DescribeScalingGroups"] != 3 || st["DescribeScalingConfigurations"] != 5 || st["DescribeContainerGroups"] != 1 {
		t.Errorf("stats %v", st)
	}
}

// GroupReferrers names the account of each referencing group (AliUid).
func TestClient_GroupReferrersNameTheAccount(t *testing.T) {
	e := newEmulator(t)
	ids := seedWorld(t, e, ecstest.World{VPCs: []string{"a"},
		Groups: []ecstest.Group{{Name: "lb", VPC: "a"}, {Name: "web", VPC: "a"}},
		Rules:  []ecstest.Rule{{Group: "web", Peer: "lb"}, {Group: "lb", Peer: "lb"}}})
	c := e.client(t)
	got, err := c.GroupReferrers(context.Background(), "", []string{ids["lb"], ids["web"]})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]domain.Referrer{ids["lb"]: {{GroupID: ids["web"], AccountID: emuAccount}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GroupReferrers (-want +got):\n%s", diff)
	}
}
