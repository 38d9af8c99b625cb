package e2e_test

import (
	"flag"
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
//
// TestMain holds the whole suite to least privilege: every end-to-end test
// runs its functions under their roles' policies (harness.RAMMode, enforce by
// default), so a refused call (a permission missing) fails the run; and when
// the whole suite ran on s.yaml, a grant that no test used (a permission
// extra) fails it too, unless ramExcuse gives the reason.
func TestMain(m *testing.M) {
	code := m.Run()
	printBenchFigures()
	mode := harness.RAMMode()
	if mode == localcloud.RAMOff {
		os.Exit(code)
	}
	rec := harness.RAMRecorder()
	if len(rec.Uses()) == 0 {
		os.Exit(code) // no end-to-end test ran (-run filter, -short, benchmarks)
	}
	var problems []string
	for _, d := range deniedCalls(rec) {
		problems = append(problems, "refused (a permission is missing): "+d)
	}
	if wholeSuite() && os.Getenv(harness.EnvFunctions) == "" {
		for _, g := range ramemu.Unused(ramemu.Grants(rec.Granted(), rec.Uses()), ramExcuse) {
			problems = append(problems, fmt.Sprintf("granted, never used by any test (an extra permission): %s", g))
		}
	}
	if len(problems) > 0 || testing.Verbose() {
		fmt.Printf("\nRAM (%s, %s): calls of the functions under their roles' policies\n", mode, nonEmpty(os.Getenv(harness.EnvFunctions), "s.yaml"))
		_ = ramemu.WriteTable(os.Stdout, ramemu.Table(rec.Granted(), rec.Uses()))
	}
	if len(problems) > 0 {
		fmt.Printf("\nleast privilege:\n  %s\n", strings.Join(problems, "\n  "))
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// wholeSuite reports whether every test of the package was selected, so
// that an unused grant means no scenario needs it.
func wholeSuite() bool {
	f := flag.Lookup("test.run")
	return f != nil && f.Value.String() == "" && !testing.Short()
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
// TestRAM_TemplateStack runs onboarding and cleanup with the functions,
// queues and roles of the ROS template (template.yml) instead of s.yaml,
// each function held to the policy its role has in the template.
func TestRAM_TemplateStack(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	if os.Getenv(harness.EnvFunctions) != "" {
		t.Skip("the whole suite runs on " + os.Getenv(harness.EnvFunctions))
	}
	rec := ramemu.NewRecorder()
	t.Cleanup(harness.SetRAMRecorder(rec))
	t.Setenv(harness.EnvRAM, localcloud.RAMEnforce)
	t.Setenv(harness.EnvFunctions, "template.yml")
	t.Run("onboarding", TestOnboarding_EndToEnd)
	t.Run("cleanup", TestCleanup_EndToEnd)
	for _, d := range deniedCalls(rec) {
		t.Errorf("refused (missing permission): %s", d)
	}
	if len(rec.Uses()) == 0 {
		t.Error("no call was recorded: the template's functions did not run under RAM")
	}
}
