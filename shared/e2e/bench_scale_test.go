package e2e_test

// BenchmarkCleanupScale: the nightly cleanup of a large account, 100,000
// groups in scope and 50,000 instances over 3 regions, with the same mix of
// uses as BenchmarkCleanupAtScale (40% joined by instances, 15% on secondary
// ENIs, 10% referenced, 5% named by launch templates, 30% unused). The goal:
// the cleanup completes with no invocation running past its timeout, in
// ≤ 1.05× the lower bound of ECS calls. localcloud runs at a higher rate
// here (SGPILOT_BENCH_SCALE_RATE) so the run stays within minutes; the
// timeouts are also checked at benchRate, the rate of the other benchmarks,
// by projecting each invocation's busiest action.
//
//	SGPILOT_BENCH_SCALE_GROUPS      groups in scope (default 100000; 0 skips)
//	SGPILOT_BENCH_SCALE_INSTANCES   instances (default 50000)
//	SGPILOT_BENCH_SCALE_RATE        ECS calls per second per action (default 200)
//	SGPILOT_BENCH_FANOUT_GROUPS     the functions' SGPILOT_FANOUT_GROUPS (default: theirs)

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
	"github.com/sgpilot/sgpilot/shared/testkit/harness"
)

// scaleRegions are the three regions of the scale account.
var scaleRegions = []string{"cn-hangzhou", "cn-shanghai", "cn-beijing"}

// Function timeouts of s.yaml, seconds (checked against what ran).
var scaleTimeouts = map[string]time.Duration{
	"nightly-cleanup": 900 * time.Second,
	"queue-worker":    600 * time.Second,
}

// scaleRegion is one region's share of the scale account.
type scaleRegion struct {
	region                   string
	groups, instances, enis  int
	templates                int
	byInstance, byENI, byRef int
	byTemplate, unused       int
	unusedIDs                []string
	inUseIDs                 []string
}

