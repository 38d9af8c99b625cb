package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/app/cli"
	"github.com/sgpilot/sgpilot/shared/core/config"
	"github.com/sgpilot/sgpilot/shared/localcloud"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/ramemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/stack"
)

// cliSeed is the sample account (one web+db instance in its base group
// only, so onboarding has work) plus four managed groups unused and marked
// stale 30 days ago: four deletions, over the limit of two the test sets.
func cliSeed() (ecsemu.Seed, []string) {
	s := stack.SampleSeed()
	old := time.Now().Add(-90 * 24 * time.Hour)
	mark := time.Now().AddDate(0, 0, -30).UTC().Format("2006-01-02")
	var ids []string
	for i := range 4 {
		id := fmt.Sprintf("sg-bp1clistale00000000%d", i)
		ids = append(ids, id)
		s.SecurityGroups = append(s.SecurityGroups, ecsemu.SeedSecurityGroup{ID: id, VpcID: stack.VPCA, Name: "old-" + id[len(id)-1:],
			CreationTime: old, Tags: []ecsemu.SeedTag{{Key: stack.ManagedTagKey, Value: "true"}, {Key: "sgpilot:stale-since", Value: mark}}})
	}
	return s, ids
}

// cliRun runs the sgpilot command in this process against the stack, with
// the account's keys in the environment as a user would set them.
type cliRun struct {
	t    *testing.T
	st   *stack.Stack
	home string
}

func (c cliRun) run(args ...string) (code int, stdout, stderr string) {
	c.t.Helper()
	info := c.st.Info()
	env := map[string]string{
		cli.EnvAccessKeyID: info.AccessKeyID, cli.EnvAccessKeySecret: info.AccessKeySecret,
		config.EnvMaxDeletions: "2",
	}
	var out, errb bytes.Buffer
	full := append(args, "--endpoint", info.ECSEndpoint, "--mns-endpoint", info.MNSDialAddress,
		"--account-id", info.AccountID, "--region", info.RegionID)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code = cli.Run(ctx, full, cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }, Home: c.home})
	return code, out.String(), errb.String()
}

