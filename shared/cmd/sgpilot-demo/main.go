// Command sgpilot-demo runs sgpilot's main job end to end on localcloud, with
// the real function binaries and the real Alibaba SDKs: a burst of new
// instances across two VPCs and the classic network is onboarded into its
// role groups through EventBridge, MNS and the worker; then the nightly
// cleanup plans, marks and, after the grace period, deletes the groups
// nobody uses; last, the role policy is planned and applied and every
// group's rules are audited. `make demo` runs it.
//
// The functions keep the wall clock, as on Function Compute. "Eight nights
// later" is shown by moving the stale marks of night 1 eight days into the
// past (TagResources, as a person could), not by moving any clock.
//
// It is shipped tooling, not a test: it drives localcloud through
// shared/localcloud/stack and imports neither test code nor an SDK.
//
// It leaves nothing behind: the function processes, the built binaries and
// the log folder are removed on success, on failure and on Ctrl-C (pass
// --log FILE to keep the functions' logs).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/deadletter"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/fcemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/stack"
)

func main() {
	logPath := flag.String("log", "", "keep the functions' JSON logs in this file (default: a temporary file, removed at the end)")
	perVPC := flag.Int("instances", 40, "instances to create per network")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, *logPath, *perVPC, os.Stdout)
	stop()
	switch {
	case err != nil && ctx.Err() != nil:
		fmt.Fprintln(os.Stderr, "demo: interrupted; everything it started is stopped and removed")
		os.Exit(130)
	case err != nil:
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
	s := stack.SampleSeed()
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

// summary is what the closing block reports.
type summary struct {
	onboarded, expected      int
	onboardTime              time.Duration
	marked, deleteQueued     int
	deleted                  []string
	kept, skipped            map[string]int
	deadLetters              []string
	onboardCalls, cleanCalls int64
	buildTime, total         time.Duration
}

func run(ctx context.Context, logPath string, perVPC int, out io.Writer) (err error) {
	start := time.Now()
	fmt.Fprintln(out, "sgpilot demo: onboarding and cleanup on localcloud, with the real function binaries and SDKs")

	// Everything the demo creates lives in tmp, or is stopped by the
	// deferred calls below, whatever way run returns.
	tmp, err := os.MkdirTemp("", "sgpilot-demo-")
	if err != nil {
		return fmt.Errorf("temporary folder: %w", err)
	}
	defer os.RemoveAll(tmp)
	if logPath == "" {
		logPath = filepath.Join(tmp, "functions.log")
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("function log: %w", err)
	}
	defer logFile.Close()
	defer func() {
		if err != nil && ctx.Err() == nil {
			printLogTail(os.Stderr, logPath, 15)
		}
	}()

	step(out, "Building the three functions (the first run on a machine compiles the Alibaba SDKs: about 3 minutes; later runs take seconds)…")
	buildStart := time.Now()
	stopTicker := ticker(out, 20*time.Second, buildStart)
	defer stack.RemoveBuild()
	_, err = stack.BuildFunctionsContext(ctx, out)
	stopTicker()
	if err != nil {
		return err
	}
	sum := summary{buildTime: time.Since(buildStart)}

	step(out, "Starting localcloud (ECS, MNS, EventBridge, FC runtime) with the demo account")
	sd := seed()
	// Fast retries so a Pending instance is retried within a second here.
	c, err := stack.Start(ctx, stack.Options{Functions: true, Seed: &sd, Log: logFile,
		FunctionEnv: map[string]string{"SGPILOT_RETRY_DELAY": "1s", "SGPILOT_NOT_READY_DELAY": "1s", "SGPILOT_MAX_DELETE_PERCENT": "50"}})
	if err != nil {
		return err
	}
	defer c.Close()
	info := c.Info()
	fmt.Fprintf(out, "  ECS %s  ·  MNS %s (dial %s)  ·  functions: %s\n",
		info.ECSEndpoint, info.MNSEndpoint, info.MNSDialAddress, strings.Join(info.Functions, ", "))

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
		if b.n <= 0 {
			continue
		}
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
	sum.onboarded, sum.expected, sum.onboardTime = total, total, time.Since(created)
	fmt.Fprintf(out, "  every instance is in exactly its base group plus its role groups of its own network (%.1fs)\n", sum.onboardTime.Seconds())
	if err := waitWorkQueueEmpty(ctx, c); err != nil {
		return err
	}
	// FC's MNS trigger takes a message off the queue as it delivers it, so
	// an empty queue does not yet mean a written dead letter: wait for it.
	_ = stack.WaitFor(ctx, 200*time.Millisecond, func() (bool, string) { return len(deadLetters(c)) >= 1, "" })
	sum.deadLetters = deadLetters(c)
	fmt.Fprintf(out, "  dead-letter queue: %d letter(s)\n", len(sum.deadLetters))
	for _, d := range sum.deadLetters {
		fmt.Fprintf(out, "    %s\n", d)
	}
	sum.onboardCalls = printCalls(out, c, "ECS calls for the onboarding", nil)

	// ---- Cleanup -------------------------------------------------------
	c.Env.Controls.ResetCounters()
	step(out, "Nightly cleanup: the plan (nothing changes)")
	table, err := invokeString(ctx, c, "nightly-cleanup", `{"mode":"plan","format":"text"}`)
	if err != nil {
		return err
	}
	fmt.Fprint(out, indent(onlyInScope(table)))

	step(out, "Night 1 (apply): unused groups are marked sgpilot:stale-since")
	rep, err := invokeCleanup(ctx, c, "apply")
	if err != nil {
		return err
	}
	sum.marked = rep.Summary.Marked
	fmt.Fprintf(out, "  marked %d %s; kept %s; skipped %s\n", rep.Summary.Marked, plural(rep.Summary.Marked, "group", "groups"),
		inWords(rep.Summary.KeptByReason), inWords(rep.Summary.SkippedByReason))

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
	rep, err = invokeCleanup(ctx, c, "apply")
	if err != nil {
		return err
	}
	sum.deleteQueued, sum.kept, sum.skipped = rep.Summary.DeleteTasksEnqueued, rep.Summary.KeptByReason, rep.Summary.SkippedByReason
	fmt.Fprintf(out, "  delete tasks queued: %d\n", rep.Summary.DeleteTasksEnqueued)
	if err := waitWorkQueueEmpty(ctx, c); err != nil {
		return err
	}
	// The queue empties as the trigger delivers; wait for the deletions.
	exists := map[string]bool{}
	delCtx, delCancel := context.WithTimeout(ctx, time.Minute)
	defer delCancel()
	err = stack.WaitFor(delCtx, 200*time.Millisecond, func() (bool, string) {
		clear(exists)
		for _, g := range c.ECS.Snapshot().SecurityGroups {
			exists[g.ID] = true
		}
		gone := 0
		for _, id := range []string{legacyUnused1, legacyUnused2} {
			if !exists[id] {
				gone++
			}
		}
		return gone >= sum.deleteQueued, fmt.Sprintf("%d of %d queued deletions done", gone, sum.deleteQueued)
	})
	if err != nil {
		return err
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
			sum.deleted = append(sum.deleted, g.id)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", g.id, g.story, state)
	}
	tw.Flush()
	sum.cleanCalls = printCalls(out, c, "ECS calls for the two cleanup nights and the deletions", own)

	// ---- Role policy and audit (roles.go) --------------------------------
	if err := rolesPart(ctx, out, c); err != nil {
		return err
	}

	sum.total = time.Since(start)
	printSummary(out, sum)
	return nil
}

// printSummary is the closing block: what a reader should take away, in
// words, short enough to read in ten seconds.
func printSummary(out io.Writer, s summary) {
	fmt.Fprintf(out, "\n── Summary ─────────────────────────────────────────────\n")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  onboarded\t%d of %d instances into their role groups in %.1fs\n", s.onboarded, s.expected, s.onboardTime.Seconds())
	fmt.Fprintf(tw, "  cleanup\tnight 1 marked %d %s stale; 8 nights later %d deleted (%s)\n", s.marked, plural(s.marked, "group", "groups"),
		len(s.deleted), orNone(strings.Join(s.deleted, ", ")))
	fmt.Fprintf(tw, "  kept\t%s\n", inWords(s.kept))
	fmt.Fprintf(tw, "  skipped\t%s\n", inWords(s.skipped))
	short := make([]string, len(s.deadLetters))
	for i, d := range s.deadLetters {
		short[i], _, _ = strings.Cut(d, ":") // "instance reason"
	}
	fmt.Fprintf(tw, "  dead letters\t%d (%s)\n", len(s.deadLetters), orNone(strings.Join(short, "; ")))
	fmt.Fprintf(tw, "  ECS calls\t%d for onboarding, %d for cleanup\n", s.onboardCalls, s.cleanCalls)
	fmt.Fprintf(tw, "  time\t%.0fs (build %.0fs)\n", s.total.Seconds(), s.buildTime.Seconds())
	tw.Flush()
	fmt.Fprintln(out, "\nNext: `make test` runs the full suite; `make localcloud` + `make invoke-queue-worker` try the sample events.")
}

// inWords turns counts by reason into "8 groups: 6 in use, 2 too young".
func inWords(m map[string]int) string {
	total := 0
	type kv struct {
		reason string
		n      int
	}
	var parts []kv
	for r, n := range m {
		if n > 0 {
			parts = append(parts, kv{r, n})
			total += n
		}
	}
	if total == 0 {
		return "no groups"
	}
	sort.Slice(parts, func(i, j int) bool {
		if parts[i].n != parts[j].n {
			return parts[i].n > parts[j].n
		}
		return parts[i].reason < parts[j].reason
	})
	words := make([]string, len(parts))
	for i, p := range parts {
		words[i] = fmt.Sprintf("%d %s", p.n, strings.ReplaceAll(p.reason, "-", " "))
	}
	return fmt.Sprintf("%d %s: %s", total, plural(total, "group", "groups"), strings.Join(words, ", "))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// ticker prints how long the build has run, every so often, until stopped,
// so a first run's long compile never looks stuck.
func ticker(out io.Writer, every time.Duration, since time.Time) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(out, "  still compiling… %.0fs\n", time.Since(since).Seconds())
			}
		}
	}()
	return func() { close(done); <-finished }
}

