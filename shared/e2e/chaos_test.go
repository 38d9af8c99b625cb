package e2e_test

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/localcloud"
	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/fcemu"
	"github.com/sgpilot/sgpilot/shared/testkit/harness"
)

// chaosRun is the size and harshness of one chaos scenario.
type chaosRun struct {
	onboard, deletes int
	// ECS: 5xx and dropped connections on every action, joins throttled.
	ecs5xx, ecsDrop, joinRate float64
	// MNS: 5xx on every call the functions make, sends throttled, latency.
	mns5xx, sendRate float64
	mnsLatency       time.Duration
	// queue-worker: processes killed mid-batch, invocations out of time.
	kill, timeout float64
	// The worker's dead-letter queue is down this long, mid-run.
	dlqDown time.Duration
	// feedSpan is how long the tasks take to arrive on the work queue.
	feedSpan time.Duration
	seed     int64
	budget   time.Duration
	// minFaults fails the run when fewer faults were injected.
	minFaults int64
}

// defaultChaos is the run of `make test`: small, quick, at least 200 faults.
var defaultChaos = chaosRun{
	onboard: 240, deletes: 60,
	ecs5xx: 0.12, ecsDrop: 0.04, joinRate: 50,
	mns5xx: 0.15, sendRate: 20, mnsLatency: 3 * time.Millisecond,
	kill: 0.3, timeout: 0.1, dlqDown: 10 * time.Second, feedSpan: 6 * time.Second,
	seed: 7, budget: 3 * time.Minute, minFaults: 200,
}

// fullChaos is `make chaos` (SGPILOT_CHAOS=1): 10,000 tasks.
var fullChaos = chaosRun{
	onboard: 8000, deletes: 2000,
	ecs5xx: 0.10, ecsDrop: 0.04, joinRate: 200,
	mns5xx: 0.06, sendRate: 60, mnsLatency: 3 * time.Millisecond,
	kill: 0.25, timeout: 0.08, dlqDown: 20 * time.Second, feedSpan: 2 * time.Minute,
	seed: 11, budget: 25 * time.Minute, minFaults: 2000,
}

// chaosFleet is the seeded account of a chaos run and what each resource
// stands for.
type chaosFleet struct {
	seed ecsemu.Seed
	// planned maps each onboarded instance to the role groups its plan joins
	// (empty: the plan must be refused, the instance left as it is).
	planned map[string][]string
	start   map[string][]string // the groups each instance starts in
	// deleteTargets are the stale groups delete tasks name, by how they are
	// used (inUse: must survive; unused: must go, or be dead-lettered).
	inUse, unused map[string]string
	tasks         []domain.Task
}

