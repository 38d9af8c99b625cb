package ecsapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/adapter/ecsapi"
	"github.com/sgpilot/sgpilot/shared/core/cloudauth"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/retry"
)

// These tests talk HTTP to crafted servers: error envelopes, throttling,
// 5xx, dropped connections, paging and batching edge cases that are awkward
// to provoke from the emulator.

const (
	testKeyID  = "LTAItestkeyid0001"
	testSecret = "s3cr3t-never-printed"
	testToken  = "CAIStoken-never-printed"
)

// answer is what a crafted server sends back: a status and a JSON body.
type answer struct {
	status int
	body   any
}

func ok(body any) answer { return answer{http.StatusOK, body} }

func apiErr(status int, code, msg string) answer {
	return answer{status, map[string]string{"RequestId": "REQ-1", "HostId": "ecs.test", "Code": code, "Message": msg}}
}

// wireServer serves ECS RPC calls with fn(action, params).
func wireServer(t *testing.T, fn func(action string, q url.Values) answer) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		a := fn(r.Form.Get("Action"), r.Form)
		if a.status == 0 {
			return // handler took care of it
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		if s, ok := a.body.(string); ok {
			_, _ = w.Write([]byte(s))
			return
		}
		_ = json.NewEncoder(w).Encode(a.body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// instantRetry is a retry policy that does not really sleep.
func instantRetry(attempts int) retry.Policy {
	return retry.Policy{MaxAttempts: attempts, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond,
		Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() }}
}

func MustClient(tb testing.TB, cfg ecsapi.Config) *ecsapi.Client {
	tb.Helper()
	c, err := ecsapi.New(cfg)
	if err != nil {
		tb.Fatalf("ecsapi.New: %v", err)
	}
	return c
}

func wireConfig(srv *httptest.Server, attempts int) ecsapi.Config {
	return ecsapi.Config{
		RegionID:    "cn-hangzhou",
		Endpoint:    srv.URL,
		Credentials: cloudauth.Credentials{AccessKeyID: testKeyID, AccessKeySecret: testSecret},
		Retry:       instantRetry(attempts),
		ReadTimeout: 5 * time.Second,
	}
}

func assertNoSecrets(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{testSecret, testToken, "Signature="} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error text leaks %q: %v", s, err)
		}
	}
}

func TestNew_Validation(t *testing.T) {
	good := ecsapi.Config{RegionID: "cn-hangzhou", Credentials: cloudauth.Credentials{AccessKeyID: testKeyID, AccessKeySecret: testSecret}}
	tests := []struct {
		name   string
		mutate func(*ecsapi.Config)
		want   string // substring of the error, "" = valid
	}{
		{"valid", func(*ecsapi.Config) {}, ""},
		{"valid localcloud", func(c *ecsapi.Config) { c.Endpoint = "127.0.0.1:9000" }, ""},
		{"valid sts", func(c *ecsapi.Config) { c.Credentials.SecurityToken = testToken }, ""},
		{"bad region", func(c *ecsapi.Config) { c.RegionID = "Hangzhou" }, "RegionID"},
		{"no secret", func(c *ecsapi.Config) { c.Credentials.AccessKeySecret = "" }, "AccessKeySecret"},
		{"bad endpoint scheme", func(c *ecsapi.Config) { c.Endpoint = "ftp://x" }, "http or https"},
		{"endpoint with path", func(c *ecsapi.Config) { c.Endpoint = "http://x/y" }, "without path"},
		{"negative rate", func(c *ecsapi.Config) { c.RateLimit = -1 }, "RateLimit"},
		{"bad action rate", func(c *ecsapi.Config) { c.RateLimits = map[string]float64{"JoinSecurityGroup": -2} }, "RateLimits[JoinSecurityGroup]"},
		{"max below base", func(c *ecsapi.Config) { c.Retry = retry.Policy{BaseDelay: time.Second, MaxDelay: time.Millisecond} }, "MaxDelay"},
		{"negative timeout", func(c *ecsapi.Config) { c.ReadTimeout = -time.Second }, "ReadTimeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.mutate(&cfg)
			_, err := ecsapi.New(cfg)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New error = %v, want it to mention %q", err, tc.want)
			}
			if domain.KindOf(err) != domain.KindInvalid {
				t.Errorf("kind = %v, want invalid", domain.KindOf(err))
			}
			assertNoSecrets(t, err)
		})
	}
}

