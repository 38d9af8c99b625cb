package e2e_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/app"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/rolepolicy"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
	"github.com/sgpilot/sgpilot/shared/testkit/harness"
)

// The role policy scenario: the VPCs the example policy names, the classic
// network, instances in each, an unmanaged legacy group full of bad rules,
// and two old, empty, managed role groups (bastion in prod, batch in stage).
const (
	rpProd       = "vpc-prod00000001"
	rpStage      = "vpc-stage0000001"
	rpVswProd    = "vsw-bp1rpprod000000001"
	rpVswStage   = "vsw-bp1rpstage00000001"
	rpBaseProd   = "sg-bp1rpbaseprod000001"
	rpBaseStage  = "sg-bp1rpbasestage00001"
	rpBaseClass  = "sg-bp1rpbaseclassic001"
	rpLegacy     = "sg-bp1rplegacy00000001" // unmanaged, every bad rule the audit knows
	rpBastion    = "sg-bp1rpbastion0000001" // managed, role bastion, empty, old: kept while declared
	rpBatchStage = "sg-bp1rpbatch000000001" // managed, role batch, empty, old: stale once batch leaves the policy
)

func rolesSeed(now time.Time) ecsemu.Seed {
	old := now.Add(-60 * 24 * time.Hour)
	roleTags := func(role string) []ecsemu.SeedTag {
		return []ecsemu.SeedTag{{Key: harness.RoleTagKey, Value: role}, {Key: harness.ManagedTagKey, Value: "true"}}
	}
	in := func(id, vsw, group string) ecsemu.SeedInstance {
		s := ecsemu.SeedInstance{ID: id, VSwitchID: vsw, SecurityGroupIDs: []string{group}}
		if vsw == "" {
			s.NetworkType = "classic"
		}
		return s
	}
	return ecsemu.Seed{
		Regions: []ecsemu.SeedRegion{{RegionID: "cn-hangzhou", Zones: []string{"cn-hangzhou-h", "cn-hangzhou-i"}, Classic: true}},
		VPCs: []ecsemu.SeedVPC{{ID: rpProd, Name: "prod", CidrBlock: "172.16.0.0/12"},
			{ID: rpStage, Name: "stage", CidrBlock: "192.168.0.0/16"}},
		VSwitches: []ecsemu.SeedVSwitch{{ID: rpVswProd, VpcID: rpProd, ZoneID: "cn-hangzhou-h", CidrBlock: "172.16.1.0/24"},
			{ID: rpVswStage, VpcID: rpStage, ZoneID: "cn-hangzhou-i", CidrBlock: "192.168.1.0/24"}},
		SecurityGroups: []ecsemu.SeedSecurityGroup{
			{ID: rpBaseProd, VpcID: rpProd, Name: "base-prod", CreationTime: old},
			{ID: rpBaseStage, VpcID: rpStage, Name: "base-stage", CreationTime: old},
			{ID: rpBaseClass, Name: "base-classic", CreationTime: old},
			{ID: rpLegacy, VpcID: rpProd, Name: "legacy-app", CreationTime: old, Rules: []ecsemu.SeedRule{
				{IPProtocol: "tcp", PortRange: "22/22", SourceCidrIP: "0.0.0.0/0"},         // internal-open-wide
				{IPProtocol: "all", PortRange: "-1/-1", SourceCidrIP: "10.1.0.0/16"},       // all-protocols
				{IPProtocol: "tcp", PortRange: "1/65535", SourceCidrIP: "10.2.0.0/16"},     // all-ports
				{IPProtocol: "tcp", PortRange: "5432/5432", SourceCidrIP: "172.16.1.0/24"}, // cidr-could-be-group (base-prod)
				{IPProtocol: "tcp", PortRange: "8080/8080", SourceCidrIP: "10.3.0.0/16", Priority: 50},
				{IPProtocol: "tcp", PortRange: "8080/8080", SourceCidrIP: "10.0.0.0/8", Policy: "drop", Priority: 1}, // shadows the rule above
			}},
			{ID: rpBastion, VpcID: rpProd, Name: "sgpilot-bastion-" + rpProd, CreationTime: old, Tags: roleTags("bastion")},
			{ID: rpBatchStage, VpcID: rpStage, Name: "sgpilot-batch-" + rpStage, Type: "enterprise", CreationTime: old, Tags: roleTags("batch")},
		},
		Instances: []ecsemu.SeedInstance{
			in("i-bp1rpprod00000000001", rpVswProd, rpBaseProd), in("i-bp1rpprod00000000002", rpVswProd, rpBaseProd),
			in("i-bp1rpstage0000000001", rpVswStage, rpBaseStage), in("i-bp1rpclassic00000001", "", rpBaseClass),
		},
	}
}