// buildChaosFleet seeds n instances to onboard and m stale groups to delete.
// Instances: "web,db", "web" or "db" in VPC A or B; one in ten already in
// four groups (the plan would pass ECS's limit of five: refused); one in
// 25 asks for the cache role, which has a group in VPC A only (refused in
// VPC B). Stale groups: one
// in five joined by an instance, one named by a launch template, one
// referenced by another group's rule, two unused.
func buildChaosFleet(n, m int, now time.Time) chaosFleet {
	seed := harness.DemoSeed()
	// The demo's role groups are in the cleanup's scope: keep them out of its way.
	for i := range seed.SecurityGroups {
		seed.SecurityGroups[i].Tags = append(seed.SecurityGroups[i].Tags, ecsemu.SeedTag{Key: "sgpilot:protect", Value: "demo"})
	}
	old := now.Add(-90 * 24 * time.Hour)
	staleSince := now.AddDate(0, 0, -30).Format(domain.StaleDateLayout)
	f := chaosFleet{planned: map[string][]string{}, start: map[string][]string{}, inUse: map[string]string{}, unused: map[string]string{}}
	type net struct {
		vpc, vsw, base, web, db string
		extra                   []string
	}
	nets := []*net{
		{vpc: harness.VPCA, vsw: harness.VSwitchA, base: harness.BaseA, web: harness.WebA, db: harness.DBA},
		{vpc: harness.VPCB, vsw: harness.VSwitchB, base: harness.BaseB, web: harness.WebB, db: harness.DBB},
	}
	for k, nt := range nets {
		for j := range 3 {
			id := fmt.Sprintf("sg-bp1chx%c%012d", 'a'+k, j)
			nt.extra = append(nt.extra, id)
			seed.SecurityGroups = append(seed.SecurityGroups, ecsemu.SeedSecurityGroup{ID: id, VpcID: nt.vpc, Name: "extra-" + id[9:], CreationTime: old})
		}
	}
	region := localcloud.DefaultRegion
	for i := range n {
		nt := nets[i%2]
		id := fmt.Sprintf("i-bp1chaos%014d", i)
		groups := []string{nt.base}
		var roles string
		var want []string
		switch {
		case i%10 == 9:
			roles, groups = "web,db", append(groups, nt.extra...) // 4 + 2 > 5: refused
		case i%25 == 12:
			roles = "cache" // VPC B has no cache group: refused there
			if nt.vpc == harness.VPCA {
				want = []string{harness.CacheA}
			}
		case i%3 == 0:
			roles, want = "web,db", []string{nt.web, nt.db}
		case i%3 == 1:
			roles, want = "web", []string{nt.web}
		default:
			roles, want = "db", []string{nt.db}
		}
		seed.Instances = append(seed.Instances, ecsemu.SeedInstance{ID: id, VSwitchID: nt.vsw, SecurityGroupIDs: groups,
			CreationTime: old, Tags: []ecsemu.SeedTag{{Key: harness.RoleTagKey, Value: roles}}})
		f.planned[id] = want
		f.start[id] = sorted(slices.Clone(groups))
		f.tasks = append(f.tasks, domain.NewOnboardTask(region, id, "chaos", now))
	}
	managed := []ecsemu.SeedTag{{Key: harness.ManagedTagKey, Value: "true"}, {Key: domain.DefaultStaleTagKey, Value: staleSince}}
	holder, referrer := -1, -1 // indexes: the slices grow, pointers would go stale
	for i := range m {
		id := fmt.Sprintf("sg-bp1chdel%011d", i)
		g := ecsemu.SeedSecurityGroup{ID: id, VpcID: harness.VPCA, Name: fmt.Sprintf("stale-%05d", i), Description: "chaos stale group",
			CreationTime: old, Tags: slices.Clone(managed)}
		switch i % 5 {
		case 0: // joined by an instance, four stale groups per holder
			if holder < 0 || len(seed.Instances[holder].SecurityGroupIDs) == 5 {
				seed.Instances = append(seed.Instances, ecsemu.SeedInstance{ID: fmt.Sprintf("i-bp1holder%013d", i),
					VSwitchID: harness.VSwitchA, SecurityGroupIDs: []string{harness.BaseA}, CreationTime: old})
				holder = len(seed.Instances) - 1
			}
			seed.Instances[holder].SecurityGroupIDs = append(seed.Instances[holder].SecurityGroupIDs, id)
			f.inUse[id] = "instance"
		case 1:
			seed.LaunchTemplates = append(seed.LaunchTemplates, ecsemu.SeedLaunchTemplate{ID: fmt.Sprintf("lt-bp1chaos%011d", i),
				Name: fmt.Sprintf("chaos-%05d", i), DefaultVersion: 1, CreateTime: old,
				Versions: []ecsemu.SeedTemplateVersion{{VersionNumber: 1, VpcID: harness.VPCA, SecurityGroupID: id, CreateTime: old}}})
			f.inUse[id] = "template"
		case 2: // referenced by an out-of-scope group, up to 20 peers each
			if referrer < 0 || len(seed.SecurityGroups[referrer].Rules) == 20 {
				seed.SecurityGroups = append(seed.SecurityGroups, ecsemu.SeedSecurityGroup{ID: fmt.Sprintf("sg-bp1chref%011d", i),
					VpcID: harness.VPCA, Name: fmt.Sprintf("referrer-%05d", i), CreationTime: old})
				referrer = len(seed.SecurityGroups) - 1
			}
			seed.SecurityGroups[referrer].Rules = append(seed.SecurityGroups[referrer].Rules,
				ecsemu.SeedRule{IPProtocol: "tcp", PortRange: "22/22", SourceGroupID: id, CreateTime: old})
			f.inUse[id] = "reference"
		default:
			f.unused[id] = "unused"
		}
		seed.SecurityGroups = append(seed.SecurityGroups, g)
		f.tasks = append(f.tasks, domain.NewDeleteGroupTask(region, id, staleSince, "chaos", now))
	}
	f.seed = seed
	return f
}