func TestClassify_ProviderCodes(t *testing.T) {
	tests := []struct {
		name     string
		answer   answer
		kind     domain.Kind
		sentinel error
	}{
		{"throttling", apiErr(400, "Throttling", "Request was denied due to request throttling."), domain.KindThrottled, nil},
		{"throttling user", apiErr(400, "Throttling.User", "flow control"), domain.KindThrottled, nil},
		{"throttling unknown variant", apiErr(403, "Throttling.Resource", "x"), domain.KindThrottled, nil},
		{"already member", apiErr(403, "InvalidInstanceId.AlreadyExists", "already"), domain.KindConflict, domain.ErrAlreadyMember},
		{"limit", apiErr(400, "InstanceSecurityGroupLimitExceeded", "limit"), domain.KindPermanent, domain.ErrGroupLimit},
		{"vpc mismatch", apiErr(400, "InvalidInstanceId.Mismatch", "not same VPC"), domain.KindPermanent, domain.ErrNetworkMismatch},
		{"eni vpc mismatch", apiErr(403, "InvalidOperation.VpcMismatch", "x"), domain.KindPermanent, domain.ErrNetworkMismatch},
		{"pending", apiErr(403, "Forbidden.InstanceIsBeingCreated", "being created"), domain.KindRetryable, domain.ErrInstanceNotReady},
		{"bad status", apiErr(403, "IncorrectInstanceStatus", "status"), domain.KindRetryable, domain.ErrInstanceNotReady},
		{"eni being created", apiErr(400, "InvalidStatus.EniOrInstanceIsBeingCreated", "x"), domain.KindRetryable, domain.ErrInstanceNotReady},
		{"in use", apiErr(403, "DependencyViolation", "There is still instance(s) in the specified security group."), domain.KindConflict, domain.ErrInUse},
		{"protected", apiErr(403, "InvalidOperation.DeletionProtection", "x"), domain.KindPermanent, domain.ErrDeletionProtected},
		{"managed", apiErr(403, "InvalidOperation.ResourceManagedByCloudProduct", "x"), domain.KindPermanent, domain.ErrDeletionProtected},
		{"group not found", apiErr(404, "InvalidSecurityGroupId.NotFound", "x"), domain.KindNotFound, nil},
		{"group not found newer code", apiErr(404, "InvalidSecurityGroup.NotFound", "x"), domain.KindNotFound, nil},
		{"instance not found", apiErr(404, "InvalidInstanceId.NotFound", "x"), domain.KindNotFound, nil},
		{"region not found is config", apiErr(404, "InvalidRegionId.NotFound", "x"), domain.KindInvalid, nil},
		{"malformed", apiErr(400, "InvalidSecurityGroupId.Malformed", "x"), domain.KindInvalid, nil},
		{"missing parameter", apiErr(400, "MissingParameter.RegionId", "x"), domain.KindInvalid, nil},
		{"next token", apiErr(400, "InValidParameter.NextToken", "x"), domain.KindInvalid, nil},
		{"forbidden ram", apiErr(403, "Forbidden.RAM", "not authorized"), domain.KindPermanent, nil},
		{"signature", apiErr(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation. server string to sign is:POST&%2F&AccessKeyId%3DX%26SecurityToken%3D"+testToken), domain.KindPermanent, nil},
		{"internal error", apiErr(500, "InternalError", "x"), domain.KindRetryable, nil},
		{"unavailable", apiErr(503, "ServiceUnavailable", "x"), domain.KindRetryable, nil},
		{"conflict try later", apiErr(409, "InvalidOperation.Conflict", "x"), domain.KindRetryable, nil},
		{"unknown 5xx code", apiErr(502, "Some.NewCode", "x"), domain.KindRetryable, nil},
		{"unknown 4xx code", apiErr(400, "Some.NewCode", "x"), domain.KindInternal, nil},
		{"429 without code", answer{429, "slow down"}, domain.KindThrottled, nil},
		{"502 html", answer{502, "<html>bad gateway</html>"}, domain.KindRetryable, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := wireServer(t, func(string, url.Values) answer { return tc.answer })
			c := MustClient(t, wireConfig(srv, 1))
			err := c.JoinGroup(context.Background(), "", "i-test00000001", "sg-test00000001")
			if err == nil {
				t.Fatal("JoinGroup succeeded, want an error")
			}
			if got := domain.KindOf(err); got != tc.kind {
				t.Errorf("kind = %v, want %v (%v)", got, tc.kind, err)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.sentinel)
			}
			if code, ok := tc.answer.body.(map[string]string); ok && domain.CodeOf(err) != code["Code"] {
				t.Errorf("code = %q, want %q", domain.CodeOf(err), code["Code"])
			}
			if !strings.HasPrefix(err.Error(), "ecs JoinSecurityGroup sg-test00000001 for i-test00000001") {
				t.Errorf("error %q lacks the operation context", err)
			}
			var ae *ecsapi.APIError
			if errors.As(err, &ae) && ae.HTTPStatus != tc.answer.status {
				t.Errorf("APIError.HTTPStatus = %d, want %d", ae.HTTPStatus, tc.answer.status)
			}
			assertNoSecrets(t, err)
		})
	}
}