// scaleSeed spreads groups and instances evenly over scaleRegions, one VPC
// per region. Group i lives in region i%3; its use follows (i/3)%20 as in
// harness.CleanupScaleSeed, so every region gets the same mix. Each
// instance is in one instance-used group only: the region's base group
// (out of scope) could not hold 16,000 members (a normal group takes 2,000,
// and one instance cannot mix normal and enterprise groups).
func scaleSeed(groups, instances int) (ecsemu.Seed, []*scaleRegion) {
	old := time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC)
	var seed ecsemu.Seed
	regs := make([]*scaleRegion, len(scaleRegions))
	type vpc struct{ id, vsw, base string }
	vpcs := make([]vpc, len(scaleRegions))
	inst := make([][]string, len(scaleRegions))
	eni := make([][]string, len(scaleRegions))
	ref := make([][]string, len(scaleRegions))
	tmpl := make([][]string, len(scaleRegions))
	for r, region := range scaleRegions {
		regs[r] = &scaleRegion{region: region}
		zone := region + "-h"
		v := vpc{id: fmt.Sprintf("vpc-scale%d000000000000", r), vsw: fmt.Sprintf("vsw-scale%d000000000000", r), base: fmt.Sprintf("sg-scalebase%d00000000", r)}
		vpcs[r] = v
		seed.Regions = append(seed.Regions, ecsemu.SeedRegion{RegionID: region, Zones: []string{zone}})
		seed.VPCs = append(seed.VPCs, ecsemu.SeedVPC{ID: v.id, RegionID: region, Name: "scale-" + region, CidrBlock: "10.0.0.0/8"})
		seed.VSwitches = append(seed.VSwitches, ecsemu.SeedVSwitch{ID: v.vsw, VpcID: v.id, ZoneID: zone, CidrBlock: "10.0.0.0/8"})
		seed.SecurityGroups = append(seed.SecurityGroups, ecsemu.SeedSecurityGroup{ID: v.base, RegionID: region, VpcID: v.id,
			Name: "base", Description: "base group", CreationTime: old})
	}
	groupAt := map[string]int{}
	for i := 0; i < groups; i++ {
		r, j := i%len(scaleRegions), i/len(scaleRegions)
		id := fmt.Sprintf("sg-scale%d%012d", r, j)
		kind := ""
		switch k := j % 20; {
		case k < 8:
			inst[r], kind = append(inst[r], id), "app"
		case k < 11:
			eni[r], kind = append(eni[r], id), "eni"
		case k < 13:
			ref[r], kind = append(ref[r], id), "peer"
		case k < 14:
			tmpl[r], kind = append(tmpl[r], id), "tmpl"
		default:
			regs[r].unusedIDs, kind = append(regs[r].unusedIDs, id), "old"
		}
		groupAt[id] = len(seed.SecurityGroups)
		seed.SecurityGroups = append(seed.SecurityGroups, ecsemu.SeedSecurityGroup{ID: id, RegionID: scaleRegions[r], VpcID: vpcs[r].id,
			Name: fmt.Sprintf("%s-%06d", kind, j), Description: "scale group " + kind, CreationTime: old,
			Tags: []ecsemu.SeedTag{{Key: harness.ManagedTagKey, Value: "true"}}})
	}
	rule := func(peer string) ecsemu.SeedRule {
		return ecsemu.SeedRule{IPProtocol: "tcp", PortRange: "22/22", SourceGroupID: peer, CreateTime: old}
	}
	for r, v := range vpcs {
		rg := regs[r]
		n := instances / len(scaleRegions)
		if r < instances%len(scaleRegions) {
			n++
		}
		for k := 0; k < n && len(inst[r]) > 0; k++ {
			seed.Instances = append(seed.Instances, ecsemu.SeedInstance{ID: fmt.Sprintf("i-scale%d%012d", r, k), RegionID: rg.region,
				VSwitchID: v.vsw, SecurityGroupIDs: []string{inst[r][k%len(inst[r])]}, CreationTime: old})
			rg.instances++
		}
		for s := 0; s < len(eni[r]); s += 5 {
			seed.NetworkInterfaces = append(seed.NetworkInterfaces, ecsemu.SeedNetworkInterface{ID: fmt.Sprintf("eni-scale%d%011d", r, s/5),
				VSwitchID: v.vsw, SecurityGroupIDs: append([]string(nil), eni[r][s:min(s+5, len(eni[r]))]...), CreationTime: old})
			rg.enis++
		}
		for s, k := 0, 0; s < len(ref[r]) && len(inst[r]) > 0; s, k = s+20, k+1 {
			referrer := &seed.SecurityGroups[groupAt[inst[r][k%len(inst[r])]]]
			for _, peer := range ref[r][s:min(s+20, len(ref[r]))] {
				referrer.Rules = append(referrer.Rules, rule(peer))
			}
		}
		for s := 0; s < len(tmpl[r]); s += 10 {
			gs := tmpl[r][s:min(s+10, len(tmpl[r]))]
			def, latest := gs[:min(5, len(gs))], gs[min(5, len(gs)):]
			lt := ecsemu.SeedLaunchTemplate{ID: fmt.Sprintf("lt-scale%d%011d", r, s/10), RegionID: rg.region,
				Name: fmt.Sprintf("tmpl-%d-%05d", r, s/10), DefaultVersion: 1, CreateTime: old,
				Versions: []ecsemu.SeedTemplateVersion{{VersionNumber: 1, VpcID: v.id, VSwitchID: v.vsw, SecurityGroupIDs: def, CreateTime: old}}}
			if len(latest) > 0 {
				lt.Versions = append(lt.Versions, ecsemu.SeedTemplateVersion{VersionNumber: 2, VpcID: v.id, CreateTime: old,
					NetworkInterfaces: []ecsemu.SeedTemplateNIC{{VSwitchID: v.vsw, SecurityGroupIDs: latest}}})
			}
			seed.LaunchTemplates = append(seed.LaunchTemplates, lt)
			rg.templates++
		}
		for k, id := range rg.unusedIDs {
			if k%3 == 0 {
				g := &seed.SecurityGroups[groupAt[id]]
				g.Rules = append(g.Rules, rule(id))
			}
		}
		rg.byInstance, rg.byENI, rg.byRef, rg.byTemplate, rg.unused = len(inst[r]), len(eni[r]), len(ref[r]), len(tmpl[r]), len(rg.unusedIDs)
		rg.groups = rg.byInstance + rg.byENI + rg.byRef + rg.byTemplate + rg.unused + 1 // + base
		for _, l := range [][]string{inst[r], eni[r], ref[r], tmpl[r]} {
			rg.inUseIDs = append(rg.inUseIDs, l...)
		}
	}
	return seed, regs
}