// secondPolicy is the example policy after a change: batch is gone, web's
// HTTPS moves to 8443, and the classic ping is narrowed.
func secondPolicy(t *testing.T) []byte {
	t.Helper()
	s := string(rolepolicy.ExampleYAML())
	i := strings.Index(s, "\n  batch:")
	if i < 0 {
		t.Fatal("example policy has no batch role")
	}
	s = s[:i+1]
	for old, repl := range map[string]string{"ports: 443/443": "ports: 8443/8443", "source: {cidr: 10.0.0.0/8}": "source: {cidr: 10.0.0.0/16}",
		// an egress rule changes too, so egress rules are revoked and authorized
		"ports: 6379/6379\n        destination: {role: redis}": "ports: 6380/6380\n        destination: {role: redis}"} {
		if !strings.Contains(s, old) {
			t.Fatalf("example policy has no %q", old)
		}
		s = strings.Replace(s, old, repl, 1)
	}
	if _, err := rolepolicy.Parse([]byte(s)); err != nil {
		t.Fatal(err)
	}
	return []byte(s)
}

// roleGroups returns the role groups of the emulator by network and role.
func roleGroups(c *harness.Cloud) map[string]map[string]ecsemu.SeedSecurityGroup {
	out := map[string]map[string]ecsemu.SeedSecurityGroup{}
	for _, g := range c.ECS.Snapshot().SecurityGroups {
		for _, tag := range g.Tags {
			if tag.Key == harness.RoleTagKey {
				if out[g.VpcID] == nil {
					out[g.VpcID] = map[string]ecsemu.SeedSecurityGroup{}
				}
				out[g.VpcID][tag.Value] = g
			}
		}
	}
	return out
}

func ecsWrites(c *harness.Cloud) int64 {
	var n int64
	for _, row := range c.Env.Controls.Counts() {
		if row.Service == "ecs" && (strings.HasPrefix(row.Action, "Authorize") || strings.HasPrefix(row.Action, "Revoke") ||
			row.Action == "CreateSecurityGroup" || row.Action == "TagResources") {
			n += row.Calls
		}
	}
	return n
}

// checkConverged checks that every role group the policy places in each
// network exists, is managed, and holds exactly the policy's rules (by
// count, and group-to-group rules naming the peer role's group there).
func checkConverged(t *testing.T, c *harness.Cloud, pol rolepolicy.Policy) {
	t.Helper()
	groups := roleGroups(c)
	for _, vpc := range []string{rpProd, rpStage, ""} {
		for _, role := range pol.RolesIn(rolepolicy.Network{RegionID: c.Region, VPCID: vpc}) {
			g, ok := groups[vpc][role.Name]
			if !ok {
				t.Errorf("network %q: no group for role %s", vpc, role.Name)
				continue
			}
			if len(g.Rules) != len(role.Rules) {
				t.Errorf("network %q role %s (%s): %d rules, the policy declares %d: %+v", vpc, role.Name, g.ID, len(g.Rules), len(role.Rules), g.Rules)
			}
			for i, spec := range role.Rules {
				if spec.Peer.Role == "" {
					continue
				}
				peer := groups[vpc][spec.Peer.Role].ID
				found := false
				for _, r := range g.Rules {
					found = found || r.SourceGroupID == peer || r.DestGroupID == peer
				}
				if !found {
					t.Errorf("network %q role %s rule %d does not name %s's group %s", vpc, role.Name, i, spec.Peer.Role, peer)
				}
			}
		}
	}
}

