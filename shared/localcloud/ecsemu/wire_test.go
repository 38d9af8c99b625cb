package ecsemu_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
)

// TestSignature_ReferenceVector checks the §1.3 test vector.
func TestSignature_ReferenceVector(t *testing.T) {
	v := url.Values{}
	for k, x := range map[string]string{
		"AccessKeyId": "testid", "Action": "JoinSecurityGroup", "Format": "JSON", "InstanceId": "i-bp1example",
		"RegionId": "cn-hangzhou", "SecurityGroupId": "sg-bp1example", "SignatureMethod": "HMAC-SHA1",
		"SignatureNonce": "3f6c1e0b9a2d4c8e", "SignatureType": "", "SignatureVersion": "1.0",
		"Timestamp": "2024-05-01T08:00:00Z", "Version": "2014-05-26",
	} {
		v.Set(k, x)
	}
	const wantSTS = "POST&%2F&AccessKeyId%3Dtestid%26Action%3DJoinSecurityGroup%26Format%3DJSON%26InstanceId%3Di-bp1example%26RegionId%3Dcn-hangzhou%26SecurityGroupId%3Dsg-bp1example%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3f6c1e0b9a2d4c8e%26SignatureType%3D%26SignatureVersion%3D1.0%26Timestamp%3D2024-05-01T08%253A00%253A00Z%26Version%3D2014-05-26"
	sts := ecsemu.StringToSign("POST", v)
	if sts != wantSTS {
		t.Fatalf("StringToSign:\n got %s\nwant %s", sts, wantSTS)
	}
	if got := ecsemu.Sign("testsecret", sts); got != "PtykXl3u0F1+03ck0Bc2V4w303k=" {
		t.Fatalf("Sign = %s", got)
	}
	if got := ecsemu.PercentEncode("a b*c~d"); got != "a%20b%2Ac~d" {
		t.Fatalf("PercentEncode = %s", got)
	}
}

func TestWire_SDKRoundTripWithAwkwardValues(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	req := ecs.CreateCreateSecurityGroupRequest()
	req.VpcId = f.svc.DefaultVPCID()
	req.SecurityGroupName = "web:role_a-1.x"
	req.Description = "spaces * and ~ tilde"
	resp, err := f.client.CreateSecurityGroup(req)
	mustOK(t, err)
	if !strings.HasPrefix(resp.SecurityGroupId, "sg-bp1") || resp.RequestId == "" {
		t.Fatalf("response %+v", resp)
	}
}

func TestWire_STSCredentials(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	cred := f.env.Credentials.IssueSTS(time.Hour)
	client, err := ecs.NewClientWithStsToken(region, cred.AccessKeyID, cred.AccessKeySecret, cred.SecurityToken)
	mustOK(t, err)
	client.Domain = strings.TrimPrefix(f.srv.URL, "http://")
	_, err = client.DescribeRegions(ecs.CreateDescribeRegionsRequest())
	mustOK(t, err)

	bad, _ := ecs.NewClientWithStsToken(region, cred.AccessKeyID, cred.AccessKeySecret, "CAISwrong")
	bad.Domain = client.Domain
	_, err = bad.DescribeRegions(ecs.CreateDescribeRegionsRequest())
	wantCode(t, err, "InvalidSecurityToken.MismatchWithAccessKey", 400)

	f.env.Clock.Advance(2 * time.Hour)
	_, err = client.DescribeRegions(ecs.CreateDescribeRegionsRequest())
	wantCode(t, err, "InvalidSecurityToken.Expired", 400)
}

func TestWire_Errors(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	domain := strings.TrimPrefix(f.srv.URL, "http://")

	t.Run("wrong secret", func(t *testing.T) {
		c, _ := ecs.NewClientWithAccessKey(region, testAKID, "other")
		c.Domain = domain
		_, err := c.DescribeRegions(ecs.CreateDescribeRegionsRequest())
		se := wantCode(t, err, "SignatureDoesNotMatch", 400)
		if !strings.Contains(se.Message(), "server string to sign is:POST&%2F&") {
			t.Fatalf("message lacks the server string to sign: %s", se.Message())
		}
		// The SDK compares both strings; equal ones mean a wrong secret.
		if !strings.Contains(se.Recommend(), "InvalidAccessKeySecret") {
			t.Fatalf("recommend %q", se.Recommend())
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		c, _ := ecs.NewClientWithAccessKey(region, "nobody", "x")
		c.Domain = domain
		_, err := c.DescribeRegions(ecs.CreateDescribeRegionsRequest())
		wantCode(t, err, "InvalidAccessKeyId.NotFound", 404)
	})
	t.Run("unknown region", func(t *testing.T) {
		req := ecs.CreateDescribeSecurityGroupsRequest()
		req.RegionId = "xx-nowhere-1"
		_, err := f.client.DescribeSecurityGroups(req)
		wantCode(t, err, "InvalidRegionId.NotFound", 404)
	})
	t.Run("other region is empty", func(t *testing.T) {
		req := ecs.CreateDescribeSecurityGroupsRequest()
		req.RegionId = "cn-shanghai"
		resp, err := f.client.DescribeSecurityGroups(req)
		mustOK(t, err)
		if len(resp.SecurityGroups.SecurityGroup) != 0 {
			t.Fatalf("groups in cn-shanghai: %+v", resp.SecurityGroups)
		}
	})

	now := time.Now()
	cases := []struct {
		name   string
		extra  map[string]string
		ts     time.Time
		code   string
		status int
	}{
		{"missing RegionId", map[string]string{"Action": "DescribeSecurityGroups", "RegionId": ""}, now, "MissingParameter.RegionId", 400},
		{"unknown action", map[string]string{"Action": "LaunchRockets"}, now, "InvalidAction.NotFound", 404},
		{"missing action", map[string]string{}, now, "InvalidAction.NotFound", 404},
		{"stale timestamp", map[string]string{"Action": "DescribeRegions"}, now.Add(-20 * time.Minute), "InvalidTimeStamp.Expired", 400},
		{"future timestamp", map[string]string{"Action": "DescribeRegions"}, now.Add(20 * time.Minute), "InvalidTimeStamp.Expired", 400},
		{"wrong version", map[string]string{"Action": "DescribeRegions", "Version": "2016-03-14"}, now, "InvalidVersion", 400},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := signedValues("POST", tc.extra, tc.ts, "nonce-case-"+string(rune('a'+i)))
			if tc.extra["RegionId"] == "" {
				if _, ok := tc.extra["RegionId"]; ok {
					v.Del("RegionId")
					v.Set("Signature", ecsemu.Sign(testSecret, ecsemu.StringToSign("POST", withoutSig(v))))
				}
			}
			resp := rawPost(t, f.srv, v)
			body := decodeError(t, resp)
			if body["Code"] != tc.code || resp.StatusCode != tc.status {
				t.Fatalf("got %d %v, want %d %s", resp.StatusCode, body, tc.status, tc.code)
			}
		})
	}
}

