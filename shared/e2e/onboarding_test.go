package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/deadletter"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/fcemu"
	"github.com/sgpilot/sgpilot/shared/testkit/harness"
)

// fastEnv makes retries quick enough for tests while keeping the code paths.
var fastEnv = map[string]string{"SGPILOT_RETRY_DELAY": "1s", "SGPILOT_NOT_READY_DELAY": "1s", "SGPILOT_LOG_LEVEL": "debug"}

func startCloud(t *testing.T, functions bool, seed *ecsemu.Seed, extraEnv ...string) *harness.Cloud {
	t.Helper()
	env := map[string]string{}
	for k, v := range fastEnv {
		env[k] = v
	}
	for i := 0; i+1 < len(extraEnv); i += 2 {
		env[extraEnv[i]] = extraEnv[i+1]
	}
	if testing.Short() && functions {
		t.Skip("end-to-end test with the function binaries")
	}
	var log strings.Builder
	lw := &lockedWriter{b: &log}
	c, err := harness.Start(context.Background(), harness.Options{Functions: functions, Seed: seed, FunctionEnv: env, Log: lw})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.CheckNoDiscards(t)
		if err := c.Close(); err != nil {
			t.Errorf("close localcloud: %v", err)
		}
		if t.Failed() || os.Getenv("SGPILOT_E2E_LOGS") != "" {
			t.Logf("function output:\n%s", lw.String())
		}
	})
	return c
}

// TestOnboarding_EndToEnd: RunInstances through the SDK → EventBridge events
// → instance-created (real binary) → MNS → queue-worker (real binary) → every
// instance in exactly its base group plus its role groups of its own network.
func TestOnboarding_EndToEnd(t *testing.T) {
	seed := harness.DemoSeed()
	c := startCloud(t, true, &seed)

	want := map[string][]string{}
	add := func(vsw, base, roles string, n int, groups ...string) {
		ids, err := c.RunInstances(vsw, base, roles, n)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			want[id] = sorted(append([]string{base}, groups...))
		}
	}
	add(harness.VSwitchA, harness.BaseA, "web,db", 6, harness.WebA, harness.DBA)
	add(harness.VSwitchA, harness.BaseA, "cache", 2, harness.CacheA)
	add(harness.VSwitchB, harness.BaseB, "web", 5, harness.WebB)
	add(harness.VSwitchB, harness.BaseB, "db,web", 3, harness.DBB, harness.WebB)
	add("", harness.BaseClassic, "web", 3, harness.WebClassic)
	add(harness.VSwitchA, harness.BaseA, "", 2) // no roles: untouched

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	err := harness.WaitFor(ctx, 200*time.Millisecond, func() (bool, string) {
		got := c.InstanceGroups()
		for id, w := range want {
			if !slices.Equal(got[id], w) {
				return false, fmt.Sprintf("%s in %v, want %v", id, got[id], w)
			}
		}
		return true, ""
	})
	if err != nil {
		t.Fatal(err)
	}
	// Safety invariants on the final state.
	for _, in := range c.ECS.Snapshot().Instances {
		if len(in.SecurityGroupIDs) == 0 || len(in.SecurityGroupIDs) > 5 {
			t.Errorf("%s has %d groups", in.ID, len(in.SecurityGroupIDs))
		}
	}
	waitQueuesSettled(t, c, 0)
}