// TestCLI_AgainstLocalcloud runs the command's read-only commands, a write
// refused without --apply, and the approval of a withheld plan, against
// localcloud through the real SDKs.
func TestCLI_AgainstLocalcloud(t *testing.T) {
	// One of the long scenarios that mostly wait on queue windows and rate
	// limits: run beside the others (make test sets -parallel).
	t.Parallel()
	seed, stale := cliSeed()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st, err := stack.Start(ctx, stack.Options{Seed: &seed,
		Cloud: localcloud.Options{Addr: "127.0.0.1:0", Queues: []string{config.DefaultFailedEventsQueue}}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := cliRun{t: t, st: st, home: t.TempDir()}
	before := st.GroupTags()

	var planID string
	t.Run("plan", func(t *testing.T) {
		code, out, errs := c.run("plan", "--json")
		if code != cli.ExitOK {
			t.Fatalf("exit %d: %s", code, errs)
		}
		var res cli.PlanResult
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("plan --json: %v\n%s", err, out)
		}
		if len(res.Onboarding) != 1 || len(res.Onboarding[0].TaskIDs) != 1 || len(res.Onboarding[0].Plans) != 1 ||
			len(res.Onboarding[0].Plans[0].ToJoin) != 2 || res.Onboarding[0].Enqueued != 0 || !res.Onboarding[0].DryRun {
			t.Errorf("onboarding plan: %+v, want the sample instance to onboard", res.Onboarding)
		}
		if len(res.Cleanup.Regions) != 1 {
			t.Fatalf("cleanup regions: %+v", res.Cleanup.Regions)
		}
		rr := res.Cleanup.Regions[0]
		planID = rr.PlanID
		if !strings.HasPrefix(planID, info(st).RegionID+":4:") || rr.Blocked == "" || !strings.Contains(rr.Approve, planID) {
			t.Fatalf("withheld plan: id %q blocked %q approve %q", planID, rr.Blocked, rr.Approve)
		}
		if !strings.Contains(errs, "credentials from environment") || strings.Contains(errs+out, info(st).AccessKeySecret) {
			t.Errorf("stderr should name the credentials' source and never the secret:\n%s", errs)
		}
	})
	t.Run("plan text", func(t *testing.T) {
		code, out, errs := c.run("plan")
		if code != cli.ExitOK || !strings.Contains(out, "Onboarding plan, region") || !strings.Contains(out, "Plan ID: "+planID) ||
			!strings.Contains(out, `{"mode":"apply","approve":"`+planID+`"}`) {
			t.Fatalf("exit %d\n%s\n%s", code, out, errs)
		}
	})
	t.Run("audit", func(t *testing.T) {
		if code, out, errs := c.run("audit"); code != cli.ExitOK || out == "" {
			t.Fatalf("exit %d\n%s\n%s", code, out, errs)
		}
	})
	t.Run("roles plan", func(t *testing.T) {
		code, out, errs := c.run("roles", "plan", "--json")
		if code != cli.ExitOK || !json.Valid([]byte(out)) {
			t.Fatalf("exit %d\n%s\n%s", code, out, errs)
		}
	})
	t.Run("cleanup plan", func(t *testing.T) {
		if code, out, errs := c.run("cleanup", "plan"); code != cli.ExitOK || !strings.Contains(out, "Plan ID: "+planID) {
			t.Fatalf("exit %d\n%s\n%s", code, out, errs)
		}
	})
	// Everything so far only read: every call must be one the CLI's
	// read-only policy allows (no write slipped in, no read missing).
	t.Run("read-only policy covers the plans", func(t *testing.T) {
		root, err := stack.RepoRoot()
		if err != nil {
			t.Fatal(err)
		}
		doc, err := os.ReadFile(filepath.Join(root, "docs", "ram", "cli", "sgpilot-readonly.json"))
		if err != nil {
			t.Fatal(err)
		}
		policy, err := ramemu.ParsePolicy("sgpilot-readonly", doc)
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for _, row := range st.Env.Controls.Counts() {
			if row.Service != "ecs" && row.Service != "ess" && row.Service != "eci" {
				continue
			}
			checked++
			action := row.Service + ":" + row.Action
			if d := ramemu.Evaluate([]ramemu.Policy{policy}, ramemu.Request{Action: action}); !d.Allowed {
				t.Errorf("a read-only command called %s (%d calls), which docs/ram/cli/sgpilot-readonly.json does not allow", action, row.Calls)
			}
		}
		if checked < 5 {
			t.Fatalf("only %d actions counted: is the count on?", checked)
		}
	})
	t.Run("dead-letters list", func(t *testing.T) {
		code, out, errs := c.run("dead-letters", "list")
		if code != cli.ExitOK || !strings.Contains(out, "0 letter(s)") {
			t.Fatalf("exit %d\n%s\n%s", code, out, errs)
		}
	})
	t.Run("writes are refused without --apply", func(t *testing.T) {
		for _, args := range [][]string{{"cleanup", "apply", "--approve", planID}, {"roles", "apply"}, {"dead-letters", "replay", "--all"}} {
			code, out, errs := c.run(args...)
			if code != cli.ExitUsage || !strings.Contains(errs, "--apply") || out == "" {
				t.Errorf("%v: exit %d, want %d with the plan printed\n%s\n%s", args, code, cli.ExitUsage, out, errs)
			}
		}
		if got := st.GroupTags(); fmt.Sprint(got) != fmt.Sprint(before) {
			t.Error("a refused write changed group tags")
		}
		if n := st.QueueDepth(stack.WorkQueue); n != 0 {
			t.Errorf("a refused write queued %d tasks", n)
		}
	})
	t.Run("a wrong approval is refused", func(t *testing.T) {
		wrong := planID[:strings.LastIndex(planID, ":")+1] + "0123456789abcdef"
		code, _, errs := c.run("cleanup", "apply", "--apply", "--approve", wrong)
		if code != cli.ExitRefused || !strings.Contains(errs, "approval refused") {
			t.Fatalf("exit %d, want %d\n%s", code, cli.ExitRefused, errs)
		}
		if n := st.QueueDepth(stack.WorkQueue); n != 0 {
			t.Errorf("a refused approval queued %d tasks", n)
		}
	})
	t.Run("the built command", func(t *testing.T) {
		if testing.Short() {
			t.Skip("builds the command")
		}
		root, err := stack.RepoRoot()
		if err != nil {
			t.Fatal(err)
		}
		bin := filepath.Join(t.TempDir(), "sgpilot")
		build := exec.Command("go", "build", "-o", bin, "./shared/cmd/sgpilot")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build: %v\n%s", err, out)
		}
		in := st.Info()
		cmd := exec.Command(bin, "roles", "apply", "--endpoint", in.ECSEndpoint, "--region", in.RegionID)
		cmd.Env = append(os.Environ(), "HOME="+c.home, cli.EnvAccessKeyID+"="+in.AccessKeyID, cli.EnvAccessKeySecret+"="+in.AccessKeySecret)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err = cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != cli.ExitUsage || !strings.Contains(out.String(), "Summary:") ||
			!strings.Contains(errb.String(), "Re-run with --apply") {
			t.Fatalf("roles apply without --apply: %v\n%s\n%s", err, out.String(), errb.String())
		}
	})
	t.Run("the approved plan deletes beyond the limit", func(t *testing.T) {
		code, out, errs := c.run("cleanup", "apply", "--apply", "--approve", planID)
		if code != cli.ExitOK || !strings.Contains(out, "Approval approved") {
			t.Fatalf("exit %d\n%s\n%s", code, out, errs)
		}
		if n := st.QueueDepth(stack.WorkQueue); n != len(stale) {
			t.Errorf("%d tasks queued, want a delete task for each of %d groups", n, len(stale))
		}
	})
}

func info(st *stack.Stack) localcloud.Info { return st.Info() }
