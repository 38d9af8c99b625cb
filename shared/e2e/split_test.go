package e2e_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/app"
	"github.com/sgpilot/sgpilot/shared/core/rolepolicy"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
	"github.com/sgpilot/sgpilot/shared/testkit/harness"
	"github.com/sgpilot/sgpilot/shared/usecase/intake"
)

// rolesState is each network's role groups (by role) with their rules, the
// peer groups named by role and network: created groups' IDs differ from
// one cloud to the other.
func rolesState(c *harness.Cloud) map[string][]string {
	name := map[string]string{}
	for vpc, byRole := range roleGroups(c) {
		for role, g := range byRole {
			name[g.ID] = role + "@" + vpc
		}
	}
	out := map[string][]string{}
	for vpc, byRole := range roleGroups(c) {
		for role, g := range byRole {
			key := role + "@" + vpc + " " + g.Name + " " + g.Type
			rules := []string{}
			for _, r := range g.Rules {
				r.RuleID, r.CreateTime = "", time.Time{}
				r.SourceGroupID, r.DestGroupID = name[r.SourceGroupID], name[r.DestGroupID]
				b, _ := json.Marshal(r)
				rules = append(rules, string(b))
			}
			sort.Strings(rules)
			out[key] = rules
		}
	}
	return out
}

// runRolesApply applies the example policy to the role policy scenario with
// the given split threshold and returns the account's role groups and the
// roles-network tasks the worker ran.
func runRolesApply(t *testing.T, splitOver string) (map[string][]string, int) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "roles.yaml")
	if err := os.WriteFile(file, rolepolicy.ExampleYAML(), 0o644); err != nil {
		t.Fatal(err)
	}
	seed := rolesSeed(time.Now())
	// Rules the policy does not declare on a managed role group: both
	// directions are revoked (by the worker, when split).
	for i := range seed.SecurityGroups {
		if seed.SecurityGroups[i].ID == rpBastion {
			seed.SecurityGroups[i].Rules = []ecsemu.SeedRule{
				{IPProtocol: "tcp", PortRange: "3389/3389", SourceCidrIP: "0.0.0.0/0"},
				{Direction: "egress", IPProtocol: "tcp", PortRange: "25/25", DestCidrIP: "0.0.0.0/0"},
			}
		}
	}
	c := startCloud(t, true, &seed, "SGPILOT_ROLES_MODE", "apply", "SGPILOT_ROLE_POLICY_FILE", file,
		"SGPILOT_FANOUT_GROUPS", splitOver)
	var res app.RolesResult
	out := invoke(t, c, "nightly-cleanup", `{"mode":"roles","action":"apply"}`)
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("roles apply %s: %v", out, err)
	}
	if res.Failed() {
		t.Fatalf("roles apply failed:\n%s", res.Text)
	}
	if splitOver == "0" && (res.Summary.RulesRevoked != 2 || res.Summary.GroupsCreated == 0) {
		t.Errorf("unsplit apply: %+v, want 2 rules revoked and groups created", res.Summary)
	}
	waitSettled(t, c)
	if dl := deadLetterReasons(t, c); len(dl) > 0 {
		t.Fatalf("dead letters: %v", dl)
	}
	tasks := 0
	for _, r := range c.FC.History("queue-worker") {
		tasks += strings.Count(string(r.Payload), `\"kind\":\"roles-network\"`)
	}
	if tasks != res.Summary.Queued {
		t.Errorf("the worker ran %d roles-network tasks, the nightly run queued %d", tasks, res.Summary.Queued)
	}
	return rolesState(c), res.Summary.Queued
}

// TestSplit_RolesByNetwork: with the real binaries on localcloud, a role
// policy apply split by network (a threshold of 1 role group: one
// roles-network task per network, applied by queue-worker under its roles
// policy) leaves exactly the role groups and rules of the apply in one
// invocation.
func TestSplit_RolesByNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	var whole, split map[string][]string
	var queuedWhole, queuedSplit int
	t.Run("both", func(t *testing.T) {
		t.Run("one invocation", func(t *testing.T) { t.Parallel(); whole, queuedWhole = runRolesApply(t, "0") })
		t.Run("by network", func(t *testing.T) { t.Parallel(); split, queuedSplit = runRolesApply(t, "1") })
	})
	if t.Failed() {
		return
	}
	if queuedWhole != 0 || queuedSplit != 3 {
		t.Errorf("queued %d networks unsplit, %d split; want 0 and 3 (prod, stage, classic)", queuedWhole, queuedSplit)
	}
	if len(whole) == 0 {
		t.Fatal("the unsplit apply made no role groups")
	}
	for key, rules := range split {
		if strings.HasPrefix(key, "bastion@") && strings.Contains(strings.Join(rules, " "), "3389") {
			t.Errorf("split apply left the undeclared rule on %s: %v", key, rules)
		}
	}
	if diff := cmp.Diff(whole, split); diff != "" {
		t.Errorf("role groups differ (-one invocation +split):\n%s", diff)
	}
}