func decisionFor(t *testing.T, res app.CleanupResult, groupID string) (domain.CleanupAction, domain.Reason) {
	t.Helper()
	for _, r := range res.Regions {
		for _, d := range r.Decisions {
			if d.GroupID == groupID {
				return d.Action, d.Reason
			}
		}
	}
	t.Fatalf("no cleanup decision for %s", groupID)
	return "", ""
}

// TestRoles_EndToEnd runs the role policy through the real nightly-cleanup
// binary on localcloud: a plan that changes nothing, the nightly apply that
// creates the role groups with their rules before the cleanup (which keeps an
// empty declared role group), a policy change through a second file that
// converges through its plan (and makes the removed role's group stale), and
// the audit, which finds every bad rule of the unmanaged group and nothing
// in the managed ones.
func TestRoles_EndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	first, second := filepath.Join(dir, "example.yaml"), filepath.Join(dir, "changed.yaml")
	if err := os.WriteFile(first, rolepolicy.ExampleYAML(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(second, secondPolicy(t), 0o644); err != nil {
		t.Fatal(err)
	}
	// SGPILOT_ROLE_POLICY_FILE names a link; re-pointing it is the policy change.
	link := filepath.Join(dir, "roles.yaml")
	if err := os.Symlink(first, link); err != nil {
		t.Fatal(err)
	}
	seed := rolesSeed(time.Now())
	c := startCloud(t, true, &seed, "SGPILOT_ROLES_MODE", "apply", "SGPILOT_ROLE_POLICY_FILE", link)

	// 1. A plan changes nothing.
	var plan app.RolesResult
	out := invoke(t, c, "nightly-cleanup", `{"mode":"roles","action":"plan"}`)
	if err := json.Unmarshal(out, &plan); err != nil {
		t.Fatalf("roles plan %s: %v", out, err)
	}
	if plan.Failed() || plan.Summary.GroupsToCreate == 0 || plan.Summary.RulesToAuth == 0 {
		t.Fatalf("plan:\n%s", plan.Text)
	}
	if n := ecsWrites(c); n != 0 {
		t.Fatalf("the plan wrote %d times", n)
	}
	t.Logf("plan:\n%s", plan.Text)

	// 2. The nightly apply converges, then cleans up.
	example, err := rolepolicy.Parse(rolepolicy.ExampleYAML())
	if err != nil {
		t.Fatal(err)
	}
	res := runCleanup(t, c, "apply")
	if res.Roles == nil || res.Roles.Failed() || res.Roles.Mode != "apply" {
		t.Fatalf("nightly roles run: %+v", res.Roles)
	}
	checkConverged(t, c, example)
	groups := roleGroups(c)
	if g := groups[""]["legacy-ftp"]; g.Name != "sgpilot-legacy-ftp-classic" {
		t.Errorf("classic legacy-ftp group %+v", g)
	}
	if g := groups[rpProd]["batch"]; g.Type != "enterprise" || g.Name != "sgpilot-batch-"+rpProd {
		t.Errorf("created batch group %+v", g)
	}
	if g := groups[rpStage]["batch"]; g.ID != rpBatchStage {
		t.Errorf("the existing batch group was not used: %+v", g)
	}
	if a, r := decisionFor(t, res, rpBastion); a != domain.ActionKeep || r != domain.ReasonDeclaredRole {
		t.Errorf("empty declared bastion group: %s/%s, want keep/%s", a, r, domain.ReasonDeclaredRole)
	}
	if a, r := decisionFor(t, res, rpBatchStage); a != domain.ActionKeep || r != domain.ReasonDeclaredRole {
		t.Errorf("empty declared batch group: %s/%s", a, r)
	}
	again := runCleanup(t, c, "apply")
	if s := again.Roles.Summary; s.GroupsToCreate+s.RulesToAuth+s.RulesToRevoke != 0 {
		t.Fatalf("second nightly run is not empty:\n%s", again.Roles.Text)
	}

	// 3. The policy changes: its plan shows the difference, the apply converges.
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(second, link); err != nil {
		t.Fatal(err)
	}
	changed, err := rolepolicy.Parse(secondPolicy(t))
	if err != nil {
		t.Fatal(err)
	}
	var text string
	if err := json.Unmarshal(invoke(t, c, "nightly-cleanup", `{"mode":"roles","format":"text"}`), &text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"- revoke", "+ authorize", "8443/8443", "10.0.0.0/16"} {
		if !strings.Contains(text, want) {
			t.Errorf("changed policy's plan lacks %q:\n%s", want, text)
		}
	}
	var applied app.RolesResult
	out = invoke(t, c, "nightly-cleanup", `{"mode":"roles","action":"apply"}`)
	if err := json.Unmarshal(out, &applied); err != nil {
		t.Fatal(err)
	}
	if applied.Failed() || applied.Summary.RulesRevoked == 0 || applied.Summary.RulesAuthorized == 0 {
		t.Fatalf("changed policy apply:\n%s", applied.Text)
	}
	checkConverged(t, c, changed)
	res = runCleanup(t, c, "apply")
	if a, r := decisionFor(t, res, rpBatchStage); a != domain.ActionMark {
		t.Errorf("batch group after batch left the policy: %s/%s, want mark", a, r)
	}
	if a, _ := decisionFor(t, res, rpBastion); a != domain.ActionKeep {
		t.Errorf("bastion group: %s, want keep", a)
	}

	// 4. The audit: every bad rule of the unmanaged group, nothing above
	// info in the managed ones, no change made.
	before := ecsWrites(c)
	var audit app.AuditResult
	out = invoke(t, c, "nightly-cleanup", `{"mode":"audit"}`)
	if err := json.Unmarshal(out, &audit); err != nil {
		t.Fatalf("audit %s: %v", out, err)
	}
	if ecsWrites(c) != before {
		t.Fatal("the audit wrote")
	}
	if audit.Failed() || len(audit.Regions) != 1 || audit.Regions[0].Report == nil {
		t.Fatalf("audit:\n%s", audit.Text)
	}
	managed := map[string]bool{}
	for _, byRole := range roleGroups(c) {
		for _, g := range byRole {
			managed[g.ID] = true
		}
	}
	found := map[rolepolicy.FindingType]bool{}
	for _, f := range audit.Regions[0].Report.Findings {
		switch {
		case f.GroupID == rpLegacy:
			found[f.Type] = true
		case managed[f.GroupID] && f.Severity != rolepolicy.Info:
			t.Errorf("finding on managed group %s: %s %s: %s", f.GroupID, f.Severity, f.Type, f.Why)
		}
	}
	for _, want := range []rolepolicy.FindingType{rolepolicy.FindingInternalOpenWide, rolepolicy.FindingAllProtocols,
		rolepolicy.FindingAllPorts, rolepolicy.FindingCIDRCouldBeGroup, rolepolicy.FindingShadowed} {
		if !found[want] {
			t.Errorf("the audit missed the %s rule of %s:\n%s", want, rpLegacy, audit.Text)
		}
	}
	groupsInRegion := len(c.ECS.Snapshot().SecurityGroups)
	if got := audit.Regions[0].Calls["GroupRules"]; got != groupsInRegion {
		t.Errorf("rule reads %d, want one per group (%d)", got, groupsInRegion)
	}
	t.Logf("%s", audit.Summary())
	var textOut string
	if err := json.Unmarshal(invoke(t, c, "nightly-cleanup", `{"mode":"audit","format":"text"}`), &textOut); err != nil || !strings.Contains(textOut, "Security group audit of") {
		t.Errorf("text audit %q: %v", textOut, err)
	}
}
