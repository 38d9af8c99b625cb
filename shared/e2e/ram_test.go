package e2e_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/sgpilot/sgpilot/shared/localcloud"
	"github.com/sgpilot/sgpilot/shared/localcloud/ramemu"
	"github.com/sgpilot/sgpilot/shared/testkit/harness"
)

// TestMain prints, when SGPILOT_E2E_RAM is set, the function × action table
// of every call the end-to-end tests made under RAM, and fails the run if
// any was refused (with enforce, the refusing test fails on its own too).
//
//	SGPILOT_E2E_RAM=enforce go test ./shared/e2e/...
//	SGPILOT_E2E_RAM=enforce SGPILOT_E2E_FUNCTIONS=template.yml go test ./shared/e2e/...
func TestMain(m *testing.M) {
	code := m.Run()
	if mode := os.Getenv(harness.EnvRAM); mode != "" {
		rec := harness.RAMRecorder()
		fmt.Printf("\nRAM (%s, %s): calls of the functions under their roles' policies\n", mode, nonEmpty(os.Getenv(harness.EnvFunctions), "s.yaml"))
		_ = ramemu.WriteTable(os.Stdout, ramemu.Table(rec.Granted(), rec.Uses()))
		if denied := deniedCalls(rec); len(denied) > 0 {
			fmt.Printf("\nrefused calls (a permission is missing):\n  %s\n", strings.Join(denied, "\n  "))
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func deniedCalls(rec *ramemu.Recorder) []string {
	var out []string
	for _, u := range rec.Uses() {
		if !u.Allowed {
			out = append(out, fmt.Sprintf("%s: %s on %s (%d×)", u.Function, u.Action, u.Resource, u.Count))
		}
	}
	return out
}

// ramExcuse says why a granted permission may go unused by the scenarios
// of TestRAM_LeastPrivilege; "" means it must be used. Keep the reasons
// true: each one is a permission the scenarios do not prove.
func ramExcuse(g ramemu.Grant) string {
	single := map[string]bool{"mns:SendMessage": true, "mns:ReceiveMessage": true, "mns:DeleteMessage": true}
	drain := map[string]bool{"mns:BatchReceiveMessage": true, "mns:BatchDeleteMessage": true, "mns:ChangeMessageVisibility": true}
	switch {
	case g.Action == "log:PostLogStoreLogs":
		return "FC ships the function's logs to SLS with its role; localcloud has no SLS"
	case strings.HasSuffix(g.Resource, "/queues/sgpilot-failed-events/messages"):
		return "FC writes async-invocation failures to this destination with the function's role; localcloud's FC writes it in-process, outside RAM"
	case single[g.Action]:
		return "the adapter sends, receives and deletes in batches; the single action is granted beside the batch one because RAM documents only mns:BatchDeleteMessage (docs/ram/README.md)"
	case g.Function == "queue-worker" && drain[g.Action]:
		return `drain mode ({"mode":"drain"}, the disabled drain-safety-net timer); the scenarios run the event stream instead`
	case g.Function == "queue-worker" && (g.Action == "ecs:DescribeNetworkInterfaces" || g.Action == "ecs:DescribeSecurityGroupReferences"):
		return "the deleter names a group's users only after ECS refuses a delete because the group is in use; no scenario races a new user in"
	case g.Function == "queue-worker" && g.Action == "ecs:TagResources":
		return "the cleanup parts of a region over SGPILOT_FANOUT_GROUPS mark groups; TestFanout_SameAsOneInvocation runs them with RAM enforced"
	case g.Function == "queue-worker" && g.Action == "ecs:UntagResources":
		return "onboarding clears a stale mark on a role group it joins; no scenario onboards into a marked group"
	}
	return ""
}

// TestRAM_LeastPrivilege runs the end-to-end scenarios with each function
// held to its role's policy, from s.yaml (docs/ram) and from template.yml
// (its inline policies), and fails when a function is refused (a
// permission is missing) or when a policy grants something no scenario
// used (a permission is extra) unless ramExcuse gives the reason.
func TestRAM_LeastPrivilege(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	type scenario struct {
		name string
		run  func(*testing.T)
	}
	onboarding := scenario{"onboarding", TestOnboarding_EndToEnd}
	cleanup := scenario{"cleanup", TestCleanup_EndToEnd}
	createGroups := scenario{"create-missing-groups", TestOnboarding_CreatesMissingRoleGroup}
	// s.yaml runs every scenario and proves each grant used; template.yml
	// (the same policies, testkit/deploy keeps them equal) runs the main
	// ones and the create-groups managed policy, and proves nothing refused.
	runs := []struct {
		file      string
		scenarios []scenario
		unused    bool
	}{
		{"s.yaml", []scenario{onboarding, {"outcomes", TestOnboarding_Outcomes}, createGroups,
			{"backfill", TestOnboarding_BackfillUnderThrottling}, cleanup}, true},
		{"template.yml", []scenario{onboarding, createGroups, cleanup}, false},
	}
	for _, r := range runs {
		t.Run(r.file, func(t *testing.T) {
			rec := ramemu.NewRecorder()
			t.Cleanup(harness.SetRAMRecorder(rec))
			t.Setenv(harness.EnvRAM, localcloud.RAMEnforce)
			t.Setenv(harness.EnvFunctions, r.file)
			for _, sc := range r.scenarios {
				t.Run(sc.name, sc.run)
			}
			var table strings.Builder
			_ = ramemu.WriteTable(&table, ramemu.Table(rec.Granted(), rec.Uses()))
			t.Logf("function × action under %s:\n%s", r.file, table.String())
			for _, d := range deniedCalls(rec) {
				t.Errorf("refused (missing permission): %s", d)
			}
			if !r.unused {
				return
			}
			grants := ramemu.Grants(rec.Granted(), rec.Uses())
			for _, g := range ramemu.Unused(grants, ramExcuse) {
				t.Errorf("granted, never used (extra permission): %s", g)
			}
			for _, g := range grants {
				if why := ramExcuse(g); g.Used == 0 && why != "" {
					t.Logf("granted, not exercised: %s: %s", g, why)
				}
			}
		})
	}
}
