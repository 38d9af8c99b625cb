package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/fcemu"
	"github.com/sgpilot/sgpilot/shared/testkit/harness"
	"github.com/sgpilot/sgpilot/shared/usecase/deadletters"
)

// TestDeadLetters_ListReplayDrain: a task dead-lettered for a missing role
// group is listed by the queue-worker's tooling (real binary, real MNS
// SDK), replayed once the group exists, and onboarded by the trigger; the
// invalid letter beside it stays until purged.
func TestDeadLetters_ListReplayDrain(t *testing.T) {
	// One of the long scenarios that mostly wait on queue windows and rate
	// limits: run beside the others (make test sets -parallel).
	t.Parallel()
	seed := harness.DemoSeed()
	c := startCloud(t, true, &seed)

	ids, err := c.RunInstances(harness.VSwitchB, harness.BaseB, "cache", 1) // no cache group in VPC B
	if err != nil {
		t.Fatal(err)
	}
	inst := ids[0]
	if _, err := c.MNS.Send("sgpilot-work", `{"v":1,"kind":"reboot"}`, 0, 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// The instance is announced twice (Created, Running): each task may be
	// refused, and the second refusal is a copy of the first letter (same
	// record ID), so the queue holds 2 or 3 messages for 2 letters.
	if err := harness.WaitFor(ctx, 200*time.Millisecond, func() (bool, string) {
		n := c.QueueDepth("sgpilot-dead-letter")
		return n >= 2 && c.QueueDepth("sgpilot-work") == 0 && c.FC.WaitIdle(ctx) == nil, fmt.Sprintf("%d dead letters", n)
	}); err != nil {
		t.Fatal(err)
	}

	list := func() deadletters.Result {
		t.Helper()
		var res deadletters.Result
		if err := json.Unmarshal(invoke(t, c, "queue-worker", `{"mode":"dead-letters","action":"list"}`), &res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := list()
	if res.Letters != 2 || res.ByReason["no-role-group"] != 1 || res.ByReason["invalid-task"] != 1 || res.ByQueue["sgpilot-dead-letter"] != 2 {
		t.Fatalf("list: %+v", res)
	}
	// The listing gave the messages back: a second one sees them all.
	time.Sleep(1100 * time.Millisecond)
	if again := list(); again.Letters != 2 {
		t.Fatalf("second list sees %d letters", again.Letters)
	}
	var text string
	time.Sleep(1100 * time.Millisecond)
	if err := json.Unmarshal(invoke(t, c, "queue-worker", `{"mode":"dead-letters","action":"list","format":"text"}`), &text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "2 letter(s)") || !strings.Contains(text, inst) {
		t.Errorf("text list:\n%s", text)
	}

	// Fix the cause: a cache group in VPC B. Then replay by instance.
	var created struct{ SecurityGroupID string }
	ecs := c.ECSClient()
	if err := ecs.Call("CreateSecurityGroup", map[string]string{"VpcId": harness.VPCB, "SecurityGroupName": "cache-b"}, &created); err != nil {
		t.Fatal(err)
	}
	if err := ecs.TagGroups([]string{created.SecurityGroupID}, harness.RoleTagKey, "cache"); err != nil {
		t.Fatal(err)
	}
	// A role group plays its role only inside sgpilot's scope.
	if err := ecs.TagGroups([]string{created.SecurityGroupID}, harness.ManagedTagKey, "true"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	var rep deadletters.Result
	if err := json.Unmarshal(invoke(t, c, "queue-worker",
		`{"mode":"dead-letters","action":"replay","instanceIds":["`+inst+`"]}`), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Replayed != 1 || len(rep.Errors) != 0 {
		t.Fatalf("replay: %+v", rep)
	}
	if err := harness.WaitFor(ctx, 200*time.Millisecond, func() (bool, string) {
		g := c.InstanceGroups()[inst]
		return slices.Contains(g, created.SecurityGroupID), fmt.Sprintf("%s in %v", inst, g)
	}); err != nil {
		t.Fatal(err)
	}
	waitQueuesSettled(t, c, 1) // the invalid letter stays

	// Purge refuses an empty selection, then removes the invalid letter.
	r, err := invokeRaw(c, `{"mode":"dead-letters","action":"purge"}`)
	if err != nil || r == "" {
		t.Errorf("purge without a selection: error %q, %v", r, err)
	}
	time.Sleep(1100 * time.Millisecond)
	var pur deadletters.Result
	if err := json.Unmarshal(invoke(t, c, "queue-worker", `{"mode":"dead-letters","action":"purge","reasons":["invalid-task"]}`), &pur); err != nil {
		t.Fatal(err)
	}
	if pur.Purged != 1 || c.QueueDepth("sgpilot-dead-letter") != 0 {
		t.Errorf("purge: %+v, %d left", pur, c.QueueDepth("sgpilot-dead-letter"))
	}
}

// invokeRaw invokes queue-worker and returns its error message ("" when
// it succeeded).
func invokeRaw(c *harness.Cloud, payload string) (string, error) {
	res, err := fcemu.InvokeOverHTTP(c.Info().InvokeEndpoint, "queue-worker", []byte(payload), false)
	if err != nil || res.Error == nil {
		return "", err
	}
	return res.Error.ErrorMessage, nil
}

// TestDeadLetters_PushedPoisonAlone: a trigger batch with a null body and a
// body that is no task (functions/queue-worker/testdata/push-with-poison.json)
// is handled message by message by the real binary: both are dead-lettered
// alone (the good task, for an instance that does not exist, gets its own
// dead letter) and the invocation succeeds.
func TestDeadLetters_PushedPoisonAlone(t *testing.T) {
	seed := harness.DemoSeed()
	c := startCloud(t, true, &seed)
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	payload, err := os.ReadFile(filepath.Join(root, "functions", "queue-worker", "testdata", "push-with-poison.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Received     int            `json:"received"`
		Invalid      int            `json:"invalid"`
		DeadLettered map[string]int `json:"deadLettered"`
	}
	if err := json.Unmarshal(invoke(t, c, "queue-worker", string(payload)), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Received != 3 || sum.Invalid != 2 || sum.DeadLettered["invalid-task"] != 2 {
		t.Errorf("summary %+v", sum)
	}
	details := ""
	for _, q := range c.MNS.Snapshot().Queues {
		if q.Name == "sgpilot-dead-letter" {
			for _, m := range q.Messages {
				details += m.Body
			}
		}
	}
	if !strings.Contains(details, "no messageBody") || !strings.Contains(details, "not a task") {
		t.Errorf("dead letters do not name both poison messages: %s", details)
	}

	// The tooling reads the other writers' records too: a stream dead
	// letter and an FC async failure in sgpilot-failed-events.
	for _, name := range []string{"stream-event.json", "async-failure.json"} {
		b, err := os.ReadFile(filepath.Join(root, "shared", "core", "deadletter", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.MNS.Send("sgpilot-failed-events", strings.TrimSpace(string(b)), 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	var res deadletters.Result
	if err := json.Unmarshal(invoke(t, c, "queue-worker", `{"mode":"dead-letters","action":"list"}`), &res); err != nil {
		t.Fatal(err)
	}
	if res.ByKind["worker"] != 3 || res.ByKind["stream-event"] != 1 || res.ByKind["async-failure"] != 1 || res.ByQueue["sgpilot-failed-events"] != 2 {
		t.Errorf("list: by kind %v, by queue %v", res.ByKind, res.ByQueue)
	}
}
