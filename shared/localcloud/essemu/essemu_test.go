package essemu_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ess"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/essemu"
)

const (
	region = "cn-hangzhou"
	keyID  = "LTAIessemukey01"
	secret = "essemu-secret"
)

type fixture struct {
	env *core.Env
	svc *essemu.Service
	srv *httptest.Server
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := core.NewEnv("1234567890123456", 1)
	env.Credentials.AddAccessKey(keyID, secret)
	svc, err := essemu.New(env, essemu.Options{Region: region})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	return &fixture{env: env, svc: svc, srv: srv}
}

var nonce int

// raw sends one signed RPC call with params and returns status and body.
func (f *fixture) raw(t *testing.T, version string, params map[string]string, mutate ...func(url.Values)) (int, map[string]any) {
	t.Helper()
	nonce++
	v := url.Values{}
	for k, x := range map[string]string{"AccessKeyId": keyID, "Format": "JSON", "SignatureMethod": "HMAC-SHA1",
		"SignatureVersion": "1.0", "SignatureNonce": fmt.Sprintf("n-%d-%d", time.Now().UnixNano(), nonce),
		"Timestamp": time.Now().UTC().Format("2006-01-02T15:04:05Z"), "Version": version, "RegionId": region} {
		v.Set(k, x)
	}
	for k, x := range params {
		v.Set(k, x)
	}
	for _, m := range mutate {
		m(v)
	}
	if v.Get("Signature") == "" {
		v.Set("Signature", ecsemu.Sign(secret, ecsemu.StringToSign("POST", v)))
	}
	resp, err := http.Post(f.srv.URL+"/", "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func TestWire_Errors(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name     string
		version  string
		params   map[string]string
		mutate   func(url.Values)
		wantCode string
		status   int
	}{
		{"ok", essemu.ESSVersion, map[string]string{"Action": "DescribeScalingGroups"}, nil, "", 200},
		{"bad signature", essemu.ESSVersion, map[string]string{"Action": "DescribeScalingGroups"},
			func(v url.Values) { v.Set("Signature", "AAAA") }, "SignatureDoesNotMatch", 400},
		{"unknown key", essemu.ESSVersion, map[string]string{"Action": "DescribeScalingGroups"},
			func(v url.Values) { v.Set("AccessKeyId", "nobody") }, "InvalidAccessKeyId.NotFound", 404},
		{"old timestamp", essemu.ESSVersion, map[string]string{"Action": "DescribeScalingGroups"},
			func(v url.Values) { v.Set("Timestamp", "2020-01-01T00:00:00Z") }, "InvalidTimeStamp.Expired", 400},
		{"unknown action", essemu.ESSVersion, map[string]string{"Action": "DescribeNothing"}, nil, "InvalidAction.NotFound", 404},
		{"ECS action on ECI", essemu.ECIVersion, map[string]string{"Action": "DescribeScalingGroups"}, nil, "InvalidAction.NotFound", 404},
		{"wrong version", "2099-01-01", map[string]string{"Action": "DescribeScalingGroups"}, nil, "InvalidVersion", 400},
		{"no region", essemu.ESSVersion, map[string]string{"Action": "DescribeScalingGroups"},
			func(v url.Values) { v.Del("RegionId") }, "MissingParameter.RegionId", 400},
		{"unknown region", essemu.ESSVersion, map[string]string{"Action": "DescribeScalingGroups", "RegionId": "xx-nowhere-1"}, nil, "InvalidRegionId.NotFound", 404},
		{"page too big", essemu.ESSVersion, map[string]string{"Action": "DescribeScalingConfigurations", "PageSize": "51"}, nil, "InvalidParameter.PageSize", 400},
		{"page zero", essemu.ESSVersion, map[string]string{"Action": "DescribeScalingGroups", "PageNumber": "0"}, nil, "InvalidParameter.PageNumber", 400},
		{"limit too big", essemu.ECIVersion, map[string]string{"Action": "DescribeContainerGroups", "Limit": "21"}, nil, "InvalidParameter.Limit", 400},
		{"bad token", essemu.ECIVersion, map[string]string{"Action": "DescribeContainerGroups", "NextToken": "garbage!"}, nil, "InvalidParameter.NextToken", 400},
		{"eleven configuration ids", essemu.ESSVersion, map[string]string{"Action": "DescribeScalingConfigurations",
			"ScalingConfigurationId.1": "a", "ScalingConfigurationId.2": "a", "ScalingConfigurationId.3": "a", "ScalingConfigurationId.4": "a",
			"ScalingConfigurationId.5": "a", "ScalingConfigurationId.6": "a", "ScalingConfigurationId.7": "a", "ScalingConfigurationId.8": "a",
			"ScalingConfigurationId.9": "a", "ScalingConfigurationId.10": "a", "ScalingConfigurationId.11": "a"}, nil, "InvalidParameter.TooMany", 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mutate []func(url.Values)
			if tc.mutate != nil {
				mutate = append(mutate, tc.mutate)
			}
			status, body := f.raw(t, tc.version, tc.params, mutate...)
			if status != tc.status || (tc.wantCode != "" && body["Code"] != tc.wantCode) {
				t.Fatalf("status %d code %v, want %d %q (%v)", status, body["Code"], tc.status, tc.wantCode, body)
			}
			if tc.wantCode != "" && (body["RequestId"] == "" || body["HostId"] == "") {
				t.Errorf("error without RequestId/HostId: %v", body)
			}
		})
	}
}