// TestChaos_QueueContract runs onboarding and delete tasks, mixed, through
// the modelled event stream while every layer misbehaves: ECS answers 5xx,
// drops connections and throttles joins; MNS answers 5xx, throttles sends
// and is slow; the worker's process is killed mid-batch and some
// invocations run out of time; the worker's dead-letter queue is down for a
// while; and the nightly cleanup runs under the same faults. It asserts the
// queue contract: the work queue ends empty; every task ends done or
// dead-lettered with a reason; the stream discards nothing; no instance
// passes the group limit; no plan is half-applied; no group in use is
// deleted. A small run is part of `make test`; `make chaos`
// (SGPILOT_CHAOS=1) runs 10,000 tasks (SGPILOT_CHAOS_SEED replays a seed).
func TestChaos_QueueContract(t *testing.T) {
	run := defaultChaos
	if os.Getenv("SGPILOT_CHAOS") != "" {
		run = fullChaos
	}
	if s, err := strconv.ParseInt(os.Getenv("SGPILOT_CHAOS_SEED"), 10, 64); err == nil {
		run.seed = s
	}
	if testing.Short() {
		t.Skip("end-to-end chaos")
	}
	fleet := buildChaosFleet(run.onboard, run.deletes, time.Now())
	c := startChaosCloud(t, &fleet.seed)
	began := time.Now()

	// Faults first: from here on everything sgpilot does meets them.
	ctl := c.Env.Controls
	ctl.Reseed(run.seed)
	ctl.SetFaults("ecs", core.AnyAction, core.FaultSpec{ServerErrorRate: run.ecs5xx, DropRate: run.ecsDrop})
	ctl.SetRateLimit("ecs", "JoinSecurityGroup", core.RateLimit{PerSecond: run.joinRate, Burst: 5})
	ctl.SetFaults("mns", core.AnyAction, core.FaultSpec{ServerErrorRate: run.mns5xx})
	ctl.SetRateLimit("mns", "BatchSendMessage", core.RateLimit{PerSecond: run.sendRate, Burst: 3})
	ctl.SetLatency("mns", core.AnyAction, run.mnsLatency)
	if err := c.FC.SetInvocationFaults("queue-worker", fcemu.InvocationFaults{KillRate: run.kill, TimeoutRate: run.timeout,
		KillWithin: 400 * time.Millisecond, Timeout: 150 * time.Millisecond, Seed: uint64(run.seed)}); err != nil {
		t.Fatal(err)
	}

	// Feed the tasks, shuffled, in bursts, while the stream consumes them.
	rng := rand.New(rand.NewSource(run.seed))
	tasks := slices.Clone(fleet.tasks)
	rng.Shuffle(len(tasks), func(i, j int) { tasks[i], tasks[j] = tasks[j], tasks[i] })
	fed := make(chan error, 1)
	go func() {
		for i, tk := range tasks {
			body, err := domain.EncodeTask(tk)
			if err == nil {
				_, err = c.MNS.Send("sgpilot-work", body, 0, 0)
			}
			if err != nil {
				fed <- fmt.Errorf("enqueue %s: %w", tk.ID, err)
				return
			}
			if i%10 == 9 {
				time.Sleep(run.feedSpan * 10 / time.Duration(len(tasks)))
			}
		}
		fed <- nil
	}()

	ctx, cancel := context.WithTimeout(context.Background(), run.budget)
	defer cancel()
	// The worker's dead-letter queue goes down once it has taken its first
	// record, for run.dlqDown.
	outage := make(chan struct{})
	go func() {
		defer close(outage)
		if harness.WaitFor(ctx, 20*time.Millisecond, func() (bool, string) { return c.QueueDepth("sgpilot-dead-letter") > 0, "" }) != nil {
			return
		}
		c.MNS.SetQueueDown("sgpilot-dead-letter", true)
		select {
		case <-time.After(run.dlqDown):
		case <-ctx.Done():
		}
		c.MNS.SetQueueDown("sgpilot-dead-letter", false)
	}()
	if err := <-fed; err != nil {
		t.Fatal(err)
	}
	t.Logf("tasks fed after %s", time.Since(began).Round(time.Millisecond))
	// The nightly cleanup runs under the same faults, once while the delete
	// tasks are in flight and once after (its result is what it is: a run
	// that meets a failed discovery changes nothing). Not before them: it
	// would unmark the groups in use, and the worker's own re-check before
	// deleting is what this run must prove.
	cleanups := []string{chaosCleanup(c), ""}
	<-outage // the queue is back before the end counts
	if err := c.WaitSettled(ctx, time.Second); err != nil {
		t.Fatalf("the work never settled under faults: %v", err)
	}
	cleanups[1] = chaosCleanup(c)
	if err := c.WaitSettled(ctx, time.Second); err != nil {
		t.Fatalf("the cleanup's tasks never settled under faults: %v", err)
	}
	took := time.Since(began)

	// Figures before the faults are cleared.
	faults := chaosFaults(c)
	ctl.Reset()
	_ = c.FC.SetInvocationFaults("queue-worker", fcemu.InvocationFaults{})
	c.MNS.SetQueueDown("sgpilot-dead-letter", false)

	v := checkQueueContract(t, c, fleet)
	printChaosTable(t, run, len(tasks), took, faults, v, cleanups)
	if faults.total < run.minFaults {
		t.Errorf("only %d faults injected (want ≥ %d): the run proves too little", faults.total, run.minFaults)
	}
	for kind, n := range faults.byKind {
		if n == 0 {
			t.Errorf("no fault of kind %q was injected: the run proves nothing about it", kind)
		}
	}
}