// TestOnboarding_Outcomes: each failure mode ends where it must.
func TestOnboarding_Outcomes(t *testing.T) {
	seed := harness.DemoSeed()
	// An instance already in 4 groups: joining two role groups would make 6.
	seed.SecurityGroups = append(seed.SecurityGroups,
		ecsemu.SeedSecurityGroup{ID: "sg-bp1extra00000000001", VpcID: harness.VPCA, Name: "extra-1"},
		ecsemu.SeedSecurityGroup{ID: "sg-bp1extra00000000002", VpcID: harness.VPCA, Name: "extra-2"},
		ecsemu.SeedSecurityGroup{ID: "sg-bp1extra00000000003", VpcID: harness.VPCA, Name: "extra-3"})
	seed.Instances = append(seed.Instances, ecsemu.SeedInstance{ID: "i-bp1overlimit000000001", VSwitchID: harness.VSwitchA,
		SecurityGroupIDs: []string{harness.BaseA, "sg-bp1extra00000000001", "sg-bp1extra00000000002", "sg-bp1extra00000000003"},
		Tags:             []ecsemu.SeedTag{{Key: harness.RoleTagKey, Value: "web,db"}}})
	c := startCloud(t, true, &seed)

	// Over the limit, and a role with no group in VPC B: both dead-lettered, nothing changed.
	res := invoke(t, c, "instance-created", `{"instanceIds":["i-bp1overlimit000000001"],"region":"cn-hangzhou"}`)
	if !strings.Contains(string(res), `"enqueued":1`) && !strings.Contains(string(res), `"Enqueued":1`) {
		t.Logf("instance-created answered %s", res)
	}
	missing, err := c.RunInstances(harness.VSwitchB, harness.BaseB, "cache", 1)
	if err != nil {
		t.Fatal(err)
	}
	// A malformed event is refused by instance-created with a clear error.
	r, err := fcemu.InvokeOverHTTP(c.Info().InvokeEndpoint, "instance-created", []byte(`{"source":"acs.ecs","type":`), false)
	if err != nil || r.Error == nil || !strings.Contains(r.Error.ErrorMessage, "JSON") {
		t.Errorf("malformed event: result %+v err %v", r.Error, err)
	}
	// A malformed task on the queue is dead-lettered by the worker.
	if _, err := c.MNS.Send("sgpilot-work", `{"v":1,"kind":"reboot"}`, 0, 0); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var reasons map[string]string
	err = harness.WaitFor(ctx, 200*time.Millisecond, func() (bool, string) {
		reasons = deadLetterReasons(t, c)
		for _, want := range []string{"i-bp1overlimit000000001", missing[0], "invalid"} {
			if _, ok := reasons[want]; !ok {
				return false, fmt.Sprintf("no dead letter for %s yet (have %v)", want, reasons)
			}
		}
		return true, ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if reasons["i-bp1overlimit000000001"] != string(domain.ReasonOverLimit) || reasons[missing[0]] != string(domain.ReasonNoRoleGroup) {
		t.Errorf("reasons = %v", reasons)
	}
	groups := c.InstanceGroups()
	if len(groups["i-bp1overlimit000000001"]) != 4 || len(groups[missing[0]]) != 1 {
		t.Errorf("refused plans changed membership: %v / %v", groups["i-bp1overlimit000000001"], groups[missing[0]])
	}
}

func invoke(t *testing.T, c *harness.Cloud, fn, payload string) []byte {
	t.Helper()
	res, err := fcemu.InvokeOverHTTP(c.Info().InvokeEndpoint, fn, []byte(payload), false)
	if err != nil {
		t.Fatalf("invoke %s: %v", fn, err)
	}
	if res.Error != nil {
		t.Fatalf("invoke %s: function error %s: %s", fn, res.Error.ErrorType, res.Error.ErrorMessage)
	}
	return res.Payload
}

// deadLetterReasons maps each dead-lettered subject (or "invalid" for a body
// that was no task) to its reason.
func deadLetterReasons(t *testing.T, c *harness.Cloud) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, q := range c.MNS.Snapshot().Queues {
		if q.Name != "sgpilot-dead-letter" {
			continue
		}
		for _, m := range q.Messages {
			var dl deadletter.Record
			if err := json.Unmarshal([]byte(m.Body), &dl); err != nil {
				t.Fatalf("dead letter is not a record: %q", m.Body)
			}
			subject := dl.Subject
			if subject == "" {
				subject = "invalid"
			}
			out[subject] = dl.Reason
		}
	}
	return out
}

// waitQueuesSettled waits until the work is done (work queue empty and the
// functions idle: the event stream consumes messages on delivery, so an
// empty queue alone proves nothing) and checks the DLQ holds exactly
// wantDead records and the stream dead-lettered no event.
func waitQueuesSettled(t *testing.T, c *harness.Cloud, wantDead int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.WaitSettled(ctx, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// The stream consumes a message on delivery: wait for the deliveries
	// it took to run too (waitWorkerDone, cleanup_users_test.go).
	waitWorkerDone(t, c)
	if got := len(deadLetterReasons(t, c)); got != wantDead {
		t.Errorf("dead letters = %d (%v), want %d", got, deadLetterReasons(t, c), wantDead)
	}
	if failed, bad := c.FailedTasks(); len(failed)+bad > 0 {
		t.Errorf("the work-queue stream dead-lettered %d event(s): %v", len(failed)+bad, failed)
	}
}

func sorted(s []string) []string { slices.Sort(s); return s }

// TestOnboarding_CreatesMissingRoleGroup: with SGPILOT_CREATE_MISSING_GROUPS
// a role without a group in the VPC gets one, named and tagged per the best
// practice, and the instance joins it.
func TestOnboarding_CreatesMissingRoleGroup(t *testing.T) {
	seed := harness.DemoSeed()
	c := startCloud(t, true, &seed, "SGPILOT_CREATE_MISSING_GROUPS", "true")
	ids, err := c.RunInstances(harness.VSwitchB, harness.BaseB, "cache", 3)
	if err != nil {
		t.Fatal(err)
	}
	wantName := "sgpilot-cache-" + harness.VPCB
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var created ecsemu.SeedSecurityGroup
	err = harness.WaitFor(ctx, 200*time.Millisecond, func() (bool, string) {
		var matches []ecsemu.SeedSecurityGroup
		for _, g := range c.ECS.Snapshot().SecurityGroups {
			if g.Name == wantName {
				matches = append(matches, g)
			}
		}
		if len(matches) != 1 {
			return false, fmt.Sprintf("%d groups named %s", len(matches), wantName)
		}
		created = matches[0]
		groups := c.InstanceGroups()
		for _, id := range ids {
			if !slices.Equal(groups[id], sorted([]string{harness.BaseB, created.ID})) {
				return false, fmt.Sprintf("%s in %v", id, groups[id])
			}
		}
		return true, ""
	})
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]string{}
	for _, tg := range created.Tags {
		tags[tg.Key] = tg.Value
	}
	if created.VpcID != harness.VPCB || tags[harness.RoleTagKey] != "cache" || tags[harness.ManagedTagKey] != "true" || created.Description == "" {
		t.Errorf("created group %+v", created)
	}
	waitQueuesSettled(t, c, 0)
}