func TestWire_NonceReplayRefused(t *testing.T) {
	f := newFixture(t)
	fixed := func(v url.Values) { v.Set("SignatureNonce", "once") }
	if status, body := f.raw(t, essemu.ESSVersion, map[string]string{"Action": "DescribeScalingGroups"}, fixed); status != 200 {
		t.Fatalf("first call: %d %v", status, body)
	}
	if _, body := f.raw(t, essemu.ESSVersion, map[string]string{"Action": "DescribeScalingGroups"}, fixed); body["Code"] != "SignatureNonceUsed" {
		t.Fatalf("replay: %v", body)
	}
}

func TestWire_ControlsThrottle(t *testing.T) {
	f := newFixture(t)
	f.env.Controls.SetRateLimit("ess", "DescribeScalingGroups", core.RateLimit{PerSecond: 0.001, Burst: 1})
	f.raw(t, essemu.ESSVersion, map[string]string{"Action": "DescribeScalingGroups"})
	status, body := f.raw(t, essemu.ESSVersion, map[string]string{"Action": "DescribeScalingGroups"})
	if status != 400 || body["Code"] != "Throttling" {
		t.Fatalf("second call: %d %v, want 400 Throttling", status, body)
	}
}

func seed(t *testing.T, f *fixture) {
	t.Helper()
	err := f.svc.Seed(essemu.Seed{
		ScalingGroups: []essemu.SeedScalingGroup{{ID: "asg-1", Name: "one"}, {ID: "asg-2", Name: "two", GroupType: "ECI"},
			{ID: "asg-3", Name: "three", LaunchTemplateID: "lt-x"}},
		ScalingConfigurations: []essemu.SeedScalingConfiguration{
			{ID: "asc-a", Name: "live", ScalingGroupID: "asg-1", Active: true, SecurityGroupID: "sg-a"},
			{ID: "asc-b", Name: "old", ScalingGroupID: "asg-1", SecurityGroupIDs: []string{"sg-b", "sg-c"}},
			{ID: "asc-e", Name: "pods", ScalingGroupID: "asg-2", Active: true, SecurityGroupID: "sg-e"},
		},
		ContainerGroups: []essemu.SeedContainerGroup{{ID: "eci-1", Name: "c1", SecurityGroupID: "sg-e"},
			{ID: "eci-2", Name: "c2", SecurityGroupID: "sg-f", Status: "Succeeded"}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func ids(list []any, key string) []string {
	var out []string
	for _, x := range list {
		out = append(out, x.(map[string]any)[key].(string))
	}
	return out
}

func TestDescribe_Filters(t *testing.T) {
	f := newFixture(t)
	seed(t, f)
	configs := func(body map[string]any) []string {
		return ids(body["ScalingConfigurations"].(map[string]any)["ScalingConfiguration"].([]any), "ScalingConfigurationId")
	}
	tests := []struct {
		name    string
		version string
		params  map[string]string
		read    func(map[string]any) []string
		want    string
	}{
		{"groups", essemu.ESSVersion, map[string]string{"Action": "DescribeScalingGroups"},
			func(b map[string]any) []string {
				return ids(b["ScalingGroups"].(map[string]any)["ScalingGroup"].([]any), "ScalingGroupId")
			}, "[asg-1 asg-2 asg-3]"},
		{"groups by id", essemu.ESSVersion, map[string]string{"Action": "DescribeScalingGroups", "ScalingGroupId.1": "asg-3"},
			func(b map[string]any) []string {
				return ids(b["ScalingGroups"].(map[string]any)["ScalingGroup"].([]any), "LaunchTemplateVersion")
			}, "[Default]"},
		{"ECS configurations region-wide", essemu.ESSVersion, map[string]string{"Action": "DescribeScalingConfigurations"}, configs, "[asc-a asc-b]"},
		{"configurations of a group", essemu.ESSVersion, map[string]string{"Action": "DescribeScalingConfigurations", "ScalingGroupId": "asg-1", "PageSize": "1", "PageNumber": "2"}, configs, "[asc-b]"},
		{"unknown group is empty", essemu.ESSVersion, map[string]string{"Action": "DescribeScalingConfigurations", "ScalingGroupId": "asg-none"}, configs, "[]"},
		{"names match active only", essemu.ESSVersion, map[string]string{"Action": "DescribeScalingConfigurations", "ScalingConfigurationName.1": "old", "ScalingConfigurationName.2": "live"}, configs, "[asc-a]"},
		{"ids match inactive too", essemu.ESSVersion, map[string]string{"Action": "DescribeScalingConfigurations", "ScalingConfigurationId.1": "asc-b"}, configs, "[asc-b]"},
		{"ECI configurations", essemu.ESSVersion, map[string]string{"Action": "DescribeEciScalingConfigurations"},
			func(b map[string]any) []string { return ids(b["ScalingConfigurations"].([]any), "SecurityGroupId") }, "[sg-e]"},
		{"container groups by ids", essemu.ECIVersion, map[string]string{"Action": "DescribeContainerGroups", "ContainerGroupIds": `["eci-2"]`},
			func(b map[string]any) []string { return ids(b["ContainerGroups"].([]any), "Status") }, "[Succeeded]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := f.raw(t, tc.version, tc.params)
			if status != 200 {
				t.Fatalf("%d %v", status, body)
			}
			if got := fmt.Sprint(tc.read(body)); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestSDK_ActiveConfigurationAndState(t *testing.T) {
	f := newFixture(t)
	seed(t, f)
	if err := f.svc.SetInstanceCount("asg-1", 0); err != nil {
		t.Fatal(err)
	}
	cl, err := ess.NewClientWithAccessKey(region, keyID, secret)
	if err != nil {
		t.Fatal(err)
	}
	cl.Domain, cl.GetConfig().Scheme = strings.TrimPrefix(f.srv.URL, "http://"), "HTTP"
	req := ess.CreateDescribeScalingGroupsRequest()
	req.RegionId = region
	req.ScalingGroupId = &[]string{"asg-1"}
	resp, err := cl.DescribeScalingGroups(req)
	if err != nil || len(resp.ScalingGroups.ScalingGroup) != 1 {
		t.Fatalf("%+v %v", resp, err)
	}
	g := resp.ScalingGroups.ScalingGroup[0]
	if g.ActiveScalingConfigurationId != "asc-a" || g.TotalInstanceCount != 0 || g.LifecycleState != "Active" || g.GroupType != "ECS" {
		t.Errorf("scaling group %+v", g)
	}
	creq := ess.CreateDescribeScalingConfigurationsRequest()
	creq.RegionId = region
	creq.ScalingGroupId = "asg-1"
	cresp, err := cl.DescribeScalingConfigurations(creq)
	if err != nil || len(cresp.ScalingConfigurations.ScalingConfiguration) != 2 {
		t.Fatalf("%+v %v", cresp, err)
	}
	b := cresp.ScalingConfigurations.ScalingConfiguration[1]
	if b.LifecycleState != "Inactive" || fmt.Sprint(b.SecurityGroupIds.SecurityGroupId) != "[sg-b sg-c]" {
		t.Errorf("inactive configuration %+v", b)
	}
}

func TestSeed_Validation(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		sd   essemu.Seed
		want string
	}{
		{"configuration without group", essemu.Seed{ScalingConfigurations: []essemu.SeedScalingConfiguration{{Name: "x", ScalingGroupID: "asg-none"}}}, "does not exist"},
		{"two active", essemu.Seed{ScalingGroups: []essemu.SeedScalingGroup{{ID: "asg-1"}},
			ScalingConfigurations: []essemu.SeedScalingConfiguration{{ScalingGroupID: "asg-1", Active: true}, {ScalingGroupID: "asg-1", Active: true}}}, "already has an active"},
		{"bad group id", essemu.Seed{ScalingGroups: []essemu.SeedScalingGroup{{ID: "x-1"}}}, "asg-"},
		{"bad security group", essemu.Seed{ScalingGroups: []essemu.SeedScalingGroup{{ID: "asg-1"}},
			ScalingConfigurations: []essemu.SeedScalingConfiguration{{ScalingGroupID: "asg-1", SecurityGroupID: "web"}}}, "not a security group"},
		{"bad type", essemu.Seed{ScalingGroups: []essemu.SeedScalingGroup{{ID: "asg-1", GroupType: "VM"}}}, "groupType"},
		{"container without group", essemu.Seed{ContainerGroups: []essemu.SeedContainerGroup{{Name: "c"}}}, "security group"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := f.svc.Seed(tc.sd)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Seed = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestAdmin_SeedAndSnapshot(t *testing.T) {
	f := newFixture(t)
	h := f.svc.AdminHandler()
	body := `{"scalingGroups":[{"id":"asg-9","name":"nine","instanceCount":2}],"scalingConfigurations":[{"id":"asc-9","name":"c","scalingGroupId":"asg-9","securityGroupIds":["sg-9"]}]}`
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/seed", bytes.NewBufferString(body)))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("seed: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/seed", bytes.NewBufferString(`{"unknown":1}`)))
	if rec.Code != http.StatusBadRequest {
		t.Errorf("unknown field accepted: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/snapshot", nil))
	var sd essemu.Seed
	if err := json.Unmarshal(rec.Body.Bytes(), &sd); err != nil || len(sd.ScalingGroups) != 1 || sd.ScalingGroups[0].MaxSize != 2 ||
		fmt.Sprint(sd.ScalingConfigurations[0].SecurityGroupIDs) != "[sg-9]" {
		t.Fatalf("snapshot %s: %v", rec.Body, err)
	}
}

// TestWire_RegionsOfTheAccount: with HasRegion (localcloud passes the ECS
// emulator's), every region the account has is served, others are not.
func TestWire_RegionsOfTheAccount(t *testing.T) {
	env := core.NewEnv("1234567890123456", 1)
	env.Credentials.AddAccessKey(keyID, secret)
	svc, err := essemu.New(env, essemu.Options{Region: region, HasRegion: func(r string) bool { return r == "cn-beijing" }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	f := &fixture{env: env, svc: svc, srv: srv}
	for r, want := range map[string]int{region: 200, "cn-beijing": 200, "cn-shanghai": 404} {
		for _, version := range []string{essemu.ESSVersion, essemu.ECIVersion} {
			action := "DescribeScalingGroups"
			if version == essemu.ECIVersion {
				action = "DescribeContainerGroups"
			}
			if status, body := f.raw(t, version, map[string]string{"Action": action, "RegionId": r}); status != want {
				t.Errorf("%s in %s: %d %v, want %d", action, r, status, body["Code"], want)
			}
		}
	}
}