// startChaosCloud starts localcloud with the functions, ECS limits raised
// for a large fleet, and settings that keep a chaos run short: no
// client-side pacing (ECS's throttling is what sgpilot meets), fast and few
// retries, every deletion allowed.
func startChaosCloud(t *testing.T, seed *ecsemu.Seed) *harness.Cloud {
	t.Helper()
	var log strings.Builder
	lw := &lockedWriter{b: &log}
	env := map[string]string{"SGPILOT_RETRY_DELAY": "1s", "SGPILOT_MAX_DELIVERIES": "4", "SGPILOT_ECS_RATE_LIMIT": "0",
		"SGPILOT_MAX_DELETIONS": "10000", "SGPILOT_MAX_DELETE_PERCENT": "100"}
	// Push retries wait 0.3-0.6 s instead of 10-20 s: a short outage can be
	// ridden out by the stream's retries, a long one ends in its DLQ.
	opts := harness.Options{Functions: true, Seed: seed, FunctionEnv: env, Log: lw, RetryTimeScale: 0.03}
	opts.ECS.ECS = ecsemu.Options{InstancesPerBasicGroup: 20000, SecurityGroupQuota: 20000}
	c, err := harness.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close localcloud: %v", err)
		}
		if os.Getenv("SGPILOT_E2E_LOGS") != "" {
			t.Logf("function output:\n%s", lw.String())
		}
	})
	return c
}

// chaosCleanup invokes the nightly cleanup once and describes the outcome.
func chaosCleanup(c *harness.Cloud) string {
	start := time.Now()
	s := chaosCleanupOnce(c)
	return fmt.Sprintf("%s (%.1f s)", s, time.Since(start).Seconds())
}

func chaosCleanupOnce(c *harness.Cloud) string {
	res, err := fcemu.InvokeOverHTTP(c.Info().InvokeEndpoint, "nightly-cleanup", []byte(`{"mode":"apply"}`), false)
	switch {
	case err != nil:
		return "invoke failed: " + err.Error()
	case res.Error != nil:
		return "function error: " + shortText(res.Error.ErrorMessage)
	}
	var out struct {
		Summary struct {
			DeleteTasksEnqueued int      `json:"deleteTasksEnqueued"`
			Errors              int      `json:"errors"`
			Blocked             []string `json:"blocked"`
		} `json:"summary"`
	}
	if err := jsonUnmarshal(res.Payload, &out); err != nil {
		return "result: " + shortText(string(res.Payload))
	}
	s := fmt.Sprintf("%d delete tasks queued, %d errors", out.Summary.DeleteTasksEnqueued, out.Summary.Errors)
	if len(out.Summary.Blocked) > 0 {
		s += ", blocked: " + shortText(out.Summary.Blocked[0])
	}
	return s
}