func TestClassify_InUseKeepsProviderMessage(t *testing.T) {
	msg := "The specified security group has been authorized in another one."
	srv := wireServer(t, func(string, url.Values) answer { return apiErr(403, "DependencyViolation", msg) })
	c := MustClient(t, wireConfig(srv, 1))
	err := c.DeleteGroup(context.Background(), "", "sg-test00000001")
	if !errors.Is(err, domain.ErrInUse) || !strings.Contains(err.Error(), msg) {
		t.Fatalf("DeleteGroup error = %v, want ErrInUse with the provider message", err)
	}
	if !strings.Contains(err.Error(), "REQ-1") {
		t.Errorf("error %q lacks the request ID", err)
	}
}

func TestRetry_ThrottledThenSucceeds(t *testing.T) {
	var n atomic.Int32
	srv := wireServer(t, func(action string, q url.Values) answer {
		if n.Add(1) <= 2 {
			return apiErr(400, "Throttling.User", "Request was denied due to user flow control.")
		}
		return ok(map[string]string{"RequestId": "R"})
	})
	c := MustClient(t, wireConfig(srv, 5))
	if err := c.JoinGroup(context.Background(), "", "i-test00000001", "sg-test00000001"); err != nil {
		t.Fatalf("JoinGroup: %v", err)
	}
	if got := c.Stats()["JoinSecurityGroup"]; got != 3 {
		t.Errorf("Stats JoinSecurityGroup = %d, want 3 (two throttled, one good)", got)
	}
}

func TestRetry_GivesUpAfterMaxAttempts(t *testing.T) {
	srv := wireServer(t, func(string, url.Values) answer { return apiErr(503, "ServiceUnavailable", "x") })
	c := MustClient(t, wireConfig(srv, 4))
	err := c.DeleteGroup(context.Background(), "", "sg-test00000001")
	if domain.KindOf(err) != domain.KindRetryable {
		t.Fatalf("DeleteGroup error = %v, want retryable", err)
	}
	if got := c.Stats()["DeleteSecurityGroup"]; got != 4 {
		t.Errorf("calls = %d, want 4", got)
	}
}

func TestRetry_NotForPermanentOrNotReady(t *testing.T) {
	for _, code := range []string{"IncorrectInstanceStatus", "InstanceSecurityGroupLimitExceeded", "InvalidInstanceId.AlreadyExists"} {
		t.Run(code, func(t *testing.T) {
			srv := wireServer(t, func(string, url.Values) answer { return apiErr(403, code, "x") })
			c := MustClient(t, wireConfig(srv, 5))
			_ = c.JoinGroup(context.Background(), "", "i-test00000001", "sg-test00000001")
			if got := c.Stats()["JoinSecurityGroup"]; got != 1 {
				t.Errorf("calls = %d, want 1 (no retry)", got)
			}
		})
	}
}

func TestTransport_DroppedConnectionIsRetryable(t *testing.T) {
	var n atomic.Int32
	srv := wireServer(t, func(string, url.Values) answer {
		n.Add(1)
		panic(http.ErrAbortHandler) // close the connection without an answer
	})
	c := MustClient(t, wireConfig(srv, 3))
	_, err := c.DescribeInstances(context.Background(), "", []string{"i-test00000001"})
	if domain.KindOf(err) != domain.KindRetryable {
		t.Fatalf("error = %v, want retryable", err)
	}
	if n.Load() != 3 {
		t.Errorf("server saw %d calls, want 3", n.Load())
	}
	assertNoSecrets(t, err)
	if strings.Contains(err.Error(), testKeyID) {
		t.Errorf("error text leaks the signed URL: %v", err)
	}
}

func TestTransport_UntrustedCertificateIsPermanent(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	cfg := wireConfig(srv, 3)
	c := MustClient(t, cfg)
	_, err := c.DescribeInstances(context.Background(), "", []string{"i-test00000001"})
	if domain.KindOf(err) != domain.KindPermanent {
		t.Fatalf("error = %v, want permanent (certificate)", err)
	}
	if c.Stats()["DescribeInstances"] != 1 {
		t.Errorf("calls = %d, want 1", c.Stats()["DescribeInstances"])
	}
}

