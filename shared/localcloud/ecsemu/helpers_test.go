package ecsemu_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
)

const (
	testAccount = "1234567890123456"
	testAKID    = "testid"
	testSecret  = "testsecret"
	region      = "cn-hangzhou"
)

// fixture is one emulator behind a real HTTP server, with a recorded event stream.
type fixture struct {
	env    *core.Env
	svc    *ecsemu.Service
	srv    *httptest.Server
	client *ecs.Client

	mu     sync.Mutex
	events []core.CloudEvent
}

func newFixture(tb testing.TB, opts ecsemu.Options) *fixture {
	tb.Helper()
	env := core.NewEnv(testAccount, 1)
	env.Credentials.AddAccessKey(testAKID, testSecret)
	svc, err := ecsemu.New(env, opts)
	if err != nil {
		tb.Fatalf("ecsemu.New: %v", err)
	}
	f := &fixture{env: env, svc: svc}
	unsub := env.Events.Subscribe(func(ev core.CloudEvent) {
		f.mu.Lock()
		f.events = append(f.events, ev)
		f.mu.Unlock()
	})
	f.srv = httptest.NewServer(svc)
	tb.Cleanup(func() {
		f.srv.Close()
		_ = svc.Close()
		unsub()
	})
	f.client = MustClient(tb, f.srv)
	return f
}

// MustClient returns a real ECS SDK client (AccessKey testid/testsecret,
// region cn-hangzhou) whose Domain points at srv over HTTP.
func MustClient(tb testing.TB, srv *httptest.Server) *ecs.Client {
	tb.Helper()
	c, err := ecs.NewClientWithAccessKey(region, testAKID, testSecret)
	if err != nil {
		tb.Fatalf("ecs client: %v", err)
	}
	c.Domain = strings.TrimPrefix(srv.URL, "http://")
	return c
}

func (f *fixture) eventsOf(typ string) []core.CloudEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []core.CloudEvent
	for _, ev := range f.events {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// wantCode asserts err is an SDK ServerError with code and HTTP status.
func wantCode(tb testing.TB, err error, code string, status int) *sdkerrors.ServerError {
	tb.Helper()
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) {
		tb.Fatalf("want ServerError %s (%d), got %v", code, status, err)
	}
	if se.ErrorCode() != code || se.HttpStatus() != status {
		tb.Fatalf("want %s (%d), got %s (%d): %s", code, status, se.ErrorCode(), se.HttpStatus(), se.Message())
	}
	if se.RequestId() == "" || se.HostId() == "" {
		tb.Fatalf("error without RequestId/HostId: %v", se)
	}
	return se
}

func mustOK(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("unexpected error: %v", err)
	}
}

// createGroup creates a group in vpcID ("" for classic) and returns its ID.
func (f *fixture) createGroup(tb testing.TB, vpcID, name string) string {
	tb.Helper()
	req := ecs.CreateCreateSecurityGroupRequest()
	req.VpcId = vpcID
	req.SecurityGroupName = name
	resp, err := f.client.CreateSecurityGroup(req)
	mustOK(tb, err)
	return resp.SecurityGroupId
}

// run launches amount instances with groups (VPC when vsw is set) and
// returns their IDs.
func (f *fixture) run(tb testing.TB, vsw string, amount int, groups ...string) []string {
	tb.Helper()
	req := ecs.CreateRunInstancesRequest()
	req.ImageId = "aliyun_3_x64"
	req.InstanceType = "ecs.g7.large"
	req.VSwitchId = vsw
	req.Amount = requests.NewInteger(amount)
	req.SecurityGroupIds = &groups
	resp, err := f.client.RunInstances(req)
	mustOK(tb, err)
	return resp.InstanceIdSets.InstanceIdSet
}

// runRunning launches instances and moves the clock until they are Running.
func (f *fixture) runRunning(tb testing.TB, vsw string, amount int, groups ...string) []string {
	tb.Helper()
	ids := f.run(tb, vsw, amount, groups...)
	f.env.Clock.Advance(time.Minute)
	f.svc.Tick()
	return ids
}

func (f *fixture) instance(tb testing.TB, id string) ecs.Instance {
	tb.Helper()
	req := ecs.CreateDescribeInstancesRequest()
	req.InstanceIds = `["` + id + `"]`
	resp, err := f.client.DescribeInstances(req)
	mustOK(tb, err)
	if len(resp.Instances.Instance) != 1 {
		tb.Fatalf("instance %s: got %d results", id, len(resp.Instances.Instance))
	}
	return resp.Instances.Instance[0]
}

func (f *fixture) join(id, sg string) error {
	req := ecs.CreateJoinSecurityGroupRequest()
	req.InstanceId, req.SecurityGroupId = id, sg
	_, err := f.client.JoinSecurityGroup(req)
	return err
}

func (f *fixture) leave(id, sg string) error {
	req := ecs.CreateLeaveSecurityGroupRequest()
	req.InstanceId, req.SecurityGroupId = id, sg
	_, err := f.client.LeaveSecurityGroup(req)
	return err
}

// signedValues returns the common parameters plus extra, signed for method
// with the test key, a fresh nonce and timestamp ts.
func signedValues(method string, extra map[string]string, ts time.Time, nonce string) url.Values {
	v := url.Values{}
	for k, x := range map[string]string{
		"AccessKeyId": testAKID, "Format": "JSON", "Version": "2014-05-26", "SignatureMethod": "HMAC-SHA1",
		"SignatureVersion": "1.0", "SignatureType": "", "SignatureNonce": nonce, "RegionId": region,
		"Timestamp": ts.UTC().Format("2006-01-02T15:04:05Z"),
	} {
		v.Set(k, x)
	}
	for k, x := range extra {
		v.Set(k, x)
	}
	v.Set("Signature", ecsemu.Sign(testSecret, ecsemu.StringToSign(method, v)))
	return v
}

// rawPost sends v as the query of POST / and returns the response.
func rawPost(tb testing.TB, srv *httptest.Server, v url.Values) *http.Response {
	tb.Helper()
	resp, err := http.Post(srv.URL+"/?"+v.Encode(), "application/x-www-form-urlencoded", nil)
	if err != nil {
		tb.Fatalf("post: %v", err)
	}
	return resp
}
