package e2e_test

import (
	"encoding/json"
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