func TestContext_DeadlineAbortsCall(t *testing.T) {
	release := make(chan struct{})
	srv := wireServer(t, func(string, url.Values) answer {
		<-release
		return ok(map[string]string{"RequestId": "R"})
	})
	defer close(release)
	c := MustClient(t, wireConfig(srv, 3))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.JoinGroup(ctx, "", "i-test00000001", "sg-test00000001")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("call took %s after a 100ms deadline", d)
	}
}

func TestSTS_TokenIsSent(t *testing.T) {
	var got string
	srv := wireServer(t, func(_ string, q url.Values) answer {
		got = q.Get("SecurityToken")
		return ok(map[string]string{"RequestId": "R"})
	})
	cfg := wireConfig(srv, 1)
	cfg.Credentials.SecurityToken = testToken
	c := MustClient(t, cfg)
	if err := c.DeleteGroup(context.Background(), "", "sg-test00000001"); err != nil {
		t.Fatal(err)
	}
	if got != testToken {
		t.Errorf("SecurityToken sent = %q, want the STS token", got)
	}
}

// groupPage renders one DescribeSecurityGroups page of groups named by ids.
func groupPage(ids []string, next string) answer {
	var gs []map[string]any
	for _, id := range ids {
		gs = append(gs, map[string]any{"SecurityGroupId": id, "VpcId": "vpc-test00000001", "SecurityGroupType": "normal",
			"CreationTime": "2024-04-30T02:11:09Z", "Tags": map[string]any{"Tag": []map[string]string{{"TagKey": "k", "TagValue": "v"}}}})
	}
	return ok(map[string]any{"RequestId": "R", "NextToken": next, "SecurityGroups": map[string]any{"SecurityGroup": gs}})
}

func TestPaging_FailedPageFailsTheListing(t *testing.T) {
	srv := wireServer(t, func(_ string, q url.Values) answer {
		if q.Get("NextToken") == "" {
			return groupPage([]string{"sg-test00000001"}, "page2")
		}
		return apiErr(500, "InternalError", "x")
	})
	c := MustClient(t, wireConfig(srv, 3))
	got, err := c.ListGroups(context.Background(), "", domain.GroupFilter{})
	if err == nil || got != nil {
		t.Fatalf("ListGroups = %v, %v; want no groups and an error", got, err)
	}
	if !strings.Contains(err.Error(), "page 2") {
		t.Errorf("error %q does not say which page failed", err)
	}
}

func TestPaging_TokenThatDoesNotAdvance(t *testing.T) {
	srv := wireServer(t, func(_ string, q url.Values) answer { return groupPage([]string{"sg-test00000001"}, "same") })
	c := MustClient(t, wireConfig(srv, 1))
	if _, err := c.ListGroups(context.Background(), "", domain.GroupFilter{}); err == nil {
		t.Fatal("ListGroups accepted a NextToken that never changes")
	}
}

