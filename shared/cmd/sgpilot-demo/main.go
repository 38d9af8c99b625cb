// Command sgpilot-demo runs sgpilot's main job end to end on localcloud, with
// the real function binaries and the real Alibaba SDKs: a burst of new
// instances across two VPCs and the classic network is onboarded into its
// role groups through EventBridge, MNS and the worker; then the nightly
// cleanup plans, marks and, after the grace period, deletes the groups
// nobody uses. `make demo` runs it.
//
// The functions keep the wall clock, as on Function Compute. "Eight nights
// later" is shown by moving the stale marks of night 1 eight days into the
// past (TagResources, as a person could), not by moving any clock.
//
// It is shipped tooling, not a test: it drives localcloud through
// shared/localcloud/stack and imports neither test code nor an SDK.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/fcemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/stack"
)

func main() {
	logPath := flag.String("log", "", "write the functions' JSON logs to this file (default: a temporary file)")
	perVPC := flag.Int("instances", 40, "instances to create per network")
	flag.Parse()
	if err := run(*logPath, *perVPC, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// Legacy groups the cleanup part is about.
const (
	legacyUnused1 = "sg-bp1legacy0000000001"
	legacyUnused2 = "sg-bp1legacy0000000002"
	legacyRefd    = "sg-bp1legacy0000000003"
	legacyKept    = "sg-bp1legacy0000000004"
	legacyRefr    = "sg-bp1legacyrefr000001"
)

func seed() ecsemu.Seed {
	s := stack.DemoSeed()
	old := time.Now().Add(-90 * 24 * time.Hour)
	managed := ecsemu.SeedTag{Key: stack.ManagedTagKey, Value: "true"}
	legacy := func(id, name string, tags []ecsemu.SeedTag, rules ...ecsemu.SeedRule) ecsemu.SeedSecurityGroup {
		return ecsemu.SeedSecurityGroup{ID: id, VpcID: stack.VPCA, Name: name, Description: "left over from an old release",
			CreationTime: old, Tags: tags, Rules: rules}
	}
	s.SecurityGroups = append(s.SecurityGroups,
		legacy(legacyUnused1, "legacy-batch", []ecsemu.SeedTag{managed}),
		legacy(legacyUnused2, "legacy-reports", []ecsemu.SeedTag{managed}),
		legacy(legacyRefd, "legacy-metrics", []ecsemu.SeedTag{managed}),
		legacy(legacyKept, "legacy-audit", []ecsemu.SeedTag{managed, {Key: "sgpilot:protect", Value: "compliance"}}),
		legacy(legacyRefr, "monitoring", nil, ecsemu.SeedRule{IPProtocol: "tcp", PortRange: "9100/9100", SourceGroupID: legacyRefd}),
	)
	return s
}

func run(logPath string, perVPC int, out io.Writer) error {
	start := time.Now()
	if logPath == "" {
		f, err := os.CreateTemp("", "sgpilot-demo-*.log")
		if err != nil {
			return err
		}
		logPath = f.Name()
		f.Close()
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()

	step(out, "Building the three functions and starting localcloud (ECS, MNS, EventBridge, FC runtime)")
	sd := seed()
	ctx := context.Background()
	// Fast retries so a Pending instance is retried within a second here.
	c, err := stack.Start(ctx, stack.Options{Functions: true, Seed: &sd, Log: logFile,
		FunctionEnv: map[string]string{"SGPILOT_RETRY_DELAY": "1s", "SGPILOT_NOT_READY_DELAY": "1s", "SGPILOT_MAX_DELETE_PERCENT": "50"}})
	if err != nil {
		return err
	}
	defer c.Close()
	info := c.Info()
	fmt.Fprintf(out, "  ECS %s  ·  MNS %s (dial %s)  ·  functions: %s\n  function logs: %s\n",
		info.ECSEndpoint, info.MNSEndpoint, info.MNSDialAddress, strings.Join(info.Functions, ", "), logPath)

	// ---- Onboarding ----------------------------------------------------
	step(out, "Onboarding: RunInstances of a burst of role-tagged instances")
	type batch struct {
		vsw, base, roles, where string
		n                       int
		want                    []string
	}
	batches := []batch{
		{stack.VSwitchA, stack.BaseA, "web,db", "VPC A", perVPC, []string{stack.WebA, stack.DBA}},
		{stack.VSwitchB, stack.BaseB, "web", "VPC B", perVPC, []string{stack.WebB}},
		{"", stack.BaseClassic, "web,db", "classic", perVPC / 4, []string{stack.WebClassic, stack.DBClassic}},
		{stack.VSwitchB, stack.BaseB, "cache", "VPC B", 1, nil}, // no cache group in VPC B: dead-lettered
	}
	want := map[string][]string{}
	created := time.Now()
	for _, b := range batches {
		ids, err := c.ECSClient().RunInstances(b.vsw, b.base, b.roles, b.n)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  %3d instances in %-8s roles %-7s → expect %s\n", len(ids), b.where, b.roles, describe(b.want))
		for _, id := range ids {
			if b.want != nil {
				want[id] = sortedCopy(append([]string{b.base}, b.want...))
			}
		}
	}
	total := len(want)
	waitCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	last := -1
	err = stack.WaitFor(waitCtx, 300*time.Millisecond, func() (bool, string) {
		got := c.InstanceGroups()
		done := 0
		for id, w := range want {
			if equal(got[id], w) {
				done++
			}
		}
		if done != last {
			fmt.Fprintf(out, "  joined %d/%d  (%.1fs)\n", done, total, time.Since(created).Seconds())
			last = done
		}
		return done == total, fmt.Sprintf("%d of %d instances in their role groups", done, total)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  every instance is in exactly its base group plus its role groups of its own network (%.1fs)\n", time.Since(created).Seconds())
	if err := waitWorkQueueEmpty(ctx, c); err != nil {
		return err
	}
	printDeadLetters(out, c)
	printCalls(out, c, "ECS calls for the onboarding", nil)

	// ---- Cleanup -------------------------------------------------------
	c.Env.Controls.ResetCounters()
	step(out, "Nightly cleanup: the plan (nothing changes)")
	table, err := invokeString(c, "nightly-cleanup", `{"mode":"plan","format":"table"}`)
	if err != nil {
		return err
	}
	fmt.Fprint(out, indent(onlyInScope(table)))

	step(out, "Night 1 (apply): unused groups are marked sgpilot:stale-since")
	rep, err := invokeCleanup(c, "apply")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  marked %d, kept %v, skipped %v\n", rep.Summary.Marked, rep.Summary.KeptByReason, rep.Summary.SkippedByReason)

	step(out, "Eight nights later: still unused past the 7-day grace period → deleted via the work queue")
	// The functions run on the wall clock: move night 1's marks eight days
	// back instead, and leave these calls out of sgpilot's count.
	before := ecsCalls(c)
	moved, err := c.BackdateTag(domain.DefaultStaleTagKey, 8)
	if err != nil {
		return err
	}
	own := diffCalls(ecsCalls(c), before)
	fmt.Fprintf(out, "  (%d marks moved eight days back, e.g. %s)\n", len(moved), moved[legacyUnused1])
	rep, err = invokeCleanup(c, "apply")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  delete tasks queued: %d\n", rep.Summary.DeleteTasksEnqueued)
	if err := waitWorkQueueEmpty(ctx, c); err != nil {
		return err
	}
	exists := map[string]bool{}
	for _, g := range c.ECS.Snapshot().SecurityGroups {
		exists[g.ID] = true
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  GROUP\tSTORY\tNOW")
	for _, g := range []struct{ id, story string }{
		{legacyUnused1, "unused"}, {legacyUnused2, "unused"},
		{legacyRefd, "referenced by another group's rule"}, {legacyKept, "protect tag"},
	} {
		state := "kept"
		if !exists[g.id] {
			state = "deleted"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", g.id, g.story, state)
	}
	tw.Flush()
	printCalls(out, c, "ECS calls for the two cleanup nights and the deletions", own)

	step(out, fmt.Sprintf("Done in %.0fs. Run `make test` for the full suite; see README.md for s invoke payloads.", time.Since(start).Seconds()))
	return nil
}

func invokeString(c *stack.Stack, fn, payload string) (string, error) {
	res, err := fcemu.InvokeOverHTTP(c.Info().InvokeEndpoint, fn, []byte(payload), false)
	if err != nil {
		return "", err
	}
	if res.Error != nil {
		return "", fmt.Errorf("%s: %s", fn, res.Error.ErrorMessage)
	}
	var s string
	if err := json.Unmarshal(res.Payload, &s); err != nil {
		return string(res.Payload), nil
	}
	return s, nil
}

// cleanupResult is the part of nightly-cleanup's answer (app.CleanupResult)
// the demo prints. The demo reads the answer as any caller would, so it links
// none of the functions' code or SDKs.
type cleanupResult struct {
	Summary struct {
		Marked              int            `json:"marked"`
		DeleteTasksEnqueued int            `json:"deleteTasksEnqueued"`
		KeptByReason        map[string]int `json:"keptByReason"`
		SkippedByReason     map[string]int `json:"skippedByReason"`
	} `json:"summary"`
}

func invokeCleanup(c *stack.Stack, mode string) (cleanupResult, error) {
	var r cleanupResult
	res, err := fcemu.InvokeOverHTTP(c.Info().InvokeEndpoint, "nightly-cleanup", []byte(`{"mode":"`+mode+`"}`), false)
	if err != nil {
		return r, err
	}
	if res.Error != nil {
		return r, fmt.Errorf("nightly-cleanup: %s", res.Error.ErrorMessage)
	}
	return r, json.Unmarshal(res.Payload, &r)
}

func waitWorkQueueEmpty(ctx context.Context, c *stack.Stack) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return stack.WaitFor(ctx, 200*time.Millisecond, func() (bool, string) {
		if n := c.QueueDepth(stack.WorkQueue); n > 0 {
			return false, fmt.Sprintf("%d tasks still queued", n)
		}
		return true, ""
	})
}

func printDeadLetters(out io.Writer, c *stack.Stack) {
	for _, q := range c.MNS.Snapshot().Queues {
		if q.Name != stack.DeadLetterQueue {
			continue
		}
		fmt.Fprintf(out, "  dead-letter queue: %d record(s)\n", len(q.Messages))
		for _, m := range q.Messages {
			var dl domain.DeadLetter
			if json.Unmarshal([]byte(m.Body), &dl) == nil {
				fmt.Fprintf(out, "    %s  %s: %s\n", dl.Subject, dl.Reason, dl.Detail)
			}
		}
	}
}

// printCalls prints sgpilot's ECS calls: all of them but the demo's own
// (RunInstances, and the calls counted in own).
func printCalls(out io.Writer, c *stack.Stack, title string, own map[string]int64) {
	fmt.Fprintf(out, "  %s:", title)
	var parts []string
	total := int64(0)
	for action, n := range ecsCalls(c) {
		if n -= own[action]; n > 0 && action != "RunInstances" {
			parts = append(parts, fmt.Sprintf("%s %d", action, n))
			total += n
		}
	}
	sort.Strings(parts)
	fmt.Fprintf(out, " %d (%s)\n", total, strings.Join(parts, ", "))
}

func onlyInScope(table string) string {
	var b strings.Builder
	for _, line := range strings.Split(table, "\n") {
		if strings.Contains(line, " out-of-scope ") || strings.Contains(line, "sgpilot-") && strings.Contains(line, " in-use ") {
			continue
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

func step(out io.Writer, title string) { fmt.Fprintf(out, "\n▶ %s\n", title) }

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ") + "\n"
}

func describe(groups []string) string {
	if groups == nil {
		return "a dead letter: no cache group in VPC B"
	}
	return "base + " + strings.Join(groups, " + ")
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ecsCalls counts the ECS calls made so far, by action.
func ecsCalls(c *stack.Stack) map[string]int64 {
	out := map[string]int64{}
	for _, row := range c.Env.Controls.Counts() {
		if row.Service == "ecs" {
			out[row.Action] += row.Calls
		}
	}
	return out
}

// diffCalls returns after minus before, by action.
func diffCalls(after, before map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for a, n := range after {
		if d := n - before[a]; d > 0 {
			out[a] = d
		}
	}
	return out
}
