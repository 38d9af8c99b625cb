package core_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/ramemu"
)

func TestClock_AdvanceAndNotify(t *testing.T) {
	c := core.NewClock()
	before := c.Now()
	ch := c.Changed()
	c.Advance(48 * time.Hour)
	select {
	case <-ch:
	default:
		t.Fatal("Changed not closed by Advance")
	}
	if got := c.Now().Sub(before); got < 48*time.Hour || got > 48*time.Hour+time.Second {
		t.Fatalf("advanced by %v", got)
	}
	c.Freeze()
	a := c.Now()
	time.Sleep(5 * time.Millisecond)
	if !c.Now().Equal(a) {
		t.Fatal("frozen clock moved")
	}
	c.Set(a.Add(-time.Hour)) // never backwards
	if !c.Now().Equal(a) {
		t.Fatal("clock went backwards")
	}
}

func TestCredentials_STS(t *testing.T) {
	clock := core.NewClock()
	creds := core.NewCredentials(clock)
	sts := creds.IssueSTS(time.Hour)
	if _, err := creds.Lookup(sts.AccessKeyID, sts.SecurityToken); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id, token string
		want      error
	}{
		{sts.AccessKeyID, "", core.ErrSecurityTokenMissing},
		{sts.AccessKeyID, "wrong", core.ErrSecurityTokenInvalid},
		{"LTAInope", "", core.ErrUnknownAccessKey},
	} {
		if _, err := creds.Lookup(tc.id, tc.token); err != tc.want {
			t.Errorf("Lookup(%q,%q) = %v, want %v", tc.id, tc.token, err, tc.want)
		}
	}
	clock.Advance(2 * time.Hour)
	if _, err := creds.Lookup(sts.AccessKeyID, sts.SecurityToken); err != core.ErrSecurityTokenExpired {
		t.Fatalf("expired token accepted: %v", err)
	}
}

func TestControls_RateLimitIsExact(t *testing.T) {
	c := core.NewControls(1)
	c.SetRateLimit("ecs", core.AnyAction, core.RateLimit{PerSecond: 1000})
	ok := 0
	for i := 0; i < 100; i++ {
		if c.Decide(context.Background(), "ecs", "JoinSecurityGroup") == core.Proceed {
			ok++
		}
	}
	// 100 back-to-back calls take far less than 100 ms: about one passes (burst 1) plus the refill.
	if ok < 1 || ok > 50 {
		t.Fatalf("%d of 100 immediate calls passed a 1000/s limit with burst 1", ok)
	}
	if c.Decide(context.Background(), "ecs", "DescribeInstances") != core.Proceed {
		t.Fatal("each action must get its own bucket under the * limit")
	}
	if c.Count("ecs", "JoinSecurityGroup") != 100 {
		t.Fatal("throttled calls must be counted")
	}
}

func TestControls_FaultsAreSeeded(t *testing.T) {
	draw := func() []core.Outcome {
		c := core.NewControls(42)
		c.SetFaults("mns", core.AnyAction, core.FaultSpec{ServerErrorRate: 0.3, DropRate: 0.2})
		var out []core.Outcome
		for i := 0; i < 50; i++ {
			out = append(out, c.Decide(context.Background(), "mns", "SendMessage"))
		}
		return out
	}
	a, b := draw(), draw()
	faults := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same seed, different faults")
		}
		if a[i] != core.Proceed {
			faults++
		}
	}
	if faults < 10 || faults > 40 {
		t.Fatalf("%d faults of 50 at a 50%% rate", faults)
	}
}

func TestAdminHandler(t *testing.T) {
	env := core.NewEnv("1234567890123456", 1)
	srv := httptest.NewServer(core.AdminHandler(env))
	defer srv.Close()
	post := func(path, body string) int {
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	before := env.Clock.Now()
	if code := post("/clock/advance", `{"by":"24h"}`); code != 200 || env.Clock.Now().Sub(before) < 24*time.Hour {
		t.Fatalf("advance: %d", code)
	}
	if code := post("/ratelimit", `{"service":"ecs","action":"JoinSecurityGroup","perSecond":0.001}`); code != 200 {
		t.Fatalf("ratelimit: %d", code)
	}
	env.Controls.Decide(context.Background(), "ecs", "JoinSecurityGroup")
	if env.Controls.Decide(context.Background(), "ecs", "JoinSecurityGroup") != core.Throttle {
		t.Fatal("limit set over HTTP not applied")
	}
	if code := post("/faults", `{"service":"ecs","serverErrorRate":2}`); code != 400 {
		t.Fatalf("bad fault rate accepted: %d", code)
	}
	if code := post("/latency", `{"service":"ecs","latncy":"5ms"}`); code != 400 {
		t.Fatalf("misspelt field accepted: %d", code)
	}
	resp, err := http.Get(srv.URL + "/counters")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rows []core.CallCount
	if err := json.NewDecoder(resp.Body).Decode(&rows); err != nil || len(rows) != 1 || rows[0].Calls != 2 || rows[0].Outcomes["throttle"] != 1 {
		t.Fatalf("counters = %+v, %v", rows, err)
	}
}

// TestEnv_Authorize: only role credentials are held to RAM; the account's
// own keys and everything without RAM pass.
func TestEnv_Authorize(t *testing.T) {
	env := core.NewEnv("1", 1)
	root := env.Credentials.NewAccessKey()
	fn := env.Credentials.IssueSTSForRole(ramemu.RoleARN("1", "r"), "fn", time.Hour)
	req := ramemu.Request{Action: "ecs:DescribeInstances"}
	if err := env.Authorize(fn.AccessKeyID, req); err != nil {
		t.Fatalf("no RAM: %v", err)
	}
	env.RAM = ramemu.New(ramemu.Options{Enforce: true})
	if err := env.Authorize(root.AccessKeyID, req); err != nil {
		t.Errorf("root key refused: %v", err)
	}
	if err := env.Authorize(fn.AccessKeyID, req); err == nil {
		t.Error("role without policy allowed")
	}
	if got, ok := env.Credentials.Get(fn.AccessKeyID); !ok || got.Role != ramemu.RoleARN("1", "r") || got.Session != "fn" {
		t.Errorf("Get = %+v %v", got, ok)
	}
	if _, err := env.Credentials.Lookup(fn.AccessKeyID, fn.SecurityToken); err != nil {
		t.Errorf("role credential does not authenticate: %v", err)
	}
}
