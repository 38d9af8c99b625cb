package ecsemu_test

import (
	"fmt"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
)

const benchGroups = 10000

// benchService returns a service seeded with benchGroups VPC groups (every
// tenth tagged) and 100 running instances in the first group.
func benchService(b *testing.B) (*ecsemu.Service, []string, []string) {
	b.Helper()
	env := core.NewEnv(testAccount, 1)
	env.Credentials.AddAccessKey(testAKID, testSecret)
	svc, err := ecsemu.New(env, ecsemu.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = svc.Close() })
	vpc, vsw := svc.DefaultVPCID(), svc.DefaultVSwitchID()
	sd := svc.Snapshot().Seed
	groups := make([]string, benchGroups)
	for i := range groups {
		groups[i] = fmt.Sprintf("sg-bp1bench%011d", i)
		g := ecsemu.SeedSecurityGroup{ID: groups[i], Name: fmt.Sprintf("g%05d", i), VpcID: vpc}
		if i%10 == 0 {
			g.Tags = []ecsemu.SeedTag{{Key: "sg-role", Value: "web"}}
		}
		sd.SecurityGroups = append(sd.SecurityGroups, g)
	}
	instances := make([]string, 100)
	for i := range instances {
		instances[i] = fmt.Sprintf("i-bp1bench%011d", i)
		sd.Instances = append(sd.Instances, ecsemu.SeedInstance{ID: instances[i], VSwitchID: vsw,
			SecurityGroupIDs: []string{groups[0]}})
	}
	if err := svc.Seed(sd); err != nil {
		b.Fatal(err)
	}
	return svc, groups, instances
}

// serve signs params as the SDK would and runs one call through ServeHTTP.
func serve(b *testing.B, svc *ecsemu.Service, n int, params map[string]string) *httptest.ResponseRecorder {
	v := url.Values{}
	v.Set("AccessKeyId", testAKID)
	v.Set("Format", "JSON")
	v.Set("Version", "2014-05-26")
	v.Set("SignatureMethod", "HMAC-SHA1")
	v.Set("SignatureVersion", "1.0")
	v.Set("SignatureType", "")
	v.Set("SignatureNonce", "bench"+strconv.Itoa(n))
	v.Set("RegionId", region)
	v.Set("Timestamp", time.Now().UTC().Format("2006-01-02T15:04:05Z"))
	for k, x := range params {
		v.Set(k, x)
	}
	v.Set("Signature", ecsemu.Sign(testSecret, ecsemu.StringToSign("POST", v)))
	req := httptest.NewRequest("POST", "/?"+v.Encode(), nil)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	svc.ServeHTTP(rec, req)
	return rec
}

// BenchmarkServeHTTP_DescribeSecurityGroups pages through the groups of a
// VPC holding 10,000 groups, 100 per call, signature checked on every call.
func BenchmarkServeHTTP_DescribeSecurityGroups(b *testing.B) {
	svc, _, _ := benchService(b)
	vpc := svc.DefaultVPCID()
	token := ""
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := serve(b, svc, i, map[string]string{"Action": "DescribeSecurityGroups", "VpcId": vpc,
			"MaxResults": "100", "NextToken": token})
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		token = nextToken(rec.Body.Bytes())
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// BenchmarkServeHTTP_DescribeSecurityGroupsByTag filters 10,000 groups by tag.
func BenchmarkServeHTTP_DescribeSecurityGroupsByTag(b *testing.B) {
	svc, _, _ := benchService(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := serve(b, svc, i, map[string]string{"Action": "DescribeSecurityGroups", "MaxResults": "10",
			"Tag.1.Key": "sg-role", "Tag.1.Value": "web"})
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// BenchmarkServeHTTP_JoinSecurityGroup alternates Join and Leave of 100
// instances over 10,000 groups; every call counts.
func BenchmarkServeHTTP_JoinSecurityGroup(b *testing.B) {
	svc, groups, instances := benchService(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pair := i / 2
		action := "JoinSecurityGroup"
		if i%2 == 1 {
			action = "LeaveSecurityGroup"
		}
		rec := serve(b, svc, i, map[string]string{"Action": action,
			"InstanceId": instances[pair%len(instances)], "SecurityGroupId": groups[1+pair%(len(groups)-1)]})
		if rec.Code != 200 {
			b.Fatalf("%s status %d: %s", action, rec.Code, rec.Body)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

func nextToken(body []byte) string {
	const key = `"NextToken":"`
	for i := 0; i+len(key) < len(body); i++ {
		if string(body[i:i+len(key)]) == key {
			j := i + len(key)
			k := j
			for k < len(body) && body[k] != '"' {
				k++
			}
			return string(body[j:k])
		}
	}
	return ""
}