func shortText(s string) string {
	if len(s) > 90 {
		return s[:90] + "…"
	}
	return s
}

// chaosFaultCount is what was injected, by kind.
type chaosFaultCount struct {
	byKind map[string]int64
	total  int64
	// delayed counts MNS calls slowed by the injected latency (not faults).
	delayed int64
}

func chaosFaults(c *harness.Cloud) chaosFaultCount {
	// Every kind the run injects is listed, so that one that never fired shows.
	out := chaosFaultCount{byKind: map[string]int64{"ecs server-fault": 0, "ecs drop": 0, "ecs throttle": 0,
		"mns server-fault": 0, "mns throttle": 0}}
	add := func(kind string, n int64) {
		out.byKind[kind] += n
		out.total += n
	}
	for _, row := range c.Env.Controls.Counts() {
		for k, n := range row.Outcomes {
			add(row.Service+" "+k, n)
		}
		if row.Service == "mns" {
			out.delayed += row.Calls
		}
	}
	if s, ok := c.FC.Stats("queue-worker"); ok {
		add("worker killed mid-batch", s.InjectedKills)
		add("invocation out of time", s.InjectedTimeouts)
	}
	add("dead-letter queue down (refused sends)", c.MNS.RefusedSends())
	return out
}

// contractFigures are the outcomes and the invariants of a run.
type contractFigures struct {
	onboardDone, onboardDead, onboardFailed int
	deleted, keptInUse, deleteDead          int
	deadByReason                            map[string]int
	failedEvents, invalidRecords            int
	workLeft                                int
	discarded                               int64
	lost, overLimit, halfApplied            int
	deletedInUse, deadWithoutReason         int
}

// checkQueueContract accounts for every task and checks the invariants.
func checkQueueContract(t *testing.T, c *harness.Cloud, fleet chaosFleet) contractFigures {
	t.Helper()
	v := contractFigures{deadByReason: map[string]int{}}
	settled := map[string]string{} // subject → how it was dead-lettered
	records, bad := c.DeadLetters()
	v.invalidRecords += bad
	for _, dl := range records {
		if dl.Reason == "" {
			v.deadWithoutReason++
			t.Errorf("dead letter without a reason: %+v", dl)
		}
		v.deadByReason[dl.Reason]++
		settled[dl.Subject] = "dead-letter " + dl.Reason
	}
	failed, bad := c.FailedTasks()
	v.invalidRecords += bad
	v.failedEvents = len(failed)
	for _, tk := range failed {
		if settled[tk.Subject()] == "" {
			settled[tk.Subject()] = "failed-events"
		}
	}
	if v.invalidRecords > 0 {
		t.Errorf("%d dead-letter records hold no task", v.invalidRecords)
	}
	v.workLeft = c.QueueDepth("sgpilot-work")
	if v.workLeft != 0 {
		t.Errorf("%d messages left on the work queue", v.workLeft)
	}
	v.discarded = c.FC.Discarded()
	if v.discarded != 0 {
		t.Errorf("the event stream discarded %d events", v.discarded)
	}

	groups := c.InstanceGroups()
	limit := 5
	for id, g := range groups {
		if len(g) > limit {
			v.overLimit++
			t.Errorf("SAFETY: %s is in %d groups (limit %d)", id, len(g), limit)
		}
	}
	for id, want := range fleet.planned {
		g := groups[id]
		has := 0
		for _, w := range want {
			if slices.Contains(g, w) {
				has++
			}
		}
		dead := settled[id]
		switch {
		case len(want) == 0: // a refused plan: nothing changes, and it says why
			if !slices.Equal(g, fleet.start[id]) {
				v.halfApplied++
				t.Errorf("SAFETY: refused plan of %s changed it: %v → %v", id, fleet.start[id], g)
			}
			if dead == "" {
				v.lost++
				t.Errorf("%s: refused plan without a dead letter", id)
			} else {
				v.onboardDead++
			}
		case has == len(want):
			v.onboardDone++
		case dead != "":
			v.onboardDead++
			if strings.HasPrefix(dead, "failed-events") {
				v.onboardFailed++
			}
		case has == 0:
			v.lost++
			t.Errorf("%s: task neither done nor dead-lettered (groups %v)", id, g)
		default:
			v.halfApplied++
			t.Errorf("SAFETY: %s half-applied: %v, planned %v, no dead letter", id, g, want)
		}
	}
	exists := c.GroupTags()
	for id, use := range fleet.inUse {
		if _, ok := exists[id]; !ok {
			v.deletedInUse++
			t.Errorf("SAFETY: %s was deleted while used by a %s", id, use)
		} else {
			v.keptInUse++
		}
	}
	for id := range fleet.unused {
		_, ok := exists[id]
		switch {
		case !ok:
			v.deleted++
		case settled[id] != "":
			v.deleteDead++
		default:
			v.lost++
			t.Errorf("%s: delete task neither done nor dead-lettered", id)
		}
	}
	for _, d := range c.ECS.DeletedGroups() {
		if len(d.InUseTemplates) > 0 {
			if _, counted := fleet.inUse[d.ID]; !counted {
				v.deletedInUse++
			}
			t.Errorf("SAFETY: %s deleted while launch templates %v name it", d.ID, d.InUseTemplates)
		}
	}
	return v
}