// lowerBound is one region's least ECS calls for a mark run and a delete
// run, by the formula of BenchmarkCleanupAtScale (keep the two in step),
// with deletions capped at maxDeletions per region and run.
func (r *scaleRegion) lowerBound(maxDeletions int) (mark, sweep int64) {
	E := r.instances + r.enis // a primary ENI per VPC instance
	reads := ceilDiv(r.groups, 100) + ceilDiv(r.instances, 100) + ceilDiv(E, 500) + ceilDiv(r.templates, 50) + ceilDiv(r.unused+r.byRef, 10)
	mark = reads + int64(r.templates) + ceilDiv(r.unused, 50)
	sweep = reads + int64(min(r.unused, maxDeletions))
	return mark, sweep
}

func BenchmarkCleanupScale(b *testing.B) {
	groups := benchEnvInt(b, "SGPILOT_BENCH_SCALE_GROUPS", 100000)
	if groups == 0 {
		b.Skip("SGPILOT_BENCH_SCALE_GROUPS=0")
	}
	instances := benchEnvInt(b, "SGPILOT_BENCH_SCALE_INSTANCES", 50000)
	rate := float64(benchEnvInt(b, "SGPILOT_BENCH_SCALE_RATE", 200))
	const maxDeletions = 10000 // config's largest SGPILOT_MAX_DELETIONS
	seed, regs := scaleSeed(groups, instances)
	env := map[string]string{
		"SGPILOT_REGIONS":            strings.Join(scaleRegions, ","),
		"SGPILOT_MAX_DELETIONS":      strconv.Itoa(maxDeletions),
		"SGPILOT_MAX_DELETE_PERCENT": "100",
		// The functions pace each action at the account's rate: here, the
		// raised rate of this run.
		"SGPILOT_ECS_RATE_LIMIT": strconv.Itoa(int(rate)),
	}
	if v := os.Getenv("SGPILOT_BENCH_FANOUT_GROUPS"); v != "" {
		env["SGPILOT_FANOUT_GROUPS"] = v // measure the split path at this size
	}
	b.ResetTimer()
	t0 := time.Now()
	c, err := harness.Start(context.Background(), harness.Options{Functions: true, Seed: &seed, FunctionEnv: env, Log: benchLog(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	seeded := time.Since(t0)
	ctl := c.Env.Controls
	ctl.SetRateLimit("ecs", core.AnyAction, core.RateLimit{PerSecond: rate, Burst: 1})
	ctl.ResetCounters()
	var problems []string

	start := time.Now()
	sum1, err := invokeCleanup(c)
	if err != nil {
		b.Fatalf("phase 1: %v", err)
	}
	// Several regions (and a region over SGPILOT_FANOUT_GROUPS) are
	// cleaned by the worker after the invocation returns: the mark night
	// ends when the work queue is idle.
	ctx1, cancel1 := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel1()
	idle1, err := waitWorkQueueIdle(ctx1, c, 3*time.Second)
	if err != nil {
		b.Fatalf("phase 1: work queue never emptied: %v", err)
	}
	markRun := time.Since(start)
	time1 := max(markRun, idle1.Sub(start))
	phase1 := readECSCalls(ctl)
	marked := 0
	for _, tags := range c.GroupTags() {
		if tags[domain.DefaultStaleTagKey] != "" {
			marked++
		}
	}
	if marked != sumUnused(regs) {
		problems = append(problems, fmt.Sprintf("phase 1 marked %d groups, want the %d unused ones", marked, sumUnused(regs)))
	}
	if err := backdateScale(c, regs, 9); err != nil {
		b.Fatalf("backdate the marks: %v", err)
	}
	backdated := readECSCalls(ctl)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	start = time.Now()
	sum2, err := invokeCleanup(c)
	if err != nil {
		b.Fatalf("phase 2: %v", err)
	}
	sweepRun := time.Since(start)
	wantGone := 0
	for _, r := range regs {
		wantGone += min(r.unused, maxDeletions)
	}
	_ = harness.WaitFor(ctx, time.Second, func() (bool, string) {
		left := groupIDs(c)
		gone := 0
		for _, r := range regs {
			for _, id := range r.unusedIDs {
				if !left[id] {
					gone++
				}
			}
		}
		return gone >= wantGone || time.Since(start) > 45*time.Minute, fmt.Sprintf("%d of %d deleted", gone, wantGone)
	})
	idle, err := waitWorkQueueIdle(ctx, c, 3*time.Second)
	if err != nil {
		problems = append(problems, "work queue never emptied: "+err.Error())
	}
	time2 := idle.Sub(start)
	phase2 := readECSCalls(ctl).minus(backdated)
	recordPeakRSS(c, "scale", "nightly-cleanup", "queue-worker")
	b.StopTimer()

	left := groupIDs(c)
	deleted, unsafe := 0, 0
	for _, r := range regs {
		for _, id := range r.unusedIDs {
			if !left[id] {
				deleted++
			}
		}
		for _, id := range r.inUseIDs {
			if !left[id] {
				unsafe++
			}
		}
	}
	if unsafe > 0 {
		problems = append(problems, fmt.Sprintf("UNSAFE: %d groups in use were deleted", unsafe))
	}
	if dl := deadLetters(c); len(dl) > 0 {
		problems = append(problems, fmt.Sprintf("%d dead letters, e.g. %.200s", len(dl), dl[0]))
	}

	// Invocations against their timeouts: what ran (at `rate`), and the
	// nightly-cleanup runs projected to benchRate by their busiest action.
	type inv struct {
		fn      string
		longest time.Duration
		n       int
		timeout int64
		oom     int64
	}
	var invs []inv
	for _, fn := range slices.Sorted(maps.Keys(scaleTimeouts)) {
		st, _ := c.FC.Stats(fn)
		invs = append(invs, inv{fn, st.LongestAttempt, int(st.Invocations), st.Timeouts, st.OOMKills})
	}
	// At benchRate the mark run takes at least its busiest action's calls
	// ÷ rate (every action in parallel) and at most all its calls ÷ rate
	// (one action after another).
	rb1, busy1 := phase1.rateBound()
	proj1 := time.Duration(float64(phase1.calls[busy1]) / benchRate * float64(time.Second))
	all1, _ := phase1.total()
	projSeq := time.Duration(float64(all1) / benchRate * float64(time.Second))
	var lb1, lb2 int64
	for _, r := range regs {
		m, s := r.lowerBound(maxDeletions)
		lb1, lb2 = lb1+m, lb2+s
	}
	t1, th1 := phase1.total()
	t2, th2 := phase2.total()
	total, lower := t1+t2, lb1+lb2

	w := os.Stdout
	fmt.Fprintf(w, "\n=== BenchmarkCleanupScale: %d groups in scope, %d instances over %d regions; localcloud limits every ECS action to %.0f calls/s (burst 1) ===\n",
		groups, instances, len(regs), rate)
	fmt.Fprintf(w, "(seeding and starting took %s)\n", secs(seeded))
	fmt.Fprintf(w, "%-14s %8s %10s %6s %9s %8s %8s %8s %8s\n", "region", "groups", "instances", "ENIs", "templates", "inst", "ref", "tmpl", "unused")
	for _, r := range regs {
		fmt.Fprintf(w, "%-14s %8d %10d %6d %9d %8d %8d %8d %8d\n", r.region, r.groups, r.instances, r.enis, r.templates, r.byInstance, r.byRef, r.byTemplate, r.unused)
	}
	fmt.Fprintf(w, "\n%-34s %9s %9s %9s %9s\n", "ECS calls by action", "phase 1", "thr", "phase 2", "thr")
	for _, a := range actionsOf(phase1, phase2) {
		fmt.Fprintf(w, "%-34s %9d %9d %9d %9d\n", a, phase1.calls[a], phase1.throttled[a], phase2.calls[a], phase2.throttled[a])
	}
	fmt.Fprintf(w, "%-34s %9d %9d %9d %9d\n", "total", t1, th1, t2, th2)
	fmt.Fprintf(w, "lower bound: phase 1 %d, phase 2 %d (deletions capped at %d per region and run)\n", lb1, lb2, maxDeletions)
	fmt.Fprintf(w, "phase 1 (mark night: run %s, until the queue was idle %s; rate bound %s at %.0f/s); phase 2 run %s, until deletions drained %s\n",
		secs(markRun), secs(time1), secs(rb1), rate, secs(sweepRun), secs(time2))
	fmt.Fprintf(w, "marked %d (nightly-cleanup's own summary: %d; the rest by the worker's parts), phase 2 summary %+v\n", marked, sum1.Marked, sum2)
	fmt.Fprintf(w, "deleted %d of %d unused groups (%d allowed by the deletion cap); in-use groups deleted: %d\n", deleted, sumUnused(regs), wantGone, unsafe)
	fmt.Fprintf(w, "\n%-18s %12s %12s %10s %10s %10s\n", "invocations", "count*", "longest", "timeout", "timed out", "OOM kills")
	withinTimeouts := true
	for _, v := range invs {
		fmt.Fprintf(w, "%-18s %12d %12s %10s %10d %10d\n", v.fn, v.n, secs(v.longest), secs(scaleTimeouts[v.fn]), v.timeout, v.oom)
		if v.timeout > 0 || v.longest > scaleTimeouts[v.fn] {
			withinTimeouts = false
		}
		if v.oom > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d instances killed for memory", v.fn, v.oom))
		}
	}
	fmt.Fprintf(w, "* attempts, trigger deliveries included; longest: start to answer.\n")
	fmt.Fprintf(w, "at %.0f calls/s (the other benchmarks' rate), the mark run would take between %s (its busiest action, %s, %d calls)\n"+
		"and %s (all %d calls one after another); nightly-cleanup's timeout is %s\n\n",
		benchRate, secs(proj1), busy1, phase1.calls[busy1], secs(projSeq), all1, secs(scaleTimeouts["nightly-cleanup"]))

	recordFigure(ratioFigure("scale", "ECS calls (mark + sweep, 3 regions)", float64(total), "calls", float64(lower), "lower bound", cleanupMaxCallsRatio))
	recordFigure(goalFigure("scale", "nightly-cleanup mark run", time1.Seconds(), "s", scaleTimeouts["nightly-cleanup"].Seconds()).
		withNote(fmt.Sprintf("at %.0f calls/s; every invocation within its timeout: %v", rate, withinTimeouts)))
	recordFigure(goalFigure("scale", fmt.Sprintf("mark run at %.0f/s, projected (sequential)", benchRate), projSeq.Seconds(), "s", scaleTimeouts["nightly-cleanup"].Seconds()).
		withNote(fmt.Sprintf("%d calls ÷ %.0f/s (at least %s: %d %s calls), spread over the invocations of the regions and their parts",
			all1, benchRate, secs(proj1), phase1.calls[busy1], busy1)))
	if deleted < wantGone {
		problems = append(problems, fmt.Sprintf("only %d of %d deletable unused groups were deleted", deleted, wantGone))
	}
	for _, p := range problems {
		b.Errorf("scale: %s", p)
	}
}

func sumUnused(regs []*scaleRegion) (n int) {
	for _, r := range regs {
		n += r.unused
	}
	return n
}

// backdateScale moves the stale marks of every region days into the past,
// as harness's BackdateTag does for the default region alone.
func backdateScale(c *harness.Cloud, regs []*scaleRegion, days int) error {
	regionOf := map[string]string{}
	for _, r := range regs {
		for _, id := range r.unusedIDs {
			regionOf[id] = r.region
		}
		for _, id := range r.inUseIDs {
			regionOf[id] = r.region
		}
	}
	type key struct{ region, value string }
	batches := map[key][]string{}
	for id, tags := range c.GroupTags() {
		v, ok := tags[domain.DefaultStaleTagKey]
		if !ok {
			continue
		}
		d, err := time.Parse(domain.StaleDateLayout, v)
		if err != nil || regionOf[id] == "" {
			continue
		}
		k := key{regionOf[id], d.AddDate(0, 0, -days).Format(domain.StaleDateLayout)}
		batches[k] = append(batches[k], id)
	}
	ctx := context.Background()
	for k, ids := range batches {
		for s := 0; s < len(ids); s += 50 {
			part := ids[s:min(s+50, len(ids))]
			err := sdkCall(ctx, func() error {
				req := ecs.CreateTagResourcesRequest()
				req.RegionId = k.region
				req.ResourceType = "securitygroup"
				req.ResourceId = &part
				req.Tag = &[]ecs.TagResourcesTag{{Key: domain.DefaultStaleTagKey, Value: k.value}}
				_, err := c.SDK.TagResources(req)
				return err
			})
			if err != nil {
				return fmt.Errorf("backdate %d marks in %s: %w", len(part), k.region, err)
			}
		}
	}
	return nil
}
