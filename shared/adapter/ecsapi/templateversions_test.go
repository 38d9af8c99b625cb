package ecsapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/adapter/ecsapi"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
)

// versionLog records which versions each DescribeLaunchTemplateVersions
// asked for, by wrapping the emulator.
type versionLog struct {
	mu   sync.Mutex
	asks []string
}

func (l *versionLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.Form.Get("Action") == "DescribeLaunchTemplateVersions" {
			l.mu.Lock()
			l.asks = append(l.asks, fmt.Sprintf("%s [%s-%s] page %s", r.Form.Get("LaunchTemplateId"),
				r.Form.Get("MinVersion"), r.Form.Get("MaxVersion"), r.Form.Get("PageNumber")))
			l.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}

func (l *versionLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.asks
	l.asks = nil
	return out
}

func groupsOf(m map[string][]ecsapi.TemplateVersionUse) map[string][]string {
	out := map[string][]string{}
	for g, uses := range m {
		for _, u := range uses {
			out[g] = append(out[g], fmt.Sprintf("%s v%d", u.TemplateID, u.Version))
		}
	}
	return out
}

func TestClient_TemplateGroupsEveryVersionReadOnce(t *testing.T) {
	e := newEmulator(t)
	seed := ecsemu.Seed{
		VPCs:      []ecsemu.SeedVPC{{ID: "vpc-tv00000001"}},
		VSwitches: []ecsemu.SeedVSwitch{{ID: "vsw-tv00000001", VpcID: "vpc-tv00000001"}},
		LaunchTemplates: []ecsemu.SeedLaunchTemplate{
			{ID: "lt-tv00000001", Name: "web", DefaultVersion: 2, Versions: []ecsemu.SeedTemplateVersion{
				{VersionNumber: 1, SecurityGroupID: "sg-tv00000001"},
				{VersionNumber: 2, SecurityGroupIDs: []string{"sg-tv00000002"}},
				{VersionNumber: 3, NetworkInterfaces: []ecsemu.SeedTemplateNIC{{SecurityGroupIDs: []string{"sg-tv00000003"}}}},
				{VersionNumber: 4, SecurityGroupID: "sg-tv00000002"},
			}},
		},
	}
	// 60 versions of one template and 55 templates: both listings page.
	big := ecsemu.SeedLaunchTemplate{ID: "lt-tv00000002", Name: "big", DefaultVersion: 1}
	for v := int64(1); v <= 60; v++ {
		big.Versions = append(big.Versions, ecsemu.SeedTemplateVersion{VersionNumber: v, SecurityGroupID: fmt.Sprintf("sg-big%08d", v)})
	}
	seed.LaunchTemplates = append(seed.LaunchTemplates, big)
	for i := 0; i < 53; i++ {
		seed.LaunchTemplates = append(seed.LaunchTemplates, ecsemu.SeedLaunchTemplate{ID: fmt.Sprintf("lt-sm%08d", i), Name: fmt.Sprintf("small%d", i),
			Versions: []ecsemu.SeedTemplateVersion{{VersionNumber: 1}}})
	}
	if err := e.svc.Seed(seed); err != nil {
		t.Fatal(err)
	}
	var log versionLog
	front := httptest.NewServer(log.wrap(e.svc))
	t.Cleanup(front.Close)
	shared := ecsapi.NewTemplateVersionCache()
	ctx := context.Background()
	read := func() map[string][]ecsapi.TemplateVersionUse {
		t.Helper()
		c := e.client(t, func(cfg *ecsapi.Config) { cfg.Endpoint = front.URL; cfg.TemplateVersions = shared })
		got, err := c.TemplateGroups(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	got := read()
	want := map[string][]string{
		"sg-tv00000001": {"lt-tv00000001 v1"},
		"sg-tv00000002": {"lt-tv00000001 v2", "lt-tv00000001 v4"},
		"sg-tv00000003": {"lt-tv00000001 v3"},
	}
	for g, uses := range groupsOf(got) {
		if g[:6] != "sg-big" {
			if diff := cmp.Diff(want[g], uses); diff != "" {
				t.Errorf("%s (-want +got):\n%s", g, diff)
			}
		}
	}
	if n := len(groupsOf(got)); n != 3+60 {
		t.Errorf("%d groups in use, want 63", n)
	}
	if u := got["sg-tv00000002"][0]; !u.Default || u.Latest || u.TemplateName != "web" {
		t.Errorf("version 2 = %+v, want the default, not the latest, of web", u)
	}
	if got := e.env.Controls.Count("ecs", "DescribeLaunchTemplates"); got != 2 {
		t.Errorf("%d DescribeLaunchTemplates for 55 templates, want 2", got)
	}
	// 1 per template, plus a second page for the one with 60 versions.
	if asks := log.take(); len(asks) != 56 {
		t.Errorf("first read made %d DescribeLaunchTemplateVersions, want 56", len(asks))
	}

	// Unchanged: no version is read again, even by a new client.
	read()
	if asks := log.take(); len(asks) != 0 {
		t.Errorf("an unchanged account made %d version reads: %v", len(asks), asks)
	}

	// A new version: only it is read.
	e.env.Clock.Advance(time.Minute)
	if _, err := e.svc.AddTemplateVersion("lt-tv00000001", ecsemu.SeedTemplateVersion{SecurityGroupID: "sg-tv00000005"}); err != nil {
		t.Fatal(err)
	}
	got = read()
	if diff := cmp.Diff([]string{"lt-tv00000001 [5-5] page 1"}, log.take()); diff != "" {
		t.Errorf("after a new version (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"lt-tv00000001 v5"}, groupsOf(got)["sg-tv00000005"]); diff != "" {
		t.Errorf("the new version's group (-want +got):\n%s", diff)
	}

	// A deleted version: the template is read afresh and its group is free.
	e.env.Clock.Advance(time.Minute)
	if err := e.svc.DeleteTemplateVersion("lt-tv00000001", 3); err != nil {
		t.Fatal(err)
	}
	got = read()
	if diff := cmp.Diff([]string{"lt-tv00000001 [-] page 1"}, log.take()); diff != "" {
		t.Errorf("after a deleted version (-want +got):\n%s", diff)
	}
	if uses, ok := got["sg-tv00000003"]; ok {
		t.Errorf("the deleted version still uses its group: %v", uses)
	}
}

func TestTemplateGroups_WireFailures(t *testing.T) {
	templates := ok(map[string]any{"RequestId": "R", "TotalCount": 1, "LaunchTemplateSets": map[string]any{"LaunchTemplateSet": []any{
		map[string]any{"LaunchTemplateId": "lt-1", "LaunchTemplateName": "web", "DefaultVersionNumber": 1, "LatestVersionNumber": 3, "ModifiedTime": "2024-05-01T00:00:00Z"},
	}}})
	tests := []struct {
		name     string
		versions answer
		wantErr  bool
		kind     domain.Kind
		code     string
	}{
		{"truncated versions", ok(map[string]any{"RequestId": "R", "TotalCount": 3, "LaunchTemplateVersionSets": map[string]any{"LaunchTemplateVersionSet": []any{}}}), true, domain.KindInternal, ""},
		{"throttled", apiErr(400, "Throttling.User", "Request was denied due to user flow control."), true, domain.KindThrottled, "Throttling.User"},
		{"template gone", apiErr(404, "InvalidLaunchTemplate.NotFound", "gone"), false, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := wireServer(t, func(action string, q url.Values) answer {
				if action == "DescribeLaunchTemplates" {
					return templates
				}
				return tc.versions
			})
			c := MustClient(t, wireConfig(srv, 1))
			got, err := c.TemplateGroups(context.Background(), "")
			if !tc.wantErr {
				if err != nil || len(got) != 0 {
					t.Fatalf("got %v, %v; want nothing (a deleted template names nothing)", got, err)
				}
				return
			}
			if err == nil || domain.KindOf(err) != tc.kind || domain.CodeOf(err) != tc.code {
				t.Fatalf("err = %v (%v, %q), want %s %q", err, domain.KindOf(err), domain.CodeOf(err), tc.kind, tc.code)
			}
			assertNoSecrets(t, err)
		})
	}
}