// printLogTail shows the end of the functions' log after a failure, since
// the log itself is removed with the temporary folder.
func printLogTail(w io.Writer, path string, n int) {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	fmt.Fprintf(w, "demo: the last %d lines of the functions' log (--log FILE keeps all of it):\n%s\n", len(lines), strings.Join(lines, "\n"))
}

func invokeString(ctx context.Context, c *stack.Stack, fn, payload string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
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

func invokeCleanup(ctx context.Context, c *stack.Stack, mode string) (cleanupResult, error) {
	var r cleanupResult
	if err := ctx.Err(); err != nil {
		return r, err
	}
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

// deadLetters describes each letter of the dead-letter queue in a line.
// Records with one ID are copies of one letter (an instance announced at
// creation and again at Running, refused twice for the same reason), as the
// dead-letter tooling counts them.
func deadLetters(c *stack.Stack) []string {
	var out []string
	index := map[string]int{}
	copies := map[string]int{}
	for _, q := range c.MNS.Snapshot().Queues {
		if q.Name != stack.DeadLetterQueue {
			continue
		}
		for _, m := range q.Messages {
			var dl deadletter.Record
			if json.Unmarshal([]byte(m.Body), &dl) != nil {
				continue
			}
			copies[dl.ID]++
			if _, seen := index[dl.ID]; !seen {
				index[dl.ID] = len(out)
				out = append(out, fmt.Sprintf("%s %s: %s", dl.Subject, dl.Reason, dl.Detail))
			}
		}
	}
	for id, i := range index {
		if n := copies[id]; n > 1 {
			out[i] += fmt.Sprintf(" (%d copies)", n)
		}
	}
	return out
}

// printCalls prints sgpilot's ECS calls: all of them but the demo's own
// (RunInstances, and the calls counted in own).
func printCalls(out io.Writer, c *stack.Stack, title string, own map[string]int64) int64 {
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
	return total
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