func TestPaging_FollowsTokensAndConverts(t *testing.T) {
	srv := wireServer(t, func(_ string, q url.Values) answer {
		if q.Get("MaxResults") != "100" {
			return apiErr(400, "InvalidParameter", "MaxResults "+q.Get("MaxResults"))
		}
		switch q.Get("NextToken") {
		case "":
			return groupPage([]string{"sg-test00000001", "sg-test00000002"}, "t2")
		case "t2":
			return groupPage([]string{"sg-test00000003"}, "")
		}
		return apiErr(400, "InValidParameter.NextToken", "x")
	})
	c := MustClient(t, wireConfig(srv, 1))
	got, err := c.ListGroups(context.Background(), "", domain.GroupFilter{TagKey: "k", TagValue: "v"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d groups, want 3", len(got))
	}
	want := domain.SecurityGroup{ID: "sg-test00000003", RegionID: "cn-hangzhou", VPCID: "vpc-test00000001", Type: "normal",
		Tags: domain.Tags{"k": "v"}, CreationTime: time.Date(2024, 4, 30, 2, 11, 9, 0, time.UTC)}
	if diff := cmp.Diff(want, got[2]); diff != "" {
		t.Errorf("group (-want +got):\n%s", diff)
	}
}

func TestBatching_Limits(t *testing.T) {
	var mu sync.Mutex
	sizes := map[string][]string{}
	record := func(action, what string) {
		mu.Lock()
		sizes[action] = append(sizes[action], what)
		mu.Unlock()
	}
	count := func(q url.Values, prefix string) int {
		n := 0
		for k := range q {
			if strings.HasPrefix(k, prefix) && !strings.HasSuffix(k, ".Value") {
				n++
			}
		}
		return n
	}
	srv := wireServer(t, func(action string, q url.Values) answer {
		switch action {
		case "DescribeInstances":
			var ids []string
			_ = json.Unmarshal([]byte(q.Get("InstanceIds")), &ids)
			record(action, fmt.Sprint(len(ids)))
			return ok(map[string]any{"RequestId": "R", "Instances": map[string]any{"Instance": []any{}}})
		case "TagResources":
			record(action, fmt.Sprintf("%d×%d", count(q, "ResourceId."), count(q, "Tag.")))
		case "UntagResources":
			record(action, fmt.Sprintf("%d×%d", count(q, "ResourceId."), count(q, "TagKey.")))
		case "DescribeSecurityGroupReferences":
			record(action, fmt.Sprint(count(q, "SecurityGroupId.")))
		}
		return ok(map[string]any{"RequestId": "R"})
	})
	c := MustClient(t, wireConfig(srv, 1))
	ctx := context.Background()
	ids := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s%08d", prefix, i)
		}
		return out
	}
	tags := domain.Tags{}
	for i := 0; i < 25; i++ {
		tags[fmt.Sprintf("key%02d", i)] = "v"
	}
	if _, err := c.DescribeInstances(ctx, "", ids("i-test", 250)); err != nil {
		t.Fatal(err)
	}
	if err := c.TagGroups(ctx, "", ids("sg-test", 120), tags); err != nil {
		t.Fatal(err)
	}
	if err := c.UntagGroups(ctx, "", ids("sg-test", 51), []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GroupReferences(ctx, "", ids("sg-test", 25)); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"DescribeInstances":               {"100", "100", "50"},
		"TagResources":                    {"50×20", "50×5", "50×20", "50×5", "20×20", "20×5"},
		"UntagResources":                  {"50×2", "1×2"},
		"DescribeSecurityGroupReferences": {"10", "10", "5"},
	}
	if diff := cmp.Diff(want, sizes); diff != "" {
		t.Errorf("batch sizes (-want +got):\n%s", diff)
	}
}

func TestRateLimit_SpacesCallsPerAction(t *testing.T) {
	srv := wireServer(t, func(string, url.Values) answer { return ok(map[string]string{"RequestId": "R"}) })
	var mu sync.Mutex
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var slept time.Duration
	cfg := wireConfig(srv, 1)
	cfg.RateLimit = 10
	cfg.RateLimits = map[string]float64{"DeleteSecurityGroup": 0} // unlimited
	cfg.Retry.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cfg.Retry.Sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(d)
		slept += d
		return nil
	}
	c := MustClient(t, cfg)
	for i := 0; i < 5; i++ {
		if err := c.JoinGroup(context.Background(), "", "i-test00000001", "sg-test00000001"); err != nil {
			t.Fatal(err)
		}
	}
	if slept != 408*time.Millisecond {
		t.Errorf("5 joins at 10/s slept %s, want 408ms (4 gaps of 100ms plus the 2%% margin)", slept)
	}
	slept = 0
	for i := 0; i < 5; i++ {
		if err := c.DeleteGroup(context.Background(), "", "sg-test00000001"); err != nil {
			t.Fatal(err)
		}
	}
	if slept != 0 {
		t.Errorf("unlimited action slept %s", slept)
	}
}

func TestRateLimit_SharedLimiterOutlivesClients(t *testing.T) {
	srv := wireServer(t, func(string, url.Values) answer { return ok(map[string]string{"RequestId": "R"}) })
	var mu sync.Mutex
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var slept time.Duration
	shared := ecsapi.NewRateLimiter(10, nil)
	newClient := func() *ecsapi.Client {
		cfg := wireConfig(srv, 1)
		cfg.Limiter = shared
		cfg.Retry.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		cfg.Retry.Sleep = func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			now = now.Add(d)
			slept += d
			return nil
		}
		return MustClient(t, cfg)
	}
	// Each join from a new client, as after a credential rotation.
	for i := 0; i < 3; i++ {
		if err := newClient().JoinGroup(context.Background(), "", "i-test00000001", "sg-test00000001"); err != nil {
			t.Fatal(err)
		}
	}
	if slept != 204*time.Millisecond {
		t.Errorf("3 joins by 3 clients sharing a 10/s limiter slept %s, want 204ms", slept)
	}
}

func TestConcurrentCalls(t *testing.T) {
	srv := wireServer(t, func(string, url.Values) answer { return ok(map[string]string{"RequestId": "R"}) })
	c := MustClient(t, wireConfig(srv, 1))
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				if err := c.JoinGroup(context.Background(), "", "i-test00000001", "sg-test00000001"); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if got := c.Stats()["JoinSecurityGroup"]; got != 80 {
		t.Errorf("calls = %d, want 80", got)
	}
}