func withoutSig(v url.Values) url.Values {
	out := url.Values{}
	for k, x := range v {
		if k != "Signature" {
			out[k] = x
		}
	}
	return out
}

func decodeError(t *testing.T, resp *http.Response) map[string]any {
	t.Helper()
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decode: %v", err)
	}
	for _, k := range []string{"RequestId", "HostId", "Code", "Message", "Recommend"} {
		if _, ok := body[k].(string); !ok {
			t.Fatalf("error body field %s is not a string: %v", k, body)
		}
	}
	return body
}

func TestWire_ReplayedNonce(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	v := signedValues("POST", map[string]string{"Action": "DescribeRegions"}, time.Now(), "replay-me")
	resp := rawPost(t, f.srv, v)
	if resp.StatusCode != 200 {
		t.Fatalf("first call: %d", resp.StatusCode)
	}
	resp.Body.Close()
	resp = rawPost(t, f.srv, v)
	if body := decodeError(t, resp); body["Code"] != "SignatureNonceUsed" || resp.StatusCode != 400 {
		t.Fatalf("replay: %d %v", resp.StatusCode, body)
	}
}

func TestWire_GETAndFormBody(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	v := signedValues("GET", map[string]string{"Action": "DescribeRegions"}, time.Now(), "get-1")
	resp, err := http.Get(f.srv.URL + "/?" + v.Encode())
	mustOK(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"RegionId":"cn-hangzhou"`) {
		t.Fatalf("GET: %d %s", resp.StatusCode, b)
	}
	v = signedValues("POST", map[string]string{"Action": "DescribeRegions"}, time.Now(), "form-1")
	resp, err = http.Post(f.srv.URL+"/", "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
	mustOK(t, err)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("form POST: %d", resp.StatusCode)
	}
	// A GET signed as POST must fail.
	v = signedValues("POST", map[string]string{"Action": "DescribeRegions"}, time.Now(), "get-2")
	resp, err = http.Get(f.srv.URL + "/?" + v.Encode())
	mustOK(t, err)
	if body := decodeError(t, resp); body["Code"] != "SignatureDoesNotMatch" {
		t.Fatalf("method mismatch: %v", body)
	}
}

func TestControls_ThrottleFaultDrop(t *testing.T) {
	f := newFixture(t, ecsemu.Options{})
	req := ecs.CreateDescribeRegionsRequest()

	f.env.Controls.SetRateLimit("ecs", "DescribeRegions", core.RateLimit{PerSecond: 0.001, Burst: 1})
	_, err := f.client.DescribeRegions(req)
	mustOK(t, err)
	_, err = f.client.DescribeRegions(req)
	wantCode(t, err, "Throttling", 400)
	f.env.Controls.SetRateLimit("ecs", "DescribeRegions", core.RateLimit{})

	f.env.Controls.SetFaults("ecs", core.AnyAction, core.FaultSpec{ServerErrorRate: 1})
	_, err = f.client.DescribeRegions(req)
	wantCode(t, err, "ServiceUnavailable", 503)

	f.env.Controls.SetFaults("ecs", core.AnyAction, core.FaultSpec{DropRate: 1})
	_, err = f.client.DescribeRegions(req)
	var se interface{ ErrorCode() string }
	if err == nil || errors.As(err, &se) {
		t.Fatalf("dropped connection should be a transport error, got %v", err)
	}
	f.env.Controls.SetFaults("ecs", core.AnyAction, core.FaultSpec{})

	if n := f.env.Controls.Count("ecs", "DescribeRegions"); n != 4 {
		t.Fatalf("DescribeRegions counted %d times, want 4", n)
	}
}