func printChaosTable(t *testing.T, run chaosRun, tasks int, took time.Duration, f chaosFaultCount, v contractFigures, cleanups []string) {
	t.Helper()
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "tasks\t%d (%d onboarding, %d deletes), seed %d, %s\n", tasks, run.onboard, run.deletes, run.seed, took.Round(100*time.Millisecond))
	kinds := make([]string, 0, len(f.byKind))
	for k := range f.byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(w, "fault: %s\t%d\n", k, f.byKind[k])
	}
	fmt.Fprintf(w, "faults injected\t%d (min %d)\n", f.total, run.minFaults)
	fmt.Fprintf(w, "mns calls slowed by %s\t%d\n", run.mnsLatency, f.delayed)
	fmt.Fprintf(w, "onboarding: done\t%d\n", v.onboardDone)
	fmt.Fprintf(w, "onboarding: dead-lettered (worker or stream)\t%d (stream: %d)\n", v.onboardDead, v.onboardFailed)
	fmt.Fprintf(w, "deletes: deleted\t%d\n", v.deleted)
	fmt.Fprintf(w, "deletes: kept, group in use\t%d\n", v.keptInUse)
	fmt.Fprintf(w, "deletes: dead-lettered\t%d\n", v.deleteDead)
	reasons := make([]string, 0, len(v.deadByReason))
	for r := range v.deadByReason {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		fmt.Fprintf(w, "dead letter: %s\t%d\n", r, v.deadByReason[r])
	}
	fmt.Fprintf(w, "events in %s\t%d\n", harness.FailedEventsQueue, v.failedEvents)
	for i, s := range cleanups {
		fmt.Fprintf(w, "nightly cleanup #%d under faults\t%s\n", i+1, s)
	}
	fmt.Fprintf(w, "INVARIANT work queue left\t%d\n", v.workLeft)
	fmt.Fprintf(w, "INVARIANT tasks lost (no outcome)\t%d\n", v.lost)
	fmt.Fprintf(w, "INVARIANT dead letters without reason\t%d\n", v.deadWithoutReason)
	fmt.Fprintf(w, "INVARIANT events discarded by the stream\t%d\n", v.discarded)
	fmt.Fprintf(w, "INVARIANT instances above the group limit\t%d\n", v.overLimit)
	fmt.Fprintf(w, "INVARIANT half-applied plans\t%d\n", v.halfApplied)
	fmt.Fprintf(w, "INVARIANT groups deleted while in use\t%d\n", v.deletedInUse)
	_ = w.Flush()
	t.Logf("chaos run:\n%s", b.String())
	fmt.Fprint(os.Stdout, "\n"+b.String())
}