// runBackfill backfills a fleet that predates sgpilot (30 instances to
// join, 3 complete) with the given threshold, waits for the worker, and
// returns every instance's groups and the reconcile-page tasks it ran.
func runBackfill(t *testing.T, splitOver string) (map[string][]string, *intake.ReconcileSummary, int) {
	t.Helper()
	seed := harness.DemoSeed()
	for i := range 33 {
		in := ecsemu.SeedInstance{ID: fmt.Sprintf("i-bp1split%014d", i), VSwitchID: harness.VSwitchA,
			SecurityGroupIDs: []string{harness.BaseA}, Tags: []ecsemu.SeedTag{{Key: harness.RoleTagKey, Value: "web,db"}}}
		if i%11 == 0 {
			in.SecurityGroupIDs = []string{harness.BaseA, harness.WebA, harness.DBA}
		}
		seed.Instances = append(seed.Instances, in)
	}
	c := startCloud(t, true, &seed, "SGPILOT_FANOUT_INSTANCES", splitOver)
	var rec intake.Summary
	out := invoke(t, c, "instance-created", `{"mode":"reconcile"}`)
	if err := json.Unmarshal(out, &rec); err != nil || rec.Reconcile == nil {
		t.Fatalf("reconcile %s: %v", out, err)
	}
	waitSettled(t, c)
	if dl := deadLetterReasons(t, c); len(dl) > 0 {
		t.Fatalf("dead letters: %v", dl)
	}
	parts := 0
	for _, r := range c.FC.History("queue-worker") {
		parts += strings.Count(string(r.Payload), `\"kind\":\"reconcile-page\"`)
	}
	return c.InstanceGroups(), rec.Reconcile, parts
}

// TestSplit_BackfillByPages: with the real binaries on localcloud, a
// backfill split by pages (a threshold of 8 instances: pages of 8, each
// part handing the NextToken to a reconcile-page task for queue-worker)
// ends with every instance in exactly the groups the backfill in one
// invocation gives it.
func TestSplit_BackfillByPages(t *testing.T) {
	// One of the long scenarios that mostly wait on queue windows and rate
	// limits: run beside the others (make test sets -parallel).
	t.Parallel()
	if testing.Short() {
		t.Skip("end-to-end")
	}
	var whole, split map[string][]string
	var first *intake.ReconcileSummary
	var parts, wholeParts int
	t.Run("both", func(t *testing.T) {
		t.Run("one invocation", func(t *testing.T) { t.Parallel(); whole, _, wholeParts = runBackfill(t, "0") })
		t.Run("by pages", func(t *testing.T) { t.Parallel(); split, first, parts = runBackfill(t, "8") })
	})
	if t.Failed() {
		return
	}
	if wholeParts != 0 || first.ContinuedAs == "" || first.Instances != 8 {
		t.Errorf("unsplit ran %d parts; split's first part read %d instances, continued as %q; want 0, 8 and a hand-over",
			wholeParts, first.Instances, first.ContinuedAs)
	}
	// The demo's tagged instances plus the 33: at least four more parts.
	if parts < 4 {
		t.Errorf("the worker ran %d reconcile-page tasks, want at least 4", parts)
	}
	joined := 0
	for id, groups := range whole {
		if strings.HasPrefix(id, "i-bp1split") && len(groups) == 3 {
			joined++
		}
	}
	if joined != 33 {
		t.Errorf("%d of 33 instances in their role groups after the unsplit backfill", joined)
	}
	if diff := cmp.Diff(whole, split); diff != "" {
		t.Errorf("memberships differ (-one invocation +split):\n%s", diff)
	}
}
